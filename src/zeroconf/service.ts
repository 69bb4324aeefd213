// What distcc puts in DNS-SD and reads back (distcc src/zeroconf-reg.c,
// src/zeroconf.c, src/zeroconf-util.c), with no D-Bus in it.

import { confinedCommand, type Command, type HowToRun } from '../compiler/confinement.js';
import { outputOf } from '../system/spawn.js';

export const SERVICE_TYPE = '_distcc._tcp';

/** Avahi's constants (avahi-common/defs.h). */
export const AVAHI = {
  name: 'org.freedesktop.Avahi',
  IF_UNSPEC: -1,
  PROTO_UNSPEC: -1,
  PROTO_INET6: 1,
  server: { REGISTERING: 1, RUNNING: 2, COLLISION: 3 },
  group: { UNCOMMITTED: 0, REGISTERING: 1, ESTABLISHED: 2, COLLISION: 3, FAILURE: 4 },
} as const;

export type CompilerIdentity = Readonly<{ machine: string; version: string }>;

/** distcc's strip_bad_chars(): a-z and 0-9 stay, A-Z are lowered, the rest become `-`. */
function stripBadChars(s: string): string {
  return s.replace(/[^a-z0-9]/g, (c) => (c >= 'A' && c <= 'Z' ? c.toLowerCase() : '-'));
}

/** `_<machine>--<version>._sub._distcc._tcp`, each part cut to 63 bytes as distcc does. */
export function subtypeFor(id: CompilerIdentity): string {
  return `_${stripBadChars(id.machine.slice(0, 63))}--${stripBadChars(id.version.slice(0, 63))}._sub.${SERVICE_TYPE}`;
}

/** `distcc@<hostname>`, distccd's service name (renamed by Avahi on collision). */
export function serviceName(hostname: string): string {
  return `distcc@${hostname}`.slice(0, 63);
}

/** The GNU triple distccd was configured for (its `gnuhost`), from Node's view of this machine. */
export function gnuHost(arch: string = process.arch): string {
  const cpu =
    { x64: 'x86_64', ia32: 'i686', arm64: 'aarch64', arm: 'arm', ppc64: 'powerpc64le' }[arch] ??
    arch;
  return `${cpu}-pc-linux-gnu`;
}

/** distccd 3.4's TXT records, in its order; cc_* only when the compiler answered. */
export function txtRecords(o: {
  cpus: number;
  jobs: number;
  version: string;
  compiler?: CompilerIdentity;
}): string[] {
  return [
    'txtvers=1',
    `cpus=${o.cpus}`,
    `jobs=${o.jobs}`,
    `distcc=${o.version}`,
    `gnuhost=${gnuHost()}`,
    ...(o.compiler ? [`cc_version=${o.compiler.version}`, `cc_machine=${o.compiler.machine}`] : []),
  ];
}

/** TXT byte strings as `key=value` pairs (avahi_string_list_get_pair). */
export function parseTxt(txt: readonly (Buffer | Uint8Array | number[])[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const raw of txt) {
    const s = Buffer.from(raw as Uint8Array).toString('utf8');
    const eq = s.indexOf('=');
    if (eq === -1) map.set(s, '');
    else map.set(s.slice(0, eq), s.slice(eq + 1));
  }
  return map;
}

/** C atoi(). */
function atoi(s: string | undefined): number {
  const m = /^\s*([+-]?\d+)/.exec(s ?? '');
  return m ? Number.parseInt(m[1]!, 10) : 0;
}

/** Slots for a resolved service, as distcc's resolve_reply() counts them: `jobs` if given
 *  (4 x cpus when it is not positive), else 4. */
export function slotsFromTxt(txt: Map<string, string>): number {
  let cpus = 1;
  if (txt.has('cpus')) {
    cpus = atoi(txt.get('cpus'));
    if (cpus <= 0) cpus = 1;
  }
  let jobs = 4;
  if (txt.has('jobs')) {
    jobs = atoi(txt.get('jobs'));
    if (jobs <= 0) jobs = 4 * cpus;
  }
  return jobs;
}

/** One line of $DISTCC_DIR/zeroconf/hosts, as distcc's write_hosts() prints it. */
export function hostsLine(address: string, port: number, slots: number, inet6: boolean): string {
  return inet6 ? `[${address}]:${port}/${slots}\n` : `${address}:${port}/${slots}\n`;
}

/** The first word of a command's output (distcc read_string_from_popen). */
function firstWord(text: string): string {
  return text.split(/[ \t\n\r]/, 1)[0] ?? '';
}

async function output(command: Command, opts: ProbeOptions): Promise<string | undefined> {
  const { argv, uid, gid } = command;
  const text = await outputOf(argv, {
    env: opts.env,
    timeout: 10_000,
    ...(uid !== undefined ? { uid } : {}),
    ...(gid !== undefined ? { gid } : {}),
  });
  const word = text === undefined ? '' : firstWord(text);
  return word === '' ? undefined : word;
}

export type ProbeOptions = Readonly<{
  /** The compiler to ask: distcc asks `cc`. */
  compiler?: string;
  env: NodeJS.ProcessEnv;
  /** How the daemon runs its compilers (its runner): the compiler is asked the same way.
   *  None for the client's own compilers: they run as the client does. */
  runs?: HowToRun;
}>;

function probe(o: ProbeOptions, arg: string): Command {
  return confinedCommand(o.runs ?? { confinement: {} }, [o.compiler ?? 'cc', arg]);
}

/** The command that runs `compiler ARG` the way the instance runs its compilers. */
export function probeCommand(o: ProbeOptions, arg: string): string[] {
  return [...probe(o, arg).argv];
}

/** `cc -dumpmachine` and `cc -dumpversion`, or undefined if either fails. */
export async function probeCompiler(o: ProbeOptions): Promise<CompilerIdentity | undefined> {
  const [machine, version] = await Promise.all([
    output(probe(o, '-dumpmachine'), o),
    output(probe(o, '-dumpversion'), o),
  ]);
  return machine !== undefined && version !== undefined ? { machine, version } : undefined;
}
