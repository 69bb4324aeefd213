// The sandbox every compiler runs in by default (compiler/sandbox.ts): a
// compiler that tries to get out of its job (test/fixtures/bin/escape-cc)
// sees only its own processes and job, writes nowhere else, reaches no
// network, cannot kill the daemon, and leaves nothing running. Where bwrap
// cannot run, the default says so once and compiles unconfined; --sandbox
// bwrap then refuses to start.
// Needs: bubblewrap, gcc; root for the account switch and kill -1 part.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { compileRaw, exchange } from '../helpers/client.js';
import { openTempDir, startTsdistccd } from '../helpers/daemon.js';
import { DAEMON_BIN, FIXTURE_BIN, ROOT } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';
import { parseReply, request } from '../helpers/wire.js';

const isRoot = process.getuid?.() === 0;
const noBwrap = existsSync('/usr/bin/bwrap') ? undefined : 'bubblewrap is not installed';
const WHITELIST = ['--whitelist-dir', `${ROOT}test/fixtures/whitelist`];
const ACCOUNT = isRoot ? ['--user', 'nobody'] : [];
const source = Buffer.from('# 1 "x.c"\nint answer(int x) { return x * 42; }\n');

function escapeReport(stderr: Buffer): Record<string, string> {
  const line = /escape: (.*)/.exec(stderr.toString())?.[1] ?? '';
  return Object.fromEntries(line.split(' ').map((kv) => kv.split('=') as [string, string]));
}

/** gcc -c of the same preprocessed source here: what a remote compile must give. */
function localObject(dir: string): Buffer {
  writeFileSync(join(dir, 'x.i'), source);
  execFileSync('gcc', ['-c', 'x.i', '-o', 'local.o'], { cwd: dir });
  return execFileSync('cat', [join(dir, 'local.o')]);
}

