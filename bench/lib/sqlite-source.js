// sqlite3.c, the one big translation unit (9.5 MB): taken from the npm
// package better-sqlite3@12, which ships SQLite's amalgamation in
// deps/sqlite3/. The tarball is fetched once with `npm pack` into
// bench/.cache/ (gitignored) and reused from there.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './daemons.js';

export const CACHE = join(ROOT, 'bench/.cache');
const PACKAGE = 'better-sqlite3@12';

function tarball() {
  mkdirSync(CACHE, { recursive: true });
  const have = () => readdirSync(CACHE).filter((f) => /^better-sqlite3-12\.[\d.]+\.tgz$/.test(f));
  if (have().length === 0) {
    // Tests run offline (loopback only): .ci/run fetches the tarball as an install step.
    if (process.env.TSDISTCC_BENCH_OFFLINE === '1') {
      throw new Error(`no ${PACKAGE} tarball in ${CACHE} and TSDISTCC_BENCH_OFFLINE=1`);
    }
    process.stderr.write(`fetching ${PACKAGE} into ${CACHE} (npm pack)\n`);
    execFileSync('npm', ['pack', PACKAGE, '--pack-destination', CACHE, '--silent'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const name = have().sort().at(-1);
  if (!name) throw new Error(`npm pack ${PACKAGE} left no tarball in ${CACHE}`);
  return join(CACHE, name);
}

/** { dir, file, bytes, sqliteVersion, from }: the extracted deps/sqlite3/ of the cached tarball. */
export function sqliteSource() {
  const tgz = tarball();
  const dir = join(CACHE, tgz.replace(/^.*\//, '').replace(/\.tgz$/, ''));
  const file = join(dir, 'sqlite3.c');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    // The package's layout: package/deps/sqlite3/{sqlite3.c,sqlite3.h,sqlite3ext.h}.
    execFileSync('tar', ['-xzf', tgz, '-C', dir, '--strip-components=3', 'package/deps/sqlite3']);
    if (!existsSync(file)) throw new Error(`${tgz} has no package/deps/sqlite3/sqlite3.c`);
  }
  const header = readFileSync(join(dir, 'sqlite3.h'), 'latin1');
  const version = /#define SQLITE_VERSION\s+"([^"]+)"/.exec(header)?.[1] ?? 'unknown';
  return {
    dir,
    file,
    bytes: statSync(file).size,
    sqliteVersion: version,
    from: tgz.replace(/^.*\//, ''),
  };
}
