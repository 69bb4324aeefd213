// Debian's python3-lzo as an independent LZO oracle (not the project's codec).

import { execFileSync } from 'node:child_process';

const PY = '/usr/bin/python3';

export function pyLzoCompress(data: Buffer): Buffer {
  return execFileSync(
    PY,
    [
      '-c',
      'import sys,lzo; sys.stdout.buffer.write(lzo.compress(sys.stdin.buffer.read(), 1, False))',
    ],
    {
      input: data,
      maxBuffer: 1 << 30,
    },
  );
}

export function pyLzoDecompress(data: Buffer, maxSize = 256 << 20): Buffer {
  if (data.length === 0) return data;
  return execFileSync(
    PY,
    [
      '-c',
      `import sys,lzo; sys.stdout.buffer.write(lzo.decompress(sys.stdin.buffer.read(), False, ${maxSize}))`,
    ],
    {
      input: data,
      maxBuffer: 1 << 30,
    },
  );
}
