// The one place pino is set up. Destinations:
// - a file: appended, written synchronously so nothing is lost before a crash
//   or SIGTERM, reopened on SIGHUP for logrotate; optionally rotated by
//   pino-roll (daily, hourly or by size). Opened here, not by pino's
//   destination or pino-roll, as a root daemon's files must be
//   (system/open-nofollow.ts): never through a link, created with O_EXCL, no
//   directory made; the descriptor is handed to sonic-boom. Reopening (SIGHUP,
//   pino-roll's rotation) goes through the same open; if it fails, lines go
//   on to the old file and the error is thrown to the caller, never emitted
//   where nothing listens;
// - stderr: under systemd (JOURNAL_STREAM) each line starts with `<N>` so the
//   journal records its priority;
// - syslog: each record handed to a sender with its severity (RFC 3164 is
//   formatted by the sender's side, see syslog-format.ts).
// Lines are human-readable text by default, pino's JSON with --log-format json.
//
// Every message and every string in a record's fields is passed through
// escapeLog (escape.ts) here, for every destination and both formats: call
// sites put client-supplied names straight into their messages, and none of
// them can write a second line, a terminal control or a bidi reordering. The
// JSON format is escaped too, not only JSON-encoded: a log line is text that
// people read (`tail`, `jq -r .msg`, a log viewer), and JSON.parse of a
// forged name would otherwise hand it back with its newline and ESC intact.

import { closeSync, fchownSync, fstatSync, lstatSync, unlinkSync } from 'node:fs';
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { escapeField, escapeLog } from './escape.js';
import { openNoFollow } from '../system/open-nofollow.js';
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
    /**
     * Gives the current log file to an account (through its descriptor), if
     * this daemon created it; returns whether it did.
     */
    giveTo: (uid: number, gid: number) => boolean;
    /**
     * Unlinks the current log file if this daemon created it and the name is
     * still that file (a start that failed); returns its path if it did.
     */
    removeCreated: () => string | undefined;
    flush: () => void;
  }
>;

const BASE_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'name']);

function formatValue(v: unknown): string {
  return escapeField(typeof v === 'string' ? v : String(JSON.stringify(v)));
}

type Record_ = Record<string, unknown>;

/** A field value with escapeLog applied to every string in it, for the JSON format. */
function escapeValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return escapeLog(v);
  if (v === null || typeof v !== 'object' || depth > 8) return v;
  if (Array.isArray(v)) return v.map((x) => escapeValue(x, depth + 1));
  if (v instanceof Error) return escapeLog(v.stack ?? v.message);
  const out: Record_ = {};
  for (const k in v) {
    if (Object.hasOwn(v, k)) out[escapeLog(k)] = escapeValue((v as Record_)[k], depth + 1);
  }
  return out;
}

/** ` key=value...` of a record's own fields (not pino's base ones), or ''. */
function formatFields(rec: Record_ | undefined): string {
  if (!rec) return '';
  let out = '';
  for (const k in rec) {
    if (!Object.hasOwn(rec, k) || BASE_KEYS.has(k)) continue;
    out += ` ${escapeLog(k)}=${formatValue(rec[k])}`;
  }
  return out;
}

/** `level: message key=value...`, the part of a line after time and ident, escaped. */
function formatBody(level: LevelName, msg: string, fields: Record_ | undefined): string {
  return `${level}: ${escapeLog(msg)}${formatFields(fields)}`;
}

/** One human line: time ident[pid] level: message key=value... */
function formatText(
  level: LevelName,
  msg: string,
  fields: Record_ | undefined,
  ident: string,
  priorityPrefix: boolean,
): string {
  const prefix = priorityPrefix ? `<${SYSLOG_SEVERITY[level]}>` : '';
  const time = new Date().toISOString();
  return `${prefix}${time} ${ident}[${process.pid}] ${formatBody(level, msg, fields)}\n`;
}

type Sink = DestinationStream & {
  fd?: number;
  file?: string | number | null;
  /** Whether this daemon created the current file (only then may it chown it). */
  created?: boolean;
  reopen?: (file?: string) => void;
  flushSync?: () => void;
  on?: (event: 'error', listener: (err: Error) => void) => void;
};

/** The file pino-roll starts with for `path`, found as pino-roll itself finds it. */
async function firstRolledFile(
  path: string,
  frequency: 'daily' | 'hourly' | undefined,
): Promise<string> {
  const { default: u } = await import('pino-roll/lib/utils.js');
  const { file, extension } = u.sanitizeFile(path);
  const number = await u.detectLastNumber(file, u.parseFrequency(frequency)?.start, extension);
  return u.buildFileName(file, null, number, extension);
}

