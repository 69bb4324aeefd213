// The daemon's configuration from its three sources, in order of
// precedence: command-line flags, then DISTCC_ARGS (and other settings) from
// the instance's env file, then defaults (DESIGN §3). Also used on SIGHUP to
// re-read the file.

import { readFileSync } from 'node:fs';
import { parseDaemonArgs } from '../cli/parse-daemon-args.js';
import type { RawDaemonOptions } from '../cli/daemon-options.js';
import { ConfigError } from '../errors.js';
import { buildDaemonConfig, type DaemonConfig } from './daemon-config.js';
import { parseEnvFile } from './env-file.js';
import { resolveInstance } from './instance.js';
import { splitWords } from './shell-words.js';

/** Options that choose the file and so cannot come from it. */
const COMMAND_LINE_ONLY = ['instance', 'config', 'conf-dir'] as const;

export type LoadInput = Readonly<{
  /** What the command line gave, explicitly. */
  cli: RawDaemonOptions;
  env: NodeJS.ProcessEnv;
  stdinIsSocket: boolean;
  /** See ConfigInput.startedAsRoot. */
  startedAsRoot?: boolean;
}>;

function lineOf(text: string, key: string): number {
  const lines = text.split('\n');
  const re = new RegExp(`^\\s*(export\\s+)?${key}=`);
  for (let i = lines.length - 1; i >= 0; i--) if (re.test(lines[i]!)) return i + 1;
  return 1;
}

/** An env file's DISTCC_ARGS as options, and its other settings (tsdistccmon --instance reads it too). */
export async function readFileOptions(
  file: string,
): Promise<{ options: RawDaemonOptions; env: Record<string, string>; where?: string }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${file}: cannot read: ${(err as Error).message}`, { cause: err });
  }
  const vars = parseEnvFile(text, file);
  const args = vars.get('DISTCC_ARGS');
  vars.delete('DISTCC_ARGS');
  const env = Object.fromEntries(vars);
  if (args === undefined || args.trim() === '') return { options: {}, env };
  const where = `${file}:${lineOf(text, 'DISTCC_ARGS')}: DISTCC_ARGS`;
  let words: string[];
  try {
    words = splitWords(args);
  } catch (err) {
    throw new ConfigError(`${where}: ${(err as Error).message}`, { cause: err });
  }
  const parsed = await parseDaemonArgs(words, where);
  if (parsed.kind !== 'options') {
    throw new ConfigError(`${where}: expected daemon options, got --help or --version`);
  }
  for (const key of COMMAND_LINE_ONLY) {
    if (parsed.options[key] !== undefined) {
      throw new ConfigError(
        `${where}: --${key} chooses the file, so it belongs on the command line`,
      );
    }
  }
  return { options: parsed.options, env, where };
}

export async function loadDaemonConfig({
  cli,
  env,
  stdinIsSocket,
  startedAsRoot,
}: LoadInput): Promise<DaemonConfig> {
  const instance = resolveInstance({
    ...(cli.instance !== undefined ? { instance: cli.instance } : {}),
    ...(cli.config !== undefined ? { config: cli.config } : {}),
    ...(cli['conf-dir'] !== undefined ? { confDir: cli['conf-dir'] } : {}),
  });
  const fromFile = instance.file
    ? await readFileOptions(instance.file)
    : { options: {}, env: {} as Record<string, string> };
  // Flags win key by key: a command-line --allow replaces the file's list.
  const options: RawDaemonOptions = { ...fromFile.options, ...cli };
  return buildDaemonConfig({
    options,
    // The real environment wins over the file (under systemd it holds the
    // same values already, from EnvironmentFile=).
    env: { ...fromFile.env, ...env },
    stdinIsSocket,
    ...(startedAsRoot !== undefined ? { startedAsRoot } : {}),
    ident: instance.ident,
    ...(instance.name !== undefined ? { instance: instance.name } : {}),
    ...(instance.file !== undefined ? { configFile: instance.file } : {}),
    sourceOf: (option) =>
      option in cli || !(option in fromFile.options) ? undefined : fromFile.where,
  });
}
