// Where a compile runs and what happens when that fails: distcc 3.4's
// dcc_build_somewhere (src/compile.c). Non-distributable commands run here
// under a local slot. Otherwise a host slot is locked, the preprocessor
// started, and the job sent; a host that cannot be reached or breaks the
// protocol is put in backoff and the next is tried; when none is left the
// compile runs here with distcc's warning (or, with DISTCC_FALLBACK=0, fails
// with distcc's exit code). A remote compile that fails is retried here
// unless DISTCC_SKIP_LOCAL_RETRY is set.

import { basename, resolve } from 'node:path';
import { preprocessedExtension, scanArgs } from '../compiler/args.js';
import { ExitCode, TsdistccError } from '../errors.js';
import { Phase, type PhaseValue, StateFile } from '../state/binstate.js';
import { clearBackoff, backoffPeriod, markBackoff } from './backoff.js';
import {
  expandPreprocessorOptions,
  preprocessorArgv,
  rewriteCompiler,
  stripLocalArgs,
  withOutput,
} from './client-args.js';
import { openConnection } from './connect.js';
import { readHostList } from './host-source.js';
import { displayName, protocolVersion, type HostDef, type HostList } from './hosts.js';
import type { SlotLock } from './locks.js';
import type { ClientLog } from './log.js';
import { compileRemote, type RemoteReply } from './remote.js';
import { childEnv, exitCodeOf, signalName, type Caller, type ChildResult } from './caller.js';
import { subdir, usableDistccDir } from './state-dir.js';
import { lockLocal, lockTimeout, pauseTime, pickHost, usableHosts } from './where.js';
import { writeOutput } from './output.js';
import { replyLimit } from './reply-limit.js';
import { createTempFile, tempDir } from './temp-files.js';

export type BuildContext = {
  caller: Caller;
  log: ClientLog;
  /** _DISTCC_SAFEGUARD of this process. */
  level: number;
  /** Temp files to remove at exit (unless DISTCC_SAVE_TEMPS=1). */
  temps: string[];
};

function hostString(host: HostDef | undefined): string {
  return host ? host.spec : 'localhost';
}

/** distcc src/exec.c dcc_critique_status: the exit code, and a line saying what failed. */
function critique(
  log: ClientLog,
  result: ChildResult,
  what: string,
  input: string | undefined,
  where: string,
): number {
  const file = input ?? '(null)';
  if (result.signal) {
    log.error(`${what} ${file} on ${where}: ${result.signal}`);
  } else if (result.code === 1) {
    log.error(`${what} ${file} on ${where} failed`);
  } else if (result.code !== 0) {
    log.error(`${what} ${file} on ${where} failed with exit code ${result.code}`);
  } else {
    log.info(`${what} ${file} on ${where} completed ok`);
  }
  return exitCodeOf(result);
}

/** The wait status a server sent, as a child result. */
function fromWaitStatus(status: number): ChildResult {
  const signal = status & 0x7f;
  if (signal !== 0) return { code: 0, signal: signalName(signal) };
  return { code: (status >> 8) & 0xff, signal: undefined };
}

class Build {
  readonly #ctx: BuildContext;
  readonly #state: StateFile | undefined;
  readonly #lockDir: string | undefined;
  readonly #pauseMs: number;
  readonly #lockTimeoutMs: number;
  #input: string | undefined;

  constructor(ctx: BuildContext) {
    this.#ctx = ctx;
    this.#pauseMs = pauseTime(ctx.caller.env);
    this.#lockTimeoutMs = lockTimeout(ctx.caller.env);
    let dir: string | undefined;
    try {
      dir = usableDistccDir(ctx.caller.env);
      this.#lockDir = subdir(dir, 'lock');
    } catch (err) {
      ctx.log.error((err as Error).message);
    }
    this.#state = dir ? new StateFile(dir, ctx.caller.pid) : undefined;
  }

  note(phase: PhaseValue, host: string, slot: number): void {
    try {
      this.#state?.write({ file: basename(this.#input ?? ''), host, slot, phase });
    } catch (err) {
      this.#ctx.log.debug((err as Error).message);
    }
  }

