// The DISTCC_HOSTS grammar, parsed as distcc 3.4 parses it (distcc src/hosts.c
// dcc_parse_hosts), quirks included, so that a list means the same thing to
// tsdistcc as to distcc. Checked word for word against Debian's distcc 3.4
// (built with Avahi and GSS-API) by test/client/hosts.test.ts.
//
// Like the C scanner, each host is parsed from its first character on through
// the rest of the text, not from a copy of its word: the word (`spec`, what
// `distcc --show-hosts` prints) ends at whitespace or `#`, but the parts read
// from it stop only at their own separators. So `a#x` lists as `a` yet names
// host `a#x`, `a:300#x` is a bad port, and `a: 300` is host `a:` on port 300
// followed by host `300`.

import { BadHostSpecError } from '../errors.js';

export type HostOptions = { lzo: boolean; cpp: boolean; down: boolean; auth?: string | true };
export type HostDef =
  | { kind: 'local'; slots: number; spec: string }
  | ({ kind: 'tcp'; host: string; port: number; slots: number; spec: string } & HostOptions)
  | ({
      kind: 'ssh';
      user?: string;
      host: string;
      command?: string;
      slots: number;
      spec: string;
    } & HostOptions);
export type HostList = {
  hosts: HostDef[];
  /** `--randomize` seen: the caller shuffles; `hosts` is in written order. */
  randomize: boolean;
  /** `--localslots=N`, default 4. */
  localSlots: number;
  /** `--localslots_cpp=N`, default 8. */
  localSlotsCpp: number;
  /** `+zeroconf` seen: the caller adds the hosts Avahi finds (and, if there are none and `hosts`
   *  is empty, fails as distcc does). */
  zeroconf: boolean;
  /** Where `+zeroconf` stood: the index in `hosts` its hosts go in at. */
  zeroconfAt?: number;
};

const DEFAULT_PORT = 3632;
const LOCAL_SLOTS = 2;
const REMOTE_SLOTS = 4;

// C isspace() in the C locale; a word ends at the set strcspn() is given.
const SPACE = ' \t\n\v\f\r';
const WORD_END = ' #\t\n\f\r';
// dcc_dup_part() separators: host name (and auth name), bracketed IPv6, ssh command.
const HOST_END = '/: \t\n\r\f,';
const V6_END = '/] \t\n\r\f,';
const COMMAND_END = ' \t\n\r\f,';

function isIn(set: string, c: string): boolean {
  return c !== '' && set.includes(c);
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9' && c.length === 1;
}

/** Index of the first character at or after `from` that is in `set`, or the end. */
function span(text: string, from: number, set: string): number {
  let i = from;
  while (i < text.length && !set.includes(text.charAt(i))) i++;
  return i;
}

/** glibc strtol(s, &end, 10) stored into an int (atoi too): leading space and a sign are
 *  skipped, no digits gives 0 with `end` back at `from`, overflow saturates to a long and
 *  the int keeps the low 32 bits. */
function cInt(text: string, from: number): { value: number; end: number } {
  let i = from;
  while (isIn(SPACE, text.charAt(i))) i++;
  const sign = text.charAt(i) === '-' ? -1n : 1n;
  if (text.charAt(i) === '-' || text.charAt(i) === '+') i++;
  const digits = i;
  while (isDigit(text.charAt(i))) i++;
  if (i === digits) return { value: 0, end: from };
  const long = sign * BigInt(text.slice(digits, i));
  const saturated =
    long > 2n ** 63n - 1n ? 2n ** 63n - 1n : long < -(2n ** 63n) ? -(2n ** 63n) : long;
  return { value: Number(BigInt.asIntN(32, saturated)), end: i };
}

type Multiplier = { end: number; slots?: number; zero?: true };

/** dcc_parse_multiplier: `/N` or `=N` at `at`, else nothing. atoi() reads N (so `/ 3`, `/-1`
 *  and `/3x` count), only the digits right after the `/` are stepped over, and 0 is refused. */
function readMultiplier(text: string, at: number): Multiplier {
  const c = text.charAt(at);
  if (c !== '/' && c !== '=') return { end: at };
  const { value } = cInt(text, at + 1);
  if (value === 0) return { end: at, zero: true };
  let end = at + 1;
  while (isDigit(text.charAt(end))) end++;
  return { end, slots: value };
}

