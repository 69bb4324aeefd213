import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnvFile } from '../../src/config/env-file.js';
import { ConfigError } from '../../src/errors.js';

const FILE = '/etc/conf.d/tsdistccd';

type Valid = { name: string; text: string; want: [string, string][] };

// Every one of these is read by bash (the oracle below) to the same values.
const valid: Valid[] = [
  { name: 'plain value', text: 'A=b\n', want: [['A', 'b']] },
  { name: 'empty value', text: 'A=\n', want: [['A', '']] },
  { name: 'no newline at the end of the file', text: 'A=b', want: [['A', 'b']] },
  { name: 'empty file', text: '', want: [] },
  {
    name: 'blank lines, blank-only lines and # comments with leading blanks',
    text: '\n   \n\t\n# a comment\n   # indented\n\t#tabbed\nA=b\n\n',
    want: [['A', 'b']],
  },
  {
    name: 'the distcc example',
    text:
      '# /etc/conf.d/tsdistccd\n' +
      'DISTCC_ARGS="--user nobody --allow 192.168.0.0/24 --port 3692 --log-level info --log-file /var/log/tsdistccd-i686.log"\n',
    want: [
      [
        'DISTCC_ARGS',
        '--user nobody --allow 192.168.0.0/24 --port 3692 --log-level info --log-file /var/log/tsdistccd-i686.log',
      ],
    ],
  },
  { name: 'leading blanks before the key', text: '   \tA=b\n', want: [['A', 'b']] },
  {
    name: 'keys with underscores, digits and lower case',
    text: '_A1=x\na_b=y\nZ9_=z\n',
    want: [
      ['_A1', 'x'],
      ['a_b', 'y'],
      ['Z9_', 'z'],
    ],
  },
  { name: '`=` inside a value', text: 'A=b=c==\n', want: [['A', 'b=c==']] },
  {
    name: '`#` inside an unquoted word',
    text: 'A=b#c\nB=#c\n',
    want: [
      ['A', 'b#c'],
      ['B', '#c'],
    ],
  },
  {
    name: 'unquoted backslash escapes',
    text: String.raw`A=a\ b\\c\"d\'e\$f\#g\;h` + '\n',
    want: [['A', `a b\\c"d'e$f#g;h`]],
  },
  { name: 'escaped trailing space is kept', text: 'A=b\\ \n', want: [['A', 'b ']] },
  { name: 'unquoted backslash-newline continuation', text: 'A=a\\\nb\n', want: [['A', 'ab']] },
  {
    name: 'several continuations, one straight after `=`',
    text: 'A=\\\nb\\\nc\\\nd\nB=1\n',
    want: [
      ['A', 'bcd'],
      ['B', '1'],
    ],
  },
  {
    name: 'double quotes with spaces and tabs',
    text: 'A="b  c\td"\n',
    want: [['A', 'b  c\td']],
  },
  {
    name: 'double-quote escapes \\" \\\\ \\$ \\`',
    text: 'A="q\\"b\\\\s\\$d\\`e"\n',
    want: [['A', 'q"b\\s$d`e']],
  },
  {
    name: 'double quotes keep other backslashes',
    text: 'A="a\\nb\\ c\\\'d\\#e\\z"\n',
    want: [['A', "a\\nb\\ c\\'d\\#e\\z"]],
  },
  {
    name: 'double quotes keep newlines',
    text: 'A="line 1\nline 2\n"\nB=after\n',
    want: [
      ['A', 'line 1\nline 2\n'],
      ['B', 'after'],
    ],
  },
  {
    name: 'double-quoted backslash-newline continuation',
    text: 'A="a \\\nb"\n',
    want: [['A', 'a b']],
  },
  {
    name: 'a carriage return inside quotes is kept',
    text: 'A="a\rb"\nB=\'c\r\'\n',
    want: [
      ['A', 'a\rb'],
      ['B', 'c\r'],
    ],
  },
  {
    name: 'single quotes are verbatim',
    text: 'A=\'a\\b "c" $d \\\'\n',
    want: [['A', 'a\\b "c" $d \\']],
  },
  {
    name: 'single quotes keep newlines and backslash-newlines',
    text: "A='x\\\ny\nz'\nB=2\n",
    want: [
      ['A', 'x\\\ny\nz'],
      ['B', '2'],
    ],
  },
  {
    name: 'empty quotes',
    text: 'A=""\nB=\'\'\n',
    want: [
      ['A', ''],
      ['B', ''],
    ],
  },
  {
    name: 'concatenated quoted and unquoted parts',
    text: 'A="a"\'b\'c\nB=\'x\'"y"\\ z\nC="a"#b\n',
    want: [
      ['A', 'abc'],
      ['B', 'xy z'],
      ['C', 'a#b'],
    ],
  },
  {
    name: '`export ` before the key',
    text: 'export A=b\nexport\tB="x y"\n  export   C=1\n',
    want: [
      ['A', 'b'],
      ['B', 'x y'],
      ['C', '1'],
    ],
  },
  { name: 'a key named export', text: 'export=1\n', want: [['export', '1']] },
  {
    name: 'trailing blanks after a value',
    text: 'A=b  \t\nB="c d"   \nC=\'e\'\t\n',
    want: [
      ['A', 'b'],
      ['B', 'c d'],
      ['C', 'e'],
    ],
  },
  {
    name: 'a comment ending in a backslash does not continue',
    text: '# comment \\\nA=1\nC=2\n',
    want: [
      ['A', '1'],
      ['C', '2'],
    ],
  },
  {
    name: 'later assignments win',
    text: 'A=1\nB=x\nA=2\nexport A="3"\n',
    want: [
      ['A', '3'],
      ['B', 'x'],
    ],
  },
  {
    name: '`~` not at the start and not after `:`, or quoted',
    text: 'A=a~b\nB="~/x"\nC=\\~/x\nD=\'~\'\nE=a:\\~\n',
    want: [
      ['A', 'a~b'],
      ['B', '~/x'],
      ['C', '~/x'],
      ['D', '~'],
      ['E', 'a:~'],
    ],
  },
  {
    name: '`$` in single quotes',
    text: "A='$HOME ${X} $(true)'\n",
    want: [['A', '$HOME ${X} $(true)']],
  },
  {
    name: 'shell syntax characters when quoted or escaped',
    text: 'A="a;b&c|d<e>f(g)"\nB=\\;\\&\\|\\<\\>\\(\\)\n',
    want: [
      ['A', 'a;b&c|d<e>f(g)'],
      ['B', ';&|<>()'],
    ],
  },
  {
    name: 'non-ASCII text',
    text: 'A="héllo wörld"\nB=ünïcode\n',
    want: [
      ['A', 'héllo wörld'],
      ['B', 'ünïcode'],
    ],
  },
];

