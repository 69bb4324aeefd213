// One connection, one job: read the request with an I/O timeout, run it,
// write the reply, close. A malformed request, a refusal or a timeout
// closes this connection only, with one log line saying why; the summary
// line is distccd's (distcc src/serve.c dcc_job_summary).

import type { Readable, Writable } from 'node:stream';
import { ProtocolError } from '../errors.js';
import { RequestDecoder, type CompileRequest } from '../protocol/request-decoder.js';
import type { ServerContext } from './context.js';
import { AbortReason, discardSpool, runJob, type JobOutcome, type Spooled } from './job.js';
import { startEarly, type EarlyJob } from './early-start.js';
import { countRead } from './scavenge.js';
import { BodyStream, type BodyOutput } from './body-stream.js';
import { InputSpool } from '../compiler/input-spool.js';
import { preprocessedExtension, scanArgs } from '../compiler/args.js';

export type Peer = Readonly<{ address?: string; port?: number }>;

export type Conversation = Readonly<{
  input: Readable;
  output: Writable;
  peer: Peer;
  /** Ends the connection at once (both directions). */
  destroy: () => void;
  /** Writes the reply's parts (in one go: corked), then ends the connection once flushed. */
  end: (parts: readonly Buffer[]) => void;
}>;

export function peerName(peer: Peer): string {
  return peer.address === undefined ? 'inetd' : `${peer.address}:${peer.port ?? 0}`;
}

/** Where a request's body goes as it arrives, once its arguments are in. */
export type BodyTarget = Readonly<{
  output: BodyOutput;
  /** The input file being written, for a job not started early. */
  spool?: InputSpool;
}>;

/** How long the command line may take to arrive, at most (DISTCC_IO_TIMEOUT if shorter). */
const HEADER_SECONDS = 30;
/** A whole request may take DISTCC_IO_TIMEOUT plus one second per this many bytes of it. */
const BYTES_PER_SECOND = 1024 * 1024;

/**
 * Reads one request; resolves undefined (after logging why) if there is none.
 * `onArgs` is called once, when a protocol 0-2 request's arguments are in and
 * its body is still to come: the body then goes where it says, as it arrives.
 *
 * Deadlines, besides DISTCC_IO_TIMEOUT between two pieces: the command line
 * within HEADER_SECONDS, the whole request within DISTCC_IO_TIMEOUT plus a
 * second per MiB received, so a client sending a byte every few seconds
 * cannot keep a connection forever. What the request holds counts against
 * the daemon-wide budget (request-memory.ts), which may drop it.
 */
