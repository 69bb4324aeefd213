import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatagramSender } from '../../src/system/datagram.js';

// A datagram receiver independent of the code under test: Python's socket
// module bound to a path (or `@name`), printing each datagram as a hex line.
// With `hold`, it binds but never reads.
const RECEIVER = String.raw`
import socket, sys, time
name, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\0' + name[1:] if name.startswith('@') else name)
print('READY', flush=True)
while mode == 'hold': time.sleep(60)
while True: print(s.recv(1 << 17).hex(), flush=True)
`;

type Receiver = { next: (timeoutMs?: number) => Promise<Buffer>; stop: () => void };

function startReceiver(name: string, mode = 'read'): Promise<Receiver> {
  const child: ChildProcess = spawn('/usr/bin/python3', ['-c', RECEIVER, name, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    wake?.();
  });
  const nextLine = async (timeoutMs = 5000): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    while (lines.length === 0) {
      if (Date.now() > deadline) throw new Error(`nothing received on ${name}`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
    return lines.shift()!;
  };
  return nextLine().then((ready) => {
    assert.equal(ready, 'READY');
    return {
      next: async (timeoutMs) => Buffer.from(await nextLine(timeoutMs), 'hex'),
      stop: () => void child.kill('SIGKILL'),
    };
  });
}

const dir = mkdtempSync(join(tmpdir(), 'tsdistcc-dgram-'));
const abstract = (tag: string) => `@tsdistcc-test-${process.pid}-${tag}`;

test('records arrive as exact datagrams, in order', async () => {
  const path = join(dir, 'exact.sock');
  const rx = await startReceiver(path);
  const errors: string[] = [];
  const sender = new DatagramSender((m) => errors.push(m));
  const payloads = [
    Buffer.from('first'),
    Buffer.from('two\nlines\n'),
    Buffer.from('UTF-8: grüße, 日本語, 🚀'),
    Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 13, 0, 0x80]),
    Buffer.alloc(0),
    Buffer.alloc(6000, 'x'),
  ];
  sender.send(path, 'first');
  sender.send(path, 'two\nlines\n');
  sender.send(path, 'UTF-8: grüße, 日本語, 🚀');
  for (const p of payloads.slice(3)) sender.send(path, p);
  for (const p of payloads) assert.deepEqual(await rx.next(), p);
  await sender.close();
  rx.stop();
  assert.deepEqual(errors, []);
});

test('an abstract name (@name) reaches the abstract namespace', async () => {
  const name = abstract('abs');
  const rx = await startReceiver(name);
  const sender = new DatagramSender((m) => assert.fail(m));
  sender.send(name, 'to the abstract socket');
  assert.equal((await rx.next()).toString(), 'to the abstract socket');
  await sender.close();
  rx.stop();
});

test('a missing destination is reported, and sends work once it exists', async () => {
  const path = join(dir, 'later.sock');
  const errors: string[] = [];
  const sender = new DatagramSender((m) => errors.push(m));
  sender.send(path, 'lost');
  const deadline = Date.now() + 5000;
  while (errors.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /later\.sock: No such file or directory/);
  const rx = await startReceiver(path);
  sender.send(path, 'found');
  assert.equal((await rx.next()).toString(), 'found');
  await sender.close();
  rx.stop();
  assert.equal(errors.length, 1);
});

test('close() flushes every record sent before it', async () => {
  const name = abstract('flush');
  const rx = await startReceiver(name);
  const sender = new DatagramSender((m) => assert.fail(m));
  for (let i = 0; i < 200; i++) sender.send(name, `record ${i}`);
  await sender.close();
  for (let i = 0; i < 200; i++) assert.equal((await rx.next()).toString(), `record ${i}`);
  // A send after close() starts a new helper.
  sender.send(name, 'again');
  assert.equal((await rx.next()).toString(), 'again');
  await sender.close();
  rx.stop();
});

test('a receiver that stops reading costs a short retry, then drops with a report', async () => {
  const path = join(dir, 'hold.sock');
  const rx = await startReceiver(path, 'hold');
  const errors: string[] = [];
  const sender = new DatagramSender((m) => errors.push(m));
  for (let i = 0; i < 100; i++) sender.send(path, `record ${i}`);
  const started = Date.now();
  await sender.close();
  assert.ok(Date.now() - started < 3000, 'close() took too long');
  assert.ok(errors.length >= 1 && errors.length <= 3, errors.join('\n'));
  assert.match(errors[0]!, /hold\.sock: Resource temporarily unavailable; dropped/);
  rx.stop();
});

test('without perl, the first send reports once and the rest are dropped', async () => {
  const errors: string[] = [];
  const sender = new DatagramSender((m) => errors.push(m));
  const path = process.env.PATH;
  process.env.PATH = join(dir, 'no-such-bin');
  try {
    sender.send('@nowhere', 'a');
  } finally {
    process.env.PATH = path;
  }
  await sender.close();
  sender.send('@nowhere', 'b');
  await sender.close();
  assert.equal(errors.length, 1, errors.join('\n'));
  assert.match(errors[0]!, /perl not found/);
});

test('the helper does not keep the event loop alive', async () => {
  const url = new URL('../../src/system/datagram.js', import.meta.url).href;
  const script = `import { DatagramSender } from ${JSON.stringify(url)};
    new DatagramSender(() => {}).send(${JSON.stringify(abstract('idle'))}, 'x');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('node did not exit while the helper was running'));
    }, 5000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 0);
});
