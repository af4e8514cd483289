// Loopback ports free right now, for the benchmarks and test harnesses that start local node
// processes. They come from below the kernel's ephemeral range (32768-60999 by default): a port
// the kernel handed out for a `listen(0)` is also one it hands out as the source port of outgoing
// connections, so between this check and the node's own listen, some other connection (a node
// dialling a peer or a proxy) could take it and the node would fail with EADDRINUSE. Below the
// range only another listener can take a port, and each test worker (VITEST_POOL_ID) draws from
// its own slice, so parallel test files do not pick the same ones.

import net from 'node:net';

const LOW = 20_000;
const HIGH = 32_000;
const SLICES = 8;

function tryListen(port: number): Promise<net.Server | undefined> {
  return new Promise((res) => {
    const s = net.createServer();
    s.once('error', () => res(undefined));
    s.listen(port, '127.0.0.1', () => res(s));
  });
}

/** `n` distinct loopback ports that were free when asked (all held open together while checked). */
export async function freePorts(n: number): Promise<number[]> {
  const pool = Number(process.env.VITEST_POOL_ID ?? process.pid);
  const width = Math.floor((HIGH - LOW) / SLICES);
  const base = LOW + (Number.isFinite(pool) ? pool % SLICES : 0) * width;
  const held: net.Server[] = [];
  let next = Math.floor(Math.random() * width);
  try {
    for (let tried = 0; held.length < n; tried++) {
      if (tried >= width) throw new Error(`no ${n} free ports in ${base}-${base + width - 1}`);
      const s = await tryListen(base + (next++ % width));
      if (s) held.push(s);
    }
    return held.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
  }
}
