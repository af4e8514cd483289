// Frames with large binaries, encoded as parts (frame-parts.ts): the joined parts are byte for byte
// the msgpack of the same message in one buffer, large binaries are passed through uncopied, a
// BinParts arrives as one binary, and a PeerConnection writes a mix of large and small frames so that
// the other end decodes every one, also when it reads into one reused buffer. Also: random bytes and lying length prefixes fed to the decoder in
// random pieces never throw anything but a PROTOCOL or TOO_LARGE error.

import net from 'node:net';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../cluster/protocol/frame-codec.js';
import { BinParts, LARGE_PART_BYTES, encodeFrameParts } from '../../cluster/protocol/frame-parts.js';
import {
  decodeMessage,
  encodeMessage,
  encodeMessageParts,
  MsgType,
  validateBody,
} from '../../cluster/protocol/messages.js';
import { PeerConnection } from '../../cluster/protocol/peer-connection.js';
import { isEau2Error } from '../../kv/index.js';
import { seededRng, type Rng } from '../engine/vfs/seeded-random.js';

// The protocol's own options (messages.ts): the reference encoding.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

function frameOf(type: number, id: number, epoch: number, body: unknown): Uint8Array {
  const b = packr.pack([type, id, epoch, body]);
  const out = new Uint8Array(4 + b.length);
  new DataView(out.buffer).setUint32(0, b.length);
  out.set(b, 4);
  return out;
}

const joined = (parts: Uint8Array | Uint8Array[]): Uint8Array =>
  parts instanceof Uint8Array ? parts : Uint8Array.from(Buffer.concat(parts));

/** A random body: nested arrays and maps of numbers, strings, null, small and large binaries. */
function randomValue(rng: Rng, depth: number): unknown {
  const kind = rng.int(0, depth > 0 ? 7 : 4);
  switch (kind) {
    case 0:
      return rng.int(-1e6, 1e9);
    case 1:
      return rng.next() * 1000;
    case 2:
      return rng.pick(['', 'p', 'ops', 'x'.repeat(rng.int(0, 300)), 'é✓']);
    case 3:
      return rng.pick([null, true, false]);
    case 4:
      return rng.bytes(rng.pick([0, 1, 255, 256, 65535, 65536, LARGE_PART_BYTES - 1, LARGE_PART_BYTES, 100_000]));
    case 5:
    case 6:
      return Array.from({ length: rng.pick([0, 1, 2, 15, 16, 20]) }, () => randomValue(rng, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      const n = rng.pick([0, 1, 3, 15, 16, 18]);
      for (let i = 0; i < n; i++) o[`k${i}`] = randomValue(rng, depth - 1);
      return o;
    }
  }
}

describe('frame parts', () => {
  it('joined, are byte for byte the one-buffer msgpack frame (seeded random bodies)', () => {
    const rng = seededRng();
    let split = 0;
    for (let round = 0; round < 150; round++) {
      const body = randomValue(rng, 4);
      const parts = encodeMessageParts(MsgType.TASK, round + 1, 7, body);
      if (Array.isArray(parts)) split++;
      expect(Buffer.from(joined(parts)).equals(frameOf(MsgType.TASK, round + 1, 7, body)), `round ${round}`).toBe(true);
    }
    expect(split).toBeGreaterThan(10); // the random bodies did exercise the parts path
  });

  it('pass a large binary through as the same object, with the small pieces around it joined', () => {
    const big = new Uint8Array(LARGE_PART_BYTES).fill(7);
    const k = Uint8Array.of(1, 2);
    const parts = encodeFrameParts(packr, [
      MsgType.BATCH,
      9,
      1,
      {
        p: 3,
        ops: [
          [k, big],
          [k, null],
        ],
        w: 1,
      },
    ]);
    expect(parts).toHaveLength(3);
    expect(parts[1]).toBe(big);
    expect(parts[0]!.length).toBeLessThan(64);
  });

  it('send a BinParts as one binary of its parts in order', () => {
    const head = Uint8Array.of(0);
    const value = new Uint8Array(100_000).map((_, i) => i & 0xff);
    const parts = encodeMessageParts(MsgType.PUT, 5, 2, {
      k: Uint8Array.of(9),
      v: new BinParts([head, value]),
      w: 'all',
    });
    expect(Array.isArray(parts)).toBe(true);
    expect((parts as Uint8Array[]).includes(value)).toBe(true);
    const dec = new FrameDecoder(1 << 20);
    const got: Uint8Array[] = [];
    dec.push(joined(parts), (b) => got.push(b));
    const put = validateBody(MsgType.PUT, decodeMessage(got[0]!).body);
    expect(put.v.length).toBe(100_001);
    expect(put.v[0]).toBe(0);
    expect(Buffer.from(put.v.subarray(1)).equals(value)).toBe(true);
  });

  it('lay out the worked example of docs/format.md 8.1 (PUT of a 40,000-byte value)', () => {
    const value = new Uint8Array(40_000).fill(0x5a);
    const parts = encodeMessageParts(MsgType.PUT, 1, 1, {
      k: Uint8Array.of(0x6b),
      v: new BinParts([Uint8Array.of(0), value]),
    }) as Uint8Array[];
    expect(parts).toHaveLength(2);
    expect(Buffer.from(parts[0]!).toString('hex')).toBe(
      '00009c50' + // length 40,016
        '94' +
        '21' +
        '01' +
        '01' + // [PUT, id 1, epoch 1,
        '82' +
        'a16b' +
        'c4016b' + // {"k": bin 6b,
        'a176' +
        'c59c41' +
        '00', //  "v": bin16 40,001: header 00 ...
    );
    expect(parts[1]).toBe(value); // ... then the value itself}]
  });

  it('leave a body without large binaries in one buffer, as before', () => {
    const body = { k: Uint8Array.of(1), v: new Uint8Array(1000), w: 2 };
    const one = encodeMessageParts(MsgType.PUT, 1, 0, body);
    expect(one).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(one as Uint8Array).equals(frameOf(MsgType.PUT, 1, 0, body))).toBe(true);
    expect(Buffer.from(encodeMessage(MsgType.PUT, 1, 0, body)).equals(frameOf(MsgType.PUT, 1, 0, body))).toBe(true);
  });
});

