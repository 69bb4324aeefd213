// Debian's distcc client compiling through tsdistccd, plain and with ,lzo;
// the objects are compared with a local gcc and with what the real distccd
// returns for the very same request bytes.
// Needs: distcc (Debian package), gcc, python3-lzo.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exchange, runDistcc } from '../helpers/client.js';
import { freePort, startDistccd, startTsdistccd, type RunningDaemon } from '../helpers/daemon.js';
import { pyLzoDecompress } from '../helpers/python-lzo.js';
import { startRecorder, type Recorder } from '../helpers/recorder.js';
import { parseReply, request } from '../helpers/wire.js';
import { ROOT } from '../helpers/paths.js';

const SOURCE = `#include <stdio.h>
#include <string.h>
static int table[64];
int checksum(const char *s) {
  int h = 0;
  for (size_t i = 0; i < strlen(s); i++) h = h * 31 + s[i] + table[i % 64];
  return h;
}
int main(int argc, char **argv) {
  for (int i = 0; i < 64; i++) table[i] = i * i;
  printf("%d\\n", checksum(argc > 1 ? argv[1] : "hello"));
  return 0;
}
`;

let ts: RunningDaemon;
let real: RunningDaemon;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'tsdistcc-client-'));
  writeFileSync(join(work, 'hello.c'), SOURCE);
  writeFileSync(join(work, 'broken.c'), 'int main(void) { return undeclared_thing; }\n');
  ts = await startTsdistccd([
    '--allow',
    '127.0.0.1',
    '--log-level',
    'info',
    '--whitelist-dir',
    `${ROOT}test/fixtures/whitelist`,
  ]);
  real = await startDistccd(await freePort());
});

after(async () => {
  await ts?.stop();
  await real?.stop();
});

async function compileThrough(hostOptions: string, name: string, recorder: Recorder) {
  const out = `${name}.o`;
  const run = await runDistcc(
    ['gcc', '-O2', '-g', '-c', 'hello.c', '-o', out],
    `127.0.0.1:${recorder.port}${hostOptions}`,
    work,
  );
  assert.equal(run.code, 0, `distcc failed: ${run.stderr}`);
  return readFileSync(join(work, out));
}

for (const [label, hostOptions, version] of [
  ['plain (protocol 1)', '', 1],
  ['lzo (protocol 2)', ',lzo', 2],
] as const) {
  test(`distcc ${label} compiles through tsdistccd; object equals local gcc and real distccd`, async () => {
    const recorder = await startRecorder(ts.port);
    try {
      const before = (ts.log().match(/COMPILE_OK/g) ?? []).length;
      const object = await compileThrough(hostOptions, `remote-${version}`, recorder);
      await ts.waitForLog(new RegExp(`(?:COMPILE_OK[^]*){${before + 1}}`));
      assert.match(
        ts.log(),
        /COMPILE_OK exit:0 sig:0 core:0 ret:0 time:\d+ms x86_64-linux-gnu-gcc hello\.c/,
      );

      // With -g, a distcc object equals gcc -c of the client's .i (the
      // line table differs from a compile of the .c): compare with that.
      execFileSync('gcc', ['-O2', '-g', '-E', 'hello.c', '-o', 'local.i'], { cwd: work });
      execFileSync('gcc', ['-O2', '-g', '-c', 'local.i', '-o', 'local.o'], { cwd: work });
      assert.deepEqual(
        object,
        readFileSync(join(work, 'local.o')),
        'remote object differs from a local compile',
      );

      const req = recorder.requests.at(-1)!;
      assert.equal(req.subarray(0, 12).toString(), `DIST0000000${version}`);
      const fromReal = parseReply((await exchange(real.port, req)).reply);
      const fromOurs = parseReply((await exchange(ts.port, req)).reply);
      assert.equal(fromReal.version, version);
      assert.equal(fromOurs.version, version);
      assert.equal(fromOurs.status, fromReal.status);
      const decode = (b: Buffer) => (version === 2 ? pyLzoDecompress(b) : b);
      assert.deepEqual(
        decode(fromOurs.object),
        decode(fromReal.object),
        'tsdistccd and distccd objects differ',
      );
      assert.deepEqual(decode(fromOurs.object), object);
      if (version === 2)
        assert.deepEqual(fromOurs.object, fromReal.object, 'LZO bodies differ byte for byte');
    } finally {
      await recorder.close();
    }
  });
}

test('without -g the object equals a local gcc -c of the source itself', async () => {
  for (const hostOptions of ['', ',lzo']) {
    const run = await runDistcc(
      ['gcc', '-O2', '-c', 'hello.c', '-o', 'nodebug.o'],
      `127.0.0.1:${ts.port}${hostOptions}`,
      work,
    );
    assert.equal(run.code, 0, run.stderr);
    execFileSync('gcc', ['-O2', '-c', 'hello.c', '-o', 'nodebug-local.o'], { cwd: work });
    assert.deepEqual(
      readFileSync(join(work, 'nodebug.o')),
      readFileSync(join(work, 'nodebug-local.o')),
    );
  }
});

test('a compile error comes back as exit 1 with gcc message, and no object', async () => {
  const run = await runDistcc(
    ['gcc', '-c', 'broken.c', '-o', 'broken.o'],
    `127.0.0.1:${ts.port},lzo`,
    work,
  );
  assert.equal(run.code, 1);
  assert.match(run.stderr, /broken\.c:1:\d+: error: .undeclared_thing. undeclared/);
  assert.equal(existsSync(join(work, 'broken.o')), false);
  await ts.waitForLog(/COMPILE_ERROR exit:1 .* broken\.c/);
});

test('a whitelisted compiler that cannot be started is exit 110 with "failed to exec"', async () => {
  const { reply } = await exchange(
    ts.port,
    request(1, ['ghost-cc', '-c', 'x.c', '-o', 'x.o'], Buffer.from('int x;\n')),
  );
  const r = parseReply(reply);
  assert.equal(r.status, 110 << 8);
  assert.match(r.stderr.toString(), /failed to exec ghost-cc: No such file or directory/);
  assert.equal(r.object.length, 0);
});

test('stdout of the compiler comes back in SOUT', async () => {
  const { reply } = await exchange(
    ts.port,
    request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o', '-v'], Buffer.from('int x;\n')),
  );
  const r = parseReply(reply);
  assert.equal(r.status, 0);
  assert.ok(r.object.length > 0);
  assert.match(r.stderr.toString(), /gcc version/);
});
