// tsdistccd --zeroconf: one Avahi entry group per daemon on the system bus,
// as distccd's dcc_zeroconf_register() (distcc src/zeroconf-reg.c) keeps one
// through libavahi-client: `_distcc._tcp` on the instance's port with distcc's
// TXT records and the compiler subtype; renamed with Avahi's alternative name
// on a collision; registered again whenever Avahi (re)appears on the bus; freed
// on stop. Without a bus or without Avahi it warns once and keeps trying.

import {
  AVAHI,
  SERVICE_TYPE,
  probeCommand,
  probeCompiler,
  serviceName,
  subtypeFor,
  txtRecords,
  type ProbeOptions,
} from './service.js';
import { BusCallError, SystemBus, type Signal } from './bus.js';

export type Advertisement = Readonly<{
  name: string;
  port: number;
  txt: readonly string[];
  /** `_<machine>--<version>._sub._distcc._tcp`, when the compiler answered. */
  subtype?: string;
}>;

export type PublisherLog = Readonly<{
  info: (m: string) => void;
  notice: (m: string) => void;
  warning: (m: string) => void;
}>;

const SERVER_IFACE = 'org.freedesktop.Avahi.Server';
const GROUP_IFACE = 'org.freedesktop.Avahi.EntryGroup';
const RETRY_MS = 5000;

export class AvahiPublisher {
  readonly #ad: Advertisement;
  readonly #log: PublisherLog;
  #name: string;
  #bus: SystemBus | undefined;
  #group: string | undefined;
  #stopped = false;
  #warned = false;
  #retry: NodeJS.Timeout | undefined;
  /** Serialises (re)registrations so signals never interleave two of them. */
  #work: Promise<void> = Promise.resolve();

  constructor(ad: Advertisement, log: PublisherLog) {
    this.#ad = ad;
    this.#name = ad.name;
    this.#log = log;
  }

  /** The name registered (after any renames). */
  get name(): string {
    return this.#name;
  }

  start(): void {
    void this.#connect();
  }

  #warnOnce(message: string): void {
    if (this.#warned) this.#log.info(message);
    else this.#log.warning(`${message}; not advertised yet, will keep trying`);
    this.#warned = true;
  }

