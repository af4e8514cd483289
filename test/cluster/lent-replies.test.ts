// Reply memory reused for values a reader consumes at once (KvStore.getWith over the peer protocol):
// the frame decoder keeps the bodies its handler releases and writes later frames into them, and a
// request's `take` gets its reply as the frame is decoded. What must hold: a body nobody released is
// never written again (whatever comes after it), a reused body holds exactly the new frame, a spare
// never pins much more than the frame it serves, and an error thrown by `take` reaches the caller
// without harming the connection.

import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, frame } from '../../cluster/protocol/frame-codec.js';
import { MsgType } from '../../cluster/protocol/messages.js';
import { PeerConnection } from '../../cluster/protocol/peer-connection.js';
import { seededRng, type Rng } from '../engine/vfs/seeded-random.js';

/** Splits `stream` at random and feeds it through one reused chunk buffer, as a socket's onread does. */
function feed(
  dec: FrameDecoder,
  stream: Uint8Array,
  rng: Rng,
  onFrame: (b: Uint8Array) => unknown,
  maxChunk = 65536,
): void {
  const chunkBuf = new Uint8Array(maxChunk);
  for (let off = 0; off < stream.length; ) {
    const n = Math.min(stream.length - off, rng.int(1, maxChunk));
    chunkBuf.set(stream.subarray(off, off + n));
    dec.push(chunkBuf.subarray(0, n), onFrame, true);
    chunkBuf.fill(0xee); // whatever the decoder kept a view of would show it
    off += n;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

describe('FrameDecoder reusing released bodies', () => {
  it('writes a later frame into a released body, and never into one that was kept (seeded)', () => {
    const rng = seededRng();
    for (let round = 0; round < 20; round++) {
      const bodies = Array.from({ length: 60 }, () =>
        rng.bytes(rng.pick([rng.int(0, 200), rng.int(4096, 60_000), rng.int(60_000, 400_000)])),
      );
      const dec = new FrameDecoder(1 << 24);
      const kept: { got: Uint8Array; want: Uint8Array }[] = [];
      let i = 0;
      let reused = 0;
      const released = new Set<ArrayBufferLike>();
      feed(dec, concat(bodies.map(frame)), rng, (b) => {
        const want = bodies[i++]!;
        expect(Buffer.from(b).equals(want), `round ${round} frame ${i - 1}`).toBe(true);
        if (released.has(b.buffer)) reused++;
        if (rng.next() < 0.5) {
          released.add(b.buffer);
          return true;
        }
        kept.push({ got: b, want });
        released.delete(b.buffer);
        return false;
      });
      expect(i).toBe(bodies.length);
      // Every body that was not released still holds its frame, after everything that followed.
      for (const [k, { got, want }] of kept.entries())
        expect(Buffer.from(got).equals(want), `round ${round} kept ${k}`).toBe(true);
      expect(reused, `round ${round}: released bodies were reused`).toBeGreaterThan(0);
    }
  });

  it('reuses a released body that spanned reads for the next large frame', () => {
    const rng = seededRng();
    const a = rng.bytes(300_000);
    const b = rng.bytes(280_000);
    const dec = new FrameDecoder(1 << 24);
    const seen: Uint8Array[] = [];
    feed(dec, concat([frame(a), frame(b)]), rng, (body) => {
      seen.push(body);
      return seen.length === 1; // release the first only
    });
    expect(seen[1]!.buffer === seen[0]!.buffer, "the second frame reuses the first one's memory").toBe(true);
    expect(Buffer.from(seen[1]!).equals(b)).toBe(true);
    expect(dec.spareBytes).toBe(0); // the second was kept by its handler, so nothing is spare
  });

  it('does not serve a small frame from a much larger spare', () => {
    const rng = seededRng();
    const dec = new FrameDecoder(1 << 24);
    const seen: Uint8Array[] = [];
    feed(dec, concat([frame(rng.bytes(500_000)), frame(rng.bytes(20_000)), frame(rng.bytes(260_000))]), rng, (body) => {
      seen.push(body);
      return true;
    });
    expect(seen[1]!.buffer === seen[0]!.buffer, '500 kB would pin 25x the frame').toBe(false);
    expect(seen[2]!.buffer === seen[0]!.buffer, 'within 2x + 4 KiB: reused').toBe(true);
    expect(dec.spareBytes).toBeLessThanOrEqual(500_000 + 20_000);
  });

  it('keeps a bounded number of spares', () => {
    const rng = seededRng();
    const dec = new FrameDecoder(1 << 24);
    const sizes = [10_000, 30_000, 90_000, 270_000, 810_000, 2_430_000];
    feed(dec, concat(sizes.map((n) => frame(rng.bytes(n)))), rng, () => true);
    expect(dec.spareBytes).toBeLessThanOrEqual(90_000 + 270_000 + 810_000 + 2_430_000);
    expect(dec.spareBytes).toBeGreaterThanOrEqual(810_000 + 2_430_000);
  });
});

describe.each([false, true])('PeerConnection request with take (reuseReadBuffer %s)', (reuseReadBuffer) => {
  async function echoServer(): Promise<{ port: number; close: () => Promise<void> }> {
    const server = net.createServer((s) => {
      new PeerConnection(s, { maxFrameBytes: 1 << 24, epoch: () => 0, onMessage: (m, c) => c.reply(m.id, m.body) });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      port: (server.address() as net.AddressInfo).port,
      close: () => new Promise((r) => server.close(() => r())),
    };
  }

  it('hands each reply to its take as it is decoded, and keeps replies of plain requests intact', async () => {
    const srv = await echoServer();
    const conn = await PeerConnection.connect('127.0.0.1', srv.port, {
      maxFrameBytes: 1 << 24,
      epoch: () => 0,
      reuseReadBuffer,
    });
    try {
      const rng = seededRng();
      const values = Array.from({ length: 48 }, (_, i) =>
        rng.bytes(i % 4 === 0 ? rng.int(0, 3000) : rng.int(20_000, 300_000)),
      );
      const plain: Promise<unknown>[] = [];
      const taken: Promise<unknown>[] = [];
      values.forEach((v, i) => {
        if (i % 3 === 0) plain.push(conn.request(MsgType.TASK, { v }));
        // take copies what it keeps: a checksum and the length
        else
          taken.push(
            conn.request(MsgType.TASK, { v }, 10_000, (b) => {
              const got = (b as { v: Uint8Array }).v;
              return {
                len: got.length,
                sum: got.reduce((s, x) => (s * 31 + x) >>> 0, 7),
                equal: Buffer.from(got).equals(v),
              };
            }),
          );
      });
      const plainReplies = (await Promise.all(plain)) as { v: Uint8Array }[];
      const takenReplies = (await Promise.all(taken)) as { equal: boolean }[];
      expect(takenReplies.every((r) => r.equal)).toBe(true);
      // The taken replies' memory was released for reuse.
      expect((conn as unknown as { decoder: FrameDecoder }).decoder.spareBytes).toBeGreaterThan(0);
      // Later frames were written into released bodies; the plain replies' values were not among them.
      plainReplies.forEach((r, k) => expect(Buffer.from(r.v).equals(values[k * 3]!), `plain reply ${k}`).toBe(true));
    } finally {
      conn.destroy();
      await srv.close();
    }
  });

  it('rejects with what take throws, and the connection goes on', async () => {
    const srv = await echoServer();
    const conn = await PeerConnection.connect('127.0.0.1', srv.port, {
      maxFrameBytes: 1 << 24,
      epoch: () => 0,
      reuseReadBuffer,
    });
    try {
      const boom = new Error('cannot use this value');
      const err = await conn
        .request(MsgType.TASK, { v: new Uint8Array(100_000) }, 10_000, () => {
          throw boom;
        })
        .catch((e: unknown) => e);
      expect(err).toBe(boom);
      const after = (await conn.request(MsgType.TASK, { v: Uint8Array.of(1, 2, 3) })) as { v: Uint8Array };
      expect([...after.v]).toEqual([1, 2, 3]);
    } finally {
      conn.destroy();
      await srv.close();
    }
  });
});
