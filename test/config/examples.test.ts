// The shipped etc/conf.d examples stay valid: they parse as env files and
// their DISTCC_ARGS are options tsdistccd knows.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseDaemonArgs } from '../../src/cli/parse-daemon-args.js';
import { parseEnvFile } from '../../src/config/env-file.js';
import { splitWords } from '../../src/config/shell-words.js';
import { ROOT } from '../helpers/paths.js';

for (const name of ['tsdistccd', 'tsdistccd-i686']) {
  test(`etc/conf.d/${name} parses and names only known options`, async () => {
    const file = `${ROOT}etc/conf.d/${name}`;
    const vars = parseEnvFile(readFileSync(file, 'utf8'), file);
    const args = vars.get('DISTCC_ARGS');
    assert.ok(args, 'DISTCC_ARGS is set');
    const parsed = await parseDaemonArgs(splitWords(args), file);
    assert.equal(parsed.kind, 'options');
    if (parsed.kind === 'options') assert.ok(parsed.options.allow?.length, 'it names --allow');
  });
}

test('the i686 example runs compilers in a root with the linux32 personality on port 3692', async () => {
  const file = `${ROOT}etc/conf.d/tsdistccd-i686`;
  const parsed = await parseDaemonArgs(
    splitWords(parseEnvFile(readFileSync(file, 'utf8'), file).get('DISTCC_ARGS')!),
    file,
  );
  assert.equal(parsed.kind, 'options');
  if (parsed.kind !== 'options') return;
  assert.equal(parsed.options.port, '3692');
  assert.equal(parsed.options.chroot, '/opt/arch32');
  assert.equal(parsed.options.personality, 'linux32');
});
