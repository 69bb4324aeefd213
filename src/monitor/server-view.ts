// The daemon's view: `tsdistccmon --server HOST[:PORT]` asks a tsdistccd's
// stats port for /jobs and prints one line a job and the totals. A distccd
// (or an older tsdistccd) answers every path with its <distccstats> page:
// then only its totals are shown. What the server sent is escaped (escapeLog)
// as it is printed: a name from a client, or a hostile server, cannot write
// lines or terminal controls; --json prints ASCII-only JSON.

import { request } from 'node:http';
import { connect } from 'node:net';
import { ExitCode, TsdistccError } from '../errors.js';
import { asciiJson, escapeLog } from '../logging/escape.js';
import type { JobView } from '../server/job-board.js';
import type { JobsSnapshot } from '../server/jobs-json.js';
import { defaultStatsPort } from '../cli/daemon-options.js';
import { formatServerAddress, type ServerAddress } from './server-address.js';

export type ServerReport =
  { kind: 'jobs'; snapshot: JobsSnapshot } | { kind: 'distccstats'; stats: Record<string, string> };

const TIMEOUT_MS = 5000;
/** Longer than a stats port waits for a request head before answering (1 s). */
const PROBE_MS = 2000;

/**
 * After a connection closed unanswered: what does the port do with a client
 * that sends nothing? A stats port answers (at once, or after 1 s); one whose
 * --allow list leaves us out closes at once; a compile port waits silently for
 * a distcc request (and closed the HTTP request as a bad one: its log says
 * `expected token DIST, got bytes 'GET /jobs HT'`).
 */
export function probeSilence(address: ServerAddress): Promise<'waits' | 'closes' | 'answers'> {
  return new Promise((resolve) => {
    const s = connect({ host: address.host, port: address.port });
    let settled = false;
    const done = (what: 'waits' | 'closes' | 'answers') => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve(what);
    };
    const timer = setTimeout(() => done('waits'), PROBE_MS);
    s.on('data', () => done('answers'));
    s.on('error', () => done('closes'));
    s.on('close', () => done('closes'));
  });
}

async function whyClosed(address: ServerAddress): Promise<string> {
  if ((await probeSilence(address)) !== 'waits') {
    return 'the connection was closed (is this address on its --allow list?)';
  }
  const expected = defaultStatsPort(address.port);
  return (
    `the connection was closed, and port ${address.port} waits silently for a client that sends nothing: ` +
    `this looks like the compile port, not the stats port; a tsdistccd on port ${address.port} ` +
    `serves its stats on port ${expected} (--port + 1, unless --stats-port says otherwise; with --stats), ` +
    `so try --server ${formatServerAddress({ host: address.host, port: expected })}`
  );
}

