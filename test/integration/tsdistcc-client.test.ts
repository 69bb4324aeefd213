// tsdistcc, our client, against Debian's real distccd and against tsdistccd
// on loopback. Every object is compared with what Debian's distcc client gets
// for the same command (and a local gcc); errors, stdout, .d files and exit
// codes with what distcc gives.
// Needs: distcc (Debian package), gcc.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runClient, runDistcc, runTsdistcc, type ClientRun } from '../helpers/client.js';
import {
  freePort,
  freshDistccDir,
  startDistccd,
  startTsdistccd,
  type RunningDaemon,
} from '../helpers/daemon.js';
import { stopAgents } from '../helpers/agents.js';
import { CLIENT_BIN, FIXTURE_BIN, ROOT } from '../helpers/paths.js';
import { until } from '../helpers/wait.js';

const HELLO = `#include <stdio.h>
#include "local.h"
int main(void) { printf("%d\\n", ANSWER); return 0; }
`;

let real: RunningDaemon;
let ts: RunningDaemon;
let work: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'tsdistcc-client-'));
  writeFileSync(join(work, 'hello.c'), HELLO);
  writeFileSync(join(work, 'local.h'), '#define ANSWER 42\n');
  writeFileSync(join(work, 'broken.c'), 'int main(void) { return undeclared_thing; }\n');
  writeFileSync(join(work, 'warn.c'), '#warning this is a warning\nint x;\n');
  mkdirSync(join(work, 'src'));
  mkdirSync(join(work, 'obj'));
  writeFileSync(join(work, 'src', 'dep.c'), '#include "../local.h"\nint v = ANSWER;\n');
  real = await startDistccd(await freePort());
  ts = await startTsdistccd([
    '--allow',
    '127.0.0.1',
    '--log-level',
    'info',
    '--whitelist-dir',
    `${ROOT}test/fixtures/whitelist`,
  ]);
});

after(async () => {
  await real?.stop();
  await ts?.stop();
});

type Mode = { name: string; env: NodeJS.ProcessEnv };

/** The messages of either client with the program name and pid taken out. */
function normalise(stderr: string): string {
  // distcc names its C function in some lines, e.g. `(dcc_build_somewhere)`.
  return stderr.replace(/^(?:ts)?distcc\[\d+\] (?:\(\w+\) )?/gm, 'CLIENT ');
}

function localObject(args: string[], out: string): Buffer {
  execFileSync('gcc', [...args, '-o', out], { cwd: work });
  return readFileSync(join(work, out));
}

async function bothClients(
  mode: Mode,
  args: (out: string) => string[],
  hosts: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ ours: ClientRun; theirs: ClientRun; oursOut: string; theirsOut: string }> {
  const oursOut = `ours-${Math.random().toString(36).slice(2)}.o`;
  const theirsOut = `theirs-${Math.random().toString(36).slice(2)}.o`;
  const ours = await runTsdistcc(args(oursOut), hosts, work, { ...mode.env, ...env });
  const theirs = await runDistcc(args(theirsOut), hosts, work, env);
  return { ours, theirs, oursOut, theirsOut };
}

const MODES: Mode[] = [
  { name: 'through the agent', env: {} },
  { name: 'plain (TSDISTCC_AGENT=0)', env: { TSDISTCC_AGENT: '0' } },
];

/** Each mode's agent lives in its own runtime directory, removed with it. */
let runtime: string;
before(() => {
  runtime = mkdtempSync(join(tmpdir(), 'tsdistcc-runtime-'));
  MODES[0]!.env = { XDG_RUNTIME_DIR: runtime, TSDISTCC_AGENT_IDLE: '120' };
});
after(async () => {
  await stopAgents(runtime);
});

