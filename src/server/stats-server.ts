// distccd's --stats page on its own port: any request gets the text page
// (distcc src/stats.c). Checked against the same allow list as jobs.

import { createServer, type Server } from 'node:net';
import { isAllowed } from './access.js';
import type { ServerContext } from './context.js';
import { listen } from './listener.js';

export async function startStatsServer(ctx: ServerContext, fd?: number): Promise<Server> {
  const { logger, stats, queue } = ctx;
  const server = createServer((socket) => {
    if (!isAllowed(ctx.config.allow, socket.remoteAddress)) {
      logger.warning(`stats: ${socket.remoteAddress ?? '?'} denied by access list`);
      socket.destroy();
      return;
    }
    socket.on('error', () => socket.destroy());
    socket.setTimeout(5000, () => socket.destroy());
    // Answer after the first bytes of the request (or at once if none come soon).
    const answer = () => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      socket.end(stats.render(queue.running));
    };
    const timer = setTimeout(answer, 1000);
    socket.once('data', answer);
  });
  await listen(ctx.config.listen, ctx.config.statsPort, server, 'the stats page', fd);
  return server;
}