function readRequest(
  conv: Conversation,
  ctx: ServerContext,
  onArgs: (version: number, args: readonly string[]) => Promise<BodyTarget | undefined>,
): Promise<CompileRequest | undefined> {
  const { logger, stats, config } = ctx;
  const decoder = new RequestDecoder(config.limits);
  const who = peerName(conv.peer);
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let argsSeen = false;
    let finished = false;
    let body: BodyStream | undefined;
    let spool: InputSpool | undefined;
    const started = performance.now();
    const hold = ctx.requests.open(who, (why) => {
      if (finished) return;
      logger.warning(`client: ${who} dropped: ${why}`, { phase: decoder.phase });
      stats.count('REJ_OVERLOAD');
      finish(undefined);
    });
    const account = () =>
      ctx.requests.update(hold, decoder.held, spool?.bytes ?? 0, decoder.bytesReceived);
    const finish = (request: CompileRequest | undefined) => {
      finished = true;
      clearTimeout(timer);
      clearTimeout(deadline);
      ctx.requests.close(hold);
      conv.input.off('data', onData);
      conv.input.off('end', onEnd);
      conv.input.off('error', onError);
      resolve(request);
    };
    const badRequest = (err: unknown) => {
      const why = err instanceof ProtocolError ? err.message : String(err);
      logger.error(`client: ${who} bad request: ${why}`);
      stats.count('REJ_BAD_REQ');
      finish(undefined);
    };
    // Restarted by each piece the client sends (refresh(): no new timer per piece).
    const armTimer = () => {
      if (timer) {
        timer.refresh();
        return;
      }
      timer = setTimeout(() => {
        logger.warning(
          `client: ${who} timed out after ${config.ioTimeout}s waiting for the request`,
          {
            phase: decoder.phase,
          },
        );
        stats.count('OTHER');
        finish(undefined);
      }, config.ioTimeout * 1000);
    };
    // The header's deadline, then the whole request's (checked when it fires).
    const headerMs = Math.min(HEADER_SECONDS, config.ioTimeout) * 1000;
    const requestMs = () =>
      config.ioTimeout * 1000 + (decoder.bytesReceived / BYTES_PER_SECOND) * 1000;
    const onDeadline = () => {
      const age = performance.now() - started;
      if (!decoder.headerDone) {
        logger.warning(
          `client: ${who} timed out after ${headerMs / 1000}s waiting for the request: its command line must arrive within that`,
          { phase: decoder.phase, bytes: decoder.bytesReceived },
        );
      } else if (age < requestMs()) {
        deadline = setTimeout(onDeadline, requestMs() - age + 1);
        return;
      } else {
        logger.warning(
          `client: ${who} timed out after ${Math.round(age / 1000)}s waiting for the request: ` +
            `${decoder.bytesReceived} bytes came, and a request may take DISTCC_IO_TIMEOUT (${config.ioTimeout}s) and 1s per MiB`,
          { phase: decoder.phase },
        );
      }
      stats.count('OTHER');
      finish(undefined);
    };
    let deadline: NodeJS.Timeout | undefined = setTimeout(onDeadline, headerMs);
    const readOn = () => {
      if (!finished) conv.input.resume();
    };
    const onData = (chunk: Buffer) => {
      armTimer();
      countRead(chunk.length);
      let request: CompileRequest | undefined;
      try {
        request = decoder.push(chunk);
      } catch (err) {
        badRequest(err);
        return;
      }
      if (!account()) return;
      if (request) {
        conv.input.pause();
        if (!body) {
          finish(request);
          return;
        }
        // The last pieces may still be on their way (an LZO body being decoded).
        body.finished().then(
          () => {
            if (finished) return;
            if (spool?.error) {
              badRequest(`cannot write the job's input: ${spool.error.message}`);
              return;
            }
            spool?.close();
            finish(request);
          },
          (err: unknown) => {
            if (!finished) badRequest(err);
          },
        );
        return;
      }
      if (body?.blocked && !conv.input.isPaused()) {
        // The pipe or the decoder is full: the rest waits in the socket
        // until it has taken this (finish() leaves input paused for
        // serveConnection to resume).
        conv.input.pause();
        body.whenUnblocked(readOn);
      }
      if (!argsSeen && decoder.awaitingBody) {
        argsSeen = true;
        // From here on the body goes to the early-started compiler or the job's
        // input file as it arrives, not kept here until the request is complete.
        void onArgs(decoder.version, decoder.args).then((target) => {
          if (!target || finished) return;
          spool = target.spool;
          if (spool) spool.onWrite = account;
          const stream = new BodyStream(decoder.version, config.limits.maxBodySize, target.output);
          body = stream;
          try {
            decoder.streamBody((piece) => stream.push(piece));
          } catch (err) {
            // Bytes past the body: the request is bad, as push() would have said.
            badRequest(err);
            return;
          }
          if (!account()) return;
          if (decoder.phase === 'done') {
            // All of it was in already: push() will not be called again.
            conv.input.pause();
            onData(Buffer.alloc(0));
            return;
          }
          if (stream.blocked) {
            conv.input.pause();
            stream.whenUnblocked(readOn);
          }
        });
      }
    };
    const onEnd = () => {
      logger.warning(`client: ${who} closed the connection before a complete request`, {
        phase: decoder.phase,
        bytes: decoder.bytesReceived,
      });
      stats.count('OTHER');
      finish(undefined);
    };
    const onError = (err: Error) => {
      logger.warning(`client: ${who} connection error while reading: ${err.message}`);
      stats.count('OTHER');
      finish(undefined);
    };
    conv.input.on('data', onData);
    conv.input.on('end', onEnd);
    conv.input.on('error', onError);
    armTimer();
  });
}

/**
 * The job directory and input file a body is written into as it arrives,
 * for a request that looks like a job (else undefined: a refusal to come,
 * whose body the budget bounds).
 */
