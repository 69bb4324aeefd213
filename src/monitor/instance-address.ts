// `tsdistccmon --instance NAME [--conf-dir DIR]`: where that instance's
// stats port is, read from its conf.d file as the daemon reads it
// (CONFDIR/tsdistccd-NAME or CONFDIR/tsdistccd.NAME, its DISTCC_ARGS): its
// --stats-port, else its --port + 1 (3633 for 3632), on its --listen address
// (127.0.0.1 when it listens on all). Loaded only for --instance: it brings
// the daemon's option parser.

import { ConfigError } from '../errors.js';
import { DEFAULT_PORT, defaultStatsPort } from '../cli/daemon-options.js';
import { resolveInstance } from '../config/instance.js';
import { readFileOptions } from '../config/load-config.js';
import { integerOption, lastString, type Problems } from '../config/numbers.js';
import type { ServerAddress } from './server-address.js';

export type InstanceAddress = Readonly<{ address: ServerAddress; file: string }>;

/** Where to connect to reach a daemon listening on `listen`. */
function hostFor(listen: string | undefined): string {
  if (listen === undefined || listen === '' || listen === '0.0.0.0' || listen === '::') {
    return '127.0.0.1';
  }
  return listen.replace(/^\[(.*)\]$/, '$1');
}

export async function instanceStatsAddress(
  name: string,
  confDir: string | undefined,
): Promise<InstanceAddress> {
  const instance = resolveInstance({
    instance: name,
    ...(confDir !== undefined ? { confDir } : {}),
  });
  const file = instance.file!;
  const { options, where } = await readFileOptions(file);
  const problems: Problems = [];
  const port = integerOption(problems, 'port', options.port, DEFAULT_PORT, { min: 0, max: 65535 });
  const statsPort = integerOption(
    problems,
    'stats-port',
    options['stats-port'],
    defaultStatsPort(port),
    { min: 0, max: 65535 },
  );
  if (problems.length > 0) throw new ConfigError(`${where ?? file}: ${problems.join('; ')}`);
  if (options.stats !== true) {
    throw new ConfigError(
      `--instance ${name}: ${file} has no --stats in its DISTCC_ARGS, so the daemon serves no stats port (add --stats; it would be on port ${statsPort})`,
    );
  }
  if (statsPort === 0) {
    throw new ConfigError(
      `--instance ${name}: ${file} sets a stats port of 0 (any free port): tsdistccmon cannot know it; give --stats-port N`,
    );
  }
  return { address: { host: hostFor(lastString(options.listen)), port: statsPort }, file };
}
