// Loopback ports the OS says are free right now: all are held open together while asked for, so
// none repeats. Used by the benchmarks and test harnesses that start local node processes.

import net from 'node:net';

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((res, rej) => {
          const s = net.createServer();
          s.once('error', rej);
          s.listen(0, '127.0.0.1', () => res(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
