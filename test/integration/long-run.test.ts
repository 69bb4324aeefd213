// A long run, shortened for CI: 1,000 compiles in a row through one daemon,
// its RSS and open descriptors sampled every 100. Neither may keep growing,
// and TMPDIR must be empty at the end. bench/soak.js runs 10,000 (and
// the fuzzer) by hand; its figures are in bench/RESULTS.md.
// Needs: gcc, Debian's distcc package (its /usr/lib/distcc whitelist).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { compileRaw } from '../helpers/client.js';
import { openTempDir, startTsdistccd, type RunningDaemon } from '../helpers/daemon.js';
import { until } from '../helpers/wait.js';

const JOBS = 1000;
let ts: RunningDaemon;
let tmp: string;

before(async () => {
  tmp = openTempDir('tsdistcc-long-');
  ts = await startTsdistccd(['--allow', '127.0.0.1'], { TMPDIR: tmp });
});

after(async () => {
  await ts?.stop();
});

const rssKb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;

test(`${JOBS} jobs in a row: RSS and descriptors level off, TMPDIR empty`, async () => {
  const pid = ts.child.pid!;
  const samples: { job: number; rss: number; fds: number }[] = [];
  for (let i = 0; i < JOBS; i++) {
    const source = Buffer.from(`# 1 "j${i}.c"\nint j${i}(int x) { return x + ${i}; }\n`);
    const r = await compileRaw(
      ts.port,
      ['x86_64-linux-gnu-gcc', '-c', `j${i}.c`, '-o', `j${i}.o`],
      source,
    );
    assert.equal(r.status, 0, r.stderr.toString());
    if (i % 100 === 99) samples.push({ job: i + 1, rss: rssKb(pid), fds: fds(pid) });
  }
  console.log(`long run: ${samples.map((s) => `${s.job}: ${s.rss} kB ${s.fds} fds`).join('; ')}`);
  const first = samples[1]!;
  const last = samples.at(-1)!;
  // After warm-up, the second half may not grow by more than a small heap wobble.
  assert.ok(
    last.rss < first.rss + 30 * 1024,
    `RSS ${first.rss} kB at ${first.job}, ${last.rss} kB at ${last.job}`,
  );
  assert.ok(
    last.fds <= first.fds + 2,
    `descriptors ${first.fds} at ${first.job}, ${last.fds} at ${last.job}`,
  );
  await until('TMPDIR empty', () => readdirSync(tmp).length === 0);
});
