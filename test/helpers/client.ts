// Runs Debian's real distcc client and raw protocol exchanges.

import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { freshDistccDir } from './daemon.js';
import { CLIENT_BIN } from './paths.js';
import { parseReply, request, type ParsedReply } from './wire.js';

export type ClientRun = { code: number; stdout: string; stderr: string };

export function runDistcc(
  args: string[],
  hosts: string,
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<ClientRun> {
  return runClient('distcc', args, hosts, cwd, env);
}

/** Our client, by its own name (build/src/bin/tsdistcc.js). */
export function runTsdistcc(
  args: string[],
  hosts: string,
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<ClientRun> {
  return runClient(CLIENT_BIN, args, hosts, cwd, env);
}

/**
 * A distcc-like client (Debian's distcc, our tsdistcc, or a masquerade
 * symlink) with the settings every client test wants: a fresh DISTCC_DIR, no
 * fallback, no local retry, no backoff; `env` overrides them.
 */
export function runClient(
  command: string,
  args: string[],
  hosts: string | undefined,
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<ClientRun> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd,
        env: {
          ...process.env,
          ...(hosts !== undefined ? { DISTCC_HOSTS: hosts } : {}),
          DISTCC_DIR: freshDistccDir(),
          DISTCC_FALLBACK: '0',
          DISTCC_SKIP_LOCAL_RETRY: '1',
          DISTCC_BACKOFF_PERIOD: '0',
          ...env,
        },
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * Sends raw bytes and collects everything the server sends until it closes.
 * The socket is not half-closed (distcc clients never do).
 */
export function exchange(
  port: number,
  bytes: Buffer,
  opts: { localAddress?: string; timeoutMs?: number } = {},
): Promise<{ reply: Buffer; closedBy: 'server' | 'timeout' | 'error' }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = connect({
      port,
      host: '127.0.0.1',
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
    });
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ reply: Buffer.concat(chunks), closedBy: 'timeout' });
    }, opts.timeoutMs ?? 20_000);
    s.on('connect', () => s.write(bytes));
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => {
      clearTimeout(timer);
      resolve({ reply: Buffer.concat(chunks), closedBy: 'error' });
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ reply: Buffer.concat(chunks), closedBy: 'server' });
    });
  });
}

/** One raw request; the parsed reply (throws if the server closed without one). */
export async function compileRaw(
  port: number,
  argv: string[],
  body: Buffer,
  version = 1,
): Promise<ParsedReply> {
  return parseReply((await exchange(port, request(version, argv, body))).reply);
}
