// The options a remote job may have: an allow-list, not a deny-list (issue
// 20 item 1). distccd 3.4 refuses only -fplugin= and -specs= (distcc
// src/serve.c dcc_check_insecure_options); gcc and clang have many more ways
// to run a program (-wrapper, -B, specs), write a file where a client says
// (-aux-info, -fdump-*=FILE, -save-temps, -Wa,-aln=FILE, -MF), or read one of
// the server's (@FILE, -fprofile-use=). Here a job gets only what a compile of
// preprocessed input (or, in pump mode, of the sent tree) needs, in the
// spellings gcc and clang accept: `-opt ARG`, `-optARG`, `--opt=ARG`,
// `--opt ARG` and `-Wx,a,b` lists, element by element. Every option's arity
// is known, so an option's argument is never read as an option, and an
// unknown option is refused rather than guessed at.
//
// The tables are data; checkRemoteOptions walks argv once, with no regular
// expression made per call and nothing allocated but its small result.

import { isSource } from './args.js';

const RUNS = 'runs a program';
const LOADS = 'loads code into the compiler';
const WRITES = 'writes a file outside the job';
const READS = 'reads a file from the server';
const PRINTS = "prints the server's set-up instead of compiling";
const LINK = 'is a link option; a remote job only compiles';
const UNCHECKED = 'passes options on that cannot be checked';
const NOT_LISTED = 'not on the list of remote options';

/** How an option's value (joined or separate) is checked. */
type Kind =
  /** Anything: macro definitions, include directories, -MT targets. */
  | 'any'
  /** -o: the daemon puts it in the job directory. */
  | 'output'
  /** -x: a language the job can compile. */
  | 'lang'
  /** -MF: dropped by the pump rewrite; refused in plain mode (the client strips it). */
  | 'depfile'
  /** -include/-imacros: read from the sent tree in pump mode; not needed for preprocessed input. */
  | 'pumpread'
  /** A word: a target triple, a --param, a -std= standard. */
  | 'word'
  /** -Xassembler: one assembler option, checked as a -Wa, element. */
  | 'as'
  /** -Xpreprocessor: one preprocessor option, -D or -U. */
  | 'cpp'
  /** -specs: only under the --sysroot rule (whitelist.ts). */
  | 'specs';

/** Exact options that take no value. */
const FLAGS: ReadonlySet<string> = new Set([
  '-c',
  '-S',
  '-pipe',
  '-w',
  '-W',
  '-pedantic',
  '-pedantic-errors',
  '--pedantic',
  '--pedantic-errors',
  '-ansi',
  '-p',
  '-pg',
  // The driver also prints its version and the commands it runs: a compile still.
  '-v',
  '-pthread',
  '-MD',
  '-MMD',
  '-MG',
  '-MP',
  '-C',
  '-CC',
  '-P',
  '-H',
  '-I-',
  '-undef',
  '-nostdinc',
  '-nostdinc++',
  '-nostdlibinc',
  '-nobuiltininc',
  '-trigraphs',
  '-traditional-cpp',
  '-no-canonical-prefixes',
  '-integrated-as',
  '-no-integrated-as',
  '-Qunused-arguments',
  '-Qn',
  '-Qy',
  '-ObjC',
  '-ObjC++',
  // Link-only flags: unused by a compile (-c or -S), harmless, and common in CFLAGS.
  '-static',
  '-shared',
  '-pie',
  '-no-pie',
  '-static-pie',
  '-nostdlib',
  '-nostartfiles',
  '-nodefaultlibs',
  '-rdynamic',
  '-s',
]);

/** Options whose value is the next argument. */
const SEPARATE: ReadonlyMap<string, Kind> = new Map<string, Kind>([
  ['-o', 'output'],
  ['-x', 'lang'],
  ['-D', 'any'],
  ['-U', 'any'],
  ['-I', 'any'],
  ['-isystem', 'any'],
  ['-iquote', 'any'],
  ['-idirafter', 'any'],
  ['-iprefix', 'any'],
  ['-iwithprefix', 'any'],
  ['-iwithprefixbefore', 'any'],
  ['-isysroot', 'any'],
  ['--sysroot', 'any'],
  ['--define-macro', 'any'],
  ['--undefine-macro', 'any'],
  ['--include-directory', 'any'],
  ['--include-directory-after', 'any'],
  ['-include', 'pumpread'],
  ['-imacros', 'pumpread'],
  ['-MF', 'depfile'],
  ['-MT', 'any'],
  ['-MQ', 'any'],
  ['-target', 'word'],
  ['--param', 'word'],
  ['-Xassembler', 'as'],
  ['-Xpreprocessor', 'cpp'],
  ['-specs', 'specs'],
  ['--specs', 'specs'],
]);

