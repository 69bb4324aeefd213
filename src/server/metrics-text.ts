// /metrics: the daemon's counters in Prometheus' text exposition format
// (version 0.0.4): `# HELP`, `# TYPE`, then the samples of each family.

import type { ServerContext } from './context.js';
import type { Histogram } from './job-metrics.js';
import { JobResult, type JobResultName } from './stats.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Readonly<Record<string, string>>;
type Sample = { suffix?: string; labels?: Labels; value: number };
type Family = { name: string; type: 'counter' | 'gauge' | 'histogram'; help: string };

/** A sample value as Go's ParseFloat reads it back. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function family(f: Family, samples: readonly Sample[]): string {
  const lines = [`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`];
  for (const s of samples) {
    const labels = Object.entries(s.labels ?? {})
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(',');
    lines.push(`${f.name}${s.suffix ?? ''}${labels ? `{${labels}}` : ''} ${formatValue(s.value)}`);
  }
  return lines.join('\n');
}

function histogram(h: Histogram): Sample[] {
  return [
    ...h.cumulative().map(([le, n]) => ({
      suffix: '_bucket',
      labels: { le: formatValue(le) },
      value: n,
    })),
    { suffix: '_sum', value: h.sum },
    { suffix: '_count', value: h.count },
  ];
}

/** Every result but TCP_ACCEPT, which counts connections, not outcomes. */
const RESULTS = Object.values(JobResult).filter((r) => r !== 'TCP_ACCEPT');

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

export function renderMetrics(ctx: ServerContext): string {
  const { stats, queue, jobs, config } = ctx;
  const m = jobs.metrics;
  const counter = (name: string, help: string, value: number) =>
    family({ name, type: 'counter', help }, [{ value }]);
  const gauge = (name: string, help: string, value: number) =>
    family({ name, type: 'gauge', help }, [{ value }]);
  const parts = [
    family(
      {
        name: 'tsdistccd_jobs_total',
        type: 'counter',
        help: "Jobs ended, by result, as distccd's stats page and the job log lines count them.",
      },
      RESULTS.map((r: JobResultName) => ({ labels: { result: r }, value: stats.counters[r] })),
    ),
    counter('tsdistccd_connections_total', 'Connections accepted.', stats.counters.TCP_ACCEPT),
    gauge('tsdistccd_connections_open', 'Connections being served, in any phase.', jobs.size),
    gauge('tsdistccd_jobs_running', 'Jobs holding a compile slot.', queue.running),
    gauge('tsdistccd_jobs_queued', 'Jobs waiting for a compile slot.', queue.queued),
    gauge('tsdistccd_job_slots', 'Compile slots (--jobs).', config.jobs),
    gauge('tsdistccd_queue_limit', 'Most jobs that may wait (--queue-limit).', config.queueLimit),
    family(
      {
        name: 'tsdistccd_job_duration_seconds',
        type: 'histogram',
        help: 'Time from connection to reply of jobs answered with a reply.',
      },
      histogram(m.duration),
    ),
    family(
      {
        name: 'tsdistccd_phase_seconds_total',
        type: 'counter',
        help: 'Time jobs spent in each phase (receive, queued, compile, send), summed over jobs.',
      },
      Object.entries(m.phaseSeconds).map(([phase, value]) => ({ labels: { phase }, value })),
    ),
    counter('tsdistccd_received_bytes_total', 'Bytes read from clients.', m.bytesIn),
    counter('tsdistccd_sent_bytes_total', 'Bytes of replies sent to clients.', m.bytesOut),
    gauge(
      'process_resident_memory_bytes',
      'Resident memory of the daemon process.',
      process.memoryUsage.rss(),
    ),
    counter(
      'process_cpu_seconds_total',
      'CPU time of the daemon process (user and system), not of its compilers.',
      cpuSeconds(),
    ),
    gauge(
      'process_start_time_seconds',
      'When the daemon started, in seconds since the epoch.',
      Math.round(performance.timeOrigin / 1000),
    ),
  ];
  return `${parts.join('\n')}\n`;
}
