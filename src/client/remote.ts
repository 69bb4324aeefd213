// One compile on a server, protocols 1 and 2 (distcc src/remote.c): send the
// header while the preprocessor still runs, then the preprocessed source,
// then read DONE STAT SERR SOUT DOTO. The socket is never half-closed before
// the reply: distccd takes EOF during a compile as a disconnect.

import { readFileSync } from 'node:fs';
import { ExitCode, TsdistccError } from '../errors.js';
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

function readReply(job: RemoteJob): Promise<WireReplyParts> {
  const { connection: conn, version, ioTimeoutMs } = job;
  const decoder = new ReplyDecoder(version);
  return new Promise((resolve, reject) => {
    let receiving = false;
    let timer = setTimeout(onTimeout, ioTimeoutMs);
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
      conn.input.off('data', onData);
      conn.input.off('end', onEnd);
      conn.input.off('error', onError);
    }
    function onData(chunk: Buffer) {
      clearTimeout(timer);
      timer = setTimeout(onTimeout, ioTimeoutMs);
      if (!receiving) {
        receiving = true;
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
        reject(err instanceof Error ? err : new Error(String(err)));
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
    const max = 2 * 1024 * 1024 * 1024 - 1;
    return {
      status: wire.status,
      stderr: await decodeBody(version, wire.stderr, max),
      stdout: await decodeBody(version, wire.stdout, max),
      object: await decodeBody(version, wire.object, max),
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
