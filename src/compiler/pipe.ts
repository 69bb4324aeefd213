// -pipe for the compilers that take it: gcc's driver then runs cc1 and as
// side by side through a pipe instead of one after the other through a
// temporary .s file. The object is the same (cc1 writes the same assembly,
// and as names no input file in it when cc1 gave a .file directive, as it
// always does); on a hello-sized job it saves about a tenth of the compile
// on a machine with a second core free (bench/RESULTS.md). Only what as
// prints changes: "{standard input}:12: Warning" for "/tmp/ccXXXXXX.s:12".

import { basename } from 'node:path';

/** gcc, g++, clang, clang++ with a target prefix or version suffix; cc and c++. */
const TAKES_PIPE = /^(?:(?:[\w.+-]+-)?(?:gcc|g\+\+|clang|clang\+\+)(?:-[\d.]+)?|cc|c\+\+)$/;

/** argv with -pipe added where it helps and cannot change anything else. */
export function withPipe(argv: readonly string[]): readonly string[] {
  const [compiler, ...args] = argv;
  if (compiler === undefined || !TAKES_PIPE.test(basename(compiler))) return argv;
  // gcc ignores -pipe with -save-temps, and says so on stderr.
  if (args.some((a) => a === '-pipe' || /^--?save-temps/.test(a))) return argv;
  return [compiler, '-pipe', ...args];
}