for (const mode of MODES)
  describe(mode.name, () => {
    const runOurs = (args: string[], hosts: string, cwd: string, env: NodeJS.ProcessEnv = {}) =>
      runTsdistcc(args, hosts, cwd, { ...mode.env, ...env });
    for (const server of ['distccd', 'tsdistccd'] as const) {
      for (const option of ['', ',lzo']) {
        test(`compiles through ${server}${option}: the object Debian's distcc gets`, async () => {
          const port = server === 'distccd' ? real.port : ts.port;
          const r = await bothClients(
            mode,
            (out) => ['gcc', '-O2', '-g', '-c', 'hello.c', '-o', out],
            `127.0.0.1:${port}${option}`,
          );
          assert.equal(r.ours.code, 0, r.ours.stderr);
          assert.equal(r.theirs.code, 0, r.theirs.stderr);
          assert.equal(r.ours.stderr, '');
          const ours = readFileSync(join(work, r.oursOut));
          assert.ok(ours.equals(readFileSync(join(work, r.theirsOut))), 'same object as distcc');
          // The object was made remotely, not by a fallback.
          const log = server === 'distccd' ? real.log() : ts.log();
          assert.match(log, /COMPILE_OK/);
          // It is also what a local gcc makes of the preprocessed source.
          execFileSync('gcc', ['-O2', '-g', '-E', 'hello.c', '-o', 'hello.i'], { cwd: work });
          const local = localObject(['-O2', '-g', '-c', 'hello.i'], 'local-hello.o');
          assert.ok(ours.equals(local), 'same object as gcc -c of the .i');
        });
      }
    }

    test("a ,cpp,lzo host without an include server: distcc's warnings, protocol 2, right object", async () => {
      const r = await bothClients(
        mode,
        (out) => ['gcc', '-c', 'hello.c', '-o', out],
        `127.0.0.1:${real.port},cpp,lzo`,
      );
      assert.equal(r.theirs.code, 0, r.theirs.stderr);
      assert.equal(r.ours.code, 0, r.ours.stderr);
      assert.equal(normalise(r.ours.stderr), normalise(r.theirs.stderr));
      assert.ok(readFileSync(join(work, r.oursOut)).equals(readFileSync(join(work, r.theirsOut))));
    });

    test("the object gets mode 0666 less the caller's umask; no output file means x.o", async () => {
      const run = await runOurs(['gcc', '-c', 'hello.c'], `127.0.0.1:${real.port}`, work);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(statSync(join(work, 'hello.o')).mode & 0o777, 0o666 & ~process.umask());
      // A caller with another umask than the one that started the agent.
      const dir = freshDistccDir();
      const strict = await runClient(
        'sh',
        ['-c', `umask 027; exec ${CLIENT_BIN} gcc -c hello.c -o strict.o`],
        `127.0.0.1:${real.port}`,
        work,
        { ...mode.env, DISTCC_DIR: dir },
      );
      assert.equal(strict.code, 0, strict.stderr);
      assert.equal(statSync(join(work, 'strict.o')).mode & 0o777, 0o640);
      // And nothing in DISTCC_DIR is writable by others.
      for (const f of ['lock', ...readdirSync(join(dir, 'lock')).map((n) => `lock/${n}`)]) {
        assert.equal(statSync(join(dir, f)).mode & 0o002, 0, `${f} is not world-writable`);
      }
    });

    test('compile errors: same exit code and same messages as distcc', async () => {
      for (const env of [{}, { DISTCC_SKIP_LOCAL_RETRY: undefined }]) {
        const r = await bothClients(
          mode,
          (out) => ['gcc', '-c', 'broken.c', '-o', out],
          `127.0.0.1:${real.port}`,
          env,
        );
        assert.equal(r.theirs.code, 1);
        assert.equal(r.ours.code, r.theirs.code);
        assert.equal(normalise(r.ours.stderr), normalise(r.theirs.stderr));
        assert.equal(existsSync(join(work, r.oursOut)), false, 'no object for a failed compile');
      }
    });

    test('warnings from the server reach stderr; stdout from the compiler reaches stdout', async () => {
      const w = await bothClients(
        mode,
        (out) => ['gcc', '-c', 'warn.c', '-o', out],
        `127.0.0.1:${real.port},lzo`,
      );
      assert.equal(w.ours.code, 0);
      assert.match(w.ours.stderr, /warning: #warning this is a warning/);
      assert.equal(w.ours.stderr, w.theirs.stderr);

      const env = { PATH: `${FIXTURE_BIN}:${process.env.PATH}` };
      const s = await bothClients(
        mode,
        (out) => ['stdout-cc', '-c', 'hello.c', '-o', out],
        `127.0.0.1:${ts.port}`,
        env,
      );
      assert.equal(s.theirs.code, 0, s.theirs.stderr);
      assert.equal(s.ours.code, 0, s.ours.stderr);
      assert.equal(s.ours.stdout, 'stdout-cc says hello\n');
      assert.equal(s.ours.stdout, s.theirs.stdout);
    });

    test('.d files are what a local gcc writes', async () => {
      const cases: { args: string[]; dep: string }[] = [
        { args: ['-MD', '-c', 'src/dep.c', '-o', 'obj/dep.o'], dep: 'obj/dep.d' },
        {
          args: ['-MMD', '-MF', 'obj/named.d', '-c', 'src/dep.c', '-o', 'obj/dep.o'],
          dep: 'obj/named.d',
        },
        { args: ['-Wp,-MD,obj/wp.d', '-c', 'src/dep.c', '-o', 'obj/dep.o'], dep: 'obj/wp.d' },
        { args: ['-MD', '-MT', 'custom', '-c', 'src/dep.c', '-o', 'obj/dep.o'], dep: 'obj/dep.d' },
      ];
      for (const { args, dep } of cases) {
        execFileSync('gcc', args, { cwd: work });
        const local = readFileSync(join(work, dep), 'utf8');
        execFileSync('rm', ['-f', join(work, dep)]);
        const run = await runOurs(['gcc', ...args], `127.0.0.1:${real.port}`, work);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(readFileSync(join(work, dep), 'utf8'), local, args.join(' '));
      }
    });

    test('a command that cannot be distributed runs here (linking, -E, conftest)', async () => {
      const hosts = `127.0.0.1:${real.port}`;
      const before = (real.log().match(/COMPILE_OK/g) ?? []).length;
      const link = await runOurs(['gcc', 'hello.c', '-o', 'hello-bin'], hosts, work);
      assert.equal(link.code, 0, link.stderr);
      assert.equal(execFileSync(join(work, 'hello-bin')).toString(), '42\n');
      const pre = await runOurs(['gcc', '-E', 'hello.c'], hosts, work);
      assert.equal(pre.code, 0);
      assert.match(pre.stdout, /printf\("%d\\n", 42\)/);
      assert.equal((real.log().match(/COMPILE_OK/g) ?? []).length, before, 'nothing was sent');
    });

    describe('a host that is down', () => {
      test('backoff file, distcc warning, local compile, right object', async () => {
        const port = await freePort();
        const dir = freshDistccDir();
        const run = await runOurs(
          ['gcc', '-c', 'hello.c', '-o', 'down.o'],
          `127.0.0.1:${port}`,
          work,
          {
            DISTCC_DIR: dir,
            DISTCC_FALLBACK: undefined,
            DISTCC_BACKOFF_PERIOD: undefined,
          },
        );
        assert.equal(run.code, 0, run.stderr);
        assert.equal(
          normalise(run.stderr),
          `CLIENT ERROR: nonblocking connect to 127.0.0.1:${port} failed: Connection refused\n` +
            `CLIENT Warning: failed to distribute hello.c to 127.0.0.1:${port}, running locally instead\n`,
        );
        assert.ok(existsSync(join(dir, 'lock', `backoff_tcp_127.0.0.1_${port}_0`)));
        assert.ok(
          readFileSync(join(work, 'down.o')).equals(localObject(['-c', 'hello.c'], 'down-local.o')),
        );

        // Debian's distcc, same situation: same messages, same backoff file.
        const dir2 = freshDistccDir();
        const theirs = await runDistcc(
          ['gcc', '-c', 'hello.c', '-o', 'down2.o'],
          `127.0.0.1:${port}`,
          work,
          {
            DISTCC_DIR: dir2,
            DISTCC_FALLBACK: undefined,
            DISTCC_BACKOFF_PERIOD: undefined,
          },
        );
        assert.equal(normalise(theirs.stderr), normalise(run.stderr));
        assert.deepEqual(
          readdirSync(join(dir2, 'lock')).filter((f) => f.startsWith('backoff')),
          [`backoff_tcp_127.0.0.1_${port}_0`],
        );

        // While the backoff lasts the host is skipped: no connect at all.
        const again = await runOurs(
          ['gcc', '-c', 'hello.c', '-o', 'down.o'],
          `127.0.0.1:${port}`,
          work,
          {
            DISTCC_DIR: dir,
            DISTCC_FALLBACK: undefined,
            DISTCC_BACKOFF_PERIOD: undefined,
          },
        );
        assert.equal(again.code, 0);
        assert.doesNotMatch(again.stderr, /connect/);
      });

      test('DISTCC_FALLBACK=0: distcc exit code 116, no object', async () => {
        const port = await freePort();
        const args = ['gcc', '-c', 'hello.c', '-o', 'nofallback.o'];
        const ours = await runOurs(args, `127.0.0.1:${port}`, work, {
          DISTCC_BACKOFF_PERIOD: undefined,
        });
        const theirs = await runDistcc(args, `127.0.0.1:${port}`, work, {
          DISTCC_BACKOFF_PERIOD: undefined,
        });
        assert.equal(theirs.code, 116);
        assert.equal(ours.code, 116);
        assert.equal(normalise(ours.stderr), normalise(theirs.stderr));
        assert.equal(existsSync(join(work, 'nofallback.o')), false);
      });

      test('with backoff off, a refused host is tried once and the job fails cleanly (distcc loops)', async () => {
        const port = await freePort();
        const ours = await runOurs(
          ['gcc', '-c', 'hello.c', '-o', 'x.o'],
          `127.0.0.1:${port}`,
          work,
        );
        assert.equal(ours.code, 116);
        assert.equal((ours.stderr.match(/Connection refused/g) ?? []).length, 1);
      });

      test('the next host in the list takes the job', async () => {
        const port = await freePort();
        const run = await runOurs(
          ['gcc', '-c', 'hello.c', '-o', 'second.o'],
          `127.0.0.1:${port} 127.0.0.1:${real.port}`,
          work,
        );
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stderr, /Connection refused/);
        assert.doesNotMatch(run.stderr, /running locally/);
      });
    });

    describe('masquerade', () => {
      test('a gcc symlink first on PATH distributes, and the real gcc is found without recursion', async () => {
        const masq = mkdtempSync(join(tmpdir(), 'masq-'));
        for (const name of ['gcc', 'cc', 'x86_64-linux-gnu-gcc'])
          symlinkSync(CLIENT_BIN, join(masq, name));
        const env = { ...mode.env, PATH: `${masq}:${process.env.PATH}` };
        const before = (real.log().match(/COMPILE_OK/g) ?? []).length;
        const run = await runClient(
          'gcc',
          ['-c', 'hello.c', '-o', 'masq.o'],
          `127.0.0.1:${real.port}`,
          work,
          env,
        );
        assert.equal(run.code, 0, run.stderr);
        // distccd writes its job line after the reply, so it may come after the client is
        // done; the other tests of this group run at the same time and may add theirs.
        await until(
          'compiled remotely',
          () => (real.log().match(/COMPILE_OK/g) ?? []).length >= before + 1,
        );
        assert.ok(
          readFileSync(join(work, 'masq.o')).equals(localObject(['-c', 'hello.c'], 'masq-local.o')),
        );

        // A link runs here: the gcc it runs is /usr/bin's, not the masquerade one again.
        const link = await runClient(
          'gcc',
          ['hello.c', '-o', 'masq-bin'],
          `127.0.0.1:${real.port}`,
          work,
          {
            ...env,
            DISTCC_VERBOSE: '1',
          },
        );
        assert.equal(link.code, 0, link.stderr);
        assert.equal((link.stderr.match(/exec on localhost/g) ?? []).length, 1, link.stderr);

        // Host down with fallback: the local gcc is the real one (a loop would hang or exit 111).
        const port = await freePort();
        const down = await runClient(
          'cc',
          ['-c', 'hello.c', '-o', 'masq2.o'],
          `127.0.0.1:${port}`,
          work,
          {
            ...env,
            DISTCC_FALLBACK: undefined,
          },
        );
        assert.equal(down.code, 0, down.stderr);
        assert.match(down.stderr, /running locally instead/);
      });

      test('explicit tsdistcc called from inside a compile is refused with 111, as distcc', async () => {
        const args = ['gcc', '-c', 'hello.c', '-o', 'rec.o'];
        const ours = await runOurs(args, `127.0.0.1:${real.port}`, work, {
          _DISTCC_SAFEGUARD: '1',
        });
        const theirs = await runDistcc(args, `127.0.0.1:${real.port}`, work, {
          _DISTCC_SAFEGUARD: '1',
        });
        assert.equal(theirs.code, 111);
        assert.equal(ours.code, 111);
      });

      test('implicit compiler: tsdistcc -c hello.c means cc', async () => {
        const run = await runOurs(
          ['-c', 'hello.c', '-o', 'implicit.o'],
          `127.0.0.1:${real.port}`,
          work,
          {
            DISTCC_VERBOSE: '1',
          },
        );
        assert.equal(run.code, 0, run.stderr);
        assert.match(
          run.stderr,
          /exec on 127\.0\.0\.1:\d+: x86_64-linux-gnu-gcc -c hello\.c -o implicit\.o/,
        );
      });
    });

    test('--help, --version, --show-hosts and -j', async () => {
      const help = await runOurs(['--help'], '', work);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /DISTCC_HOSTS/);
      const version = await runOurs(['--version'], '', work);
      assert.match(version.stdout, /^tsdistcc \d+\.\d+\.\d+/);
      const hosts = 'localhost/3 127.0.0.1:4000/5,lzo';
      const shown = await runOurs(['--show-hosts'], hosts, work);
      assert.equal(shown.stdout, (await runDistcc(['--show-hosts'], hosts, work)).stdout);
      const j = await runOurs(['-j'], hosts, work);
      assert.equal(j.stdout, '8\n');
      const none = await runOurs([], '', work);
      assert.equal(none.code, 101);
    });

    test('@host over DISTCC_SSH: the ssh command distcc runs, the object distcc gets', async () => {
      const sshLog = join(work, `ssh-${MODES.indexOf(mode)}.log`);
      const env = {
        DISTCC_SSH: join(FIXTURE_BIN, 'fake-ssh'),
        FAKE_SSH_LOG: sshLog,
      };
      const r = await bothClients(
        mode,
        (out) => ['gcc', '-c', 'hello.c', '-o', out],
        'builder@buildhost:/usr/bin/distccd',
        env,
      );
      assert.equal(r.theirs.code, 0, r.theirs.stderr);
      assert.equal(r.ours.code, 0, r.ours.stderr);
      assert.ok(readFileSync(join(work, r.oursOut)).equals(readFileSync(join(work, r.theirsOut))));
      const lines = readFileSync(sshLog, 'utf8').trim().split('\n');
      assert.equal(lines.length, 2);
      assert.equal(lines[0], lines[1], 'same ssh arguments as distcc');
      assert.equal(lines[0], '-l builder buildhost /usr/bin/distccd --inetd --enable-tcp-insecure');
    });

    test("Debian's distccmon-text shows a running tsdistcc job", async () => {
      const dir = freshDistccDir();
      const child = spawn(CLIENT_BIN, ['slow-cc', '-c', 'hello.c', '-o', 'slow.o'], {
        cwd: work,
        env: {
          ...process.env,
          ...mode.env,
          PATH: `${FIXTURE_BIN}:${process.env.PATH}`,
          DISTCC_HOSTS: `127.0.0.1:${ts.port}/3`,
          DISTCC_DIR: dir,
          DISTCC_FALLBACK: '0',
        },
        stdio: 'ignore',
      });
      const exited = new Promise<number | null>((r) => child.once('exit', r));
      let seen = '';
      await until(
        'distccmon-text shows the job in Compile',
        () => {
          seen = execFileSync('distccmon-text', {
            env: { ...process.env, DISTCC_DIR: dir },
          }).toString();
          return / Compile +hello\.c +127\.0\.0\.1\[0\]/.test(seen);
        },
        15_000,
      );
      const line = seen.split('\n')[0]!;
      assert.match(line, new RegExp(`^ *${child.pid}  Compile   `));
      assert.equal(await exited, 0);
      assert.deepEqual(readdirSync(join(dir, 'state')), [], 'state file removed at exit');
    });
  });
