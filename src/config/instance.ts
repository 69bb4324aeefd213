// Which conf.d file an instance reads (DESIGN §3): `tsdistccd` alone reads
// CONFDIR/tsdistccd if it exists; `--instance NAME` reads
// CONFDIR/tsdistccd-NAME (systemd template style) or CONFDIR/tsdistccd.NAME
// (OpenRC multiplexed style); `--config FILE` names the file. The instance
// name also names its syslog ident, `tsdistccd-NAME`.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';

export const DEFAULT_CONF_DIR = '/etc/conf.d';
export const PROGRAM = 'tsdistccd';

export type Instance = Readonly<{
  /** The instance name, if one was given. */
  name?: string;
  /** The env file to read, if there is one. */
  file?: string;
  /** syslog ident and log line program name. */
  ident: string;
}>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@+-]*$/;

export function resolveInstance(opts: {
  instance?: string;
  config?: string;
  confDir?: string;
}): Instance {
  const confDir = opts.confDir ?? DEFAULT_CONF_DIR;
  const name = opts.instance;
  if (name !== undefined && !NAME.test(name)) {
    throw new ConfigError(
      `--instance must be a name of letters, digits and . _ @ + - (no /), got \`${name}\``,
    );
  }
  const ident = name !== undefined ? `${PROGRAM}-${name}` : PROGRAM;
  if (opts.config !== undefined) {
    if (!existsSync(opts.config)) {
      throw new ConfigError(`--config: no such file \`${opts.config}\``);
    }
    return { ...(name !== undefined ? { name } : {}), file: opts.config, ident };
  }
  if (name === undefined) {
    const file = join(confDir, PROGRAM);
    return existsSync(file) ? { file, ident } : { ident };
  }
  const candidates = [join(confDir, `${PROGRAM}-${name}`), join(confDir, `${PROGRAM}.${name}`)];
  const file = candidates.find((f) => existsSync(f));
  if (file === undefined) {
    throw new ConfigError(
      `--instance ${name}: expected a configuration file ${candidates.join(' or ')}, found neither`,
    );
  }
  return { name, file, ident };
}
