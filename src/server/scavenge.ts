// Young-generation GCs by the bytes the daemon reads, not only by V8's own
// measure. A socket read is a 64 KiB buffer behind a JS object of about a
// hundred bytes; V8 starts a scavenge when its young generation (2 MB here,
// the #! line) fills with such objects, so sources streamed through the
// daemon piled up as 10-20 MB of dead buffers between scavenges under a
// kernel build (bench/RESULTS.md). Counting the bytes read and asking for a
// scavenge every SCAVENGE_EVERY of them frees that memory at ~1 ms each.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Bytes read between the scavenges asked for. */
export const SCAVENGE_EVERY = 4 * 1024 * 1024;

type Gc = (options: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

/** V8's gc(), made visible to new contexts only (the daemon's own global stays as it was). */
function exposeGc(): Gc | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as Gc) : undefined;
  } catch {
    return undefined;
  }
}

let gc: Gc | undefined | null = null;
let read = 0;
let scheduled = false;

/** Counts `bytes` read from a client; every SCAVENGE_EVERY, a scavenge once this turn's callbacks ran. */
export function countRead(bytes: number): void {
  read += bytes;
  if (read < SCAVENGE_EVERY || scheduled) return;
  if (gc === null) gc = exposeGc();
  if (!gc) return;
  read = 0;
  scheduled = true;
  setImmediate(() => {
    scheduled = false;
    gc!({ type: 'minor' });
  });
}
