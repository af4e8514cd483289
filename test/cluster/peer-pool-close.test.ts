// Closing a PeerPool closes the connections it is still opening. A peer that accepts but never
// answers (a stopped node: the kernel completes the TCP handshake for it) left the connection
// waiting for the peer-port handshake's 3 s timeout, and with it every `eau2` command that had
// touched that node: the CLI exited 3 s after its output.

import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MsgType } from '../../cluster/protocol/messages.js';
import { negotiateFixedLayout } from '../../cluster/protocol/peer-connection.js';
import { PeerPool } from '../../cluster/protocol/peer-pool.js';

let server: Server;
let port: number;
const accepted: Socket[] = [];

beforeAll(async () => {
  // Answers nothing: a process stopped with SIGSTOP, as far as a client can tell. (It reads and
  // drops what comes, so that it sees the client close.)
  server = createServer((s) => {
    accepted.push(s);
    s.resume();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  for (const s of accepted) s.destroy();
  await new Promise((r) => server.close(r));
});

describe('PeerPool.close', () => {
  it('closes a connection still in its handshake at once, not at the handshake timeout', {
    timeout: 10_000,
  }, async () => {
    const pool = new PeerPool(() => ({ host: '127.0.0.1', peerPort: port }), {
      maxFrameBytes: 1 << 20,
      epoch: () => 0,
      handshake: async (c) => void (await negotiateFixedLayout(c)), // 3 s to answer
    });
    const request = pool.request('silent', MsgType.GET, { k: new Uint8Array([1]) }, 0);
    request.catch(() => undefined);
    while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
    const peerSide = accepted[0]!;
    const closed = new Promise<number>((r) => peerSide.once('close', () => r(Date.now())));

    const t = Date.now();
    pool.close();
    await expect(request).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect((await closed) - t).toBeLessThan(1000);
  });
});
