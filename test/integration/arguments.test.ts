// Remote arguments by allow-list (issue 20 item 1), against a started
// tsdistccd with raw protocol requests: each attack argument closes its
// connection without a reply, with one log line naming the argument and
// why, does nothing (no marker, no file written), and the daemon serves the
// next real job. Then makepkg's default flags through Debian's distcc client
// for gcc, g++, clang and clang++, compiled remotely and equal to a local
// compile. The daemon runs with --sandbox none: this tests the argument
// layer on its own, not the sandbox that would also hide /tmp.
// Needs: gcc, g++, Debian's distcc (its /usr/lib/distcc whitelist), python3-lzo; clang.

import { makepkgFlags } from '../helpers/makepkg-flags.js';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exchange, runDistcc } from '../helpers/client.js';
import { openTempDir, startTsdistccd, type RunningDaemon } from '../helpers/daemon.js';
import { pyLzoCompress, pyLzoDecompress } from '../helpers/python-lzo.js';
import { parseReply, pumpRequest, request } from '../helpers/wire.js';

const GCC = 'x86_64-linux-gnu-gcc';
let ts: RunningDaemon;
let scratch: string;
let localObject: Buffer;
// A line marker names the source as a client's preprocessed file does.
const source = Buffer.from('# 1 "x.c"\nint answer(void) { return 42; }\n');

before(async () => {
  scratch = openTempDir('tsdistcc-args-');
  ts = await startTsdistccd(['--allow', '127.0.0.1', '--log-level', 'info', '--sandbox', 'none']);
  writeFileSync(join(scratch, 'x.i'), source);
  execFileSync('gcc', ['-c', 'x.i', '-o', 'ref.o'], { cwd: scratch });
  localObject = readFileSync(join(scratch, 'ref.o'));
});

after(async () => {
  await ts?.stop();
});

const refusals = () =>
  ts
    .log()
    .split('\n')
    .filter((l) => / refused: /.test(l));

/** The next real job is served, with the object a local gcc makes. */
async function servesTheNext() {
  const { reply } = await exchange(ts.port, request(1, [GCC, '-c', 'x.c', '-o', 'x.o'], source));
  const r = parseReply(reply);
  assert.equal(r.status, 0, r.stderr.toString());
  assert.ok(r.object.equals(localObject), 'the same object as a local compile');
}

/** `bytes` is refused: no reply, one log line naming `argument`, then the next job is served. */
async function refused(bytes: Buffer, argument: string) {
  const before = refusals().length;
  const { reply, closedBy } = await exchange(ts.port, bytes);
  assert.equal(reply.length, 0, `a reply to a request with ${argument}`);
  assert.equal(closedBy, 'server');
  const quoted = argument.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await ts.waitForLog(
    new RegExp(`refused: argument \`${quoted}\` is not accepted for a remote compile \\(.+\\)`),
  );
  const added = refusals().slice(before);
  assert.equal(added.length, 1, `one refusal line, got:\n${added.join('\n')}`);
  assert.ok(added[0]!.includes(`\`${argument}\``), added[0]);
  await servesTheNext();
}

const plain = (args: string[]) => request(1, [GCC, ...args, '-c', 'x.c', '-o', 'x.o'], source);
const pump = (args: string[]) =>
  pumpRequest(
    '/w',
    [GCC, ...args, '-c', 'x.c', '-o', 'x.o'],
    [{ name: '/w/x.c', file: pyLzoCompress(source) }],
  );

/** Whether a compiler that ran would have had time to make `path`. */
async function never(path: string) {
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(existsSync(path), false, `${path} was made`);
}

test('-wrapper (a shell that would make a marker) is refused and runs nothing', async () => {
  const marker = join(scratch, 'wrapper-ran');
  await refused(plain(['-wrapper', `/bin/sh,-c,touch ${marker}`]), '-wrapper');
  await never(marker);
});

