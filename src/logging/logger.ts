// The one place pino is set up. Lines go to a file (appended, written
// synchronously so nothing is lost before a crash or SIGTERM, reopened on
// SIGHUP for logrotate) or to stderr; human-readable text by default, pino's
// JSON lines with --log-format json.

import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { LEVELS, SYSLOG_SEVERITY, levelName, type LevelName } from './levels.js';

export type LogDestination =
  { kind: 'file'; path: string } | { kind: 'stderr'; priorityPrefix?: boolean };

export type LoggerOptions = Readonly<{
  level: LevelName;
  destination: LogDestination;
  format: 'text' | 'json';
  /** Program name in each line, e.g. `tsdistccd` or `tsdistccd-i686`. */
  ident: string;
}>;

type LogFn = (msg: string, fields?: Record<string, unknown>) => void;

export type Logger = Readonly<
  Record<LevelName, LogFn> & {
    isLevelEnabled: (level: LevelName) => boolean;
    /** Reopens a log file (after logrotate moved it). */
    reopen: () => void;
    flush: () => void;
  }
>;

const BASE_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'name']);

function formatValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

/** One human line: time ident[pid] level: message key=value... */
export function formatTextLine(json: string, ident: string, priorityPrefix = false): string {
  const rec = JSON.parse(json) as Record<string, unknown>;
  const level = levelName(Number(rec.level));
  const time = new Date(Number(rec.time)).toISOString();
  const fields = Object.entries(rec)
    .filter(([k]) => !BASE_KEYS.has(k))
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(' ');
  const prefix = priorityPrefix ? `<${SYSLOG_SEVERITY[level]}>` : '';
  return `${prefix}${time} ${ident}[${String(rec.pid)}] ${level}: ${typeof rec.msg === 'string' ? rec.msg : ''}${fields ? ' ' + fields : ''}\n`;
}

type Sink = DestinationStream & { reopen?: () => void; flushSync?: () => void };

function openSink(dest: LogDestination): Sink {
  if (dest.kind === 'file') {
    return pino.destination({ dest: dest.path, append: true, sync: true, mkdir: true });
  }
  return pino.destination({ dest: 2, sync: true });
}

export function createLogger(opts: LoggerOptions): Logger {
  const sink = openSink(opts.destination);
  const prefix = opts.destination.kind === 'stderr' && opts.destination.priorityPrefix === true;
  const stream: DestinationStream =
    opts.format === 'json'
      ? sink
      : { write: (line: string) => void sink.write(formatTextLine(line, opts.ident, prefix)) };
  const base: PinoLogger<LevelName> = pino<LevelName>(
    {
      level: opts.level,
      customLevels: LEVELS,
      useOnlyCustomLevels: true,
      base: { pid: process.pid, name: opts.ident },
    },
    stream,
  );
  const fn =
    (level: LevelName): LogFn =>
    (msg, fields) => {
      if (fields) base[level](fields, msg);
      else base[level](msg);
    };
  return Object.freeze({
    debug: fn('debug'),
    info: fn('info'),
    notice: fn('notice'),
    warning: fn('warning'),
    error: fn('error'),
    critical: fn('critical'),
    alert: fn('alert'),
    emergency: fn('emergency'),
    isLevelEnabled: (level: LevelName) => base.isLevelEnabled(level),
    reopen: () => sink.reopen?.(),
    flush: () => sink.flushSync?.(),
  });
}
