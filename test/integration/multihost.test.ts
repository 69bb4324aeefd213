// Three tsdistccd on three test hosts: network namespaces made by this test,
// each joined to this one by a veth pair with addresses only on those links.
// Debian's distcc client builds a project across all three with make -j; one
// host is killed mid-build; the build still succeeds and every object is
// what a local compile gives. Nothing but these links is ever addressed.
// Needs: root, iproute2 (ip netns), make, gcc, Debian's distcc.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  freshDistccDir,
  openTempDir,
  startTsdistccd,
  type RunningDaemon,
} from '../helpers/daemon.js';
import { until } from '../helpers/wait.js';

const run = promisify(execFile);
const FILES = 24;
const tag = String(process.pid % 100000);
const hosts = [1, 2, 3].map((i) => ({
  ns: `tsd${tag}n${i}`,
  hostIf: `tsd${tag}h${i}`,
  nsIf: `tsd${tag}p${i}`,
  mine: `10.213.${i}.1`,
  theirs: `10.213.${i}.2`,
}));
const noRoot = process.getuid?.() !== 0 ? 'needs root for network namespaces' : undefined;

let daemons: RunningDaemon[] = [];
let work: string;

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

before(async () => {
  if (noRoot) return;
  for (const h of hosts) {
    ip('netns', 'add', h.ns);
    ip('link', 'add', h.hostIf, 'type', 'veth', 'peer', 'name', h.nsIf);
    ip('link', 'set', h.nsIf, 'netns', h.ns);
    ip('addr', 'add', `${h.mine}/30`, 'dev', h.hostIf);
    ip('link', 'set', h.hostIf, 'up');
    ip('-n', h.ns, 'addr', 'add', `${h.theirs}/30`, 'dev', h.nsIf);
    ip('-n', h.ns, 'link', 'set', h.nsIf, 'up');
    ip('-n', h.ns, 'link', 'set', 'lo', 'up');
  }
  daemons = await Promise.all(
    hosts.map((h) =>
      startTsdistccd(
        [
          '--listen',
          h.theirs,
          '--port',
          '3632',
          '--allow',
          h.mine,
          '--jobs',
          '2',
          '--log-level',
          'info',
        ],
        {},
        ['ip', 'netns', 'exec', h.ns],
      ),
    ),
  );
  work = openTempDir('tsdistcc-multihost-');
  for (const dir of ['remote', 'local']) {
    mkdirSync(join(work, dir));
    const objects: string[] = [];
    for (let f = 0; f < FILES; f++) {
      // Enough work per file that the build is still going when a host dies.
      const body = Array.from(
        { length: 60 },
        (_, k) =>
          `int f${f}_${k}(int n) { int s = ${k}; for (int i = 0; i < n; i++) s = s * 31 + (i ^ ${f}); return s; }`,
      ).join('\n');
      writeFileSync(join(work, dir, `u${f}.c`), `${body}\n`);
      objects.push(`u${f}.o`);
    }
    writeFileSync(
      join(work, dir, 'Makefile'),
      `all: ${objects.join(' ')}\n%.o: %.c\n\t$(CC) -O2 -c $< -o $@\n`,
    );
  }
});

after(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  if (noRoot) return;
  for (const h of hosts) {
    try {
      ip('netns', 'del', h.ns);
    } catch {
      /* already gone */
    }
    try {
      ip('link', 'del', h.hostIf);
    } catch {
      /* went with the namespace */
    }
  }
});

const compiled = (d: RunningDaemon) => (d.log().match(/COMPILE_OK/g) ?? []).length;

test('a build across three hosts survives one of them dying mid-build, every object right', async (t) => {
  if (noRoot) return t.skip(noRoot);
  const build = run('make', ['-j6', 'CC=distcc gcc'], {
    cwd: join(work, 'remote'),
    env: {
      ...process.env,
      DISTCC_HOSTS: hosts.map((h) => `${h.theirs}/2`).join(' '),
      DISTCC_DIR: freshDistccDir(),
    },
  });
  const victim = daemons[1]!;
  await until('the second host has compiled something', () => compiled(victim) > 0, 60_000);
  victim.child.kill('SIGKILL');
  const doneAtKill = daemons.map(compiled).reduce((a, b) => a + b, 0);
  const done = await build;
  // Jobs the dead host had were cut off; the client sent them elsewhere.
  assert.match(done.stderr, /Connection reset by peer|Connection refused|no answer/);
  const servedAfter = daemons.map(compiled);
  assert.ok(servedAfter[0]! > 0 && servedAfter[2]! > 0, `jobs per host: ${servedAfter.join(' ')}`);
  assert.ok(doneAtKill < FILES, `${doneAtKill} of ${FILES} compiled when the host died`);

  await run('make', ['-j2', 'CC=gcc'], { cwd: join(work, 'local') });
  for (let f = 0; f < FILES; f++) {
    assert.ok(
      readFileSync(join(work, 'remote', `u${f}.o`)).equals(
        readFileSync(join(work, 'local', `u${f}.o`)),
      ),
      `u${f}.o`,
    );
  }
});