describe('FrameDecoder on large and hostile input', () => {
  it('recovers a frame larger than its first allocation, grown as its bytes arrive', () => {
    // The decoder allocates at most 1 MiB for a spanning body until its bytes arrive, so a bare
    // length prefix costs little; a 3 MiB body must still come back whole.
    const rng = seededRng();
    const body = rng.bytes(3 * 1024 * 1024 + 17);
    const f = new Uint8Array(4 + body.length);
    new DataView(f.buffer).setUint32(0, body.length);
    f.set(body, 4);
    const dec = new FrameDecoder(8 << 20);
    const got: Uint8Array[] = [];
    for (let off = 0; off < f.length; ) {
      const n = rng.pick([3, 4096, 65536, 700_000]);
      dec.push(f.subarray(off, off + n), (b) => got.push(Uint8Array.from(b)));
      off += n;
    }
    expect(got).toHaveLength(1);
    expect(Buffer.from(got[0]!).equals(body)).toBe(true);
    expect(dec.buffered).toBe(0);
  });

  it('recovers large frames fed in random pieces, and a zero-length body split after its prefix', () => {
    const rng = seededRng();
    const bodies = [rng.bytes(200_000), new Uint8Array(0), rng.bytes(3), rng.bytes(70_000), new Uint8Array(0)];
    const stream = Buffer.concat(
      bodies.map((b) => {
        const f = new Uint8Array(4 + b.length);
        new DataView(f.buffer).setUint32(0, b.length);
        f.set(b, 4);
        return f;
      }),
    );
    for (let round = 0; round < 50; round++) {
      const dec = new FrameDecoder(1 << 20);
      const got: Uint8Array[] = [];
      for (let off = 0; off < stream.length; ) {
        const n = rng.pick([1, 2, 3, 5, 4096, 65536, 100_000]);
        dec.push(stream.subarray(off, off + n), (b) => got.push(Uint8Array.from(b)));
        off += n;
      }
      expect(got.map((b) => b.length)).toEqual(bodies.map((b) => b.length));
      got.forEach((b, i) => expect(Buffer.from(b).equals(bodies[i]!)).toBe(true));
      expect(dec.buffered).toBe(0);
    }
  });

  it('throws nothing but PROTOCOL or TOO_LARGE on random bytes in random pieces (seeded)', () => {
    const rng = seededRng();
    for (let round = 0; round < 300; round++) {
      const dec = new FrameDecoder(rng.pick([16, 1024, 1 << 20]));
      const stream = rng.bytes(rng.int(0, 3000));
      // Sometimes a plausible prefix, so bodies reach the message decoder too.
      if (stream.length > 8 && rng.next() < 0.5) new DataView(stream.buffer).setUint32(0, rng.int(0, stream.length));
      try {
        for (let off = 0; off < stream.length; ) {
          const n = rng.int(1, 700);
          dec.push(stream.subarray(off, off + n), (b) => {
            try {
              decodeMessage(b);
            } catch (e) {
              expect(isEau2Error(e, 'PROTOCOL'), String(e)).toBe(true);
            }
          });
          off += n;
        }
      } catch (e) {
        expect(isEau2Error(e, 'TOO_LARGE') || isEau2Error(e, 'PROTOCOL'), String(e)).toBe(true);
      }
    }
  });
});

