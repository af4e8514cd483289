// The peer protocol's frame decoder and message checks: frames are recovered whole however the bytes
// are split (one byte at a time, every split offset), a malformed body is refused without losing
// the frames after it, and a huge length prefix is refused at once instead of being buffered.

import { describe, expect, it } from 'vitest';
import { seededRng } from '../engine/vfs/seeded-random.js';
import { FrameDecoder, frame } from '../../cluster/protocol/frame-codec.js';
import { decodeMessage, encodeMessage, MsgType, validateBody } from '../../cluster/protocol/messages.js';
import { isEau2Error } from '../../kv/index.js';

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

function decodeAll(dec: FrameDecoder, chunks: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of chunks) dec.push(c, (b) => out.push(Uint8Array.from(b)));
  return out;
}

const bodies = [
  new Uint8Array(0),
  Uint8Array.of(1),
  Uint8Array.from({ length: 300 }, (_, i) => i & 0xff),
  Uint8Array.of(9, 8, 7),
];
const stream = concat(bodies.map(frame));

describe('FrameDecoder', () => {
  it('writes the length as 4 bytes big-endian before the body', () => {
    expect([...frame(Uint8Array.of(0xaa, 0xbb))]).toEqual([0, 0, 0, 2, 0xaa, 0xbb]);
  });

  it('recovers every frame fed one byte at a time', () => {
    const chunks = [...stream].map((b) => Uint8Array.of(b));
    expect(decodeAll(new FrameDecoder(1024), chunks)).toEqual(bodies);
  });

  it('recovers every frame when the stream is split at any offset', () => {
    for (let i = 0; i <= stream.length; i++) {
      const got = decodeAll(new FrameDecoder(1024), [stream.subarray(0, i), stream.subarray(i)]);
      expect(got, `split at ${i}`).toEqual(bodies);
    }
  });

  it('recovers every frame under random splits (seeded)', () => {
    const rng = seededRng();
    const r = (): number => rng.next();
    for (let round = 0; round < 200; round++) {
      const chunks: Uint8Array[] = [];
      for (let off = 0; off < stream.length; ) {
        const n = 1 + Math.floor(r() * 40);
        chunks.push(stream.subarray(off, off + n));
        off += n;
      }
      expect(decodeAll(new FrameDecoder(1024), chunks)).toEqual(bodies);
    }
  });

  it('holds an incomplete frame until the rest arrives', () => {
    const dec = new FrameDecoder(1024);
    const f = frame(Uint8Array.of(1, 2, 3));
    expect(decodeAll(dec, [f.subarray(0, 5)])).toEqual([]);
    expect(dec.buffered).toBe(5);
    expect(decodeAll(dec, [f.subarray(5)])).toEqual([Uint8Array.of(1, 2, 3)]);
    expect(dec.buffered).toBe(0);
  });

  it('refuses a length prefix over the limit without buffering it, and stays failed', () => {
    const dec = new FrameDecoder(1024);
    expect(() => decodeAll(dec, [Uint8Array.of(0xff, 0xff, 0xff, 0xff)])).toThrowError(/exceeds the limit/);
    expect(dec.buffered).toBe(0);
    expect(() => decodeAll(dec, [frame(Uint8Array.of(1))])).toThrow();
  });

  it('refuses a huge prefix that arrives split across chunks', () => {
    const dec = new FrameDecoder(1024);
    decodeAll(dec, [Uint8Array.of(0x7f)]);
    expect(() => decodeAll(dec, [Uint8Array.of(0, 0, 0)])).toThrowError(/exceeds the limit/);
  });
});

describe('FrameDecoder with large frames', () => {
  /** Frames of 0 to ~300 KB, random bytes. */
  function randomBodies(r: () => number, n: number): Uint8Array[] {
    return Array.from({ length: n }, () => {
      const len = r() < 0.3 ? Math.floor(r() * 100) : Math.floor(r() * 300_000);
      return Uint8Array.from({ length: len }, () => Math.floor(r() * 256));
    });
  }

  // Socket-sized chunks (parts kept as views), bursts of tiny ones (a trickle, turned into one
  // buffer), chunks the caller overwrites after each push (copied), bodies released for reuse or
  // kept: every body comes back byte for byte.
  it('recovers every body however it is cut, reused or released (seeded)', () => {
    const rng = seededRng();
    const r = (): number => rng.next();
    for (let round = 0; round < 40; round++) {
      const bodies = randomBodies(r, 12);
      const stream = concat(bodies.map(frame));
      const dec = new FrameDecoder(1 << 20);
      const got: Uint8Array[] = [];
      for (let off = 0; off < stream.length; ) {
        const n = r() < 0.2 ? 1 + Math.floor(r() * 64) : 1 + Math.floor(r() * 80_000);
        const reused = r() < 0.3;
        // A chunk of its own (net's fresh buffers); when `reused`, scribbled over after the push.
        const chunk = Uint8Array.from(stream.subarray(off, off + n));
        dec.push(
          chunk,
          (b) => {
            got.push(Uint8Array.from(b));
            return r() < 0.5;
          },
          reused,
        );
        if (reused) chunk.fill(0xee);
        off += n;
        const partial = (dec as unknown as { parts?: Uint8Array[] }).parts;
        // A trickle never leaves more than a handful of small parts behind.
        if (partial) expect(partial.length <= 8 || dec.buffered - 4 >= (partial.length - 1) * 16 * 1024).toBe(true);
      }
      expect(got.length, `round ${round}`).toBe(bodies.length);
      for (let i = 0; i < bodies.length; i++)
        expect(Buffer.compare(got[i]!, bodies[i]!), `round ${round} body ${i}`).toBe(0);
      expect(dec.buffered).toBe(0);
    }
  });

  it('allocates nothing for a large body before its bytes arrive, and counts what did', () => {
    const dec = new FrameDecoder(64 << 20);
    const body = Uint8Array.from({ length: 200_000 }, (_, i) => i * 7);
    const f = frame(body);
    const out: Uint8Array[] = [];
    dec.push(f.subarray(0, 70_000), (b) => out.push(b));
    expect(dec.buffered).toBe(70_000);
    dec.push(f.subarray(70_000, 140_000), (b) => out.push(b));
    expect(dec.buffered).toBe(140_000);
    dec.push(f.subarray(140_000), (b) => out.push(b));
    expect(out).toHaveLength(1);
    expect(Buffer.compare(out[0]!, body)).toBe(0);
    expect(out[0]!.byteOffset).toBe(0);
    expect(out[0]!.buffer.byteLength).toBe(200_000);
  });
});

