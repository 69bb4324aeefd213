// `+zeroconf` in the client: the distcc servers Avahi knows for this
// compiler's subtype, kept in $DISTCC_DIR/zeroconf/hosts in distcc's format
// (distcc src/zeroconf.c write_hosts: `ADDR:PORT/JOBS`, `[ADDR6]:PORT/JOBS`).
//
// distcc forks a background browser that rewrites that file on every change
// and exits once the file has gone unread for MAX_IDLE_TIME (20 s); a client
// that starts it waits 1 s for a first answer. Here there is no resident
// process: a client that finds the file older than those 20 s (or written for
// another compiler) browses once itself, for at most about 2 s, under a lock
// so that a `make -j` does it once, and the others read the result. The file
// starts with a `#` line naming the subtype, which distcc's parser skips.

import {
  mkdirSync,
  openSync,
  closeSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { compilerPath, findOnPath } from '../compiler/environment.js';
import { parseHosts, type HostDef, type HostList } from '../client/hosts.js';
import {
  AVAHI,
  SERVICE_TYPE,
  hostsLine,
  parseTxt,
  probeCompiler,
  slotsFromTxt,
  subtypeFor,
  type CompilerIdentity,
} from './service.js';

/** distcc zeroconf.c MAX_IDLE_TIME: how long the hosts file stays good. */
export const FRESH_SECONDS = 20;
const LOCK_STALE_MS = 10_000;
const BROWSE_MS = 2000;
const RESOLVE_MS = 2000;

export type BrowseLog = Readonly<{ info: (m: string) => void; warn: (m: string) => void }>;

export type ZeroconfOptions = Readonly<{
  env: NodeJS.ProcessEnv;
  /** $DISTCC_DIR (the client's state directory). */
  distccDir: string;
  /** The compiler of this compile (`gcc`, `cc`, a path): whose subtype is browsed. */
  compiler: string;
  log: BrowseLog;
  /** For tests: "now" in ms. */
  now?: () => number;
}>;

type CompilerCache = Record<string, { mtimeMs: number; machine: string; version: string }>;

/** `-dumpmachine`/`-dumpversion` of the compiler, remembered per path and mtime. */
export async function compilerIdentity(
  dir: string,
  compiler: string,
  env: NodeJS.ProcessEnv,
): Promise<CompilerIdentity | undefined> {
  const path = compiler.includes('/') ? compiler : findOnPath(compiler, compilerPath(env));
  if (path === undefined) return undefined;
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
  const cacheFile = join(dir, 'compilers.json');
  let cache: CompilerCache = {};
  try {
    cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as CompilerCache;
  } catch {
    /* none yet */
  }
  const hit = cache[path];
  if (hit && hit.mtimeMs === mtimeMs) return { machine: hit.machine, version: hit.version };
  const id = await probeCompiler({ compiler: path, env: { ...env, PATH: compilerPath(env) } });
  if (id) {
    cache[path] = { mtimeMs, ...id };
    writeAtomically(cacheFile, `${JSON.stringify(cache)}\n`);
  }
  return id;
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

const header = (stype: string) => `# tsdistcc +zeroconf: ${stype}\n`;

/** The hosts file's text if it is fresh and for `stype`. */
function freshHosts(file: string, stype: string, now: number): string | undefined {
  try {
    const st = statSync(file);
    if (now - st.mtimeMs > FRESH_SECONDS * 1000) return undefined;
    const text = readFileSync(file, 'utf8');
    return text.startsWith(header(stype)) ? text : undefined;
  } catch {
    return undefined;
  }
}

function takeLock(lock: string, now: number): boolean {
  for (let i = 0; i < 2; i++) {
    try {
      closeSync(openSync(lock, 'wx'));
      return true;
    } catch {
      try {
        if (now - statSync(lock).mtimeMs < LOCK_STALE_MS) return false;
        unlinkSync(lock);
      } catch {
        /* gone meanwhile: try again */
      }
    }
  }
  return false;
}

/** The text of $DISTCC_DIR/zeroconf/hosts for this compiler, browsing Avahi if it is stale. */
export async function zeroconfHostsText(o: ZeroconfOptions): Promise<string> {
  const now = o.now ?? Date.now;
  const dir = join(o.distccDir, 'zeroconf');
  mkdirSync(dir, { recursive: true });
  const id = await compilerIdentity(dir, o.compiler, o.env);
  if (!id)
    o.log.warn(
      `zeroconf: cannot get ${o.compiler} -dumpmachine/-dumpversion; browsing all of ${SERVICE_TYPE}`,
    );
  const stype = id ? subtypeFor(id) : SERVICE_TYPE;
  const file = join(dir, 'hosts');
  const fresh = freshHosts(file, stype, now());
  if (fresh !== undefined) return fresh;
  const lock = join(dir, 'browse.lock');
  if (!takeLock(lock, now())) {
    // Another client is browsing: wait for its file (as distcc waits 1 s).
    const until = now() + BROWSE_MS + RESOLVE_MS;
    while (now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      const text = freshHosts(file, stype, now());
      if (text !== undefined) return text;
    }
    return header(stype);
  }
  try {
    const lines = await browse(stype, o.log);
    const text = header(stype) + lines.join('');
    writeAtomically(file, text);
    o.log.info(`zeroconf: ${lines.length} hosts for ${stype} written to ${file}`);
    return text;
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      /* already gone */
    }
  }
}

type Found = { iface: number; proto: number; name: string; type: string; domain: string };

/** Browses `stype` through Avahi's D-Bus API and resolves what it finds, in distcc's hosts format. */
export async function browse(stype: string, log: BrowseLog): Promise<string[]> {
  // Loaded only here, so that a client with a fresh file never loads dbus-next.
  const { SystemBus } = await import('./bus.js');
  let bus;
  try {
    bus = await SystemBus.connect(2000);
  } catch (err) {
    log.warn(
      `zeroconf: no D-Bus system bus at ${SystemBus.address(process.env)}: ${(err as Error).message}`,
    );
    return [];
  }
  try {
    const found: Found[] = [];
    const browser: { path?: string } = {};
    const early: { path: string; member: string; body: unknown[] }[] = [];
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    const onBrowser = (path: string, member: string, body: unknown[]) => {
      if (path !== browser.path) return;
      if (member === 'ItemNew') {
        const [iface, proto, name, type, domain] = body as [number, number, string, string, string];
        found.push({ iface, proto, name, type, domain });
      } else if (member === 'ItemRemove') {
        const i = found.findIndex(
          (f) => f.name === body[2] && f.iface === body[0] && f.proto === body[1],
        );
        if (i !== -1) found.splice(i, 1);
      } else if (member === 'AllForNow') done();
      else if (member === 'Failure') {
        log.warn(`zeroconf: Avahi could not browse ${stype}: ${String(body[0])}`);
        done();
      }
    };
    bus.onSignal((s) => {
      if (s.iface !== 'org.freedesktop.Avahi.ServiceBrowser') return;
      if (browser.path === undefined) early.push(s);
      else onBrowser(s.path, s.member, s.body);
    });
    // Matched before the browser exists, so that no early ItemNew is missed.
    await bus.addMatch(
      `type='signal',sender='${AVAHI.name}',interface='org.freedesktop.Avahi.ServiceBrowser'`,
    );
    const [path] = await bus.call({
      destination: AVAHI.name,
      path: '/',
      iface: 'org.freedesktop.Avahi.Server',
      member: 'ServiceBrowserNew',
      signature: 'iissu',
      body: [AVAHI.IF_UNSPEC, AVAHI.PROTO_UNSPEC, stype, '', 0],
    });
    browser.path = String(path);
    for (const s of early) onBrowser(s.path, s.member, s.body);
    const timer = setTimeout(done, BROWSE_MS);
    await finished;
    clearTimeout(timer);
    const lines: string[] = [];
    const seen = new Set<string>();
    for (const f of found) {
      // distcc's remove_duplicate_services(): one entry per service name.
      if (seen.has(f.name)) continue;
      seen.add(f.name);
      const resolved = await Promise.race([
        bus
          .call({
            destination: AVAHI.name,
            path: '/',
            iface: 'org.freedesktop.Avahi.Server',
            member: 'ResolveService',
            signature: 'iisssiu',
            body: [f.iface, f.proto, f.name, f.type, f.domain, AVAHI.PROTO_UNSPEC, 0],
          })
          .catch((err: Error) => {
            log.warn(`zeroconf: failed to resolve service '${f.name}': ${err.message}`);
            return undefined;
          }),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), RESOLVE_MS).unref()),
      ]);
      if (!resolved) continue;
      const aproto = resolved[6] as number;
      const address = String(resolved[7]);
      const port = resolved[8] as number;
      const txt = parseTxt(resolved[9] as Buffer[]);
      lines.push(hostsLine(address, port, slotsFromTxt(txt), aproto === AVAHI.PROTO_INET6));
    }
    await bus
      .call({
        destination: AVAHI.name,
        path: browser.path,
        iface: 'org.freedesktop.Avahi.ServiceBrowser',
        member: 'Free',
      })
      .catch(() => {});
    return lines;
  } catch (err) {
    log.warn(`zeroconf: cannot browse Avahi: ${(err as Error).message}`);
    return [];
  } finally {
    bus.close();
  }
}

/** `list` with the zeroconf hosts put where `+zeroconf` stood (distcc hosts.c). */
export async function withZeroconfHosts(list: HostList, o: ZeroconfOptions): Promise<HostList> {
  const text = await zeroconfHostsText(o);
  let found: HostDef[] = [];
  try {
    found = parseHosts(text, join(o.distccDir, 'zeroconf', 'hosts')).hosts;
  } catch {
    // Nothing found: only the `#` line.
  }
  const at = list.zeroconfAt ?? list.hosts.length;
  return { ...list, hosts: [...list.hosts.slice(0, at), ...found, ...list.hosts.slice(at)] };
}
