// Memory and CPU of a daemon itself, not of its compilers, sampled from /proc.
//
// Which processes count:
//   distccd    the master and its preforked children: direct children of the
//              master whose comm is `distccd` (the compiler a child forks is a
//              grandchild, and is `distccd` only until it execs)
//   tsdistccd  the node process and its perl children: the compiler launcher
//              and any other perl helper (the compilers are the launcher's
//              children; with --no-launcher they are node's, but not `perl`)
//
// RSS is VmRSS summed over those processes at each sample; the peak is
// reported. CPU leaves out reaped children (so no compiler time) and is taken
// at the last sample each process was seen in: a process that exits between
// samples loses up to one interval of CPU, so the figure is a lower bound
// when processes exited (distccd replaces its children now and then). Two
// readings of each process's CPU:
//   - utime + stime, fields 14 and 15 of /proc/PID/stat: in clock ticks
//     (10 ms here), each field rounded down, so a distccd child that used
//     6 ms reads 0 — distccd's five processes at a few ms each read nearly 0;
//   - se.sum_exec_runtime of every thread in /proc/PID/task/*/sched (in ms
//     with ns digits; needs CONFIG_SCHED_DEBUG), which misses threads that
//     have exited.
// Both are lower bounds; each process counts with the larger of the two.
//
// Sampling runs in a worker thread, so it keeps its pace whatever the
// benchmark's own event loop is doing (probes, reading objects).

import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

/** comm of the children that belong to each kind of daemon. */
const HELPER_COMM = { distccd: 'distccd', tsdistccd: 'perl' };

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;

/** comm, ppid and utime + stime (ticks) of one process, or undefined if it is gone. */
export function readStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // comm is in parentheses and may itself hold spaces or parentheses.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): field N is fields[N - 3].
  return {
    comm: text.slice(open + 1, close),
    ppid: Number(fields[1]),
    ticks: Number(fields[11]) + Number(fields[12]),
  };
}

/** CPU ms of all live threads of one process from their `sched` files; NaN if unavailable. */
export function readExecMs(pid) {
  let ms = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/sched`, 'latin1');
      const m = /^se\.sum_exec_runtime\s*:\s*([\d.]+)/m.exec(text);
      if (!m) return NaN;
      ms += Number(m[1]);
    }
  } catch {
    return NaN;
  }
  return ms;
}

/** VmRSS of one process in kB (0 if it is gone or has no memory). */
export function readRssKb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Direct children of `pid`: from each thread's `children` file, else by scanning /proc. */
export function childrenOf(pid) {
  try {
    const out = new Set();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').trim();
      for (const c of text ? text.split(' ') : []) out.add(Number(c));
    }
    return [...out];
  } catch {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((p) => readStat(p)?.ppid === pid);
  }
}

/** The daemon's own processes: the root and its helper children (see the top of this file). */
export function daemonProcesses(kind, rootPid) {
  const comm = HELPER_COMM[kind];
  if (!comm) throw new Error(`daemon kind must be one of ${Object.keys(HELPER_COMM)}, got ${kind}`);
  const helpers = childrenOf(rootPid).filter((p) => readStat(p)?.comm === comm);
  return [rootPid, ...helpers];
}

/** Accumulates samples of one daemon; `result()` is the summary over the samples so far. */
export class UsageTracker {
  #kind;
  #root;
  /**
   * pid -> { base, last, comm }: CPU ({ ticks, ms }) at the first sample (0 if
   * the process started later) and at the latest one.
   */
  #procs = new Map();
  #samples = 0;
  #peakRssKb = 0;
  #lastRssKb = 0;
  #maxProcs = 0;

  constructor(kind, rootPid) {
    this.#kind = kind;
    this.#root = rootPid;
  }

  sample() {
    const first = this.#samples === 0;
    let rss = 0;
    let n = 0;
    for (const pid of daemonProcesses(this.#kind, this.#root)) {
      const st = readStat(pid);
      if (!st) continue;
      n++;
      rss += readRssKb(pid);
      const cpu = { ticks: st.ticks, ms: readExecMs(pid) };
      const known = this.#procs.get(pid);
      if (known) known.last = cpu;
      // A process already running at the first sample counts from there; one
      // that appeared later started after it, so all its CPU is in the run.
      else
        this.#procs.set(pid, { base: first ? cpu : { ticks: 0, ms: 0 }, last: cpu, comm: st.comm });
    }
    this.#samples++;
    this.#lastRssKb = rss;
    this.#peakRssKb = Math.max(this.#peakRssKb, rss);
    this.#maxProcs = Math.max(this.#maxProcs, n);
  }

  result() {
    const live = new Set(daemonProcesses(this.#kind, this.#root));
    let seconds = 0;
    let statSeconds = 0;
    let exited = 0;
    for (const [pid, p] of this.#procs) {
      const fromStat = (p.last.ticks - p.base.ticks) / CLK_TCK;
      const fromSched = (p.last.ms - p.base.ms) / 1000;
      statSeconds += fromStat;
      seconds += Number.isNaN(fromSched) ? fromStat : Math.max(fromStat, fromSched);
      if (!live.has(pid)) exited++;
    }
    return {
      kind: this.#kind,
      samples: this.#samples,
      peakRssKb: this.#peakRssKb,
      lastRssKb: this.#lastRssKb,
      cpuSeconds: seconds,
      /** utime + stime alone (whole ticks). */
      statCpuSeconds: statSeconds,
      processesSeen: this.#procs.size,
      maxProcesses: this.#maxProcs,
      /** Processes that exited during the run: their last interval of CPU is missing. */
      exited,
      lowerBound: exited > 0,
    };
  }
}

/**
 * Samples `kind` daemon `pid` every `intervalMs` in a worker thread until
 * `stop()`, which takes a last sample and resolves to the tracker's result.
 */
export async function startUsageSampler(kind, pid, intervalMs = 100) {
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { daemonUsage: { kind, pid, intervalMs } },
  });
  await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    stop: () =>
      new Promise((resolve, reject) => {
        worker.once('message', (result) => {
          resolve(result);
          void worker.terminate();
        });
        worker.once('error', reject);
        worker.postMessage('stop');
      }),
  };
}

function runWorker({ kind, pid, intervalMs }) {
  const tracker = new UsageTracker(kind, pid);
  tracker.sample();
  const timer = setInterval(() => tracker.sample(), intervalMs);
  parentPort.on('message', () => {
    clearInterval(timer);
    tracker.sample();
    parentPort.postMessage(tracker.result());
    parentPort.close();
  });
  parentPort.postMessage('started');
}

if (!isMainThread && workerData?.daemonUsage) runWorker(workerData.daemonUsage);
