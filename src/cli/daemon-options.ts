// tsdistccd's options: distccd 3.4's (distcc src/dopt.c) with their meaning
// and defaults, plus tsdistccd's own. One definition serves the command line
// (and, later, DISTCC_ARGS from conf.d files).

import type { Argv } from 'yargs';

export const DEFAULT_PORT = 3632;
export const DEFAULT_STATS_PORT = 3633;

/**
 * The stats port of an instance on `port` without --stats-port: distccd's
 * 3633 for the default 3632, port + 1 for others (keeps instances apart).
 * tsdistccmon finds a daemon's stats port the same way.
 */
export function defaultStatsPort(port: number): number {
  return port === DEFAULT_PORT ? DEFAULT_STATS_PORT : port === 0 ? 0 : Math.min(65535, port + 1);
}

export function defineDaemonOptions<T>(y: Argv<T>) {
  return y
    .usage(
      'Usage: tsdistccd [OPTIONS]\n\nA distcc compile server: the stock distcc client (protocols 1, 2 and 3/pump) compiles through it.',
    )
    .option('instance', {
      type: 'string',
      describe:
        'run the named instance: reads CONFDIR/tsdistccd-NAME or CONFDIR/tsdistccd.NAME; logs as tsdistccd-NAME',
      group: 'Configuration:',
    })
    .option('config', {
      type: 'string',
      describe: 'read DISTCC_ARGS (and other settings) from this env file instead',
      group: 'Configuration:',
    })
    .option('conf-dir', {
      type: 'string',
      describe: 'where instance env files are (default /etc/conf.d)',
      group: 'Configuration:',
    })
    .option('chroot', {
      type: 'string',
      describe:
        'run every compiler with DIR as its root (compilers and whitelist are looked up inside DIR); needs root, or the sandbox',
      group: 'Compilers:',
    })
    .option('personality', {
      type: 'string',
      describe: 'what uname -m says to compilers: native (default), linux32 (i686) or linux64',
      group: 'Compilers:',
    })
    .option('sandbox', {
      type: 'string',
      describe:
        'auto (default), namespaces, bwrap or none: each compiler in a sandbox of its own (namespaces made by the launcher, or bubblewrap) — a process namespace killed with the job, no network, / (or the chroot) read-only, /tmp /run /home hidden, only its job directory writable; auto takes the first that works here and runs unconfined, saying why, where neither does',
      group: 'Compilers:',
    })
    .option('allow', {
      alias: 'a',
      type: 'string',
      array: true,
      describe: 'allow clients from IP[/BITS] (repeatable; IPv4 or IPv6)',
      group: 'Access:',
    })
    .option('allow-private', {
      type: 'boolean',
      describe:
        'allow the private networks: 192.168.0.0/16 10.0.0.0/8 172.16.0.0/12 127.0.0.0/8 fe80::/10 fc00::/7 ::1',
      group: 'Access:',
    })
    .option('enable-tcp-insecure', {
      alias: 'make-me-a-botnet',
      type: 'boolean',
      describe: 'run any compiler a client names (no whitelist)',
      group: 'Access:',
    })
    .option('whitelist-dir', {
      type: 'string',
      array: true,
      describe:
        'also allow compilers with an executable entry in DIR (besides /usr/lib/distcc and /usr/lib/tsdistcc)',
      group: 'Access:',
    })
    .option('whitelist-path', {
      type: 'boolean',
      describe:
        'also allow the compilers found on PATH at start-up (gcc, cc, clang, x86_64-linux-gnu-gcc-12, ...)',
      group: 'Access:',
    })
    .option('sysroot', {
      type: 'string',
      describe: 'allow -specs=FILE only for FILE under DIR',
      group: 'Access:',
    })
    .option('port', {
      alias: 'p',
      type: 'string',
      describe: `TCP port to listen on (default ${DEFAULT_PORT})`,
      group: 'Server:',
    })
    .option('listen', {
      type: 'string',
      describe: 'address to listen on (default: all)',
      group: 'Server:',
    })
    .option('jobs', {
      alias: 'j',
      type: 'string',
      describe: 'most compilers running at once (default: CPUs + 2)',
      group: 'Server:',
    })
    .option('max-connections', {
      type: 'string',
      describe:
        'most client connections open at once (default 1024); at the limit the slowest request is closed to make room, else the newcomer is refused',
      group: 'Server:',
    })
    .option('queue-limit', {
      type: 'string',
      describe: 'most jobs waiting for a slot; more are refused (default: 4 x jobs)',
      group: 'Server:',
    })
    .option('launcher', {
      type: 'boolean',
      describe:
        'fork compilers from a small resident helper (perl), not from the daemon itself (default on; --no-launcher turns it off)',
      group: 'Server:',
    })
    .option('pipe', {
      type: 'boolean',
      describe:
        'give gcc and clang compilers -pipe: cc1 and as run side by side, no temporary .s file, the same object (default on; --no-pipe turns it off)',
      group: 'Server:',
    })
    .option('early-start', {
      type: 'boolean',
      describe:
        'start gcc as soon as the command line is in, reading the source from a pipe while the client still preprocesses (default on; --no-early-start turns it off)',
      group: 'Server:',
    })
    .option('nice', {
      alias: 'N',
      type: 'string',
      describe: 'niceness added to the daemon at start, and so to its compilers (default 5)',
      group: 'Server:',
    })
    .option('user', {
      type: 'string',
      describe:
        'when started as root, run as USER (default: tsdistcc, distcc, distccd, then nobody)',
      group: 'Server:',
    })
    .option('pid-file', {
      alias: 'P',
      type: 'string',
      describe: 'write the daemon pid to FILE; removed at exit',
      group: 'Server:',
    })
    .option('job-lifetime', {
      type: 'string',
      describe: 'kill a compile after SECS and answer exit 118 (default 0: never)',
      group: 'Server:',
    })
    .option('lifetime', {
      type: 'string',
      describe: 'stop the daemon after SECS (default 0: never)',
      group: 'Server:',
    })
    .option('shutdown-grace', {
      type: 'string',
      describe: 'on SIGTERM, wait at most SECS for running jobs (default 30)',
      group: 'Server:',
    })
    .option('daemon', {
      type: 'boolean',
      describe: 'serve connections on a listening socket (default unless stdin is a socket)',
      group: 'Mode:',
    })
    .option('inetd', {
      type: 'boolean',
      describe: 'serve one job on stdin and stdout',
      group: 'Mode:',
    })
    .option('detach', {
      type: 'boolean',
      describe: 'go to the background after binding; --no-detach stays in the foreground',
      group: 'Mode:',
    })
    .option('fork', {
      type: 'boolean',
      describe: '--no-fork is accepted for distccd compatibility (one process serves all)',
      group: 'Mode:',
    })
    .option('fifo', {
      type: 'boolean',
      describe: '--no-fifo is accepted for distccd compatibility (no FIFO is used)',
      group: 'Mode:',
    })
    .option('wizard', {
      alias: 'W',
      type: 'boolean',
      describe: 'same as --no-detach --log-stderr --log-level debug',
      group: 'Mode:',
    })
    .option('log-file', {
      type: 'string',
      describe:
        'append log lines to FILE (reopened on SIGHUP); without it and --log-stderr, lines go to syslog',
      group: 'Logging:',
    })
    .option('log-level', {
      type: 'string',
      describe: 'critical, error, warning, notice (default), info or debug',
      group: 'Logging:',
    })
    .option('syslog-socket', {
      type: 'string',
      describe: 'datagram socket syslog lines go to when logging to syslog (default /dev/log)',
      group: 'Logging:',
    })
    .option('log-rotate', {
      type: 'string',
      describe: 'with --log-file: start a new file daily, hourly, or past a size (10M, 1G)',
      group: 'Logging:',
    })
    .option('log-rotate-keep', {
      type: 'string',
      describe: 'with --log-rotate: how many old files to keep (default 7)',
      group: 'Logging:',
    })
    .option('log-stderr', { type: 'boolean', describe: 'log to standard error', group: 'Logging:' })
    .option('log-format', { type: 'string', describe: 'text (default) or json', group: 'Logging:' })
    .option('verbose', {
      type: 'boolean',
      describe: 'same as --log-level debug',
      group: 'Logging:',
    })
    .option('stats', {
      type: 'boolean',
      describe: "serve distccd's <distccstats> text page",
      group: 'Stats:',
    })
    .option('stats-port', {
      type: 'string',
      describe: `port of the stats page (default: --port + 1, so ${DEFAULT_STATS_PORT} for port ${DEFAULT_PORT})`,
      group: 'Stats:',
    })
    .option('zeroconf', {
      type: 'boolean',
      describe:
        'advertise this daemon with Avahi (D-Bus system bus) as _distcc._tcp, with its port, jobs and compiler subtype',
      group: 'Server:',
    })
    .option('max-args', {
      type: 'string',
      describe: 'most arguments in one request (default 4096); 2M of them together at most',
      group: 'Limits:',
    })
    .option('max-arg-length', {
      type: 'string',
      describe: 'longest argument in bytes (default 64K)',
      group: 'Limits:',
    })
    .option('max-body-size', {
      type: 'string',
      describe:
        'largest source or object in bytes, K/M/G suffixes (default 512M); for pump requests, all files together',
      group: 'Limits:',
    })
    .option('max-files', {
      type: 'string',
      describe: 'most files and links in one pump request (default 20000)',
      group: 'Limits:',
    })
    .epilogue('--version prints the version and exits.')
    .help('help')
    .alias('help', 'h')
    .version(false)
    .strict()
    .parserConfiguration({
      'camel-case-expansion': false,
      'duplicate-arguments-array': true,
      'strip-aliased': true,
    })
    .wrap(100);
}

export type RawDaemonOptions = Partial<{
  chroot: string;
  personality: string;
  sandbox: string;
  instance: string;
  config: string;
  'conf-dir': string;
  'syslog-socket': string;
  'log-rotate': string;
  'log-rotate-keep': string;
  allow: string[];
  'allow-private': boolean;
  'enable-tcp-insecure': boolean;
  'whitelist-dir': string[];
  'whitelist-path': boolean;
  sysroot: string;
  port: string;
  listen: string;
  jobs: string;
  'queue-limit': string;
  'max-connections': string;
  nice: string;
  launcher: boolean;
  pipe: boolean;
  'early-start': boolean;
  user: string;
  'pid-file': string;
  'job-lifetime': string;
  lifetime: string;
  'shutdown-grace': string;
  daemon: boolean;
  inetd: boolean;
  detach: boolean;
  fork: boolean;
  wizard: boolean;
  'log-file': string;
  'log-level': string;
  'log-stderr': boolean;
  'log-format': string;
  verbose: boolean;
  stats: boolean;
  'stats-port': string;
  zeroconf: boolean;
  'max-args': string;
  'max-arg-length': string;
  'max-body-size': string;
  'max-files': string;
  version: boolean;
  help: boolean;
}>;
