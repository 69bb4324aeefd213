// One parser for tsdistccd's options, used for the command line and for the
// DISTCC_ARGS words of a conf.d file alike.

import yargs from 'yargs';
import { ConfigError } from '../errors.js';
import { defineDaemonOptions, type RawDaemonOptions } from './daemon-options.js';

export type ParsedArgs =
  | { kind: 'options'; options: RawDaemonOptions }
  | { kind: 'help'; text: string }
  | { kind: 'version' };

/**
 * Parses `argv`. `where` names the source for messages (`the command line`,
 * or `FILE: DISTCC_ARGS`). Only explicitly given options appear in the
 * result, so that sources can be merged key by key.
 */
export async function parseDaemonArgs(argv: string[], where: string): Promise<ParsedArgs> {
  let failure: string | undefined;
  const parser = defineDaemonOptions(yargs(argv))
    .exitProcess(false)
    .fail((msg, err) => {
      failure = msg ?? err?.message ?? 'bad options';
    });
  if (argv.includes('--help') || argv.includes('-h')) {
    return { kind: 'help', text: await parser.getHelp() };
  }
  if (argv.includes('--version')) return { kind: 'version' };
  const parsed = (await parser.parseAsync()) as RawDaemonOptions & {
    _: unknown[];
    $0?: string;
  };
  if (failure !== undefined) throw new ConfigError(`${where}: ${failure} (see tsdistccd --help)`);
  if (parsed._.length > 0) {
    throw new ConfigError(
      `${where}: tsdistccd takes no arguments besides options, got \`${parsed._.join(' ')}\``,
    );
  }
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (key !== '_' && key !== '$0' && value !== undefined) options[key] = value;
  }
  return { kind: 'options', options: options };
}