/**
 * Makes sonic-boom's stream (opened on an fd of ours, at `path`) reopen
 * through openNoFollow: on failure the old descriptor stays and the error is
 * thrown. Sync mode writes in the caller, so nothing is in flight while the
 * descriptor is swapped.
 */
function reopenSafely(sink: Sink, path: string, created: boolean): Sink {
  sink.file = path;
  sink.created = created;
  // sonic-boom's own errors (a failed write) are said on stderr, not thrown from an event.
  sink.on?.('error', (err) => process.stderr.write(`tsdistccd: log file: ${err.message}\n`));
  sink.reopen = (file?: string) => {
    const name = file ?? (sink.file as string);
    const next = openNoFollow(name, '--log-file', { devices: true });
    sink.flushSync?.();
    const old = sink.fd;
    sink.fd = next.fd;
    sink.file = name;
    sink.created = next.created;
    if (old !== undefined && old >= 0 && old !== next.fd) closeSync(old);
  };
  return sink;
}

/** A log file without rotation: opened here, written by sonic-boom. */
function plainFile(path: string): Sink {
  const opened = openNoFollow(path, '--log-file', { devices: true });
  return reopenSafely(pino.destination({ fd: opened.fd, sync: true }), path, opened.created);
}

async function openSink(dest: LogDestination): Promise<Sink | undefined> {
  switch (dest.kind) {
    case 'file':
      if (dest.rotation) {
        // Loaded only for --log-rotate: it brings date-fns, some MB of the daemon's memory.
        const { default: pinoRoll } = await import('pino-roll');
        const first = await firstRolledFile(dest.path, dest.rotation.frequency);
        const opened = openNoFollow(first, '--log-file', { devices: true });
        const sink: Sink = await pinoRoll({
          file: dest.path,
          ...(dest.rotation.frequency ? { frequency: dest.rotation.frequency } : {}),
          ...(dest.rotation.size ? { size: dest.rotation.size } : {}),
          limit: { count: dest.rotation.keep },
          // Our descriptor, not pino-roll's open of the name (sonic-boom takes fd before dest).
          fd: opened.fd,
          sync: true,
        });
        return reopenSafely(sink, first, opened.created);
      }
      return plainFile(dest.path);
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
  if (opts.format === 'text') {
    // Text lines never go through pino's JSON (a stringify and a parse per
    // line): formatted here, written to pino's destination or the sender.
    stream = { write: () => {} };
  } else if (dest.kind === 'syslog') {
    stream = {
      write: (line: string) => {
        const rec = JSON.parse(line) as Record_;
        dest.send(SYSLOG_SEVERITY[levelName(Number(rec.level))], line.trimEnd());
      },
    };
  } else {
    stream = sink!;
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
  const prefix = dest.kind === 'stderr' && dest.priorityPrefix === true;
  const writeText = (level: LevelName, msg: string, fields: Record_ | undefined) => {
    if (dest.kind === 'syslog') dest.send(SYSLOG_SEVERITY[level], formatBody(level, msg, fields));
    else sink!.write(formatText(level, msg, fields, opts.ident, prefix));
  };
  const fn = (level: LevelName): LogFn =>
    opts.format === 'text'
      ? (msg, fields) => {
          if (base.isLevelEnabled(level)) writeText(level, msg, fields);
        }
      : (msg, fields) => {
          if (!base.isLevelEnabled(level)) return;
          if (fields) base[level](escapeValue(fields) as Record_, escapeLog(msg));
          else base[level](escapeLog(msg));
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
    giveTo: (uid: number, gid: number) => {
      if (sink?.created !== true || sink.fd === undefined) return false;
      fchownSync(sink.fd, uid, gid);
      return true;
    },
    removeCreated: () => {
      const file = typeof sink?.file === 'string' ? sink.file : undefined;
      if (sink?.created !== true || sink.fd === undefined || file === undefined) return undefined;
      try {
        sink.flushSync?.();
        const open = fstatSync(sink.fd);
        const named = lstatSync(file);
        if (open.dev !== named.dev || open.ino !== named.ino) return undefined;
        unlinkSync(file);
        return file;
      } catch {
        return undefined;
      }
    },
    flush: () => sink?.flushSync?.(),
  });
}