/**
 * Options with their value in the same argument, by prefix (first match
 * wins: longer prefixes before the shorter ones they start with). `-f`, `-m`,
 * `-W`, `-g` and `-O` have shapes of their own below.
 */
const JOINED: readonly (readonly [string, Kind])[] = [
  ['--sysroot=', 'any'],
  ['--define-macro=', 'any'],
  ['--undefine-macro=', 'any'],
  ['--include-directory-after=', 'any'],
  ['--include-directory=', 'any'],
  ['--param=', 'word'],
  ['--target=', 'word'],
  ['--std=', 'word'],
  ['--specs=', 'specs'],
  ['-specs=', 'specs'],
  ['-std=', 'word'],
  ['-stdlib=', 'word'],
  ['-isystem', 'any'],
  ['-isysroot', 'any'],
  ['-iquote', 'any'],
  ['-idirafter', 'any'],
  ['-iprefix', 'any'],
  ['-iwithprefixbefore', 'any'],
  ['-iwithprefix', 'any'],
  ['-include', 'pumpread'],
  ['-imacros', 'pumpread'],
  ['-MF', 'depfile'],
  ['-MT', 'any'],
  ['-MQ', 'any'],
  ['-D', 'any'],
  ['-U', 'any'],
  ['-I', 'any'],
  ['-o', 'output'],
  ['-x', 'lang'],
];

/** -x languages: what the client preprocessed, and its preprocessed forms. */
const LANGUAGES: ReadonlySet<string> = new Set([
  'c',
  'c++',
  'objective-c',
  'objective-c++',
  'cpp-output',
  'c++-cpp-output',
  'objective-c-cpp-output',
  'objective-c++-cpp-output',
]);

/**
 * `-fNAME...` refused whatever follows (NAME by prefix): they load code, or
 * write or read files by path. Negations (`-fno-NAME`) turn things off and pass.
 */
const F_DENIED: readonly (readonly [string, string])[] = [
  ['plugin', LOADS],
  ['pass-plugin', LOADS],
  ['dump-', 'writes compiler dumps, to a file it names'],
  ['profile', 'writes or reads profile data by path'],
  ['auto-profile', READS],
  ['branch-probabilities', READS],
  ['test-coverage', 'writes coverage notes the client does not get back'],
  ['cs-profile-generate', WRITES],
  ['sample-profile', READS],
  ['save-optimization-record', WRITES],
  ['optimization-record-file', WRITES],
  ['diagnostics-add-output', WRITES],
  ['diagnostics-set-output', WRITES],
  ['crash-diagnostics', WRITES],
  ['deps-', WRITES],
  ['module', 'reads or writes module files outside the job, or runs a module mapper'],
  ['prebuilt-', READS],
  ['implicit-module', 'reads or writes module files outside the job'],
  ['cxx-modules', 'reads or writes module files outside the job'],
  ['builtin-module-map', READS],
  ['sanitize-blacklist', READS],
  ['sanitize-ignorelist', READS],
  ['sanitize-system-ignorelist', READS],
  ['sanitize-coverage-allowlist', READS],
  ['sanitize-coverage-blocklist', READS],
  ['sanitize-coverage-whitelist', READS],
  ['sanitize-coverage-blacklist', READS],
  ['xray-always-instrument', READS],
  ['xray-never-instrument', READS],
  ['xray-attr-list', READS],
  ['thinlto-index', READS],
  ['use-ld', RUNS],
];

