#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --v8-pool-size=1
// tsdistccd: parse, call main(), set the exit status.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { main } from '../daemon-main.js';

const isMain = (() => {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (isMain) {
  main(process.argv.slice(2), process.env).then(
    (code) => {
      // Timers and sockets of a stopped daemon must not keep it alive.
      process.exit(code);
    },
    (err: unknown) => {
      process.stderr.write(`tsdistccd: internal error: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(100);
    },
  );
}
