// Data blocks live in memory the block cache recycles (slot-arena.ts): once a block leaves the cache
// its slot may hold another block. These tests hold blocks, values and iterators across reads that
// recycle memory and check that nobody ever sees another block's bytes: table iterators fetch a
// released block again, and the engine hands out copies.

import { describe, expect, it } from 'vitest';
import { Kind, MAX_SEQUENCE } from '../../../engine/format/internal-key.js';
import { OBJECT_OVERHEAD } from '../../../engine/table/block.js';
import { BlockCache, ENTRY_OVERHEAD } from '../../../engine/table/block-cache.js';
import { GRAIN, MAX_SLOT, SlotArena } from '../../../engine/table/slot-arena.js';
import { TableReader } from '../../../engine/table/table-reader.js';
import type { InternalIterator } from '../../../engine/format/iterator.js';
import { Engine } from '../../../engine/index.js';
import { MemVfs } from '../../../engine/vfs/mem-vfs.js';
import { BytesFile, buildTable, hex, modelGet, modelSeek, randomEntries, rng, seeds } from './helpers.js';
import type { Entry } from './helpers.js';

describe('SlotArena', () => {
  it('hands out slots by size class and takes them back for reuse', () => {
    const arena = new SlotArena(1 << 20);
    const a = arena.acquire(4150)!;
    expect(a.length).toBe(Math.ceil(4150 / GRAIN) * GRAIN);
    const b = arena.acquire(100)!;
    expect(b.length).toBe(GRAIN);
    expect(a.buffer).toBe(b.buffer); // carved from one slab
    arena.release(a);
    const c = arena.acquire(4100)!;
    expect(c.byteOffset).toBe(a.byteOffset); // the same class: the freed slot
    expect(arena.stats()).toMatchObject({ reused: 1, freeBytes: 0 });
    expect(arena.acquire(MAX_SLOT + 1)).toBeUndefined();
    expect(arena.acquire(0)).toBeUndefined();
  });

  it('stops carving at its limit, then serves only free slots of the class or up to two larger', () => {
    const arena = new SlotArena(4 * GRAIN);
    const slots = [arena.acquire(GRAIN)!, arena.acquire(GRAIN)!, arena.acquire(2 * GRAIN)!];
    expect(arena.acquire(GRAIN)).toBeUndefined(); // 4 grains carved, no free slot
    arena.release(slots[2]!);
    const borrowed = arena.acquire(GRAIN)!; // a class-1 request takes the free class-2 slot
    expect(borrowed.length).toBe(2 * GRAIN);
    arena.release(borrowed);
    expect(arena.acquire(5 * GRAIN)).toBeUndefined(); // bigger than anything free, limit reached
    expect(arena.stats().refused).toBe(2);
  });
});

describe('BlockCache slots', () => {
  it('marks a slot-backed block released when it leaves, and gives its memory to the next read', () => {
    const { bytes } = buildTable(
      Array.from({ length: 200 }, (_, i) => ({
        key: Buffer.from(`k${String(i).padStart(4, '0')}`),
        seq: 1,
        kind: Kind.VALUE,
        value: new Uint8Array(40).fill(i),
      })),
      { blockSize: 256 },
    );
    // Every block is the same size (same key and value lengths): room for exactly two of them.
    const probe = TableReader.open(new BytesFile('t/000001.sst', bytes), 1, new BlockCache(1 << 20));
    const charge = probe.dataBlock(0, true).charge;
    expect(probe.dataBlock(1, true).charge).toBe(charge);
    const cache = new BlockCache(2 * (charge + ENTRY_OVERHEAD));
    const t = TableReader.open(new BytesFile('t/000001.sst', bytes), 1, cache);
    expect(t.blockCount).toBeGreaterThan(4);
    const b0 = t.dataBlock(0, true);
    const b1 = t.dataBlock(1, true);
    expect(b0.released || b1.released).toBe(false);
    const b2 = t.dataBlock(2, true); // evicts block 0
    expect(b0.released).toBe(true);
    expect(b2.data.buffer).toBe(b0.data.buffer);
    t.dataBlock(3, true); // reuses block 0's slot
    expect(cache.stats().slots.reused).toBeGreaterThanOrEqual(1);
    expect(t.dataBlock(0, true).released).toBe(false); // read again, into another slot
  });

  it('gives the slot back when the block read into it is corrupt', () => {
    const { bytes } = buildTable(
      Array.from({ length: 50 }, (_, i) => ({
        key: Buffer.from(`k${String(i).padStart(3, '0')}`),
        seq: 1,
        kind: Kind.VALUE,
        value: new Uint8Array(40),
      })),
      { blockSize: 256 },
    );
    const bad = bytes.slice();
    bad[10] = bad[10]! ^ 0xff; // inside data block 0
    const cache = new BlockCache(1 << 20);
    const t = TableReader.open(new BytesFile('t/000002.sst', bad), 2, cache);
    expect(() => t.dataBlock(0, true)).toThrow(/checksum/);
    expect(cache.stats()).toMatchObject({ entries: 0 });
    expect(cache.stats().slots.freeBytes).toBeGreaterThan(0);
  });
});

/** One line per position, compared as strings (expect() per field is slow). */
function at(it: InternalIterator): string {
  return it.valid() ? `${hex(it.key())}@${it.seq()}/${it.kind()}=${hex(it.value())}` : 'invalid';
}
function line(e: Entry | undefined): string {
  return e === undefined ? 'invalid' : `${hex(e.key)}@${e.seq}/${e.kind}=${hex(e.value)}`;
}

