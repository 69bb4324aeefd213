// One compile on a server, protocols 1 and 2 (distcc src/remote.c): send the
// header while the preprocessor still runs, then the preprocessed source,
// then read DONE STAT SERR SOUT DOTO. The socket is never half-closed before
// the reply: distccd takes EOF during a compile as a disconnect.
//
// A server is trusted with the bytes of an object, not with the client's
// memory or time. Its reply's bodies may hold TSDISTCC_MAX_REPLY_SIZE bytes
// together (512 MiB by default, what tsdistccd takes for a source), counted
// on the wire and again decompressed, where LZO stops at what is left of the
// limit (it expands up to 255:1). Silence is bounded per read by
// DISTCC_IO_TIMEOUT, as in distcc: a real compile sends nothing until it is
// done. Once the reply has begun, all of it must arrive within
// DISTCC_IO_TIMEOUT too, so a server that trickles a byte at a time cannot
// hold a job for ever. Any of these is a protocol error or a timeout like
// another: the host goes into backoff and the job is compiled elsewhere.

import { readFileSync } from 'node:fs';
import { ExitCode, ProtocolError, TsdistccError } from '../errors.js';
import { decodeBody, encodeBody } from '../protocol/bodies.js';
import { ReplyDecoder, type WireReplyParts } from '../protocol/reply-decoder.js';
import { encodeRequestHeader, encodeSource } from '../protocol/request-encoder.js';
import type { Connection } from './connect.js';

export type RemoteReply = {
  /** Unix wait status from the server. */
  status: number;
  stderr: Buffer;
  stdout: Buffer;
  object: Buffer;
};

export type RemoteJob = {
  connection: Connection;
  version: number;
  argv: readonly string[];
  /** Resolves when the preprocessor has finished: true if it succeeded. */
  preprocessed: Promise<boolean>;
  sourceFile: string;
  ioTimeoutMs: number;
  /** The most bytes SERR, SOUT and DOTO may hold together, decompressed. */
  maxReplyBytes: number;
  onPhase: (phase: 'cpp' | 'send' | 'compile' | 'receive') => void;
};

function write(conn: Connection, data: Buffer | Buffer[]): Promise<void> {
  const chunks = Array.isArray(data) ? data : [data];
  return new Promise((resolve, reject) => {
    let pending = chunks.length;
    if (pending === 0) return resolve();
    for (const chunk of chunks) {
      conn.output.write(chunk, (err) => {
        if (err) reject(err);
        else if (--pending === 0) resolve();
      });
    }
  });
}

/** LZO's worst case for incompressible data (lzo1x: n + n/16 + 64 + 3) for three bodies. */
function wireLimit(version: number, max: number): number {
  return version >= 2 ? max + Math.ceil(max / 16) + 3 * 67 : max;
}

function readReply(job: RemoteJob): Promise<WireReplyParts> {
  const { connection: conn, version, ioTimeoutMs } = job;
  const decoder = new ReplyDecoder(version, wireLimit(version, job.maxReplyBytes));
  return new Promise((resolve, reject) => {
    let receiving = false;
    let timer = setTimeout(onTimeout, ioTimeoutMs);
    let whole: NodeJS.Timeout | undefined;
    function onDeadline() {
      cleanup();
      reject(
        new TsdistccError(
          `${conn.describe} took more than ${ioTimeoutMs / 1000} s to send its reply (still waiting for ${decoder.waitingFor}): DISTCC_IO_TIMEOUT bounds the whole reply once it has begun`,
          ExitCode.TIMEOUT,
        ),
      );
    }
    function onTimeout() {
      cleanup();
      reject(
        new TsdistccError(
          `timeout waiting for ${decoder.waitingFor} from ${conn.describe} after ${ioTimeoutMs / 1000} s`,
          ExitCode.TIMEOUT,
        ),
      );
    }
    function cleanup() {
      clearTimeout(timer);
      clearTimeout(whole);
      conn.input.off('data', onData);
      conn.input.off('end', onEnd);
      conn.input.off('error', onError);
    }
    function onData(chunk: Buffer) {
      clearTimeout(timer);
      timer = setTimeout(onTimeout, ioTimeoutMs);
      if (!receiving) {
        receiving = true;
        whole = setTimeout(onDeadline, ioTimeoutMs);
        job.onPhase('receive');
      }
      try {
        const reply = decoder.push(chunk);
        if (reply) {
          cleanup();
          resolve(reply);
        }
      } catch (err) {
        cleanup();
        reject(
          err instanceof ProtocolError
            ? new ProtocolError(`bad reply from ${conn.describe}: ${err.message}`, { cause: err })
            : err instanceof Error
              ? err
              : new Error(String(err)),
        );
      }
    }
    function onEnd() {
      cleanup();
      reject(
        new TsdistccError(
          receiving
            ? `${conn.describe} closed the connection in the middle of its answer (waiting for ${decoder.waitingFor})`
            : `${conn.describe} closed the connection without answering: the server refused the job (its log says why)`,
          receiving ? ExitCode.TRUNCATED : ExitCode.PROTOCOL_ERROR,
        ),
      );
    }
    function onError(err: Error) {
      cleanup();
      reject(
        new TsdistccError(
          `error reading from ${conn.describe}: ${err.message}`,
          ExitCode.IO_ERROR,
          {
            cause: err,
          },
        ),
      );
    }
    conn.input.on('data', onData);
    conn.input.on('end', onEnd);
    conn.input.on('error', onError);
  });
}

/**
 * Runs the job on the connection. Resolves with the reply, or undefined when
 * the preprocessor failed (nothing to compile; its errors are on stderr).
 * Rejects with a TsdistccError for anything that went wrong on the way.
 */
export async function compileRemote(job: RemoteJob): Promise<RemoteReply | undefined> {
  const { connection: conn, version } = job;
  let outputError: Error | undefined;
  conn.output.on('error', (err) => (outputError = err));
  try {
    job.onPhase('send');
    const header = write(conn, encodeRequestHeader(version, job.argv));
    job.onPhase('cpp');
    const ok = await job.preprocessed;
    await header;
    if (!ok) return undefined;
    job.onPhase('send');
    const source = readFileSync(job.sourceFile);
    const body = await encodeBody(version, source);
    const reply = readReply(job);
    await write(conn, encodeSource(body));
    job.onPhase('compile');
    const wire = await reply;
    // What is left of the limit bounds each body in turn.
    let left = job.maxReplyBytes;
    const decode = async (what: string, body: Buffer) => {
      let plain;
      try {
        plain = await decodeBody(version, body, left);
      } catch (err) {
        const over = /output overrun/.test((err as Error).message);
        throw new ProtocolError(
          over
            ? `the reply from ${conn.describe} decompresses to more than ${job.maxReplyBytes} bytes at its ${what} (TSDISTCC_MAX_REPLY_SIZE)`
            : `bad ${what} from ${conn.describe}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      if (plain.length > left) {
        throw new ProtocolError(
          `the reply from ${conn.describe} holds more than ${job.maxReplyBytes} bytes at its ${what} (TSDISTCC_MAX_REPLY_SIZE)`,
        );
      }
      left -= plain.length;
      return plain;
    };
    return {
      status: wire.status,
      stderr: await decode('stderr', wire.stderr),
      stdout: await decode('stdout', wire.stdout),
      object: await decode('object', wire.object),
    };
  } catch (err) {
    if (err instanceof TsdistccError) throw err;
    throw new TsdistccError(
      `failed to talk to ${conn.describe}: ${(outputError ?? (err as Error)).message}`,
      ExitCode.IO_ERROR,
      { cause: err },
    );
  } finally {
    conn.close();
  }
}
