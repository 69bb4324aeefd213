// Named instances from a conf dir, command line over DISTCC_ARGS, SIGHUP
// re-reading the file, systemd socket activation and readiness, journald
// priority prefixes. Needs: distcc (Debian), gcc, python3, systemd-socket-activate.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exchange, runDistcc } from '../helpers/client.js';
import { freePort, openTempDir } from '../helpers/daemon.js';
import { startReceiver } from '../helpers/dgram.js';
import { RSYSLOGD, startRsyslog } from '../helpers/rsyslog.js';
import { DAEMON_BIN } from '../helpers/paths.js';
import { localDaemonArgs, until } from '../helpers/wait.js';
import { parseReply, request } from '../helpers/wire.js';

const source = Buffer.from('# 1 "x.c"\nint answer(void) { return 42; }\n');

type Proc = { child: ChildProcess; stderr: () => string; exited: Promise<number | null> };

function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cmd = process.execPath,
  pre: string[] = [DAEMON_BIN],
): Proc {
  const child = spawn(cmd, [...pre, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, stderr: () => err, exited };
}

function read(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

async function stop(p: Proc): Promise<number | null> {
  if (p.child.exitCode === null) p.child.kill('SIGTERM');
  return p.exited;
}

test('two instances from one conf dir (systemd and OpenRC file names), each on its port with its own log and level', async () => {
  const conf = openTempDir('tsdistcc-conf-');
  const logs = openTempDir('tsdistcc-logs-');
  const [p1, p2] = [await freePort(), await freePort()];
  writeFileSync(
    join(conf, 'tsdistccd-native'),
    `# the native instance\nDISTCC_ARGS="--allow 127.0.0.1 --listen 127.0.0.1 --port ${p1} \\\n  --log-level info --log-file ${logs}/native.log"\n`,
  );
  writeFileSync(
    join(conf, 'tsdistccd.other'),
    `DISTCC_ARGS='--allow 127.0.0.1 --listen 127.0.0.1 --port ${p2} --log-level notice --log-file ${logs}/other.log'\n`,
  );
  const a = run(['--instance', 'native', '--conf-dir', conf, '--no-detach']);
  const b = run(['--instance', 'other', '--conf-dir', conf, '--no-detach']);
  try {
    await until(
      'both listen',
      () =>
        /listening on 127\.0\.0\.1:\d+/.test(read(`${logs}/native.log`)) &&
        /listening/.test(read(`${logs}/other.log`)),
    );
    const work = mkdtempSync(join(tmpdir(), 'tsdistcc-inst-'));
    writeFileSync(join(work, 'hello.c'), 'int main(void) { return 7; }\n');
    execFileSync('gcc', ['-O2', '-c', 'hello.c', '-o', 'local.o'], { cwd: work });
    for (const [port, out] of [
      [p1, 'one.o'],
      [p2, 'two.o'],
    ] as const) {
      const r = await runDistcc(
        ['gcc', '-O2', '-c', 'hello.c', '-o', out],
        `127.0.0.1:${port}`,
        work,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(readFileSync(join(work, out)), readFileSync(join(work, 'local.o')));
    }
    await until(
      'both logged their job',
      () =>
        /COMPILE_OK/.test(read(`${logs}/native.log`)) &&
        /COMPILE_OK/.test(read(`${logs}/other.log`)),
    );
    const native = read(`${logs}/native.log`);
    const other = read(`${logs}/other.log`);
    assert.match(native, /tsdistccd-native\[\d+\] notice: listening on 127\.0\.0\.1:/);
    assert.match(native, /tsdistccd-native\[\d+\] info: client: 127\.0\.0\.1:\d+ connected/);
    assert.match(other, /tsdistccd-other\[\d+\] notice: client: 127\.0\.0\.1:\d+ COMPILE_OK/);
    assert.doesNotMatch(other, / info: /, 'the notice-level instance logged info lines');
    assert.equal((native.match(/COMPILE_OK/g) ?? []).length, 1);
    assert.equal((other.match(/COMPILE_OK/g) ?? []).length, 1);
    assert.match(
      native,
      new RegExp(`listening on 127\\.0\\.0\\.1:${p1}, stats|listening on 127\\.0\\.0\\.1:${p1};`),
    );
  } finally {
    assert.equal(await stop(a), 0);
    assert.equal(await stop(b), 0);
  }
});

test('flags on the command line win over DISTCC_ARGS', async () => {
  const conf = openTempDir('tsdistcc-conf-');
  const filePort = await freePort();
  writeFileSync(
    join(conf, 'tsdistccd'),
    `DISTCC_ARGS="--allow 127.0.0.2 --port ${filePort} --log-level debug"\n`,
  );
  const p = run([
    '--conf-dir',
    conf,
    ...localDaemonArgs('0'),
    '--log-stderr',
    '--log-level',
    'notice',
  ]);
  try {
    await until('listening', () => /listening on 127\.0\.0\.1:(\d+)/.test(p.stderr()));
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(p.stderr())![1]);
    assert.notEqual(port, filePort);
    const r = parseReply(
      (await exchange(port, request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source)))
        .reply,
    );
    assert.equal(r.status, 0, 'the command line --allow 127.0.0.1 should replace the file list');
    assert.doesNotMatch(p.stderr(), / debug: /);
  } finally {
    await stop(p);
  }
});

test('a malformed env file or a bad option in it: exit 101 naming the file and the line', async () => {
  const conf = openTempDir('tsdistcc-conf-');
  writeFileSync(join(conf, 'tsdistccd-bad'), '# comment\nDISTCC_ARGS="--allow 127.0.0.1\n');
  const bad = run(['--instance', 'bad', '--conf-dir', conf, '--no-detach']);
  assert.equal(await bad.exited, 101);
  assert.match(bad.stderr(), new RegExp(`${conf}/tsdistccd-bad:2: .*(quote|")`));
  writeFileSync(
    join(conf, 'tsdistccd-opt'),
    '# comment\n\nDISTCC_ARGS="--allow 127.0.0.1 --jobs many"\n',
  );
  const opt = run(['--instance', 'opt', '--conf-dir', conf, '--no-detach']);
  assert.equal(await opt.exited, 101);
  assert.match(
    opt.stderr(),
    new RegExp(
      `${conf}/tsdistccd-opt:3: DISTCC_ARGS.*--jobs must be an integer 1 to 4096, got \`many\``,
    ),
  );
  const missing = run(['--instance', 'nope', '--conf-dir', conf, '--no-detach']);
  assert.equal(await missing.exited, 101);
  assert.match(missing.stderr(), /tsdistccd-nope or .*tsdistccd\.nope, found neither/);
});

test('SIGHUP re-reads the env file: a changed --allow and --log-level take effect; a new port needs a restart', async () => {
  const conf = openTempDir('tsdistcc-conf-');
  const logs = openTempDir('tsdistcc-logs-');
  const port = await freePort();
  const file = join(conf, 'tsdistccd-hup');
  const log = join(logs, 'hup.log');
  writeFileSync(
    file,
    `DISTCC_ARGS="--allow 127.0.0.2 --listen 127.0.0.1 --port ${port} --log-file ${log}"\n`,
  );
  const p = run(['--instance', 'hup', '--conf-dir', conf, '--no-detach']);
  try {
    await until('listening', () => /listening/.test(read(log)));
    const refused = await exchange(
      port,
      request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source),
    );
    assert.equal(refused.reply.length, 0);
    const other = await freePort();
    writeFileSync(
      file,
      `DISTCC_ARGS="--allow 127.0.0.1 --listen 127.0.0.1 --port ${other} --log-file ${log} --log-level info"\n`,
    );
    p.child.kill('SIGHUP');
    await until('reloaded', () => /SIGHUP: configuration re-read/.test(read(log)));
    assert.match(read(log), /changed: allow, logLevel/);
    assert.match(read(log), /need a restart and were not applied: port/);
    const served = parseReply(
      (await exchange(port, request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source)))
        .reply,
    );
    assert.equal(served.status, 0);
    await until('info now logged', () =>
      / info: client: 127\.0\.0\.1:\d+ connected/.test(read(log)),
    );
    writeFileSync(file, 'DISTCC_ARGS="--allow 127.0.0.1 --jobs none"\n');
    p.child.kill('SIGHUP');
    await until('bad reload refused', () =>
      /SIGHUP: keeping the old configuration: .*--jobs must be an integer/.test(read(log)),
    );
  } finally {
    assert.equal(await stop(p), 0);
  }
});

