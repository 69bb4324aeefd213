// The server view's pieces: --server addresses, the stats port's request
// line, the terminal lines, distccd's page read back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMonitorArgs } from '../../src/monitor/monitor-args.js';
import { parseServerAddress } from '../../src/monitor/server-address.js';
import {
  formatJobLine,
  formatServerReport,
  parseDistccStats,
  serverReportJson,
} from '../../src/monitor/server-view.js';
import type { JobsSnapshot } from '../../src/server/jobs-json.js';
import { headComplete, parseRequestHead } from '../../src/server/stats-routes.js';
import { firstRaw } from '../helpers/raw-chars.js';

test('--server HOST[:PORT]: names, IPv4, IPv6 in brackets or bare; port 3633 by default', () => {
  const cases: [string, { host: string; port: number } | undefined][] = [
    ['box', { host: 'box', port: 3633 }],
    ['box.example.org:3693', { host: 'box.example.org', port: 3693 }],
    ['127.0.0.1:1', { host: '127.0.0.1', port: 1 }],
    ['[::1]:3633', { host: '::1', port: 3633 }],
    ['[fe80::1]', { host: 'fe80::1', port: 3633 }],
    ['::1', { host: '::1', port: 3633 }],
    ['box:0', undefined],
    ['box:65536', undefined],
    ['box:', undefined],
    ['box:x', undefined],
    [':3633', undefined],
    ['', undefined],
    ['a b', undefined],
    ['[::1]:', undefined],
    ['user@box', undefined],
  ];
  for (const [text, want] of cases) {
    assert.deepEqual(parseServerAddress(text), want, JSON.stringify(text));
  }
});

test('the command line: options anywhere, one DELAY read as distccmon-text reads it', () => {
  const run = parseMonitorArgs(['--server', 'box:1', '2.5', '--json']);
  assert.equal(run.kind, 'run');
  if (run.kind === 'run') {
    assert.deepEqual(run.server, { host: 'box', port: 1 });
    assert.equal(run.json, true);
    assert.equal(run.delay.pauseMs, 2500);
  }
  const eq = parseMonitorArgs(['--server=box']);
  assert.ok(eq.kind === 'run' && eq.server?.port === 3633);
  // `-1` is a DELAY (distccmon-text sleeps 71 minutes), not an option.
  const negative = parseMonitorArgs(['-1']);
  assert.ok(negative.kind === 'run' && negative.delay.repeat);
  assert.equal(parseMonitorArgs(['--bogus']).kind, 'usage');
  assert.equal(parseMonitorArgs(['1', '2']).kind, 'usage');
  assert.equal(parseMonitorArgs(['--server']).kind, 'usage');
  assert.equal(parseMonitorArgs(['--help', 'x']).kind, 'help');
});

test('--instance NAME [--conf-dir DIR]: the daemon is named by its conf.d file; not with --server', () => {
  const run = parseMonitorArgs(['--instance', 'i686', '--conf-dir=/x', '1']);
  assert.ok(run.kind === 'run');
  assert.deepEqual(run.instance, { name: 'i686', confDir: '/x' });
  assert.equal(run.server, undefined);
  assert.equal(parseMonitorArgs(['--instance']).kind, 'usage');
  assert.equal(parseMonitorArgs(['--instance', 'a', '--server', 'box']).kind, 'usage');
  assert.equal(parseMonitorArgs(['--conf-dir', '/x']).kind, 'usage');
});

test('the stats port reads the request line, and waits for the whole head', () => {
  const head = (s: string) => parseRequestHead(Buffer.from(s));
  assert.deepEqual(head('GET /jobs HTTP/1.1\r\nHost: x\r\n\r\n'), { method: 'GET', path: '/jobs' });
  assert.deepEqual(head('GET /metrics?x=1 HTTP/1.0\n'), { method: 'GET', path: '/metrics' });
  assert.deepEqual(head('HEAD http://box:3633/ui HTTP/1.1\r\n'), {
    method: 'HEAD',
    path: '/ui',
    authority: 'box:3633',
  });
  assert.deepEqual(head('GET /\r\n'), { method: 'GET', path: '/' }); // HTTP/0.9
  assert.equal(head('GET /jobs HTTP/1.1'), undefined, 'line not complete');
  assert.equal(head('hello there\n'), null);
  assert.equal(headComplete(Buffer.from('GET / HTTP/1.1\r\nA: b\r\n')), false);
  assert.equal(headComplete(Buffer.from('GET / HTTP/1.1\r\nA: b\r\n\r\n')), true);
  assert.equal(headComplete(Buffer.from('GET / HTTP/1.0\n\n')), true);
});

