// Early start: distcc's client sends the command line, then preprocesses,
// then sends the preprocessed source (distcc src/compile.c: the connection is
// opened and the arguments sent while cpp runs). distccd starts the compiler
// when the source is in. Here, once the arguments are in and checked, the
// compiler is started reading its input from stdin (`-x cpp-output -` for
// `input.i`), a named pipe in the job directory: gcc's driver and cc1 load
// and set up while the client preprocesses, and block reading the pipe until
// the source is written into it. On a hello-sized job that takes about 3 ms
// of the compile off the reply's path (bench/RESULTS.md). The object is the
// same: the names in it come from the source's line markers, not from the
// input's name (a source without line markers, from -P, would be named
// "<stdin>" instead of a temporary file's name).
//
// A started compiler holds no job slot: it waits on the pipe without using
// the CPU. A plain source is written into the pipe as it arrives (gcc reads
// its input to EOF before it compiles, and the daemon keeps no copy), but
// the pipe is closed — EOF, and the compile begins — only once the job has a
// slot, so --jobs still bounds the compilers at work. At most --jobs compilers wait
// like this at once; past that, jobs start the usual way. Anything that goes
// wrong before the source is written (the client leaves, the body is bad,
// the queue is full, the pipe could not be made) ends the started compiler,
// and the job is answered as it would have been without early start.

import { closeSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { preprocessedExtension, rewriteArgs, scanArgs } from '../compiler/args.js';
import type { JobDir } from '../compiler/job-dir.js';
import { withPipe } from '../compiler/pipe.js';
import { runCompiler, type RunResult } from '../compiler/run.js';
import { checkCompiler, checkOptions } from '../compiler/whitelist.js';
import type { ServerContext } from './context.js';

/** gcc's driver and cc1 read their input once, from a pipe as well as a file. */
const READS_A_PIPE = /^(?:(?:[\w.+-]+-)?(?:gcc|g\+\+)(?:-[\d.]+)?|cc|c\+\+)$/;

/**
 * Options this way can't take: gcc reads its input twice with -fcompare-debug
 * (it compiles it again); a -x of the request's own would fight ours.
 */
const NOT_THIS_WAY = /^(?:-fcompare-debug|-x)/;

/** gcc's -x language of a preprocessed input, by the job file's extension. */
const LANGUAGE: Readonly<Record<string, string>> = {
  i: 'cpp-output',
  ii: 'c++-cpp-output',
  mi: 'objective-c-cpp-output',
  mii: 'objective-c++-cpp-output',
};

/** Stands for the input in rewriteArgs' result until it is replaced by `-x LANG -`. */
const INPUT_PLACEHOLDER = '\0input';

const waiting = new WeakMap<ServerContext, number>();

/** Source kept before the pipe is open (the compiler is being forked): then the client waits. */
const PENDING_LIMIT = 1024 * 1024;
/** Source kept for the usual way when the compiler could not start this way: more ends the request. */
const FALLBACK_LIMIT = 16 * PENDING_LIMIT;

export type EarlyJob = Readonly<{
  dir: JobDir;
  /**
   * A piece of a plain source as it arrives (request-decoder's streamBody):
   * it goes into the pipe at once, and the compiler, which reads its input
   * to EOF before it compiles anything, keeps it. No EOF before feed().
   */
  stream: (piece: Buffer) => boolean;
  /**
   * After stream() said false: calls `then` once the pipe has taken what was
   * written (or the compiler is gone). Until then the connection should not
   * read more: the source waits in the socket's buffers, not the daemon's.
   */
  whenDrained: (then: () => void) => void;
  /**
   * Writes the rest of the (decoded) source, closes the pipe (EOF) and
   * resolves with the compiler's result; undefined if the compiler could not
   * be started this way (the job then runs the usual way: takeBack() gives
   * what was streamed).
   */
  feed: (rest: readonly Buffer[]) => Promise<RunResult | undefined>;
  /** After feed() resolved undefined: the streamed pieces, which no compiler took. */
  takeBack: () => Buffer[];
  /** Ends the compiler: `reason` becomes the result's `aborted`. */
  abort: (reason: unknown) => void;
  /** Ends the compiler if it was never fed and removes the job directory. */
  discard: () => void;
}>;

function eligible(version: number, args: readonly string[], ctx: ServerContext): boolean {
  const { config } = ctx;
  if (!config.earlyStart || !ctx.launcher) return false;
  if (version > 2) return false;
  const compiler = args[0] ?? '';
  if (!READS_A_PIPE.test(compiler.slice(compiler.lastIndexOf('/') + 1))) return false;
  if (args.some((a) => NOT_THIS_WAY.test(a))) return false;
  return (waiting.get(ctx) ?? 0) < config.jobs;
}

/**
 * Starts the compiler of a request whose arguments are in, if this one can
 * be: undefined otherwise (and then nothing was started or made).
 */
export async function startEarly(
  version: number,
  args: readonly string[],
  ctx: ServerContext,
): Promise<EarlyJob | undefined> {
  if (!eligible(version, args, ctx)) return undefined;
  const { config } = ctx;
  const scan = scanArgs([...args]);
  if (!scan.distributable) return undefined;
  if (!checkCompiler(args[0]!, config.whitelist).ok) return undefined;
  // Reserved before the first await, so a burst of connections can't overshoot.
  waiting.set(ctx, (waiting.get(ctx) ?? 0) + 1);
  let reserved = true;
  const unreserve = () => {
    if (!reserved) return;
    reserved = false;
    waiting.set(ctx, (waiting.get(ctx) ?? 1) - 1);
  };
  try {
    if (!(await checkOptions(args, config.whitelist.sysroot)).ok) {
      unreserve();
      return undefined;
    }
    const ext = preprocessedExtension(scan.input);
    const language = LANGUAGE[ext];
    if (language === undefined) {
      unreserve();
      return undefined;
    }
    const dir = ctx.jobDirs.make(
      config.tmpdir,
      ext,
      scan.assemblyOutput ? 's' : 'o',
      config.chroot,
    );
    let argv: readonly string[] = rewriteArgs(
      [...args],
      scan,
      INPUT_PLACEHOLDER,
      dir.guestOutput,
      config.whitelist.sysroot,
    ).flatMap((a) => (a === INPUT_PLACEHOLDER ? ['-x', language, '-'] : [a]));
    if (config.pipe) argv = withPipe(argv);
    return begin(dir, argv, ctx, unreserve);
  } catch (err) {
    unreserve();
    throw err;
  }
}

/**
 * The daemon's end of the input pipe. Pieces are written in the event loop
 * while the pipe takes them whole (the launcher makes it 1 MiB, so a
 * hello-sized source is one write(2) and a close); from the first piece it
 * cannot take, a Socket on the same descriptor writes the rest as the
 * compiler reads.
 */
class PipeWriter {
  #fd: number | undefined;
  #socket: Socket | undefined;
  #gone = false;

  constructor(fd: number) {
    this.#fd = fd;
  }

  /** The compiler stopped reading (EPIPE), or the pipe was closed. */
  get destroyed(): boolean {
    return this.#gone || (this.#socket?.destroyed ?? false);
  }

  /** Like a stream's write(): false once the caller should wait for drained(). */
  write(piece: Buffer): boolean {
    if (this.destroyed) return true;
    if (this.#socket) return this.#socket.write(piece);
    let n = 0;
    try {
      n = writeSync(this.#fd!, piece);
    } catch (err) {
      // EPIPE: the compiler is gone, its exit status says why.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') {
        this.destroy();
        return true;
      }
    }
    if (n === piece.length) return true;
    const socket = new Socket({ fd: this.#fd!, readable: false, writable: true });
    this.#fd = undefined;
    this.#socket = socket;
    socket.on('error', () => socket.destroy());
    return socket.write(piece.subarray(n));
  }

  /** Calls `then` once what was written is in the pipe, or the pipe is closed. */
  drained(then: () => void): void {
    const w = this.#socket;
    if (!w || w.destroyed || !w.writableNeedDrain) return then();
    const done = () => {
      w.off('drain', done);
      w.off('close', done);
      then();
    };
    w.on('drain', done);
    w.on('close', done);
  }

  /** Closes the pipe once all is written: the compiler reads to EOF. */
  end(): void {
    const w = this.#socket;
    // Closed, not shut down: a FIFO is no socket.
    if (w) w.write(Buffer.alloc(0), () => w.destroy());
    else this.destroy();
  }

  destroy(): void {
    this.#gone = true;
    this.#socket?.destroy();
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

function begin(
  dir: JobDir,
  argv: readonly string[],
  ctx: ServerContext,
  unreserve: () => void,
): EarlyJob {
  const kill = new AbortController();
  // Resolves with the launcher's let-go once the pipe can be opened, or undefined.
  let onReady!: (letGo: (() => void) | undefined) => void;
  const ready = new Promise<(() => void) | undefined>((r) => (onReady = r));
  const fifoName = dir.input.slice(dir.input.lastIndexOf('/') + 1);
  const result = runCompiler(argv, {
    cwd: dir.guest,
    hostDir: dir.path,
    files: dir,
    env: ctx.compilerEnv,
    signal: kill.signal,
    maxOutput: ctx.config.limits.maxBodySize,
    launcher: ctx.launcher!,
    ...(ctx.sandbox ? { sandbox: ctx.sandbox } : {}),
    fifo: { name: fifoName, ready: (letGo) => onReady(letGo) },
  });
  // Started or not, the compiler is no longer waiting once it has ended.
  void result.finally(() => {
    onReady(undefined);
    unreserve();
  });
  let fed = false;
  let writer: PipeWriter | undefined;
  /** Streamed pieces not yet in the pipe (it is opened once the compiler is forked). */
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  // The daemon's end of the pipe, open once the launcher says the compiler
  // is forked; then the launcher lets go of its own end. 'started': the
  // compiler started this way; 'gone': it did, but is gone already.
  let how: 'started' | 'gone' | 'not started' | undefined;
  const opened = ready.then((letGo): 'started' | 'gone' | 'not started' => {
    how = open(letGo);
    return how;
  });
  const open = (letGo: (() => void) | undefined): 'started' | 'gone' | 'not started' => {
    if (!letGo) return 'not started';
    let fd: number;
    try {
      // The compiler's stdin is the pipe's reader: this never blocks. Through
      // the directory's handle, not through a link the compiler put there.
      fd = dir.openPipe(fifoName);
    } catch (err) {
      letGo();
      // ENXIO: no reader any more, the compiler is gone; its result says why.
      if ((err as NodeJS.ErrnoException).code === 'ENXIO') return 'gone';
      // Anything else (EMFILE...): this compiler would read an empty source.
      // End it; the job runs the usual way.
      kill.abort('no pipe');
      return 'not started';
    }
    letGo();
    const w = new PipeWriter(fd);
    writer = w;
    for (const piece of pending) w.write(piece);
    pending = [];
    pendingBytes = 0;
    return 'started';
  };

  // A compiler that is slow to read (on a busy machine cc1 may not run for a
  // while) would otherwise leave the rest of its source queued in the
  // daemon: 3.4 MB for one job of a kernel build here.
  const stream = (piece: Buffer): boolean => {
    if (writer) return writer.destroyed || writer.write(piece);
    // Gone before its pipe was open: its result answers the job, the source is not needed.
    if (how === 'gone') return true;
    pending.push(piece);
    pendingBytes += piece.length;
    if (how === 'not started' && pendingBytes > FALLBACK_LIMIT) {
      throw new Error(
        `the compiler could not be started early, and the source is over ${FALLBACK_LIMIT >> 20} MiB to keep for the usual way`,
      );
    }
    return pendingBytes < PENDING_LIMIT;
  };

  const whenDrained = (then: () => void) => {
    void opened.then(() => (writer ? writer.drained(then) : then()));
  };

  const feed = async (rest: readonly Buffer[]): Promise<RunResult | undefined> => {
    fed = true;
    unreserve();
    const state = await opened;
    if (state === 'not started') {
      await result;
      return undefined;
    }
    const w = writer;
    if (state === 'gone' || !w || w.destroyed) return result;
    for (const piece of rest) w.write(piece);
    w.end();
    return result;
  };

  // Whatever happened, the daemon's end of the pipe goes with the compiler.
  void result.then(() => void opened.then(() => writer?.destroy()));

  const takeBack = () => {
    const back = pending;
    pending = [];
    return back;
  };

  const abort = (reason: unknown) => {
    writer?.destroy();
    kill.abort(reason);
  };

  const discard = () => {
    if (fed) return;
    fed = true;
    writer?.destroy();
    pending = [];
    kill.abort('discarded');
    ctx.cleanups.track(result.then(() => dir.remove()));
  };

  return Object.freeze({ dir, stream, whenDrained, feed, takeBack, abort, discard });
}
