// Pump requests (protocol 3) without sockets: the decoder over every split,
// the compiler command, the .d text, and the tree builder's confinement.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixDependencies, rewritePumpArgs } from '../../src/compiler/pump-args.js';
import { buildPumpTree, PumpTreeError } from '../../src/compiler/pump-tree.js';
import { RequestDecoder } from '../../src/protocol/request-decoder.js';
import { pyLzoCompress } from '../helpers/python-lzo.js';
import { pumpRequest } from '../helpers/wire.js';

const body = pyLzoCompress(Buffer.from('int x;\n'));
const bytes = pumpRequest(
  '/home/u/p',
  ['gcc', '-c', 'x.c', '-o', 'x.o'],
  [
    { name: '/home/u/p/x.c', file: body },
    { name: '/usr/include', link: '../../../usr/include' },
    { name: '/home/u/p/forcing_technique_271828', file: Buffer.alloc(0) },
  ],
);

test('a pump request decodes the same for any split', () => {
  for (let cut = 0; cut <= bytes.length; cut++) {
    const d = new RequestDecoder();
    const r = d.push(bytes.subarray(0, cut)) ?? d.push(bytes.subarray(cut));
    assert.ok(r, `cut ${cut}`);
    assert.equal(r.version, 3);
    assert.equal(r.cwd, '/home/u/p');
    assert.deepEqual(r.args, ['gcc', '-c', 'x.c', '-o', 'x.o']);
    assert.deepEqual(
      r.files?.map((f) => [f.name, f.kind]),
      [
        ['/home/u/p/x.c', 'file'],
        ['/usr/include', 'link'],
        ['/home/u/p/forcing_technique_271828', 'file'],
      ],
    );
  }
});

test('the compiler command: paths under the root, -o and -MT taken, -MMD -MF added', () => {
  const r = rewritePumpArgs(
    [
      'gcc',
      '-I/usr/local/inc',
      '-I',
      'rel',
      '-isystem',
      '/sys',
      '-c',
      '/src/x.c',
      '-o',
      'x.o',
      '-MT',
      'obj/x.o',
      '-iquote/q',
    ],
    '/J/r',
    '/J/output.o',
    '/J/output.d',
  );
  assert.deepEqual(r.argv, [
    'gcc',
    '-I/J/r/usr/local/inc',
    '-I',
    'rel',
    '-isystem',
    '/J/r/sys',
    '-c',
    '/J/r/src/x.c',
    '-o',
    '/J/output.o',
    '-iquote/J/r/q',
    '-MMD',
    '-MF',
    '/J/output.d',
  ]);
  assert.equal(r.target, 'obj/x.o');
  assert.equal(r.output, 'x.o');
  assert.deepEqual(rewritePumpArgs(['gcc', '-MD', '-c', 'x.c'], '/R', '/o.o', '/o.d').argv, [
    'gcc',
    '-MD',
    '-c',
    'x.c',
    '-o',
    '/o.o',
    '-MF',
    '/o.d',
  ]);
  assert.equal(
    fixDependencies(
      '/J/output.o: x.c /J/r/usr/include/stdio.h \\\n /J/r/home/u/p/a.h\n',
      '/J/r',
      '/J/output.o',
      'x.o',
    ),
    'x.o: x.c /usr/include/stdio.h \\\n /home/u/p/a.h\n',
  );
});

test("the client's -MF FILE and -Wp,-MD,FILE are dropped: the .d is written only in the job", () => {
  const rw = (args: string[]) =>
    rewritePumpArgs(['gcc', ...args, '-c', 'x.c'], '/R', '/o.o', '/o.d');
  const tail = ['-c', 'x.c', '-o', '/o.o'];
  assert.deepEqual(rw(['-MD', '-MF', '/etc/x.d']).argv, ['gcc', '-MD', ...tail, '-MF', '/o.d']);
  assert.deepEqual(rw(['-MMD', '-MF/etc/x.d']).argv, ['gcc', '-MMD', ...tail, '-MF', '/o.d']);
  assert.deepEqual(rw(['-Wp,-MD,/etc/x.d']).argv, ['gcc', '-MD', ...tail, '-MF', '/o.d']);
  assert.deepEqual(rw(['-Wp,-DX=1,-MMD,/etc/x.d', '-O2']).argv, [
    'gcc',
    '-Wp,-DX=1',
    '-MMD',
    '-O2',
    ...tail,
    '-MF',
    '/o.d',
  ]);
  assert.deepEqual(rw(['-Wp,-DX']).argv, ['gcc', '-Wp,-DX', ...tail, '-MMD', '-MF', '/o.d']);
});

test('the tree builder writes files and links inside the root only', async () => {
  const job = mkdtempSync(join(tmpdir(), 'pump-unit-'));
  const tree = await buildPumpTree(
    join(job, 'r'),
    join(job, 'r'),
    'r',
    '/home/u/p',
    [
      { name: '/home/u/p/x.c', kind: 'file', body },
      { name: '/usr/include', kind: 'link', target: '../../../usr/include' },
      { name: '/opt/abs', kind: 'link', target: '/somewhere' },
    ],
    1 << 20,
  );
  assert.equal(tree.subdir, 'r/home/u/p');
  assert.equal(readFileSync(join(job, 'r/home/u/p/x.c'), 'utf8'), 'int x;\n');
  assert.equal(readlinkSync(join(job, 'r/usr/include')), '../../../usr/include');
  assert.equal(readlinkSync(join(job, 'r/opt/abs')), join(job, 'r/somewhere'));

  const refused = async (entries: Parameters<typeof buildPumpTree>[4], cwd = '/w') => {
    const j = mkdtempSync(join(tmpdir(), 'pump-unit-'));
    await assert.rejects(
      buildPumpTree(join(j, 'r'), join(j, 'r'), 'r', cwd, entries, 1 << 20),
      PumpTreeError,
    );
    return j;
  };
  const outside = mkdtempSync(join(tmpdir(), 'pump-outside-'));
  await refused([{ name: '/a/../../b', kind: 'file', body }]);
  await refused([{ name: 'rel/x', kind: 'file', body }]);
  await refused([
    { name: '/l', kind: 'link', target: outside },
    { name: '/l/x', kind: 'file', body },
  ]);
  await refused([
    { name: '/w/f', kind: 'link', target: join(outside, 'f') },
    { name: '/w/f', kind: 'file', body },
  ]);
  await refused([{ name: '/w', kind: 'link', target: outside }]);
  assert.equal(existsSync(join(outside, 'x')) || existsSync(join(outside, 'f')), false);
  // Over the byte budget: the LZO decoder stops at the limit.
  const j = mkdtempSync(join(tmpdir(), 'pump-unit-'));
  await assert.rejects(
    buildPumpTree(
      join(j, 'r'),
      join(j, 'r'),
      'r',
      '/w',
      [{ name: '/w/x.c', kind: 'file', body }],
      3,
    ),
  );
  assert.equal(lstatSync(join(job, 'r/home')).isDirectory(), true);
});
