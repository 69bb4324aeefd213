// Worker thread that runs LZO for bodies too big to code on the event loop.

import { parentPort } from 'node:worker_threads';
import { lzoCompress, lzoDecompress } from './lzo.js';

export type LzoTask = {
  id: number;
  op: 'compress' | 'decompress';
  data: Uint8Array;
  maxOutput: number;
};

export type LzoAnswer = { id: number; data: Uint8Array } | { id: number; error: string };

parentPort?.on('message', (task: LzoTask) => {
  try {
    const out =
      task.op === 'compress' ? lzoCompress(task.data) : lzoDecompress(task.data, task.maxOutput);
    // Copy into a transferable buffer of its own (Buffer may share a pool).
    const data = new Uint8Array(out.length);
    data.set(out);
    parentPort?.postMessage({ id: task.id, data } satisfies LzoAnswer, [data.buffer]);
  } catch (err) {
    parentPort?.postMessage({ id: task.id, error: (err as Error).message } satisfies LzoAnswer);
  }
});
