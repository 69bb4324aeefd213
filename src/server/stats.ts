// Job counters and distccd's <distccstats> page (distcc src/stats.c): any
// request on the stats port is answered with this text, bare LF line ends.

import { loadavg } from 'node:os';
import { statfsSync } from 'node:fs';
import { escapeLog } from '../logging/escape.js';

export const JobResult = {
  TCP_ACCEPT: 'TCP_ACCEPT',
  REJ_BAD_REQ: 'REJ_BAD_REQ',
  REJ_OVERLOAD: 'REJ_OVERLOAD',
  COMPILE_OK: 'COMPILE_OK',
  COMPILE_ERROR: 'COMPILE_ERROR',
  COMPILE_TIMEOUT: 'COMPILE_TIMEOUT',
  CLI_DISCONN: 'CLI_DISCONN',
  OTHER: 'OTHER',
} as const;

export type JobResultName = (typeof JobResult)[keyof typeof JobResult];

const COUNTER_KEYS: Readonly<Record<JobResultName, string>> = {
  TCP_ACCEPT: 'dcc_tcp_accept',
  REJ_BAD_REQ: 'dcc_rej_bad_req',
  REJ_OVERLOAD: 'dcc_rej_overload',
  COMPILE_OK: 'dcc_compile_ok',
  COMPILE_ERROR: 'dcc_compile_error',
  COMPILE_TIMEOUT: 'dcc_compile_timeout',
  CLI_DISCONN: 'dcc_cli_disconnect',
  OTHER: 'dcc_other',
};

type Sample = { at: number; running: number; compiles: number };

export class Stats {
  readonly counters: Record<JobResultName, number> = {
    TCP_ACCEPT: 0,
    REJ_BAD_REQ: 0,
    REJ_OVERLOAD: 0,
    COMPILE_OK: 0,
    COMPILE_ERROR: 0,
    COMPILE_TIMEOUT: 0,
    CLI_DISCONN: 0,
    OTHER: 0,
  };
  longestJob = { input: '', compiler: '', msecs: 0 };
  maxKids = 0;
  #samples: Sample[] = [];
  #compiles = 0;

  constructor(readonly tmpdir: string) {}

  count(result: JobResultName): void {
    this.counters[result]++;
    if (result === 'COMPILE_OK' || result === 'COMPILE_ERROR') this.#compiles++;
  }

  jobFinished(input: string, compiler: string, msecs: number): void {
    if (msecs > this.longestJob.msecs) this.longestJob = { input, compiler, msecs };
  }

  /** Called as jobs start and end, with the number running. */
  sample(running: number): void {
    this.maxKids = Math.max(this.maxKids, running);
    const at = Date.now();
    this.#samples.push({ at, running, compiles: this.#compiles });
    const cutoff = at - 15 * 60_000;
    while (this.#samples.length > 0 && this.#samples[0]!.at < cutoff) this.#samples.shift();
  }

  #window(minutes: number, running: number): { avgKids: number; compiles: number } {
    const since = Date.now() - minutes * 60_000;
    const inWindow = this.#samples.filter((s) => s.at >= since);
    const avgKids =
      inWindow.length === 0
        ? running
        : inWindow.reduce((n, s) => n + s.running, 0) / inWindow.length;
    const first = inWindow[0];
    return { avgKids, compiles: first ? this.#compiles - first.compiles : 0 };
  }

  /** The page distccd 3.4 serves, same keys in the same order. */
  render(running: number): string {
    const w = [1, 5, 15].map((m) => this.#window(m, running));
    const load = loadavg();
    let freeSpaceMb = 0;
    try {
      const fs = statfsSync(this.tmpdir);
      freeSpaceMb = Math.floor((fs.bavail * fs.bsize) / (1024 * 1024));
    } catch {
      /* unknown: 0 */
    }
    const rssKb = Math.round(process.memoryUsage.rss() / 1024);
    const lines = [
      ...Object.entries(COUNTER_KEYS).map(
        ([k, key]) => `${key} ${this.counters[k as JobResultName]}`,
      ),
      // The client's names, escaped (distccd prints them raw): a newline in a
      // file name must not add a line, nor ESC reach a terminal.
      `dcc_longest_job ${escapeLog(this.longestJob.input) || 'none'}`,
      `dcc_longest_job_compiler ${escapeLog(this.longestJob.compiler) || 'none'}`,
      `dcc_longest_job_time_msecs ${this.longestJob.msecs}`,
      `dcc_max_kids ${this.maxKids}`,
      ...w.map((x, i) => `dcc_avg_kids${i + 1} ${Math.round(x.avgKids)}`),
      `dcc_current_load ${running}`,
      ...load.map((l, i) => `dcc_load${i + 1} ${l.toFixed(2)}`),
      ...w.map((x, i) => `dcc_num_compiles${i + 1} ${x.compiles}`),
      `dcc_num_procstate_D 0`,
      `dcc_max_RSS ${rssKb}`,
      `dcc_max_RSS_name tsdistccd`,
      `dcc_io_rate 0`,
      `dcc_free_space ${freeSpaceMb} MB`,
    ];
    const body = `argv /tsdistccd\n<distccstats>\n${lines.join('\n')}\n</distccstats>\n`;
    return `HTTP/1.0 200 OK\nContent-Type: text/plain\nConnection: close\n\n${body}`;
  }
}