/** `-fNAME=VALUE` accepted for these NAMEs (any value: they are strings, not files). */
const F_VALUES: ReadonlySet<string> = new Set([
  'macro-prefix-map',
  'file-prefix-map',
  'debug-prefix-map',
  'debug-compilation-dir',
  'coverage-compilation-dir',
  'visibility',
  'tls-model',
  'cf-protection',
  'zero-call-used-regs',
  'trivial-auto-var-init',
  'strict-flex-arrays',
  'patchable-function-entry',
  'min-function-alignment',
  'align-functions',
  'align-jumps',
  'align-loops',
  'align-labels',
  'sanitize',
  'no-sanitize',
  'sanitize-recover',
  'no-sanitize-recover',
  'sanitize-trap',
  'no-sanitize-trap',
  'sanitize-coverage',
  'no-sanitize-coverage',
  'sanitize-address-use-after-return',
  'sanitize-memory-track-origins',
  'sanitize-address-field-padding',
  'lto',
  'lto-partition',
  'lto-compression-level',
  'fp-contract',
  'fp-model',
  'fp-exception-behavior',
  'fp-eval-method',
  'denormal-fp-math',
  'denormal-fp-math-f32',
  'excess-precision',
  'permitted-flt-eval-methods',
  'exec-charset',
  'input-charset',
  'wide-exec-charset',
  'random-seed',
  'asan-shadow-offset',
  'ira-region',
  'ira-algorithm',
  'simd-cost-model',
  'vect-cost-model',
  'stack-reuse',
  'stack-check',
  'stack-limit-register',
  'stack-limit-symbol',
  'live-patching',
  'ms-compatibility-version',
  'msc-version',
  'diagnostics-color',
  'diagnostics-format',
  'diagnostics-show-location',
  'diagnostics-urls',
  'diagnostics-column-unit',
  'diagnostics-column-origin',
  'diagnostics-path-format',
  'diagnostics-minimum-margin-width',
  'diagnostics-escape-format',
  'diagnostics-text-art-charset',
  'message-length',
  'max-errors',
  'error-limit',
  'tabstop',
  'macro-backtrace-limit',
  'template-backtrace-limit',
  'constexpr-backtrace-limit',
  'constexpr-depth',
  'constexpr-loop-limit',
  'constexpr-ops-limit',
  'constexpr-steps',
  'template-depth',
  'bracket-depth',
  'abi-version',
  'abi-compat-version',
  'inline-limit',
  'embed-bitcode',
  'pack-struct',
  'max-type-align',
  'new-alignment',
  'objc-runtime',
  'constant-string-class',
  'callgraph-info',
  'openmp',
  'debug-default-version',
  'spell-checking-limit',
  'show-overloads',
  'trapv-handler',
  'sched-stalled-insns',
  'sched-stalled-insns-dep',
  'tree-parallelize-loops',
  'zero-init-padding-bits',
]);

/** `-fNAME` with no value: a feature on or off. */
const F_NAME = /^-f[A-Za-z0-9][A-Za-z0-9+_-]*$/;
/** A numeric value (`-falign-functions=32:16`, `-fpatchable-function-entry=16,8`). */
const NUMBER = /^[0-9][0-9,:]*$/;
/** `-mNAME` or `-mNAME=VALUE`: machine options, none of which names a file. */
const M_SHAPE = /^-m[A-Za-z0-9][A-Za-z0-9_.+-]*(?:=[A-Za-z0-9_.,+:=-]*)?$/;
/** Warnings: `-Wall`, `-Wno-x`, `-Werror=x`, `-Wframe-larger-than=N` (no `,`: lists are apart). */
const W_SHAPE = /^-W[A-Za-z0-9][A-Za-z0-9_+=.-]*$/;
const O_SHAPE = /^-O(?:[0-9]|s|z|g|fast)?$/;
/** A word value: no `/`, so not a path. */
const WORD = /^[A-Za-z0-9_.+:=,-]+$/;

