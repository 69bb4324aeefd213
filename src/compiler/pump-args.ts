// The compiler command of a pump job (distcc src/serve.c, protocol 3): the
// client's full command, run in R + CDIR, with absolute include-style paths
// and the first absolute source moved under R, `-o` pointed at the job's
// output, `-MT` taken out (it names the .d target the client wants), and
// `-MMD -MF` added so the .d file comes back in the reply. The client's own
// `-MF FILE` and the FILE of `-Wp,-MD,FILE` are dropped: the compiler writes
// the .d file only in the job, and it goes back in the reply (issue 20: no
// file outside the job). Which options get here is remote-options.ts's list.

import { isSource } from './args.js';

/** Options whose argument is a directory or file to read (joined or separate). */
const PATH_OPTIONS = [
  '-I',
  '-include',
  '-imacros',
  '-idirafter',
  '-iprefix',
  '-iwithprefix',
  '-iwithprefixbefore',
  '-isystem',
  '-iquote',
];

/**
 * `-Wp,...,-MD,FILE` (or -MMD): the option apart and FILE dropped, with
 * the list's other elements (macros) as `rest`; undefined if there is none.
 */
function wpDependencies(a: string): { option: string; rest: string | undefined } | undefined {
  const elements = a.slice(4).split(',');
  const at = elements.findIndex((e) => e === '-MD' || e === '-MMD');
  if (at < 0) return undefined;
  const others = [...elements.slice(0, at), ...elements.slice(at + 2)];
  return { option: elements[at]!, rest: others.length > 0 ? `-Wp,${others.join(',')}` : undefined };
}

export type PumpArgs = { argv: string[]; target: string | undefined; output: string | undefined };

export function rewritePumpArgs(
  args: readonly string[],
  root: string,
  output: string,
  deps: string,
): PumpArgs {
  const argv = [args[0]!];
  let target: string | undefined;
  let clientOutput: string | undefined;
  let sourceMoved = false;
  let wantsDeps = false;
  const inRoot = (p: string) => (p.startsWith('/') ? root + p : p);
  for (let i = 1; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-MT') {
      target = args[++i];
      continue;
    }
    if (a.startsWith('-MT')) {
      target = a.slice(3);
      continue;
    }
    if (a === '-MF') {
      i++;
      continue;
    }
    if (a.startsWith('-MF')) continue;
    if (a.startsWith('-Wp,')) {
      const deps = wpDependencies(a);
      if (deps) {
        wantsDeps = true;
        if (deps.rest) argv.push(deps.rest);
        argv.push(deps.option);
        continue;
      }
    }
    if (a === '-o') {
      clientOutput = args[++i];
      argv.push('-o', output);
      continue;
    }
    if (a.startsWith('-o')) {
      clientOutput = a.slice(2);
      argv.push(`-o${output}`);
      continue;
    }
    if (a === '-MD' || a === '-MMD') wantsDeps = true;
    if (PATH_OPTIONS.includes(a) && i + 1 < args.length) {
      argv.push(a, inRoot(args[++i]!));
      continue;
    }
    const joined = PATH_OPTIONS.find((o) => a.startsWith(o) && a.length > o.length);
    if (joined && a[joined.length] === '/') {
      argv.push(joined + root + a.slice(joined.length));
      continue;
    }
    if (!sourceMoved && !a.startsWith('-') && a.startsWith('/') && isSource(a)) {
      sourceMoved = true;
      argv.push(root + a);
      continue;
    }
    argv.push(a);
  }
  if (clientOutput === undefined) argv.push('-o', output);
  if (!wantsDeps) argv.push('-MMD');
  argv.push('-MF', deps);
  return { argv, target, output: clientOutput };
}

/** The .d text the client gets: the job's output named as the client's target, R taken out. */
export function fixDependencies(
  text: string,
  root: string,
  output: string,
  target: string,
): string {
  return text.split(output).join(target).split(root).join('');
}
