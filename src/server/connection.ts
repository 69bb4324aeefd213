// One connection, one job: read the request with an I/O timeout, run it,
// write the reply, close. A malformed request, a refusal or a timeout
// closes this connection only, with one log line saying why; the summary
// line is distccd's (distcc src/serve.c dcc_job_summary).

import type { Readable, Writable } from 'node:stream';
import { ProtocolError } from '../errors.js';
import { RequestDecoder, type CompileRequest } from '../protocol/request-decoder.js';
import type { ServerContext } from './context.js';
import { AbortReason, runJob, type JobOutcome } from './job.js';
import { startEarly, type EarlyJob } from './early-start.js';
import { countRead } from './scavenge.js';

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

/**
 * Reads one request; resolves undefined (after logging why) if there is none.
 * `onArgs` is called once, when a protocol 0-2 request's arguments are in and
 * its body is still to come.
 */
function readRequest(
  conv: Conversation,
  ctx: ServerContext,
  onArgs: (version: number, args: readonly string[]) => Promise<EarlyJob | undefined>,
): Promise<CompileRequest | undefined> {
  const { logger, stats, config } = ctx;
  const decoder = new RequestDecoder(config.limits);
  const who = peerName(conv.peer);
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let argsSeen = false;
    let finished = false;
    const finish = (request: CompileRequest | undefined) => {
      finished = true;
      clearTimeout(timer);
      conv.input.off('data', onData);
      conv.input.off('end', onEnd);
      conv.input.off('error', onError);
      resolve(request);
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
    const onData = (chunk: Buffer) => {
      armTimer();
      countRead(chunk.length);
      try {
        const request = decoder.push(chunk);
        if (request) {
          conv.input.pause();
          finish(request);
        } else if (!argsSeen && decoder.awaitingBody) {
          argsSeen = true;
          // A plain body then goes to the early-started compiler as it
          // arrives, not kept here until the request is complete.
          void onArgs(decoder.version, decoder.args).then((early) => {
            if (!early || finished) return;
            try {
              decoder.streamBody((piece) => {
                // Past a full pipe, pieces already read just queue behind it:
                // one pause and one wait per fill.
                if (early.stream(piece) || conv.input.isPaused()) return;
                // The pipe is full: the rest waits in the socket until the
                // compiler has read this (finish() leaves input paused for
                // serveConnection to resume).
                conv.input.pause();
                early.whenDrained(() => {
                  if (!finished) conv.input.resume();
                });
              });
            } catch (err) {
              // Bytes past the body: the request is bad, as push() would have said.
              logger.error(`client: ${who} bad request: ${(err as Error).message}`);
              stats.count('REJ_BAD_REQ');
              finish(undefined);
            }
          });
        }
      } catch (err) {
        const why = err instanceof ProtocolError ? err.message : String(err);
        logger.error(`client: ${who} bad request: ${why}`);
        stats.count('REJ_BAD_REQ');
        finish(undefined);
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
    const request = await readRequest(conv, ctx, (version, args) => {
      early = startEarly(version, args, ctx).catch((err: Error) => {
        logger.warning(`client: ${who} early start failed: ${err.message}`);
        return undefined;
      });
      return early;
    });
    if (!request) {
      void early?.then((e) => e?.discard());
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
      outcome = await runJob(request, ctx, disconnect.signal, job, early);
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
