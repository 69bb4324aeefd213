// How tsdistcc was called (distcc src/distcc.c, implicit.c, climasq.c,
// safeguard.c): by its own name with a compiler command after it, with no
// compiler at all (`tsdistcc -c x.c` means `cc`), or masquerading as the
// compiler through a symlink named `gcc` in a directory early on PATH. In the
// last case PATH is cut after that directory, so the real compiler is the
// next one found, and _DISTCC_SAFEGUARD keeps a compiler that calls back into
// the masquerade directory from looping.

import { basename, dirname, resolve } from 'node:path';
import { isSource } from '../compiler/args.js';
import { executable } from './client-args.js';

export type Invocation =
  | { kind: 'option'; option: '--help' | '--version' | '--show-hosts' | '-j' }
  | { kind: 'usage-error'; message: string }
  | { kind: 'compile'; argv: string[]; masqueraded: boolean; pathTweaked: boolean };

/** The recursion level this process runs at (distcc dcc_recursion_safeguard). */
export function safeguardLevel(env: NodeJS.ProcessEnv): number {
  const level = parseInt(env._DISTCC_SAFEGUARD ?? '', 10);
  return Number.isFinite(level) && level > 0 ? level : 0;
}

/**
 * The PATH after the masquerade directory (distcc dcc_support_masquerade), or
 * undefined when PATH stays as it is. Called as `/dir/gcc`, the directory
 * `/dir` is looked for on PATH; called as `gcc`, the first PATH entry holding
 * an executable `gcc`.
 */
export function pathAfterMasquerade(
  argv0: string,
  path: string | undefined,
  cwd: string = process.cwd(),
): string | undefined {
  if (path === undefined) return undefined;
  const name = basename(argv0);
  const wanted = argv0.includes('/') ? resolve(cwd, dirname(argv0)) : undefined;
  const parts = path.split(':');
  for (let i = 0; i < parts.length; i++) {
    const dir = parts[i]!;
    const match = wanted !== undefined ? dir === wanted : executable(resolve(cwd, dir, name));
    if (!match) continue;
    const rest = parts.slice(i + 1).join(':');
    return rest === '' ? undefined : rest;
  }
  return undefined;
}

/** Reads argv (argv[0] as invoked) and says what to do; may cut env.PATH for masquerade. */
export function readInvocation(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  cwd: string = process.cwd(),
): Invocation {
  const argv0 = argv[0] ?? 'tsdistcc';
  const name = basename(argv0);
  if (!name.includes('distcc')) {
    const rest = pathAfterMasquerade(argv0, env.PATH, cwd);
    if (rest !== undefined) env.PATH = rest;
    return {
      kind: 'compile',
      argv: [name, ...argv.slice(1)],
      masqueraded: true,
      pathTweaked: rest !== undefined,
    };
  }
  const first = argv[1];
  if (first === undefined) {
    return {
      kind: 'usage-error',
      message: `${argv0}: missing option/operand\nTry \`${argv0} --help' for more information.\n`,
    };
  }
  if (first === '--help' || first === '--version' || first === '--show-hosts' || first === '-j') {
    return { kind: 'option', option: first };
  }
  // distcc src/implicit.c dcc_find_compiler: an option, a source or an
  // object as the first word means the compiler was left out: use cc.
  const implicit = first.startsWith('-') || isSource(first) || first.endsWith('.o');
  const command = implicit ? ['cc', ...argv.slice(1)] : argv.slice(1);
  return { kind: 'compile', argv: command, masqueraded: false, pathTweaked: false };
}
