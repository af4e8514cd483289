// The hand-written ENTRIES frame (entries-frame.ts): byte for byte what msgpackr writes for the same
// message, at every width boundary of its integers, arrays and bins (so followers, which decode with
// msgpackr, cannot tell), the worked example of docs/format.md 8.5, and an arena whose views never
// change once handed out.

import { Packr, RESERVE_START_SPACE } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { seededRng, type Rng } from '../engine/vfs/seeded-random.js';
import { EntryArena, encodeEntriesFrame } from '../../cluster/protocol/entries-frame.js';
import { FRAME_HEADER_BYTES, FrameDecoder, writeU32 } from '../../cluster/protocol/frame-codec.js';
import { decodeMessage, MsgType, validateBody, type WireOp } from '../../cluster/protocol/messages.js';

// The protocol's own Packr settings (messages.ts).
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

function msgpackrFrame(epoch: number, p: number, e: [number, WireOp[]][]): Uint8Array {
  const out = packr.pack([MsgType.ENTRIES, 0, epoch, { p, e }], RESERVE_START_SPACE | FRAME_HEADER_BYTES);
  writeU32(out, 0, out.length - FRAME_HEADER_BYTES);
  return Uint8Array.from(out);
}

function joined(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

/** -1 when equal, else the first offset where they differ (vitest's toEqual is too slow for MBs of bytes). */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.from(a.buffer, a.byteOffset, a.length).equals(b)) return -1;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function handFrame(epoch: number, p: number, e: [number, WireOp[]][]): Uint8Array {
  const arena = new EntryArena();
  return joined(
    encodeEntriesFrame(
      epoch,
      p,
      e.map(([lsn, ops]) => arena.encode(lsn, ops)),
    ),
  );
}

const LSNS = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, Number.MAX_SAFE_INTEGER];
const LENGTHS = [0, 1, 0xff, 0x100, 0xffff, 0x10000];

function randomOps(r: Rng, n: number): WireOp[] {
  return Array.from(
    { length: n },
    (): WireOp => [r.bytes(r.int(0, 40)), r.next() < 0.2 ? null : r.bytes(r.int(0, 3000))],
  );
}

describe('ENTRIES frames written by hand', () => {
  it('are the bytes msgpackr writes, at every integer width of lsn, epoch and partition', () => {
    const ops: WireOp[] = [[Uint8Array.of(0x6b), Uint8Array.of(0, 0x76)]];
    for (const lsn of LSNS) {
      for (const epoch of [1, 0x80, 0x10000]) {
        for (const p of [0, 0x7f, 0x80, 0xfffe]) {
          expect(
            firstDiff(handFrame(epoch, p, [[lsn, ops]]), msgpackrFrame(epoch, p, [[lsn, ops]])),
            `lsn ${lsn} epoch ${epoch} p ${p}`,
          ).toBe(-1);
        }
      }
    }
  });

  it('are the bytes msgpackr writes for keys and values at every bin width, deletes, and 0-70,000 ops or entries', () => {
    const big = new Uint8Array(0x10000).fill(7);
    for (const n of LENGTHS) {
      const v = big.subarray(0, n);
      const ops: WireOp[] = [
        [v, v],
        [v, null],
      ];
      expect(firstDiff(handFrame(1, 3, [[9, ops]]), msgpackrFrame(1, 3, [[9, ops]])), `bin of ${n} bytes`).toBe(-1);
    }
    for (const count of [0, 15, 16, 0xffff, 0x10000, 70_000]) {
      const ops: WireOp[] = Array.from({ length: count }, (_, i) => [Uint8Array.of(i & 0xff), null]);
      expect(firstDiff(handFrame(1, 3, [[9, ops]]), msgpackrFrame(1, 3, [[9, ops]])), `${count} ops`).toBe(-1);
      const entries: [number, WireOp[]][] = Array.from({ length: count }, (_, i) => [i + 1, []]);
      expect(firstDiff(handFrame(1, 3, entries), msgpackrFrame(1, 3, entries)), `${count} entries`).toBe(-1);
    }
  });

  it('are the bytes msgpackr writes for random runs of entries (seeded)', () => {
    const r = seededRng();
    for (let round = 0; round < 200; round++) {
      let lsn = r.int(0, 2 ** 40);
      const entries: [number, WireOp[]][] = Array.from({ length: r.int(0, 40) }, () => [
        lsn++,
        randomOps(r, r.int(0, 12)),
      ]);
      const epoch = r.int(0, 1000);
      const p = r.int(0, 0xfffe);
      expect(firstDiff(handFrame(epoch, p, entries), msgpackrFrame(epoch, p, entries)), `round ${round}`).toBe(-1);
    }
  });

  it('writes docs/format.md 8.5: partition 3, LSN 7, key "k", stored value 00 76', () => {
    const bytes = handFrame(1, 3, [[7, [[Uint8Array.of(0x6b), Uint8Array.of(0x00, 0x76)]]]]);
    expect(Buffer.from(bytes).toString('hex')).toBe('0000001694310001' + '82a17003a16591920791' + '92c4016bc4020076');
  });

  it('decode through the frame decoder and the ENTRIES checks to the entries written', () => {
    const r = seededRng();
    const arena = new EntryArena();
    const entries: [number, WireOp[]][] = Array.from({ length: 30 }, (_, i) => [100 + i, randomOps(r, r.int(1, 5))]);
    const frame = joined(
      encodeEntriesFrame(
        4,
        11,
        entries.map(([lsn, ops]) => arena.encode(lsn, ops)),
      ),
    );
    const bodies: Uint8Array[] = [];
    new FrameDecoder(1 << 20).push(frame, (b) => bodies.push(b));
    expect(bodies).toHaveLength(1);
    const msg = decodeMessage(bodies[0]!);
    expect([msg.type, msg.id, msg.epoch]).toEqual([MsgType.ENTRIES, 0, 4]);
    const body = validateBody(MsgType.ENTRIES, msg.body);
    expect(body.p).toBe(11);
    const hex = (e: [number, WireOp[]][]): unknown =>
      e.map(([lsn, ops]) => [
        lsn,
        ops.map(([k, v]) => [Buffer.from(k).toString('hex'), v && Buffer.from(v).toString('hex')]),
      ]);
    expect(hex(body.e)).toEqual(hex(entries));
  });

  it('hands out views that never change, across slabs and for entries larger than a slab', () => {
    const r = seededRng();
    const arena = new EntryArena();
    const held: { enc: Uint8Array; copy: Uint8Array }[] = [];
    for (let i = 0; i < 500; i++) {
      // mostly ~1 KB entries (many per slab), now and then one of 20-100 KB (a buffer of its own)
      const ops: WireOp[] = [[r.bytes(16), r.bytes(r.next() < 0.05 ? r.int(20_000, 100_000) : r.int(500, 1500))]];
      const enc = arena.encode(i, ops);
      held.push({ enc, copy: enc.slice() });
    }
    for (const [i, h] of held.entries()) expect(firstDiff(h.enc, h.copy), `entry ${i}`).toBe(-1);
    const unpacked = held.map((h) => packr.unpack(h.enc) as [number, WireOp[]]);
    expect(unpacked.map(([lsn]) => lsn)).toEqual(held.map((_, i) => i));
  });
});
