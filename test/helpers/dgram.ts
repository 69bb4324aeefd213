// A datagram receiver on a Unix socket path, in Python (Node has none):
// each datagram arrives as one JSON string line on the child's stdout.

import { spawn, type ChildProcess } from 'node:child_process';

const RECEIVER = `
import json, os, socket, sys
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)  # the daemon may have dropped to an unprivileged user
print(json.dumps("__ready__"), flush=True)
while True:
    data = s.recv(65536)
    print(json.dumps(data.decode("utf-8", "replace")), flush=True)
`;

export type Receiver = {
  messages: string[];
  waitFor: (pred: (m: string) => boolean, timeoutMs?: number) => Promise<string>;
  close: () => void;
  child: ChildProcess;
};

export async function startReceiver(path: string): Promise<Receiver> {
  const child = spawn('/usr/bin/python3', ['-c', RECEIVER, path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const messages: string[] = [];
  const waiters: { pred: (m: string) => boolean; resolve: (m: string) => void }[] = [];
  let buf = '';
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const m = JSON.parse(buf.slice(0, nl)) as string;
      buf = buf.slice(nl + 1);
      if (m === '__ready__') {
        ready();
        continue;
      }
      messages.push(m);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(m)) {
          waiters[i]!.resolve(m);
          waiters.splice(i, 1);
        }
      }
    }
  });
  await readyP;
  return {
    messages,
    child,
    waitFor: (pred, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const found = messages.find(pred);
        if (found !== undefined) return resolve(found);
        const timer = setTimeout(
          () => reject(new Error(`no matching datagram; got ${JSON.stringify(messages)}`)),
          timeoutMs,
        );
        waiters.push({
          pred,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      }),
    close: () => child.kill(),
  };
}