test('systemd-socket-activate hands tsdistccd its listening socket and a compile goes through', async () => {
  const port = await freePort();
  const p = run(
    [
      '-l',
      `127.0.0.1:${port}`,
      process.execPath,
      DAEMON_BIN,
      '--no-detach',
      '--log-stderr',
      '--allow',
      '127.0.0.1',
      // The same port: binding it would fail (EADDRINUSE, exit 102), so a
      // served job proves the passed socket was used.
      '--port',
      String(port),
    ],
    {},
    'systemd-socket-activate',
    [],
  );
  try {
    await until('the socket listens', () => /Listening on/.test(p.stderr()));
    // The socket listens before tsdistccd even starts: the job waits for it.
    const r = parseReply(
      (
        await exchange(
          port,
          request(2, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], Buffer.alloc(0)),
        )
      ).reply,
    );
    assert.equal(r.status, 0);
    await until('logged', () =>
      /listening on 127\.0\.0\.1:\d+ \(socket from systemd\)/.test(p.stderr()),
    );
    assert.match(
      p.stderr(),
      new RegExp(`listening on 127\\.0\\.0\\.1:${port} \\(socket from systemd\\)`),
    );
  } finally {
    await stop(p);
  }
});

test('NOTIFY_SOCKET gets READY=1 once the port accepts connections, STATUS, and STOPPING=1 on SIGTERM', async () => {
  const dir = openTempDir('tsdistcc-notify-');
  const receiver = await startReceiver(join(dir, 'notify.sock'));
  const port = await freePort();
  const p = run([...localDaemonArgs(String(port)), '--log-stderr'], {
    NOTIFY_SOCKET: join(dir, 'notify.sock'),
  });
  try {
    const ready = await receiver.waitFor((m) => m.includes('READY=1'));
    assert.match(ready, /STATUS=0 jobs running, 0 queued/);
    // Ready means ready: the port accepts now.
    await new Promise<void>((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve();
      });
      s.on('error', reject);
    });
    p.child.kill('SIGTERM');
    await receiver.waitFor((m) => m.includes('STOPPING=1'));
    assert.equal(await p.exited, 0);
  } finally {
    receiver.close();
    await stop(p);
  }
});

