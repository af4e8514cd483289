// The memtable against a sorted list: internal-key order (user key bytes ascending, sequence and
// kind descending), get at a sequence, seek/seekForPrev, iteration both ways, frozen views for
// iterators while writes go on, and entries pointing into the arena across slab changes. Keys are
// drawn from bytes around the sign bit (0x00, 0x7f, 0x80, 0xff) and of lengths around 16, where
// the memtable switches from comparing numbers to comparing bytes.

import { describe, expect, test } from 'vitest';
import { Memtable, type MemtableIterator } from '../../../engine/memtable/memtable.js';
import { Kind } from '../../../engine/format/internal-key.js';
import { compareBytes } from '../../../kv/index.js';
import { seededRng, BASE_SEED, type Rng } from '../vfs/seeded-random.js';

interface Entry {
  key: Uint8Array;
  seq: number;
  kind: number;
  value: Uint8Array;
}

function internalOrder(
  a: { key: Uint8Array; seq: number; kind: number },
  b: { key: Uint8Array; seq: number; kind: number },
): number {
  const c = compareBytes(a.key, b.key);
  if (c !== 0) return c;
  if (a.seq !== b.seq) return a.seq > b.seq ? -1 : 1;
  return b.kind - a.kind;
}

const ALPHABET = [0x00, 0x01, 0x30, 0x7f, 0x80, 0xfe, 0xff];

function randomKey(rng: Rng, pool: Uint8Array[]): Uint8Array {
  // Often a stored key, or one with a byte added or removed, so prefixes and neighbours collide.
  if (pool.length > 0 && rng.next() < 0.5) {
    const base = rng.pick(pool);
    const r = rng.next();
    if (r < 0.5) return base;
    if (r < 0.75) return Uint8Array.of(...base, rng.pick(ALPHABET));
    return base.subarray(0, Math.max(0, base.length - 1));
  }
  const len = rng.pick([0, 1, 3, 4, 5, 12, 15, 16, 17, 20, 33]);
  const k = new Uint8Array(len);
  for (let i = 0; i < len; i++) k[i] = rng.pick(ALPHABET);
  return k;
}

/** Fills a memtable with `n` random entries, half through add() and half through the arena. */
function fill(rng: Rng, mem: Memtable, model: Entry[], n: number, firstSeq: number): number {
  const pool = model.map((e) => e.key);
  let seq = firstSeq;
  for (let i = 0; i < n; i++) {
    const key = randomKey(rng, pool);
    pool.push(key);
    const kind = rng.next() < 0.2 ? Kind.DELETE : Kind.VALUE;
    const value = kind === Kind.VALUE ? rng.bytes(rng.int(0, 40)) : new Uint8Array(0);
    if (rng.next() < 0.5) {
      mem.add(seq, kind, key, value);
    } else {
      mem.reserve(key.length + value.length + 3);
      const buf = mem.arenaBuffer;
      const off = mem.arenaOffset + 3;
      buf.set(key, off);
      buf.set(value, off + key.length);
      mem.addAt(seq, kind, buf, off, key.length, off + key.length, value.length);
    }
    model.push({ key: key.slice(), seq, kind, value: value.slice() });
    seq++;
  }
  return seq;
}

function drain(it: MemtableIterator, reverse: boolean): Entry[] {
  const out: Entry[] = [];
  if (reverse) for (it.seekToLast(); it.valid(); it.prev()) out.push(current(it));
  else for (it.seekToFirst(); it.valid(); it.next()) out.push(current(it));
  return out;
}

function current(it: MemtableIterator): Entry {
  return { key: it.key().slice(), seq: it.seq(), kind: it.kind(), value: it.value().slice() };
}

const hex = (e: Entry[]) =>
  e.map((x) => `${Buffer.from(x.key).toString('hex')}@${x.seq}/${x.kind}=${Buffer.from(x.value).toString('hex')}`);

