// The stats port: distccd's --stats page (distcc src/stats.c) at any path,
// and tsdistccd's /jobs, /metrics, /history and /ui (stats-routes.ts). One
// request a connection, HTTP/1.0, checked against the same allow list as jobs,
// and answered only if its Host is a name or an address of this machine
// (stats-host.ts: DNS rebinding).

import { createServer, type Server } from 'node:net';
import { clientAddress, isAllowed } from './access.js';
import type { ServerContext } from './context.js';
import { JobHistory } from './job-history.js';
import { listen } from './listener.js';
import { machineNames, misdirectedHost } from './stats-host.js';
import { answer, headComplete, misdirected, parseRequestHead } from './stats-routes.js';

/** A request head bigger than this is not waited for: it is answered as it is. */
const MAX_HEAD = 8192;

/** `GET /x HTTP/1.1`…: worth waiting for the rest. Anything else is answered at once. */
function startsLikeHttp(head: Buffer): boolean {
  const line = head.toString('latin1', 0, Math.min(head.length, 256)).split('\n')[0]!;
  return /^[A-Z]{1,16} /.test(line) && parseRequestHead(head) !== null;
}

export async function startStatsServer(ctx: ServerContext, fd?: number): Promise<Server> {
  const { logger } = ctx;
  const history = new JobHistory(ctx);
  const names = machineNames();
  const server = createServer((socket) => {
    const who = clientAddress(socket.remoteAddress) ?? '?';
    if (!isAllowed(ctx.config.allow, socket.remoteAddress)) {
      logger.warning(`stats: ${who} denied by access list`);
      socket.destroy();
      return;
    }
    socket.on('error', () => socket.destroy());
    socket.setTimeout(5000, () => socket.destroy());
    let head = Buffer.alloc(0);
    // Answer once the request head is in (or at once if none comes soon, as
    // before: distccd's clients need not send anything). What the client
    // sends afterwards is read and dropped, so closing does not reset.
    const reply = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.on('data', () => {});
      const request = parseRequestHead(head);
      const wrongHost = request ? misdirectedHost(head, request.authority, names) : undefined;
      if (wrongHost !== undefined) {
        logger.warning(
          `stats: ${who} refused: Host \`${wrongHost}\` is not a name or address of this machine`,
        );
        socket.end(misdirected(request));
        return;
      }
      socket.end(answer(request, ctx, history));
    };
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (headComplete(head) || head.length >= MAX_HEAD || !startsLikeHttp(head)) reply();
    };
    const timer = setTimeout(reply, 1000);
    socket.on('data', onData);
  });
  await listen(ctx.config.listen, ctx.config.statsPort, server, 'the stats page', fd);
  history.start();
  server.once('close', () => history.stop());
  return server;
}
