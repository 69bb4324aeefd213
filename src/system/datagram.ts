// Sends AF_UNIX datagrams (syslog's /dev/log, systemd's $NOTIFY_SOCKET)
// through the resident Perl helper in datagram-script.ts, since Node has no
// datagram sockets of that family. The helper starts on the first send, and
// neither it nor its pipes keep the event loop alive; close() flushes what
// was sent so far (ends the helper's stdin and waits for it to exit).

import { spawnPerl } from '../compiler/perl.js';
import { DATAGRAM_SCRIPT } from './datagram-script.js';

/** Bytes waiting in the pipe to the helper beyond which new records are dropped. */
const MAX_PENDING_BYTES = 4 << 20;
/** After the helper died unexpectedly, records are dropped for this long. */
const RESTART_DELAY_MS = 5000;

function spawnHelper() {
  // A small, fixed environment: no PERL5OPT/PERL5LIB surprises, no locale
  // warnings, English error texts.
  return spawnPerl(DATAGRAM_SCRIPT, [], { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' });
}

type Helper = { proc: ReturnType<typeof spawnHelper>; closing: boolean };
type Refable = { ref?: () => void; unref?: () => void };

function setRef(helper: Helper, on: boolean): void {
  const p = helper.proc;
  for (const h of [p, p.stdin, p.stdout, p.stderr] as unknown[]) {
    const r = h as Refable | null;
    if (on) r?.ref?.();
    else r?.unref?.();
  }
}

export type DatagramSenderOptions = Readonly<{
  /** How long close() waits for the helper before killing it (ms). */
  closeTimeoutMs?: number;
}>;

export class DatagramSender {
  readonly #onError: (msg: string) => void;
  readonly #closeTimeoutMs: number;
  #helper: Helper | undefined;
  #noPerl = false;
  #restartAt = 0;
  #overflowing = false;

  constructor(onError: (msg: string) => void, options: DatagramSenderOptions = {}) {
    this.#onError = onError;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 2000;
  }

  #start(): Helper | undefined {
    if (this.#helper) return this.#helper;
    if (this.#noPerl || Date.now() < this.#restartAt) return undefined;
    const helper: Helper = { proc: spawnHelper(), closing: false };
    const { proc } = helper;
    this.#helper = helper;
    let lineBuf = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d: string) => {
      lineBuf += d;
      let nl: number;
      while ((nl = lineBuf.indexOf('\n')) >= 0) {
        const line = lineBuf.slice(0, nl);
        lineBuf = lineBuf.slice(nl + 1);
        if (line.startsWith('E ')) this.#onError(`datagram to ${line.slice(2)}`);
      }
    });
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d: string) => this.#onError(`datagram helper: ${d.trimEnd()}`));
    proc.stdin.on('error', () => {});
    proc.stdin.on('drain', () => (this.#overflowing = false));
    void proc.then((result) => {
      if (this.#helper === helper) this.#helper = undefined;
      if (result.code === 'ENOENT') {
        this.#noPerl = true;
        this.#onError(
          'datagram helper: perl not found; syslog and sd_notify datagrams are dropped',
        );
      } else if (!helper.closing || (result.exitCode !== 0 && result.signal === undefined)) {
        if (!helper.closing) this.#restartAt = Date.now() + RESTART_DELAY_MS;
        const how = result.code ?? result.signal ?? `status ${result.exitCode ?? '?'}`;
        this.#onError(`datagram helper exited (${how}); records in flight are lost`);
      }
    });
    setRef(helper, false);
    return helper;
  }

  /** Sends payload as one datagram to dest (a socket path, or `@name` for an abstract one). */
  send(dest: string, payload: string | Buffer): void {
    const helper = this.#start();
    if (!helper) return;
    const stdin = helper.proc.stdin;
    if (stdin.writableLength > MAX_PENDING_BYTES) {
      if (!this.#overflowing) this.#onError(`datagram to ${dest}: helper not keeping up; dropped`);
      this.#overflowing = true;
      return;
    }
    const d = Buffer.from(dest, 'utf8');
    const p = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    stdin.write(Buffer.concat([Buffer.from(`${d.length} ${p.length}\n`), d, p]));
  }

  /**
   * Lets the helper send what it was given, then waits for it to exit (killing it
   * after the close timeout). A later send() starts a new helper.
   */
  close(): Promise<void> {
    const helper = this.#helper;
    if (!helper) return Promise.resolve();
    this.#helper = undefined;
    helper.closing = true;
    setRef(helper, true);
    helper.proc.stdin.end();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#onError('datagram helper did not finish in time; killed');
        helper.proc.kill('SIGKILL');
      }, this.#closeTimeoutMs);
      void helper.proc.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
