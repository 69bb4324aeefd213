// The remote options allow-list (issue 20 item 1) as tables: every refused
// example of the issue in each spelling gcc and clang accept (`-opt ARG`,
// `-optARG`, `-opt=ARG`, `--opt=ARG`, `--opt ARG`, `-Wx,` lists), plain and
// pump mode; and what real builds send (makepkg's flags, gcc and clang, C
// and C++; the Linux 6.1 build's captured command lines).

import { makepkgFlags } from '../helpers/makepkg-flags.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkRemoteOptions } from '../../src/compiler/remote-options.js';
import { checkOptions } from '../../src/compiler/whitelist.js';
import { ROOT } from '../helpers/paths.js';

const compilers = ['x86_64-linux-gnu-gcc', 'x86_64-linux-gnu-g++', 'clang', 'clang++'];

/** A compile with `extra` options, as Debian's client sends it. */
function argv(compiler: string, extra: readonly string[]): string[] {
  const source = compiler.endsWith('++') ? 'x.cc' : 'x.c';
  return [compiler, ...extra, '-c', source, '-o', 'x.o'];
}

/** [why, spellings]: each spelling is refused in both modes. */
const REFUSED: [string, string[][]][] = [
  [
    '-wrapper runs a program',
    [
      ['-wrapper', '/bin/sh,-c,touch /tmp/pwned'],
      ['-wrapper=/bin/sh,-c,id'],
      ['--wrapper', '/bin/sh'],
      ['--wrapper=/bin/sh'],
    ],
  ],
  [
    '@FILE response files',
    [['@/tmp/args'], ['@args'], ['-D', '@/tmp/args'], ['-I', '@x'], ['-o', '@x.o'], ['-x', '@c']],
  ],
  [
    '-B and --prefix',
    [['-B/tmp/evil/'], ['-B', '/tmp/evil/'], ['--prefix=/tmp/evil/'], ['--prefix', '/tmp/evil/']],
  ],
  [
    '-aux-info',
    [
      ['-aux-info', '/tmp/x'],
      ['-aux-info=/tmp/x'],
      ['-aux-info/tmp/x'],
      ['--aux-info', '/tmp/x'],
      ['--aux-info=/tmp/x'],
    ],
  ],
  [
    '-fdump-*',
    [
      ['-fdump-tree-all=/tmp/x'],
      ['-fdump-tree-all'],
      ['-fdump-rtl-all=/tmp/x'],
      ['-fdump-ipa-all'],
      ['-fdump-final-insns=/tmp/x'],
      ['-fdump-go-spec=/tmp/x'],
      ['-fdump-lang-all'],
    ],
  ],
  [
    '-save-temps, -dumpdir, -dumpbase',
    [
      ['-save-temps'],
      ['-save-temps=obj'],
      ['-save-temps=cwd'],
      ['--save-temps'],
      ['-dumpdir', '/tmp/'],
      ['-dumpdir/tmp/'],
      ['--dumpdir=/tmp/'],
      ['--dumpdir', '/tmp/'],
      ['-dumpbase', '/tmp/x'],
      ['-dumpbase=/tmp/x'],
      ['--dumpbase', '/tmp/x'],
      ['-dumpbase-ext', '.c'],
    ],
  ],
  [
    'assembler options that name files',
    [
      ['-Xassembler', '-aln=/tmp/x.lst'],
      ['-Xassembler', '-o'],
      ['-Xassembler', '@/tmp/f'],
      ['-Xassembler', '--MD'],
      ['-Wa,-aln=/tmp/x.lst'],
      ['-Wa,-alh=x.lst'],
      ['-Wa,-a'],
      ['-Wa,--noexecstack,-ahl=/tmp/l'],
      ['-Wa,--MD,/tmp/x.d'],
      ['-Wa,-o,/tmp/x.o'],
      ['-Wa,@/tmp/f'],
      ['-Wa,-I,/etc'],
      ['-Wa,'],
      ['--for-assembler=-aln=/tmp/x'],
    ],
  ],
  [
    'plugins',
    [
      ['-fplugin=/tmp/evil.so'],
      ['-fplugin=annobin'],
      ['-fplugin-arg-annobin-x=y'],
      ['-iplugindir=/tmp'],
      ['-iplugindir', '/tmp'],
      ['-fpass-plugin=/tmp/x.so'],
      ['-Xclang', '-load'],
      ['-Xclang', '-plugin'],
      ['-mllvm', '-info-output-file=/tmp/x'],
    ],
  ],
  [
    '-fprofile-*=PATH and reading profiles',
    [
      ['-fprofile-generate=/tmp/p'],
      ['-fprofile-use=/tmp/p'],
      ['-fprofile-use'],
      ['-fprofile-dir=/tmp/p'],
      ['-fprofile-instr-generate=/tmp/p'],
      ['-fprofile-instr-use=/tmp/p'],
      ['-fprofile-sample-use=/tmp/p'],
      ['-fauto-profile=/tmp/p'],
      ['-fbranch-probabilities'],
      ['-fprofile-arcs'],
      ['--coverage'],
    ],
  ],
  [
    '-print-*',
    [
      ['-print-file-name=libc.so'],
      ['-print-prog-name=cc1'],
      ['--print-file-name=libc.so'],
      ['--print-file-name', 'libc.so'],
      ['-print-search-dirs'],
      ['-print-sysroot'],
      ['-dumpspecs'],
      ['-dumpversion'],
      ['-dumpmachine'],
      ['-###'],
      ['--version'],
      ['--help'],
    ],
  ],
  [
    'an output outside the job: a form the daemon does not rewrite, a second one',
    [['--output=/tmp/x.o'], ['--output', '/tmp/x.o'], ['-o', '/tmp/y.o'], ['-o/tmp/y.o']],
  ],
  [
    "clang's toolchain directory (-gcc-toolchain is not a -g option)",
    [
      ['-gcc-toolchain', '/tmp/x.o'],
      ['-gcc-toolchain', '/tmp'],
      ['--gcc-toolchain=/tmp'],
      ['--gcc-install-dir=/tmp'],
      ['-ccc-gcc-name', 'x'],
      ['--config=/tmp/c.cfg'],
      ['--config', '/tmp/c.cfg'],
      ['-gen-reproducer'],
      ['-gen-cdb-fragment-path', '/tmp'],
    ],
  ],
  [
    'preprocessor options that write files or are not macros',
    [
      ['-Wp,-MF,/tmp/x.d'],
      ['-Wp,-o,/tmp/x'],
      ['-Wp,-MD'],
      ['-Wp,-MD,/tmp/x.d,-DX'],
      ['-Wp,-include,/etc/passwd'],
      ['-Wp,'],
      ['-Xpreprocessor', '-MD'],
      ['-Xpreprocessor', '-MF'],
    ],
  ],
  [
    'other files written, read or run',
    [
      ['-MJ', '/tmp/x.json'],
      ['--serialize-diagnostics', '/tmp/x'],
      ['-ftime-trace=/tmp/x'],
      ['-foptimization-record-file=/tmp/x'],
      ['-fsave-optimization-record'],
      ['-fsave-optimization-record=yaml'],
      ['-fdiagnostics-add-output=sarif:file=/tmp/x'],
      ['-fdiagnostics-set-output=text'],
      ['-fcrash-diagnostics-dir=/tmp'],
      ['-fmodules'],
      ['-fmodules-cache-path=/tmp'],
      ['-fmodule-mapper=|/bin/sh'],
      ['-fmodule-file=/tmp/m.pcm'],
      ['-fsanitize-ignorelist=/etc/passwd'],
      ['-fsanitize-blacklist=/etc/passwd'],
      ['-fopt-info-all=/tmp/x'],
      ['-fdeps-file=/tmp/x'],
      ['-fuse-ld=/tmp/evil'],
      ['-time=/tmp/t'],
      ['-ivfsoverlay', '/tmp/x'],
      ['-save-stats'],
      ['-Wl,-o,/tmp/x'],
      ['-Xlinker', '-o'],
      ['-no-integrated-cpp'],
      ['-da'],
    ],
  ],
  [
    'languages and inputs that are not one source to compile',
    [
      ['-x', 'assembler'],
      ['-x', 'assembler-with-cpp'],
      ['-x', 'go'],
      ['-x', 'none'],
      ['-xassembler'],
      ['--language=assembler'],
      ['y.c'],
      ['/etc/passwd'],
      ['y.s'],
      ['-'],
      ['--', 'y.c'],
    ],
  ],
  [
    'options not on the list',
    [['-fexperimental-new-thing=/tmp/x'], ['-Xarch_x86_64', '-B/tmp'], ['-mllvm'], ['-frepo=x']],
  ],
];

