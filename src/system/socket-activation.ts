// systemd socket activation (sd_listen_fds(3)): listening sockets handed
// over as fds 3, 4, ... with LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES.
// The variables are removed afterwards so compilers do not inherit them.

export const SD_LISTEN_FDS_START = 3;

export type PassedSocket = Readonly<{ fd: number; name: string }>;

export function takeListenFds(env: NodeJS.ProcessEnv = process.env): PassedSocket[] {
  const pid = Number(env.LISTEN_PID);
  const count = Number(env.LISTEN_FDS);
  const names = (env.LISTEN_FDNAMES ?? '').split(':');
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (!Number.isInteger(count) || count <= 0 || pid !== process.pid) return [];
  return Array.from({ length: count }, (_, i) => ({
    fd: SD_LISTEN_FDS_START + i,
    name: names[i] || 'unknown',
  }));
}

/** The job socket is the one named `stats`'s sibling: by name, else the first. */
export function pickSockets(passed: readonly PassedSocket[]): { jobs?: number; stats?: number } {
  const stats = passed.find((p) => p.name === 'stats');
  const jobs = passed.find((p) => p !== stats);
  return {
    ...(jobs ? { jobs: jobs.fd } : {}),
    ...(stats ? { stats: stats.fd } : {}),
  };
}