test('under systemd (JOURNAL_STREAM) stderr lines carry <N> priority prefixes', async () => {
  const p = run(
    ['--no-detach', '--log-stderr', '--listen', '127.0.0.1', '--port', '0', '--allow', '127.0.0.1'],
    {
      JOURNAL_STREAM: '8:1234',
    },
  );
  try {
    await until('listening', () => /listening/.test(p.stderr()));
    assert.match(p.stderr(), /^<5>\S+ tsdistccd\[\d+\] notice: listening on/m);
  } finally {
    await stop(p);
  }
});

test(
  'by default an instance logs to syslog: rsyslogd gets daemon-facility lines with the instance ident and each level',
  { skip: RSYSLOGD ? false : 'rsyslogd not installed (apt-get install rsyslog)' },
  async () => {
    const rsyslog = await startRsyslog();
    const conf = openTempDir('tsdistcc-conf-');
    writeFileSync(
      join(conf, 'tsdistccd-sys'),
      'DISTCC_ARGS="--allow 127.0.0.1 --listen 127.0.0.1 --port 0 --log-level info"\n',
    );
    const p = run([
      '--instance',
      'sys',
      '--conf-dir',
      conf,
      '--no-detach',
      '--syslog-socket',
      rsyslog.sock,
    ]);
    try {
      const listening = () => rsyslog.lines().find((l) => /listening on 127\.0\.0\.1:\d+/.test(l));
      await until('the listening line in syslog', () => listening() !== undefined);
      assert.match(listening()!, /^daemon\.notice tsdistccd-sys\[\d+\]: notice: listening on/);
      const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(listening()!)![1]);
      await exchange(port, request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source));
      await exchange(port, request(1, ['sh', '-c', 'x.c', '-o', 'x.o'], source));
      await until(
        'job lines in syslog',
        () =>
          rsyslog.lines().some((l) => /COMPILE_OK/.test(l)) &&
          rsyslog.lines().some((l) => /refused/.test(l)),
      );
      const lines = rsyslog.lines();
      assert.ok(
        lines.some((l) =>
          /^daemon\.info tsdistccd-sys\[\d+\]: info: client: 127\.0\.0\.1:\d+ connected/.test(l),
        ),
        lines.join('\n'),
      );
      assert.ok(
        lines.some((l) =>
          /^daemon\.notice tsdistccd-sys\[\d+\]: notice: client: .* COMPILE_OK/.test(l),
        ),
        lines.join('\n'),
      );
      assert.ok(
        lines.some((l) =>
          /^daemon\.warning tsdistccd-sys\[\d+\]: warning: client: .* refused: CRITICAL! sh not in/.test(
            l,
          ),
        ),
        lines.join('\n'),
      );
      assert.equal(p.stderr(), '', 'nothing should go to stderr when syslog works');
    } finally {
      await stop(p);
      await rsyslog.stop();
    }
  },
);

