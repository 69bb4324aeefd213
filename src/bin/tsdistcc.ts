#!/usr/bin/env node
// tsdistcc, the plain client: one Node process for one command. bin/tsdistcc
// (the launcher users run) starts it when the agent is off or cannot start,
// passing the name it was run as in TSDISTCC_ARGV0; run directly,
// process.argv[1] is that name (a masquerade symlink like .../gcc works too).

import { main } from '../client-main.js';

function argv0(): string {
  const name = process.env.TSDISTCC_ARGV0;
  delete process.env.TSDISTCC_ARGV0;
  return name ?? process.argv[1] ?? 'tsdistcc';
}

main([argv0(), ...process.argv.slice(2)], process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tsdistcc: internal error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 100;
  },
);
