// escapeLog: the table of escapes, and as properties over any UTF-16 text
// (lone surrogates included): nothing a terminal acts on is left, and a
// decoder written here from the rules (not the production code) gives the
// text back, so two names never log alike.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ESCAPE_LOG_SOURCE, asciiJson, escapeField, escapeLog } from '../../src/logging/escape.js';
import { forbiddenUnit as forbidden } from '../helpers/raw-chars.js';

/** Reads escapeLog's output back: \\ \n \r \t \xHH \uHHHH; anything else after `\` is an error. */
function unescapeLog(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const kind = s[++i];
    const simple: Record<string, string> = { '\\': '\\', n: '\n', r: '\r', t: '\t' };
    if (kind !== undefined && kind in simple) {
      out += simple[kind];
      continue;
    }
    const width = kind === 'x' ? 2 : kind === 'u' ? 4 : 0;
    const digits = s.slice(i + 1, i + 1 + width);
    if (width === 0 || !new RegExp(`^[0-9a-f]{${width}}$`).test(digits)) {
      throw new Error(`bad escape at ${i} in ${JSON.stringify(s)}`);
    }
    out += String.fromCharCode(parseInt(digits, 16));
    i += width;
  }
  return out;
}

/** Whether `s` holds a lone surrogate. */
function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u >= 0xd800 && u <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return true;
    } else if (u >= 0xdc00 && u <= 0xdfff) return true;
  }
  return false;
}

const interesting = [
  0x00, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0d, 0x1b, 0x1f, 0x20, 0x22, 0x3d, 0x5c, 0x6e, 0x75, 0x78,
  0x7e, 0x7f, 0x80, 0x85, 0x9b, 0x9f, 0xa0, 0xe9, 0x061c, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a,
  0x202e, 0x2066, 0x2069, 0xd800, 0xd83d, 0xdbff, 0xdc00, 0xde80, 0xdfff, 0xfeff, 0xfffd,
];
const unit = fc.oneof(
  fc.constantFrom(...interesting),
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0, max: 0xffff }),
);
const anyText = fc.array(unit, { maxLength: 60 }).map((u) => String.fromCharCode(...u));

test('the escapes, one by one', () => {
  const table: [string, string][] = [
    ['x.c', 'x.c'],
    ['', ''],
    ['a\\b', 'a\\\\b'],
    ['x.c\nCOMPILE_OK forged', 'x.c\\nCOMPILE_OK forged'],
    ['a\rb\tc', 'a\\rb\\tc'],
    ['\x1b[2J', '\\x1b[2J'],
    ['\0\x07\x7f', '\\x00\\x07\\x7f'],
    ['\x85\x9b', '\\u0085\\u009b'],
    ['a\u2028b\u2029', 'a\\u2028b\\u2029'],
    ['evil\u202egnp.c', 'evil\\u202egnp.c'],
    ['\u202a\u202b\u202c\u202d', '\\u202a\\u202b\\u202c\\u202d'],
    ['\u2066\u2067\u2068\u2069', '\\u2066\\u2067\\u2068\\u2069'],
    ['\u200e\u200f\u061c', '\\u200e\\u200f\\u061c'],
    ['\ud800', '\\ud800'],
    ['x\udfffy', 'x\\udfffy'],
    ['\udc00\ud800', '\\udc00\\ud800'],
    // Printable non-ASCII and whole surrogate pairs are kept.
    ['é 日本 🚀 \u00a0', 'é 日本 🚀 \u00a0'],
    ['"quoted" key=value', '"quoted" key=value'],
  ];
  for (const [input, want] of table) {
    assert.equal(escapeLog(input), want, JSON.stringify(input));
    assert.equal(unescapeLog(want), input);
  }
});

test('plain printable ASCII comes back as the very same string', () => {
  fc.assert(
    fc.property(
      fc.string({ unit: 'binary-ascii' }).map((s) => s.replace(/[^\x20-\x5b\x5d-\x7e]/g, '')),
      (s) => escapeLog(s) === s,
    ),
  );
});

test('no control, bidi, separator or lone surrogate is left, and the text reads back', () => {
  fc.assert(
    fc.property(anyText, (s) => {
      const out = escapeLog(s);
      for (let i = 0; i < out.length; i++) {
        assert.ok(!forbidden(out.charCodeAt(i)), `${JSON.stringify(out)} at ${i}`);
      }
      assert.ok(!hasLoneSurrogate(out), JSON.stringify(out));
      assert.equal(unescapeLog(out), s);
    }),
    { numRuns: 2000 },
  );
});

test('two different texts never escape alike', () => {
  fc.assert(
    fc.property(anyText, anyText, (a, b) => a === b || escapeLog(a) !== escapeLog(b)),
    { numRuns: 2000 },
  );
});

test('a field value is one token: quoted when it holds a space, a quote or =', () => {
  assert.equal(escapeField('gcc'), 'gcc');
  assert.equal(escapeField('a b'), '"a b"');
  assert.equal(escapeField('say "hi"'), '"say \\"hi\\""');
  assert.equal(escapeField('k=v'), '"k=v"');
  assert.equal(escapeField('nb\u00a0sp'), '"nb\u00a0sp"');
  assert.equal(escapeField(''), '""');
  assert.equal(escapeField('x\ny'), 'x\\ny');
  fc.assert(
    fc.property(anyText, (s) => {
      const f = escapeField(s);
      // One token: either no space, quote or = at all, or one quoted string.
      if (!f.startsWith('"')) {
        assert.doesNotMatch(f, /[\s"=]/);
        assert.equal(unescapeLog(f), s);
        return;
      }
      assert.ok(f.endsWith('"') && f.length >= 2);
      const inner = f.slice(1, -1);
      assert.doesNotMatch(inner.replace(/\\./g, ''), /"/, 'an unescaped quote inside');
      assert.equal(unescapeLog(inner.replace(/\\(.)/g, (m, c: string) => (c === '"' ? c : m))), s);
    }),
  );
});

test('asciiJson: printable ASCII only, and JSON.parse gives the value back exactly', () => {
  const value = { input: 'x\nCOMPILE_OK forged\x1b[2J\u202egnp.c', n: [1, 'é🚀'], lone: '\ud800' };
  const json = asciiJson(value);
  assert.match(json, /^[\x20-\x7e]*$/);
  assert.deepEqual(JSON.parse(json), value);
  fc.assert(
    fc.property(fc.array(anyText, { maxLength: 4 }), (v) => {
      const j = asciiJson({ v });
      assert.match(j, /^[\x20-\x7e]*$/);
      assert.deepEqual(JSON.parse(j), { v });
    }),
  );
});

test('the source /ui embeds is self-contained and escapes as escapeLog does', () => {
  // Run as the page runs it: no module, nothing but the source itself in scope.
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const make = new Function(`${ESCAPE_LOG_SOURCE}\nreturn escapeLog;`) as () => (
    s: string,
  ) => string;
  const inPage = make();
  fc.assert(fc.property(anyText, (s) => inPage(s) === escapeLog(s)));
});
