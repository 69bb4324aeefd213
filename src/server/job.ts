// One job, from a decoded request to the reply: argument check, whitelist,
// slot, job directory, compiler, reply. A refusal has no reply: the
// connection is closed and the client compiles locally (distcc src/serve.c).

import { preprocessedExtension, rewriteArgs, scanArgs } from '../compiler/args.js';
import { stripRootFromDebugInfo } from '../compiler/debug-info.js';
import { JobFileError, unlinkIfThere, type JobDir } from '../compiler/job-dir.js';
import type { InputSpool } from '../compiler/input-spool.js';
import { fixDependencies, rewritePumpArgs, type PumpArgs } from '../compiler/pump-args.js';
import { buildPumpTree } from '../compiler/pump-tree.js';
import { withPipe } from '../compiler/pipe.js';
import { runCompiler, type RunResult } from '../compiler/run.js';
import { checkCompiler, checkOptions } from '../compiler/whitelist.js';
import { ExitCode, ProtocolError } from '../errors.js';
import { join } from 'node:path';
import { decodeBody, encodeBody } from '../protocol/bodies.js';
import { encodeReply, waitStatus } from '../protocol/reply.js';
import type { CompileRequest } from '../protocol/request-decoder.js';
import type { ServerContext } from './context.js';
import type { TrackedJob } from './job-board.js';
import type { JobResultName } from './stats.js';
import type { EarlyJob } from './early-start.js';

export type JobOutcome = {
  result: JobResultName;
  /** The reply to send; absent for a refusal. */
  reply?: Buffer[];
  exitCode: number;
  signal: number;
  compiler: string;
  input: string;
  /** Why a job was refused, for the log. */
  reason?: string;
};

/** A job directory whose input file the body was written into as it arrived (connection.ts). */
export type Spooled = Readonly<{ dir: JobDir; spool: InputSpool }>;

/** Closes a spooled input and removes its directory (the job will not run in it). */
export function discardSpool(s: Spooled, ctx: ServerContext): void {
  s.spool.close();
  ctx.cleanups.track(s.dir.remove());
}

/** Why an AbortSignal fired: the client went away, or the job ran too long. */
export const AbortReason = { DISCONNECT: 'disconnect', TIMEOUT: 'timeout' } as const;

function refuse(
  result: JobResultName,
  compiler: string,
  input: string,
  reason: string,
): JobOutcome {
  return { result, exitCode: 0, signal: 0, compiler, input, reason };
}

export async function runJob(
  request: CompileRequest,
  ctx: ServerContext,
  disconnect: AbortSignal,
  /** Where the stats port shows this job's phase and slot. */
  job?: TrackedJob,
  /** The compiler started while the request was read (early-start.ts), if it was. */
  early?: Promise<EarlyJob | undefined>,
  /** The job directory the body went to, if it did (connection.ts). */
  spooled?: Promise<Spooled | undefined>,
): Promise<JobOutcome> {
  const pre = early ? await early : undefined;
  const spool = spooled ? await spooled : undefined;
  // Only if the body is in it: one that came whole before the spool was made is in memory.
  const use = spool && request.bodyStreamed ? spool : undefined;
  if (spool && !use) discardSpool(spool, ctx);
  let adopted = false;
  try {
    return await runJobWith(request, ctx, disconnect, job, pre, use, () => (adopted = true));
  } finally {
    // A compiler started early and never fed (the job was refused) ends here.
    pre?.discard();
    // So does the input of a job refused before it had its directory.
    if (use && !adopted) discardSpool(use, ctx);
  }
}

/** Writes the source into an early-started compiler; undefined if it could not start. */
function feedEarly(
  pre: EarlyJob,
  source: readonly Buffer[],
  signal: AbortSignal,
): Promise<RunResult | undefined> {
  const onAbort = () => pre.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return pre.feed(source).finally(() => signal.removeEventListener('abort', onAbort));
}

