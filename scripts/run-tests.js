// Runs node's test runner over every built test file. Node 20 takes no globs
// for --test, so the list is made here; an empty list is a failure, not a pass.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
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
  const result = spawnSync(
    process.execPath,
    ['--test', '--test-reporter=spec', '--test-concurrency=1', ...files],
    { stdio: 'inherit' },
  );
  process.exitCode = result.status ?? 1;
}