describe('peer messages', () => {
  it('round-trips a request envelope', () => {
    const body = encodeMessage(MsgType.PUT, 7, 3, { k: Uint8Array.of(1), v: Uint8Array.of(0, 2), w: 'all' });
    const dec = new FrameDecoder(1024);
    const [b] = decodeAll(dec, [body]);
    const m = decodeMessage(b!);
    expect(m).toMatchObject({ type: MsgType.PUT, id: 7, epoch: 3 });
    const put = validateBody(MsgType.PUT, m.body);
    expect([...put.k]).toEqual([1]);
    expect(put.w).toBe('all');
  });

  it('refuses bodies that are not [type, id, epoch, body]', () => {
    const bad = [
      Uint8Array.of(0xc1),
      Uint8Array.of(0x93, 1, 2, 3),
      new Uint8Array(0),
      Uint8Array.of(0x94, 0x7f, 1, 1, 0xc0),
    ];
    for (const b of bad) {
      let err: unknown;
      try {
        decodeMessage(b);
      } catch (e) {
        err = e;
      }
      expect(isEau2Error(err, 'PROTOCOL'), `body ${Buffer.from(b).toString('hex')}`).toBe(true);
    }
  });

  it('refuses request bodies of the wrong shape', () => {
    const cases: [number, unknown][] = [
      [MsgType.GET, { k: 'text, not bytes' }],
      [MsgType.GET, { k: Uint8Array.of(1), r: 'nearest' }],
      [MsgType.PUT, { k: Uint8Array.of(1), v: Uint8Array.of(0), w: 0.5 }],
      [MsgType.BATCH, { p: 1, ops: [[Uint8Array.of(1)]] }],
      [MsgType.SCAN, { p: -1, lim: 10 }],
      [MsgType.SUBSCRIBE, { p: 0, from: -2, node: 'n1' }],
      [MsgType.ENTRIES, { p: 0, e: [[1.5, []]] }],
      // a bad op deep inside an otherwise good push: checked where it is, every one of them
      [
        MsgType.ENTRIES,
        {
          p: 0,
          e: [
            [1, [[Uint8Array.of(1), null]]],
            [
              2,
              [
                [Uint8Array.of(2), Uint8Array.of(0)],
                [Uint8Array.of(3), 'v'],
              ],
            ],
          ],
        },
      ],
      [MsgType.ENTRIES, { p: 0, e: [[1, [[Uint8Array.of(1), null, null]]]] }],
      [MsgType.ENTRIES, { p: 0, e: [[1, 'ops']] }],
      [
        MsgType.BATCH,
        {
          p: 1,
          ops: [
            [Uint8Array.of(1), Uint8Array.of(0)],
            ['k', Uint8Array.of(0)],
          ],
        },
      ],
      [
        MsgType.RESYNC_CHUNK,
        {
          p: 1,
          e: [
            [Uint8Array.of(1), Uint8Array.of(0)],
            [Uint8Array.of(2), null],
          ],
        },
      ],
      [MsgType.TASK, { name: 42 }],
      [MsgType.ACK, null],
    ];
    for (const [t, b] of cases) {
      const before = structuredClone(b);
      expect(() => validateBody(t as never, b), `type ${t} body ${JSON.stringify(b)}`).toThrowError();
      expect(b, 'a refused body is left as it was').toEqual(before);
    }
  });

  it('hands back a good ENTRIES push as decoded, keys and values included', () => {
    const e = [
      [
        7,
        [
          [Uint8Array.of(1), Uint8Array.of(0, 9)],
          [Uint8Array.of(2), null],
        ],
      ],
      [8, []],
    ];
    const body = validateBody(MsgType.ENTRIES, { p: 3, e: structuredClone(e) });
    expect(body.p).toBe(3);
    expect(body.e).toEqual(e);
  });
});
