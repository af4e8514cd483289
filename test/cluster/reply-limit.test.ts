// A reply larger than the frame limit: the node answers the request with TOO_LARGE instead of
// sending a frame its peer's decoder refuses (which closes the connection and fails every request
// on it as UNAVAILABLE, so that a client takes the node for down and tries the other replicas).

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { MsgType } from '../../cluster/protocol/messages.js';
import { PeerConnection } from '../../cluster/protocol/peer-connection.js';

const LIMIT = 64 * 1024;
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** A server answering each TASK with `n` bytes, its connections limited to LIMIT-byte frames. */
async function server(): Promise<number> {
  const srv = net.createServer((s) => {
    new PeerConnection(s, {
      maxFrameBytes: LIMIT,
      epoch: () => 0,
      onMessage: (m, c) => c.reply(m.id, { v: new Uint8Array((m.body as { n: number }).n) }),
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  close = () => new Promise((r) => srv.close(() => r()));
  return (srv.address() as net.AddressInfo).port;
}

describe('a reply over the frame limit', () => {
  it('fails its request with TOO_LARGE and leaves the connection working', async () => {
    const port = await server();
    // The client accepts larger frames than the server sends: the refusal is the sender's.
    const conn = await PeerConnection.connect('127.0.0.1', port, { maxFrameBytes: 1 << 22, epoch: () => 0 });
    try {
      const small = (await conn.request(MsgType.TASK, { n: 1000 })) as { v: Uint8Array };
      expect(small.v.length).toBe(1000);
      const err = await conn.request(MsgType.TASK, { n: LIMIT + 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Eau2Error);
      expect((err as Eau2Error).code).toBe(ErrorCode.TOO_LARGE);
      expect((err as Eau2Error).message).toMatch(/over the frame limit of 65536 bytes/);
      // The largest reply that fits still goes through, on the same connection.
      const fits = (await conn.request(MsgType.TASK, { n: LIMIT - 64 })) as { v: Uint8Array };
      expect(fits.v.length).toBe(LIMIT - 64);
      expect(conn.closed).toBe(false);
    } finally {
      conn.close();
    }
  });
});
