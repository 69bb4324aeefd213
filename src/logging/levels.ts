// distccd's log levels (distcc src/dopt.c, rs_loglevel), with their aliases,
// as pino custom levels: notice is a real level between info and warning.

export const LEVELS = {
  debug: 20,
  info: 30,
  notice: 35,
  warning: 40,
  error: 50,
  critical: 60,
  alert: 65,
  emergency: 70,
} as const;

export type LevelName = keyof typeof LEVELS;

const ALIASES: Readonly<Record<string, LevelName>> = {
  emerg: 'emergency',
  emergency: 'emergency',
  alert: 'alert',
  crit: 'critical',
  critical: 'critical',
  err: 'error',
  error: 'error',
  warn: 'warning',
  warning: 'warning',
  note: 'notice',
  notice: 'notice',
  info: 'info',
  debug: 'debug',
};

export const LEVEL_NAMES_ACCEPTED = Object.keys(ALIASES);

export function parseLevel(text: string): LevelName | undefined {
  return ALIASES[text.toLowerCase()];
}

/** syslog severity numbers (RFC 5424) for each level. */
export const SYSLOG_SEVERITY: Readonly<Record<LevelName, number>> = {
  emergency: 0,
  alert: 1,
  critical: 2,
  error: 3,
  warning: 4,
  notice: 5,
  info: 6,
  debug: 7,
};

export function levelName(value: number): LevelName {
  let best: LevelName = 'debug';
  for (const [name, v] of Object.entries(LEVELS) as [LevelName, number][]) {
    if (v <= value) best = name;
  }
  return best;
}