/** Refused in plain mode, where the input is preprocessed and the client keeps the .d file. */
const REFUSED_PLAIN: string[][] = [
  ['-MF', '/tmp/x.d'],
  ['-MF/tmp/x.d'],
  ['-x', 'c', '-MD', '-MF', '/tmp/x.d'],
  ['-Wp,-MD,/tmp/x.d'],
  ['-Wp,-MMD,/tmp/x.d'],
  ['-include', '/etc/passwd'],
  ['-include/etc/passwd'],
  ['-imacros', '/etc/passwd'],
];

for (const [why, spellings] of REFUSED) {
  test(`refused in every spelling: ${why}`, () => {
    for (const compiler of compilers) {
      for (const extra of spellings) {
        for (const pump of [false, true]) {
          const args = argv(compiler, extra);
          const r = checkRemoteOptions(args, { pump });
          assert.equal(r.ok, false, `${args.join(' ')} (pump ${pump}) passed`);
          if (r.ok) continue;
          assert.ok(
            extra.some((e) => r.reason.includes(`\`${e}`)) || r.reason.includes('second'),
            `${args.join(' ')}: the reason names no argument: ${r.reason}`,
          );
        }
      }
    }
  });
}

test('refused in plain mode, where nothing reads or writes beside the preprocessed input', () => {
  for (const compiler of compilers) {
    for (const extra of REFUSED_PLAIN) {
      const r = checkRemoteOptions(argv(compiler, extra), { pump: false });
      assert.equal(r.ok, false, extra.join(' '));
      assert.match(r.ok ? '' : r.reason, /is not accepted for a remote compile \((writes|reads)/);
    }
  }
});

test('in pump mode clang keeps its integrated assembler (the tree could choose another)', () => {
  for (const a of ['-no-integrated-as', '-fno-integrated-as']) {
    assert.ok(checkRemoteOptions(argv('clang', [a]), { pump: false }).ok);
    const r = checkRemoteOptions(argv('clang', ['--sysroot=.', a]), { pump: true });
    assert.ok(!r.ok && r.reason.includes(`\`${a}\``) && /runs a program/.test(r.reason));
  }
});

test('the reasons say what an option would do', () => {
  const reason = (extra: string[]) => {
    const r = checkRemoteOptions(argv('x86_64-linux-gnu-gcc', extra));
    return r.ok ? '' : r.reason;
  };
  assert.equal(
    reason(['-wrapper', '/bin/sh,-c,id']),
    'argument `-wrapper` is not accepted for a remote compile (runs a program)',
  );
  assert.match(reason(['-aux-info', '/x']), /`-aux-info` .*\(writes a file outside the job\)/);
  assert.match(reason(['@/x']), /`@\/x` .*\(reads a file from the server/);
  assert.match(reason(['-fplugin=/x.so']), /loads code into the compiler/);
  assert.match(reason(['-print-prog-name=cc1']), /prints the server's set-up/);
  assert.match(reason(['-fdump-tree-all=/x']), /`-fdump-tree-all=\/x` .*writes compiler dumps/);
  assert.match(reason(['-Wa,-aln=/x']), /`-Wa,-aln=\/x` .*writes a listing/);
  assert.match(reason(['-gcc-toolchain', '/tmp/x.o']), /`-gcc-toolchain` .*runs a program/);
  assert.match(reason(['-fnew-thing=1x']), /not on the list of remote options/);
  const long = reason([`-fx=${'a'.repeat(5000)}`]);
  assert.ok(long.length < 300, 'a long argument is cut short in the reason');
});

const MAKEPKG_CFLAGS = makepkgFlags('/build/x/src', false);
const MAKEPKG_CXXFLAGS = makepkgFlags('/build/x/src', true);

/** Accepted in both modes. */
const ACCEPTED: string[][] = [
  MAKEPKG_CFLAGS,
  MAKEPKG_CXXFLAGS,
  // Debian's dpkg-buildflags (bookworm) and Fedora's CFLAGS but for their -specs files.
  [
    '-g',
    '-O2',
    '-ffile-prefix-map=/build/x=.',
    '-fstack-protector-strong',
    '-Wformat',
    '-Werror=format-security',
    '-Wdate-time',
    '-D_FORTIFY_SOURCE=2',
  ],
  [
    '-O2',
    '-flto=auto',
    '-ffat-lto-objects',
    '-fexceptions',
    '-g',
    '-grecord-gcc-switches',
    '-pipe',
    '-Wall',
    '-Wp,-U_FORTIFY_SOURCE,-D_FORTIFY_SOURCE=3',
    '-Wp,-D_GLIBCXX_ASSERTIONS',
    '-m64',
    '-mtune=generic',
    '-fasynchronous-unwind-tables',
    '-mtls-dialect=gnu2',
  ],
  ['-target', 'x86_64-linux-gnu'],
  ['--target=x86_64-pc-linux-gnu'],
  ['-Qunused-arguments', '-fcolor-diagnostics', '-gdwarf-4', '-fno-color-diagnostics'],
  ['-std=c11', '-Wall', '-Wextra', '-Wno-unused-parameter', '-Werror', '-w'],
  ['--std=gnu++17', '-stdlib=libstdc++', '-fvisibility=hidden', '-fvisibility-inlines-hidden'],
  ['-O0'],
  ['-O3', '-Os', '-Ofast', '-Og', '-Oz', '-O'],
  ['-fPIC', '-fPIE', '-fno-PIE', '-fpic', '-pthread', '-ffunction-sections', '-fdata-sections'],
  ['-fstack-protector-strong', '-fcf-protection=full', '-fzero-call-used-regs=used-gpr'],
  ['-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer'],
  ['-fmacro-prefix-map=./=', '-fdebug-prefix-map=/a=/b', '-falign-functions=32:16:8'],
  ['-flto=auto', '-ffat-lto-objects', '-fdiagnostics-color=always', '-fmax-errors=10'],
  ['-D', 'X=1', '-DY', '--define-macro=Z', '--define-macro', 'W', '-U', 'A', '-UB'],
  ['-I', 'inc', '-Iinc', '--include-directory=inc', '--include-directory', 'inc'],
  ['-isystem', '/usr/include/x', '-isystem/x', '-iquote', 'q', '-idirafter', 'd', '-I-'],
  ['--sysroot=/srv/root', '--sysroot', '/srv/root', '-isysroot', '/srv/root', '-nostdinc'],
  ['--param=ssp-buffer-size=4', '--param', 'max-inline-insns-single=1000'],
  ['-Xassembler', '--noexecstack', '-Wa,--noexecstack', '-Wa,--64,-O2', '-Wa,--gdwarf-5'],
  ['-Wa,-mrelax-relocations=no', '-Wa,-mx86-used-note=no', '-Wa,--compress-debug-sections=zlib'],
  ['-Wp,-D_FORTIFY_SOURCE=2,-DX,-UY', '-Xpreprocessor', '-DZ'],
  ['-MD', '-MMD', '-MP', '-MG', '-MT', 'x.o', '-MTx.o', '-MQ', 'x.o'],
  ['-x', 'c++'],
  ['-x', 'cpp-output', '-P', '-C'],
  ['-mno-sse', '-mcmodel=kernel', '-mpreferred-stack-boundary=3', '-m64', '-mno-80387'],
  ['-mindirect-branch=thunk-extern', '-mfunction-return=thunk-extern', '-mrecord-mcount'],
  ['-mstack-protector-guard-reg=gs', '-mstack-protector-guard-symbol=__stack_chk_guard'],
  ['-g3', '-ggdb', '-gsplit-dwarf', '-gz=zlib', '-gno-column-info', '-gdwarf-5', '-g0'],
  ['-static', '-pie', '-no-pie', '-nostdlib', '-s', '-pipe', '-ansi', '-pedantic-errors'],
  ['-frecord-gcc-switches', '-fstack-usage', '-fcallgraph-info=su,da', '-ftime-report'],
];

/** Accepted in pump mode (the compiler preprocesses the sent tree; -MF is rewritten). */
const ACCEPTED_PUMP: string[][] = [
  ['-include', 'config.h', '-includeconfig.h', '-imacros', 'm.h'],
  ['-MD', '-MF', 'x.d', '-MT', 'x.o'],
  ['-MMD', '-MF.x.o.d'],
  ['-Wp,-MMD,lib/.x.o.d'],
  ['-Wp,-MD,/abs/x.d'],
  ['-Wp,-D_FORTIFY_SOURCE=3,-MD,x.d'],
];

test('accepted: makepkg flags, common gcc and clang options in every spelling', () => {
  for (const compiler of compilers) {
    for (const extra of ACCEPTED) {
      for (const pump of [false, true]) {
        const r = checkRemoteOptions(argv(compiler, extra), { pump });
        assert.ok(r.ok, `${extra.join(' ')} (pump ${pump}): ${r.ok ? '' : r.reason}`);
        assert.equal(r.inputIndex, extra.length + 2);
        assert.equal(r.outputIndex, extra.length + 4);
      }
    }
  }
});

test('accepted in pump mode: -include, -MF and -Wp,-MD,FILE', () => {
  for (const compiler of compilers) {
    for (const extra of ACCEPTED_PUMP) {
      const r = checkRemoteOptions(argv(compiler, extra), { pump: true });
      assert.ok(r.ok, `${extra.join(' ')}: ${r.ok ? '' : r.reason}`);
    }
  }
});

test('the output may be implied, named -oFILE, or a bare x.o; one source is needed', () => {
  assert.ok(checkRemoteOptions(['gcc', '-c', 'x.c']).ok);
  assert.ok(checkRemoteOptions(['gcc', '-c', 'x.c', '-ox.o']).ok);
  const bare = checkRemoteOptions(['gcc', '-c', 'x.c', 'x.o']);
  assert.ok(bare.ok && bare.outputIndex === 3);
  assert.deepEqual(checkRemoteOptions(['gcc', '-c']), {
    ok: false,
    reason: 'no source file to compile',
  });
});

test('checkOptions: an option value scanArgs takes for the output or input is refused', async () => {
  const r = await checkOptions(['gcc', '-D', 'x.o', '-c', 'x.c']);
  assert.ok(!r.ok && /`x\.o` .*an option's value/.test(r.reason), JSON.stringify(r));
  const ok = await checkOptions(['gcc', '-D', 'X', '-c', 'x.c', '-o', 'x.o']);
  assert.deepEqual(ok, { ok: true });
});

test('-specs= in each spelling only under --sysroot, and never in pump mode', async () => {
  const sysroot = `${ROOT}test`;
  for (const extra of [
    ['--specs=/tmp/evil.specs'],
    ['--specs', '/tmp/evil.specs'],
    ['-specs', '/tmp/evil.specs'],
    ['-specs=/tmp/evil.specs'],
  ]) {
    for (const root of [undefined, sysroot]) {
      const r = await checkOptions(argv('clang', extra), root);
      assert.ok(
        !r.ok && /`-specs=\/tmp\/evil.specs` .*under --sysroot/.test(r.reason),
        extra.join(' '),
      );
    }
  }
  for (const extra of [
    ['-specs=fixtures/whitelist/hang-cc'],
    ['--specs=fixtures/whitelist/hang-cc'],
    ['-specs', 'fixtures/whitelist/hang-cc'],
    ['--specs', 'fixtures/whitelist/hang-cc'],
  ]) {
    const args = argv('x86_64-linux-gnu-gcc', extra);
    assert.deepEqual(await checkOptions(args, sysroot), { ok: true }, extra.join(' '));
    assert.equal((await checkOptions(args)).ok, false);
    assert.equal((await checkOptions(args, sysroot, true)).ok, false);
  }
  const missing = await checkOptions(argv('gcc', ['-specs=nothing-here']), sysroot);
  assert.ok(!missing.ok && /under --sysroot/.test(missing.reason));
  const up = await checkOptions(
    argv('gcc', ['-specs=../test/fixtures/whitelist/hang-cc']),
    sysroot,
  );
  assert.equal(up.ok, false);
});

for (const [file, pump] of [
  ['linux-6.1-argv.txt', false],
  ['linux-6.1-pump-argv.txt', true],
] as const) {
  test(`every command line Debian's distcc sends for Linux 6.1 passes: ${file}`, async () => {
    const path = `${ROOT}test/fixtures/remote-options/${file}`;
    const lines = readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    assert.ok(lines.length > 3, `too few command lines in ${path}: ${lines.length}`);
    for (const line of lines) {
      const args = JSON.parse(line) as string[];
      assert.deepEqual(await checkOptions(args, undefined, pump), { ok: true }, args.join(' '));
    }
  });
}
