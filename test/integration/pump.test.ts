// Pump mode (protocol 3) in tsdistccd: Debian's distcc-pump sends sources and
// headers, the daemon rebuilds them under the job and compiles there; and
// hand-made requests that try to write outside the job change nothing.
// Needs: distcc, distcc-pump, python3-lzo, gcc, g++ (and
// ../shared/testing/pump-py311 for Debian 12's include server).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compileRaw, exchange } from '../helpers/client.js';
import {
  freePort,
  freshDistccDir,
  openTempDir,
  startDistccd,
  startTsdistccd,
  type RunningDaemon,
} from '../helpers/daemon.js';
import { ROOT } from '../helpers/paths.js';
import { pyLzoCompress, pyLzoDecompress } from '../helpers/python-lzo.js';
import { startRecorder } from '../helpers/recorder.js';
import { parseReply, pumpRequest } from '../helpers/wire.js';

// A copy of ../shared/testing/pump-py311: Debian 12's include server needs it on Python 3.11.
const PUMP_PY = join(ROOT, 'test', 'fixtures', 'pump-py311');
const run = promisify(execFile);

let ts: RunningDaemon;
let real: RunningDaemon;
let work: string;

before(async () => {
  work = openTempDir('tsdistcc-pump-');
  mkdirSync(join(work, 'include'));
  writeFileSync(
    join(work, 'include', 'local.h'),
    '#define LOCAL 7\nstatic int twice(int x) { return 2 * x; }\n',
  );
  writeFileSync(
    join(work, 'main.c'),
    '#include <stdio.h>\n#include <string.h>\n#include "include/local.h"\nint main(void) { printf("%d %zu\\n", twice(LOCAL), strlen("x")); return 0; }\n',
  );
  writeFileSync(
    join(work, 'vec.cpp'),
    '#include <vector>\n#include <string>\n#include "include/local.h"\nint total() { std::vector<std::string> v{"a", "bb"}; return (int)v.size() * LOCAL + twice(1); }\n',
  );
  ts = await startTsdistccd(['--allow', '127.0.0.1', '--log-level', 'info']);
  real = await startDistccd(await freePort());
});

after(async () => {
  await ts?.stop();
  await real?.stop();
});

/** One compile through Debian's distcc-pump, recorded on its way to `port`. */
async function pumped(port: number, args: string[]) {
  const rec = await startRecorder(port);
  try {
    const r = await run('distcc-pump', ['distcc', ...args], {
      cwd: work,
      env: {
        ...process.env,
        PYTHONPATH: PUMP_PY,
        DISTCC_HOSTS: `127.0.0.1:${rec.port},cpp,lzo`,
        DISTCC_DIR: freshDistccDir(),
        DISTCC_FALLBACK: '0',
        DISTCC_SKIP_LOCAL_RETRY: '1',
      },
    });
    return { ...r, request: rec.requests[0]! };
  } finally {
    await rec.close();
  }
}

function depsOf(text: string): string[] {
  return text
    .replace(/\\\n/g, ' ')
    .split(/\s+/)
    .filter((w) => w !== '')
    .sort();
}

describe('Debian distcc-pump through tsdistccd', () => {
  for (const [lang, source, compiler] of [
    ['C', 'main.c', 'gcc'],
    ['C++', 'vec.cpp', 'g++'],
  ] as const) {
    test(`${lang}: a protocol-3 request, the object of a local compile, a .d naming the headers`, async () => {
      const base = source.replace(/\..*/, '');
      const r = await pumped(ts.port, [compiler, '-O2', '-c', source, '-o', `${base}.o`, '-MD']);
      assert.equal(r.request.subarray(0, 12).toString(), 'DIST00000003', 'pump request');
      assert.match(ts.log(), new RegExp(`COMPILE_OK .* ${source.replace('.', '\\.')}`));
      execFileSync(
        compiler,
        ['-O2', '-c', source, '-o', `${base}-local.o`, '-MD', '-MF', `${base}-local.d`],
        {
          cwd: work,
        },
      );
      assert.ok(
        readFileSync(join(work, `${base}.o`)).equals(readFileSync(join(work, `${base}-local.o`))),
      );
      const local = readFileSync(join(work, `${base}-local.d`), 'utf8').replace(
        `${base}-local.o`,
        `${base}.o`,
      );
      assert.deepEqual(depsOf(readFileSync(join(work, `${base}.d`), 'utf8')), depsOf(local));
      assert.ok(depsOf(local).includes('include/local.h'));
    });
  }

  test('with -g, the job root is gone from every debug section (DWARF 5 line strings too)', async () => {
    await pumped(ts.port, ['gcc', '-g', '-c', 'main.c', '-o', 'g.o']);
    const object = readFileSync(join(work, 'g.o'));
    assert.equal(object.includes('tsdistccd_'), false, 'no job directory in the object');
    // Each root became as many '/': the directory reads as the client's own.
    // (distccd 3.4 fixes .debug_info and .debug_str only: its root stays in .debug_line_str.)
    const dirs = object.toString('latin1').match(/\/+(?:[\w.-]+\/)*tsdistcc-pump-\w+/g) ?? [];
    assert.ok(dirs.length > 0);
    for (const d of dirs) assert.equal(d.replace(/^\/+/, '/'), work);
    // And the object still links and runs.
    execFileSync('gcc', ['g.o', '-o', 'g'], { cwd: work });
    assert.equal(execFileSync(join(work, 'g')).toString(), '14 1\n');
  });
});