describe('Memtable', () => {
  for (const seed of [BASE_SEED, BASE_SEED + 1, BASE_SEED + 2]) {
    test(`iterates in internal-key order both ways (seed ${seed})`, () => {
      const rng = seededRng(seed);
      const mem = new Memtable(1);
      const model: Entry[] = [];
      fill(rng, mem, model, 3000, 1);
      const sorted = [...model].sort(internalOrder);
      expect(mem.count()).toBe(model.length);
      expect(hex(drain(mem.iterator(), false))).toEqual(hex(sorted));
      expect(hex(drain(mem.iterator(), true))).toEqual(hex([...sorted].reverse()));
    });

    test(`get returns the newest version at or below the sequence (seed ${seed})`, () => {
      const rng = seededRng(seed);
      const mem = new Memtable(1);
      const model: Entry[] = [];
      const end = fill(rng, mem, model, 2000, 100);
      const pool = model.map((e) => e.key);
      for (let i = 0; i < 3000; i++) {
        const key = randomKey(rng, pool);
        const seq = rng.int(90, end + 5);
        const want = model
          .filter((e) => compareBytes(e.key, key) === 0 && e.seq <= seq)
          .sort((a, b) => b.seq - a.seq)[0];
        const got = mem.get(key, seq);
        if (want === undefined) expect(got).toBeUndefined();
        else
          expect({
            kind: got?.kind,
            seq: got?.seq,
            value: hex([{ key: key, seq: 0, kind: 0, value: got!.value }]),
          }).toEqual({
            kind: want.kind,
            seq: want.seq,
            value: hex([{ key: key, seq: 0, kind: 0, value: want.value }]),
          });
      }
    });

    test(`seek and seekForPrev land where the sorted list says (seed ${seed})`, () => {
      const rng = seededRng(seed);
      const mem = new Memtable(1);
      const model: Entry[] = [];
      const end = fill(rng, mem, model, 1500, 1);
      const sorted = [...model].sort(internalOrder);
      const pool = model.map((e) => e.key);
      const it = mem.iterator();
      for (let i = 0; i < 2000; i++) {
        const key = randomKey(rng, pool);
        const seq = rng.int(0, end);
        const ge = sorted.find((e) => internalOrder(e, { key, seq, kind: Kind.VALUE }) >= 0);
        it.seek(key, seq);
        expect(it.valid() ? hex([current(it)]) : []).toEqual(ge ? hex([ge]) : []);
        const le = [...sorted].reverse().find((e) => internalOrder(e, { key, seq, kind: Kind.DELETE }) <= 0);
        it.seekForPrev(key, seq);
        expect(it.valid() ? hex([current(it)]) : []).toEqual(le ? hex([le]) : []);
      }
    });
  }

  test('an iterator keeps the view it started with while thousands more entries arrive', () => {
    const rng = seededRng(BASE_SEED);
    const mem = new Memtable(1);
    const model: Entry[] = [];
    const seq = fill(rng, mem, model, 500, 1);
    const before = hex([...model].sort(internalOrder));
    const it = mem.iterator();
    it.seekToFirst();
    const first = hex([current(it)]);
    // Far past the columns' first capacity, so they are reallocated under the open iterator.
    fill(rng, mem, model, 5000, seq);
    expect(hex([current(it)])).toEqual(first);
    expect(hex(drain(it, false))).toEqual(before);
    expect(hex(drain(mem.iterator(), false))).toEqual(hex([...model].sort(internalOrder)));
  });

  test('entries point into arena slabs across slab changes and into a large record of its own', () => {
    const rng = seededRng(BASE_SEED);
    const mem = new Memtable(1);
    const model: Entry[] = [];
    let seq = 1;
    for (const size of [100, 20_000, 300_000, 100, 700_000, 50]) {
      const key = rng.bytes(rng.int(1, 30));
      const value = rng.bytes(size);
      mem.reserve(key.length + value.length);
      const buf = mem.arenaBuffer;
      const off = mem.arenaOffset;
      buf.set(key, off);
      buf.set(value, off + key.length);
      mem.addAt(seq, Kind.VALUE, buf, off, key.length, off + key.length, value.length);
      model.push({ key, seq, kind: Kind.VALUE, value });
      seq++;
    }
    expect(hex(drain(mem.iterator(), false))).toEqual(hex([...model].sort(internalOrder)));
    for (const e of model) expect(Buffer.from(mem.get(e.key, seq)!.value).equals(Buffer.from(e.value))).toBe(true);
    expect(mem.payloadBytes()).toBe(model.reduce((n, e) => n + e.key.length + e.value.length, 0));
  });

  test('addAt refuses a buffer the memtable did not hand out, and adds nothing', () => {
    const mem = new Memtable(1);
    mem.add(1, Kind.VALUE, Uint8Array.of(1), Uint8Array.of(2));
    const foreign = new Uint8Array(8);
    expect(() => mem.addAt(2, Kind.VALUE, foreign, 0, 1, 1, 1)).toThrow(TypeError);
    expect(mem.count()).toBe(1);
    expect(mem.get(Uint8Array.of(0), 5)).toBeUndefined();
  });
});
