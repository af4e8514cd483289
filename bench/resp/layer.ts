// The RESP layer's own cost per command (`npm run bench:resp -- --layer`): a RespServer in this
// process over a fake node whose router answers at once, and one client on loopback sending SET
// and GET, one at a time (-P 1) and 16 per write (-P 16). The CPU of this process per command
// (server and client together) is what decoding, dispatch, reply encoding and the socket cost,
// without the engine; at -P 16 the syscalls are shared by 16 commands, so the JavaScript shows.

import net from 'node:net';
import { wrapValue } from '../../cluster/protocol/stored-value.js';
import { RespServer } from '../../cluster/resp/resp-server.js';

const STORED = wrapValue(Buffer.from('value-123'));

function fakeServer(): RespServer {
  const host = {
    security: { authEnabled: false, tokens: {} },
    config: { security: { limits: { maxConnections: 100 } } },
    topology: () => ({ partitions: 16, placement: [] }),
    router: {
      get: () => Promise.resolve(STORED),
      write: () => Promise.resolve(),
      writeMany: () => Promise.resolve(),
    },
  };
  return new RespServer({
    host: host as never,
    port: 0,
    listenHost: '127.0.0.1',
    security: { limits: { maxConnections: 100, maxConnectionsPerClient: 100, handshakeTimeoutMs: 1000 } } as never,
    log: { warn() {}, info() {} } as never,
  });
}

async function run(port: number, cmd: 'SET' | 'GET', pipeline: number, n: number) {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.on('connect', r));
  const key = (i: number) => `key:${String(i % 10_000).padStart(4, '0')}`;
  const one = (i: number) =>
    cmd === 'SET'
      ? `*3\r\n$3\r\nSET\r\n$8\r\n${key(i)}\r\n$9\r\nvalue-123\r\n`
      : `*2\r\n$3\r\nGET\r\n$8\r\n${key(i)}\r\n`;
  const replyBytes = cmd === 'SET' ? 5 : 15; // +OK\r\n, $9\r\nvalue-123\r\n
  let got = 0;
  let sent = 0;
  const cpu0 = process.cpuUsage();
  await new Promise<void>((resolve) => {
    const send = () => {
      let chunk = '';
      for (let k = 0; k < pipeline && sent < n; k++) chunk += one(sent++);
      if (chunk) s.write(chunk);
    };
    s.on('data', (b: Buffer) => {
      got += b.length;
      if (got >= n * replyBytes) resolve();
      else if (got >= sent * replyBytes) send();
    });
    send();
  });
  const cpu = process.cpuUsage(cpu0);
  s.destroy();
  return (cpu.user + cpu.system) / n;
}

export async function layerBench(n: number): Promise<void> {
  const server = fakeServer();
  await server.listen();
  try {
    for (const P of [1, 16])
      for (const cmd of ['SET', 'GET'] as const) {
        await run(server.port, cmd, P, Math.min(n, 10_000)); // warm-up
        const us = await run(server.port, cmd, P, n);
        console.log(`${cmd} -P ${P}: ${us.toFixed(2)} µs CPU per command (RESP server and client, no engine)`);
      }
  } finally {
    await server.close();
  }
}
