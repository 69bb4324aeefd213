import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { parseEnvFile } from '../../src/config/env-file.js';
import { quoteWord, splitWords } from '../../src/config/shell-words.js';
import { ConfigError } from '../../src/errors.js';

const split: [string, string, string[]][] = [
  ['empty text', '', []],
  ['only separators', ' \t\n\r  ', []],
  ['single word', '--verbose', ['--verbose']],
  [
    'spaces, tabs, newlines and CRs separate; runs count once',
    ' a  b\tc\nd\r\ne ',
    ['a', 'b', 'c', 'd', 'e'],
  ],
  [
    'the distcc example',
    '--user nobody --allow 192.168.0.0/24 --port 3692 --log-level info --log-file /var/log/tsdistccd-i686.log',
    [
      '--user',
      'nobody',
      '--allow',
      '192.168.0.0/24',
      '--port',
      '3692',
      '--log-level',
      'info',
      '--log-file',
      '/var/log/tsdistccd-i686.log',
    ],
  ],
  ['single quotes group', "--log-file '/var/log/a b.log'", ['--log-file', '/var/log/a b.log']],
  ['double quotes group', '"a  b" "c\td"', ['a  b', 'c\td']],
  ['quotes inside a word join it', 'a"b c"d\'e f\'g', ['ab cde fg']],
  ['empty quotes are empty words', '\'\' "" x', ['', '', 'x']],
  ['adjacent quoted parts', "'it'\"'\"'s'", ["it's"]],
  ['the other quote inside quotes is literal', '"it\'s" \'say "hi"\'', ["it's", 'say "hi"']],
  ['backslash escapes a space', 'a\\ b c', ['a b', 'c']],
  ['backslash escapes quotes and backslashes', '\\"x\\" \\\'y \\\\z', ['"x"', "'y", '\\z']],
  ['backslash escapes inside double quotes', '"a\\"b" "c\\\\d" "e\\f"', ['a"b', 'c\\d', 'ef']],
  ['backslash escapes inside single quotes (systemd)', "'a\\'b' 'c\\\\d'", ["a'b", 'c\\d']],
  ['backslash-newline is a literal newline', 'a\\\nb', ['a\nb']],
  ['newlines inside quotes are kept', '"a\nb"', ['a\nb']],
  [
    'nothing is expanded',
    '$HOME ${X} "$(date)" `date` ~ *',
    ['$HOME', '${X}', '$(date)', '`date`', '~', '*'],
  ],
  ['# is not a comment', 'a #b', ['a', '#b']],
  ['non-ASCII text', 'héllo "wörld ✓"', ['héllo', 'wörld ✓']],
];

for (const [name, text, want] of split) {
  test(`splitWords: ${name}`, () => {
    assert.deepEqual(splitWords(text), want);
  });
}

const bad: [string, string, RegExp][] = [
  [
    'an unterminated double quote',
    '--allow "10.0.0.0/8',
    /^expected a closing " for the quote at character 9 of `--allow "10\.0\.0\.0\/8`, got the end of the text$/,
  ],
  ['an unterminated single quote', "a 'b c", /^expected a closing ' for the quote at character 3 /],
  [
    'a quote closed by the other kind',
    '"a\'',
    /^expected a closing " for the quote at character 1 /,
  ],
  ['an escaped closing quote', "'a\\'", /^expected a closing ' /],
  [
    'a trailing backslash',
    'a b\\',
    /^expected a character after the backslash at the end of `a b\\`, got the end of the text$/,
  ],
  ['a trailing backslash inside quotes', '"a\\', /^expected a character after the backslash/],
];

for (const [name, text, message] of bad) {
  test(`splitWords error: ${name}`, () => {
    assert.throws(
      () => splitWords(text),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
        assert.equal(err.exitCode, 101);
        assert.match(err.message, message);
        return true;
      },
    );
  });
}

const words = [
  'plain',
  '--log-file=/var/log/x.log',
  '192.168.0.0/24',
  '',
  'a b',
  '  lead and trail  ',
  "it's",
  'back\\slash',
  "both ' and \\",
  '"double"',
  '$HOME',
  '${X}',
  '`date`',
  'tab\there',
  'new\nline',
  'cr\rhere',
  '#hash',
  '~',
  '*.c',
  'a;b&c|d',
  '(x)',
  'ünï ✓',
  '!bang',
];

test('quoteWord leaves safe words alone and quotes the rest', () => {
  assert.equal(quoteWord('--port'), '--port');
  assert.equal(quoteWord('/var/log/x.log'), '/var/log/x.log');
  assert.equal(quoteWord('a b'), "'a b'");
  assert.equal(quoteWord(''), "''");
  assert.equal(quoteWord("it's"), '"it\'s"');
  assert.equal(quoteWord('a\\b$c`d"e'), '"a\\\\b\\$c\\`d\\"e"');
});

for (const word of words) {
  test(`quoteWord round-trips ${JSON.stringify(word)} through splitWords`, () => {
    assert.deepEqual(splitWords(quoteWord(word)), [word]);
  });
}

test('quoteWord of many words joined with spaces splits back to the same words', () => {
  assert.deepEqual(splitWords(words.map(quoteWord).join(' ')), words);
});

test('bash reads what quoteWord writes as the same words', () => {
  const quoted = words.map(quoteWord).join(' ');
  const script = 'eval "set -- $1"; printf "%s\\0" "$@"';
  const out = execFileSync('bash', ['--norc', '-c', script, '_', quoted], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.deepEqual(out.split('\0').slice(0, -1), words);
});

test('an env file value splits into the daemon arguments', () => {
  const env = parseEnvFile(
    'DISTCC_ARGS="--allow 10.0.0.0/8 --log-file \'/var/log/my logs/d.log\' --user \\"nobody\\""\n',
    'test.conf',
  );
  assert.deepEqual(splitWords(env.get('DISTCC_ARGS') ?? ''), [
    '--allow',
    '10.0.0.0/8',
    '--log-file',
    '/var/log/my logs/d.log',
    '--user',
    'nobody',
  ]);
});
