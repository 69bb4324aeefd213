// One private directory per job under $TMPDIR, removed afterwards whatever
// happened. Every path of a job is made here from fixed names, so nothing a
// client sends can name a file outside it.

import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';

export type JobDir = Readonly<{
  path: string;
  /** The preprocessed input, with the extension the compiler needs to see. */
  input: string;
  output: string;
  remove: () => Promise<void>;
}>;

export async function makeJobDir(
  tmpdir: string,
  inputExt: string,
  outputExt: string,
): Promise<JobDir> {
  const path = await mkdtemp(join(tmpdir, 'tsdistccd_'));
  return Object.freeze({
    path,
    input: join(path, `input.${inputExt}`),
    output: join(path, `output.${outputExt}`),
    remove: () => rm(path, { recursive: true, force: true, maxRetries: 3 }),
  });
}