// Accepted, with values bash would not give: each is a documented choice.
const notLikeSh: Valid[] = [
  {
    name: '`;` comment lines (systemd; sh rejects them)',
    text: '; comment\n  ;indented\nA=b\n',
    want: [['A', 'b']],
  },
  {
    name: '`$` and backquotes are kept, not expanded (systemd; sh expands them)',
    text: 'A=$HOME\nB="${X}/y $(date)"\nC=`date`\nD="`x`"\n',
    want: [
      ['A', '$HOME'],
      ['B', '${X}/y $(date)'],
      ['C', '`date`'],
      ['D', '`x`'],
    ],
  },
];

type Invalid = { name: string; text: string; line: number; message: RegExp };

const invalid: Invalid[] = [
  {
    name: 'a comment after a value (systemd keeps it in the value)',
    text: 'A=1\nB=b # comment\n',
    line: 2,
    message: /expected a comment on a line of its own .*value of B.*got `B=b # comment`/,
  },
  {
    name: 'a comment after a quoted value',
    text: 'DISTCC_ARGS="--allow 127.0.0.1" # local only\n',
    line: 1,
    message: /comment on a line of its own/,
  },
  {
    name: 'a line without `=`',
    text: 'A=1\n\nDISTCC_ARGS --allow\n',
    line: 3,
    message: /expected KEY=VALUE, got `DISTCC_ARGS --allow`$/,
  },
  {
    name: 'spaces around `=`',
    text: 'A = b\n',
    line: 1,
    message: /expected KEY=VALUE, got `A = b`/,
  },
  {
    name: 'a space before `=`',
    text: '# c\nA =b\n',
    line: 2,
    message: /expected KEY=VALUE, got `A =b`/,
  },
  { name: 'no key', text: '=b\n', line: 1, message: /expected KEY=VALUE, got `=b`/ },
  {
    name: '`export` with no assignment',
    text: 'export A\n',
    line: 1,
    message: /expected KEY=VALUE, got `export A`/,
  },
  {
    name: '`=` only on the next line',
    text: 'A\n=b\n',
    line: 1,
    message: /expected KEY=VALUE, got `A`/,
  },
  {
    name: 'a key starting with a digit',
    text: 'A=1\n1A=b\n',
    line: 2,
    message:
      /expected a KEY of letters, digits and underscores not starting with a digit, got `1A`/,
  },
  { name: 'a key with a dash', text: 'A-B=c\n', line: 1, message: /got `A-B`/ },
  { name: 'a quoted key', text: '"A"=c\n', line: 1, message: /got `"A"`/ },
  {
    name: 'a continuation inside the key',
    text: 'A\\\nB=c\n',
    line: 1,
    message: /expected KEY=VALUE, got `A\\`/,
  },
  {
    name: 'unquoted space inside a value',
    text: 'A=b c\n',
    line: 1,
    message: /expected the value of A to end at its first unquoted space or tab .*, got `A=b c`/,
  },
  { name: 'a space straight after `=`', text: 'A= b\n', line: 1, message: /value of A to end at/ },
  {
    name: 'two quoted parts with a space between',
    text: 'A="b" "c"\n',
    line: 1,
    message: /value of A to end at/,
  },
  {
    name: 'two assignments on one line',
    text: 'A=1 B=2\n',
    line: 1,
    message: /value of A to end at/,
  },
  {
    name: 'unquoted space on a continuation line',
    text: 'X=1\nA=b\\\nc d\n',
    line: 3,
    message: /value of A to end at .*, got `c d`/,
  },
  {
    name: 'unquoted space after a multi-line double-quoted part',
    text: 'A="x\\\ny\nz" w\n',
    line: 3,
    message: /value of A to end at .*, got `z" w`/,
  },
  {
    name: 'unquoted space after a multi-line single-quoted part',
    text: "A='x\ny\n' w\n",
    line: 3,
    message: /value of A to end at .*, got `' w`/,
  },
  {
    name: 'a bad line after a multi-line single-quoted value',
    text: "A='x\ny'\nB\n",
    line: 3,
    message: /expected KEY=VALUE, got `B`/,
  },
  {
    name: 'an unterminated double quote spanning lines',
    text: 'X=1\nA="abc\ndef\nB=2\n',
    line: 2,
    message:
      /expected a closing " for the quote opened on this line, got the end of the file; the line is `A="abc`/,
  },
  {
    name: 'an unterminated single quote',
    text: "A='abc\n",
    line: 1,
    message: /expected a closing ' for the quote opened on this line/,
  },
  {
    name: 'an unterminated quote that opens on a later line of the value',
    text: 'X=1\nA="x\ny"\'z\nw\n',
    line: 3,
    message:
      /expected a closing ' for the quote opened on this line, got the end of the file; the line is `y"'z`/,
  },
  {
    name: 'an escaped quote leaves a double quote open',
    text: 'A="b\\"\n',
    line: 1,
    message: /expected a closing " for the quote opened on this line/,
  },
  {
    name: 'a backslash at the end of the file inside double quotes',
    text: 'A="b\\',
    line: 1,
    message: /expected a closing "/,
  },
  {
    name: 'a backslash at the end of the file',
    text: 'A=1\nB=b\\',
    line: 2,
    message: /expected a character after the backslash, got the end of the file after `B=b\\`/,
  },
  {
    name: 'a quote after unquoted text',
    text: 'A=a"b"\n',
    line: 1,
    message: /expected no quote after unquoted text in the value of A .*, got `A=a"b"`/,
  },
  {
    name: 'a quote after quoted then unquoted text',
    text: 'A="a"b\'c\'\n',
    line: 1,
    message: /no quote after unquoted/,
  },
  {
    name: 'a quote after a continuation',
    text: 'A=\\\n"b"\n',
    line: 2,
    message: /no quote after unquoted/,
  },
  {
    name: 'an unquoted `;`',
    text: 'A=b;c\n',
    line: 1,
    message: /expected no unquoted `;` in the value of A/,
  },
  { name: 'an unquoted `&`', text: 'A=b&\n', line: 1, message: /no unquoted `&`/ },
  { name: 'an unquoted `|`', text: 'A=b|c\n', line: 1, message: /no unquoted `\|`/ },
  { name: 'an unquoted `>`', text: 'A=b>c\n', line: 1, message: /no unquoted `>`/ },
  { name: 'an unquoted `<`', text: 'A=b<c\n', line: 1, message: /no unquoted `<`/ },
  {
    name: 'an unquoted `(` (an array in bash)',
    text: 'A=(x)\n',
    line: 1,
    message: /no unquoted `\(`/,
  },
  { name: 'an unquoted `)`', text: 'A=x)\n', line: 1, message: /no unquoted `\)`/ },
  { name: '`$(` unquoted', text: 'A=$(date)\n', line: 1, message: /no unquoted `\(`/ },
  { name: '`~` at the start', text: 'A=~/x\n', line: 1, message: /no unquoted `~` at the start/ },
  { name: '`~` after `:`', text: 'A=/x:~/y\n', line: 1, message: /no unquoted `~`/ },
  { name: '`~` after a continuation', text: 'A=\\\n~\n', line: 2, message: /no unquoted `~`/ },
  {
    name: 'CRLF line endings',
    text: '# comment\r\nA=b\r\n',
    line: 2,
    message:
      /expected lines ending in a newline alone, got a carriage return \(CRLF line endings\?\) in `A=b`/,
  },
  { name: 'CRLF after a quoted value', text: 'A="b"\r\n', line: 1, message: /carriage return/ },
  {
    name: 'CRLF after a continuation backslash',
    text: 'A=b\\\r\nc\n',
    line: 1,
    message: /carriage return/,
  },
  {
    name: 'an error after valid lines',
    text: 'A=1\nB=2\n\n# c\nC=x y\n',
    line: 5,
    message: /value of C/,
  },
];

