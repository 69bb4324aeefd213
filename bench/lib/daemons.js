// The two daemons under test, started the same way for every benchmark, and
// the environment Debian's distcc client gets to reach one of them.
//
//   distccd    Debian's, `distccd --daemon --no-detach ...` (it preforks children)
//   tsdistccd  build/src/bin/tsdistccd.js with --stats (its /metrics and /jobs)
//
// Both: loopback only, --allow 127.0.0.1, log to /dev/null, default --jobs.
// TSDISTCCD_BIN=path/to/tsdistccd.js runs another build (a snapshot, a
// checkout of another commit) instead of this checkout's.
//
// If the benchmark is interrupted (SIGINT, SIGTERM) or fails, the daemons
// are stopped too: nothing is left listening or compiling.

import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort } from './ports.js';
import { tempDir } from './temp.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TSDISTCCD = process.env.TSDISTCCD_BIN || join(ROOT, 'build/src/bin/tsdistccd.js');

const COMMON = [
  '--no-detach',
  '--listen',
  '127.0.0.1',
  '--allow',
  '127.0.0.1',
  '--log-file',
  '/dev/null',
];

const running = new Set();
// A failure: SIGTERM, and tsdistccd finishes or kills its jobs by itself.
process.once('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});
// An interruption: stop them now (tsdistccd kills running jobs at a second
// SIGTERM), then exit as a shell reports that signal (the 'exit' handlers
// run: work directories go too).
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    void Promise.all([...running].map((child) => stop(child, 200))).then(() =>
      process.exit(128 + constants.signals[signal]),
    );
  });
}

async function start(name, command, args, port, extra) {
  const child = spawn(command, args, { stdio: 'ignore' });
  running.add(child);
  child.once('exit', () => running.delete(child));
  try {
    await waitForPort(port, { child, what: name });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    name,
    kind: name,
    pid: child.pid,
    port,
    args: [command === process.execPath ? 'node' : command, ...args].join(' '),
    ...extra,
    stop: () => stop(child),
  };
}

/** SIGTERM; another after `againMs` (jobs still running are killed); SIGKILL 10 s later. */
function stop(child, againMs = 5_000) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const again = setTimeout(() => child.kill('SIGTERM'), againMs);
    const kill = setTimeout(() => child.kill('SIGKILL'), againMs + 10_000);
    child.once('exit', () => {
      clearTimeout(again);
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts on a free port, and on other free ports if that one was taken meanwhile. */
async function onFreePorts(count, startOn) {
  for (let attempt = 1; ; attempt++) {
    const ports = [];
    while (ports.length < count) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    try {
      return await startOn(...ports);
    } catch (err) {
      if (attempt === 3) throw err;
    }
  }
}

export function startDistccd() {
  return onFreePorts(1, (port) =>
    start('distccd', 'distccd', ['--daemon', '--port', String(port), ...COMMON], port, {}),
  );
}

export function startTsdistccd() {
  return onFreePorts(2, async (port, statsPort) => {
    // The file itself, as an installed /usr/bin/tsdistccd runs: its #! line
    // carries the daemon's Node options (a small young generation).
    const args = ['--port', String(port), ...COMMON];
    args.push('--stats', '--stats-port', String(statsPort));
    const daemon = await start('tsdistccd', TSDISTCCD, args, port, { statsPort });
    try {
      await waitForPort(statsPort, { what: 'the tsdistccd stats port' });
    } catch (err) {
      await daemon.stop();
      throw err;
    }
    return daemon;
  });
}

/** Both daemons, each on free ports: `{ distccd, tsdistccd }`. */
export async function startBoth() {
  const [distccd, tsdistccd] = await Promise.all([startDistccd(), startTsdistccd()]);
  return { distccd, tsdistccd };
}

/** The daemons' command lines, for a report. */
export function daemonsText({ distccd, tsdistccd }) {
  const ts = tsdistccd.args.replace(ROOT, '');
  return `Daemons: \`${distccd.args}\` and \`${ts}\`, default --jobs.`;
}

/** The order of the two daemons in round `i`: alternating, so neither always goes first. */
export function roundOrder(i, daemons) {
  return i % 2 === 0 ? [daemons.distccd, daemons.tsdistccd] : [daemons.tsdistccd, daemons.distccd];
}

const distccDirs = tempDir('tsdistcc-bench-distcc-dir-');
let dirCount = 0;

/**
 * The client's environment for one daemon: DISTCC_HOSTS (with `,lzo` when
 * asked), a fresh DISTCC_DIR that exists, and no fallback, local retry or
 * backoff, so a failed remote job fails the run instead of compiling locally.
 */
export function clientEnv(daemon, { lzo = false, hostSuffix = '' } = {}) {
  const dir = join(distccDirs, String(++dirCount));
  mkdirSync(dir);
  return {
    ...process.env,
    DISTCC_HOSTS: `127.0.0.1:${daemon.port}${hostSuffix}${lzo ? ',lzo' : ''}`,
    DISTCC_DIR: dir,
    DISTCC_FALLBACK: '0',
    DISTCC_SKIP_LOCAL_RETRY: '1',
    DISTCC_BACKOFF_PERIOD: '0',
  };
}
