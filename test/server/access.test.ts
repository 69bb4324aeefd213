import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isAllowed,
  parseAllowRule,
  PRIVATE_RANGES,
  type AllowRule,
} from '../../src/server/access.js';

function rules(...texts: string[]): AllowRule[] {
  return texts.map((t) => {
    const r = parseAllowRule(t);
    if (typeof r === 'string') throw new Error(r);
    return r;
  });
}

test('IPv4 addresses and CIDRs', () => {
  const r = rules('127.0.0.1', '192.168.0.0/24');
  assert.equal(isAllowed(r, '127.0.0.1'), true);
  assert.equal(isAllowed(r, '127.0.0.2'), false);
  assert.equal(isAllowed(r, '192.168.0.77'), true);
  assert.equal(isAllowed(r, '192.168.1.1'), false);
});

test('IPv4-mapped IPv6 clients match IPv4 rules (distcc PR #444)', () => {
  const r = rules('192.168.0.0/24');
  assert.equal(isAllowed(r, '::ffff:192.168.0.9'), true);
  assert.equal(isAllowed(r, '::ffff:10.0.0.1'), false);
});

test('IPv6 rules', () => {
  const r = rules('::1', 'fd00::/8');
  assert.equal(isAllowed(r, '::1'), true);
  assert.equal(isAllowed(r, 'fd12::5'), true);
  assert.equal(isAllowed(r, 'fe80::1'), false);
  assert.equal(isAllowed(r, '127.0.0.1'), false);
});

test('--allow-private ranges', () => {
  const r = rules(...PRIVATE_RANGES);
  for (const a of [
    '10.1.2.3',
    '172.16.5.5',
    '192.168.9.9',
    '127.0.0.5',
    '::1',
    'fe80::1',
    'fd00::1',
  ]) {
    assert.equal(isAllowed(r, a), true, a);
  }
  for (const a of ['8.8.8.8', '172.32.0.1', '2001:db8::1']) assert.equal(isAllowed(r, a), false, a);
});

test('a bad rule is an error naming what was expected', () => {
  assert.match(
    parseAllowRule('300.1.1.1') as string,
    /--allow takes an IPv4 or IPv6 address .* got `300.1.1.1`/,
  );
  assert.match(parseAllowRule('10.0.0.0/33') as string, /got `10.0.0.0\/33`/);
  assert.equal(isAllowed(rules('127.0.0.1'), undefined), false);
});

test('clientAddress shows an IPv4-mapped client as IPv4 and leaves others as they are', async () => {
  const { clientAddress } = await import('../../src/server/access.js');
  assert.equal(clientAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.equal(clientAddress('::FFFF:192.168.0.9'), '192.168.0.9');
  assert.equal(clientAddress('127.0.0.1'), '127.0.0.1');
  assert.equal(clientAddress('::1'), '::1');
  assert.equal(clientAddress('fe80::1'), 'fe80::1');
  assert.equal(clientAddress(undefined), undefined);
});
