// Iterators over a memtable that keeps taking writes, against a sorted-array reference. Each open
// iterator's reference is the sorted list of the entries present when it was made; adds, iterator
// moves (next, prev) and seeks (first, last, seek, seekForPrev) are interleaved at random, with
// adds aimed next to where iterators stand and ascending/descending runs, so leaves split under
// open iterators again and again (the memtable's header: how iterators stay correct). After each
// move, the iterator must stand on exactly the reference's entry; gets and count() are checked
// against all entries, and the flush's way of reading entries (index() and the *At accessors).

import { describe, expect, test } from 'vitest';
import { Memtable, type MemtableIterator, SlabPool } from '../../../engine/memtable/memtable.js';
import { Kind } from '../../../engine/format/internal-key.js';
import { compareBytes } from '../../../kv/index.js';
import { seededRng, BASE_SEED, type Rng } from '../vfs/seeded-random.js';

interface Entry {
  key: Uint8Array;
  seq: number;
  kind: number;
  value: Uint8Array;
}

interface Probe {
  key: Uint8Array;
  seq: number;
  kind: number;
}

function internalOrder(a: Probe, b: Probe): number {
  const c = compareBytes(a.key, b.key);
  if (c !== 0) return c;
  if (a.seq !== b.seq) return a.seq > b.seq ? -1 : 1;
  return b.kind - a.kind;
}