  removeState(): void {
    try {
      this.#state?.remove();
    } catch {
      /* nothing to tell the user about */
    }
  }

  /** A local slot; after a wait past the bound (or if locks cannot be kept), none, with a warning. */
  async lockLocal(slots: number): Promise<SlotLock | undefined> {
    if (!this.#lockDir) return undefined;
    try {
      return await lockLocal(
        this.#lockDir,
        slots,
        this.#pauseMs,
        () => this.note(Phase.BLOCKED, 'localhost', 0),
        this.#lockTimeoutMs,
      );
    } catch (err) {
      if (!(err instanceof TsdistccError)) throw err;
      this.#ctx.log.warn(`${err.message}; running without a local slot`);
      return undefined;
    }
  }

  /** Runs the command here (distcc dcc_compile_local). */
  async runLocal(argv: readonly string[], slot: number): Promise<number> {
    const { log, caller, level } = this.#ctx;
    log.info(`exec on localhost: ${argv.join(' ')}`);
    this.note(Phase.COMPILE, 'localhost', slot);
    const result = await caller.run(argv, childEnv(caller.env, level));
    return critique(log, result, 'compile', this.#input, 'localhost');
  }

  async build(original: readonly string[]): Promise<number> {
    const { log, level } = this.#ctx;
    const env = this.#ctx.caller.env;
    let argv = expandPreprocessorOptions(original);
    if (level > 0) {
      // Recursive call (a masqueraded compiler found us again): run it, no locks.
      return this.runLocal(argv, 0);
    }
    const scan = scanArgs(argv);
    argv = rewriteCompiler(argv, env);
    if (!scan.distributable) {
      log.info(`local compile: ${scan.reason}`);
      const lock = await this.lockLocal(scan.localCpp ? this.#localSlotsCpp() : this.#localSlots());
      try {
        return await this.runLocal(argv, lock?.slot ?? 0);
      } finally {
        lock?.release();
      }
    }
    this.#input = scan.input;
    log.info(`compile from ${scan.input} to ${scan.output}`);
    const attempt = await this.#tryRemote(
      argv,
      rewriteCompiler(original, env),
      scan.input,
      scan.output,
      withOutput(argv, scan),
    );
    if (attempt.done !== undefined) return attempt.done;
    return this.#fallback(argv, attempt);
  }

  #hostList: HostList | undefined;
  #localSlots(): number {
    return this.#hostList?.localSlots ?? 4;
  }
  #localSlotsCpp(): number {
    return this.#hostList?.localSlotsCpp ?? 8;
  }

