// A loopback TCP proxy that records what the client sends, so the same
// request bytes can be replayed to another daemon (the differential test).

import { connect, createServer, type Server } from 'node:net';

export type Recorder = {
  port: number;
  requests: Buffer[];
  close: () => Promise<void>;
};

export async function startRecorder(targetPort: number): Promise<Recorder> {
  const requests: Buffer[] = [];
  const server: Server = createServer((client) => {
    const chunks: Buffer[] = [];
    const index = requests.length;
    requests.push(Buffer.alloc(0));
    const upstream = connect(targetPort, '127.0.0.1');
    client.on('data', (d) => {
      chunks.push(d);
      requests[index] = Buffer.concat(chunks);
      upstream.write(d);
    });
    upstream.on('data', (d) => client.write(d));
    upstream.on('close', () => client.end());
    client.on('close', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