type Word = { text: string; start: number; spec: string; source: string };

function bad(word: Word, problem: string, expected: string): BadHostSpecError {
  return new BadHostSpecError(
    `${word.source}: ${problem} in \`${word.spec}\`; expected ${expected}`,
  );
}

function multiplier(word: Word, at: number, slots: number): { end: number; slots: number } {
  const m = readMultiplier(word.text, at);
  if (m.zero) {
    const found = word.text.slice(at, span(word.text, at, WORD_END));
    throw bad(word, `bad multiplier \`${found}\``, 'a non-zero number of slots after `/` or `=`');
  }
  return { end: m.end, slots: m.slots ?? slots };
}

/** dcc_parse_options: `,lzo`, `,cpp`, `,down`, `,auth`, `,auth=NAME`, matched as prefixes
 *  (so `,lzox` is `,lzo` and the `x` is ignored); the first character that is not `,` ends
 *  them. `,cpp` needs `,lzo` (dcc_get_protover_from_features). */
function options(word: Word, at: number): HostOptions {
  const { text } = word;
  const found: HostOptions = { lzo: false, cpp: false, down: false };
  let authName: string | undefined;
  let p = at;
  while (text.charAt(p) === ',') {
    p++;
    if (text.startsWith('lzo', p)) {
      found.lzo = true;
      p += 3;
    } else if (text.startsWith('down', p)) {
      found.down = true;
      p += 4;
    } else if (text.startsWith('cpp', p)) {
      found.cpp = true;
      p += 3;
    } else if (text.startsWith('auth', p)) {
      // Debian builds with GSS-API; `auth=` with no name is plain `auth`.
      found.auth = true;
      p += 4;
      if (text.charAt(p) === '=') {
        const end = span(text, p + 1, HOST_END);
        authName = end > p + 1 ? text.slice(p + 1, end) : undefined;
        p = end;
      }
    } else {
      const option = text.slice(p, span(text, p, ',' + WORD_END));
      throw bad(word, `unknown option \`,${option}\``, '`,lzo`, `,cpp`, `,down` or `,auth[=NAME]`');
    }
  }
  if (found.cpp && !found.lzo) {
    throw bad(word, 'pump mode `,cpp` without compression', '`,cpp` together with `,lzo`');
  }
  if (authName !== undefined) found.auth = authName;
  return found;
}

function hostRequired(word: Word, kind: string): BadHostSpecError {
  return bad(word, `no host name`, `a host name in a ${kind} host such as \`HOST:PORT/N\``);
}

function parseLocal(word: Word): HostDef {
  const { slots } = multiplier(word, word.start + 'localhost'.length, LOCAL_SLOTS);
  return { kind: 'local', slots, spec: word.spec };
}

/** [USER]@HOST[/N][:COMMAND][,opts] (dcc_parse_ssh_host). */
function parseSsh(word: Word): HostDef {
  const { text, start } = word;
  const at = text.indexOf('@', start);
  const hostEnd = span(text, at + 1, HOST_END);
  if (hostEnd === at + 1) throw hostRequired(word, 'ssh');
  const m = multiplier(word, hostEnd, REMOTE_SLOTS);
  let p = m.end;
  let command: string | undefined;
  if (text.charAt(p) === ':') {
    const end = span(text, p + 1, COMMAND_END);
    if (end > p + 1) command = text.slice(p + 1, end);
    p = end;
  }
  return {
    kind: 'ssh',
    ...(at > start ? { user: text.slice(start, at) } : {}),
    host: text.slice(at + 1, hostEnd),
    ...(command !== undefined ? { command } : {}),
    slots: m.slots,
    spec: word.spec,
    ...options(word, p),
  };
}

/** HOST[/N][:PORT][/N][,opts], HOST a name, IPv4 or [IPv6] (dcc_parse_tcp_host). A bare IPv6
 *  address is read as HOST:PORT, so `fe80::1` is refused and `::1` has no host name. */