/** The first index of sorted whose entry is >= p (or, `strict`, > p). */
function bound(sorted: Entry[], p: Probe, strict: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = internalOrder(sorted[mid]!, p);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const ALPHABET = [0x00, 0x01, 0x30, 0x7f, 0x80, 0xfe, 0xff];

/** A key near `base`: itself, one byte longer or shorter, or its last byte moved by one. */
function near(rng: Rng, base: Uint8Array): Uint8Array {
  const r = rng.next();
  if (r < 0.3) return base;
  if (r < 0.55) return Uint8Array.of(...base, rng.pick(ALPHABET));
  if (r < 0.75 || base.length === 0) return base.subarray(0, Math.max(0, base.length - 1));
  const k = base.slice();
  k[k.length - 1] = (k[k.length - 1]! + (rng.next() < 0.5 ? 1 : 255)) & 0xff;
  return k;
}

function randomKey(rng: Rng, pool: Entry[]): Uint8Array {
  if (pool.length > 0 && rng.next() < 0.5) return near(rng, rng.pick(pool).key);
  const len = rng.pick([0, 1, 4, 12, 15, 16, 17, 20, 33]);
  const k = new Uint8Array(len);
  for (let i = 0; i < len; i++) k[i] = rng.pick(ALPHABET);
  return k;
}

function show(e: Entry | undefined): string {
  if (e === undefined) return '(invalid)';
  return `${Buffer.from(e.key).toString('hex')}@${e.seq}/${e.kind}=${Buffer.from(e.value).toString('hex')}`;
}

function current(it: MemtableIterator): string {
  if (!it.valid()) return '(invalid)';
  return show({ key: it.key(), seq: it.seq(), kind: it.kind(), value: it.value() });
}

interface OpenIterator {
  it: MemtableIterator;
  /** The entries present when it was made, sorted. */
  view: Entry[];
  /** Its position in view; -1 when invalid. */
  at: number;
}

function runModel(seed: number, steps: number): { entries: number; leaves: number; moves: number } {
  const rng = seededRng(seed);
  const mem = new Memtable(1);
  const all: Entry[] = [];
  let sorted: Entry[] = [];
  let sortedValid = true;
  let seq = 1;
  const open: OpenIterator[] = [];
  let moves = 0;

  const sortedAll = (): Entry[] => {
    if (!sortedValid) {
      sorted = [...all].sort(internalOrder);
      sortedValid = true;
    }
    return sorted;
  };
  const add = (key: Uint8Array): void => {
    const kind = rng.next() < 0.15 ? Kind.DELETE : Kind.VALUE;
    const value = kind === Kind.VALUE ? rng.bytes(rng.int(0, 12)) : new Uint8Array(0);
    const s = seq++;
    mem.add(s, kind, key, value);
    all.push({ key: key.slice(), seq: s, kind, value: value.slice() });
    sortedValid = false;
  };
  const check = (o: OpenIterator, what: string): void => {
    moves++;
    const want = o.at >= 0 && o.at < o.view.length ? show(o.view[o.at]) : '(invalid)';
    if (o.at >= o.view.length) o.at = -1;
    expect(current(o.it), `${what} (seed ${seed})`).toBe(want);
  };

  for (let step = 0; step < steps; step++) {
    const r = rng.next();
    if (r < 0.4 || all.length < 40) {
      // Adds: mostly beside an open iterator's entry, so its leaf changes or splits under it.
      const n = rng.int(1, 24);
      const o = open.length > 0 ? rng.pick(open) : undefined;
      for (let k = 0; k < n; k++) {
        const base = o && o.at >= 0 && rng.next() < 0.6 ? o.view[o.at]!.key : undefined;
        add(base ? near(rng, base) : randomKey(rng, all));
      }
    } else if (r < 0.43) {
      // An ascending or descending run: appends that fill leaves, or inserts at a leaf's front.
      const up = rng.next() < 0.5;
      const prefix = rng.bytes(rng.int(1, 6));
      for (let k = 0; k < 150; k++) {
        const j = up ? k : 149 - k;
        add(Uint8Array.of(...prefix, j >>> 8, j & 0xff));
      }
    } else if (r < 0.5 && open.length < 6) {
      open.push({ it: mem.iterator(), view: [...sortedAll()], at: -1 });
    } else if (r < 0.53 && open.length > 0) {
      const i = rng.int(0, open.length - 1);
      open[i]!.it.close();
      open.splice(i, 1);
    } else if (r < 0.58) {
      expect(mem.count(), `count (seed ${seed})`).toBe(all.length);
      const key = randomKey(rng, all);
      const at = rng.int(0, seq);
      const s = sortedAll();
      const i = bound(s, { key, seq: at, kind: Kind.VALUE }, false);
      const want = i < s.length && compareBytes(s[i]!.key, key) === 0 ? s[i] : undefined;
      const got = mem.get(key, at);
      expect(got ? show({ key, ...got }) : '(invalid)', `get (seed ${seed})`).toBe(show(want));
    } else if (open.length > 0) {
      const o = rng.pick(open);
      const m = rng.next();
      if (m < 0.1) {
        o.it.seekToFirst();
        o.at = o.view.length > 0 ? 0 : -1;
        check(o, 'seekToFirst');
      } else if (m < 0.2) {
        o.it.seekToLast();
        o.at = o.view.length - 1;
        check(o, 'seekToLast');
      } else if (m < 0.35) {
        const key = randomKey(rng, all);
        const s = rng.int(0, seq);
        o.it.seek(key, s);
        o.at = bound(o.view, { key, seq: s, kind: Kind.VALUE }, false);
        check(o, 'seek');
      } else if (m < 0.5) {
        const key = randomKey(rng, all);
        const s = rng.int(0, seq);
        o.it.seekForPrev(key, s);
        o.at = bound(o.view, { key, seq: s, kind: Kind.DELETE }, true) - 1;
        check(o, 'seekForPrev');
      } else if (o.at >= 0) {
        // A few steps one way, with adds between some of them.
        const forward = m < 0.75;
        const n = rng.int(1, 40);
        for (let k = 0; k < n && o.at >= 0; k++) {
          if (rng.next() < 0.3) add(near(rng, o.view[o.at]!.key));
          if (forward) {
            o.it.next();
            o.at++;
          } else {
            o.it.prev();
            o.at--;
          }
          check(o, forward ? 'next' : 'prev');
        }
      }
    }
  }

  // Every iterator still sees exactly its view, whole, both ways.
  for (const o of open) {
    const fwd: string[] = [];
    for (o.it.seekToFirst(); o.it.valid(); o.it.next()) fwd.push(current(o.it));
    expect(fwd, `drain forward (seed ${seed})`).toEqual(o.view.map(show));
    const back: string[] = [];
    for (o.it.seekToLast(); o.it.valid(); o.it.prev()) back.push(current(o.it));
    expect(back, `drain backward (seed ${seed})`).toEqual(o.view.map(show).reverse());
  }
  // The flush reads each entry through index() and the memtable's *At accessors.
  const whole: string[] = [];
  const it = mem.iterator();
  for (it.seekToFirst(); it.valid(); it.next()) {
    const i = it.index();
    const buf = mem.bufferAt(i);
    const ko = mem.keyOffsetAt(i);
    const vo = mem.valueOffsetAt(i);
    const e = {
      key: buf.subarray(ko, ko + mem.keyLengthAt(i)),
      seq: mem.seqAt(i),
      kind: mem.kindAt(i),
      value: buf.subarray(vo, vo + mem.valueLengthAt(i)),
    };
    expect(show(e)).toBe(current(it));
    whole.push(show(e));
  }
  expect(whole, `whole memtable (seed ${seed})`).toEqual(sortedAll().map(show));
  expect(mem.count()).toBe(all.length);
  expect(mem.payloadBytes()).toBe(all.reduce((n, e) => n + e.key.length + e.value.length, 0));
  return { entries: all.length, leaves: mem.leafCount(), moves };
}

describe('Memtable iterators under concurrent adds', () => {
  for (let k = 0; k < 6; k++) {
    const seed = BASE_SEED + k;
    test(`see exactly the entries present when made, through leaf splits (seed ${seed})`, () => {
      const { entries, leaves, moves } = runModel(seed, 1500);
      // The run must have split many leaves under its iterators, or it proves little.
      expect(entries).toBeGreaterThan(5000);
      expect(leaves).toBeGreaterThan(100);
      expect(moves).toBeGreaterThan(2000);
    });
  }

  test('an iterator whose leaf splits between its steps finds its entry in the new leaf', () => {
    const rng = seededRng(BASE_SEED);
    const mem = new Memtable(1);
    const key = (j: number) => Uint8Array.of(0x61, j);
    // One full leaf of even keys; the iterator stands on the last one.
    for (let j = 0; j < 128; j += 2) mem.add(j + 1, Kind.VALUE, key(j), rng.bytes(3));
    expect(mem.leafCount()).toBe(1);
    const it = mem.iterator();
    it.seekToLast();
    expect(it.key()).toEqual(key(126));
    // An odd key into the lower half splits it: the iterator's entry moves to the new leaf, and
    // more adds shift it there too.
    mem.add(1000, Kind.VALUE, key(1), rng.bytes(3));
    for (let j = 125; j > 64; j -= 2) mem.add(2000 + j, Kind.VALUE, key(j), rng.bytes(3));
    expect(mem.leafCount()).toBeGreaterThan(1);
    const seen: number[] = [];
    for (; it.valid(); it.prev()) seen.push(it.key()[1]!);
    expect(seen).toEqual(Array.from({ length: 64 }, (_, i) => 126 - 2 * i));
  });
});

describe('Memtables sharing a slab pool', () => {
  // Generations of memtables fill from one pool, each released (as a flush releases it) while some
  // of its iterators stay open across later generations. The pool must hand a memtable's slabs on
  // only once nothing views them: an open iterator still drains its exact view (byte for byte, large
  // values included) while newer memtables write into slabs the pool handed back.
  for (let k = 0; k < 3; k++) {
    const seed = BASE_SEED + 100 + k;
    test(`an open iterator's view survives its memtable's release and later writes (seed ${seed})`, () => {
      const rng = seededRng(seed);
      const pool = new SlabPool(64 * 1024 * 1024);
      const open: { it: MemtableIterator; mem: Memtable; view: Entry[]; gen: number }[] = [];
      const same = (it: MemtableIterator, e: Entry): boolean =>
        it.seq() === e.seq &&
        it.kind() === e.kind &&
        Buffer.from(it.key()).equals(e.key) &&
        Buffer.from(it.value()).equals(e.value);
      const drain = (o: (typeof open)[number], what: string): void => {
        let i = 0;
        for (o.it.seekToFirst(); o.it.valid(); o.it.next(), i++) {
          expect(same(o.it, o.view[i]!), `${what}: generation ${o.gen} entry ${i} (seed ${seed})`).toBe(true);
        }
        expect(i, `${what}: generation ${o.gen} count (seed ${seed})`).toBe(o.view.length);
      };
      let seq = 1;
      for (let gen = 1; gen <= 24; gen++) {
        const mem = new Memtable(gen, 4 * 1024 * 1024, pool);
        const entries: Entry[] = [];
        const n = rng.int(200, 900);
        for (let i = 0; i < n; i++) {
          const kind = rng.next() < 0.1 ? Kind.DELETE : Kind.VALUE;
          // Mostly small values (arena slabs), now and then one past a quarter slab (a buffer of its own).
          const size = rng.next() < 0.01 ? rng.int(260_000, 700_000) : rng.int(0, 3000);
          const value = kind === Kind.VALUE ? rng.bytes(size) : new Uint8Array(0);
          const key = rng.bytes(rng.int(1, 24));
          mem.add(seq, kind, key, value);
          entries.push({ key, seq, kind, value });
          seq++;
          if (rng.next() < 0.004) {
            open.push({ it: mem.iterator(), mem, view: [...entries].sort(internalOrder), gen });
          }
        }
        if (rng.next() < 0.5) open.push({ it: mem.iterator(), mem, view: entries.sort(internalOrder), gen });
        // The owner's reference goes, as when a flush is done with it.
        mem.unref();
        // Iterators of this and earlier generations still see their views; some are closed.
        for (let i = open.length - 1; i >= 0; i--) {
          const o = open[i]!;
          if (rng.next() < 0.3) drain(o, `generation ${gen}`);
          if (rng.next() < 0.3) {
            o.it.close();
            o.it.close(); // a second close drops nothing more
            expect(o.mem.refCount()).toBeGreaterThanOrEqual(0);
            open.splice(i, 1);
          }
        }
      }
      for (const o of open) drain(o, 'end');
      for (const o of open) o.it.close();
      // The test must have exercised reuse, or it proves nothing.
      expect(pool.reused, `slabs reused (seed ${seed})`).toBeGreaterThan(20);
      expect(pool.heldBytes()).toBeLessThanOrEqual(pool.limitBytes);
    });
  }

  test('a memtable gives its slabs back only when its last reference goes', () => {
    const rng = seededRng(BASE_SEED);
    const pool = new SlabPool(16 * 1024 * 1024);
    const mem = new Memtable(1, 4 * 1024 * 1024, pool);
    mem.add(1, Kind.VALUE, Uint8Array.of(1), rng.bytes(100));
    mem.add(2, Kind.VALUE, Uint8Array.of(2), rng.bytes(300_000));
    const it = mem.iterator();
    expect(mem.refCount()).toBe(2);
    mem.unref();
    expect(pool.heldBytes()).toBe(0);
    it.close();
    expect(mem.refCount()).toBe(0);
    // The 16 KiB first slab and the large value's own buffer (rounded up to a 64 KiB step).
    expect(pool.heldBytes()).toBe(16 * 1024 + 5 * 65536);
    // The next memtable takes the large buffer for a large value that fits it (at least half its size).
    const next = new Memtable(2, 4 * 1024 * 1024, pool);
    next.add(3, Kind.VALUE, Uint8Array.of(3), rng.bytes(270_000));
    expect(pool.reused).toBe(1);
    expect(pool.heldBytes()).toBe(16 * 1024);
    // A slab larger than the pool's limit is left to the garbage collector.
    const small = new SlabPool(1000);
    const m = new Memtable(3, 4 * 1024 * 1024, small);
    m.add(1, Kind.VALUE, Uint8Array.of(1), rng.bytes(10));
    m.unref();
    expect(small.heldBytes()).toBe(0);
  });

  test('a full pool keeps the newest slabs, so a change in record sizes does not leave it stuck', () => {
    const pool = new SlabPool(10);
    const a = new Uint8Array(4);
    const b = new Uint8Array(4);
    const c = new Uint8Array(5);
    pool.give(a);
    pool.give(b);
    pool.give(c); // a goes
    expect(pool.heldBytes()).toBe(9);
    expect(pool.take(4, 4)).toBe(b);
    expect(pool.take(4, 4)).toBeUndefined();
    expect(pool.take(5, 10)).toBe(c);
    expect(pool.heldBytes()).toBe(0);
    // Records a few bytes longer than the last ones still fit the buffers those left.
    const big = new SlabPool(64 * 1024 * 1024);
    const rng = seededRng(BASE_SEED);
    const m1 = new Memtable(1, 4 * 1024 * 1024, big);
    m1.add(1, Kind.VALUE, Uint8Array.of(9), rng.bytes(4_000_000));
    m1.unref();
    const m2 = new Memtable(2, 4 * 1024 * 1024, big);
    m2.add(2, Kind.VALUE, Uint8Array.of(1, 0), rng.bytes(4_000_100));
    expect(big.reused).toBe(1);
  });
});
