// A real rsyslogd listening on a private datagram socket and writing what it
// receives as `facility.severity program[pid]:message` lines to a file.

import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const RSYSLOGD = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd', '/usr/bin/rsyslogd'].find((p) =>
  existsSync(p),
);

export type Rsyslog = {
  sock: string;
  lines: () => string[];
  stop: () => Promise<void>;
};

export async function startRsyslog(): Promise<Rsyslog> {
  const dir = mkdtempSync(join(tmpdir(), 'tsdistcc-syslog-'));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'work'));
  const sock = join(dir, 'sub', 'log.sock');
  const out = join(dir, 'out.log');
  const conf = join(dir, 'rsyslog.conf');
  writeFileSync(
    conf,
    [
      `global(workDirectory="${dir}/work")`,
      'module(load="imuxsock" SysSock.Use="off")',
      `input(type="imuxsock" Socket="${sock}" CreatePath="on")`,
      'template(name="t" type="string" string="%syslogfacility-text%.%syslogseverity-text%' +
        ' %programname%[%procid%]:%msg%\\n")',
      `*.* action(type="omfile" file="${out}" template="t")`,
      '',
    ].join('\n'),
  );
  const daemon = spawn(RSYSLOGD!, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let diag = '';
  daemon.stdout.on('data', (d: Buffer) => (diag += d.toString()));
  daemon.stderr.on('data', (d: Buffer) => (diag += d.toString()));
  const exited = new Promise<void>((r) => daemon.on('exit', () => r()));
  const deadline = Date.now() + 10_000;
  while (!existsSync(sock)) {
    if (Date.now() > deadline) throw new Error(`rsyslogd made no socket: ${diag}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  // An unprivileged daemon (after --user) must be able to send to it.
  chmodSync(join(dir, 'sub'), 0o755);
  chmodSync(sock, 0o666);
  return {
    sock,
    lines: () =>
      (existsSync(out) ? readFileSync(out, 'utf8') : '').split('\n').filter((l) => l !== ''),
    stop: async () => {
      daemon.kill('SIGTERM');
      const timer = setTimeout(() => daemon.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