function parseTcp(word: Word): HostDef {
  const { text, start } = word;
  let p = start;
  let host: string;
  if (text.charAt(p) === '[') {
    const end = span(text, p + 1, V6_END);
    host = text.slice(p + 1, end);
    if (text.charAt(end) !== ']') {
      throw bad(word, 'an IPv6 address without its closing `]`', '`[ADDRESS]`');
    }
    p = end + 1;
  } else {
    const end = span(text, p, HOST_END);
    host = text.slice(p, end);
    p = end;
  }
  if (host === '') throw hostRequired(word, 'TCP');
  let m = multiplier(word, p, REMOTE_SLOTS);
  p = m.end;
  let port = DEFAULT_PORT;
  if (text.charAt(p) === ':') {
    const n = cInt(text, p + 1);
    const after = text.charAt(n.end);
    if (after !== '' && !isIn(SPACE, after) && after !== '/' && after !== ',') {
      // The port is read past the word's end, so `a:300#x` has a bad port.
      const found = text.slice(p, span(text, p, SPACE));
      const expected =
        after === '#'
          ? 'whitespace between the port and a `#` comment'
          : 'a decimal port number after `:`';
      throw bad(word, `bad port \`${found}\``, expected);
    }
    port = n.value;
    p = n.end;
  }
  m = multiplier(word, p, m.slots);
  return { kind: 'tcp', host, port, slots: m.slots, spec: word.spec, ...options(word, m.end) };
}

/** The global keywords; false if the word is a host after all (dcc_parse_hosts). A keyword
 *  is matched as a prefix, and a `--localslots` whose multiplier is refused falls through:
 *  `--localslots_cpp=0` to `--localslots`, which ignores it, and `--localslots=0` to a host. */
function keyword(word: Word, list: HostList): boolean {
  const { text, start } = word;
  if (text.startsWith('--randomize', start)) {
    list.randomize = true;
    return true;
  }
  if (text.startsWith('--localslots_cpp', start)) {
    const m = readMultiplier(text, start + 16);
    if (!m.zero) {
      list.localSlotsCpp = m.slots ?? list.localSlotsCpp;
      return true;
    }
  }
  if (text.startsWith('--localslots', start)) {
    const m = readMultiplier(text, start + 12);
    if (!m.zero) {
      list.localSlots = m.slots ?? list.localSlots;
      return true;
    }
  }
  // Only in builds with Avahi, as Debian's is; the word must be exactly this.
  if (word.spec === '+zeroconf') {
    list.zeroconf = true;
    list.zeroconfAt ??= list.hosts.length;
    return true;
  }
  return false;
}

export function parseHosts(text: string, source: string): HostList {
  // A hosts file is read as a C string: a NUL ends it.
  const nul = text.indexOf('\0');
  const all = nul === -1 ? text : text.slice(0, nul);
  const list: HostList = {
    hosts: [],
    randomize: false,
    localSlots: 4,
    localSlotsCpp: 8,
    zeroconf: false,
  };
  let i = 0;
  while (i < all.length) {
    const c = all.charAt(i);
    if (c === '#') {
      i = span(all, i, '\n\r');
    } else if (isIn(SPACE, c)) {
      i++;
    } else {
      const end = span(all, i, WORD_END);
      const word: Word = { text: all, start: i, spec: all.slice(i, end), source };
      if (!keyword(word, list)) list.hosts.push(parseHost(word));
      i = end;
    }
  }
  if (list.hosts.length === 0 && !list.zeroconf) {
    throw new BadHostSpecError(
      `${source} contains no hosts; expected words such as \`localhost/2 HOST:PORT/N,lzo\``,
    );
  }
  return list;
}

function parseHost(word: Word): HostDef {
  const after = word.text.charAt(word.start + 'localhost'.length);
  if (word.text.startsWith('localhost', word.start) && (word.spec.length === 9 || after === '/')) {
    return parseLocal(word);
  }
  return word.spec.includes('@') ? parseSsh(word) : parseTcp(word);
}

export function protocolVersion(host: HostDef): 1 | 2 | 3 {
  if (host.kind === 'local' || !host.lzo) return 1;
  return host.cpp ? 3 : 2;
}

/** distcc's display name for locks/state: hostname only ("localhost" for local). */
export function displayName(host: HostDef): string {
  return host.kind === 'local' ? 'localhost' : host.host;
}
