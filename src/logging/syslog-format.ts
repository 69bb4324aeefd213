// One syslog message as glibc's syslog(3) sends it to /dev/log (RFC 3164
// style): `<PRI>Mmm dd hh:mm:ss ident[pid]: message`, where PRI is
// facility * 8 + severity, the month is the C locale's abbreviation, the day
// is padded with a space (strftime %e) and the time is local. No hostname and
// no trailing newline, as glibc; rsyslogd and journald both parse this.

/** LOG_DAEMON, the facility distccd logs to. */
export const FACILITY_DAEMON = 3;

/** The longest message syslogLine returns, in bytes (rsyslog's default maxMessageSize). */
export const SYSLOG_MAX_BYTES = 8192;

const MONTHS = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
] as const;

export type SyslogLineOptions = Readonly<{
  /** 0–23, e.g. FACILITY_DAEMON. */
  facility: number;
  /** 0 (emerg) – 7 (debug); see SYSLOG_SEVERITY in levels.ts. */
  severity: number;
  ident: string;
  pid: number;
  message: string;
  /** Defaults to now. */
  date?: Date;
  /** Defaults to SYSLOG_MAX_BYTES. */
  maxBytes?: number;
}>;

function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** `Mmm dd hh:mm:ss` in local time, as strftime("%h %e %T") in the C locale. */
export function syslogTimestamp(date: Date): string {
  const day = String(date.getDate()).padStart(2, ' ');
  const time = `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
  return `${MONTHS[date.getMonth()] ?? 'Jan'} ${day} ${time}`;
}

/** The longest prefix of text that is at most maxBytes in UTF-8, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = Math.max(0, maxBytes);
  // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

export function syslogLine(opts: SyslogLineOptions): string {
  const { facility, severity } = opts;
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) {
    throw new RangeError(`syslog facility out of range: ${facility}`);
  }
  if (!Number.isInteger(severity) || severity < 0 || severity > 7) {
    throw new RangeError(`syslog severity out of range: ${severity}`);
  }
  const stamp = syslogTimestamp(opts.date ?? new Date());
  const line = `<${facility * 8 + severity}>${stamp} ${opts.ident}[${opts.pid}]: ${opts.message}`;
  return truncateUtf8(line, opts.maxBytes ?? SYSLOG_MAX_BYTES);
}
