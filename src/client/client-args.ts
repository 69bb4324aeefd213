// What the client does to a compiler command line before it goes anywhere
// (distcc src/arg.c, src/strip.c, src/cpp.c, src/compile.c): expand -Wp,
// dependency options, make the preprocessor's command, strip what only the
// local preprocessor needs, and distcc's cross-compiler rewrite.

import { accessSync, constants, lstatSync, readlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ScanResult } from '../compiler/args.js';

type Distributable = Extract<ScanResult, { distributable: true }>;

/** `-Wp,-MD,f` and `-Wp,-MMD,f` become `-MD -MF f` (distcc dcc_expand_preprocessor_options). */
export function expandPreprocessorOptions(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (const a of argv) {
    const m = /^-Wp,(-MD|-MMD),(.+)$/.exec(a);
    if (m && !m[2]!.includes(',')) out.push(m[1]!, '-MF', m[2]!);
    else out.push(a);
  }
  return out;
}

/** The command with its output named, as the server gets it: distcc appends `-o` when implied. */
export function withOutput(argv: readonly string[], scan: Distributable): string[] {
  return scan.outputAt ? [...argv] : [...argv, '-o', scan.output];
}

/** The dependency file gcc itself would write for `-MD`/`-MMD` with this output. */
function impliedDepFile(output: string): string {
  const base = basename(output);
  const dot = base.lastIndexOf('.');
  return join(dirname(output), `${dot > 0 ? base.slice(0, dot) : base}.d`);
}

/**
 * The preprocessor's command: `-o` removed, `-c`/`-S` turned into `-E`
 * (distcc dcc_strip_dasho, dcc_set_action_opt); output goes to stdout. When
 * the command asks for a dependency file without naming it (or its target),
 * name them as the compiler would with the `-o` that was removed: distcc 3.4
 * leaves them to cpp, which writes `./x.d` with target `x.o` — not what a
 * local build gives. Takes the command before -Wp, expansion: `-Wp,-MD,f`
 * goes to cpp as it is, and cpp's own defaults are what a local build gets.
 */
export function preprocessorArgv(argv: readonly string[], output: string): string[] {
  const out: string[] = [];
  let wantsDeps = false;
  let namesFile = false;
  let namesTarget = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (i > 0 && a === '-o') {
      i++;
      continue;
    }
    if (i > 0 && a.startsWith('-o')) continue;
    if (i > 0 && (a === '-c' || a === '-S')) {
      out.push('-E');
      continue;
    }
    if (a === '-MD' || a === '-MMD') wantsDeps = true;
    if (a.startsWith('-MF')) namesFile = true;
    if (a.startsWith('-MT') || a.startsWith('-MQ')) namesTarget = true;
    out.push(a);
  }
  if (wantsDeps && !namesFile) out.push('-MF', impliedDepFile(output));
  if (wantsDeps && !namesTarget) out.push('-MQ', output);
  return out;
}

const STRIP_TWO = new Set([
  '-D',
  '-I',
  '-U',
  '-L',
  '-l',
  '-MF',
  '-MT',
  '-MQ',
  '-include',
  '-imacros',
  '-iprefix',
  '-iwithprefix',
  '-isystem',
  '-iwithprefixbefore',
  '-idirafter',
  '-Xpreprocessor',
]);
const STRIP_PREFIX = [
  '-Wp,',
  '-Wl,',
  '-D',
  '-U',
  '-I',
  '-l',
  '-L',
  '-MF',
  '-MT',
  '-MQ',
  '-isystem',
  '-stdlib',
];
const STRIP_ONE = new Set(['-undef', '-nostdinc', '-nostdinc++', '-MD', '-MMD', '-MG', '-MP']);

/** The server's command: preprocessor-only options removed (distcc dcc_strip_local_args). */
export function stripLocalArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (i > 0) {
      if (STRIP_TWO.has(a)) {
        i++;
        continue;
      }
      if (STRIP_ONE.has(a) || STRIP_PREFIX.some((p) => a.startsWith(p))) continue;
    }
    out.push(a);
  }
  return out;
}

/** distcc's GNU_HOST: the triple its configure saw. Ours is the machine Node runs on. */
export function gnuHost(arch: string = process.arch): string {
  switch (arch) {
    case 'x64':
      return 'x86_64-pc-linux-gnu';
    case 'ia32':
      return 'i686-pc-linux-gnu';
    case 'arm64':
      return 'aarch64-unknown-linux-gnu';
    case 'arm':
      return 'arm-unknown-linux-gnueabihf';
    default:
      return `${arch}-unknown-linux-gnu`;
  }
}

export function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Like distcc's dcc_gcc_rewrite_fqn PATH walk: an empty entry ends the
 * search (compiler/environment.ts findOnPath skips it instead).
 */
function findOnPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(':')) {
    if (dir === '') return undefined;
    if (executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** `cc`/`c++` resolved through their /usr/bin symlink to gcc, g++, clang or clang++. */
function genericCompiler(name: string, path: string | undefined): string {
  const cpp = name === 'c++';
  if (name !== 'cc' && !cpp) return name;
  const found = findOnPath(name, path);
  if (!found) return name;
  try {
    if (!lstatSync(found).isSymbolicLink()) return name;
    let target = readlinkSync(found);
    const alternative = cpp ? '/etc/alternatives/c++' : '/etc/alternatives/cc';
    if (target === alternative) target = readlinkSync(alternative);
    const resolved = resolve(dirname(found), target);
    if (!executable(resolved)) return name;
    const real = basename(target);
    if (cpp && (real === 'clang++' || real === 'g++')) return real;
    if (!cpp && (real === 'clang' || real === 'gcc')) return real;
  } catch {
    /* not a symlink we can follow: keep the name */
  }
  return name;
}

/**
 * distcc's rewrite for cross-compilation (src/compile.c): `cc`/`c++` to the
 * compiler they link to, `clang*` gets `-target <triple>`, `gcc`/`g++`
 * become `<triple>-gcc` when that exists on PATH. Off with DISTCC_NO_REWRITE_CROSS.
 */
export function rewriteCompiler(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  triple = gnuHost(),
): string[] {
  if (env.DISTCC_NO_REWRITE_CROSS !== undefined) return [...argv];
  const out = [...argv];
  out[0] = genericCompiler(out[0]!, env.PATH);
  const name = out[0];
  if (/^clang(\+\+)?(-|$)/.test(name) && !out.includes('-target')) {
    out.push('-target', triple);
  }
  if (/^(gcc|g\+\+)(-|$)/.test(name)) {
    const full = `${triple.replace('-pc-', '-')}-${name}`;
    if (findOnPath(full, env.PATH)) out[0] = full;
  }
  return out;
}
