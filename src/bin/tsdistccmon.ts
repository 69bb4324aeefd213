#!/usr/bin/env node
// tsdistccmon: distccmon-text's view of this user's distcc jobs, or a
// tsdistccd's own view from its stats port (see src/monitor/).

import { main } from '../monitor/monitor-main.js';

// A closed pipe (`tsdistccmon 1 | head`) ends the monitor quietly.
process.stdout.on('error', () => {});

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`tsdistccmon: internal error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 100;
  },
);