let bashPath: string | undefined;

/** What bash, with an empty environment, sets each key to after `set -a; . FILE`. */
function bashValues(text: string, keys: readonly string[]): Map<string, string> {
  bashPath ??= execFileSync('sh', ['-c', 'command -v bash'], { encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'tsdistcc-env-file-'));
  try {
    const file = join(dir, 'env');
    writeFileSync(file, text);
    const script =
      'set -a; . "$1" || exit 1; shift; ' +
      'for __k; do [ -n "${!__k+set}" ] && printf "%s\\0%s\\0" "$__k" "${!__k}"; done; exit 0';
    // --norc and no socket on stdin: bash reads ~/.bashrc when stdin is a socket.
    const r = spawnSync('env', ['-i', bashPath, '--norc', '-c', script, '_', file, ...keys], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    assert.equal(r.stderr, '', `bash complained about ${JSON.stringify(text)}`);
    assert.equal(r.status, 0, `bash failed on ${JSON.stringify(text)}`);
    const parts = r.stdout.split('\0');
    const values = new Map<string, string>();
    for (let i = 0; i + 1 < parts.length; i += 2) values.set(parts[i] ?? '', parts[i + 1] ?? '');
    return values;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const { name, text, want } of valid) {
  test(`env file: ${name}`, () => {
    const got = parseEnvFile(text, FILE);
    assert.deepEqual([...got], want);
    const keys = want.map(([key]) => key);
    assert.deepEqual(bashValues(text, keys), new Map(want), 'bash reads it the same');
  });
}

for (const { name, text, want } of notLikeSh) {
  test(`env file (not as sh): ${name}`, () => {
    assert.deepEqual([...parseEnvFile(text, FILE)], want);
  });
}

for (const { name, text, line, message } of invalid) {
  test(`env file error: ${name}`, () => {
    assert.throws(
      () => parseEnvFile(text, FILE),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
        assert.ok(
          err.message.startsWith(`${FILE}:${line}: `),
          `expected the message to start with ${FILE}:${line}, got ${err.message}`,
        );
        assert.match(err.message, message);
        return true;
      },
    );
  });
}

test('env file: the error message for a line without `=` in full, and exit 101', () => {
  assert.throws(() => parseEnvFile('# c\n\nDISTCC_ARGS --allow\n', FILE), {
    name: 'ConfigError',
    exitCode: 101,
    message: '/etc/conf.d/tsdistccd:3: expected KEY=VALUE, got `DISTCC_ARGS --allow`',
  });
});

test('env file: the oracle tells values apart (a wrong expectation fails)', () => {
  assert.notDeepEqual(bashValues('A="a\\nb"\n', ['A']), new Map([['A', 'a\nb']]));
  assert.deepEqual(bashValues('A="a\\nb"\n', ['A', 'UNSET']), new Map([['A', 'a\\nb']]));
});
