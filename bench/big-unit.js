// One big translation unit: `distcc gcc -O2 -c sqlite3.c` (9.5 MB of C, from
// the npm package better-sqlite3@12, cached in bench/.cache/) through
// distccd and through tsdistccd, plain and with ,lzo, in the same run,
// interleaved with the order alternating. Reports median wall time and the
// ratio, each daemon's own CPU and peak RSS, tsdistccd's phase split, and
// whether all objects are the same. Then tsdistccd compiles it once more per
// level and mode while its stats port is polled every 10 ms: the longest and
// the 99th percentile answer show how long its event loop stalled (the
// target: never over 50 ms while the big body is decompressed and the object
// compressed). Those runs are apart from the timed ones because the polling
// costs the daemon CPU (measured at rest, and reported). Appends a section to
// bench/RESULTS.md. Not a test: nothing is asserted.
//
//   node bench/big-unit.js [--runs 3] [--levels O2] [--levels O0,O2] [--local] [--no-write]
//   node bench/big-unit.js --short   (-O0, one run, lzo probe only, ~25 s, writes nothing)
//
// --local also compiles sqlite3.c with the local gcc at each level, to
// compare the objects with (at -O2 they are identical; at -O0 gcc's object
// of the .c differs from that of its preprocessed .i, see TESTING.md).
// Needs distcc, gcc, tar; npm and the registry once (then bench/.cache/).

import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientEnv, daemonsText, roundOrder, startBoth } from './lib/daemons.js';
import { startUsageSampler } from './lib/daemon-usage.js';
import { sha256File } from './lib/hash.js';
import { load, machineText } from './lib/machine.js';
import { fetchMetrics, metricsDelta, PHASES, startProbe } from './lib/metrics.js';
import { benchOptions, commandLine, positiveInt } from './lib/options.js';
import { appendSection, ratioLine, table } from './lib/results.js';
import { timed } from './lib/run.js';
import { tempDir } from './lib/temp.js';
import { sqliteSource } from './lib/sqlite-source.js';
import { fixed, median } from './lib/stats.js';

const opts = benchOptions({
  runs: { type: 'string' },
  levels: { type: 'string' },
  local: { type: 'boolean', default: false },
});
const RUNS = positiveInt('runs', opts.runs, opts.short ? 1 : 3);
const LEVELS = (opts.levels ?? (opts.short ? 'O0' : 'O2')).split(',').map((l) => {
  if (!/^O[0-3s]$/.test(l))
    throw new Error(`--levels must list O0, O1, O2, O3 or Os, got \`${l}\``);
  return `-${l}`;
});
const MODES = ['plain', 'lzo'];
const PROBE_MODES = opts.short ? ['lzo'] : MODES;
const STALL_MS = 50;

const source = sqliteSource();
const work = tempDir('tsdistcc-big-unit-');
copyFileSync(source.file, join(work, 'sqlite3.c'));
const hashOf = (file) => sha256File(join(work, file));
const compileArgs = (level) => ['gcc', level, '-c', 'sqlite3.c', '-o', 'out.o'];

const loadBefore = load();
const daemons = await startBoth();
const ts = daemons.tsdistccd;

// How fast the stats port answers with nothing to do: the floor for the probes below.
// Also what a request costs it, to know what the polling adds.
const idleBefore = await fetchMetrics(ts.statsPort);
const idleProbe = startProbe(ts.statsPort);
await new Promise((r) => setTimeout(r, opts.short ? 300 : 1000));
const idle = await idleProbe.stop();
const idleCpu = metricsDelta(idleBefore, await fetchMetrics(ts.statsPort)).cpuSeconds;
const cpuPerRequestMs = (idleCpu * 1000) / (idle.requests + 1);

const runs = [];
for (let r = 0; r < RUNS; r++) {
  for (const [li, level] of LEVELS.entries()) {
    for (const [mi, mode] of MODES.entries()) {
      // Each level and mode alternates which daemon goes first from run to run.
      for (const d of roundOrder(r + li + mi, daemons)) {
        const env = clientEnv(d, { lzo: mode === 'lzo' });
        const before = d.statsPort ? await fetchMetrics(d.statsPort) : undefined;
        const sampler = await startUsageSampler(d.kind, d.pid);
        const ms = await timed('distcc', compileArgs(level), { cwd: work, env });
        const usage = await sampler.stop();
        const server = before && metricsDelta(before, await fetchMetrics(d.statsPort));
        runs.push({ daemon: d.name, level, mode, ms, usage, server, object: hashOf('out.o') });
        process.stderr.write(
          `${d.name} ${level} ${mode} run ${r + 1}: ${(ms / 1000).toFixed(2)} s\n`,
        );
      }
    }
  }
}
// The event-loop runs: tsdistccd only, polled, not timed.
const probes = [];
for (const level of LEVELS) {
  for (const mode of PROBE_MODES) {
    const probe = startProbe(ts.statsPort);
    await timed('distcc', compileArgs(level), {
      cwd: work,
      env: clientEnv(ts, { lzo: mode === 'lzo' }),
    });
    probes.push({ level, mode, ...(await probe.stop()), object: hashOf('out.o') });
  }
}
await Promise.all([daemons.distccd.stop(), ts.stop()]);
const loadAfter = load();

const localObjects = new Map();
if (opts.local) {
  for (const level of LEVELS) {
    await timed('gcc', compileArgs(level).slice(1), { cwd: work });
    localObjects.set(level, hashOf('out.o'));
  }
}

const of = (daemon, level, mode) =>
  runs.filter((r) => r.daemon === daemon && r.level === level && r.mode === mode);