/** Debug options: a list, since `-g` also starts clang's `-gcc-toolchain DIR` and `-gen-reproducer`. */
const G_FLAGS: ReadonlySet<string> = new Set([
  '-g',
  '-g0',
  '-g1',
  '-g2',
  '-g3',
  '-ggdb',
  '-ggdb0',
  '-ggdb1',
  '-ggdb2',
  '-ggdb3',
  '-gdwarf',
  '-gdwarf-2',
  '-gdwarf-3',
  '-gdwarf-4',
  '-gdwarf-5',
  '-gdwarf32',
  '-gdwarf64',
  '-gbtf',
  '-gctf',
  '-gctf0',
  '-gctf1',
  '-gctf2',
  '-gz',
  '-gz=none',
  '-gz=zlib',
  '-gz=zlib-gnu',
  '-gz=zstd',
  '-gsplit-dwarf',
  '-gsplit-dwarf=single',
  '-gsplit-dwarf=split',
  '-gno-split-dwarf',
  '-gcolumn-info',
  '-gno-column-info',
  '-gstrict-dwarf',
  '-gno-strict-dwarf',
  '-grecord-gcc-switches',
  '-gno-record-gcc-switches',
  '-gpubnames',
  '-gno-pubnames',
  '-ggnu-pubnames',
  '-gno-gnu-pubnames',
  '-gdescribe-dies',
  '-gno-describe-dies',
  '-gas-loc-support',
  '-gno-as-loc-support',
  '-gas-locview-support',
  '-gno-as-locview-support',
  '-gstatement-frontiers',
  '-gno-statement-frontiers',
  '-gvariable-location-views',
  '-gvariable-location-views=incompat5',
  '-gno-variable-location-views',
  '-ginline-points',
  '-gno-inline-points',
  '-ginternal-reset-location-views',
  '-gno-internal-reset-location-views',
  '-gembed-source',
  '-gno-embed-source',
  '-gline-tables-only',
  '-gline-directives-only',
  '-gmlt',
  '-gcodeview',
  '-gsimple-template-names',
  '-gno-simple-template-names',
  '-gtoggle',
  '-glldb',
  '-gsce',
  '-gdbx',
  '-gfull',
  '-gused',
  '-gdwarf-aranges',
]);

/** Assembler options (-Wa, elements, -Xassembler values) that name no file. */
const AS_FLAGS: ReadonlySet<string> = new Set([
  '--noexecstack',
  '--execstack',
  '--64',
  '--32',
  '--x32',
  '-O',
  '-O0',
  '-O1',
  '-O2',
  '--fatal-warnings',
  '-W',
  '--no-warn',
  '--warn',
  '-Qy',
  '-Qn',
  '-K',
  '-g',
  '--gen-debug',
  '--gstabs',
  '--nocompress-debug-sections',
  '--compress-debug-sections',
  '--strip-local-absolute',
]);
const AS_SHAPE =
  /^(?:--?gdwarf-?[2-5]|--compress-debug-sections=[a-z-]+|-m[A-Za-z0-9][A-Za-z0-9_.+-]*(?:=[A-Za-z0-9_.,+-]+)?)$/;

/**
 * Why a well-known option is refused, by prefix, for the log line (the
 * refusal itself comes from the allow-list; first match wins).
 */
const KNOWN: readonly (readonly [string, string])[] = [
  ['-wrapper', RUNS],
  ['-B', `${RUNS} (the compiler's programs from a directory it names)`],
  ['--prefix', `${RUNS} (the compiler's programs from a directory it names)`],
  ['-fplugin', LOADS],
  ['-fpass-plugin', LOADS],
  ['-iplugindir', LOADS],
  ['-Xclang', UNCHECKED],
  ['-mllvm', UNCHECKED],
  ['--config', 'reads compiler options from a file on the server'],
  ['-gcc-toolchain', `${RUNS} (a toolchain from a directory it names)`],
  ['--gcc-toolchain', `${RUNS} (a toolchain from a directory it names)`],
  ['--gcc-install-dir', `${RUNS} (a toolchain from a directory it names)`],
  ['-ccc-', RUNS],
  ['-no-integrated-cpp', RUNS],
  ['-fuse-ld', RUNS],
  ['-aux-info', WRITES],
  ['--aux-info', WRITES],
  ['-save-temps', 'writes intermediate files, where -dumpdir or -o says'],
  ['--save-temps', 'writes intermediate files, where -dumpdir or -o says'],
  ['-save-stats', WRITES],
  ['-dumpdir', WRITES],
  ['--dumpdir', WRITES],
  ['-dumpbase', WRITES],
  ['--dumpbase', WRITES],
  ['-dumpspecs', PRINTS],
  ['-dumpversion', PRINTS],
  ['-dumpfullversion', PRINTS],
  ['-dumpmachine', PRINTS],
  ['-print-', PRINTS],
  ['--print-', PRINTS],
  ['-###', PRINTS],
  ['--version', PRINTS],
  ['--help', PRINTS],
  ['-MJ', WRITES],
  ['--serialize-diagnostics', WRITES],
  ['-serialize-diagnostics', WRITES],
  ['-gen-', WRITES],
  ['-time=', WRITES],
  ['-ftime-trace=', WRITES],
  ['-fopt-info', 'writes a file it names'],
  ['--output', 'names the output where the daemon does not rewrite it (use -o)'],
  ['-ivfsoverlay', READS],
  ['--coverage', 'writes coverage notes the client does not get back'],
  ['-Wl,', LINK],
  ['-Xlinker', LINK],
  ['-l', LINK],
  ['-L', LINK],
  ['-T', LINK],
  ['-Wa,', 'passes the assembler an option that is not on its list'],
  ['-Wp,', 'passes the preprocessor an option that is not on its list'],
  ['-d', 'writes compiler dumps'],
];