test('-B DIR (an `as` there that would make a marker) is refused in each spelling', async () => {
  const dir = join(scratch, 'evil-bin');
  const marker = join(scratch, 'as-ran');
  mkdirSync(dir, { mode: 0o755 });
  writeFileSync(join(dir, 'as'), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
  await refused(plain([`-B${dir}/`]), `-B${dir}/`);
  await refused(plain(['-B', `${dir}/`]), '-B');
  await refused(plain([`--prefix=${dir}/`]), `--prefix=${dir}/`);
  await never(marker);
});

test('-Xassembler -aln=PATH (an assembler listing) is refused and writes nothing', async () => {
  const out = join(scratch, 'listing.txt');
  await refused(plain(['-Xassembler', `-aln=${out}`]), `-Xassembler -aln=${out}`);
  await never(out);
});

test('-aux-info PATH is refused and writes nothing', async () => {
  const out = join(scratch, 'aux-info.txt');
  await refused(plain(['-aux-info', out]), '-aux-info');
  await never(out);
});

test('@FILE is refused, plain and pump', async () => {
  const marker = join(scratch, 'response-ran');
  const file = join(scratch, 'args.rsp');
  writeFileSync(file, `-wrapper /bin/sh,-c,"touch ${marker}"\n`);
  await refused(plain([`@${file}`]), `@${file}`);
  await refused(pump([`@${file}`]), `@${file}`);
  await never(marker);
});

test('--specs FILE and --specs=FILE are refused without --sysroot', async () => {
  const specs = join(scratch, 'empty.specs');
  writeFileSync(specs, '');
  await refused(plain([`--specs=${specs}`]), `-specs=${specs}`);
  await refused(plain(['--specs', specs]), `-specs=${specs}`);
});

test('-specs= under --sysroot reads the file under DIR, not a job file of that name', async () => {
  // gcc looks for a relative specs file in its own directories, then in its
  // working directory: the job's, where the client's source is input.i.
  const sysroot = openTempDir('tsdistcc-sysroot-');
  writeFileSync(join(sysroot, 'input.i'), '');
  const marker = join(scratch, 'specs-ran');
  const specs = Buffer.from(`*self_spec:\n+ -wrapper /bin/sh,-c,touch\\ ${marker}\n`);
  const withRoot = await startTsdistccd([
    '--allow',
    '127.0.0.1',
    '--sandbox',
    'none',
    '--sysroot',
    sysroot,
  ]);
  try {
    const argv = [GCC, '-specs=input.i', '-c', 'x.c', '-o', 'x.o'];
    const ok = parseReply((await exchange(withRoot.port, request(1, argv, source))).reply);
    assert.equal(ok.status, 0, ok.stderr.toString());
    assert.ok(ok.object.equals(localObject), 'the local object');
    const evil = parseReply((await exchange(withRoot.port, request(1, argv, specs))).reply);
    assert.notEqual(evil.status, 0, 'the body is compiled as C, not read as specs');
    await never(marker);
  } finally {
    await withRoot.stop();
  }
});

test('-fdump-tree-all=PATH is refused and writes nothing', async () => {
  const out = join(scratch, 'dump.txt');
  await refused(plain([`-fdump-tree-all=${out}`]), `-fdump-tree-all=${out}`);
  await never(out);
});

test('plain -x c -MD -MF PATH is refused and writes nothing', async () => {
  const out = join(scratch, 'plain.d');
  await refused(plain(['-x', 'c', '-MD', '-MF', out]), `-MF ${out}`);
  await never(out);
});

test('plain -x c is compiled as preprocessed input: an #include in it reads nothing', async () => {
  const secret = join(scratch, 'secret.txt');
  writeFileSync(secret, 'the-server-secret\n');
  const body = Buffer.from(`# 1 "x.c"\n#include "${secret}"\nint answer(void) { return 42; }\n`);
  for (const lang of ['c', 'c++']) {
    const r = parseReply(
      (await exchange(ts.port, request(1, [GCC, '-x', lang, '-c', 'x.c', '-o', 'x.o'], body)))
        .reply,
    );
    assert.notEqual(r.status, 0, 'a stray # in preprocessed input is an error');
    assert.doesNotMatch(r.stderr.toString(), /the-server-secret|secret\.txt:/);
  }
  const { reply } = await exchange(
    ts.port,
    request(1, [GCC, '-x', 'c', '-c', 'x.c', '-o', 'x.o'], source),
  );
  const ok = parseReply(reply);
  assert.equal(ok.status, 0, ok.stderr.toString());
  assert.ok(ok.object.equals(localObject), 'the object of the .i');
});

test('a second input file is refused', async () => {
  await refused(
    request(1, [GCC, '-c', 'x.c', '/etc/hostname', '-o', 'x.o'], source),
    '/etc/hostname',
  );
});

test('pump -MF PATH and -Wp,-MD,PATH write only in the job: the .d comes back', async () => {
  for (const args of [
    (p: string) => ['-MD', '-MF', p],
    (p: string) => [`-MF${p}`, '-MMD'],
    (p: string) => [`-Wp,-MD,${p}`],
    (p: string) => [`-Wp,-D_FORTIFY_SOURCE=2,-MMD,${p}`, '-O2'],
  ]) {
    const out = join(scratch, `pump-${Math.random().toString(36).slice(2)}.d`);
    const { reply } = await exchange(ts.port, pump(args(out)));
    const r = parseReply(reply);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.ok(r.dependencies, 'the .d file in the reply');
    assert.match(pyLzoDecompress(r.dependencies).toString(), /^x\.o: x\.c/);
    await never(out);
  }
});

const C_SOURCE = `#include <stdio.h>
#include <string.h>
int show(const char *s, char *out, size_t n) {
  char buf[32];
  strncpy(buf, s, sizeof buf - 1);
  buf[sizeof buf - 1] = 0;
  return snprintf(out, n, "[%s]", buf);
}
`;
const CXX_SOURCE = `#include <string>
#include <vector>
std::string join(const std::vector<std::string> &v) {
  std::string r;
  for (std::size_t i = 0; i < v.size(); i++) r += v[i] + ",";
  return v.empty() ? r : r + v[0];
}
`;

function have(command: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return existsSync(`/usr/lib/distcc/${command}`);
  } catch {
    return false;
  }
}