async function runJobWith(
  request: CompileRequest,
  ctx: ServerContext,
  disconnect: AbortSignal,
  job: TrackedJob | undefined,
  pre: EarlyJob | undefined,
  spooled: Spooled | undefined,
  adopt: () => void,
): Promise<JobOutcome> {
  const { config } = ctx;
  const compiler = request.args[0] ?? '';
  const tCheck = performance.now();
  const scan = scanArgs(request.args);
  if (!scan.distributable) {
    return refuse('OTHER', compiler, '', `non-distributable command: ${scan.reason}`);
  }
  const input = scan.input;
  const name = checkCompiler(compiler, config.whitelist);
  if (!name.ok) return refuse('OTHER', compiler, input, name.reason);
  const opts = await checkOptions(request.args, config.whitelist.sysroot, request.version === 3);
  if (!opts.ok) return refuse('OTHER', compiler, input, opts.reason);

  const pump = request.version === 3;
  // The source in pieces: a plain body as it arrived, an LZO body decoded.
  let source: readonly Buffer[] = [];
  // A streamed body is in the early compiler's pipe or the spooled input file already.
  if (!pump && !request.bodyStreamed) {
    try {
      source =
        request.version === 2
          ? [await decodeBody(2, request.body, config.limits.maxBodySize)]
          : (request.bodyChunks ?? [request.body]);
    } catch (err) {
      return refuse('REJ_BAD_REQ', compiler, input, `bad DOTI body: ${(err as Error).message}`);
    }
  }

  const t0 = performance.now();
  job?.queued(compiler, input);
  const release = await ctx.queue.acquire(disconnect);
  if (!release) {
    if (disconnect.aborted)
      return refuse('CLI_DISCONN', compiler, input, 'client left while queued');
    return refuse('REJ_OVERLOAD', compiler, input, `queue full (${config.queueLimit} waiting)`);
  }
  job?.compiling();
  ctx.stats.sample(ctx.queue.running);
  let dir;
  if (spooled) adopt();
  try {
    dir =
      pre?.dir ??
      spooled?.dir ??
      ctx.jobDirs.make(
        config.tmpdir,
        preprocessedExtension(input),
        scan.assemblyOutput ? 's' : 'o',
        config.chroot,
      );
  } catch (err) {
    release();
    throw err;
  }
  // Ends the compiler when the client leaves or the job outlives --job-lifetime;
  // its reason says which.
  const stop = new AbortController();
  const onDisconnect = () => stop.abort(disconnect.reason);
  if (disconnect.aborted) onDisconnect();
  else disconnect.addEventListener('abort', onDisconnect, { once: true });
  const timer =
    config.jobLifetime > 0
      ? setTimeout(() => stop.abort(AbortReason.TIMEOUT), config.jobLifetime * 1000)
      : undefined;
  const tDir = performance.now();
  try {
    let argv: readonly string[];
    let subdir: string | undefined;
    let pumped: PumpArgs | undefined;
    // Pump: the client's tree under R (a directory of the job), the compiler in R + CDIR.
    const guestRoot = join(dir.guest, 'r');
    if (pump) {
      try {
        const tree = await buildPumpTree(
          join(dir.path, 'r'),
          guestRoot,
          'r',
          request.cwd ?? '',
          request.files ?? [],
          config.limits.maxBodySize,
        );
        subdir = tree.subdir;
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        return refuse(
          'REJ_BAD_REQ',
          compiler,
          input,
          `pump request refused: ${(err as Error).message}`,
        );
      }
      pumped = rewritePumpArgs(request.args, guestRoot, dir.guestOutput, dir.guestDeps);
      argv = pumped.argv;
    } else {
      // An early-started compiler has the source written into its pipe instead.
      if (!pre && !spooled) await dir.writeInput(source);
      argv = rewriteArgs(
        request.args,
        scan,
        dir.guestInput,
        dir.guestOutput,
        config.whitelist.sysroot,
      );
    }
    if (config.pipe) argv = withPipe(argv);
    const tRun = performance.now();
    const signal = stop.signal;
    let run = pre ? await feedEarly(pre, source, signal) : undefined;
    if (!run) {
      // No early start, or it failed before the compiler could read: the usual way.
      if (pre) {
        unlinkIfThere(dir.input);
        // What was streamed to the compiler that never started, then the rest.
        await dir.writeInput([...pre.takeBack(), ...source]);
      }
      run = await runCompiler(argv, {
        cwd: dir.guest,
        hostDir: dir.path,
        files: dir,
        env: ctx.compilerEnv,
        signal,
        ...(subdir !== undefined ? { subdir } : {}),
        maxOutput: config.limits.maxBodySize,
        ...(ctx.launcher ? { launcher: ctx.launcher } : {}),
        ...(ctx.sandbox ? { sandbox: ctx.sandbox } : {}),
      });
    }

    if (run.aborted === AbortReason.DISCONNECT || disconnect.aborted) {
      return refuse(
        'CLI_DISCONN',
        compiler,
        input,
        'client disconnected during the compile; compiler killed',
      );
    }
    let status: number;
    let stderr = run.stderr;
    let result: JobResultName;
    let exitCode: number;
    if (run.aborted === AbortReason.TIMEOUT) {
      exitCode = ExitCode.TIMEOUT;
      status = waitStatus(exitCode);
      result = 'COMPILE_TIMEOUT';
      stderr = Buffer.concat([
        stderr,
        Buffer.from(
          `tsdistccd[${process.pid}] ERROR: compilation of ${input} exceeded --job-lifetime ${config.jobLifetime}s; killed\n`,
        ),
      ]);
    } else if (run.startError !== undefined) {
      exitCode = ExitCode.COMPILER_MISSING;
      status = waitStatus(exitCode);
      result = 'COMPILE_ERROR';
      stderr = Buffer.from(
        `tsdistccd[${process.pid}] (dcc_execvp) ERROR: failed to exec ${compiler}: ${run.startError}\n`,
      );
    } else {
      exitCode = run.exitCode ?? 0;
      status = waitStatus(exitCode, run.signal);
      result = status === 0 ? 'COMPILE_OK' : 'COMPILE_ERROR';
    }
    const tRan = performance.now();
    let object: Buffer = Buffer.alloc(0);
    let depsText = '';
    // Read back through the directory's handle: a link, a hard link, another's
    // file or an oversized one fails the job, unread (job-dir.ts).
    let refused = run.refused;
    if (status === 0 && refused === undefined) {
      try {
        // A compiler that succeeded without output: an empty object, as distccd sends.
        object = await dir.readOutput(config.limits.maxBodySize);
        if (pumped) {
          const name = dir.deps.slice(dir.deps.lastIndexOf('/') + 1);
          depsText = (await dir.readFile(name, config.limits.maxBodySize)).toString('utf8');
        }
      } catch (err) {
        if (!(err instanceof JobFileError)) throw err;
        refused = err.message;
        object = Buffer.alloc(0);
      }
    }
    if (refused !== undefined) {
      // Client strings as fields, which the logger quotes; the message is ours.
      ctx.logger.warning(refused, { compiler, input });
      exitCode = ExitCode.IO_ERROR;
      status = waitStatus(exitCode);
      result = 'COMPILE_ERROR';
      stderr = Buffer.from(`tsdistccd[${process.pid}] ERROR: ${refused}\n`);
    }
    if (pump && status === 0) object = stripRootFromDebugInfo(object, guestRoot);
    let dependencies: Buffer | undefined;
    if (pumped && status === 0) {
      const text = depsText;
      const target = pumped.target ?? pumped.output ?? scan.output;
      dependencies = await encodeBody(
        request.version,
        Buffer.from(fixDependencies(text, guestRoot, dir.guestOutput, target)),
      );
    }
    const [serr, sout, doto] = await Promise.all([
      encodeBody(request.version, stderr),
      encodeBody(request.version, run.stdout),
      encodeBody(request.version, object),
    ]);
    const reply = encodeReply({
      version: request.version,
      status,
      stderr: serr,
      stdout: sout,
      object: doto,
      ...(dependencies ? { dependencies } : {}),
    });
    if (ctx.logger.isLevelEnabled('debug')) {
      const ms = (a: number, b: number) => Math.round((b - a) * 10) / 10;
      ctx.logger.debug('job phases', {
        checkMs: ms(tCheck, t0),
        slotMs: ms(t0, tDir),
        inputMs: ms(tDir, tRun),
        compileMs: ms(tRun, tRan),
        replyMs: ms(tRan, performance.now()),
      });
    }
    return { result, reply, exitCode, signal: run.signal, compiler, input };
  } finally {
    clearTimeout(timer);
    disconnect.removeEventListener('abort', onDisconnect);
    release();
    job?.sending();
    ctx.stats.sample(ctx.queue.running);
    // Removed after the reply is on its way, not before: the client waits
    // for the reply, not for our cleanup. The connection writes the reply
    // in the microtasks that follow this return; setImmediate runs after
    // them. Shutdown waits for these.
    if (process.env.DISTCC_SAVE_TEMPS !== '1') {
      ctx.cleanups.track(new Promise<void>((r) => setImmediate(r)).then(dir.remove));
    }
  }
}
