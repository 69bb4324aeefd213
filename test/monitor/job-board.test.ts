// The daemon's job board: phases, slots, peaks, bytes, and /metrics as a
// strict Prometheus parser reads it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import type { ServerContext } from '../../src/server/context.js';
import { JobBoard } from '../../src/server/job-board.js';
import { JobHistory } from '../../src/server/job-history.js';
import { Histogram } from '../../src/server/job-metrics.js';
import { JobQueue } from '../../src/server/job-queue.js';
import { formatValue, renderMetrics } from '../../src/server/metrics-text.js';
import { Stats } from '../../src/server/stats.js';
import { jobsSnapshot } from '../../src/server/jobs-json.js';
import { parsePrometheus } from './prometheus-parser.js';

function fakeContext(): ServerContext {
  return {
    config: { jobs: 2, queueLimit: 8 },
    stats: new Stats('/tmp'),
    queue: new JobQueue(2, 8),
    jobs: new JobBoard(),
  } as unknown as ServerContext;
}

test('a job goes receive, queued, compile (with the lowest free slot), send, and leaves', () => {
  const board = new JobBoard();
  const a = board.open({ address: '127.0.0.1', port: 4000 });
  const b = board.open({ address: '::1', port: 4001 });
  assert.deepEqual(
    board.list().map((j) => [j.id, j.phase, j.client, j.port, j.compiler, j.slot]),
    [
      [1, 'receive', '127.0.0.1', 4000, null, null],
      [2, 'receive', '::1', 4001, null, null],
    ],
  );
  a.queued('gcc', 'a.c');
  b.queued('cc', 'b.c');
  a.compiling();
  b.compiling();
  assert.deepEqual(
    board.list().map((j) => [j.phase, j.slot, j.input]),
    [
      ['compile', 0, 'a.c'],
      ['compile', 1, 'b.c'],
    ],
  );
  a.sending();
  const c = board.open({});
  c.queued('gcc', 'c.c');
  c.compiling();
  assert.equal(c.slot, 0, 'slot 0 was given back');
  assert.equal(board.list()[2]?.client, null, 'inetd: no address');
  a.close();
  a.close();
  b.close();
  c.close();
  assert.equal(board.size, 0);
  const d = board.open({});
  d.queued('gcc', 'd.c');
  d.compiling();
  assert.equal(d.slot, 0);
  const view = board.list()[0]!;
  assert.ok(view.elapsed >= 0 && view.phaseElapsed <= view.elapsed);
});

test('peaks: the most compiling and queued at once since the last look', () => {
  const board = new JobBoard();
  const jobs = [1, 2, 3].map(() => board.open({}));
  for (const j of jobs) j.queued('gcc', 'x.c');
  jobs[0]!.compiling();
  jobs[1]!.compiling();
  jobs[0]!.close();
  jobs[1]!.close();
  assert.deepEqual(board.takePeaks(), { running: 2, queued: 3 });
  // Afterwards it starts from what is now: one queued, none compiling.
  assert.deepEqual(board.takePeaks(), { running: 0, queued: 1 });
});

test('bytes read from the connection are counted; replies are counted and timed', () => {
  const board = new JobBoard();
  const input = new PassThrough();
  const job = board.open({ address: '127.0.0.1', port: 1 }, input);
  input.write(Buffer.alloc(100));
  input.write(Buffer.alloc(23));
  job.finish(1500, [Buffer.alloc(12), Buffer.alloc(30)]);
  job.close();
  input.write(Buffer.alloc(1000)); // after close: not this job's any more
  const m = board.metrics;
  assert.equal(m.bytesIn, 123);
  assert.equal(m.bytesOut, 42);
  assert.equal(m.answered, 1);
  assert.equal(m.duration.count, 1);
  assert.equal(m.duration.sum, 1.5);
  // A refusal has no reply: counted nowhere here.
  const refused = board.open({});
  refused.finish(3, undefined);
  assert.equal(m.answered, 1);
  assert.equal(m.duration.count, 1);
});

test('a histogram counts each value in the first bucket that holds it, cumulatively', () => {
  const h = new Histogram([1, 5]);
  for (const v of [0.5, 1, 3, 7]) h.observe(v);
  assert.deepEqual(h.cumulative(), [
    [1, 2],
    [5, 3],
    [Infinity, 4],
  ]);
  assert.equal(formatValue(Infinity), '+Inf');
  assert.equal(formatValue(-Infinity), '-Inf');
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(0.25), '0.25');
});