  /** The remote part; `done` is the exit code when nothing more is to be done. */
  async #tryRemote(
    argv: string[],
    unexpanded: string[],
    input: string,
    output: string,
    fullArgv: string[],
  ): Promise<{
    done?: number;
    code: number;
    host?: HostDef;
    reply?: RemoteReply;
    remoteCode?: number;
  }> {
    const { log, caller } = this.#ctx;
    const env = caller.env;
    if (!this.#lockDir) return { code: ExitCode.IO_ERROR };
    const dir = this.#lockDir.slice(0, -'/lock'.length);
    let list: HostList | undefined;
    try {
      list = readHostList(env, dir)?.list;
    } catch (err) {
      // distcc warns (not errs) about a list with no hosts in it, then compiles here.
      const message = (err as Error).message;
      if (message.includes('contains no hosts')) log.warn(message);
      else log.error(message);
      return { code: (err as TsdistccError).exitCode ?? ExitCode.BAD_HOSTSPEC };
    }
    if (!list) {
      log.warn(`no hostlist is set; can't distribute work`);
      return { code: ExitCode.NO_HOSTS };
    }
    if (list.zeroconf) {
      // Loaded only for +zeroconf: it brings D-Bus when Avahi must be asked.
      const { withZeroconfHosts } = await import('../zeroconf/browse.js');
      list = await withZeroconfHosts(list, { env, distccDir: dir, compiler: argv[0] ?? 'cc', log });
    }
    this.#hostList = list;
    if (list.hosts.length === 0) {
      log.warn(`$DISTCC_HOSTS contained no hosts; can't distribute work`);
      return { code: ExitCode.NO_HOSTS };
    }
    const hosts = list.randomize ? shuffle(list.hosts) : list.hosts;
    const backoffSec = backoffPeriod(env);
    const excluded = new Set<HostDef>();
    let cppFile: string;
    try {
      cppFile = createTempFile(
        tempDir(resolve(caller.cwd, env.TMPDIR || '/tmp'), (why) => log.warn(why)),
        'distcc',
        preprocessedExtension(input),
      );
    } catch (err) {
      if (!(err instanceof TsdistccError)) throw err;
      log.error(err.message);
      return { code: err.exitCode };
    }
    this.#ctx.temps.push(cppFile);
    let preprocessed: Promise<boolean> | undefined;
    let last: HostDef | undefined;

    for (;;) {
      let picked;
      try {
        picked = await pickHost(
          usableHosts(hosts, this.#lockDir, backoffSec, excluded),
          this.#lockDir,
          this.#pauseMs,
          () => this.note(Phase.BLOCKED, 'localhost', 0),
          this.#lockTimeoutMs,
        );
      } catch (err) {
        if (!(err instanceof TsdistccError)) throw err;
        if (err.exitCode !== ExitCode.NO_HOSTS) log.error(err.message);
        return { code: err.exitCode, host: last };
      }
      const { host, lock } = picked;
      if (host.kind === 'local') {
        try {
          return { done: await this.runLocal(argv, lock.slot), code: 0 };
        } finally {
          lock.release();
        }
      }
      last = host;
      let cppLock: SlotLock | undefined;
      try {
        if (!preprocessed) {
          cppLock = await this.lockLocal(this.#localSlotsCpp());
          const cppArgv = preprocessorArgv(unexpanded, output);
          log.debug(`running the preprocessor: ${cppArgv.join(' ')}`);
          this.note(Phase.CPP, 'localhost', cppLock?.slot ?? 0);
          const started = caller.preprocess(cppArgv, childEnv(env, this.#ctx.level), cppFile);
          preprocessed = started.then((r) => {
            cppLock?.release();
            cppLock = undefined;
            const code = critique(log, r, 'cpp', input, 'localhost');
            if (code !== 0) this.#cppFailed = code;
            return code === 0;
          });
        }
        const serverArgv = stripLocalArgs(fullArgv);
        log.info(`exec on ${host.spec}: ${serverArgv.join(' ')}`);
        this.note(Phase.CONNECT, displayName(host), lock.slot);
        const connection = await openConnection(host, env, (d) => caller.stderr(d));
        const reply = await compileRemote({
          connection,
          version: this.#version(host),
          argv: serverArgv,
          preprocessed,
          sourceFile: cppFile,
          ioTimeoutMs: ioTimeout(env),
          maxReplyBytes: this.#maxReply(),
          onPhase: (p) => this.note(PHASES[p], displayName(host), lock.slot),
        });
        lock.release();
        if (!reply) {
          // The preprocessor failed: its errors are on stderr already. Like
          // distcc, rerun the command here unless told not to; unlike distcc
          // (issue #74), the host is not put in backoff for it.
          const code = this.#cppFailed ?? 1;
          if (code < 128 && env.DISTCC_SKIP_LOCAL_RETRY !== undefined) return { done: code, code };
          if (code < 128) log.warn(`remote compilation of '${input}' failed, retrying locally`);
          return { code, host, remoteCode: code };
        }
        clearBackoff(this.#lockDir, host);
        return this.#judge(host, reply, resolve(caller.cwd, output));
      } catch (err) {
        lock.release();
        cppLock?.release();
        if (!(err instanceof TsdistccError)) throw err;
        log.error(err.message);
        markBackoff(this.#lockDir, host);
        excluded.add(host);
      }
    }
  }

  #cppFailed: number | undefined;

  #maxReply(): number {
    const { bytes, problem } = replyLimit(this.#ctx.caller.env);
    if (problem) this.#ctx.log.warn(problem);
    return bytes;
  }

  /**
   * The protocol for `host`. Pump hosts (`,cpp,lzo`) need the include server;
   * this client has none yet, so, like distcc without `distcc-pump`, it warns
   * and preprocesses here (protocol 2).
   */
  #version(host: HostDef): number {
    const version = protocolVersion(host);
    if (version !== 3) return version;
    const { log, caller } = this.#ctx;
    if (!caller.env.INCLUDE_SERVER_PORT) {
      log.warn(`INCLUDE_SERVER_PORT not set - did you forget to run under 'distcc-pump'?`);
    }
    log.warn('failed to get includes from include server, preprocessing locally');
    return 2;
  }

  #judge(
    host: HostDef,
    reply: RemoteReply,
    output: string,
  ): { done?: number; code: number; host?: HostDef; reply?: RemoteReply; remoteCode?: number } {
    const { log, caller } = this.#ctx;
    const env = caller.env;
    const code = critique(log, fromWaitStatus(reply.status), 'compile', this.#input, host.spec);
    if (reply.stdout.length > 0) caller.stdout(reply.stdout);
    if (code === 0) {
      try {
        writeOutput(output, reply.object, 0o666 & ~caller.umask);
      } catch (err) {
        if (!(err instanceof TsdistccError)) throw err;
        log.error(err.message);
        return { done: err.exitCode, code: err.exitCode };
      }
      if (reply.stderr.length > 0) caller.stderr(reply.stderr);
      return { done: 0, code: 0 };
    }
    if (code < 128 && env.DISTCC_SKIP_LOCAL_RETRY !== undefined) {
      if (reply.stderr.length > 0) caller.stderr(reply.stderr);
      return { done: code, code };
    }
    if (code < 128) log.warn(`remote compilation of '${this.#input}' failed, retrying locally`);
    markBackoff(this.#lockDir!, host);
    return { code, host, reply, remoteCode: code };
  }

  async #fallback(
    argv: string[],
    attempt: { code: number; host?: HostDef; reply?: RemoteReply; remoteCode?: number },
  ): Promise<number> {
    const { log, caller } = this.#ctx;
    if (caller.env.DISTCC_FALLBACK === '0') {
      log.error('failed to distribute and fallbacks are disabled');
      if (attempt.reply && attempt.reply.stderr.length > 0) caller.stderr(attempt.reply.stderr);
      return attempt.remoteCode ?? attempt.code;
    }
    if (attempt.host) {
      log.warn(
        `failed to distribute ${this.#input ?? '(unknown)'} to ${hostString(attempt.host)}, running locally instead`,
      );
    } else {
      log.warn('failed to distribute, running locally instead');
    }
    const lock = await this.lockLocal(this.#localSlots());
    let code: number;
    try {
      code = await this.runLocal(argv, lock?.slot ?? 0);
    } finally {
      lock?.release();
    }
    if (attempt.remoteCode !== undefined && attempt.host && this.#lockDir) {
      if (attempt.remoteCode === code) clearBackoff(this.#lockDir, attempt.host);
      else
        log.warn(
          `remote compilation of '${this.#input}' failed, retried locally and got a different result.`,
        );
    }
    return code;
  }
}

const PHASES = {
  cpp: Phase.CPP,
  send: Phase.SEND,
  compile: Phase.COMPILE,
  receive: Phase.RECEIVE,
} as const;

function ioTimeout(env: NodeJS.ProcessEnv): number {
  const text = env.DISTCC_IO_TIMEOUT;
  const sec = text !== undefined && /^\d+$/.test(text.trim()) ? parseInt(text, 10) : 300;
  return (sec > 0 ? sec : 300) * 1000;
}

/** distcc --randomize: the list in a random order. */
function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Builds `argv` somewhere; returns the exit code. */
export async function buildSomewhere(argv: readonly string[], ctx: BuildContext): Promise<number> {
  const build = new Build(ctx);
  try {
    return await build.build(argv);
  } finally {
    build.removeState();
  }
}