const snapshot: JobsSnapshot = {
  server: { pid: 1, version: '0.1.0', uptime: 10, slots: 4, queueLimit: 16, rss: 1 },
  running: 1,
  queued: 1,
  totals: {
    TCP_ACCEPT: 20,
    REJ_BAD_REQ: 1,
    REJ_OVERLOAD: 0,
    COMPILE_OK: 12,
    COMPILE_ERROR: 2,
    COMPILE_TIMEOUT: 1,
    CLI_DISCONN: 1,
    OTHER: 2,
    bytesIn: 1536,
    bytesOut: 5 * 1024 * 1024,
  },
  jobs: [
    {
      id: 7,
      client: '192.168.0.17',
      port: 40000,
      compiler: 'x86_64-linux-gnu-gcc',
      input: 'drivers/gpu/drm/amd/display/dc/core/dc_resource.c',
      phase: 'compile',
      slot: 3,
      elapsed: 12.345,
      phaseElapsed: 12,
    },
    {
      id: 8,
      client: '::1',
      port: 40001,
      compiler: null,
      input: null,
      phase: 'receive',
      slot: null,
      elapsed: 0.04,
      phaseElapsed: 0.04,
    },
  ],
};

test('one line a job in distccmon-text columns, totals at the bottom, an empty line', () => {
  assert.equal(
    formatJobLine(snapshot.jobs[0]!),
    '     7  compile     drivers/gpu/drm/amd/display/dc             192.168.0.17[3]    12.3s  x86_64-linux-gnu-gcc',
  );
  const text = formatServerReport({ kind: 'jobs', snapshot }, { host: 'box', port: 3633 });
  assert.equal(
    text,
    [
      formatJobLine(snapshot.jobs[0]!),
      `     8  receive     ?${' '.repeat(29 + 1 + 21)}::1[-]     0.0s  ?`,
      'running 1 of 4 slots, queued 1; ended: 12 compiled, 3 failed, 4 refused or dropped; in 1.5 KiB, out 5.0 MiB',
      '',
      '',
    ].join('\n'),
  );
});

test("a distccd's page: its totals", () => {
  const page =
    'HTTP/1.0 200 OK\nContent-Type: text/plain\n\nargv /distccd\n<distccstats>\n' +
    'dcc_tcp_accept 9\ndcc_rej_bad_req 1\ndcc_rej_overload 0\ndcc_compile_ok 7\n' +
    'dcc_compile_error 1\ndcc_compile_timeout 0\ndcc_cli_disconnect 0\ndcc_other 0\n' +
    'dcc_longest_job x.c\ndcc_current_load 2\ndcc_free_space 100 MB\n</distccstats>\n';
  const stats = parseDistccStats(page);
  assert.ok(stats);
  assert.equal(stats.dcc_free_space, '100 MB');
  assert.equal(
    formatServerReport({ kind: 'distccstats', stats }, { host: '::1', port: 3633 }),
    '[::1]:3633 (distccd: no job list): running 2; ended: 7 compiled, 1 failed, 1 refused or dropped\n\n',
  );
  assert.equal(parseDistccStats('<html></html>'), undefined);
});

test('what a server sends is escaped as it is printed; --json is ASCII-only', () => {
  const forged = 'x\nCOMPILE_OK forged\x1b[2J\u202egnp.c';
  const hostile = {
    ...snapshot,
    running: '\x1b[2J' as unknown as number,
    jobs: [
      { ...snapshot.jobs[0]!, input: forged, compiler: 'gcc\u2066\r', client: '\x1b]0;x\x07' },
    ],
  };
  const text = formatServerReport({ kind: 'jobs', snapshot: hostile }, { host: 'box', port: 1 });
  assert.equal(firstRaw(text, { lines: true }), undefined);
  const lines = text.split('\n');
  assert.equal(lines.length, 4, text);
  assert.match(
    lines[0]!,
    /^ {5}7 {2}compile {5}x\\nCOMPILE_OK forged\\x1b\[2J\\u2 {13}\\x1b\]0;x\\x07\[3\] /,
  );
  assert.ok(lines[0]!.endsWith('  gcc\\u2066\\r'), lines[0]);
  assert.match(lines[1]!, /^running 0 of 4 slots/);
  const json = serverReportJson({ kind: 'jobs', snapshot: hostile });
  assert.match(json, /^[\x20-\x7e]*\n$/);
  assert.equal((JSON.parse(json) as JobsSnapshot).jobs[0]!.input, forged);
});