function get(address: ServerAddress, path: string): Promise<{ type: string; body: string }> {
  const where = formatServerAddress(address);
  return new Promise((resolve, reject) => {
    const fail = (why: string, cause?: unknown) =>
      reject(
        new TsdistccError(`cannot read ${path} from ${where}: ${why}`, ExitCode.CONNECT_FAILED, {
          cause,
        }),
      );
    const req = request(
      // No Host header: the stats port answers requests without one whatever
      // name --server used (an alias, a CNAME), and refuses names not its own.
      {
        host: address.host,
        port: address.port,
        path,
        timeout: TIMEOUT_MS,
        agent: false,
        setHost: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => fail(err.message, err));
        res.on('end', () => {
          if (res.statusCode !== 200) return fail(`HTTP ${res.statusCode ?? '?'}`);
          resolve({
            type: res.headers['content-type'] ?? '',
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer in ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The stats port closes at once on clients not in its --allow list; a
      // compile port closes on the HTTP request it cannot read.
      if (err.code === 'ECONNRESET' || err.message === 'socket hang up') {
        void whyClosed(address).then((why) => fail(why, err));
      } else {
        fail(err.code ?? err.message, err);
      }
    });
    req.end();
  });
}

/** distccd's page: `key value` lines between <distccstats> and </distccstats>. */
export function parseDistccStats(page: string): Record<string, string> | undefined {
  const inner = page.match(/<distccstats>\n([\s\S]*?)<\/distccstats>/)?.[1];
  if (inner === undefined) return undefined;
  const stats: Record<string, string> = {};
  for (const line of inner.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) stats[line.slice(0, space)] = line.slice(space + 1);
  }
  return stats;
}

export async function fetchServerReport(address: ServerAddress): Promise<ServerReport> {
  const { type, body } = await get(address, '/jobs');
  if (type.startsWith('application/json')) {
    try {
      return { kind: 'jobs', snapshot: JSON.parse(body) as JobsSnapshot };
    } catch (err) {
      // Not JSON.parse's message: it quotes the body, raw.
      throw new TsdistccError(
        `${formatServerAddress(address)} sent /jobs that is not JSON`,
        ExitCode.PROTOCOL_ERROR,
        { cause: err },
      );
    }
  }
  const stats = parseDistccStats(body);
  if (stats) return { kind: 'distccstats', stats };
  throw new TsdistccError(
    `${formatServerAddress(address)} did not answer as a tsdistccd or distccd stats port`,
    ExitCode.PROTOCOL_ERROR,
  );
}

/** printf `%-W.Ws` / `%W.Ws`, in characters. */
function field(text: string, width: number, left = true): string {
  const cut = text.slice(0, width);
  return left ? cut.padEnd(width) : cut.padStart(width);
}

function size(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

/**
 * One job, in distccmon-text's shape where it fits: id, phase, input, the
 * client[slot] (`-` while it holds none), elapsed seconds, compiler.
 */
export function formatJobLine(j: JobView): string {
  // Fields as the server sent them (a hostile one may send any type): escaped text.
  const text = (v: string | number | null | undefined, none: string) =>
    v === null || v === undefined ? none : escapeLog(String(v));
  return [
    `${text(j.id, '?').padStart(6)}  `,
    field(text(j.phase, '?'), 10),
    '  ',
    field(text(j.input, '?'), 30),
    ' ',
    field(text(j.client, 'inetd'), 24, false),
    `[${text(j.slot, '-')}]`,
    ` ${(Number(j.elapsed) || 0).toFixed(1).padStart(7)}s`,
    `  ${text(j.compiler, '?')}`,
  ].join('');
}

function num(stats: Record<string, string>, key: string): number {
  return Number(stats[key] ?? 0) || 0;
}

/** What one refresh prints: a line a job, the totals, an empty line. */
export function formatServerReport(report: ServerReport, address: ServerAddress): string {
  if (report.kind === 'distccstats') {
    const s = report.stats;
    const failed = num(s, 'dcc_compile_error') + num(s, 'dcc_compile_timeout');
    const refused =
      num(s, 'dcc_rej_bad_req') +
      num(s, 'dcc_rej_overload') +
      num(s, 'dcc_other') +
      num(s, 'dcc_cli_disconnect');
    return (
      `${formatServerAddress(address)} (distccd: no job list): running ${num(s, 'dcc_current_load')}; ` +
      `ended: ${num(s, 'dcc_compile_ok')} compiled, ${failed} failed, ${refused} refused or dropped\n\n`
    );
  }
  const d = report.snapshot;
  // Numbers as numbers: whatever else a server sends there is not printed.
  const n = (v: unknown) => Number(v) || 0;
  const t = d.totals;
  const failed = n(t.COMPILE_ERROR) + n(t.COMPILE_TIMEOUT);
  const refused = n(t.REJ_BAD_REQ) + n(t.REJ_OVERLOAD) + n(t.OTHER) + n(t.CLI_DISCONN);
  const lines = d.jobs.map((j) => `${formatJobLine(j)}\n`);
  lines.push(
    `running ${n(d.running)} of ${n(d.server.slots)} slots, queued ${n(d.queued)}; ` +
      `ended: ${n(t.COMPILE_OK)} compiled, ${failed} failed, ${refused} refused or dropped; ` +
      `in ${size(n(t.bytesIn))}, out ${size(n(t.bytesOut))}\n`,
  );
  return `${lines.join('')}\n`;
}

/** One refresh for scripts: /jobs as the daemon gave it, or distccd's keys. */
export function serverReportJson(report: ServerReport): string {
  const doc = report.kind === 'jobs' ? report.snapshot : { distccstats: report.stats };
  return `${asciiJson(doc)}\n`;
}