function spoolFor(args: readonly string[], ctx: ServerContext, who: string): Spooled | undefined {
  const scan = scanArgs([...args]);
  if (!scan.distributable) return undefined;
  const { config } = ctx;
  const dir = ctx.jobDirs.make(
    config.tmpdir,
    preprocessedExtension(scan.input),
    scan.assemblyOutput ? 's' : 'o',
    config.chroot,
  );
  try {
    return { dir, spool: new InputSpool(dir.input) };
  } catch (err) {
    ctx.logger.warning(`client: ${who} cannot spool the request's body: ${(err as Error).message}`);
    ctx.cleanups.track(dir.remove());
    return undefined;
  }
}

function summary(who: string, o: JobOutcome, msecs: number): string {
  return `client: ${who} ${o.result} exit:${o.exitCode >> 0} sig:${o.signal} core:0 ret:0 time:${msecs}ms ${o.compiler} ${o.input}`;
}

/** Serves one conversation to the end. Never throws. */
export async function serveConnection(conv: Conversation, ctx: ServerContext): Promise<void> {
  const { logger, stats } = ctx;
  const who = peerName(conv.peer);
  const started = Date.now();
  const startedHr = performance.now();
  const job = ctx.jobs.open(conv.peer, conv.input);
  try {
    let early: Promise<EarlyJob | undefined> | undefined;
    let spooled: Promise<Spooled | undefined> | undefined;
    const request = await readRequest(conv, ctx, (version, args) => {
      const started = startEarly(version, args, ctx).catch((err: Error) => {
        logger.warning(`client: ${who} early start failed: ${err.message}`);
        return undefined;
      });
      early = started;
      const spool = started.then((e) => (e ? undefined : spoolFor(args, ctx, who)));
      spooled = spool;
      return Promise.all([started, spool]).then(([e, s]): BodyTarget | undefined => {
        if (e) return { output: { write: e.stream, whenDrained: e.whenDrained } };
        return s && { output: s.spool, spool: s.spool };
      });
    });
    if (!request) {
      void early?.then((e) => e?.discard());
      void spooled?.then((s) => s && discardSpool(s, ctx));
      conv.destroy();
      return;
    }
    // distcc clients never half-close: EOF or an error now means the
    // client is gone, and its compiler is killed.
    const disconnect = new AbortController();
    const onGone = () => disconnect.abort(AbortReason.DISCONNECT);
    conv.input.once('end', onGone);
    conv.input.once('error', onGone);
    conv.input.once('close', onGone);
    conv.input.on('data', () => disconnect.abort(AbortReason.DISCONNECT));
    conv.input.resume();
    let outcome: JobOutcome;
    try {
      const tRead = performance.now();
      outcome = await runJob(request, ctx, disconnect.signal, job, early, spooled);
      if (ctx.logger.isLevelEnabled('debug')) {
        ctx.logger.debug('connection phases', {
          readMs: Math.round((tRead - startedHr) * 10) / 10,
          jobMs: Math.round((performance.now() - tRead) * 10) / 10,
        });
      }
    } finally {
      conv.input.off('end', onGone);
      conv.input.off('error', onGone);
      conv.input.off('close', onGone);
    }
    const msecs = Date.now() - started;
    stats.count(outcome.result);
    job.finish(msecs, outcome.reply);
    if (!outcome.reply) {
      logger.warning(`client: ${who} refused: ${outcome.reason ?? 'no reason'}`, {
        compiler: outcome.compiler,
      });
      logger.notice(summary(who, outcome, msecs));
      conv.destroy();
      return;
    }
    stats.jobFinished(outcome.input, outcome.compiler, msecs);
    await writeReply(conv, outcome.reply, ctx);
    logger.notice(summary(who, outcome, msecs));
  } catch (err) {
    logger.error(
      `client: ${who} job failed inside tsdistccd: ${(err as Error).stack ?? String(err)}`,
    );
    stats.count('OTHER');
    conv.destroy();
  } finally {
    job.close();
  }
}

function writeReply(conv: Conversation, parts: Buffer[], ctx: ServerContext): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ctx.logger.warning(`client: ${peerName(conv.peer)} timed out reading the reply`);
      conv.destroy();
      resolve();
    }, ctx.config.ioTimeout * 1000);
    conv.output.once('finish', () => {
      clearTimeout(timer);
      resolve();
    });
    conv.output.once('error', () => {
      clearTimeout(timer);
      conv.destroy();
      resolve();
    });
    conv.output.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    conv.end(parts);
  });
}
