// The --allow list (distcc src/access.c), with ipaddr.js: IPv4 and IPv6
// CIDRs; an IPv4-mapped IPv6 client (::ffff:a.b.c.d) is matched against the
// IPv4 rules as well (distcc PR #444).

import ipaddr from 'ipaddr.js';

export type AllowRule = Readonly<{ text: string; range: [ipaddr.IPv4 | ipaddr.IPv6, number] }>;

export const PRIVATE_RANGES = [
  '192.168.0.0/16',
  '10.0.0.0/8',
  '172.16.0.0/12',
  '127.0.0.0/8',
  'fe80::/10',
  'fc00::/7',
  '::1/128',
] as const;

/** Parses `IP` or `IP/BITS`; returns an error text for a bad one. */
export function parseAllowRule(text: string): AllowRule | string {
  try {
    if (text.includes('/')) return { text, range: ipaddr.parseCIDR(text) };
    const addr = ipaddr.parse(text);
    return { text, range: [addr, addr.kind() === 'ipv4' ? 32 : 128] };
  } catch {
    return `--allow takes an IPv4 or IPv6 address with an optional /BITS mask, got \`${text}\``;
  }
}

/**
 * A client's address as logs, /jobs, /ui and tsdistccmon show it: an
 * IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, what a socket listening on
 * all addresses reports for an IPv4 client) as the IPv4 address it is.
 */
export function clientAddress<T extends string | undefined>(address: T): T {
  if (address === undefined || !address.includes(':')) return address;
  try {
    const addr = ipaddr.parse(address);
    if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
      return (addr as ipaddr.IPv6).toIPv4Address().toString() as T;
    }
  } catch {
    /* not an address: shown as it is */
  }
  return address;
}

export function isAllowed(rules: readonly AllowRule[], address: string | undefined): boolean {
  if (address === undefined) return false;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.parse(address);
  } catch {
    return false;
  }
  const candidates: (ipaddr.IPv4 | ipaddr.IPv6)[] = [addr];
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    candidates.push((addr as ipaddr.IPv6).toIPv4Address());
  }
  return rules.some(({ range }) =>
    candidates.some((a) => a.kind() === range[0].kind() && a.match(range)),
  );
}