describe.each([false, true])('PeerConnection with large values (reuseReadBuffer %s)', (reuseReadBuffer) => {
  it('delivers large and small requests sent in one event-loop turn, each value intact', async () => {
    const server = net.createServer((s) => {
      new PeerConnection(s, {
        maxFrameBytes: 1 << 24,
        epoch: () => 0,
        onMessage: (m, c) => c.reply(m.id, m.body), // echo
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const conn = await PeerConnection.connect('127.0.0.1', port, {
      maxFrameBytes: 1 << 24,
      epoch: () => 0,
      reuseReadBuffer,
    });
    try {
      const rng = seededRng();
      const bodies = Array.from({ length: 40 }, (_, i) =>
        i % 3 === 0
          ? { k: Uint8Array.of(i), v: new BinParts([Uint8Array.of(0), rng.bytes(rng.int(LARGE_PART_BYTES, 300_000))]) }
          : { k: Uint8Array.of(i), v: rng.bytes(rng.int(0, 2000)) },
      );
      const replies = (await Promise.all(bodies.map((b) => conn.request(MsgType.TASK, b)))) as {
        k: Uint8Array;
        v: Uint8Array;
      }[];
      replies.forEach((r, i) => {
        const b = bodies[i]!;
        const want = b.v instanceof BinParts ? Buffer.concat(b.v.parts) : b.v;
        expect(Buffer.from(r.v).equals(want), `request ${i}`).toBe(true);
      });
    } finally {
      conn.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});

describe('PeerConnection timeouts with uncopied values', () => {
  it('closes the connection when a request holding a large value times out; small ones do not', async () => {
    // The peer never answers, but heartbeats (a silent one's connection is closed on any timeout).
    // After a timeout the caller may reuse its buffer, so a request whose large value went out
    // uncopied must not leave it queued on a connection that lives on.
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => {
      sockets.push(s.on('error', () => undefined));
      const beat = setInterval(() => s.write(encodeMessage(MsgType.HEARTBEAT, 0, 0, null)), 5);
      s.on('close', () => clearInterval(beat));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const opts = { maxFrameBytes: 1 << 24, epoch: () => 0 };
    const conn = await PeerConnection.connect('127.0.0.1', port, opts);
    try {
      const small = await conn.request(MsgType.TASK, { v: Uint8Array.of(1) }, 30).catch((e: unknown) => e);
      expect(isEau2Error(small, 'TIMEOUT')).toBe(true);
      const stillOpen = await conn.request(MsgType.TASK, { v: Uint8Array.of(2) }, 30).catch((e: unknown) => e);
      expect(isEau2Error(stillOpen, 'TIMEOUT'), 'a small request timing out leaves the connection open').toBe(true);
      const large = await conn
        .request(MsgType.TASK, { v: new Uint8Array(LARGE_PART_BYTES) }, 30)
        .catch((e: unknown) => e);
      expect(isEau2Error(large, 'TIMEOUT')).toBe(true);
      const after = await conn.request(MsgType.TASK, { v: Uint8Array.of(3) }, 30).catch((e: unknown) => e);
      expect(isEau2Error(after, 'UNAVAILABLE'), String(after)).toBe(true);
    } finally {
      conn.destroy();
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
