// Throughput: many small jobs at once. `make -jJ CC='distcc gcc'` over
// generated small C units (bench/lib/c-sources.js, 120 by default, each one
// different) against distccd and against tsdistccd, in the same run,
// interleaved with the order alternating, at -j4 and -j8. Reports median wall
// time per build, the ratio, each daemon's own CPU and peak RSS, tsdistccd's
// per-job phase split, and checks every object against a local gcc build.
// Each round's two builds at one -j run back to back, so each pair's ratio
// has the machine's drift (which moves a single build by ±15 % here) mostly
// cancelled: their geometric mean and its 95 % interval are reported next to
// the medians. Before the timed runs each daemon does --warmup untimed builds
// (a daemon that serves builds has served builds before; V8 has optimized
// tsdistccd's per-job code, and both have the compilers in the page cache).
// Appends a section to bench/RESULTS.md. Not a test: nothing is asserted.
//
//   node bench/throughput.js [--runs 3] [--files 120] [--jobs 4,8] [--warmup 1] [--default-limit] [--no-write]
//   node bench/throughput.js --short    (12 units, one run, no warm-up, ~10 s, writes nothing)
//
// The client sends up to J jobs at once (DISTCC_HOSTS=127.0.0.1:PORT/J): its
// default limit of 4 jobs per host would make -j8 look like -j4 to the daemon.
// --default-limit leaves the limit out. Both daemons run their default number
// of compilers at once (CPUs + 2), so at -j8 jobs wait in the daemon's queue.

import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { cSource, makefile } from './lib/c-sources.js';
import { clientEnv, daemonsText, roundOrder, startBoth } from './lib/daemons.js';
import { startUsageSampler } from './lib/daemon-usage.js';
import { sha256File } from './lib/hash.js';
import { load, machineText } from './lib/machine.js';
import { fetchMetrics, metricsDelta, PHASES } from './lib/metrics.js';
import { benchOptions, commandLine, intList, positiveInt } from './lib/options.js';
import { appendSection, ratioLine, table } from './lib/results.js';
import { timed } from './lib/run.js';
import { tempDir } from './lib/temp.js';
import { fixed, median, pairedRatio } from './lib/stats.js';

const opts = benchOptions({
  runs: { type: 'string' },
  files: { type: 'string' },
  jobs: { type: 'string' },
  warmup: { type: 'string' },
  'default-limit': { type: 'boolean', default: false },
});
const RUNS = positiveInt('runs', opts.runs, opts.short ? 1 : 3);
const FILES = positiveInt('files', opts.files, opts.short ? 12 : 120);
const JOBS = intList('jobs', opts.jobs, [4, 8]);
const WARMUP = opts.warmup === '0' ? 0 : positiveInt('warmup', opts.warmup, opts.short ? 0 : 1);

const work = tempDir('tsdistcc-throughput-');
for (let i = 0; i < FILES; i++) writeFileSync(join(work, `u${i}.c`), cSource(i));
writeFileSync(join(work, 'Makefile'), makefile(FILES));

const clean = () => {
  for (const f of readdirSync(work))
    if (f.endsWith('.o') || f.endsWith('.i')) rmSync(join(work, f));
};
const objects = () =>
  new Map(Array.from({ length: FILES }, (_, i) => [i, sha256File(join(work, `u${i}.o`))]));
const make = (j, env) =>
  timed('make', ['-s', `-j${j}`, ...(env ? ['CC=distcc gcc'] : [])], {
    cwd: work,
    ...(env ? { env } : {}),
  });

// The reference: a local build, timed as the floor.
const LOCAL_J = cpus().length;
const loadBefore = load();
clean();
const localMs = await make(LOCAL_J);
const reference = objects();

/** The client's environment for daemon `d` at -jJ: up to J jobs at once unless --default-limit. */
const envFor = (d, j) => clientEnv(d, { hostSuffix: opts['default-limit'] ? '' : `/${j}` });

const daemons = await startBoth();
const warmJ = Math.max(...JOBS);
for (let w = 0; w < WARMUP; w++) {
  for (const d of roundOrder(w, daemons)) {
    clean();
    await make(warmJ, envFor(d, warmJ));
    process.stderr.write(`${d.name} -j${warmJ} warm-up ${w + 1} done\n`);
  }
}
const runs = [];
for (let r = 0; r < RUNS; r++) {
  for (const [ji, j] of JOBS.entries()) {
    for (const d of roundOrder(r + ji, daemons)) {
      clean();
      const env = envFor(d, j);
      const before = d.statsPort ? await fetchMetrics(d.statsPort) : undefined;
      const sampler = await startUsageSampler(d.kind, d.pid);
      const ms = await make(j, env);
      const usage = await sampler.stop();
      const server = before && metricsDelta(before, await fetchMetrics(d.statsPort));
      runs.push({ daemon: d.name, j, round: r, ms, usage, server, objects: objects() });
      process.stderr.write(`${d.name} -j${j} run ${r + 1}: ${(ms / 1000).toFixed(2)} s\n`);
    }
  }
}
await Promise.all([daemons.distccd.stop(), daemons.tsdistccd.stop()]);
const loadAfter = load();

// Objects: equal to the local build's, or else to a local gcc of the same preprocessed input.
let sameAsLocal = 0;
let sameAsPreprocessed = 0;
const differing = new Set();
const iReference = new Map();
async function preprocessedReference(i) {
  if (!iReference.has(i)) {
    const flags = ['-O2', '-Wall'];
    await timed('gcc', [...flags, '-E', `u${i}.c`, '-o', `u${i}.i`], { cwd: work });
    await timed('gcc', [...flags, '-c', `u${i}.i`, '-o', `ref${i}.o`], { cwd: work });
    iReference.set(i, sha256File(join(work, `ref${i}.o`)));
  }
  return iReference.get(i);
}
for (const run of runs) {
  for (const [i, hash] of run.objects) {
    if (hash === reference.get(i)) sameAsLocal++;
    else if (hash === (await preprocessedReference(i))) sameAsPreprocessed++;
    else differing.add(`u${i}.o (${run.daemon} -j${run.j})`);
  }
}
const totalObjects = runs.length * FILES;

