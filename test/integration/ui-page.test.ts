// The /ui page as a new user sees it, in real headless Chromium at 1280 and
// 800 px wide: Debian's distcc compiles six jobs through tsdistccd (--jobs 1),
// then two more whose compiler waits at a gate, so one holds the slot and one
// is queued while the page is looked at. Asserted with DOM measurements: the
// tiles' texts fit one line, the throughput axis fits the six jobs with round
// ticks, the queued job says how long it has waited, the running one its
// compile time with nothing unexplained under it. Needs Debian's distcc, gcc
// and chromium packages; loopback only.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { JobsSnapshot } from '../../src/server/jobs-json.js';
import { runDistcc, type ClientRun } from '../helpers/client.js';
import {
  freshDistccDir,
  openTempDir,
  startTsdistccd,
  type RunningDaemon,
} from '../helpers/daemon.js';
import { ROOT } from '../helpers/paths.js';

const execFileP = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT_DIR = `${ROOT}test/output`;
const FAST_JOBS = 6;
const missing = ['/usr/bin/distcc', '/usr/bin/gcc', CHROMIUM].find((p) => !existsSync(p));
const skipAll = missing
  ? `${missing} is not installed (Debian packages distcc, gcc, chromium)`
  : undefined;

// What the functions run in the page use of the DOM (this project's lib has none).
type PageElement = {
  children: ArrayLike<PageElement>;
  textContent: string | null;
  scrollWidth: number;
  clientWidth: number;
};
declare const document: {
  getElementById(id: string): { dataset: Record<string, string | undefined> } | null;
  querySelectorAll(selector: string): { length: number };
  createRange(): {
    selectNodeContents(e: PageElement): void;
    getClientRects(): ArrayLike<{ top: number }>;
  };
};

let work: string;
let gate: string;
let daemon: RunningDaemon | undefined;
let bin: string;
let slow: Promise<ClientRun>[] = [];

// gcc itself, except that while the gate file exists a compile (the daemon's,
// not the client's -E) waits for it to go (or 60 s, so a failed test does not
// hang a job).
const GATE_CC = `#!/bin/sh
case " $* " in *" -E "*) exec gcc "$@";; esac
i=0
while [ -e "$UI_GATE" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
exec gcc "$@"
`;

function compile(name: string): Promise<ClientRun> {
  return runDistcc(
    ['gate-cc', '-c', `${name}.c`, '-o', `${name}.o`],
    `127.0.0.1:${daemon!.port}`,
    work,
    {
      DISTCC_DIR: freshDistccDir(),
      PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    },
  );
}

