// tsdistccmon's client view escapes the names in state files: a file name
// with a newline or ESC (from a hostile source tree) prints as one line
// with no terminal control, where distccmon-text prints it raw.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientJson, clientText } from '../../src/monitor/client-view.js';
import { Phase, StateFile } from '../../src/state/binstate.js';

test('file and host names from state files are escaped; --json is ASCII-only and exact', () => {
  const dir = mkdtempSync(join(tmpdir(), 'distcc-dir-'));
  const file = 'x\nCOMPILE_OK\x1b[2J\u202eg.c';
  new StateFile(dir, process.pid).write({ file, host: 'h\x07', slot: 1, phase: Phase.COMPILE });
  const text = clientText({ DISTCC_DIR: dir });
  const pid = String(process.pid).padStart(6);
  const shown = 'x\\nCOMPILE_OK\\x1b[2J\\u202eg.c';
  assert.equal(text, `${pid}  Compile     ${shown.padEnd(30)} ${'h\\x07'.padStart(24)}[1]\n\n`);
  const json = clientJson({ DISTCC_DIR: dir });
  assert.match(json, /^[\x20-\x7e]*\n$/);
  assert.deepEqual((JSON.parse(json) as { jobs: { file: string }[] }).jobs[0]!.file, file);
});
