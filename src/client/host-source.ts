// Where the host list comes from, in distcc's order (distcc src/hosts.c
// dcc_get_hostlist): $DISTCC_HOSTS if set, even to nothing (then it is an
// empty list, refused, not a reason to look further); else <DISTCC_DIR>/hosts;
// else <sysconfdir>/distcc/hosts; else none, and the caller warns "no hostlist
// is set" and compiles locally. A file counts if access(R_OK) allows it; one
// that then cannot be read (a directory, say) is an error, not skipped.

import { accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, TsdistccError } from '../errors.js';
import { parseHosts, type HostList } from './hosts.js';

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function parseFile(path: string): { list: HostList; source: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TsdistccError(
      `cannot read hosts file ${path}: ${(err as Error).message}`,
      ExitCode.IO_ERROR,
      { cause: err },
    );
  }
  return { list: parseHosts(text, path), source: path };
}

/** The host list and where it came from, or undefined if there is none. Throws
 *  BadHostSpecError for a list distcc would refuse (including an empty DISTCC_HOSTS). */
export function readHostList(
  env: NodeJS.ProcessEnv,
  distccDir: string,
  sysconfDir = '/etc/distcc',
): { list: HostList; source: string } | undefined {
  const fromEnv = env.DISTCC_HOSTS;
  if (fromEnv !== undefined)
    return { list: parseHosts(fromEnv, 'DISTCC_HOSTS'), source: 'DISTCC_HOSTS' };
  for (const path of [join(distccDir, 'hosts'), join(sysconfDir, 'hosts')]) {
    if (readable(path)) return parseFile(path);
  }
  return undefined;
}
