// Where things are, seen from a built test file (build/test/...).

import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DAEMON_BIN = `${ROOT}build/src/bin/tsdistccd.js`;
/** The client users run: the bash launcher (agent, or the plain client with TSDISTCC_AGENT=0). */
export const CLIENT_BIN = `${ROOT}bin/tsdistcc`;
/** The plain client alone: one Node process per call. */
export const PLAIN_CLIENT_BIN = `${ROOT}build/src/bin/tsdistcc.js`;
export const FIXTURE_BIN = `${ROOT}test/fixtures/bin`;
