// tsdistccd from options to a served socket; resolves with the exit status.

import { existsSync, fstatSync } from 'node:fs';
import { availableParallelism, getPriority, hostname, setPriority } from 'node:os';
import { Socket } from 'node:net';
import type { RawDaemonOptions } from './cli/daemon-options.js';
import { parseDaemonArgs } from './cli/parse-daemon-args.js';
import type { DaemonConfig } from './config/daemon-config.js';
import { loadDaemonConfig } from './config/load-config.js';
import { CompilerMissingError, ExitCode, TsdistccError } from './errors.js';
import { createLogger, type LogDestination, type Logger } from './logging/logger.js';
import { FACILITY_DAEMON, syslogLine } from './logging/syslog-format.js';
import { compilerEnv, compilerPath, compilersOnPath } from './compiler/environment.js';
import { serveConnection } from './server/connection.js';
import { makeContext, startDaemon, type Daemon } from './server/daemon.js';
import { clientAddress, isAllowed } from './server/access.js';
import { endWith } from './server/listener.js';
import { loadExeca } from './compiler/run.js';
import { chooseRunner, type Runner, type RunnerOptions } from './compiler/runner.js';
import { applyReload } from './server/reload.js';
import type { ServerContext } from './server/context.js';
import { DatagramSender } from './system/datagram.js';
import { detach, isDetachedChild, reportToParent } from './system/detach.js';
import { removePidFile, writePidFile } from './system/pid-file.js';
import { accountToRunAs, dropPrivileges, switchTo, type Account } from './system/privileges.js';
import { createNotifier } from './system/sd-notify.js';
import { pickSockets, takeListenFds } from './system/socket-activation.js';
import { VERSION } from './version.js';

export function versionText(): string {
  return `tsdistccd ${VERSION} ${process.arch}-linux (Node.js ${process.version})
  (protocols 1, 2 and 3) (default port 3632)

tsdistcc is free software under the GNU General Public License, version 2 or later.
`;
}

/** Whether the daemon got as far as serving (a start that failed did not). */
let serving = false;
/** Datagrams (syslog, sd_notify) go through one helper process. */
let datagrams: DatagramSender | undefined;
/** Read when this module loads, before root is dropped: what a SIGHUP re-read checks --chroot by. */
const STARTED_AS_ROOT = process.getuid?.() === 0;
function datagramSender(): DatagramSender {
  datagrams ??= new DatagramSender((msg) => process.stderr.write(`tsdistccd: ${msg}\n`));
  return datagrams;
}

function logDestination(config: DaemonConfig, env: NodeJS.ProcessEnv): LogDestination {
  if (config.logStderr) {
    return { kind: 'stderr', priorityPrefix: env.JOURNAL_STREAM !== undefined };
  }
  if (config.logFile !== undefined) {
    return {
      kind: 'file',
      path: config.logFile,
      ...(config.logRotation ? { rotation: config.logRotation } : {}),
    };
  }
  if (!existsSync(config.syslogSocket)) {
    process.stderr.write(
      `tsdistccd: no syslog socket at ${config.syslogSocket}; logging to standard error (give --log-file, --log-stderr or --syslog-socket)\n`,
    );
    return { kind: 'stderr', priorityPrefix: env.JOURNAL_STREAM !== undefined };
  }
  const sender = datagramSender();
  return {
    kind: 'syslog',
    send: (severity, message) =>
      sender.send(
        config.syslogSocket,
        syslogLine({
          facility: FACILITY_DAEMON,
          severity,
          ident: config.ident,
          pid: process.pid,
          message,
        }),
      ),
  };
}

function makeLogger(config: DaemonConfig, env: NodeJS.ProcessEnv): Promise<Logger> {
  return createLogger({
    level: config.logLevel,
    destination: logDestination(config, env),
    format: config.logFormat,
    ident: config.ident,
  });
}

