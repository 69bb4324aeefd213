// What a result was measured on, for the header of each RESULTS.md section.

import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { ROOT } from './daemons.js';

function firstLine(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')[0]
      .trim();
  } catch {
    return `${cmd}: not found`;
  }
}

/** tsdistcc's commit and how many files under src/ differ from it (the daemon under test). */
export function revision() {
  const rev = firstLine('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  let dirty = 0;
  try {
    dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src'], {
      encoding: 'utf8',
    })
      .split('\n')
      .filter(Boolean).length;
  } catch {
    /* not a git checkout */
  }
  return { rev, dirty };
}

export function machine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown CPU',
    cores: cpu.length,
    memoryGiB: totalmem() / 2 ** 30,
    kernel: release(),
    node: process.version,
    gcc: firstLine('gcc', ['--version']),
    distccd: firstLine('distccd', ['--version']),
    distcc: firstLine('distcc', ['--version']),
  };
}

export const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');

/** The Markdown lines that say where and with what a section was measured. */
export function machineText() {
  const m = machine();
  const { rev, dirty } = revision();
  return [
    `Machine: ${m.cores} logical CPUs (${m.cpu}), ${m.memoryGiB.toFixed(1)} GiB, Linux ${m.kernel},`,
    `Node.js ${m.node}, ${m.gcc}, ${m.distccd}; client ${m.distcc}.`,
    process.env.TSDISTCCD_BIN
      ? `tsdistccd: ${process.env.TSDISTCCD_BIN} (TSDISTCCD_BIN; this checkout is at ${rev}).`
      : `tsdistccd: this checkout's build/, at ${rev}${dirty ? ` with ${dirty} uncommitted changes under src/` : ''}.`,
  ].join('\n');
}
