// Which account a daemon started as root runs as when no --user is given:
// tsdistcc, distcc, then distccd (the account Debian's distcc package
// creates), then nobody. Tested with the real account of this machine's
// distcc package. Needs: root, Debian's distcc package, gcc.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exchange, runDistcc } from '../helpers/client.js';
import { openTempDir, startTsdistccd } from '../helpers/daemon.js';
import { ROOT } from '../helpers/paths.js';
import { parseReply, request } from '../helpers/wire.js';

function uidOf(name: string): string | undefined {
  try {
    return execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).split(':')[2];
  } catch {
    return undefined;
  }
}

test('as root without --user, on Debian (no tsdistcc or distcc account), compilers run as distccd', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root');
  const distccd = uidOf('distccd');
  if (distccd === undefined) return t.skip('no distccd account (Debian package distccd)');
  if (uidOf('tsdistcc') !== undefined || uidOf('distcc') !== undefined) {
    return t.skip('a tsdistcc or distcc account exists here: it would come first');
  }
  const work = openTempDir('tsdistcc-accounts-');
  writeFileSync(join(work, 'hello.c'), 'int hello(int x) { return x * 7; }\n');
  const ts = await startTsdistccd([
    '--allow',
    '127.0.0.1',
    '--whitelist-dir',
    `${ROOT}test/fixtures/whitelist`,
  ]);
  try {
    // The daemon itself switched, and so did its compilers.
    const status = readFileSync(`/proc/${ts.child.pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\t${distccd}\\t${distccd}\\t`, 'm'));
    const { reply } = await exchange(
      ts.port,
      request(1, ['probe-cc', '-c', 'x.c', '-o', 'x.o'], Buffer.from('int x;\n')),
    );
    const r = parseReply(reply);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.match(r.stderr.toString(), new RegExp(`probe: uid=${distccd} `));
    // And a real compile through Debian's client gives the local object.
    const run = await runDistcc(
      ['gcc', '-c', 'hello.c', '-o', 'remote.o'],
      `127.0.0.1:${ts.port}`,
      work,
    );
    assert.equal(run.code, 0, run.stderr);
    execFileSync('gcc', ['-c', 'hello.c', '-o', 'local.o'], { cwd: work });
    assert.deepEqual(readFileSync(join(work, 'remote.o')), readFileSync(join(work, 'local.o')));
  } finally {
    await ts.stop();
  }
});
