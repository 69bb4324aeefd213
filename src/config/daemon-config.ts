// From parsed options (and the environment) to one frozen configuration.
// Every problem is collected and reported together; any problem is exit 101.

import { statSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { DEFAULT_PORT, defaultStatsPort, type RawDaemonOptions } from '../cli/daemon-options.js';
import { LEVEL_NAMES_ACCEPTED, parseLevel, type LevelName } from '../logging/levels.js';
import { ARG_BYTES, defaultLimits, type RequestLimits } from '../protocol/limits.js';
import { PRIVATE_RANGES, parseAllowRule, type AllowRule } from '../server/access.js';
import { DEFAULT_WHITELIST_DIRS, type WhitelistOptions } from '../compiler/whitelist.js';
import type { SandboxMode } from '../compiler/runner.js';

const SANDBOX_MODES: readonly SandboxMode[] = ['auto', 'namespaces', 'bwrap', 'none'];
import { integerOption, lastString, sizeOption, type Problems } from './numbers.js';

export type LogRotation = Readonly<{ frequency?: 'daily' | 'hourly'; size?: string; keep: number }>;

export type DaemonConfig = Readonly<{
  /** The instance name (--instance), if any. */
  instance?: string;
  /** The env file the options came from, if any (re-read on SIGHUP). */
  configFile?: string;
  /** Program name in log lines and syslog ident: tsdistccd or tsdistccd-NAME. */
  ident: string;
  mode: 'daemon' | 'inetd';
  detach: boolean;
  /** Root directory of every compiler (--chroot). */
  chroot?: string;
  personality: 'native' | 'linux32' | 'linux64';
  /** Which sandbox compilers run in (compiler/runner.ts); auto: the first that works here. */
  sandbox: SandboxMode;
  port: number;
  listen?: string;
  allow: readonly AllowRule[];
  jobs: number;
  queueLimit: number;
  /** Most client connections open at once. */
  maxConnections: number;
  nice: number;
  /** Fork compilers through the resident launcher (compiler/launcher.ts). */
  launcher: boolean;
  /** Add -pipe to gcc and clang command lines (compiler/pipe.ts). */
  pipe: boolean;
  /** Start gcc before the source is in (server/early-start.ts). */
  earlyStart: boolean;
  user?: string;
  pidFile?: string;
  jobLifetime: number;
  lifetime: number;
  shutdownGrace: number;
  logFile?: string;
  logRotation?: LogRotation;
  logStderr: boolean;
  syslogSocket: string;
  logLevel: LevelName;
  logFormat: 'text' | 'json';
  stats: boolean;
  statsPort: number;
  /** Advertise with Avahi (zeroconf/publish.ts). */
  zeroconf: boolean;
  /** Whitelist settings; `names` is filled at start-up from PATH with --whitelist-path. */
  whitelist: WhitelistOptions;
  whitelistPath: boolean;
  limits: RequestLimits;
  ioTimeout: number;
  tmpdir: string;
}>;

export type ConfigInput = Readonly<{
  options: RawDaemonOptions;
  ident?: string;
  instance?: string;
  configFile?: string;
  /** Where an option came from, for messages (`FILE:LINE: DISTCC_ARGS`); none for the command line. */
  sourceOf?: (option: string) => string | undefined;
  env: NodeJS.ProcessEnv;
  /** Whether fd 0 is a socket: distccd then assumes --inetd. */
  stdinIsSocket: boolean;
  /**
   * Whether the daemon was started as root (default: whether it runs as root
   * now). A SIGHUP re-read passes what held at start: by then a --chroot
   * instance has switched to --user, and its launcher kept root for it.
   */
  startedAsRoot?: boolean;
}>;

const MAX_SECS = 365 * 24 * 3600;

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function logRotation(problems: Problems, o: RawDaemonOptions): LogRotation | undefined {
  const spec = lastString(o['log-rotate']);
  const keep = integerOption(problems, 'log-rotate-keep', o['log-rotate-keep'], 7, {
    min: 0,
    max: 10_000,
  });
  if (spec === undefined) return undefined;
  if (o['log-file'] === undefined) problems.push('--log-rotate needs --log-file');
  if (spec === 'daily' || spec === 'hourly') return { frequency: spec, keep };
  if (/^\d+[kmg]?$/i.test(spec)) return { size: spec, keep };
  problems.push(`--log-rotate must be daily, hourly or a size like 10M, got \`${spec}\``);
  return undefined;
}

export function buildDaemonConfig({
  options: o,
  env,
  stdinIsSocket,
  ident,
  instance,
  configFile,
  sourceOf,
  startedAsRoot = process.getuid?.() === 0,
}: ConfigInput): DaemonConfig {
  const problems: Problems = [];
  if (o.daemon && o.inetd) problems.push('--daemon and --inetd exclude each other; give one');
  const mode = o.inetd ? 'inetd' : o.daemon ? 'daemon' : stdinIsSocket ? 'inetd' : 'daemon';

  const allow: AllowRule[] = [];
  for (const text of o.allow ?? []) {
    const rule = parseAllowRule(text);
    if (typeof rule === 'string') problems.push(rule);
    else allow.push(rule);
  }
  if (o['allow-private']) {
    for (const text of PRIVATE_RANGES) allow.push(parseAllowRule(text) as AllowRule);
  }
  // Fail closed: distcc's own versions disagree on what no --allow means.
  // In inetd mode with a pipe (ssh) there is no peer address to check.
  if (mode === 'daemon' && allow.length === 0 && problems.length === 0) {
    problems.push(
      'no --allow and no --allow-private given: tsdistccd serves nobody by default; name the clients with --allow IP[/BITS] or use --allow-private',
    );
  }

  const jobs = integerOption(problems, 'jobs', o.jobs, availableParallelism() + 2, {
    min: 1,
    max: 4096,
  });
  const logLevelText = lastString(o['log-level']);
  let logLevel: LevelName = 'notice';
  if (logLevelText !== undefined) {
    const parsed = parseLevel(logLevelText);
    if (parsed) logLevel = parsed;
    else
      problems.push(
        `--log-level must be one of ${LEVEL_NAMES_ACCEPTED.join(', ')}; got \`${logLevelText}\``,
      );
  }
  if (o.verbose || o.wizard) logLevel = 'debug';
  const logFormatText = lastString(o['log-format']) ?? 'text';
  if (logFormatText !== 'text' && logFormatText !== 'json') {
    problems.push(`--log-format must be text or json, got \`${logFormatText}\``);
  }

  const ioText = env.DISTCC_IO_TIMEOUT;
  let ioTimeout = 300;
  if (ioText !== undefined && ioText !== '') {
    const n = Number(ioText);
    if (!Number.isInteger(n) || n <= 0) {
      problems.push(`DISTCC_IO_TIMEOUT must be a positive number of seconds, got \`${ioText}\``);
    } else ioTimeout = n;
  }

  const maxArgLength = sizeOption(
    problems,
    'max-arg-length',
    o['max-arg-length'],
    defaultLimits.maxArgLength,
  );
  const limits: RequestLimits = Object.freeze({
    maxArgs: integerOption(problems, 'max-args', o['max-args'], defaultLimits.maxArgs, {
      min: 1,
      max: 1_000_000,
    }),
    maxArgLength,
    maxArgBytes: Math.max(ARG_BYTES, maxArgLength),
    maxBodySize: sizeOption(
      problems,
      'max-body-size',
      o['max-body-size'],
      defaultLimits.maxBodySize,
    ),
    maxFiles: integerOption(problems, 'max-files', o['max-files'], defaultLimits.maxFiles, {
      min: 1,
      max: 1_000_000,
    }),
  });
  if (limits.maxBodySize > 0xffffffff)
    problems.push('--max-body-size must be under 4G (the protocol counts in 32 bits)');

  const chroot = lastString(o.chroot);
  if (chroot !== undefined) {
    if (!chroot.startsWith('/'))
      problems.push(`--chroot must be an absolute directory, got \`${chroot}\``);
    else if (!isDirectory(chroot))
      problems.push(`--chroot must be an existing directory, got \`${chroot}\``);
    else if (!isDirectory(join(chroot, 'tmp'))) {
      problems.push(`--chroot ${chroot} must have a /tmp for job directories, found none`);
    }
  }
  const personality = lastString(o.personality) ?? 'native';
  if (personality !== 'native' && personality !== 'linux32' && personality !== 'linux64') {
    problems.push(`--personality must be native, linux32 or linux64, got \`${personality}\``);
  }
  const sandbox = lastString(o.sandbox) ?? 'auto';
  if (!SANDBOX_MODES.includes(sandbox as SandboxMode)) {
    problems.push(`--sandbox must be ${SANDBOX_MODES.join(', ')}, got \`${sandbox}\``);
  }
  if ((chroot !== undefined || personality !== 'native') && o.launcher === false) {
    problems.push('--chroot and --personality need the launcher; drop --no-launcher');
  }
  if (chroot !== undefined && sandbox === 'none' && !startedAsRoot) {
    problems.push(`--chroot ${chroot} needs tsdistccd started as root, or the sandbox`);
  }
  const inRoot = (dir: string) => (chroot !== undefined ? join(chroot, dir) : dir);
  const port = integerOption(problems, 'port', o.port, DEFAULT_PORT, { min: 0, max: 65535 });
  const rotation = logRotation(problems, o);
  const config: DaemonConfig = Object.freeze({
    ...(instance !== undefined ? { instance } : {}),
    ...(configFile !== undefined ? { configFile } : {}),
    ident: ident ?? 'tsdistccd',
    mode,
    ...(chroot !== undefined ? { chroot } : {}),
    personality: personality as DaemonConfig['personality'],
    sandbox: sandbox as DaemonConfig['sandbox'],
    detach: mode === 'daemon' && o.detach !== false && !o.wizard,
    port,
    ...(o.listen !== undefined ? { listen: lastString(o.listen)! } : {}),
    allow: Object.freeze(allow),
    jobs,
    maxConnections: integerOption(problems, 'max-connections', o['max-connections'], 1024, {
      min: 1,
      max: 1_000_000,
    }),
    queueLimit: integerOption(problems, 'queue-limit', o['queue-limit'], jobs * 4, {
      min: 0,
      max: 1_000_000,
    }),
    nice: integerOption(problems, 'nice', o.nice, 5, { min: -20, max: 39 }),
    launcher: o.launcher !== false,
    pipe: o.pipe !== false,
    earlyStart: o['early-start'] !== false,
    ...(o.user !== undefined ? { user: lastString(o.user)! } : {}),
    ...(o['pid-file'] !== undefined ? { pidFile: lastString(o['pid-file'])! } : {}),
    jobLifetime: integerOption(problems, 'job-lifetime', o['job-lifetime'], 0, {
      min: 0,
      max: MAX_SECS,
    }),
    lifetime: integerOption(problems, 'lifetime', o.lifetime, 0, { min: 0, max: MAX_SECS }),
    shutdownGrace: integerOption(problems, 'shutdown-grace', o['shutdown-grace'], 30, {
      min: 0,
      max: MAX_SECS,
    }),
    ...(o['log-file'] !== undefined ? { logFile: lastString(o['log-file'])! } : {}),
    ...(rotation ? { logRotation: rotation } : {}),
    logStderr: o['log-stderr'] === true || o.wizard === true,
    syslogSocket: lastString(o['syslog-socket']) ?? '/dev/log',
    logLevel,
    logFormat: logFormatText === 'json' ? 'json' : 'text',
    stats: o.stats === true,
    zeroconf: o.zeroconf === true,
    statsPort: integerOption(problems, 'stats-port', o['stats-port'], defaultStatsPort(port), {
      min: 0,
      max: 65535,
    }),
    whitelist: Object.freeze({
      // With --chroot the whitelist is the root's: that is where compilers run.
      dirs: Object.freeze([...DEFAULT_WHITELIST_DIRS, ...(o['whitelist-dir'] ?? [])].map(inRoot)),
      names: new Set<string>(),
      insecure: o['enable-tcp-insecure'] === true,
      ...(o.sysroot !== undefined ? { sysroot: lastString(o.sysroot)! } : {}),
    }),
    whitelistPath: o['whitelist-path'] === true,
    limits,
    ioTimeout,
    // Job directories live where compilers can see them: the root's /tmp.
    tmpdir: chroot !== undefined ? join(chroot, 'tmp') : env.TMPDIR || tmpdir(),
  });
  if (problems.length > 0 && sourceOf) {
    for (let i = 0; i < problems.length; i++) {
      const option = /^--([a-z-]+)/.exec(problems[i]!)?.[1];
      const where = option !== undefined ? sourceOf(option) : undefined;
      if (where !== undefined) problems[i] = `${where}: ${problems[i]!}`;
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(
      problems.length === 1 ? problems[0]! : `bad options:\n  ${problems.join('\n  ')}`,
    );
  }
  return config;
}
