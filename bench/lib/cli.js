// The shared helpers for shell benchmarks (bench/linux-daemons.sh), one
// subcommand each, so the shell scripts measure and report as the JS ones do.
//
//   node bench/lib/cli.js usage KIND PID [INTERVAL_MS]
//       samples daemon PID (KIND distccd or tsdistccd), prints `started`
//       after the first sample, and at SIGTERM or SIGINT one more line:
//       peak_rss_kb cpu_seconds lower_bound(0|1) max_processes stat_cpu_seconds
//   node bench/lib/cli.js free-port
//       a free TCP port on 127.0.0.1
//   node bench/lib/cli.js metrics STATS_PORT
//       tsdistccd's counters now, one line:
//       jobs_ok receive_s queued_s compile_s send_s node_cpu_s
//   node bench/lib/cli.js machine
//       the Machine/tsdistccd lines of a RESULTS.md section
//   node bench/lib/cli.js append-results < SECTION.md
//       inserts the section into bench/RESULTS.md where the newest goes

import { readFileSync } from 'node:fs';
import { UsageTracker } from './daemon-usage.js';
import { machineText } from './machine.js';
import { fetchMetrics, PHASES } from './metrics.js';
import { freePort } from './ports.js';
import { appendSection } from './results.js';

function usage(kind, pid, interval = '100') {
  const tracker = new UsageTracker(kind, Number(pid));
  tracker.sample();
  process.stdout.write('started\n');
  const timer = setInterval(() => tracker.sample(), Number(interval));
  const finish = () => {
    clearInterval(timer);
    tracker.sample();
    const r = tracker.result();
    const line = [r.peakRssKb, r.cpuSeconds.toFixed(3), r.lowerBound ? 1 : 0, r.maxProcesses];
    process.stdout.write(`${[...line, r.statCpuSeconds.toFixed(2)].join(' ')}\n`);
  };
  process.once('SIGTERM', finish);
  process.once('SIGINT', finish);
}

async function metrics(port) {
  const counters = await fetchMetrics(Number(port));
  const value = (key) => counters.get(key) ?? 0;
  const line = [
    value('tsdistccd_jobs_total{result="COMPILE_OK"}'),
    ...PHASES.map((p) => value(`tsdistccd_phase_seconds_total{phase="${p}"}`).toFixed(6)),
    value('process_cpu_seconds_total').toFixed(6),
  ];
  process.stdout.write(`${line.join(' ')}\n`);
}

const [command, ...args] = process.argv.slice(2);
switch (command) {
  case 'usage':
    usage(...args);
    break;
  case 'metrics':
    await metrics(args[0]);
    break;
  case 'free-port':
    process.stdout.write(`${await freePort()}\n`);
    break;
  case 'machine':
    process.stdout.write(`${machineText()}\n`);
    break;
  case 'append-results':
    appendSection(readFileSync(0, 'utf8'));
    break;
  default:
    process.stderr.write(
      `usage: cli.js usage|metrics|free-port|machine|append-results ..., got ${command}\n`,
    );
    process.exitCode = 2;
}