test('--log-rotate SIZE starts new files past the size and keeps --log-rotate-keep old ones', async () => {
  const logs = openTempDir('tsdistcc-roll-');
  const p = run([
    ...localDaemonArgs('0'),
    '--log-file',
    join(logs, 'roll'),
    '--log-rotate',
    '1k',
    '--log-rotate-keep',
    '2',
    '--log-level',
    'debug',
  ]);
  try {
    const current = () =>
      readdirSync(logs)
        .filter((f) => f.startsWith('roll'))
        .sort();
    await until('a log file', () =>
      current().some((f) => /listening on/.test(read(join(logs, f)))),
    );
    const port = Number(
      /listening on 127\.0\.0\.1:(\d+)/.exec(
        current()
          .map((f) => read(join(logs, f)))
          .join(''),
      )![1],
    );
    for (let i = 0; i < 12; i++) {
      await exchange(port, request(1, ['x86_64-linux-gnu-gcc', '-c', 'x.c', '-o', 'x.o'], source));
    }
    await until('rotated', () => current().length >= 2);
    // pino-roll removes the oldest file just after it rolls: let it.
    await until('old files pruned to --log-rotate-keep', () => current().length <= 3);
    const files = current();
    assert.ok(files.length <= 3, `kept too many: ${files.join(' ')}`);
    for (const f of files)
      assert.ok(statSync(join(logs, f)).size < 4096, `${f} grew past the limit`);
    assert.match(files.map((f) => read(join(logs, f))).join(''), /COMPILE_OK/);
  } finally {
    await stop(p);
  }
});

test('log lines written before SIGKILL are in the file (written synchronously)', async () => {
  const logs = openTempDir('tsdistcc-kill-');
  const log = join(logs, 'k.log');
  const p = run([...localDaemonArgs('0'), '--log-file', log]);
  await until('listening', () => /listening on/.test(read(log)));
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(read(log))![1]);
  // A refusal is logged before the connection is closed: the moment the
  // client sees the close, the lines must already be in the file.
  const { reply } = await exchange(port, request(1, ['sh', '-c', 'x.c', '-o', 'x.o'], source));
  assert.equal(reply.length, 0);
  p.child.kill('SIGKILL');
  await p.exited;
  assert.match(read(log), /refused: CRITICAL! sh not in .*\n.*OTHER exit:0 .* sh x\.c\n$/);
});

test('WATCHDOG_USEC set: the daemon pings WATCHDOG=1 at half the interval', async () => {
  const dir = openTempDir('tsdistcc-wd-');
  const receiver = await startReceiver(join(dir, 'notify.sock'));
  const p = run(
    ['--no-detach', '--log-stderr', '--listen', '127.0.0.1', '--port', '0', '--allow', '127.0.0.1'],
    {
      NOTIFY_SOCKET: join(dir, 'notify.sock'),
      WATCHDOG_USEC: '400000',
    },
  );
  try {
    await receiver.waitFor((m) => m.includes('READY=1'));
    const start = Date.now();
    await until(
      'three watchdog pings',
      () => receiver.messages.filter((m) => m === 'WATCHDOG=1').length >= 3,
    );
    assert.ok(Date.now() - start < 3000);
  } finally {
    receiver.close();
    await stop(p);
  }
});

test('--log-format json writes one pino JSON object a line, with distccd level names', async () => {
  const logs = openTempDir('tsdistcc-json-');
  const log = join(logs, 'j.log');
  const p = run([...localDaemonArgs('0'), '--log-file', log, '--log-format', 'json']);
  try {
    await until('listening', () => /listening on/.test(read(log)));
    const records = read(log)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: number; msg: string; name: string; pid: number });
    const listening = records.find((r) => r.msg.startsWith('listening on'));
    assert.ok(listening);
    assert.equal(listening.level, 35, 'notice is level 35');
    assert.equal(listening.name, 'tsdistccd');
    assert.equal(listening.pid, p.child.pid);
  } finally {
    await stop(p);
  }
});
