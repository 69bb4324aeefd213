// The client's messages, in distcc's shape: `tsdistcc[PID] ERROR: text`.
// distcc src/trace.c: warnings and errors go to stderr; DISTCC_LOG=FILE sends
// them (and info) to that file instead; DISTCC_VERBOSE=1 adds debug detail.
// pino is not used here on purpose: the client runs once per source file and
// its start-up time is the product (see README, "The client").

import { appendFileSync } from 'node:fs';

export const LogLevel = { ERROR: 0, WARNING: 1, INFO: 2, DEBUG: 3 } as const;
type Level = (typeof LogLevel)[keyof typeof LogLevel];

const LABEL: Record<Level, string> = { 0: 'ERROR: ', 1: 'Warning: ', 2: '', 3: '' };

export class ClientLog {
  readonly #prefix: string;
  readonly #level: Level;
  readonly #file: string | undefined;

  readonly #sink: (line: string) => void;

  /** Messages of the process `pid`, written by `sink` (its stderr) unless DISTCC_LOG is set. */
  constructor(
    env: NodeJS.ProcessEnv,
    pid: number = process.pid,
    sink: (line: string) => void = (line) => process.stderr.write(line),
  ) {
    this.#prefix = `tsdistcc[${pid}] `;
    this.#sink = sink;
    this.#file = env.DISTCC_LOG || undefined;
    const verbose = env.DISTCC_VERBOSE === '1';
    this.#level = verbose ? LogLevel.DEBUG : this.#file ? LogLevel.INFO : LogLevel.WARNING;
  }

  get verbose(): boolean {
    return this.#level >= LogLevel.DEBUG;
  }

  error(text: string): void {
    this.#write(LogLevel.ERROR, text);
  }
  warn(text: string): void {
    this.#write(LogLevel.WARNING, text);
  }
  info(text: string): void {
    this.#write(LogLevel.INFO, text);
  }
  debug(text: string): void {
    this.#write(LogLevel.DEBUG, text);
  }

  #write(level: Level, text: string): void {
    if (level > this.#level) return;
    const line = `${this.#prefix}${LABEL[level]}${text}\n`;
    if (this.#file) {
      try {
        appendFileSync(this.#file, line);
        return;
      } catch {
        /* an unwritable log file must not lose the message: stderr below */
      }
    }
    this.#sink(line);
  }
}