  #schedule(): void {
    if (this.#stopped || this.#retry) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      void this.#connect();
    }, RETRY_MS).unref();
  }

  async #connect(): Promise<void> {
    if (this.#stopped || this.#bus) return;
    let bus: SystemBus;
    try {
      bus = await SystemBus.connect();
    } catch (err) {
      this.#warnOnce(
        `zeroconf: no D-Bus system bus at ${SystemBus.address()}: ${(err as Error).message}`,
      );
      this.#schedule();
      return;
    }
    if (this.#stopped) {
      bus.close();
      return;
    }
    this.#bus = bus;
    bus.onClose((why) => {
      if (this.#bus !== bus) return;
      this.#bus = undefined;
      this.#group = undefined;
      this.#warnOnce(`zeroconf: lost the D-Bus system bus (${why})`);
      this.#schedule();
    });
    bus.onSignal((s) => this.#onSignal(s));
    try {
      await bus.addMatch(
        `type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',arg0='${AVAHI.name}'`,
      );
      await bus.addMatch(`type='signal',sender='${AVAHI.name}'`);
      const [owned] = await bus.call({
        destination: 'org.freedesktop.DBus',
        path: '/org/freedesktop/DBus',
        iface: 'org.freedesktop.DBus',
        member: 'NameHasOwner',
        signature: 's',
        body: [AVAHI.name],
      });
      if (owned === true) this.#queue(() => this.#register());
      else this.#warnOnce(`zeroconf: Avahi (${AVAHI.name}) is not on the system bus`);
    } catch (err) {
      this.#warnOnce(`zeroconf: the system bus refused us: ${(err as Error).message}`);
    }
  }

  #queue(job: () => Promise<void>): void {
    this.#work = this.#work.then(job).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      this.#warnOnce(`zeroconf: cannot register with Avahi: ${message}`);
    });
  }

  #onSignal(s: Signal): void {
    if (this.#stopped) return;
    if (s.member === 'NameOwnerChanged' && s.body[0] === AVAHI.name) {
      // Avahi went away (its groups with it) or came (back): start over.
      this.#group = undefined;
      if (s.body[2] !== '') {
        this.#log.info('zeroconf: Avahi appeared on the bus; registering');
        this.#queue(() => this.#register());
      } else this.#log.info('zeroconf: Avahi left the bus; waiting for it to come back');
      return;
    }
    if (s.iface === SERVER_IFACE && s.member === 'StateChanged') {
      // distcc's client_callback: while the host name is being (re)registered
      // the group is reset; once the server runs again it is filled again.
      const state = s.body[0];
      if (state === AVAHI.server.RUNNING) this.#queue(() => this.#register());
      else if (state === AVAHI.server.REGISTERING || state === AVAHI.server.COLLISION) {
        const group = this.#group;
        if (group) this.#queue(() => this.#avahi(group, GROUP_IFACE, 'Reset').then(() => {}));
      }
      return;
    }
    if (s.iface === GROUP_IFACE && s.member === 'StateChanged' && s.path === this.#group) {
      const [state, error] = s.body as [number, string];
      if (state === AVAHI.group.ESTABLISHED) {
        this.#warned = false;
        this.#log.notice(
          `zeroconf: advertised as "${this.#name}" (${SERVICE_TYPE}${this.#ad.subtype ? `, ${this.#ad.subtype}` : ''}) on port ${this.#ad.port}`,
        );
      } else if (state === AVAHI.group.COLLISION) {
        this.#queue(() => this.#rename('the name is taken on the network'));
      } else if (state === AVAHI.group.FAILURE) {
        this.#log.warning(`zeroconf: Avahi failed to register "${this.#name}": ${error}`);
      }
    }
  }

  #avahi(path: string, iface: string, member: string, signature?: string, body?: unknown[]) {
    const bus = this.#bus;
    if (!bus) throw new BusCallError('Disconnected', 'no bus');
    return bus.call({
      destination: AVAHI.name,
      path,
      iface,
      member,
      ...(signature !== undefined ? { signature, body: body ?? [] } : {}),
    });
  }

  async #rename(why: string): Promise<void> {
    const [next] = await this.#avahi('/', SERVER_IFACE, 'GetAlternativeServiceName', 's', [
      this.#name,
    ]);
    this.#log.notice(`zeroconf: "${this.#name}": ${why}; renamed to "${String(next)}"`);
    this.#name = String(next);
    if (this.#group) await this.#avahi(this.#group, GROUP_IFACE, 'Reset');
    await this.#fill();
  }

  async #register(): Promise<void> {
    if (this.#stopped || !this.#bus) return;
    const [state] = await this.#avahi('/', SERVER_IFACE, 'GetState');
    if (state !== AVAHI.server.RUNNING) return; // StateChanged(RUNNING) brings us back
    if (this.#group) {
      // A path from an Avahi that has since restarted is unknown: start afresh.
      const empty = await this.#avahi(this.#group, GROUP_IFACE, 'IsEmpty').then(
        ([e]) => e === true,
        () => (this.#group = undefined),
      );
      if (empty === false) return;
    }
    if (!this.#group) {
      const [path] = await this.#avahi('/', SERVER_IFACE, 'EntryGroupNew');
      this.#group = String(path);
    }
    await this.#fill();
  }

  /** AddService, AddServiceSubtype, Commit; a local name clash renames and tries again. */
  async #fill(): Promise<void> {
    const group = this.#group;
    if (!group) return;
    const { port, txt, subtype } = this.#ad;
    const any = [AVAHI.IF_UNSPEC, AVAHI.PROTO_UNSPEC, 0] as const;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#avahi(group, GROUP_IFACE, 'AddService', 'iiussssqaay', [
          ...any,
          this.#name,
          SERVICE_TYPE,
          '',
          '',
          port,
          txt.map((t) => Buffer.from(t)),
        ]);
        break;
      } catch (err) {
        if (!(err instanceof BusCallError) || !/Collision/.test(err.errorName) || attempt > 20)
          throw err;
        const [next] = await this.#avahi('/', SERVER_IFACE, 'GetAlternativeServiceName', 's', [
          this.#name,
        ]);
        this.#log.notice(
          `zeroconf: "${this.#name}" is taken on this host; renamed to "${String(next)}"`,
        );
        this.#name = String(next);
      }
    }
    if (subtype !== undefined) {
      await this.#avahi(group, GROUP_IFACE, 'AddServiceSubtype', 'iiussss', [
        ...any,
        this.#name,
        SERVICE_TYPE,
        '',
        subtype,
      ]);
    }
    await this.#avahi(group, GROUP_IFACE, 'Commit');
  }

  /** Withdraws the service (Free) and leaves the bus. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retry);
    await this.#work;
    const bus = this.#bus;
    this.#bus = undefined;
    if (!bus) return;
    if (this.#group) {
      const group = this.#group;
      this.#group = undefined;
      await Promise.race([
        bus
          .call({ destination: AVAHI.name, path: group, iface: GROUP_IFACE, member: 'Free' })
          .catch(() => {}),
        new Promise((r) => setTimeout(r, 2000).unref()),
      ]);
      this.#log.info(`zeroconf: "${this.#name}" withdrawn`);
    }
    bus.close();
  }
}

export type AdvertiseOptions = Readonly<{
  port: number;
  jobs: number;
  cpus: number;
  version: string;
  hostname: string;
  /** How to ask this instance's compiler for its machine and version. */
  probe: ProbeOptions;
}>;

/** Asks the instance's compiler who it is (as the daemon would run it: call this before
 *  dropping root when it is in a chroot); start() the result once the daemon runs as its
 *  user, so that the bus sees that user. */
export async function advertise(o: AdvertiseOptions, log: PublisherLog): Promise<AvahiPublisher> {
  const compiler = await probeCompiler(o.probe);
  if (!compiler) {
    log.warning(
      `zeroconf: \`${probeCommand(o.probe, '-dumpmachine').join(' ')}\` failed; advertising no compiler subtype`,
    );
  }
  const publisher = new AvahiPublisher(
    {
      name: serviceName(o.hostname),
      port: o.port,
      txt: txtRecords({
        cpus: o.cpus,
        jobs: o.jobs,
        version: o.version,
        ...(compiler ? { compiler } : {}),
      }),
      ...(compiler ? { subtype: subtypeFor(compiler) } : {}),
    },
    log,
  );
  return publisher;
}