/** distccd refuses to start with no whitelist directory at all (exit 110). */
function checkWhitelist(config: DaemonConfig): void {
  const wl = config.whitelist;
  if (wl.insecure || wl.names.size > 0) return;
  if (!wl.dirs.some((d) => existsSync(d))) {
    throw new CompilerMissingError(
      `no compiler whitelist directory exists (${wl.dirs.join(', ')}): create one with links named for the allowed compilers, give --whitelist-dir or --whitelist-path, or --enable-tcp-insecure`,
    );
  }
}

function runnerOptions(
  config: DaemonConfig,
  logger: Logger,
  cenv: NodeJS.ProcessEnv,
  env: NodeJS.ProcessEnv,
  useLauncher: boolean,
  account?: Account,
): RunnerOptions {
  return {
    sandbox: config.sandbox,
    ...(config.chroot !== undefined ? { chroot: config.chroot } : {}),
    personality: config.personality,
    tmpdir: config.tmpdir,
    useLauncher: useLauncher && config.launcher,
    ...(account ? { account: { uid: account.uid, gid: account.gid } } : {}),
    env: cenv,
    hostPath: env.PATH ?? '/usr/bin:/bin',
    onError: (m) => logger.error(m),
    onWarning: (m) => logger.warning(m),
  };
}

function stdinIsSocket(): boolean {
  try {
    return fstatSync(0).isSocket();
  } catch {
    return false;
  }
}

