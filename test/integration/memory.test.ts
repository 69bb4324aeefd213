// The daemon's memory settings come from its #! line: started as its own
// file (as /usr/bin/tsdistccd, the units and the OpenRC script start it),
// node runs with a 2 MB young generation, one V8 helper thread and two malloc
// arenas (README "Memory"), and its compilers do not inherit the malloc setting.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTempDir, startTsdistccd } from '../helpers/daemon.js';
import { ROOT } from '../helpers/paths.js';
import { compileRaw } from '../helpers/client.js';

test('run as its own file, tsdistccd has its #! settings; its compilers get no MALLOC_ARENA_MAX', async () => {
  const ts = await startTsdistccd(
    ['--allow', '127.0.0.1', '--whitelist-dir', `${ROOT}test/fixtures/whitelist`],
    {},
    [],
    { asItsFile: true },
  );
  try {
    const argv = readFileSync(`/proc/${ts.child.pid}/cmdline`, 'latin1').split('\0');
    const environ = readFileSync(`/proc/${ts.child.pid}/environ`, 'latin1').split('\0');
    assert.match(argv[0]!, /node/);
    assert.ok(argv.includes('--max-semi-space-size=2'), argv.join(' '));
    assert.ok(argv.includes('--v8-pool-size=1'), argv.join(' '));
    assert.ok(environ.includes('MALLOC_ARENA_MAX=2'), 'the daemon itself has it');

    const source = Buffer.from('# 1 "e.c"\nint e(void) { return 1; }\n');
    const r = await compileRaw(ts.port, ['env-gcc', '-c', 'e.c', '-o', 'e.o'], source);
    assert.equal(r.status, 0, r.stderr.toString());
    assert.match(r.stderr.toString(), /^env: MALLOC_ARENA_MAX=unset$/m);
    const dir = openTempDir('tsdistcc-memory-');
    writeFileSync(join(dir, 'e.i'), source);
    execFileSync('gcc', ['-c', 'e.i', '-o', 'e.o'], { cwd: dir });
    assert.ok(r.object.equals(readFileSync(join(dir, 'e.o'))), 'the object of a local gcc');
  } finally {
    await ts.stop();
  }
});
