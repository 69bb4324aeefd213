// Which compiler command lines can be distributed, and where their input and
// output are: a port of distcc src/arg.c dcc_scan_args, used by the daemon on
// every request (and by the client). Anything that reads or writes more than
// one translation unit and one object stays local.

import { basename, join } from 'node:path';

const SOURCE_EXTENSIONS = new Set([
  'i',
  'ii',
  'c',
  'cc',
  'cpp',
  'cxx',
  'cp',
  'c++',
  'C',
  'm',
  'mm',
  'mi',
  'mii',
  'M',
]);

/** Supported `-x` languages: the argument after `-x...` must start with one. */
const DISTRIBUTABLE_LANGUAGES = ['c', 'c++', 'objective-c', 'objective-c++', 'go'];

function extension(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  if (dot < 0 || dot === name.length - 1 || name.indexOf('/', dot) >= 0) return undefined;
  return name.slice(dot + 1);
}

/** distcc src/filename.c dcc_is_source (assembly stays local, as distcc builds it). */
export function isSource(name: string): boolean {
  const ext = extension(name);
  return ext !== undefined && SOURCE_EXTENSIONS.has(ext);
}

/** The extension the preprocessed form of `source` gets (distcc dcc_preproc_exten). */
export function preprocessedExtension(source: string): string {
  switch (extension(source)) {
    case 'c':
    case 'i':
      return 'i';
    case 'cc':
    case 'cpp':
    case 'cxx':
    case 'cp':
    case 'c++':
    case 'C':
    case 'ii':
      return 'ii';
    case 'm':
    case 'mi':
      return 'mi';
    case 'mm':
    case 'M':
    case 'mii':
      return 'mii';
    case 's':
    case 'S':
      return 's';
    default:
      return 'tmp';
  }
}

export type ScanResult =
  | {
      distributable: true;
      input: string;
      inputIndex: number;
      /** The output path; derived from the input when the command names none. */
      output: string;
      /** Where the output is named: `-o X` (index of X), `-oX`, or a bare `X.o`; absent if implied. */
      outputAt?: { index: number; form: 'separate' | 'joined' | 'bare' };
      /** `-S` seen: the output is assembly, not an object. */
      assemblyOutput: boolean;
    }
  | { distributable: false; reason: string; localCpp?: boolean };

function local(reason: string, localCpp = false): ScanResult {
  return { distributable: false, reason, localCpp };
}

function isLocalOnlyOption(a: string): string | undefined {
  if (a === '-march=native' || a === '-mtune=native') return `${a} must be local`;
  if (a.startsWith('-Wa,') && (a.includes(',-a') || a.includes('--MD'))) {
    return `${a} must be local (assembler listing or dependencies)`;
  }
  if (
    a === '-fprofile-arcs' ||
    a === '-ftest-coverage' ||
    a === '--coverage' ||
    a === '-fprofile-correction' ||
    a.startsWith('-fprofile-generate') ||
    a.startsWith('-fprofile-use') ||
    a.startsWith('-fauto-profile')
  ) {
    return `compiler will emit profile info; must be local (${a})`;
  }
  if (a === '-frepo') return 'compiler will emit .rpo files; must be local';
  if (a.startsWith('-dr')) return `${a} creates files in the source directory; must be local`;
  return undefined;
}

/**
 * Scans a command line (argv[0] is the compiler). Distributable means: one
 * source input, compile-only (-c or -S), at most one output, nothing that
 * writes side files the client would not get back.
 */
