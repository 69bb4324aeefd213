// One description of how the instance runs a program (compiler/confinement.ts):
// what the launcher gets for each sandbox, and the command the zeroconf
// probe builds from the same description. The last tests run one program
// both ways, as a launcher job and by the probe's command line, and compare
// what it sees of itself: its personality (`uname -m`) and its account.
// Needs: perl; root (to run as nobody and to enter a chroot); bubblewrap for
// the bwrap cases. Cases this machine cannot run skip with the reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  confinedCommand,
  confinementFor,
  PERSONALITY,
  type HowToRun,
} from '../../src/compiler/confinement.js';
import { findOnPath } from '../../src/compiler/environment.js';
import { chooseRunner, type Runner, type SandboxMode } from '../../src/compiler/runner.js';
import { makeSandbox, sandboxPrefix, sandboxPrefixWithoutJob } from '../../src/compiler/sandbox.js';
import { outputOf } from '../../src/system/spawn.js';
import { openTempDir } from '../helpers/daemon.js';

const NOBODY = { uid: 65534, gid: 65534 };
const HIDE = ['/tmp', '/run'];
const BWRAP = makeSandbox('/usr/bin/bwrap', '/srv/root', HIDE);
const tool = (name: string) =>
  findOnPath(name, `${process.env.PATH ?? ''}:/usr/sbin:/usr/bin:/sbin:/bin`) ?? name;

test('--personality values are personality(2)’s (linux/personality.h)', () => {
  assert.deepEqual(PERSONALITY, { native: undefined, linux32: 0x0008, linux64: 0x0000 });
});

test('what the launcher gets, for each sandbox', () => {
  const base = {
    personality: 'linux32',
    hide: HIDE,
    chroot: '/srv/root',
    account: NOBODY,
  } as const;
  // Its own namespaces: it enters the root itself, started as the account.
  assert.deepEqual(confinementFor({ ...base, kind: 'namespaces' }), {
    confinement: { personality: 8, root: '/srv/root', sandbox: { hide: HIDE } },
    as: NOBODY,
  });
  // bubblewrap enters the root; the launcher only sets the personality.
  assert.deepEqual(confinementFor({ ...base, kind: 'bwrap', bwrap: BWRAP }), {
    confinement: { personality: 8 },
    as: NOBODY,
    bwrap: BWRAP,
  });
  // No sandbox, a root: the launcher stays root and switches in each compiler.
  assert.deepEqual(confinementFor({ ...base, kind: 'none' }), {
    confinement: { personality: 8, root: '/srv/root', uid: 65534, gid: 65534 },
  });
  // No sandbox, no root: started as the account; native sets no personality.
  assert.deepEqual(
    confinementFor({ kind: 'none', personality: 'native', hide: HIDE, account: NOBODY }),
    { confinement: {}, as: NOBODY },
  );
  assert.deepEqual(confinementFor({ kind: 'none', personality: 'linux64', hide: HIDE }), {
    confinement: { personality: 0 },
  });
});

test('the probe’s command: setarch, then the sandbox or chroot(8), as the account', () => {
  const cc = ['cc', '-dumpmachine'];
  assert.deepEqual(confinedCommand({ confinement: {} }, cc), { argv: cc });
  assert.deepEqual(confinedCommand({ confinement: { personality: 0 }, as: NOBODY }, cc), {
    argv: [tool('setarch'), 'linux64', ...cc],
    ...NOBODY,
  });
  // chroot(8) switches to the account itself: it is started as the daemon.
  const rootLauncher: HowToRun = {
    confinement: { personality: 8, root: '/srv/root', uid: 65534, gid: 65534 },
  };
  assert.deepEqual(confinedCommand(rootLauncher, cc), {
    argv: [
      tool('setarch'),
      'linux32',
      tool('chroot'),
      '--userspec=65534:65534',
      '/srv/root',
      ...cc,
    ],
  });
  const namespaces: HowToRun = {
    confinement: { root: '/srv/root', sandbox: { hide: HIDE } },
    as: NOBODY,
  };
  assert.deepEqual(confinedCommand(namespaces, cc), {
    argv: [tool('chroot'), '--userspec=65534:65534', '/srv/root', ...cc],
  });
  assert.deepEqual(confinedCommand({ confinement: { root: '/srv/root' } }, cc), {
    argv: [tool('chroot'), '/srv/root', ...cc],
  });
  // bubblewrap's sandbox holds the root; bwrap is started as the account.
  assert.deepEqual(
    confinedCommand({ confinement: { personality: 8 }, as: NOBODY, bwrap: BWRAP }, cc),
    {
      argv: [tool('setarch'), 'linux32', ...sandboxPrefixWithoutJob(BWRAP), ...cc],
      ...NOBODY,
    },
  );
});

const SEEN = 'uname -m; id -u; id -g';
const env = { PATH: '/usr/bin:/bin' };

/** What SEEN prints as a job of the runner's launcher (bwrap's prefix as run.ts gives it). */
async function asJob(runner: Runner, tmp: string, chroot: string | undefined): Promise<string> {
  const host = mkdtempSync(join(tmp, 'tsdistccd_'));
  if (runner.as ?? runner.confinement.uid !== undefined) chownSync(host, NOBODY.uid, NOBODY.gid);
  const guest = chroot !== undefined ? host.slice(chroot.replace(/\/+$/, '').length) : host;
  const argv = ['sh', '-c', SEEN];
  const started = runner.bwrap
    ? runner.launcher!.start([...sandboxPrefix(runner.bwrap, host, guest), ...argv], host)
    : runner.launcher!.start(argv, guest);
  const exit = await started.status;
  assert.equal(exit?.status, 0, readFileSync(join(host, 'stderr'), 'utf8'));
  return readFileSync(join(host, 'stdout'), 'utf8');
}

for (const sandbox of ['none', 'namespaces', 'bwrap'] as const satisfies SandboxMode[]) {
  for (const chroot of [undefined, '/']) {
    test(`--sandbox ${sandbox}${chroot ? ` --chroot ${chroot}` : ''} --personality linux32: the probe’s command runs a program as a launcher job does`, async (t) => {
      if (process.getuid?.() !== 0) return t.skip('needs root (to run as nobody)');
      if (findOnPath('perl', env.PATH) === undefined) return t.skip('needs perl');
      if (process.arch !== 'x64') return t.skip('linux32 is i686 on x86_64 only');
      const tmp = openTempDir('tsdistcc-confinement-');
      t.after(() => rmSync(tmp, { recursive: true, force: true }));
      const errors: string[] = [];
      let runner: Runner;
      try {
        runner = await chooseRunner({
          sandbox,
          ...(chroot !== undefined ? { chroot } : {}),
          personality: 'linux32',
          tmpdir: tmp,
          useLauncher: true,
          account: NOBODY,
          env,
          hostPath: env.PATH,
          onError: (m) => errors.push(m),
          onWarning: () => {},
        });
      } catch (err) {
        return t.skip(`cannot run here: ${(err as Error).message}`);
      }
      t.after(() => runner.launcher?.kill());
      assert.equal(runner.kind, sandbox);
      const job = await asJob(runner, tmp, chroot);
      const { argv, uid, gid } = confinedCommand(runner, ['sh', '-c', SEEN]);
      const probed = await outputOf(argv, {
        env,
        timeout: 10_000,
        ...(uid !== undefined ? { uid } : {}),
        ...(gid !== undefined ? { gid } : {}),
      });
      assert.equal(job, 'i686\n65534\n65534\n', errors.join('\n'));
      assert.equal(probed, job, argv.join(' '));
    });
  }
}
