// The options --help shows, the man page documents and the README's option
// table lists are the same set, for tsdistccd (--help, man/tsdistccd.8,
// README.md) and tsdistccmon (--help, man/tsdistccmon.1): an option added,
// renamed or dropped in one place and not the others fails here. A boolean
// that is on by default (--launcher) is documented by its --no- form.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DAEMON_BIN, ROOT } from './helpers/paths.js';

/** `-a`, `--allow`, `--no-pipe`...: the option names in `text`. */
function optionNames(text: string): string[] {
  return [...text.matchAll(/(?<![\w-])(--?[a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1]!);
}

/**
 * The options of yargs' --help: the names in its left column (`  -a, --allow`,
 * `      --allow-private`, `--enable-tcp-insecure, --make-me-a-botnet`), and
 * --version, which the epilogue names.
 */
function daemonHelpOptions(help: string): Set<string> {
  const names = new Set<string>();
  for (const line of help.split('\n')) {
    const m = /^ {2}((?:-[A-Za-z], | {4})--[a-z][a-z-]*(?:, --[a-z][a-z-]*)*)/.exec(line);
    if (m) for (const n of optionNames(m[1]!)) names.add(n);
  }
  if (/^--version /m.test(help)) names.add('--version');
  return names;
}

/** The option names in the tags (the line after each `.TP`) of a man page's OPTIONS section. */
function manOptions(page: string): string[] {
  const lines = page.replace(/\\-/g, '-').split('\n');
  const start = lines.indexOf('.SH OPTIONS');
  assert.ok(start >= 0, 'an OPTIONS section');
  const names: string[] = [];
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith('.SH '); i++) {
    if (lines[i] === '.TP') names.push(...optionNames(lines[i + 1]!));
  }
  return names;
}

/** The option names in the first column of the README's table(s) in its `## tsdistccd` section. */
function readmeOptions(readme: string): string[] {
  const start = readme.indexOf('\n## tsdistccd\n');
  assert.ok(start >= 0, 'a tsdistccd section');
  const end = readme.indexOf('\n### ', start);
  const names: string[] = [];
  for (const line of readme.slice(start, end).split('\n')) {
    const cell = /^\| ([^|]*(?:\\\|[^|]*)*) \|/.exec(line)?.[1];
    if (cell === undefined || !cell.includes('`')) continue;
    for (const code of cell.matchAll(/`([^`]+)`/g)) names.push(...optionNames(code[1]!));
  }
  return names;
}

/**
 * What `documented` lacks of `shown`, and what it has that `shown` lacks;
 * `--no-X` stands for a shown `--X`.
 */
function compare(shown: Set<string>, documented: string[]): { missing: string[]; extra: string[] } {
  const normal = new Set(
    documented.map((n) =>
      n.startsWith('--no-') && !shown.has(n) && shown.has(`--${n.slice(5)}`)
        ? `--${n.slice(5)}`
        : n,
    ),
  );
  return {
    missing: [...shown].filter((n) => !normal.has(n)).sort(),
    extra: [...normal].filter((n) => !shown.has(n)).sort(),
  };
}

const daemonHelp = execFileSync(process.execPath, [DAEMON_BIN, '--help'], { encoding: 'utf8' });
const shown = daemonHelpOptions(daemonHelp);

test('tsdistccd --help: the options are found (the parser of this test still reads it)', () => {
  assert.ok(shown.size > 50, `only ${shown.size} options: ${[...shown].join(' ')}`);
  for (const n of ['-a', '--allow', '--make-me-a-botnet', '--log-rotate-keep', '-h', '--version'])
    assert.ok(shown.has(n), n);
});

test('man/tsdistccd.8 documents exactly the options of tsdistccd --help', () => {
  const page = readFileSync(`${ROOT}man/tsdistccd.8`, 'utf8');
  assert.deepEqual(compare(shown, manOptions(page)), { missing: [], extra: [] });
});

test("README.md's option table lists exactly the options of tsdistccd --help", () => {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  assert.deepEqual(compare(shown, readmeOptions(readme)), { missing: [], extra: [] });
});

test('man/tsdistccmon.1 documents exactly the options of tsdistccmon --help', () => {
  const help = execFileSync(process.execPath, [`${ROOT}build/src/bin/tsdistccmon.js`, '--help'], {
    encoding: 'utf8',
  });
  // Its option lines: `  --server HOST[:PORT]  show ...`.
  const options = new Set(
    help
      .split('\n')
      .filter((l) => /^ {2}--/.test(l))
      .map((l) => optionNames(l.trim().split(/\s/)[0]!)[0]!),
  );
  assert.deepEqual([...options].sort(), [
    '--conf-dir',
    '--help',
    '--instance',
    '--json',
    '--server',
    '--version',
  ]);
  const page = readFileSync(`${ROOT}man/tsdistccmon.1`, 'utf8');
  assert.deepEqual(compare(options, manOptions(page)), { missing: [], extra: [] });
});

// The parsers above, on made-up text: a drift they did not see would pass.
test('the comparison catches an option missing from the docs, an extra one, and a stale --no- form', () => {
  const help = '  -a, --allow  x\n      --pipe  y\n      --log-rotate  z\n';
  const s = daemonHelpOptions(help);
  assert.deepEqual([...s].sort(), ['--allow', '--log-rotate', '--pipe', '-a']);
  assert.deepEqual(compare(s, ['-a', '--allow', '--no-pipe', '--gone', '--no-such']), {
    missing: ['--log-rotate'],
    extra: ['--gone', '--no-such'],
  });
  const page =
    '.SH OPTIONS\n.TP\n.BI \\-a ", " \\-\\-allow " IP"\ntext --not-a-tag\n.SH FILES\n.TP\n.B \\-\\-x\n';
  assert.deepEqual(manOptions(page), ['-a', '--allow']);
  const readme =
    '\n## tsdistccd\n\n| option | meaning |\n| --- | --- |\n| `--log-format text\\|json` | `--not-this` |\n| `--daemon` / `--inetd` | x |\n\n### Next\n| `--after` | x |\n';
  assert.deepEqual(readmeOptions(readme), ['--log-format', '--daemon', '--inetd']);
});
