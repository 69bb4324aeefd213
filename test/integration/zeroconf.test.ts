// tsdistccd --zeroconf and the client's +zeroconf against a real dbus-daemon
// and avahi-daemon, started by this test in a network namespace it makes
// (`ip netns`), with only lo and a veth pair whose both ends are inside it:
// no mDNS packet leaves the namespace. The bus is private too: a
// system-bus-like dbus-daemon on a socket in a temp dir (DBUS_SYSTEM_BUS_ADDRESS),
// never /run/dbus. Needs: root, iproute2, dbus-daemon, avahi-daemon,
// avahi-browse (avahi-utils), gcc; the i686 case also the i386 test root.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  freshDistccDir,
  openTempDir,
  startTsdistccd,
  type RunningDaemon,
} from '../helpers/daemon.js';
import { stopAgents } from '../helpers/agents.js';
import { CLIENT_BIN } from '../helpers/paths.js';
import { ROOT_DIR, ensureRoot } from '../helpers/root.js';
import { until } from '../helpers/wait.js';
import { VERSION } from '../../src/version.js';

const run = promisify(execFile);
const tag = String(process.pid % 100000);
const NS = `tsdzc${tag}`;
const ADDR = '10.231.0.1';
const NATIVE = {
  machine: execFileSync('gcc', ['-dumpmachine'], { encoding: 'utf8' }).trim(),
  version: execFileSync('gcc', ['-dumpversion'], { encoding: 'utf8' }).trim(),
};
const subtype = (m: string, v: string) =>
  `_${m.replace(/[^a-z0-9]/g, '-')}--${v.replace(/[^a-z0-9]/g, '-')}._sub._distcc._tcp`;

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces';
  for (const bin of ['/usr/bin/dbus-daemon', '/usr/sbin/avahi-daemon', '/usr/bin/avahi-browse']) {
    if (!existsSync(bin))
      return `${bin} is not installed (apt-get install dbus avahi-daemon avahi-utils)`;
  }
  return undefined;
}
const skip = missing();

let dir: string;
let busAddress: string;
let dbus: ChildProcess | undefined;
let avahi: ChildProcess | undefined;
let avahiLog = '';
const daemons: RunningDaemon[] = [];

const nsEnv = () => ({ ...process.env, DBUS_SYSTEM_BUS_ADDRESS: busAddress });
const inNs = ['ip', 'netns', 'exec', NS];

function startAvahi(): ChildProcess {
  avahiLog = '';
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      NS,
      'avahi-daemon',
      '--no-drop-root',
      '--no-chroot',
      '--no-rlimits',
      '-f',
      join(dir, 'avahi.conf'),
    ],
    { env: nsEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (avahiLog += d));
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (avahiLog += d));
  return child;
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

type Seen = { name: string; type: string; address: string; port: number; txt: string[] };

/** What Avahi resolves for `type`, via avahi-browse -rpt (parsable, terminate). */
async function browse(type: string): Promise<Seen[]> {
  const { stdout } = await run('ip', [...inNs.slice(1), 'avahi-browse', '-rptk', type], {
    env: nsEnv(),
  });
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('='))
    .map((l) => {
      const f = l.split(';');
      return {
        name: f[3]!.replace(/\\(\d{3})/g, (_, d: string) => String.fromCharCode(Number(d))),
        type: f[4]!,
        address: f[7]!,
        port: Number(f[8]),
        txt: [
          ...f
            .slice(9)
            .join(';')
            .matchAll(/"([^"]*)"/g),
        ].map((m) => m[1]!),
      };
    });
}

