// The system bus, through dbus-next: the one module that imports it
// (STYLE.md). A thin layer of method calls and signal callbacks, so that the
// Avahi code above it reads like Avahi's D-Bus API
// (avahi-daemon/org.freedesktop.Avahi.*.xml) and never sees dbus-next types.

import { Message, MessageType, systemBus, type MessageBus } from 'dbus-next';

export const DEFAULT_SYSTEM_BUS = 'unix:path=/var/run/dbus/system_bus_socket';

export type Signal = Readonly<{
  sender: string;
  path: string;
  iface: string;
  member: string;
  body: unknown[];
}>;

/** A D-Bus error reply, with its name (org.freedesktop.Avahi.CollisionError, ...). */
export class BusCallError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
  }
}

export type Call = Readonly<{
  destination: string;
  path: string;
  iface: string;
  member: string;
  signature?: string;
  body?: unknown[];
}>;

export class SystemBus {
  readonly #bus: MessageBus;
  readonly #signalHandlers = new Set<(s: Signal) => void>();
  readonly #closeHandlers = new Set<(why: string) => void>();
  #closed = false;

  private constructor(bus: MessageBus) {
    this.#bus = bus;
    bus.on('message', (msg: Message) => {
      if (msg.type !== MessageType.SIGNAL) return;
      const s: Signal = {
        sender: msg.sender,
        path: msg.path,
        iface: msg.interface,
        member: msg.member,
        body: msg.body as unknown[],
      };
      for (const h of this.#signalHandlers) h(s);
    });
  }

  /** The address that will be used: $DBUS_SYSTEM_BUS_ADDRESS or the standard socket. */
  static address(env: NodeJS.ProcessEnv = process.env): string {
    return env.DBUS_SYSTEM_BUS_ADDRESS || DEFAULT_SYSTEM_BUS;
  }

  /** Connects and says Hello; rejects (never throws later) when there is no bus. */
  static connect(timeoutMs = 5000): Promise<SystemBus> {
    return new Promise((resolve, reject) => {
      let bus: MessageBus;
      try {
        bus = systemBus();
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      let wrapped: SystemBus | undefined;
      const timer = setTimeout(() => fail(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      const fail = (err: Error) => {
        clearTimeout(timer);
        if (wrapped) wrapped.#lost(err.message);
        else {
          try {
            bus.disconnect();
          } catch {
            /* already gone */
          }
          reject(err);
        }
      };
      // dbus-next reports a refused or lost socket as 'error'; without a
      // listener that would throw.
      bus.on('error', (err: Error) => fail(err));
      bus.on('connect', () => {
        clearTimeout(timer);
        wrapped = new SystemBus(bus);
        // The stream ending (dbus-daemon gone) is only seen on the connection.
        const stream = (bus as unknown as { _connection?: { on(e: string, f: () => void): void } })
          ._connection;
        const w = wrapped;
        stream?.on('end', () => w.#lost('the bus closed the connection'));
        resolve(wrapped);
      });
    });
  }

  #lost(why: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const h of this.#closeHandlers) h(why);
  }

  get closed(): boolean {
    return this.#closed;
  }

  async call(c: Call): Promise<unknown[]> {
    if (this.#closed) throw new BusCallError('Disconnected', 'the bus connection is closed');
    const reply = await this.#bus
      .call(
        new Message({
          destination: c.destination,
          path: c.path,
          interface: c.iface,
          member: c.member,
          ...(c.signature !== undefined ? { signature: c.signature, body: c.body ?? [] } : {}),
        }),
      )
      .catch((err: unknown) => {
        const e = err as { type?: string; text?: string; message?: string };
        throw new BusCallError(e.type ?? 'Failed', e.text ?? e.message ?? String(err));
      });
    return (reply?.body as unknown[] | undefined) ?? [];
  }

  /** Asks the bus to send us the signals matching `rule` (a D-Bus match rule). */
  async addMatch(rule: string): Promise<void> {
    await this.call({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      iface: 'org.freedesktop.DBus',
      member: 'AddMatch',
      signature: 's',
      body: [rule],
    });
  }

  onSignal(handler: (s: Signal) => void): () => void {
    this.#signalHandlers.add(handler);
    return () => this.#signalHandlers.delete(handler);
  }

  onClose(handler: (why: string) => void): void {
    this.#closeHandlers.add(handler);
  }

  close(): void {
    this.#closed = true;
    try {
      this.#bus.disconnect();
    } catch {
      /* already gone */
    }
  }
}
