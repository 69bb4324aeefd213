// The TCP side: bind, accept, check the allow list, hand each socket to
// serveConnection. Open sockets are tracked so shutdown can wait for them.

import { createServer, type Server, type Socket } from 'node:net';
import { BindError } from '../errors.js';
import { clientAddress, isAllowed } from './access.js';
import { serveConnection } from './connection.js';
import { connectionsThatFit, openFilesLimit } from '../system/fd-limit.js';
import type { ServerContext } from './context.js';

export type Listener = Readonly<{
  server: Server;
  /** Connections being served now. */
  active: Set<Promise<void>>;
  sockets: Set<Socket>;
  address: () => { address: string; port: number };
}>;

/** Writes `parts` as one corked batch (no copy into one buffer), then ends. */
export function endWith(stream: NodeJS.WritableStream & Partial<Socket>, parts: readonly Buffer[]) {
  stream.cork?.();
  for (const part of parts) stream.write(part);
  stream.end();
}

export function listen(
  host: string | undefined,
  port: number,
  server: Server,
  what: string,
  fd?: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new BindError(
          `cannot listen for ${what} on ${host ?? '*'}:${port}: ${err.code ?? err.message}`,
          { cause: err },
        ),
      );
    };
    server.once('error', onError);
    const where = fd !== undefined ? { fd } : { host, port, backlog: 1024, exclusive: true };
    server.listen(where, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** `fd`: a listening socket handed over by systemd, used instead of binding. */
export async function startListener(ctx: ServerContext, fd?: number): Promise<Listener> {
  const { logger, stats } = ctx;
  const active = new Set<Promise<void>>();
  const sockets = new Set<Socket>();
  let lastCapWarning = 0;
  const fit = connectionsThatFit(ctx.config.jobs);
  if (fit !== undefined && fit < ctx.config.maxConnections) {
    logger.notice(
      `at most ${fit} connections: the open-files limit is ${openFilesLimit()} ` +
        `(raise it with ulimit -n or LimitNOFILE= for --max-connections ${ctx.config.maxConnections})`,
    );
  }
  const server = createServer({ noDelay: true, pauseOnConnect: false }, (socket) => {
    // Shown as IPv4 when it is (::ffff:a.b.c.d on a socket listening on all addresses).
    const peer = { address: clientAddress(socket.remoteAddress), port: socket.remotePort };
    const who = `${peer.address ?? '?'}:${peer.port ?? 0}`;
    // ctx.config, not a copy: SIGHUP may have changed the allow list.
    if (!isAllowed(ctx.config.allow, socket.remoteAddress)) {
      logger.warning(`client: ${who} denied by access list`);
      stats.count('OTHER');
      socket.destroy();
      return;
    }
    // Every open connection holds a request buffer: bound them, so idle or
    // trickling clients can't take the daemon's memory (they also time out
    // after DISTCC_IO_TIMEOUT).
    const cap = Math.min(ctx.config.maxConnections, fit ?? Infinity);
    const limit = cap < ctx.config.maxConnections ? 'open-files' : '--max-connections';
    // Room is made by closing the slowest request first: tricklers cannot hold the cap.
    if (
      sockets.size >= cap &&
      !ctx.requests.dropSlowest(`${sockets.size} connections are open, the ${limit} limit`)
    ) {
      const now = Date.now();
      if (now - lastCapWarning > 10_000) {
        lastCapWarning = now;
        logger.warning(
          `client: ${who} refused: ${sockets.size} connections open, the ${limit} limit`,
        );
      }
      stats.count('REJ_OVERLOAD');
      socket.destroy();
      return;
    }
    stats.count('TCP_ACCEPT');
    logger.info(`client: ${who} connected`);
    sockets.add(socket);
    socket.on('error', () => {
      /* reported by the connection's own handlers */
    });
    const done = serveConnection(
      {
        input: socket,
        output: socket,
        peer,
        destroy: () => socket.destroy(),
        end: (parts) => endWith(socket, parts),
      },
      ctx,
    ).finally(() => {
      sockets.delete(socket);
      active.delete(done);
    });
    active.add(done);
  });
  await listen(ctx.config.listen, ctx.config.port, server, 'compile jobs', fd);
  // Only once it listens: a failed bind is listen()'s BindError, said once
  // (critical, by the caller), not also here as a listener error.
  // Out of file descriptors, Node cannot accept: the kernel's queue holds the
  // clients until it can. Say so once a second, not once per attempt.
  let lastFdWarning = 0;
  server.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EMFILE' || err.code === 'ENFILE') {
      const now = Date.now();
      if (now - lastFdWarning < 1000) return;
      lastFdWarning = now;
      logger.error(
        `out of file descriptors (${err.code}): new connections wait; ` +
          `raise the limit (ulimit -n, LimitNOFILE=) or lower --max-connections`,
      );
      return;
    }
    logger.error(`listener error: ${err.message}`);
  });
  return Object.freeze({
    server,
    active,
    sockets,
    address: () => server.address() as { address: string; port: number },
  });
}