describe('table iterators over recycled memory', () => {
  it.each(seeds([1, 2, 3, 4]))(
    'iterators and gets on tables sharing a cache of a few blocks always see their own bytes (seed %i)',
    (seed) => {
      const rand = rng(seed);
      const cache = new BlockCache(4 * (2 * GRAIN + OBJECT_OVERHEAD + ENTRY_OVERHEAD));
      const tables = [0, 1].map((n) => {
        const entries = randomEntries(rand, 150 + Math.floor(rand() * 150));
        const { bytes } = buildTable(entries, { blockSize: 200 });
        const file = new BytesFile(`t/00000${n}.sst`, bytes);
        // Table 1 reads without readInto (allocated blocks), mixed in the same cache.
        const reader = TableReader.open(n === 0 ? file : file.withoutReadInto(), n, cache);
        return { entries, reader };
      });
      const iters = Array.from({ length: 4 }, () => {
        const t = Math.floor(rand() * 2);
        return { t, it: tables[t]!.reader.iterator(), pos: -1 };
      });
      const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
      for (let step = 0; step < 3000; step++) {
        const r = rand();
        const s = pick(iters);
        const { entries } = tables[s.t]!;
        if (r < 0.1) {
          const e = pick(entries);
          s.it.seek(e.key, MAX_SEQUENCE);
          s.pos = modelSeek(entries, e.key, MAX_SEQUENCE);
        } else if (r < 0.15) {
          s.it.seekToLast();
          s.pos = entries.length - 1;
        } else if (r < 0.2) {
          s.it.seekToFirst();
          s.pos = 0;
        } else if (r < 0.55) {
          if (s.it.valid()) {
            s.it.next();
            s.pos++;
          }
        } else if (r < 0.8) {
          if (s.it.valid()) {
            s.it.prev();
            s.pos--;
          }
        } else {
          const t = tables[Math.floor(rand() * 2)]!;
          const e = pick(t.entries);
          const got = t.reader.get(e.key, MAX_SEQUENCE);
          const want = modelGet(t.entries, e.key, MAX_SEQUENCE);
          const gotLine = got === undefined ? 'invalid' : `${got.seq}/${got.kind}=${hex(got.value)}`;
          const wantLine = want === undefined ? 'invalid' : `${want.seq}/${want.kind}=${hex(want.value)}`;
          if (gotLine !== wantLine)
            expect.fail(`seed ${seed} step ${step}: get ${hex(e.key)}: ${gotLine} != ${wantLine}`);
        }
        if (s.pos < 0 || s.pos >= entries.length) s.pos = -1;
        for (const x of iters) {
          const want = x.pos < 0 ? 'invalid' : line(tables[x.t]!.entries[x.pos]);
          const got = at(x.it);
          if (got !== want)
            expect.fail(`seed ${seed} step ${step}: iterator on table ${x.t} at ${x.pos}: ${got} != ${want}`);
        }
      }
      expect(cache.stats().slots.reused).toBeGreaterThan(100);
    },
  );
});

describe('the engine hands out copies', () => {
  const value = (k: number, v: number): Buffer => Buffer.alloc(120, `${k}:${v};`);
  const key = (k: number): string => `key${String(k).padStart(5, '0')}`;

  async function openSmall(): Promise<Engine> {
    return Engine.open('/db', {
      vfs: new MemVfs(),
      createIfMissing: true,
      blockSize: 256,
      blockCacheBytes: 16 * 1024,
      memtableBytes: 32 * 1024,
      compactionWorker: false,
    });
  }

  it("values from getSync stay as they were while later reads recycle the cache, and are the caller's to change", async () => {
    const db = await openSmall();
    const n = 2000;
    for (let k = 0; k < n; k++) await db.put(key(k), value(k, 1));
    await db.compactRange();
    const kept = new Map<number, Uint8Array>();
    const rand = rng(11);
    for (let i = 0; i < 500; i++) {
      const k = Math.floor(rand() * n);
      kept.set(k, db.getSync(key(k))!);
    }
    for (let i = 0; i < 5000; i++) db.getSync(key(Math.floor(rand() * n)));
    for (const [k, v] of kept) expect(Buffer.from(v).equals(value(k, 1))).toBe(true);
    const first = [...kept.keys()][0]!;
    kept.get(first)!.fill(0);
    expect(Buffer.from(db.getSync(key(first))!).equals(value(first, 1))).toBe(true);
    expect(db.stats().blockCache.slots.reused).toBeGreaterThan(0);
    await db.close();
  });

  it('a reverse scan at an old snapshot returns its values while passing newer versions in many blocks', async () => {
    const db = await openSmall();
    const keys = 40;
    for (let k = 0; k < keys; k++) await db.put(key(k), value(k, 0));
    const old = db.snapshot();
    const held = [];
    // 30 newer versions of every key, each kept by a snapshot, so that walking back over one key
    // crosses many blocks after its visible (oldest) version.
    for (let v = 1; v <= 30; v++) {
      for (let k = 0; k < keys; k++) await db.put(key(k), value(k, v));
      held.push(db.snapshot());
    }
    await db.compactRange();
    const it = db.iterator({ reverse: true, snapshot: old });
    let k = keys;
    for (let e = await it.next(); e !== undefined; e = await it.next()) {
      k--;
      expect(Buffer.from(e[0]).toString()).toBe(key(k));
      expect(Buffer.from(e[1]).equals(value(k, 0))).toBe(true);
    }
    expect(k).toBe(0);
    await it.close();
    old.release();
    for (const s of held) s.release();
    await db.close();
  });
});