async function serveInetd(
  config: DaemonConfig,
  logger: Logger,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const cenv = compilerEnv(env, config.chroot);
  const ctx = makeContext(
    config,
    logger,
    cenv,
    await chooseRunner(runnerOptions(config, logger, cenv, env, false)),
  );
  // No launcher here: compilers are forked with execa, loaded before fd 0 is taken.
  await loadExeca();
  // inetd hands over one TCP socket as fd 0 and 1; ssh and tests give pipes
  // or a Unix socketpair, which have no peer address to check.
  const input = stdinIsSocket()
    ? new Socket({ fd: 0, readable: true, writable: false })
    : process.stdin;
  const address = input instanceof Socket ? input.remoteAddress : undefined;
  const peer =
    address !== undefined ? { address: clientAddress(address), port: input.remotePort } : {};
  if (address !== undefined && config.allow.length > 0 && !isAllowed(config.allow, address)) {
    logger.warning(`client: ${address}:${input.remotePort ?? 0} denied by access list`);
    input.destroy();
    return ExitCode.ACCESS_DENIED;
  }
  await serveConnection(
    {
      input,
      output: process.stdout,
      peer,
      destroy: () => {
        input.destroy();
        process.stdout.destroy();
      },
      end: (parts) => endWith(process.stdout, parts),
    },
    ctx,
  );
  await ctx.cleanups.settled();
  await ctx.jobDirs.empty();
  return 0;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let config: DaemonConfig;
  let cli: RawDaemonOptions;
  try {
    const parsed = await parseDaemonArgs(argv, 'the command line');
    if (parsed.kind === 'help') {
      process.stdout.write(`${parsed.text}\n`);
      return 0;
    }
    if (parsed.kind === 'version') {
      process.stdout.write(versionText());
      return 0;
    }
    cli = parsed.options;
    config = await loadDaemonConfig({ cli, env, stdinIsSocket: stdinIsSocket() });
  } catch (err) {
    if (err instanceof TsdistccError) {
      process.stderr.write(`tsdistccd: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }

  if (config.detach && !isDetachedChild()) return detach();

  let logger: Logger;
  try {
    // A --log-file that is a link, or in no directory, is refused here (exit 101).
    logger = await makeLogger(config, env);
  } catch (err) {
    if (!(err instanceof TsdistccError)) throw err;
    process.stderr.write(`tsdistccd: ${err.message}\n`);
    reportToParent({ exitCode: err.exitCode, message: err.message });
    return err.exitCode;
  }
  try {
    if (config.nice !== 0) {
      try {
        setPriority(Math.min(19, getPriority() + config.nice));
      } catch (err) {
        logger.warning(`cannot change niceness by ${config.nice}: ${(err as Error).message}`);
      }
    }
    if (config.whitelistPath) {
      const names = compilersOnPath(compilerPath(env, config.chroot), config.chroot ?? '');
      for (const n of names) (config.whitelist.names as Set<string>).add(n);
      logger.info(`whitelisted from PATH: ${[...names].sort().join(' ')}`);
    }
    checkWhitelist(config);
    if (config.mode === 'inetd') {
      dropPrivileges(config.user);
      return await serveInetd(config, logger, env);
    }
    return await runDaemon(config, cli, logger, env);
  } catch (err) {
    const e = err instanceof TsdistccError ? err : undefined;
    const what = e ? e.message : `internal error: ${(err as Error).stack ?? String(err)}`;
    // Several instances share a machine: say which one could not start.
    const message =
      config.instance !== undefined
        ? `instance ${config.instance}${config.configFile !== undefined ? ` (${config.configFile})` : ''}: ${what}`
        : what;
    logger.critical(message);
    logger.flush();
    // A log file this start created goes again: made as root, it would stay
    // root's, and the next start (which only chowns a file it creates) would
    // keep it so, unreopenable by --user after rotation. Not opening it after
    // the bind instead: what start-up says before the bind belongs in it.
    // The message itself is on standard error (below, or the log is stderr).
    if (config.mode !== 'inetd' && !serving) logger.removeCreated();
    if (!config.logStderr) process.stderr.write(`tsdistccd: ${message}\n`);
    reportToParent({ exitCode: e?.exitCode ?? ExitCode.GENERAL, message });
    return e?.exitCode ?? ExitCode.GENERAL;
  } finally {
    await datagrams?.close();
  }
}

function statusLine(ctx: ServerContext): string {
  return `${ctx.queue.running} jobs running, ${ctx.queue.queued} queued; ${ctx.stats.counters.COMPILE_OK} compiled, ${ctx.stats.counters.COMPILE_ERROR} failed`;
}

async function reload(
  ctx: ServerContext,
  cli: RawDaemonOptions,
  env: NodeJS.ProcessEnv,
  startedAsRoot: boolean,
): Promise<void> {
  const { logger } = ctx;
  try {
    const next = await loadDaemonConfig({ cli, env, stdinIsSocket: false, startedAsRoot });
    const { changed, needRestart } = applyReload(ctx, next);
    logger.notice(
      `SIGHUP: configuration re-read${ctx.config.configFile ? ` from ${ctx.config.configFile}` : ''}; changed: ${changed.join(', ') || 'nothing'}`,
    );
    if (needRestart.length > 0) {
      logger.warning(
        `SIGHUP: these changes need a restart and were not applied: ${needRestart.join(', ')}`,
      );
    }
  } catch (err) {
    logger.error(`SIGHUP: keeping the old configuration: ${(err as Error).message}`);
  }
}

/** --zeroconf: advertise with Avahi (dbus-next is loaded only then). */
async function startZeroconf(ctx: ServerContext, daemon: Daemon, runner: Runner) {
  const { advertise } = await import('./zeroconf/publish.js');
  const { config } = ctx;
  return advertise(
    {
      port: daemon.listener.address().port,
      jobs: config.jobs,
      cpus: availableParallelism(),
      version: VERSION,
      hostname: hostname(),
      probe: { env: ctx.compilerEnv, runs: runner },
    },
    ctx.logger,
  );
}

async function runDaemon(
  config: DaemonConfig,
  cli: RawDaemonOptions,
  logger: Logger,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const account = accountToRunAs(config.user);
  const cenv = compilerEnv(env, config.chroot);
  const runner = await chooseRunner(runnerOptions(config, logger, cenv, env, true, account));
  const ctx = makeContext(config, logger, cenv, runner);
  // Without the launcher (--no-launcher, no perl) compilers are forked with execa.
  if (!ctx.launcher) await loadExeca();
  const passed = pickSockets(takeListenFds(env));
  const daemon: Daemon = await startDaemon(ctx, passed);
  if (config.pidFile !== undefined) writePidFile(config.pidFile, process.pid, account);
  const logFile = logger.currentFile();
  if (account && logFile !== undefined) {
    // A file created here as root goes to the account (through its
    // descriptor): after the switch, rotation must still be able to remove
    // it. One that was there keeps its owner: root never chowns a file it
    // did not make.
    try {
      logger.giveTo(account.uid, account.gid);
    } catch (err) {
      logger.warning(`cannot give ${logFile} to ${account.name}: ${(err as Error).message}`);
    }
  }
  // A launcher that enters a chroot must keep root; it switches each
  // compiler to the account itself (launcher-script.ts).
  if (ctx.launcher?.needsRoot) ctx.launcher.warm();
  // Before dropping root: the compiler to describe may be inside --chroot.
  const zeroconf = config.zeroconf ? await startZeroconf(ctx, daemon, runner) : undefined;
  if (account) {
    switchTo(account);
    // The datagram helper (syslog) may have started as root: restart it as
    // the user on its next send, so no root process stays behind.
    await datagrams?.close();
  }
  // Otherwise started only now, so that it and its compilers run as the user.
  ctx.launcher?.warm();
  zeroconf?.start();
  serving = true;
  const where = daemon.listener.address();
  logger.notice(
    `listening on ${where.address}:${where.port}${passed.jobs !== undefined ? ' (socket from systemd)' : ''}${daemon.statsServer ? `, stats on port ${(daemon.statsServer.address() as { port: number }).port}` : ''}; jobs ${config.jobs}, queue ${config.queueLimit}${account ? `, user ${account.name}` : ''}, sandbox ${runner.kind}`,
  );
  reportToParent('ready');
  const notifier = createNotifier(env, datagramSender());
  notifier.notify({ READY: '1', STATUS: statusLine(ctx), MAINPID: String(process.pid) });
  notifier.startWatchdog();
  const statusTimer = notifier.enabled
    ? setInterval(() => notifier.notify({ STATUS: statusLine(ctx) }), 2000).unref()
    : undefined;

  return new Promise<number>((resolve) => {
    let stopping = false;
    const finish = () => {
      clearInterval(statusTimer);
      void notifier.stop();
      const left = config.pidFile !== undefined ? removePidFile(config.pidFile) : undefined;
      if (left !== undefined) logger.warning(left);
      logger.notice('stopped');
      logger.flush();
      resolve(0);
    };
    const onStop = (why: string) => {
      if (stopping) {
        logger.warning(`${why} again: stopping now`);
        daemon.stopNow();
        return;
      }
      stopping = true;
      notifier.notify({ STOPPING: '1', STATUS: `stopping: ${statusLine(ctx)}` });
      void Promise.all([daemon.stop(why), zeroconf?.stop()]).then(finish);
    };
    process.on('SIGTERM', () => onStop('SIGTERM'));
    process.on('SIGINT', () => onStop('SIGINT'));
    process.on('SIGHUP', () => {
      try {
        logger.reopen();
        if (config.logFile !== undefined) logger.notice('SIGHUP: log file reopened');
      } catch (err) {
        // The old file is still open: say it there (and on stderr), and go on.
        const message = `SIGHUP: cannot reopen the log file: ${(err as Error).message}; still logging to the file open before`;
        logger.error(message);
        process.stderr.write(`tsdistccd: ${message}\n`);
      }
      notifier.notify({ RELOADING: '1' });
      void reload(ctx, cli, env, STARTED_AS_ROOT).then(() =>
        notifier.notify({ READY: '1', STATUS: statusLine(ctx) }),
      );
    });
    if (config.lifetime > 0) {
      setTimeout(
        () => onStop(`--lifetime ${config.lifetime}s over`),
        config.lifetime * 1000,
      ).unref();
    }
  });
}
