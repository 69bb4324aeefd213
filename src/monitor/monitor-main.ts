// tsdistccmon: `tsdistccmon [DELAY]` prints what distccmon-text prints;
// `--server HOST[:PORT]` shows a daemon's jobs from its stats port (`--instance
// NAME`: the one its conf.d file names); `--json`
// prints each update as a line of JSON. Exit codes: distccmon-text's 1 for
// usage, distcc's 100-120 for failures.

import { TsdistccError } from '../errors.js';
import { escapeLog } from '../logging/escape.js';
import { VERSION } from '../version.js';
import { clientJson, clientText } from './client-view.js';
import { parseMonitorArgs, usage } from './monitor-args.js';
import type { ServerAddress } from './server-address.js';

export type MonitorIo = {
  /** Writes to stdout; resolves false once stdout is gone (a closed pipe). */
  write: (text: string) => Promise<boolean>;
  /** Writes to stderr. */
  error: (text: string) => void;
  sleep: (ms: number) => Promise<void>;
  pid: number;
};

export const processIo: MonitorIo = {
  write: (text) =>
    new Promise((resolve) => {
      process.stdout.write(text, (err) => resolve(!err));
    }),
  error: (text) => process.stderr.write(text),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  pid: process.pid,
};

/** One update of the server view; loaded only when asked for (node:http). */
async function serverUpdate(address: ServerAddress, json: boolean): Promise<string> {
  const view = await import('./server-view.js');
  const report = await view.fetchServerReport(address);
  return json ? view.serverReportJson(report) : view.formatServerReport(report, address);
}

export async function main(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: MonitorIo = processIo,
): Promise<number> {
  const args = parseMonitorArgs(argv);
  switch (args.kind) {
    case 'help':
      await io.write(usage());
      return 0;
    case 'version':
      await io.write(`tsdistccmon ${VERSION}\n`);
      return 0;
    case 'usage':
      // distccmon-text: the usage text on stderr, exit 1.
      io.error(`${args.problem ? `tsdistccmon: ${args.problem}\n` : ''}${usage()}`);
      return 1;
    case 'run':
      break;
  }
  const { delay, json } = args;
  let server = args.server;
  if (args.instance) {
    try {
      const { instanceStatsAddress } = await import('./instance-address.js');
      server = (await instanceStatsAddress(args.instance.name, args.instance.confDir)).address;
    } catch (err) {
      if (!(err instanceof TsdistccError)) throw err;
      io.error(`tsdistccmon[${io.pid}] ERROR: ${escapeLog(err.message)}\n`);
      return err.exitCode;
    }
  }
  for (;;) {
    let text: string;
    try {
      if (server) text = await serverUpdate(server, json);
      else text = json ? clientJson(env) : clientText(env);
    } catch (err) {
      if (!(err instanceof TsdistccError)) throw err;
      io.error(`tsdistccmon[${io.pid}] ERROR: ${escapeLog(err.message)}\n`);
      // A daemon may be restarting: a watching monitor keeps asking. The
      // client view stops at once, as distccmon-text does.
      if (!server || !delay.repeat) return err.exitCode;
      await io.sleep(delay.pauseMs);
      continue;
    }
    if (!(await io.write(text))) return 0;
    if (!delay.repeat) return 0;
    await io.sleep(delay.pauseMs);
  }
}
