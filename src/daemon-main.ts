// tsdistccd from options to a served socket; resolves with the exit status.

import { existsSync, fstatSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { Socket } from 'node:net';
import yargs from 'yargs';
import { defineDaemonOptions, type RawDaemonOptions } from './cli/daemon-options.js';
import { buildDaemonConfig, type DaemonConfig } from './config/daemon-config.js';
import { CompilerMissingError, ConfigError, ExitCode, TsdistccError } from './errors.js';
import { createLogger, type Logger } from './logging/logger.js';
import { compilerEnv, compilerPath, compilersOnPath } from './compiler/environment.js';
import { serveConnection } from './server/connection.js';
import { makeContext, startDaemon } from './server/daemon.js';
import { isAllowed } from './server/access.js';
import { detach, isDetachedChild, reportToParent } from './system/detach.js';
import { removePidFile, writePidFile } from './system/pid-file.js';
import { accountToRunAs, dropPrivileges, switchTo } from './system/privileges.js';
import { VERSION } from './version.js';

export function versionText(): string {
  return `tsdistccd ${VERSION} ${process.arch}-linux (Node.js ${process.version})
  (protocols 1 and 2) (default port 3632)

tsdistcc is free software under the GNU General Public License, version 2 or later.
`;
}

async function parseOptions(argv: string[]): Promise<RawDaemonOptions | { help: string }> {
  let failure: string | undefined;
  const parser = defineDaemonOptions(yargs(argv))
    .exitProcess(false)
    .fail((msg, err) => {
      failure = msg ?? err?.message ?? 'bad options';
    });
  if (argv.includes('--help') || argv.includes('-h')) return { help: await parser.getHelp() };
  if (argv.includes('--version')) return { version: true };
  const parsed = (await parser.parseAsync()) as RawDaemonOptions & { _: unknown[] };
  if (failure !== undefined) throw new ConfigError(`${failure} (see tsdistccd --help)`);
  if (parsed._.length > 0) {
    throw new ConfigError(
      `tsdistccd takes no arguments besides options, got \`${parsed._.join(' ')}\``,
    );
  }
  return parsed;
}

function makeLogger(config: DaemonConfig, ident: string): Logger {
  return createLogger({
    level: config.logLevel,
    destination:
      config.logFile !== undefined && !config.logStderr
        ? { kind: 'file', path: config.logFile }
        : { kind: 'stderr' },
    format: config.logFormat,
    ident,
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
  const ctx = makeContext(config, logger, compilerEnv(env));
  // inetd hands over one TCP socket as fd 0 and 1; ssh and tests give pipes
  // or a Unix socketpair, which have no peer address to check.
  const input = stdinIsSocket()
    ? new Socket({ fd: 0, readable: true, writable: false })
    : process.stdin;
  const address = input instanceof Socket ? input.remoteAddress : undefined;
  const peer = address !== undefined ? { address, port: input.remotePort } : {};
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
      end: (d) => process.stdout.end(d),
    },
    ctx,
  );
  await ctx.cleanups.settled();
  return 0;
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let config: DaemonConfig;
  try {
    const options = await parseOptions(argv);
    if ('help' in options && typeof options.help === 'string') {
      process.stdout.write(`${options.help}\n`);
      return 0;
    }
    if (options.version) {
      process.stdout.write(versionText());
      return 0;
    }
    config = buildDaemonConfig({
      options: options,
      env,
      stdinIsSocket: stdinIsSocket(),
    });
  } catch (err) {
    if (err instanceof TsdistccError) {
      process.stderr.write(`tsdistccd: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }

  if (config.detach && !isDetachedChild()) return detach();

  const logger = makeLogger(config, 'tsdistccd');
  try {
    if (config.nice !== 0) {
      try {
        setPriority(Math.min(19, getPriority() + config.nice));
      } catch (err) {
        logger.warning(`cannot change niceness by ${config.nice}: ${(err as Error).message}`);
      }
    }
    if (config.whitelistPath) {
      const names = compilersOnPath(compilerPath(env));
      for (const n of names) (config.whitelist.names as Set<string>).add(n);
      logger.info(`whitelisted from PATH: ${[...names].sort().join(' ')}`);
    }
    checkWhitelist(config);
    if (config.mode === 'inetd') {
      dropPrivileges(config.user);
      return await serveInetd(config, logger, env);
    }
    return await runDaemon(config, logger, env);
  } catch (err) {
    const e = err instanceof TsdistccError ? err : undefined;
    const message = e ? e.message : `internal error: ${(err as Error).stack ?? String(err)}`;
    logger.critical(message);
    logger.flush();
    if (!config.logStderr && config.logFile !== undefined)
      process.stderr.write(`tsdistccd: ${message}\n`);
    reportToParent({ exitCode: e?.exitCode ?? ExitCode.GENERAL, message });
    return e?.exitCode ?? ExitCode.GENERAL;
  }
}

async function runDaemon(
  config: DaemonConfig,
  logger: Logger,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const ctx = makeContext(config, logger, compilerEnv(env), true);
  const daemon = await startDaemon(ctx);
  const account = accountToRunAs(config.user);
  if (config.pidFile !== undefined) writePidFile(config.pidFile, process.pid, account);
  if (account) switchTo(account);
  // Started only now, so that it and its compilers run as the unprivileged user.
  ctx.launcher?.warm();
  const where = daemon.listener.address();
  logger.notice(
    `listening on ${where.address}:${where.port}${daemon.statsServer ? `, stats on port ${(daemon.statsServer.address() as { port: number }).port}` : ''}; jobs ${config.jobs}, queue ${config.queueLimit}${account ? `, user ${account.name}` : ''}`,
  );
  reportToParent('ready');

  return new Promise<number>((resolve) => {
    let stopping = false;
    const finish = () => {
      if (config.pidFile !== undefined) removePidFile(config.pidFile);
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
      void daemon.stop(why).then(finish);
    };
    process.on('SIGTERM', () => onStop('SIGTERM'));
    process.on('SIGINT', () => onStop('SIGINT'));
    process.on('SIGHUP', () => {
      logger.reopen();
      logger.notice('SIGHUP: log file reopened');
    });
    if (config.lifetime > 0) {
      setTimeout(
        () => onStop(`--lifetime ${config.lifetime}s over`),
        config.lifetime * 1000,
      ).unref();
    }
  });
}