export function scanArgs(argv: readonly string[]): ScanResult {
  let input: string | undefined;
  let inputIndex = -1;
  let output: string | undefined;
  let outputAt: { index: number; form: 'separate' | 'joined' | 'bare' } | undefined;
  let seenC = false;
  let seenS = false;

  const gotOutput = (name: string, index: number, form: 'separate' | 'joined' | 'bare') => {
    if (output !== undefined) return local(`called for link? (${output} and ${name})`);
    if (name === '-') return local('output to stdout must be local');
    output = name;
    outputAt = { index, form };
    return undefined;
  };

  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('-')) {
      if (a === '-E') return local('-E call for cpp must be local', true);
      if (a === '-MD' || a === '-MMD' || a === '-MG' || a === '-MP') continue;
      if (a === '-MF' || a === '-MT' || a === '-MQ') {
        i++;
        continue;
      }
      if (a.startsWith('-MF') || a.startsWith('-MT') || a.startsWith('-MQ')) continue;
      if (a[1] === 'M') return local(`${a} implies -E (dependencies only) and must be local`);
      const why = isLocalOnlyOption(a);
      if (why) return local(why);
      if (a.startsWith('-x')) {
        // distcc checks the argument after the -x option, even in the joined
        // form (-xc then -c is local): matched on purpose.
        const next = argv[i + 1];
        if (next === undefined || !DISTRIBUTABLE_LANGUAGES.some((l) => next.startsWith(l))) {
          return local(`gcc's -x handling is complex; running locally for ${next ?? a}`);
        }
        continue;
      }
      if (a === '-S') seenS = true;
      else if (a === '-c') seenC = true;
      else if (a === '-o') {
        const name = argv[i + 1];
        if (name === undefined) return local('-o with no file name');
        const r = gotOutput(name, i + 1, 'separate');
        if (r) return r;
        i++;
      } else if (a.startsWith('-o')) {
        const r = gotOutput(a.slice(2), i, 'joined');
        if (r) return r;
      }
    } else if (isSource(a)) {
      if (input !== undefined) return local(`do we have two inputs? i give up (${input} and ${a})`);
      input = a;
      inputIndex = i;
    } else if (a.endsWith('.o')) {
      const r = gotOutput(a, i, 'bare');
      if (r) return r;
    }
  }

  if (!seenC && !seenS) return local('compiler apparently called not for compile');
  if (input === undefined) return local('no visible input file');
  const base = basename(input);
  if (base.startsWith('conftest.') || base.startsWith('tmp.conftest.')) {
    return local(`autoconf tests are run locally: ${input}`);
  }
  if (output === undefined) {
    const dot = base.lastIndexOf('.');
    output = `${base.slice(0, dot)}.${seenS ? 's' : 'o'}`;
  }
  return {
    distributable: true,
    input,
    inputIndex,
    output,
    ...(outputAt ? { outputAt } : {}),
    assemblyOutput: seenS,
  };
}

/**
 * A -specs file named by the path checkOptions checked, DIR/FILE under
 * --sysroot: gcc itself looks for a relative FILE in its own directories and
 * then in its working directory, the job's, whose files the client wrote.
 */
function specsUnder(out: string[], sysroot: string): void {
  for (let i = 1; i < out.length; i++) {
    const a = out[i]!;
    if ((a === '-specs' || a === '--specs') && i + 1 < out.length) {
      out[i + 1] = join(sysroot, out[i + 1]!);
      i++;
    } else if (a.startsWith('-specs=') || a.startsWith('--specs=')) {
      const eq = a.indexOf('=');
      out[i] = `-specs=${join(sysroot, a.slice(eq + 1))}`;
    }
  }
}

/** The -x language of a plain job's input: what the client's preprocessor made of the named one. */
const PREPROCESSED_LANGUAGE: Readonly<Record<string, string>> = {
  c: 'cpp-output',
  'c++': 'c++-cpp-output',
  'objective-c': 'objective-c-cpp-output',
  'objective-c++': 'objective-c++-cpp-output',
};

/**
 * argv with the input and output replaced (the server's temp files), -specs
 * files under `sysroot`, and `-x c` (c++, objective-c...) made the language's
 * preprocessed form: the input is the client's preprocessor output, and it
 * is compiled as gcc compiles a .i file, not preprocessed again, which would
 * read any file an `#include` in it named on the server (distccd does that).
 */
export function rewriteArgs(
  argv: readonly string[],
  scan: Extract<ScanResult, { distributable: true }>,
  input: string,
  output: string,
  sysroot?: string,
): string[] {
  const out = [...argv];
  if (sysroot !== undefined) specsUnder(out, sysroot);
  for (let i = 1; i < out.length - 1; i++) {
    if (out[i] === '-x') out[i + 1] = PREPROCESSED_LANGUAGE[out[i + 1]!] ?? out[i + 1]!;
  }
  out[scan.inputIndex] = input;
  if (!scan.outputAt) return [...out, '-o', output];
  const { index, form } = scan.outputAt;
  out[index] = form === 'joined' ? `-o${output}` : output;
  if (form === 'bare') {
    // A bare `x.o` argument is an input to a link, not an output name for a
    // compile: name the real output with -o and drop the bare one.
    out.splice(index, 1);
    return [...out, '-o', output];
  }
  return out;
}
