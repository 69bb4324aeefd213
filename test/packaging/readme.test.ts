// The README's first lines, as a newcomer runs them: the first command
// (`npm ci && npm run build && npm start`; the build is the one this test run
// uses, npm ci is not run again), then the block for "another terminal" line
// by line in bash — the PATH it sets must give tsdistccd, tsdistcc and
// tsdistccmon, Debian's distcc must compile through the daemon, and the /ui
// URL it names must answer. The ports are free ones instead of 3632/3633
// (other tests may hold those), passed after the README's command.
// Needs: npm, Debian's distcc package, gcc.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePortPair } from '../helpers/daemon.js';
import { ROOT } from '../helpers/paths.js';

const README = readFileSync(`${ROOT}README.md`, 'utf8');

/** The README's fenced sh blocks, in order. */
function shBlocks(): string[] {
  return [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

test('the README says what `npm start` runs', () => {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
    scripts: { start: string };
  };
  const args = pkg.scripts.start.split('build/src/bin/tsdistccd.js ')[1];
  assert.ok(args, pkg.scripts.start);
  assert.ok(
    README.replace(/\n/g, ' ').includes(`\`npm start\` runs \`tsdistccd ${args}\``),
    `README must say: \`npm start\` runs \`tsdistccd ${args}\``,
  );
});

test("the README's first command starts a daemon that its next lines compile through, with the commands on PATH", async (t) => {
  const missing = ['/usr/bin/distcc', '/usr/bin/gcc'].find((p) => !existsSync(p));
  if (missing) return t.skip(`${missing} is not installed`);
  const [first, other] = shBlocks();
  assert.ok(first && other, 'two sh blocks at the top of the README');
  assert.match(first, /^npm ci && npm run build && npm start$/m);
  const lines = other.split('\n').filter((l) => l.trim() !== '');
  assert.match(lines[0]!, /^export PATH="\$PWD\/bin:\$PATH"/);

  const port = await freePortPair();
  const daemon = spawn('npm', ['start', '--', '--port', String(port)], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  daemon.stderr.setEncoding('utf8');
  daemon.stderr.on('data', (d: string) => (log += d));
  const stop = () => {
    try {
      process.kill(-daemon.pid!, 'SIGTERM');
    } catch {
      /* gone */
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`npm start never listened:\n${log}`)),
        20_000,
      );
      daemon.stderr.on('data', () => {
        if (/listening on /.test(log)) {
          clearTimeout(timer);
          resolve();
        }
      });
      daemon.once('exit', (code) => reject(new Error(`npm start exited ${code}:\n${log}`)));
    });
    assert.match(
      log,
      new RegExp(`listening on 127\\.0\\.0\\.1:${port}, stats on port ${port + 1}`),
    );

    // The other terminal: the export in this directory, the rest in a scratch one.
    const work = mkdtempSync(join(tmpdir(), 'tsdistcc-readme-'));
    const rest = lines
      .slice(1)
      .map((l) => l.replace(/\s+#.*$/, ''))
      .map((l) => l.replace(/DISTCC_HOSTS=127\.0\.0\.1 /, `DISTCC_HOSTS=127.0.0.1:${port} `))
      // The monitor once, not every second for ever.
      .map((l) =>
        l.replace(
          /^tsdistccmon --server 127\.0\.0\.1 1$/,
          `tsdistccmon --server 127.0.0.1:${port + 1}`,
        ),
      );
    assert.ok(
      rest.some((l) => l.startsWith('tsdistccmon --server 127.0.0.1:')),
      rest.join('\n'),
    );
    const script = [
      'set -e',
      `cd ${JSON.stringify(ROOT)}`,
      lines[0]!.replace(/\s+#.*$/, ''),
      'type -P tsdistccd tsdistcc tsdistccmon',
      'tsdistccd --version >/dev/null',
      `cd ${JSON.stringify(work)}`,
      ...rest,
    ].join('\n');
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        'bash',
        ['-c', script],
        {
          env: {
            // A newcomer's PATH: nothing of ours on it yet.
            PATH: '/usr/local/bin:/usr/bin:/bin',
            HOME: work,
            DISTCC_DIR: work,
            TMPDIR: process.env.TMPDIR ?? '/tmp',
            // The plain client: no resident agent left behind by this test.
            TSDISTCC_AGENT: '0',
          },
        },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code) || 1 : 0, stdout, stderr }),
      ),
    );
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}\n${log}`);
    const found = r.stdout.split('\n').slice(0, 3);
    assert.deepEqual(found, [
      `${ROOT}bin/tsdistccd`,
      `${ROOT}bin/tsdistcc`,
      `${ROOT}bin/tsdistccmon`,
    ]);
    assert.match(r.stdout, /running 0 of \d+ slots, queued 0; ended: 2 compiled, /);
    assert.equal((log.match(/COMPILE_OK .*hello\.c/g) ?? []).length, 2, log);
    execFileSync('gcc', ['-c', 'hello.c', '-o', 'local.o'], { cwd: work });
    assert.deepEqual(readFileSync(join(work, 'hello.o')), readFileSync(join(work, 'local.o')));

    // The page the README names.
    const page = await fetch(`http://127.0.0.1:${port + 1}/ui`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  } finally {
    stop();
  }
});
