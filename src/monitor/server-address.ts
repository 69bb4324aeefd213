// `--server HOST[:PORT]`: a host name, an IPv4 address, or an IPv6 address
// (bare, or in brackets when a port follows). The port defaults to the
// stats port of a daemon on the default port (3633 for 3632; a daemon on
// port N serves its stats on N + 1, as defaultStatsPort says).

import { DEFAULT_PORT, defaultStatsPort } from '../cli/daemon-options.js';

export const DEFAULT_STATS_PORT = defaultStatsPort(DEFAULT_PORT);

export type ServerAddress = Readonly<{ host: string; port: number }>;

function port(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** The address, or undefined if `text` is not HOST[:PORT]. */
export function parseServerAddress(text: string): ServerAddress | undefined {
  const bracketed = text.match(/^\[([0-9A-Fa-f:.]+)\](?::(.*))?$/);
  if (bracketed) {
    const p = bracketed[2] === undefined ? DEFAULT_STATS_PORT : port(bracketed[2]);
    return p === undefined ? undefined : { host: bracketed[1]!, port: p };
  }
  const colons = text.split(':').length - 1;
  if (colons > 1) {
    return /^[0-9A-Fa-f:.]+$/.test(text) ? { host: text, port: DEFAULT_STATS_PORT } : undefined;
  }
  const [host = '', portText] = text.split(':');
  if (!/^[A-Za-z0-9._-]+$/.test(host)) return undefined;
  const p = portText === undefined ? DEFAULT_STATS_PORT : port(portText);
  return p === undefined ? undefined : { host, port: p };
}

/** How to write it back: brackets around an IPv6 address. */
export function formatServerAddress(a: ServerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
