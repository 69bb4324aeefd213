// Where things are, seen from a built test file (build/test/...).

import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DAEMON_BIN = `${ROOT}build/src/bin/tsdistccd.js`;
export const CLIENT_BIN = `${ROOT}build/src/bin/tsdistcc.js`;
export const FIXTURE_BIN = `${ROOT}test/fixtures/bin`;