async function jobs(): Promise<JobsSnapshot> {
  const r = await fetch(`http://127.0.0.1:${daemon!.statsPort}/jobs`);
  return (await r.json()) as JobsSnapshot;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + 15_000;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > end)
      assert.fail(`never happened: ${what}; /jobs: ${JSON.stringify((await jobs()).jobs)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  if (skipAll) return;
  work = openTempDir('tsdistcc-ui-page-');
  bin = join(work, 'bin');
  const whitelist = join(work, 'whitelist');
  mkdirSync(bin);
  mkdirSync(whitelist);
  for (const dir of [bin, whitelist]) {
    writeFileSync(join(dir, 'gate-cc'), GATE_CC);
    chmodSync(join(dir, 'gate-cc'), 0o755);
  }
  chmodSync(work, 0o755);
  gate = join(work, 'gate');
  daemon = await startTsdistccd(
    [
      '--allow',
      '127.0.0.1',
      '--log-level',
      'info',
      '--jobs',
      '1',
      '--stats',
      '--stats-port',
      '0',
      '--whitelist-dir',
      whitelist,
      // gate-cc and its gate are in this test's TMPDIR, which the sandbox hides.
      '--sandbox',
      'none',
    ],
    { DISTCCD_PATH: `${bin}:/usr/bin:/bin`, UI_GATE: gate },
  );
  for (let i = 0; i < FAST_JOBS; i++) {
    // The first object is big: "sent" is some hundred KiB, a long value.
    const big = i === 0 ? 'const char big[300000] = { 1 };\n' : '';
    writeFileSync(join(work, `fast${i}.c`), `${big}int fast${i}(int x) { return x * ${i + 3}; }\n`);
    const r = await compile(`fast${i}`);
    assert.equal(r.code, 0, r.stderr);
    await execFileP('gcc', ['-c', `fast${i}.c`, '-o', `local${i}.o`], { cwd: work });
    assert.ok(
      readFileSync(join(work, `fast${i}.o`)).equals(readFileSync(join(work, `local${i}.o`))),
      `fast${i}.o differs from a local compile`,
    );
  }
  writeFileSync(join(work, 'slow1.c'), 'int slow1(void) { return 1; }\n');
  writeFileSync(join(work, 'slow2.c'), 'int slow2(void) { return 2; }\n');
  writeFileSync(gate, '');
  slow = [compile('slow1')];
  await eventually('slow1.c holds the slot', async () =>
    (await jobs()).jobs.some((j) => j.input === 'slow1.c' && j.phase === 'compile')
      ? true
      : undefined,
  );
  slow.push(compile('slow2'));
  await eventually('slow2.c is queued', async () =>
    (await jobs()).jobs.some((j) => j.input === 'slow2.c' && j.phase === 'queued')
      ? true
      : undefined,
  );
});

after(async () => {
  if (gate) rmSync(gate, { force: true });
  for (const r of await Promise.all(slow)) assert.equal(r.code, 0, r.stderr);
  for (const name of slow.length ? ['slow1', 'slow2'] : []) {
    await execFileP('gcc', ['-c', `${name}.c`, '-o', `${name}-local.o`], { cwd: work });
    assert.ok(
      readFileSync(join(work, `${name}.o`)).equals(readFileSync(join(work, `${name}-local.o`))),
      `${name}.o differs from a local compile`,
    );
  }
  await daemon?.stop();
});

for (const width of [1280, 800]) {
  test(`/ui at ${width} px: one-line tiles, an axis that fits, queued and running jobs told apart`, async (t) => {
    if (skipAll) return t.skip(skipAll);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM });
    try {
      const page = await browser.newPage({ viewport: { width, height: 1000 } });
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(`http://127.0.0.1:${daemon!.statsPort}/ui`);
      const queued = page.locator('#waiting tr[data-phase="queued"][data-input="slow2.c"]');
      const running = page.locator('#slots tr[data-phase="compile"][data-input="slow1.c"]');
      await running.waitFor({ timeout: 10_000 });
      await page.waitForFunction(() => document.querySelectorAll('#tiles .tile').length > 0);
      // History is fetched every 5 s: wait for the one with the six jobs.
      await page
        .waitForFunction(() => document.getElementById('rate')!.dataset.dataMax, null, {
          timeout: 10_000,
        })
        .catch(() => {});
      mkdirSync(SCREENSHOT_DIR, { recursive: true });
      await page.screenshot({ path: join(SCREENSHOT_DIR, `ui-page-${width}.png`), fullPage: true });
      t.diagnostic(`screenshot: test/output/ui-page-${width}.png`);

      await t.test(
        'a queued job says how long it has waited, a running one its compile time',
        async () => {
          await queued.waitFor({ timeout: 10_000 });
          assert.match(await queued.locator('td.elapsed').innerText(), /^waited \d+\.\d s$/);
          const cell = running.locator('td.elapsed');
          assert.match(await cell.innerText(), /^\d+\.\d s$/);
          assert.match(
            await page.locator('#slots').locator('xpath=..').locator('th').last().innerText(),
            /^compile time$/,
          );
          // Nothing unexplained (the old bar) under the time.
          assert.equal(
            await cell.evaluate((e: PageElement) => e.children.length),
            0,
            'an element under the time',
          );
        },
      );

      await t.test("each tile's value and name is one line box, shown whole", async () => {
        const tiles = await page.locator('#tiles .tile').evaluateAll((els: PageElement[]) =>
          els.map((tile) =>
            Array.from(tile.children).map((e) => {
              const range = document.createRange();
              range.selectNodeContents(e);
              const tops = new Set(Array.from(range.getClientRects(), (r) => Math.round(r.top)));
              return { text: e.textContent, lines: tops.size, cut: e.scrollWidth > e.clientWidth };
            }),
          ),
        );
        assert.ok(
          tiles.some((p) => p[1]!.text === 'sent'),
          JSON.stringify(tiles),
        );
        for (const parts of tiles)
          for (const p of parts) assert.deepEqual([p.text, p.lines, p.cut], [p.text, 1, false]);
      });

      await t.test('the throughput axis fits the six jobs, with round ticks', async () => {
        // Round ticks: 0 and four equal steps of 1, 2 or 5 times a power of
        // ten, the top at least the data's top and less than twice it. The
        // data: six jobs in the last minute, not a rate extrapolated from the
        // two seconds between samples.
        await page.waitForFunction(
          (n: number) => document.getElementById('rate')!.dataset.dataMax === String(n),
          FAST_JOBS,
          { timeout: 10_000 },
        );
        const ticks = (await page.locator('#rate').getAttribute('data-ticks'))!
          .split(' ')
          .map(Number);
        const step = ticks[1]!;
        assert.deepEqual(ticks, [0, step, 2 * step, 3 * step, 4 * step]);
        const mantissa = step / 10 ** Math.floor(Math.log10(step));
        assert.ok([1, 2, 5].includes(mantissa), `step ${step}`);
        assert.ok(ticks[4]! >= FAST_JOBS && ticks[4]! < 2 * FAST_JOBS, `axis 0–${ticks[4]}`);
        // The tile says the same count.
        await page.waitForTimeout(1100);
        assert.match(
          await page.locator('#tiles').innerText(),
          new RegExp(`(^|\\n)${FAST_JOBS}\\njobs last minute`),
        );
      });
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
}
