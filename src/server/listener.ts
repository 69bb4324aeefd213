// The TCP side: bind, accept, check the allow list, hand each socket to
// serveConnection. Open sockets are tracked so shutdown can wait for them.

import { createServer, type Server, type Socket } from 'node:net';
import { BindError } from '../errors.js';
import { isAllowed } from './access.js';
import { serveConnection } from './connection.js';
import type { ServerContext } from './context.js';

export type Listener = Readonly<{
  server: Server;
  /** Connections being served now. */
  active: Set<Promise<void>>;
  sockets: Set<Socket>;
  address: () => { address: string; port: number };
}>;

export function listen(
  host: string | undefined,
  port: number,
  server: Server,
  what: string,
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
    server.listen({ host, port, backlog: 1024, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

export async function startListener(ctx: ServerContext): Promise<Listener> {
  const { config, logger, stats } = ctx;
  const active = new Set<Promise<void>>();
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true, pauseOnConnect: false }, (socket) => {
    const peer = { address: socket.remoteAddress, port: socket.remotePort };
    const who = `${peer.address ?? '?'}:${peer.port ?? 0}`;
    if (!isAllowed(config.allow, peer.address)) {
      logger.warning(`client: ${who} denied by access list`);
      stats.count('OTHER');
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
        end: (data) => socket.end(data),
      },
      ctx,
    ).finally(() => {
      sockets.delete(socket);
      active.delete(done);
    });
    active.add(done);
  });
  server.on('error', (err) => logger.error(`listener error: ${err.message}`));
  await listen(config.listen, config.port, server, 'compile jobs');
  return Object.freeze({
    server,
    active,
    sockets,
    address: () => server.address() as { address: string; port: number },
  });
}
