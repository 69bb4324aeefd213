#!/usr/bin/env node
// tsdistcc-agent DIR: the resident client agent the launcher starts (see
// src/client/agent/agent-main.ts). Not meant to be run by hand.

import { runAgent } from '../client/agent/agent-main.js';

const dir = process.argv[2];
const idleSec = Number(process.env.TSDISTCC_AGENT_IDLE ?? 600);
if (!dir) {
  process.stderr.write('usage: tsdistcc-agent DIR\n');
  process.exitCode = 101;
} else {
  runAgent({ dir, idleMs: (Number.isFinite(idleSec) && idleSec > 0 ? idleSec : 600) * 1000 }).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`tsdistcc-agent: ${(err as Error).message}\n`);
      process.exit(100);
    },
  );
}
