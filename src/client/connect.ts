// Opening a connection to a server (distcc src/clinet.c, src/ssh.c): TCP
// with distcc's 4 s connect timeout, or `$DISTCC_SSH [-l USER] HOST COMMAND
// --inetd --enable-tcp-insecure` (default `ssh`, `distccd`) with its stdin
// and stdout as the stream.

import { connect as tcpConnect, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { ExitCode, TsdistccError } from '../errors.js';
import { startProcess } from '../system/spawn.js';
import type { HostDef } from './hosts.js';

export const CONNECT_TIMEOUT_MS = 4000;

export type Connection = {
  input: Readable;
  output: Writable;
  close: () => void;
  /** Set once the peer ended or failed: where to look for the reason. */
  describe: string;
};

export function connectTcp(host: string, port: number): Promise<Connection> {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise((resolve, reject) => {
    const socket: Socket = tcpConnect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TsdistccError(`timeout while connecting to ${where}`, ExitCode.TIMEOUT));
    }, CONNECT_TIMEOUT_MS);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(
        new TsdistccError(
          `nonblocking connect to ${where} failed: ${describeError(err)}`,
          ExitCode.CONNECT_FAILED,
          { cause: err },
        ),
      );
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve({ input: socket, output: socket, close: () => socket.destroy(), describe: where });
    });
  });
}

function describeError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'Connection refused';
    case 'EHOSTUNREACH':
      return 'No route to host';
    case 'ENETUNREACH':
      return 'Network is unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'Unknown host';
    default:
      return err.message;
  }
}

/** The ssh command line distcc runs (src/ssh.c dcc_ssh_connect). */
export function sshCommand(
  host: Extract<HostDef, { kind: 'ssh' }>,
  env: NodeJS.ProcessEnv,
): string[] {
  const ssh = (env.DISTCC_SSH || 'ssh').split(' ').filter((w) => w !== '');
  return [
    ...ssh,
    ...(host.user ? ['-l', host.user] : []),
    host.host,
    host.command ?? 'distccd',
    '--inetd',
    '--enable-tcp-insecure',
  ];
}

export function connectSsh(
  host: Extract<HostDef, { kind: 'ssh' }>,
  env: NodeJS.ProcessEnv,
  stderr: (data: Buffer) => void,
): Promise<Connection> {
  const argv = sshCommand(host, env);
  return new Promise((resolve, reject) => {
    // ssh's own complaints (host keys, passwords) go to the user's stderr.
    const { child, ended } = startProcess(argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr!.on('data', stderr);
    void ended.then(({ error }) => {
      if (error) {
        reject(
          new TsdistccError(`failed to run ${argv[0]}: ${error.message}`, ExitCode.CONNECT_FAILED, {
            cause: error,
          }),
        );
      }
    });
    child.once('spawn', () =>
      resolve({
        input: child.stdout!,
        output: child.stdin!,
        close: () => {
          child.stdin!.destroy();
          child.stdout!.destroy();
        },
        describe: `ssh ${host.host}`,
      }),
    );
  });
}

export function openConnection(
  host: HostDef,
  env: NodeJS.ProcessEnv,
  stderr: (data: Buffer) => void,
): Promise<Connection> {
  if (host.kind === 'tcp') return connectTcp(host.host, host.port);
  if (host.kind === 'ssh') return connectSsh(host, env, stderr);
  return Promise.reject(new TsdistccError('localhost is not a server', ExitCode.GENERAL));
}