for (const compiler of ['gcc', 'g++', 'clang', 'clang++']) {
  const missing = have(compiler)
    ? false
    : `no ${compiler}, or no /usr/lib/distcc/${compiler} (apt-get install clang)`;
  test(
    `makepkg's flags through Debian's distcc: ${compiler} compiles remotely, the object a local one`,
    { skip: missing },
    async () => {
      const cxx = compiler.endsWith('++');
      const dir = openTempDir('tsdistcc-makepkg-');
      const name = `${compiler.replace(/\+/g, 'x')}-unit.${cxx ? 'cc' : 'c'}`;
      writeFileSync(join(dir, name), cxx ? CXX_SOURCE : C_SOURCE);
      const flags = makepkgFlags(dir, cxx);
      const r = await runDistcc(
        [compiler, ...flags, '-c', name, '-o', 'remote.o'],
        `127.0.0.1:${ts.port}`,
        dir,
      );
      assert.equal(r.code, 0, r.stderr);
      await ts.waitForLog(new RegExp(`COMPILE_OK .*${name.replace(/\./g, '\\.')}`));
      // The local compile of the same preprocessed source (distcc's objects are that: the
      // column numbers in debug info differ from a compile of the .c).
      const pre = cxx ? 'local.ii' : 'local.i';
      execFileSync(compiler, [...flags, '-E', name, '-o', pre], { cwd: dir });
      execFileSync(compiler, [...flags, '-c', pre, '-o', 'local.o'], { cwd: dir });
      const remote = join(dir, 'remote.o');
      const local = join(dir, 'local.o');
      if (compiler.startsWith('gcc') || compiler.startsWith('g++')) {
        assert.ok(readFileSync(remote).equals(readFileSync(local)), 'the local object');
      } else {
        // clang names its own directory as DW_AT_comp_dir, not the one in the line
        // markers: the job's (distccd's too). All else is the local object.
        const info = (o: string) =>
          execFileSync('readelf', ['--debug-dump=info', o], { encoding: 'utf8' })
            .split('\n')
            .filter((l) => !l.includes('DW_AT_comp_dir') && !l.startsWith('File:'));
        assert.deepEqual(info(remote), info(local));
        for (const o of [remote, local]) {
          execFileSync('objcopy', ['--strip-debug', o, `${o}.stripped`]);
        }
        assert.ok(
          readFileSync(`${remote}.stripped`).equals(readFileSync(`${local}.stripped`)),
          'the local object but for its debug sections',
        );
      }
    },
  );
}
