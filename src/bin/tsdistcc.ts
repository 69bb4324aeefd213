#!/usr/bin/env node
// tsdistcc: the client. Called by its own name or through a symlink named
// like a compiler (masquerade); process.argv[1] is the path it was run as.

import { main } from '../client-main.js';

main([process.argv[1] ?? 'tsdistcc', ...process.argv.slice(2)], process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tsdistcc: internal error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 100;
  },
);
