import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatagramSender } from '../../src/system/datagram.js';
import {
  createNotifier,
  formatNotify,
  notifySocket,
  watchdogIntervalMs,
} from '../../src/system/sd-notify.js';

// Stands in for systemd's notify socket: Python binds a datagram socket (a
// path or `@name`) and prints each datagram as JSON on a line of its own.
const RECEIVER = String.raw`
import json, socket, sys
name = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\0' + name[1:] if name.startswith('@') else name)
print('"READY"', flush=True)
while True: print(json.dumps(s.recv(65536).decode()), flush=True)
`;

async function startReceiver(name: string) {
  const child = spawn('/usr/bin/python3', ['-c', RECEIVER, name], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const got: string[] = [];
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) got.push(JSON.parse(l) as string);
  });
  const waitFor = async (count: number, timeoutMs = 5000): Promise<string[]> => {
    const deadline = Date.now() + timeoutMs;
    while (got.length < count) {
      if (Date.now() > deadline) throw new Error(`only got ${JSON.stringify(got)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return got;
  };
  assert.equal((await waitFor(1)).shift(), 'READY');
  return { got, waitFor, stop: () => void child.kill('SIGKILL') };
}

class SpySender extends DatagramSender {
  readonly sent: [string, string | Buffer][] = [];
  constructor() {
    super(() => {});
  }
  override send(dest: string, payload: string | Buffer): void {
    this.sent.push([dest, payload]);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tsdistcc-notify-'));

test('without NOTIFY_SOCKET nothing is sent', async () => {
  const spy = new SpySender();
  const n = createNotifier({ WATCHDOG_USEC: '1000' }, spy);
  assert.equal(n.enabled, false);
  n.notify({ READY: '1' });
  n.startWatchdog();
  await new Promise((r) => setTimeout(r, 50));
  await n.stop();
  assert.deepEqual(spy.sent, []);
  assert.equal(notifySocket({ NOTIFY_SOCKET: 'vsock:2:1234' }), undefined);
  assert.equal(notifySocket({ NOTIFY_SOCKET: '@' }), undefined);
});

test('READY=1 and STATUS arrive as one datagram', async () => {
  const path = join(dir, 'notify.sock');
  const rx = await startReceiver(path);
  const sender = new DatagramSender((m) => assert.fail(m));
  const n = createNotifier({ NOTIFY_SOCKET: path }, sender);
  assert.equal(n.enabled, true);
  assert.equal(n.watchdogIntervalMs, undefined);
  n.notify({ READY: '1', STATUS: 'Accepting jobs on 127.0.0.1:3632' });
  assert.deepEqual(await rx.waitFor(1), ['READY=1\nSTATUS=Accepting jobs on 127.0.0.1:3632']);
  await n.stop();
  await sender.close();
  rx.stop();
});

test('an abstract NOTIFY_SOCKET and a sender of its own', async () => {
  const name = `@tsdistcc-notify-${process.pid}`;
  const rx = await startReceiver(name);
  const n = createNotifier({ NOTIFY_SOCKET: name }, undefined, (m) => assert.fail(m));
  n.notify({ STATUS: 'two\nlines' });
  n.notify({ STOPPING: '1' });
  await n.stop();
  assert.deepEqual(await rx.waitFor(2), ['STATUS=two lines', 'STOPPING=1']);
  rx.stop();
});

test('WATCHDOG_USEC=200000 gives WATCHDOG=1 every 100 ms', async () => {
  const path = join(dir, 'watchdog.sock');
  const rx = await startReceiver(path);
  const n = createNotifier({ NOTIFY_SOCKET: path, WATCHDOG_USEC: '200000' });
  assert.equal(n.watchdogIntervalMs, 100);
  const started = Date.now();
  n.startWatchdog();
  n.startWatchdog(); // a second start is a no-op
  const got = await rx.waitFor(4, 3000);
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 250, `4 pings after only ${elapsed} ms`);
  await n.stop();
  assert.ok(
    got.every((m) => m === 'WATCHDOG=1'),
    JSON.stringify(got),
  );
  const count = got.length;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(got.length, count, 'pings continued after stop()');
  rx.stop();
});

test('WATCHDOG_PID decides whose watchdog it is', () => {
  const env = { NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '3000000' };
  assert.equal(watchdogIntervalMs(env), 1500);
  assert.equal(watchdogIntervalMs({ ...env, WATCHDOG_PID: String(process.pid) }), 1500);
  assert.equal(watchdogIntervalMs({ ...env, WATCHDOG_PID: '1' }), undefined);
  assert.equal(watchdogIntervalMs({ ...env, WATCHDOG_USEC: '0' }), undefined);
  assert.equal(watchdogIntervalMs({ ...env, WATCHDOG_USEC: 'soon' }), undefined);
  assert.equal(createNotifier({ ...env, WATCHDOG_PID: '1' }).watchdogIntervalMs, undefined);
});

test('formatNotify joins KEY=VALUE lines and rejects bad keys', () => {
  assert.equal(formatNotify({ READY: '1', STATUS: 'ok' }), 'READY=1\nSTATUS=ok');
  assert.equal(formatNotify({ STATUS: 'a\r\nb' }), 'STATUS=a  b');
  assert.throws(() => formatNotify({ 'BAD=KEY': '1' }), TypeError);
});
