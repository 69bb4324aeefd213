// Runs node's test runner over every built test file. Node 20 takes no globs
// for --test, so the list is made here; an empty list is a failure, not a pass.
// The tests get a TMPDIR of their own, removed afterwards: what they, the
// daemons and distcc's client leave in it (temp dirs, distcc_*.i of killed
// clients) does not pile up in /tmp over many runs. TSDISTCC_KEEP_TMP=1
// keeps it for a look. Mode 1777: daemons started as root run compilers as
// nobody, whose job directories are made in it. XDG_RUNTIME_DIR is unset, so
// that a client agent a test starts without a runtime directory of its own
// lives in that TMPDIR too, not in the user's. A client agent still running
// there after the tests (one a test did not stop: it would stay 10 minutes)
// fails the run; it is stopped and named (test/helpers/agents.ts).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('../build/test/', import.meta.url).pathname;
const only = process.argv.slice(2);

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return walk(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

const files = walk(root)
  .filter((f) => only.length === 0 || only.some((o) => relative(root, f).includes(o)))
  .sort();
if (files.length === 0) {
  console.error(`no test files found under ${root}`);
  process.exitCode = 1;
} else {
  const testTmp = mkdtempSync(join(tmpdir(), 'tsdistcc-tests-'));
  chmodSync(testTmp, 0o1777);
  try {
    const result = spawnSync(
      process.execPath,
      ['--test', '--test-reporter=spec', '--test-concurrency=1', ...files],
      { stdio: 'inherit', env: { ...process.env, TMPDIR: testTmp, XDG_RUNTIME_DIR: undefined } },
    );
    process.exitCode = result.status ?? 1;
    const { stopAgents } = await import('../build/test/helpers/agents.js');
    const left = await stopAgents(testTmp);
    for (const agent of left) {
      console.error(`a test left a client agent running: pid ${agent.pid}, ${agent.dir}`);
    }
    if (left.length > 0) process.exitCode = 1;
  } finally {
    if (process.env.TSDISTCC_KEEP_TMP === '1') console.error(`test files kept in ${testTmp}`);
    else rmSync(testTmp, { recursive: true, force: true });
  }
}