test('/metrics is strict Prometheus text and carries every family', () => {
  const ctx = fakeContext();
  ctx.stats.count('TCP_ACCEPT');
  ctx.stats.count('COMPILE_OK');
  ctx.stats.count('REJ_OVERLOAD');
  const job = ctx.jobs.open({ address: '127.0.0.1', port: 2 });
  const t0 = performance.now();
  while (performance.now() - t0 < 5) {
    /* a job that spends at least 5 ms receiving */
  }
  job.finish(250, [Buffer.alloc(10)]);
  const text = renderMetrics(ctx);
  const m = parsePrometheus(text);
  assert.equal(m.types.get('tsdistccd_jobs_total'), 'counter');
  assert.equal(m.types.get('tsdistccd_job_duration_seconds'), 'histogram');
  assert.equal(m.value('tsdistccd_jobs_total', { result: 'COMPILE_OK' }), 1);
  assert.equal(m.value('tsdistccd_jobs_total', { result: 'REJ_OVERLOAD' }), 1);
  assert.equal(m.value('tsdistccd_connections_total'), 1);
  assert.equal(m.value('tsdistccd_connections_open'), 1);
  assert.equal(m.value('tsdistccd_job_slots'), 2);
  assert.equal(m.value('tsdistccd_queue_limit'), 8);
  assert.equal(m.value('tsdistccd_jobs_running'), 0);
  assert.equal(m.value('tsdistccd_jobs_queued'), 0);
  assert.equal(m.value('tsdistccd_job_duration_seconds_bucket', { le: '0.25' }), 1);
  assert.equal(m.value('tsdistccd_job_duration_seconds_bucket', { le: '0.1' }), 0);
  assert.equal(m.value('tsdistccd_job_duration_seconds_count'), 1);
  assert.equal(m.value('tsdistccd_job_duration_seconds_sum'), 0.25);
  assert.equal(m.value('tsdistccd_sent_bytes_total'), 10);
  assert.ok(m.value('process_resident_memory_bytes') > 1e6);
  assert.ok(m.value('tsdistccd_phase_seconds_total', { phase: 'receive' }) >= 0.005);
  assert.equal(m.value('tsdistccd_phase_seconds_total', { phase: 'compile' }), 0);
  assert.ok(m.value('process_cpu_seconds_total') > 0);
  const start = m.value('process_start_time_seconds');
  assert.ok(Math.abs(start - (Date.now() / 1000 - process.uptime())) < 5);
  for (const name of m.types.keys()) assert.ok(m.help.get(name), `HELP for ${name}`);
  // Every result distccd counts, and no connection count among them.
  assert.deepEqual(
    m.series.filter((s) => s.name === 'tsdistccd_jobs_total').map((s) => s.labels.result),
    [
      'REJ_BAD_REQ',
      'REJ_OVERLOAD',
      'COMPILE_OK',
      'COMPILE_ERROR',
      'COMPILE_TIMEOUT',
      'CLI_DISCONN',
      'OTHER',
    ],
  );
});

test('the strict parser refuses what Prometheus refuses', () => {
  const bad = [
    'x 1', // no final newline
    '# TYPE x counter\nx -1\n',
    '# TYPE x foo\nx 1\n',
    'x{a="1"} 1\nx{a="1"} 2\n',
    'x{a="1} 1\n',
    'x{1a="1"} 1\n',
    'x{a="\\t"} 1\n',
    'x one\n',
    'x 1\ny 1\nx{a="b"} 1\n',
    'x 1\n# TYPE x gauge\n',
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n',
    '1x 1\n',
  ];
  for (const text of bad) {
    assert.throws(() => parsePrometheus(text), Error, JSON.stringify(text));
  }
  const good = parsePrometheus(
    '# HELP x a \\\\ b\n# TYPE x gauge\nx{a="q\\"\\n"} +Inf 1700000000\n\n# other comment\n',
  );
  assert.equal(good.help.get('x'), 'a \\ b');
  assert.equal(good.value('x', { a: 'q"\n' }), Infinity);
});

test('/jobs and /history: the snapshot and the samples the page draws', () => {
  const ctx = fakeContext();
  const job = ctx.jobs.open({ address: '10.0.0.7', port: 5555 });
  job.queued('x86_64-linux-gnu-gcc', 'big.c');
  job.compiling();
  const snap = jobsSnapshot(ctx);
  assert.equal(snap.server.slots, 2);
  assert.equal(snap.server.pid, process.pid);
  assert.equal(snap.jobs.length, 1);
  assert.equal(snap.jobs[0]!.input, 'big.c');
  assert.equal(snap.totals.COMPILE_OK, 0);
  assert.equal(snap.totals.bytesIn, 0);

  const history = new JobHistory(ctx, { everyMs: 1000, keepMs: 5000 });
  history.sample(1000);
  job.finish(10, [Buffer.alloc(1)]);
  job.close();
  history.sample(3000);
  history.sample(7000);
  const { samples, everyMs } = history.snapshot(8000);
  assert.equal(everyMs, 1000);
  // The sample at 1000 is older than 5 s at 7000: gone. The last one is now.
  assert.deepEqual(
    samples.map((s) => [s.t, s.running, s.answered]),
    [
      [3000, 1, 1],
      [7000, 0, 1],
      [8000, 0, 1],
    ],
  );
});