function listener(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((s) => s.destroy());
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

// escape-gcc is escape-cc by a gcc driver's name: the launcher makes such a
// compiler its namespace's first process itself (no waiting process above it).
for (const [mode, kind, compiler] of [
  ['auto', 'namespaces', 'escape-cc'],
  ['auto', 'namespaces', 'escape-gcc'],
  ['bwrap', 'bwrap', 'escape-cc'],
] as const) {
  test(`--sandbox ${mode} (${kind}), ${compiler}: a compiler sees only its own processes and job, writes and reaches nothing else, and leaves nothing running`, async (t) => {
    if (noBwrap) return t.skip(noBwrap);
    const scratch = openTempDir('tsdistcc-sandbox-');
    const outside = join(scratch, 'writable');
    mkdirSync(outside, { mode: 0o777 });
    const server = await listener();
    t.after(() => server.close());
    const mark = `tsdistcc-sandbox-test-${process.pid}-${Date.now()}`;
    const ts = await startTsdistccd(
      ['--log-level', 'info', '--allow', '127.0.0.1', ...WHITELIST, ...ACCOUNT],
      {
        ESCAPE_PORT: String((server.address() as { port: number }).port),
        ESCAPE_MARK: mark,
        ESCAPE_DIR: outside,
        // kill -KILL -1 as the daemon's account: only where that is nobody, not the test's own user.
        ...(isRoot ? { ESCAPE_KILL: '1' } : {}),
      },
    );
    t.after(() => ts.stop());
    assert.doesNotMatch(ts.log(), /without the sandbox/, 'bwrap runs here');
    // Another job holds its directory while the escaping one runs.
    const other = exchange(ts.port, request(1, ['hang-cc', '-c', 'x.c', '-o', 'x.o'], source), {
      timeoutMs: 4000,
    });
    await ts.waitForLog(/connected/);
    await new Promise((r) => setTimeout(r, 300));
    const r = await compileRaw(ts.port, [compiler, '-c', 'x.c', '-o', 'x.o'], source);
    assert.equal(r.status, 0, r.stderr.toString());
    const seen = escapeReport(r.stderr);
    assert.ok(Number(seen.procs) <= 6, `it sees only its own processes, saw ${seen.procs}`);
    assert.equal(seen.others, '0', 'no other job directory is visible');
    assert.equal(seen.wrote, 'none', 'nothing outside the job directory is writable');
    assert.equal(seen.net, 'no', 'no network');
    assert.ok(r.object.equals(localObject(scratch)), 'the object of a local gcc of the same input');
    // Nothing it started outlives it (init, the script, its $(...), ls and wc are 5).
    await until(
      'its setsid child is gone',
      () => spawnSync('pgrep', ['-f', mark]).status === 1,
      5000,
    );
    // The daemon was not killed, and serves the next job.
    const next = await compileRaw(
      ts.port,
      ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'],
      source,
    );
    assert.equal(next.status, 0, next.stderr.toString());
    await other;
  });
}

test('--sandbox none runs compilers as before: they see and reach what the daemon does', async (t) => {
  if (noBwrap) return t.skip(noBwrap);
  const server = await listener();
  t.after(() => server.close());
  const ts = await startTsdistccd(
    ['--sandbox', 'none', '--allow', '127.0.0.1', ...WHITELIST, ...ACCOUNT],
    {
      ESCAPE_PORT: String((server.address() as { port: number }).port),
    },
  );
  t.after(() => ts.stop());
  const r = await compileRaw(ts.port, ['escape-cc', '-c', 'x.c', '-o', 'x.o'], source);
  assert.equal(r.status, 0, r.stderr.toString());
  const seen = escapeReport(r.stderr);
  assert.equal(seen.net, 'yes');
  assert.ok(Number(seen.procs) > 6, `it sees the machine's processes, saw ${seen.procs}`);
  assert.doesNotMatch(ts.log(), /without the sandbox/, 'none is what was asked for: no warning');
});

test('where no sandbox can run: the default says why once and compiles unconfined; --sandbox namespaces and bwrap refuse to start (exit 101)', async (t) => {
  if (!isRoot || process.arch !== 'x64')
    return t.skip('needs root on x86_64 (for the user namespace it makes)');
  // A user namespace where no further one can be made: unprivileged user
  // namespaces turned off, as on some machines.
  const without = [`${ROOT}test/fixtures/sandbox/without-userns`];
  const ts = await startTsdistccd(['--allow', '127.0.0.1', ...WHITELIST, ...ACCOUNT], {}, without);
  t.after(() => ts.stop());
  const warned = ts
    .log()
    .split('\n')
    .filter((l) => /compilers run without a sandbox/.test(l));
  assert.equal(warned.length, 1, ts.log());
  assert.match(warned[0]!, /the launcher's namespaces: unshare: No space left on device; bwrap: /);
  assert.match(ts.log(), /listening on .*, sandbox none/);
  const r = await compileRaw(ts.port, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source);
  assert.equal(r.status, 0, r.stderr.toString());

  for (const mode of ['namespaces', 'bwrap']) {
    const strict = spawnSync(
      without[0]!,
      [
        process.execPath,
        DAEMON_BIN,
        '--no-detach',
        '--log-stderr',
        '--listen',
        '127.0.0.1',
        '--port',
        '0',
        '--allow',
        '127.0.0.1',
        '--sandbox',
        mode,
        ...ACCOUNT,
      ],
      {
        encoding: 'utf8',
        env: { ...process.env, DISTCCD_PATH: `${FIXTURE_BIN}:/usr/bin:/bin` },
        timeout: 20_000,
        // Not a socketpair on stdin: that would make it an --inetd daemon.
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    assert.equal(strict.status, 101, strict.stderr);
    assert.match(strict.stderr, new RegExp(`--sandbox ${mode}:? .*cannot run here`));
  }
});

test('a sandboxed compiler killed by a signal is answered with that signal, as an unconfined one', async (t) => {
  if (noBwrap) return t.skip(noBwrap);
  const ts = await startTsdistccd(['--allow', '127.0.0.1', ...WHITELIST, ...ACCOUNT]);
  t.after(() => ts.stop());
  const { reply } = await exchange(
    ts.port,
    request(1, ['crash-cc', '-c', 'x.c', '-o', 'x.o'], source),
  );
  const r = parseReply(reply);
  assert.equal(r.status & 0x7f, 11, `wait status ${r.status}: SIGSEGV, not bwrap's exit 139`);
  const gone = await compileRaw(ts.port, ['ghost-cc', '-c', 'x.c', '-o', 'x.o'], source);
  assert.equal(gone.status >> 8, 110, 'a compiler that is not there: failed to exec');
  assert.match(gone.stderr.toString(), /failed to exec ghost-cc/);
});
