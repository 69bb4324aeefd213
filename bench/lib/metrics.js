// tsdistccd's stats port: /metrics in Prometheus text, read back as numbers,
// and a poller that measures how fast the port answers (the event loop's
// responsiveness while a job runs).

import { request } from 'node:http';
import { percentile } from './stats.js';

/** GET 127.0.0.1:port path; resolves to { status, body, ms }. */
export function httpGet(port, path) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          body: Buffer.concat(chunks).toString('utf8'),
          ms: performance.now() - t0,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Samples of a Prometheus text page: `name{labels}` -> value (labels as written). */
export function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?)\s+(\S+)/.exec(line);
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

export async function fetchMetrics(port) {
  const r = await httpGet(port, '/metrics');
  if (r.status !== 200) throw new Error(`/metrics on port ${port} answered ${r.status}`);
  return parseMetrics(r.body);
}

export const PHASES = ['receive', 'queued', 'compile', 'send'];

/** What tsdistccd counted between two /metrics reads: phase seconds, its CPU, jobs. */
export function metricsDelta(before, after) {
  const d = (key) => (after.get(key) ?? NaN) - (before.get(key) ?? NaN);
  const jobs = [...after.keys()]
    .filter((k) => k.startsWith('tsdistccd_jobs_total{'))
    .reduce((n, k) => n + d(k), 0);
  return {
    phases: Object.fromEntries(
      PHASES.map((p) => [p, d(`tsdistccd_phase_seconds_total{phase="${p}"}`)]),
    ),
    cpuSeconds: d('process_cpu_seconds_total'),
    jobs,
    jobsOk: d('tsdistccd_jobs_total{result="COMPILE_OK"}'),
  };
}

/**
 * Polls `path` on `port` every `intervalMs` (one request at a time: the next
 * starts `intervalMs` after the previous one started, or at once if that one
 * took longer) until `stop()`, which resolves to the latencies' summary.
 */
export function startProbe(port, { path = '/jobs', intervalMs = 10 } = {}) {
  const latencies = [];
  let failures = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        latencies.push((await httpGet(port, path)).ms);
      } catch {
        failures++;
      }
      const wait = t0 + intervalMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return {
        requests: latencies.length,
        failures,
        maxMs: Math.max(...latencies),
        p99Ms: percentile(latencies, 99),
        medianMs: percentile(latencies, 50),
        over50: latencies.filter((ms) => ms > 50).length,
      };
    },
  };
}
