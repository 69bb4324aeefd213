// systemd's sd_notify protocol (sd_notify(3)): newline-separated KEY=VALUE
// assignments, one datagram each, to the AF_UNIX socket named by
// $NOTIFY_SOCKET (a path, or `@name` in the abstract namespace). With
// WATCHDOG_USEC set (and WATCHDOG_PID unset or ours), the service must send
// WATCHDOG=1 at least that often; we ping every half of it, as
// sd_watchdog_enabled(3) advises. Without NOTIFY_SOCKET everything is a no-op,
// so the daemon can call these unconditionally.

import { DatagramSender } from './datagram.js';

export type Notifier = Readonly<{
  /** Whether NOTIFY_SOCKET names a socket we can send to. */
  enabled: boolean;
  /** The watchdog ping interval (ms), if systemd wants pings from this process. */
  watchdogIntervalMs: number | undefined;
  /** Sends the fields as one message, e.g. { READY: '1', STATUS: 'Accepting jobs' }. */
  notify: (fields: Readonly<Record<string, string>>) => void;
  /** Sends WATCHDOG=1 now and then every watchdogIntervalMs (unref'd timer). */
  startWatchdog: () => void;
  /** Stops the watchdog; flushes and ends the sender if the notifier made its own. */
  stop: () => Promise<void>;
}>;

/** The notify socket's name, if $NOTIFY_SOCKET is one we support (path or @abstract). */
export function notifySocket(env: NodeJS.ProcessEnv): string | undefined {
  const s = env.NOTIFY_SOCKET;
  if (s === undefined || s.length < 2) return undefined;
  return s.startsWith('/') || s.startsWith('@') ? s : undefined;
}

/** Half of $WATCHDOG_USEC in ms, if set and meant for pid (as sd_watchdog_enabled). */
export function watchdogIntervalMs(
  env: NodeJS.ProcessEnv,
  pid: number = process.pid,
): number | undefined {
  const usec = env.WATCHDOG_USEC;
  if (usec === undefined || !/^\d{1,15}$/.test(usec) || Number(usec) === 0) return undefined;
  const owner = env.WATCHDOG_PID;
  if (owner !== undefined && owner !== '' && Number(owner) !== pid) return undefined;
  return Math.max(1, Math.floor(Number(usec) / 2000));
}

/** The message text: `KEY=VALUE` lines; newlines inside values become spaces. */
export function formatNotify(fields: Readonly<Record<string, string>>): string {
  return Object.entries(fields)
    .map(([key, value]) => {
      if (!/^[A-Za-z0-9_]+$/.test(key)) throw new TypeError(`bad sd_notify key: ${key}`);
      return `${key}=${value.replace(/[\r\n]/g, ' ')}`;
    })
    .join('\n');
}

/**
 * A notifier for this process's environment. It sends through sender if given
 * (and leaves closing it to the caller), otherwise through a sender of its own
 * whose errors go to onError.
 */
export function createNotifier(
  env: NodeJS.ProcessEnv,
  sender?: DatagramSender,
  onError: (msg: string) => void = () => {},
): Notifier {
  const dest = notifySocket(env);
  const intervalMs = dest === undefined ? undefined : watchdogIntervalMs(env);
  if (dest === undefined) {
    return {
      enabled: false,
      watchdogIntervalMs: undefined,
      notify: () => {},
      startWatchdog: () => {},
      stop: () => Promise.resolve(),
    };
  }
  let own: DatagramSender | undefined;
  const out = (): DatagramSender => sender ?? (own ??= new DatagramSender(onError));
  let timer: NodeJS.Timeout | undefined;

  const notify = (fields: Readonly<Record<string, string>>): void => {
    out().send(dest, formatNotify(fields));
  };
  return {
    enabled: true,
    watchdogIntervalMs: intervalMs,
    notify,
    startWatchdog: () => {
      if (intervalMs === undefined || timer !== undefined) return;
      notify({ WATCHDOG: '1' });
      timer = setInterval(() => notify({ WATCHDOG: '1' }), intervalMs);
      timer.unref();
    },
    stop: async () => {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      if (own) await own.close();
    },
  };
}
