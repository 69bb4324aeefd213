// Writing the object a server sent to the -o path, and nowhere else. It is
// written to a new file beside the output (O_EXCL|O_NOFOLLOW, so no link
// planted under that name is followed), given its mode, and renamed over the
// output: a link at the output path is replaced, not followed, and a hard
// link's other names keep their old contents (as binutils' bfd does by
// unlinking first, which distcc copies). An output that is not a regular
// file (-o /dev/null, a FIFO) is written into, as the compiler would: it is
// never removed or replaced.

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ExitCode, TsdistccError } from '../errors.js';
import { writeAll } from '../system/write-all.js';

function ioError(what: string, err: unknown): TsdistccError {
  return new TsdistccError(`${what}: ${(err as Error).message}`, ExitCode.IO_ERROR, {
    cause: err,
  });
}

/** Writes `data` to `output` (absolute) with `mode`. */
export function writeOutput(output: string, data: Buffer, mode: number): void {
  let special = false;
  try {
    special = !statSync(output).isFile();
  } catch {
    /* not there yet */
  }
  if (special) {
    let fd: number;
    try {
      fd = openSync(output, constants.O_WRONLY);
    } catch (err) {
      throw ioError(`cannot open ${output}`, err);
    }
    try {
      writeAll(fd, data);
    } catch (err) {
      throw ioError(`cannot write ${output}`, err);
    } finally {
      closeSync(fd);
    }
    return;
  }
  const temp = join(
    dirname(output),
    `.${basename(output).slice(0, 64)}.tsdistcc-${randomBytes(4).toString('hex')}`,
  );
  let fd: number;
  try {
    fd = openSync(
      temp,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
  } catch (err) {
    throw ioError(`cannot create ${output}`, err);
  }
  try {
    try {
      writeAll(fd, data);
      // The caller's umask decides, not the agent's (whose may differ).
      fchmodSync(fd, mode);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, output);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      /* not there */
    }
    throw ioError(`cannot write ${output}`, err);
  }
}
