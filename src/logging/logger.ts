// The one place pino is set up. Destinations:
// - a file: appended, written synchronously so nothing is lost before a crash
//   or SIGTERM, reopened on SIGHUP for logrotate; optionally rotated by
//   pino-roll (daily, hourly or by size);
// - stderr: under systemd (JOURNAL_STREAM) each line starts with `<N>` so the
//   journal records its priority;
// - syslog: each record handed to a sender with its severity (RFC 3164 is
//   formatted by the sender's side, see syslog-format.ts).
// Lines are human-readable text by default, pino's JSON with --log-format json.

import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { LEVELS, SYSLOG_SEVERITY, levelName, type LevelName } from './levels.js';

export type LogDestination =
  | {
      kind: 'file';
      path: string;
      rotation?: Readonly<{ frequency?: 'daily' | 'hourly'; size?: string; keep: number }>;
    }
  | { kind: 'stderr'; priorityPrefix?: boolean }
  | { kind: 'syslog'; send: (severity: number, message: string) => void };

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
    setLevel: (level: LevelName) => void;
    /** Reopens a log file (after logrotate moved it). */
    reopen: () => void;
    /** The file lines go to now (with rotation, the current one). */
    currentFile: () => string | undefined;
    flush: () => void;
  }
>;

const BASE_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'name']);

function formatValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

type Record_ = Record<string, unknown>;

/** `level: message key=value...`, the part of a line after time and ident. */
function formatBody(rec: Record_): string {
  const level = levelName(Number(rec.level));
  const fields = Object.entries(rec)
    .filter(([k]) => !BASE_KEYS.has(k))
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join(' ');
  const msg = typeof rec.msg === 'string' ? rec.msg : '';
  return `${level}: ${msg}${fields ? ' ' + fields : ''}`;
}

/** One human line: time ident[pid] level: message key=value... */
export function formatTextLine(json: string, ident: string, priorityPrefix = false): string {
  const rec = JSON.parse(json) as Record_;
  const level = levelName(Number(rec.level));
  const time = new Date(Number(rec.time)).toISOString();
  const prefix = priorityPrefix ? `<${SYSLOG_SEVERITY[level]}>` : '';
  return `${prefix}${time} ${ident}[${String(rec.pid)}] ${formatBody(rec)}\n`;
}

type Sink = DestinationStream & {
  file?: string | number;
  reopen?: (file?: string) => void;
  flushSync?: () => void;
};

async function openSink(dest: LogDestination): Promise<Sink | undefined> {
  switch (dest.kind) {
    case 'file':
      if (dest.rotation) {
        // Loaded only for --log-rotate: it brings date-fns, some MB of the daemon's memory.
        const { default: pinoRoll } = await import('pino-roll');
        return await pinoRoll({
          file: dest.path,
          ...(dest.rotation.frequency ? { frequency: dest.rotation.frequency } : {}),
          ...(dest.rotation.size ? { size: dest.rotation.size } : {}),
          limit: { count: dest.rotation.keep },
          mkdir: true,
          sync: true,
        });
      }
      return pino.destination({ dest: dest.path, append: true, sync: true, mkdir: true });
    case 'stderr':
      return pino.destination({ dest: 2, sync: true });
    case 'syslog':
      return undefined;
  }
}

export async function createLogger(opts: LoggerOptions): Promise<Logger> {
  const dest = opts.destination;
  const sink = await openSink(dest);
  let stream: DestinationStream;
  if (dest.kind === 'syslog') {
    stream = {
      write: (line: string) => {
        const rec = JSON.parse(line) as Record_;
        const severity = SYSLOG_SEVERITY[levelName(Number(rec.level))];
        dest.send(severity, opts.format === 'json' ? line.trimEnd() : formatBody(rec));
      },
    };
  } else if (opts.format === 'json') {
    stream = sink!;
  } else {
    const prefix = dest.kind === 'stderr' && dest.priorityPrefix === true;
    stream = {
      write: (line: string) => void sink!.write(formatTextLine(line, opts.ident, prefix)),
    };
  }
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
    setLevel: (level: LevelName) => {
      base.level = level;
    },
    reopen: () => sink?.reopen?.(),
    currentFile: () => (typeof sink?.file === 'string' ? sink.file : undefined),
    flush: () => sink?.flushSync?.(),
  });
}
