// The man page documents every option --help shows and every exit code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { ExitCode } from '../src/errors.js';
import { DAEMON_BIN, ROOT } from './helpers/paths.js';

const page = readFileSync(`${ROOT}man/tsdistccd.8`, 'utf8').replace(/\\-/g, '-');

test('tsdistccd.8 names every option of tsdistccd --help', () => {
  const help = execFileSync(process.execPath, [DAEMON_BIN, '--help'], { encoding: 'utf8' });
  const options = [...new Set(help.match(/--[a-z][a-z-]+/g) ?? [])];
  assert.ok(options.length > 40, `too few options found in --help: ${options.length}`);
  const missing = options.filter((o) => !page.includes(o) && !page.includes(`--no-${o.slice(2)}`));
  assert.deepEqual(missing, []);
});

test('tsdistccd.8 lists every exit code', () => {
  for (const code of Object.values(ExitCode)) {
    assert.match(page, new RegExp(`^\\.B ${code}$`, 'm'), `exit code ${code}`);
  }
});

test('tsdistccd.8 is valid roff (man renders it without warnings)', () => {
  const r = spawnSync('man', ['--warnings', '-l', `${ROOT}man/tsdistccd.8`], {
    encoding: 'utf8',
    env: { ...process.env, MANWIDTH: '80', MAN_KEEP_FORMATTING: '0' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'groff warnings');
  // Overstrike bold (X\bX) and underline (_\bX) to plain text.
  const text = r.stdout.replace(new RegExp('.' + String.fromCharCode(8), 'g'), '');
  assert.match(text, /tsdistccd\s+-\s+distcc\s+compile\s+server/);
  assert.match(text, /EXIT STATUS/);
});

const clientPage = readFileSync(`${ROOT}man/tsdistcc.1`, 'utf8').replace(/\\-/g, '-');

test('tsdistcc.1 documents every environment variable the client reads and every exit code', () => {
  const sources = [
    ...readdirSync(`${ROOT}src/client`, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => readFileSync(`${ROOT}src/client/${f}`, 'utf8')),
    readFileSync(`${ROOT}src/client-main.ts`, 'utf8'),
    readFileSync(`${ROOT}bin/tsdistcc`, 'utf8'),
  ].join('\n');
  const names = new Set(
    [...sources.matchAll(/\b(_?DISTCC_[A-Z_]+|TSDISTCC_[A-Z_]+|XDG_RUNTIME_DIR|TMPDIR)\b/g)].map(
      (m) => m[1]!,
    ),
  );
  // Internal: the launcher hands the plain client its name in this one.
  names.delete('TSDISTCC_ARGV0');
  assert.ok(names.size > 15, `too few variables found: ${[...names].join(' ')}`);
  const missing = [...names].filter((n) => !clientPage.includes(`.B ${n}`));
  assert.deepEqual(missing, []);
  for (const code of Object.values(ExitCode)) {
    assert.match(clientPage, new RegExp(`^\\.B ${code}$`, 'm'), `exit code ${code}`);
  }
});

test('tsdistcc.1 names every option of tsdistcc --help, and renders without warnings', () => {
  const help = execFileSync(`${ROOT}bin/tsdistcc`, ['--help'], {
    encoding: 'utf8',
    env: { ...process.env, TSDISTCC_AGENT: '0' },
  });
  for (const option of ['--help', '--version', '--show-hosts', '-j']) {
    assert.ok(help.includes(option) && clientPage.includes(`.B ${option}`), option);
  }
  const r = spawnSync('man', ['--warnings', '-l', `${ROOT}man/tsdistcc.1`], {
    encoding: 'utf8',
    env: { ...process.env, MANWIDTH: '80' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '', 'groff warnings');
});