const med = (daemon, level, mode, f) => median(of(daemon, level, mode).map(f));
const seconds = (r) => r.ms / 1000;
const cpu = (r) => r.usage.cpuSeconds;
const peakMiB = (list) => Math.max(...list.map((r) => r.usage.peakRssKb)) / 1024;

const probeRow = (level, mode, p) => [
  level,
  mode,
  String(p.requests),
  ...[p.medianMs, p.p99Ms, p.maxMs].map((ms) => fixed(ms, 2)),
  String(p.over50),
];
const rows = [];
const phaseRows = [];
const loopRows = [probeRow('idle', '—', idle)];
const ratios = [];
for (const level of LEVELS) {
  for (const mode of MODES) {
    const m = (daemon, f) => med(daemon, level, mode, f);
    for (const daemon of ['distccd', 'tsdistccd']) {
      const mine = of(daemon, level, mode);
      const lower = mine.some((r) => r.usage.lowerBound) ? ' (≥)' : '';
      rows.push([
        level,
        mode,
        daemon,
        mine.map((r) => fixed(seconds(r), 2)).join(', '),
        fixed(m(daemon, seconds), 2),
        (m(daemon, seconds) / m('distccd', seconds)).toFixed(3),
        fixed(m(daemon, cpu), 3) + lower,
        `${peakMiB(mine).toFixed(1)} MiB`,
      ]);
    }
    const serverMedian = (f) => m('tsdistccd', (r) => f(r.server));
    const phase = (f) => fixed(serverMedian(f), 3);
    phaseRows.push([
      level,
      mode,
      ...PHASES.map((p) => phase((x) => x.phases[p])),
      phase((x) => x.cpuSeconds),
    ]);
    const p = probes.find((x) => x.level === level && x.mode === mode);
    if (p) loopRows.push(probeRow(level, mode, p));
    const rss = (daemon) => peakMiB(of(daemon, level, mode));
    ratios.push(
      ratioLine(`${level} ${mode} wall time`, m('tsdistccd', seconds), m('distccd', seconds), 3),
      ratioLine(`${level} ${mode} daemon CPU`, m('tsdistccd', cpu), m('distccd', cpu)),
      ratioLine(`${level} ${mode} daemon RSS peak`, rss('tsdistccd'), rss('distccd')),
    );
  }
}

// Objects: one per level, whoever compiled it, plain or lzo, timed or polled.
const everyObject = [...runs, ...probes.map((p) => ({ ...p, daemon: 'tsdistccd' }))];
const objectLines = LEVELS.map((level) => {
  const mine = everyObject.filter((r) => r.level === level);
  const distinct = new Set(mine.map((r) => r.object));
  const local = localObjects.has(level)
    ? `; ${mine.filter((r) => r.object === localObjects.get(level)).length} equal to the local \`gcc ${level} -c sqlite3.c\``
    : '';
  if (distinct.size === 1) {
    return `- ${level}: all ${mine.length} objects byte-identical (both daemons, plain and lzo)${local}.`;
  }
  const who = mine.map((r) => `${r.daemon}/${r.mode}=${r.object.slice(0, 8)}`).join(', ');
  return `- ${level}: **${distinct.size} different objects** among ${mine.length}: ${who}${local}.`;
});
const same = LEVELS.every(
  (level) => new Set(everyObject.filter((r) => r.level === level).map((r) => r.object)).size === 1,
);

const lzoProbes = probes.filter((p) => p.mode === 'lzo');
const lzoMax = Math.max(...lzoProbes.map((p) => p.maxMs));
const lzoP99 = Math.max(...lzoProbes.map((p) => p.p99Ms));

const section = `## Big unit: sqlite3.c (${(source.bytes / 2 ** 20).toFixed(1)} MiB), ${LEVELS.join(', ')}, plain and lzo, ${RUNS} run${RUNS > 1 ? 's' : ''} each, interleaved — ${new Date().toISOString()}

${machineText()}
${daemonsText(daemons)}
Source: SQLite ${source.sqliteVersion} amalgamation from ${source.from} (npm). Client: Debian's \`distcc\`,
DISTCC_HOSTS=127.0.0.1:PORT or 127.0.0.1:PORT,lzo, a fresh DISTCC_DIR per compile. Load average
${loadBefore} before, ${loadAfter} after. Command: \`${commandLine()}\`; each job is
\`distcc gcc LEVEL -c sqlite3.c -o out.o\`.

${table(['level', 'mode', 'daemon', 'runs (s)', 'median (s)', 'vs distccd', 'daemon CPU s (median)', 'daemon RSS peak'], rows)}

Daemon CPU and RSS: the daemon's own processes, not its compilers, sampled every 100 ms during
each job (≥: processes exited, a lower bound). tsdistccd's phases of the job, seconds (median,
from /metrics; node CPU from process_cpu_seconds_total):

${table(['level', 'mode', ...PHASES, 'node CPU'], phaseRows)}

tsdistccd's stats port (\`GET /jobs\`, one request at a time, every 10 ms, new connection each)
at rest and during one more compile per level and mode (not timed above): answer time in ms.
Each request cost tsdistccd ${fixed(cpuPerRequestMs, 2)} ms of CPU at rest, which is why these runs are apart.

${table(['level', 'mode', 'requests', 'median', 'p99', 'max', `over ${STALL_MS} ms`], loopRows)}

Objects:
${objectLines.join('\n')}

Event loop during the lzo job: max ${fixed(lzoMax, 1)} ms, p99 ${fixed(lzoP99, 1)} ms — target no stall over ${STALL_MS} ms: **${lzoMax <= STALL_MS ? 'met' : 'not met'}**.
${ratios.join('\n')}
`;
process.stdout.write(section);
if (opts.write) appendSection(section);
if (!same) process.exitCode = 1;