async function waitSeen(type: string, port: number, present = true): Promise<Seen | undefined> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const hit = (await browse(type)).find((s) => s.port === port);
    if (present ? hit : !hit) return hit;
    if (Date.now() > deadline) {
      throw new Error(
        `${type} port ${port} ${present ? 'never appeared' : 'never went away'}; avahi:\n${avahiLog}`,
      );
    }
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function zeroconfDaemon(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunningDaemon> {
  const d = await startTsdistccd(
    [
      '--listen',
      ADDR,
      '--allow',
      '10.0.0.0/8',
      '--whitelist-path',
      '--log-level',
      'info',
      '--zeroconf',
      ...args,
    ],
    { DBUS_SYSTEM_BUS_ADDRESS: busAddress, ...env },
    inNs,
  );
  daemons.push(d);
  return d;
}

before(async () => {
  if (skip) return;
  dir = openTempDir('tsdistcc-zeroconf-');
  busAddress = `unix:path=${dir}/system_bus_socket`;
  const ip = (...a: string[]) => execFileSync('ip', a, { stdio: 'pipe' });
  ip('netns', 'add', NS);
  ip('-n', NS, 'link', 'set', 'lo', 'up');
  ip('-n', NS, 'link', 'add', 'zc0', 'type', 'veth', 'peer', 'name', 'zc1');
  ip('-n', NS, 'link', 'set', 'zc0', 'multicast', 'on');
  ip('-n', NS, 'addr', 'add', `${ADDR}/24`, 'dev', 'zc0');
  ip('-n', NS, 'link', 'set', 'zc0', 'up');
  ip('-n', NS, 'link', 'set', 'zc1', 'up');
  writeFileSync(
    join(dir, 'bus.conf'),
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>${busAddress}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`,
  );
  writeFileSync(
    join(dir, 'avahi.conf'),
    `[server]
host-name=tsdzc${tag}
domain-name=local
use-ipv4=yes
use-ipv6=no
allow-interfaces=zc0
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
publish-aaaa-on-ipv4=no
publish-a-on-ipv6=no
`,
  );
  dbus = spawn(
    'ip',
    [
      ...inNs.slice(1),
      'dbus-daemon',
      `--config-file=${join(dir, 'bus.conf')}`,
      '--nofork',
      '--nopidfile',
    ],
    {
      stdio: 'ignore',
    },
  );
  await until('the test bus socket', () => existsSync(`${dir}/system_bus_socket`));
  avahi = startAvahi();
  await until('avahi-daemon to start', () => /Server startup complete/.test(avahiLog), 15_000);
});

after(async () => {
  if (skip) return;
  await Promise.all(daemons.map((d) => d.stop().catch(() => null)));
  await stopChild(avahi);
  await stopChild(dbus);
  try {
    execFileSync('ip', ['netns', 'del', NS], { stdio: 'pipe' });
  } catch {
    /* already gone */
  }
  rmSync(dir, { recursive: true, force: true });
});

let native: RunningDaemon;
let nativeName = '';

test(
  'a native instance is advertised with its port, distcc TXT records and compiler subtype',
  { skip },
  async () => {
    native = await zeroconfDaemon(['--jobs', '3']);
    nativeName = (await native.waitForLog(/advertised as "([^"]+)"/, 15_000))[1]!;
    const seen = await waitSeen('_distcc._tcp', native.port);
    assert.ok(seen);
    assert.equal(seen.type, '_distcc._tcp');
    assert.equal(seen.name, nativeName);
    assert.match(nativeName, /^distcc@/);
    assert.equal(seen.address, ADDR);
    assert.deepEqual(
      [...seen.txt].sort(),
      [
        'txtvers=1',
        `cpus=${availableParallelism()}`,
        'jobs=3',
        `distcc=${VERSION}`,
        `gnuhost=${process.arch === 'x64' ? 'x86_64' : process.arch}-pc-linux-gnu`,
        `cc_version=${NATIVE.version}`,
        `cc_machine=${NATIVE.machine}`,
      ].sort(),
    );
    // The subtype a client of this compiler browses finds it.
    const bySubtype = await waitSeen(subtype(NATIVE.machine, NATIVE.version), native.port);
    assert.equal(bySubtype?.name, nativeName);
  },
);

test(
  'the i686 chroot instance (a real i386 root) advertises its own port and the chroot compiler, renamed on collision',
  { skip },
  async (t) => {
    const why = ensureRoot();
    if (why) {
      t.skip(why);
      return;
    }
    // The root's own gcc is the i386 one: it answers i686-linux-gnu.
    const rootVersion = execFileSync('chroot', [ROOT_DIR, 'gcc', '-dumpversion'], {
      encoding: 'utf8',
    }).trim();
    const i686 = await zeroconfDaemon([
      '--jobs',
      '2',
      '--chroot',
      ROOT_DIR,
      '--personality',
      'linux32',
    ]);
    const name = (await i686.waitForLog(/advertised as "([^"]+)"/, 15_000))[1]!;
    // Same host, same distcc@HOST name: Avahi's alternative name.
    assert.notEqual(name, nativeName);
    assert.match(i686.log(), /is taken on this host; renamed to/);
    const stype = subtype('i686-linux-gnu', rootVersion);
    const seen = await waitSeen(stype, i686.port);
    assert.equal(seen?.name, name);
    assert.ok(seen.txt.includes('cc_machine=i686-linux-gnu'), seen.txt.join(' '));
    assert.ok(seen.txt.includes(`cc_version=${rootVersion}`));
    assert.ok(seen.txt.includes('jobs=2'));
    assert.notEqual(i686.port, native.port);
    // A 64-bit client's subtype does not list it.
    const x64 = await browse(subtype(NATIVE.machine, NATIVE.version));
    assert.ok(!x64.some((s) => s.port === i686.port));
    await i686.stop();
    await waitSeen(stype, i686.port, false);
  },
);

test(
  'killing and restarting avahi-daemon gets the instance registered again',
  { skip },
  async () => {
    avahi!.kill('SIGKILL');
    await new Promise((r) => avahi!.once('exit', r));
    rmSync('/run/avahi-daemon/pid', { force: true });
    const before = (native.log().match(/advertised as/g) ?? []).length;
    avahi = startAvahi();
    await native.waitForLog(new RegExp(`(?:advertised as[^]*){${before + 1}}`), 20_000);
    const seen = await waitSeen('_distcc._tcp', native.port);
    assert.equal(seen?.name, nativeName);
  },
);

test(
  '+zeroconf writes the hosts file distcc would and compiles on the advertised daemon',
  { skip },
  async (t) => {
    const distccDir = freshDistccDir();
    const work = openTempDir('tsdistcc-zeroconf-work-');
    // The client's agent lives in `work` and is stopped with the test.
    t.after(() => stopAgents(work));
    writeFileSync(join(work, 'hello.c'), 'int hello(void) { return 42; }\n');
    const env = {
      ...nsEnv(),
      XDG_RUNTIME_DIR: work,
      DISTCC_DIR: distccDir,
      DISTCC_HOSTS: '+zeroconf',
      DISTCC_VERBOSE: '1',
    };
    const before = (native.log().match(/COMPILE_OK/g) ?? []).length;
    const r = await run(
      'ip',
      [...inNs.slice(1), CLIENT_BIN, 'gcc', '-c', 'hello.c', '-o', 'hello.o'],
      {
        cwd: work,
        env,
      },
    );
    assert.ok(existsSync(join(work, 'hello.o')), r.stderr);
    await native.waitForLog(new RegExp(`(?:COMPILE_OK[^]*){${before + 1}}`));
    // What Avahi reports for this compiler's subtype, in distcc's write_hosts() format.
    const stype = subtype(NATIVE.machine, NATIVE.version);
    const seen = await browse(stype);
    const jobs = (s: Seen) => s.txt.find((t) => t.startsWith('jobs='))!.slice(5);
    const expected = seen.map((s) => `${s.address}:${s.port}/${jobs(s)}\n`).join('');
    assert.equal(expected, `${ADDR}:${native.port}/3\n`);
    assert.equal(
      readFileSync(join(distccDir, 'zeroconf', 'hosts'), 'utf8'),
      `# tsdistcc +zeroconf: ${stype}\n${expected}`,
    );
    rmSync(work, { recursive: true, force: true });
    rmSync(distccDir, { recursive: true, force: true });
  },
);

test('stopping the daemon withdraws the service', { skip }, async () => {
  const port = native.port;
  await native.stop();
  await native.waitForLog(/withdrawn/).catch(() => undefined);
  assert.match(native.log(), /zeroconf: "[^"]+" withdrawn/);
  assert.equal(await waitSeen('_distcc._tcp', port, false), undefined);
});

test('without a system bus the daemon warns once and serves anyway', async () => {
  const d = await startTsdistccd(['--allow', '127.0.0.1', '--zeroconf', '--whitelist-path'], {
    DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent/tsdistcc-test-bus',
  });
  try {
    await d.waitForLog(
      /warning: zeroconf: no D-Bus system bus at unix:path=\/nonexistent\/tsdistcc-test-bus/,
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((d.log().match(/warning: zeroconf/g) ?? []).length, 1);
    assert.equal(d.child.exitCode, null);
  } finally {
    await d.stop();
  }
});
