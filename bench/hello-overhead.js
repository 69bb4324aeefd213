// Per-job overhead: sequential hello-sized compiles through Debian's distcc
// client to distccd and to tsdistccd, interleaved (one to each, in turn, the
// order alternating), plus a local gcc of the same file as the floor. Also:
// tsdistccd's own split of each job (receive, queued, compile, send, from its
// /metrics), and each daemon's own CPU and memory without its compilers
// (bench/lib/daemon-usage.js). Appends a section to bench/RESULTS.md. Not a
// test: nothing is asserted.
//
//   npm run bench                          (50 rounds, ~1 min; needs distcc, gcc)
//   node bench/hello-overhead.js --runs 100 [--no-write]
//   node bench/hello-overhead.js --short   (5 rounds, a few seconds, writes nothing)

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientEnv, daemonsText, roundOrder, startBoth } from './lib/daemons.js';
import { startUsageSampler } from './lib/daemon-usage.js';
import { load, machineText } from './lib/machine.js';
import { fetchMetrics, metricsDelta, PHASES } from './lib/metrics.js';
import { benchOptions, commandLine, positiveInt } from './lib/options.js';
import { appendSection, ratioLine, table } from './lib/results.js';
import { timed } from './lib/run.js';
import { tempDir } from './lib/temp.js';
import { fixed, mean, median } from './lib/stats.js';

const opts = benchOptions({ runs: { type: 'string' } });
const RUNS = positiveInt('runs', opts.runs, opts.short ? 5 : 50);
const WARMUP = opts.short ? 1 : 3;

const work = tempDir('tsdistcc-bench-', 0o1777);
writeFileSync(
  join(work, 'hello.c'),
  '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n',
);

const loadBefore = load();
const daemons = await startBoth();
const env = { distccd: clientEnv(daemons.distccd), tsdistccd: clientEnv(daemons.tsdistccd) };
const ARGS = ['gcc', '-c', 'hello.c', '-o', 'hello.o'];
const compile = (who) => timed('distcc', ARGS, { cwd: work, env: env[who] });

// Warm up both daemons (distccd's children, tsdistccd's launcher) and the page cache.
for (let i = 0; i < WARMUP; i++) (await compile('distccd'), await compile('tsdistccd'));

const metricsBefore = await fetchMetrics(daemons.tsdistccd.statsPort);
const samplers = {
  distccd: await startUsageSampler('distccd', daemons.distccd.pid),
  tsdistccd: await startUsageSampler('tsdistccd', daemons.tsdistccd.pid),
};
const times = { local: [], distccd: [], tsdistccd: [] };
for (let i = 0; i < RUNS; i++) {
  times.local.push(await timed('gcc', ARGS.slice(1), { cwd: work }));
  for (const d of roundOrder(i, daemons)) times[d.name].push(await compile(d.name));
}
const usage = {
  distccd: await samplers.distccd.stop(),
  tsdistccd: await samplers.tsdistccd.stop(),
};
const server = metricsDelta(metricsBefore, await fetchMetrics(daemons.tsdistccd.statsPort));
await Promise.all([daemons.distccd.stop(), daemons.tsdistccd.stop()]);
const loadAfter = load();

const m = Object.fromEntries(
  Object.entries(times).map(([k, v]) => [k, { median: median(v), mean: mean(v) }]),
);
const overhead = (who) => m[who].median - m.local.median;
const cpuMs = (who) => (usage[who].cpuSeconds * 1000) / RUNS;
const mib = (kb) => `${(kb / 1024).toFixed(1)} MiB`;
const daemonRow = (who, label) => [
  label,
  fixed(m[who].median),
  fixed(m[who].mean),
  fixed(overhead(who)),
  fixed(cpuMs(who), 2) + (usage[who].lowerBound ? ' (≥)' : ''),
  mib(usage[who].peakRssKb),
  mib(usage[who].lastRssKb),
];
const perJob = (seconds) => fixed((seconds * 1000) / RUNS, 2);
const phaseSum = PHASES.reduce((n, p) => n + server.phases[p], 0);

const section = `## hello.c, ${RUNS} sequential compiles each, interleaved — ${new Date().toISOString()}

${machineText()}
${daemonsText(daemons)}
Client: Debian's \`distcc\` for both daemons, loopback; load average ${loadBefore} before, ${loadAfter} after.
Command: \`${commandLine()}\`.

${table(
  [
    '',
    'median ms',
    'mean ms',
    'overhead over local gcc (median)',
    'daemon CPU ms per job',
    'daemon RSS peak',
    'daemon RSS at end',
  ],
  [
    ['local `gcc -c`', fixed(m.local.median), fixed(m.local.mean), '—', '—', '—', '—'],
    daemonRow('distccd', 'distccd 3.4'),
    daemonRow('tsdistccd', 'tsdistccd'),
  ],
)}

Daemon CPU and RSS: the daemon's own processes, not its compilers (distccd: the master and its
preforked children; tsdistccd: node and its perl launcher), sampled every 100 ms during the rounds
(bench/lib/daemon-usage.js). CPU per job is their CPU over all ${RUNS} rounds divided by ${RUNS}, so
it includes each daemon's idle time while the other worked. Processes that exited during the
rounds: distccd ${usage.distccd.exited}, tsdistccd ${usage.tsdistccd.exited} (≥ marks a lower bound).

tsdistccd's own split of a job (from /metrics, ms per job over ${server.jobs} jobs):

${table(
  [...PHASES, 'sum', 'client-side median', 'node CPU (process_cpu_seconds_total)'],
  [
    [
      ...PHASES.map((p) => perJob(server.phases[p])),
      perJob(phaseSum),
      fixed(m.tsdistccd.median, 2),
      perJob(server.cpuSeconds),
    ],
  ],
)}

${ratioLine('per-job overhead', overhead('tsdistccd'), overhead('distccd'))}
${ratioLine('whole job', m.tsdistccd.median, m.distccd.median, 3)}
${ratioLine('daemon CPU per job', cpuMs('tsdistccd'), cpuMs('distccd'))}
${ratioLine('daemon RSS peak', usage.tsdistccd.peakRssKb, usage.distccd.peakRssKb)}
`;
process.stdout.write(section);
if (opts.write) appendSection(section);
