// The client agents (build/src/bin/tsdistcc-agent.js DIR) a test started. An
// agent leaves only after TSDISTCC_AGENT_IDLE seconds (600 by default), so one
// a test does not stop outlives the test's temp directory. They are found by
// their command line, not by their agent file: a retired agent, or one whose
// file a newer agent replaced, is still running and is in no file.
// scripts/run-tests.js fails the run if any is left under its TMPDIR.

import { readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';

export type AgentProcess = { pid: number; dir: string };

function inside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The running agents whose directory is inside one of `roots`. */
export function agentsUnder(...roots: string[]): AgentProcess[] {
  const found: AgentProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    const i = argv.findIndex((a) => a.endsWith('/tsdistcc-agent.js'));
    const dir = i >= 0 ? argv[i + 1] : undefined;
    if (dir && roots.some((r) => inside(dir, r))) found.push({ pid: Number(entry), dir });
  }
  return found;
}

/** Running, not a zombie (whose command line is empty): no one may reap a setsid'd agent. */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') !== '';
  } catch {
    return false;
  }
}

/**
 * Stops every agent whose directory is inside one of `roots` (SIGTERM, then
 * SIGKILL after 5 s) and waits until they are gone. Returns those it stopped.
 */
export async function stopAgents(...roots: string[]): Promise<AgentProcess[]> {
  const agents = agentsUnder(...roots);
  for (const a of agents) {
    try {
      process.kill(a.pid, 'SIGTERM');
    } catch {
      /* gone already */
    }
  }
  const end = Date.now() + 5000;
  while (agents.some((a) => alive(a.pid))) {
    if (Date.now() > end) {
      for (const a of agents) {
        try {
          process.kill(a.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return agents;
}
