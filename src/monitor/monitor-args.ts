// tsdistccmon's command line, parsed by hand: it is a CLI that should start
// at once, and without options it must read its one argument exactly as
// distccmon-text does (so `-1` is a DELAY, not an option).

import { escapeLog } from '../logging/escape.js';
import { ONCE, parseDelay, type Delay } from './delay.js';
import { parseServerAddress, type ServerAddress } from './server-address.js';

export type MonitorArgs =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'usage'; problem?: string }
  | {
      kind: 'run';
      delay: Delay;
      json: boolean;
      server?: ServerAddress;
      /** --instance NAME: the stats port is read from its conf.d file. */
      instance?: Readonly<{ name: string; confDir?: string }>;
    };

/** distccmon-text's usage text with our name, then what tsdistccmon adds. */
export function usage(name = 'tsdistccmon'): string {
  return `usage: ${name} [DELAY]

Displays current compilation jobs in text form.

If delay is specified, repeatedly updates after that many (fractional)
seconds.  Otherwise, runs just once.

       ${name} --server HOST[:PORT] [--json] [DELAY]
       ${name} --instance NAME [--conf-dir DIR] [--json] [DELAY]
       ${name} --json [DELAY]

  --server HOST[:PORT]  show the jobs of a tsdistccd from its stats port,
                        with the totals at the bottom; a daemon's stats port
                        is its port + 1 (default 3633, for port 3632)
  --instance NAME       the same for the instance on this machine that reads
                        CONFDIR/tsdistccd-NAME (or tsdistccd.NAME): the stats
                        port and address its DISTCC_ARGS give
  --conf-dir DIR        where --instance looks (default /etc/conf.d)
  --json                print each update as one line of JSON
  --help                show this text
  --version             show the version
`;
}

export function parseMonitorArgs(argv: readonly string[]): MonitorArgs {
  let json = false;
  let server: ServerAddress | undefined;
  let instance: string | undefined;
  let confDir: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help') return { kind: 'help' };
    if (arg === '--version') return { kind: 'version' };
    if (arg === '--json') {
      json = true;
    } else if (arg === '--server' || arg.startsWith('--server=')) {
      const value = arg === '--server' ? argv[++i] : arg.slice('--server='.length);
      if (value === undefined) return { kind: 'usage', problem: '--server needs HOST[:PORT]' };
      server = parseServerAddress(value);
      if (!server) {
        return {
          kind: 'usage',
          problem: `--server wants HOST[:PORT], got \`${escapeLog(value)}\``,
        };
      }
    } else if (arg === '--instance' || arg.startsWith('--instance=')) {
      instance = arg === '--instance' ? argv[++i] : arg.slice('--instance='.length);
      if (instance === undefined || instance === '') {
        return { kind: 'usage', problem: '--instance needs NAME' };
      }
    } else if (arg === '--conf-dir' || arg.startsWith('--conf-dir=')) {
      confDir = arg === '--conf-dir' ? argv[++i] : arg.slice('--conf-dir='.length);
      if (confDir === undefined || confDir === '') {
        return { kind: 'usage', problem: '--conf-dir needs DIR' };
      }
    } else {
      positional.push(arg);
    }
  }
  if (server && instance !== undefined) {
    return { kind: 'usage', problem: '--server and --instance each name the daemon: give one' };
  }
  if (confDir !== undefined && instance === undefined) {
    return { kind: 'usage', problem: '--conf-dir goes with --instance NAME' };
  }
  // distccmon-text: more than one argument, or one strtod cannot read whole,
  // is usage (it says no more; we say which, in one line before the usage).
  if (positional.length > 1) {
    return { kind: 'usage', problem: `one DELAY at most, got ${positional.length} arguments` };
  }
  const delay = positional.length === 0 ? ONCE : parseDelay(positional[0]!);
  if (!delay) {
    const arg = positional[0]!;
    // No number starts with two dashes: `--bogus` is an option we lack.
    const problem = /^--./.test(arg)
      ? `no option \`${escapeLog(arg)}\``
      : `DELAY must be a number of seconds, got \`${escapeLog(arg)}\``;
    return { kind: 'usage', problem };
  }
  return {
    kind: 'run',
    delay,
    json,
    ...(server ? { server } : {}),
    ...(instance !== undefined
      ? { instance: { name: instance, ...(confDir !== undefined ? { confDir } : {}) } }
      : {}),
  };
}