export type RemoteOptionsMode = Readonly<{ pump: boolean }>;

export type RemoteOptions =
  | {
      ok: true;
      /** Index of the one source file. */
      inputIndex: number;
      /** Index of the argument that names the output (`-o X`'s X, `-oX`, a bare `x.o`); -1 if none. */
      outputIndex: number;
      /** -specs files, for the --sysroot rule (empty: none). */
      specs: readonly string[];
    }
  | { ok: false; reason: string };

const NO_SPECS: readonly string[] = Object.freeze([]);
const PLAIN: RemoteOptionsMode = Object.freeze({ pump: false });

/** A client string in a log line: bounded (an ARGV may be long). */
function shown(a: string): string {
  return a.length > 120 ? `${a.slice(0, 120)}...` : a;
}

function refusal(a: string, why: string): { ok: false; reason: string } {
  return {
    ok: false,
    reason: `argument \`${shown(a)}\` is not accepted for a remote compile (${why})`,
  };
}

/** The log's reason for an option that is not on the list. */
function knownReason(a: string): string {
  for (const [prefix, why] of KNOWN) if (a.startsWith(prefix)) return why;
  return NOT_LISTED;
}

/** undefined if the -f option passes, else why not. */
function checkF(a: string): string | undefined {
  const eq = a.indexOf('=');
  // A negation turns a feature off: none of those runs, writes or reads anything.
  if (eq < 0 && a.startsWith('-fno-')) return F_NAME.test(a) ? undefined : NOT_LISTED;
  for (const [prefix, why] of F_DENIED) if (a.startsWith(prefix, 2)) return why;
  if (eq < 0) return F_NAME.test(a) ? undefined : NOT_LISTED;
  if (F_VALUES.has(a.slice(2, eq))) return undefined;
  if (NUMBER.test(a.slice(eq + 1)) && F_NAME.test(a.slice(0, eq))) return undefined;
  return knownReason(a);
}

/** One assembler option: none that writes a listing, an output, a .d file or reads @FILE. */
function asOk(e: string): boolean {
  return AS_FLAGS.has(e) || AS_SHAPE.test(e);
}

/** One preprocessor option (-Xpreprocessor, -Wp, element): a macro. */
function cppMacro(e: string): boolean {
  return (e.startsWith('-D') || e.startsWith('-U')) && e.length > 2;
}

/**
 * A `-Wa,` or `-Wp,` list, element by element. In pump mode `-Wp,-MD,FILE`
 * and `-Wp,-MMD,FILE` pass: the pump rewrite keeps the option and drops FILE.
 */
function checkList(a: string, pump: boolean): string | undefined {
  const assembler = a[2] === 'a';
  let at = 4;
  while (at <= a.length) {
    let end = a.indexOf(',', at);
    if (end < 0) end = a.length;
    const e = a.slice(at, end);
    if (assembler) {
      if (!asOk(e)) {
        if (e.startsWith('-a')) return `${WRITES}: \`${shown(e)}\` writes a listing`;
        if (e === '-o' || e.startsWith('--MD') || e.startsWith('@')) return WRITES;
        return `the assembler option \`${shown(e)}\` is not on the list`;
      }
    } else if (e === '-MD' || e === '-MMD') {
      if (!pump) return `${WRITES}: \`${e}\` writes the file named after it`;
      // The file: the last element, which the pump rewrite drops.
      const file = a.indexOf(',', end + 1);
      if (end >= a.length || file >= 0) return `\`${e}\` must be followed by one file name`;
      return undefined;
    } else if (!cppMacro(e)) {
      return `the preprocessor option \`${shown(e)}\` is not on the list`;
    }
    at = end + 1;
  }
  return undefined;
}

