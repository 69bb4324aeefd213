// TSDISTCC_MAX_REPLY_SIZE: the most bytes a server's reply may hold, its
// stderr, stdout and object together, decompressed (remote.ts). Bytes with
// an optional K, M or G suffix (powers of 1024), as tsdistccd's
// --max-body-size; default 512M, the same as that default.

export const DEFAULT_MAX_REPLY = 512 * 1024 * 1024;
/** Node's largest Buffer is 4 GiB; the protocol counts a body in 32 bits. */
const MOST = 2 ** 32 - 1;

const SIZE = /^(\d+)\s*([kmg]i?b?)?$/i;

/** The limit, and a complaint if the variable is set to something that is not a size. */
export function replyLimit(env: NodeJS.ProcessEnv): { bytes: number; problem?: string } {
  const text = env.TSDISTCC_MAX_REPLY_SIZE;
  if (text === undefined || text === '') return { bytes: DEFAULT_MAX_REPLY };
  const m = SIZE.exec(text.trim());
  const unit = (m?.[2] ?? '').charAt(0).toLowerCase();
  const factor = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  const n = m ? Number(m[1]) * factor : NaN;
  if (!(n >= 1)) {
    return {
      bytes: DEFAULT_MAX_REPLY,
      problem: `TSDISTCC_MAX_REPLY_SIZE must be a size in bytes with an optional K, M or G suffix, got \`${text}\`; using 512M`,
    };
  }
  return { bytes: Math.min(n, MOST) };
}
