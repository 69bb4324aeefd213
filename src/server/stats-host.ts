// The stats port answers only requests addressed to this machine. A page
// from evil.example whose name the attacker then points at this machine's
// address (DNS rebinding) would otherwise be same-origin with /jobs for a
// browser on an allowed host, and read it. Such a browser sends the
// attacker's name as Host; names it cannot rebind are let through:
//   - no Host at all (HTTP/1.0, distccd's clients, tsdistccmon) or an empty one;
//   - IP literals, v4 or [v6], with or without a port;
//   - localhost and *.localhost (browsers resolve those to loopback themselves);
//   - this machine's host name, its short form, SHORT.local (what Avahi
//     announces) and the names /etc/hosts gives this host (its FQDN there).
// An absolute-form request target (`GET http://NAME/jobs`) is checked as Host.

import { readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { hostname } from 'node:os';

/** The names of this machine in /etc/hosts: those on a line that names `short` or `full`. */
function hostsFileNames(short: string, full: string, file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const line of text.split('\n')) {
    const words = line.replace(/#.*/, '').trim().toLowerCase().split(/\s+/).slice(1);
    if (words.includes(short) || words.includes(full)) names.push(...words);
  }
  return names;
}

/** This machine's names, lower case, without a trailing dot. */
export function machineNames(name: string = hostname(), hostsFile = '/etc/hosts'): Set<string> {
  const full = name.toLowerCase().replace(/\.$/, '');
  const short = full.split('.')[0]!;
  const names = new Set([full, short, `${short}.local`]);
  for (const n of hostsFileNames(short, full, hostsFile)) names.add(n.replace(/\.$/, ''));
  names.delete('');
  return names;
}

/** The host of a Host value or authority (`[::1]:3633` gives `::1`), or undefined if malformed. */
export function hostOfAuthority(value: string): string | undefined {
  const v6 = value.match(/^\[([0-9A-Fa-f:.]+)\](?::\d{0,5})?$/);
  if (v6) return isIPv6(v6[1]!) ? v6[1]! : undefined;
  const m = value.match(/^([A-Za-z0-9._-]+)(?::\d{0,5})?$/);
  return m ? m[1]!.toLowerCase() : undefined;
}

/** Whether `host` (from hostOfAuthority) is an address or a name of this machine. */
export function isThisMachine(host: string, names: ReadonlySet<string>): boolean {
  if (isIPv4(host) || isIPv6(host)) return true;
  const h = host.replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  return names.has(h) || h === hostname().toLowerCase();
}

/** The values of every Host header in a request head (complete lines only). */
export function hostHeaders(head: Buffer): string[] {
  const text = head.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const lines = (end === -1 ? text.slice(0, text.lastIndexOf('\n')) : text.slice(0, end)).split(
    '\n',
  );
  const values: string[] = [];
  for (const line of lines.slice(1)) {
    const m = line.replace(/\r$/, '').match(/^host[ \t]*:(.*)$/i);
    if (m) values.push(m[1]!.trim());
  }
  return values;
}

/**
 * Why the request must be refused: the Host (or target authority) that is
 * not this machine's, as sent; undefined if the request may be answered.
 */
export function misdirectedHost(
  head: Buffer,
  authority: string | undefined,
  names: ReadonlySet<string>,
): string | undefined {
  const hosts = hostHeaders(head);
  if (hosts.length > 1) return hosts.join(', ');
  const given = [...(authority !== undefined ? [authority] : []), ...hosts];
  for (const value of given) {
    if (value === '') continue;
    const host = hostOfAuthority(value);
    if (host === undefined || !isThisMachine(host, names)) return value;
  }
  return undefined;
}