/** Whether a value of `kind` passes: undefined if so, else why not. */
function valueWhy(kind: Kind, v: string, pump: boolean, haveOutput: boolean): string | undefined {
  switch (kind) {
    case 'any':
      return undefined;
    case 'output':
      return haveOutput ? 'a second output' : undefined;
    case 'lang':
      return LANGUAGES.has(v) ? undefined : `the language \`${shown(v)}\` is not compiled remotely`;
    case 'depfile':
      return pump ? undefined : `${WRITES}: the dependency file is the client's to write`;
    case 'pumpread':
      return pump ? undefined : `${READS}: preprocessed input needs no -include`;
    case 'word':
      return WORD.test(v) ? undefined : `the value \`${shown(v)}\` is not a plain word`;
    case 'as':
      return asOk(v) ? undefined : `the assembler option \`${shown(v)}\` is not on the list`;
    case 'cpp':
      return cppMacro(v) ? undefined : `the preprocessor option \`${shown(v)}\` is not on the list`;
    case 'specs':
      return pump ? `${RUNS}: specs files are accepted only in plain mode` : undefined;
  }
}

/**
 * Checks a remote job's argv (argv[0] is the compiler, checked elsewhere).
 * `ok` means every argument is on the list and there is one source file;
 * the result says where the source and the output are, for the caller to
 * compare with scanArgs (an option value read as a file would differ).
 */
export function checkRemoteOptions(
  argv: readonly string[],
  mode: RemoteOptionsMode = PLAIN,
): RemoteOptions {
  let inputIndex = -1;
  let outputIndex = -1;
  let specs: string[] | undefined;

  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('@')) {
      return refusal(a, `${READS}: gcc and clang replace @FILE with its contents`);
    }
    if (a[0] !== '-' || a === '-') {
      if (a !== '-' && inputIndex < 0 && isSource(a)) {
        inputIndex = i;
        continue;
      }
      if (a.endsWith('.o') && !isSource(a) && outputIndex < 0) {
        outputIndex = i;
        continue;
      }
      return refusal(
        a,
        inputIndex >= 0 && isSource(a) ? 'a second input file' : 'not a source file to compile',
      );
    }
    if (mode.pump && (a === '-no-integrated-as' || a === '-fno-integrated-as')) {
      // clang then runs the `as` of the GCC installation it finds, which --sysroot
      // can point into the sent tree, whose links may name any program.
      return refusal(a, `${RUNS}: an assembler the sent tree can choose`);
    }
    if (FLAGS.has(a)) continue;
    const separate = SEPARATE.get(a);
    if (separate !== undefined) {
      const v = argv[i + 1];
      if (v === undefined) return refusal(a, 'its value is missing');
      if (v.startsWith('@'))
        return refusal(v, `${READS}: gcc and clang replace @FILE with its contents`);
      const why = valueWhy(separate, v, mode.pump, outputIndex >= 0);
      if (why !== undefined) return refusal(`${a} ${v}`, why);
      if (separate === 'output') outputIndex = i + 1;
      else if (separate === 'specs') (specs ??= []).push(v);
      i++;
      continue;
    }
    let why: string | undefined = NOT_LISTED;
    switch (a[1]) {
      case 'f':
        why = checkF(a);
        break;
      case 'm':
        // -mllvm takes the next argument and hands it to LLVM unchecked.
        why = a !== '-mllvm' && M_SHAPE.test(a) ? undefined : knownReason(a);
        break;
      case 'g':
        why = G_FLAGS.has(a) ? undefined : knownReason(a);
        break;
      case 'O':
        why = O_SHAPE.test(a) ? undefined : NOT_LISTED;
        break;
      case 'W':
        if (a[3] === ',' && (a[2] === 'a' || a[2] === 'p')) why = checkList(a, mode.pump);
        else why = W_SHAPE.test(a) ? undefined : knownReason(a);
        break;
      default: {
        const joined = JOINED.find(([p]) => a.length > p.length && a.startsWith(p));
        if (joined === undefined) {
          why = knownReason(a);
          break;
        }
        const [prefix, kind] = joined;
        const v = a.slice(prefix.length);
        why = valueWhy(kind, v, mode.pump, outputIndex >= 0);
        if (why !== undefined) break;
        if (kind === 'output') outputIndex = i;
        else if (kind === 'specs') (specs ??= []).push(v);
      }
    }
    if (why !== undefined) return refusal(a, why);
  }
  if (inputIndex < 0) return { ok: false, reason: 'no source file to compile' };
  return { ok: true, inputIndex, outputIndex, specs: specs ?? NO_SPECS };
}
