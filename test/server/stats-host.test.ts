// Which Host values the stats port answers (DNS rebinding): this machine's
// addresses and names, and none; not another name.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  hostHeaders,
  hostOfAuthority,
  machineNames,
  misdirectedHost,
} from '../../src/server/stats-host.js';
import { parseRequestHead } from '../../src/server/stats-routes.js';

function hostsFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'tsdistcc-hosts-')), 'hosts');
  writeFileSync(path, text);
  return path;
}

const names = machineNames(
  'box',
  hostsFile(
    '127.0.0.1\tlocalhost\n127.0.1.1\tbox.example.org box  # this host\n10.0.0.9 other.example.org other\n',
  ),
);

/** What the port decides for a raw request head: the refused Host, or undefined. */
function refused(head: string): string | undefined {
  const buf = Buffer.from(head, 'latin1');
  return misdirectedHost(buf, parseRequestHead(buf)?.authority, names);
}

test("this machine's names: host name, short form, .local, its /etc/hosts line", () => {
  assert.deepEqual([...names].sort(), ['box', 'box.example.org', 'box.local']);
  assert.deepEqual([...machineNames('Box.Example.ORG.', '/nonexistent/hosts')].sort(), [
    'box',
    'box.example.org',
    'box.local',
  ]);
});

test('Host values: addresses and names of this machine are answered', () => {
  for (const host of [
    '127.0.0.1',
    '127.0.0.1:3633',
    '192.168.7.20:3633',
    '[::1]',
    '[::1]:3633',
    '[fe80::1]:80',
    'localhost',
    'LOCALHOST:3633',
    'localhost.',
    'ui.localhost:3633',
    'box',
    'Box:3633',
    'box.example.org',
    'box.example.org.:3633',
    'box.local',
    hostname(),
  ]) {
    assert.equal(refused(`GET /jobs HTTP/1.1\r\nHost: ${host}\r\n\r\n`), undefined, host);
  }
});

test('no Host (HTTP/1.0, tsdistccmon, distccd clients) or an empty one is answered', () => {
  assert.equal(refused('GET /jobs HTTP/1.0\r\n\r\n'), undefined);
  assert.equal(refused('GET /jobs HTTP/1.1\r\nAccept: */*\r\n\r\n'), undefined);
  assert.equal(refused('GET /jobs HTTP/1.1\r\nHost:\r\n\r\n'), undefined);
  assert.equal(refused('GET /\n\n'), undefined);
});

test('other names, malformed values, two Hosts and absolute targets elsewhere are refused', () => {
  const cases: [string, string][] = [
    ['GET /jobs HTTP/1.1\r\nHost: evil.example\r\n\r\n', 'evil.example'],
    ['GET /jobs HTTP/1.1\r\nhOsT:  evil.example:3633 \r\n\r\n', 'evil.example:3633'],
    ['GET /jobs HTTP/1.1\nHost: other.example.org\n\n', 'other.example.org'],
    ['GET /jobs HTTP/1.1\r\nHost: box.evil.example\r\n\r\n', 'box.evil.example'],
    ['GET /jobs HTTP/1.1\r\nHost: localhost.evil.example\r\n\r\n', 'localhost.evil.example'],
    ['GET /jobs HTTP/1.1\r\nHost: 127.0.0.1.nip.io\r\n\r\n', '127.0.0.1.nip.io'],
    ['GET /jobs HTTP/1.1\r\nHost: [evil.example]\r\n\r\n', '[evil.example]'],
    ['GET /jobs HTTP/1.1\r\nHost: a@127.0.0.1\r\n\r\n', 'a@127.0.0.1'],
    [
      'GET /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\n\r\n',
      '127.0.0.1, evil.example',
    ],
    ['GET http://evil.example/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'evil.example'],
    ['GET http://evil.example:3633/jobs HTTP/1.0\r\n\r\n', 'evil.example:3633'],
  ];
  for (const [head, host] of cases) assert.equal(refused(head), host, JSON.stringify(head));
  assert.equal(refused('GET http://127.0.0.1:3633/jobs HTTP/1.1\r\nHost: box\r\n\r\n'), undefined);
});

test('Host headers are read from complete lines of the head only', () => {
  assert.deepEqual(hostHeaders(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\nHost: b')), [
    'a',
  ]);
  assert.deepEqual(hostHeaders(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nHost: b')), ['a']);
  assert.deepEqual(hostHeaders(Buffer.from('Host: a\r\n\r\n')), [], 'not on the request line');
  assert.equal(hostOfAuthority('[::1]:3633'), '::1');
  assert.equal(hostOfAuthority('Box:1'), 'box');
  assert.equal(hostOfAuthority('a b'), undefined);
  assert.equal(hostOfAuthority('[::g]'), undefined);
});