const of = (daemon, j) => runs.filter((r) => r.daemon === daemon && r.j === j);
const medianOf = (daemon, j, f) => median(of(daemon, j).map(f));
const seconds = (r) => r.ms / 1000;
const cpu = (r) => r.usage.cpuSeconds;
const secs = (ms) => fixed(ms / 1000, 2);
const rows = [['local `gcc`', String(LOCAL_J), secs(localMs), secs(localMs), '—', '—', '—']];
for (const j of JOBS) {
  const base = medianOf('distccd', j, seconds);
  for (const daemon of ['distccd', 'tsdistccd']) {
    const mine = of(daemon, j);
    const peak = Math.max(...mine.map((r) => r.usage.peakRssKb));
    const lower = mine.some((r) => r.usage.lowerBound) ? ' (≥)' : '';
    rows.push([
      daemon,
      String(j),
      mine.map((r) => secs(r.ms)).join(', '),
      fixed(medianOf(daemon, j, seconds), 2),
      (medianOf(daemon, j, seconds) / base).toFixed(3),
      fixed(medianOf(daemon, j, cpu), 2) + lower,
      `${(peak / 1024).toFixed(1)} MiB`,
    ]);
  }
}
const phaseRows = JOBS.map((j) => {
  const serverMedian = (f) => medianOf('tsdistccd', j, (r) => f(r.server));
  const perJobMs = (f) =>
    fixed(
      serverMedian((s) => (f(s) * 1000) / s.jobs),
      2,
    );
  return [
    String(j),
    fixed(
      serverMedian((s) => s.jobsOk),
      0,
    ),
    ...PHASES.map((p) => perJobMs((s) => s.phases[p])),
    perJobMs((s) => s.cpuSeconds),
  ];
});
const objectsText = [
  `Objects: ${totalObjects} built through the daemons; ${sameAsLocal} byte-identical to the local`,
  ' `gcc -c` build',
  sameAsPreprocessed
    ? `, ${sameAsPreprocessed} to a local \`gcc -c\` of the preprocessed \`.i\``
    : '',
  differing.size ? `; **differing: ${[...differing].join(', ')}**` : '',
  '.',
].join('');
const ratios = JOBS.flatMap((j) => {
  const both = (f) => [medianOf('tsdistccd', j, f), medianOf('distccd', j, f)];
  return [
    ratioLine(`make -j${j} wall time`, ...both(seconds), 3),
    ratioLine(`make -j${j} daemon CPU`, ...both(cpu)),
  ];
});
const paired = new Map(
  JOBS.map((j) => {
    const mine = of('tsdistccd', j);
    const theirs = new Map(of('distccd', j).map((r) => [r.round, r.ms]));
    return [j, pairedRatio(mine.map((r) => r.ms / theirs.get(r.round)))];
  }),
);
const pairedText = JOBS.map((j) => {
  const p = paired.get(j);
  const interval = p.n > 1 ? `, 95 % interval ${p.low.toFixed(3)}–${p.high.toFixed(3)}` : '';
  return `- -j${j}: geometric mean **${p.geomean.toFixed(3)}**${interval} (${p.n} pair${p.n === 1 ? '' : 's'})`;
}).join('\n');
const pairedRatios = JOBS.map(
  (j) =>
    `Ratio tsdistccd / distccd, make -j${j} wall time, paired: **${paired.get(j).geomean.toFixed(3)}**`,
);
const limit = opts['default-limit'] ? '' : '/J';
const warmText = WARMUP
  ? ` Before them, ${WARMUP} untimed warm-up build${WARMUP > 1 ? 's' : ''} at -j${warmJ} through each daemon.`
  : '';

const section = `## Throughput: ${FILES} small units, make -j${JOBS.join('/-j')}, ${RUNS} run${RUNS > 1 ? 's' : ''} each, interleaved — ${new Date().toISOString()}

${machineText()}
${daemonsText(daemons)}
Client: Debian's \`distcc\`, DISTCC_HOSTS=127.0.0.1:PORT${limit}, a fresh DISTCC_DIR per build; both
daemons with their default --jobs (CPUs + 2). Load average ${loadBefore} before, ${loadAfter} after.
Command: \`${commandLine()}\`. Each build: \`make -s -jJ CC='distcc gcc'\` of ${FILES} generated
units (\`-O2 -Wall\`, bench/lib/c-sources.js) after deleting the objects; first one local build
(\`make -j${LOCAL_J} CC=gcc\`), the reference for the objects.${warmText}

${table(['daemon', '-j', 'runs (s)', 'median (s)', 'vs distccd', 'daemon CPU s (median)', 'daemon RSS peak'], rows)}

Daemon CPU and RSS: the daemon's own processes, not its compilers, sampled every 100 ms during
each build (≥: processes exited, a lower bound). tsdistccd's split per job (from /metrics, ms,
median over runs; node CPU from process_cpu_seconds_total):

${table(['-j', 'jobs OK', ...PHASES, 'node CPU'], phaseRows)}

Paired wall times: in each round the two daemons' builds at one -j run one after the other, so
most of the machine's drift cancels out of their ratio, tsdistccd's build over distccd's:

${pairedText}

${objectsText}

${[...ratios, ...pairedRatios].join('\n')}
`;
process.stdout.write(section);
if (opts.write) appendSection(section);
if (differing.size) process.exitCode = 1;