describe('requests that try to write outside the job', () => {
  let victimDir: string;
  let victimFile: string;
  const hello = () => pyLzoCompress(Buffer.from('int hello(void) { return 1; }\n'));

  before(() => {
    victimDir = mkdtempSync(join(tmpdir(), 'pump-victim-'));
    chmodSync(victimDir, 0o1777);
    victimFile = join(victimDir, 'precious.txt');
    writeFileSync(victimFile, 'original\n');
    chmodSync(victimFile, 0o666);
  });

  const climb = '../'.repeat(30);
  const argv = ['x86_64-linux-gnu-gcc', '-c', 'h.c', '-o', 'h.o'];
  const cases = (): [string, Buffer][] => [
    [
      '.. in NAME',
      pumpRequest('/w', argv, [{ name: `/w/../..${victimDir}/dotdot.txt`, file: hello() }]),
    ],
    [
      'a FILE through an absolute LINK sent before',
      pumpRequest('/w', argv, [
        { name: '/w/h.c', file: hello() },
        { name: '/abs', link: victimDir },
        { name: '/abs/abs.txt', file: hello() },
      ]),
    ],
    [
      'a FILE through a relative LINK climbing out',
      pumpRequest('/w', argv, [
        { name: '/w/h.c', file: hello() },
        { name: '/up', link: `${climb}${victimDir.slice(1)}` },
        { name: '/up/up.txt', file: hello() },
      ]),
    ],
    [
      'a FILE whose NAME is a symlink already',
      pumpRequest('/w', argv, [
        { name: '/w/h.c', file: hello() },
        { name: '/w/link.h', link: `${climb}${victimFile.slice(1)}` },
        { name: '/w/link.h', file: hello() },
      ]),
    ],
    [
      'CDIR through a LINK',
      pumpRequest('/c/sub', argv, [
        { name: '/c', link: `${climb}${victimDir.slice(1)}` },
        { name: '/c/sub/h.c', file: hello() },
      ]),
    ],
    [
      'a relative NAME',
      pumpRequest('/w', argv, [{ name: `..${victimDir}/rel.txt`, file: hello() }]),
    ],
  ];

  test('none of them writes anything outside the job, and the daemon keeps serving', async () => {
    for (const [what, bytes] of cases()) {
      const before = readdirSync(victimDir).sort();
      const answer = await exchange(ts.port, bytes);
      assert.deepEqual(
        readdirSync(victimDir).sort(),
        before,
        `${what}: nothing new in the victim dir`,
      );
      assert.equal(
        readFileSync(victimFile, 'utf8'),
        'original\n',
        `${what}: victim file untouched`,
      );
      assert.equal(statSync(victimFile).isFile(), true);
      // Refused: closed without a reply (the client would compile locally).
      assert.equal(answer.reply.length, 0, `${what}: no reply`);
    }
    assert.match(ts.log(), /pump request refused: NAME must not contain `\.\.`/);
    assert.match(ts.log(), /on its way is a link or a file, not a directory/);
    assert.match(ts.log(), /exists already/);
    // And a good request right after compiles.
    const ok = parseReply(
      (await exchange(ts.port, pumpRequest('/w', argv, [{ name: '/w/h.c', file: hello() }]))).reply,
    );
    assert.equal(ok.status, 0, ok.stderr.toString());
    assert.ok(ok.dependencies, 'a DOTD after the DOTO');
    // gcc may wrap the line (its paths were long, in the job root); make reads it the same.
    assert.deepEqual(depsOf(pyLzoDecompress(ok.dependencies).toString()), ['h.c', 'h.o:']);
  });

  test('too many files: refused (--max-files), nothing left behind', async () => {
    const small = await startTsdistccd(['--allow', '127.0.0.1', '--max-files', '2']);
    try {
      const entries = [0, 1, 2].map((i) => ({ name: `/w/f${i}.h`, file: hello() }));
      const answer = await exchange(small.port, pumpRequest('/w', argv, entries));
      assert.equal(answer.reply.length, 0);
      await small.waitForLog(/NFIL 3 is over the limit of 2 files/);
      const r = await compileRaw(small.port, argv, Buffer.from('int x;\n'));
      assert.equal(r.status, 0);
    } finally {
      await small.stop();
    }
    assert.equal(existsSync(join(victimDir, 'f0.h')), false);
  });
});
