// Lent scans (LazyFrame.chunks({ lend: true })): the same chunks as an ordinary scan, decoded into a
// fixed set of recycled arrays (a chunk's arrays are refilled only once the consumer asks for the
// next one), never into views of the stored values, and never over a column the cache shares.

import { describe, expect, it } from 'vitest';
import { ArrayPool } from '../../dataframe/array-pool.js';
import { decodeChunk, encodeChunk } from '../../dataframe/chunk-codec.js';
import { columnFromValues } from '../../dataframe/column-builder.js';
import { DataFrame, type DataFrame as Frame } from '../../dataframe/index.js';
import { chunkKey } from '../../dataframe/layout.js';
import type { KeyLike } from '../../kv/index.js';
import { Engine } from '../../engine/index.js';
import { MemVfs } from '../../engine/vfs/mem-vfs.js';
import { MemoryStore } from '../support/memory-store.js';
import { FakeCluster } from './fake-cluster.js';
import { InstrumentedStore, randomFrame, rowsOf, seededRng } from './helpers.js';

/** Every ArrayBuffer under a chunk's columns (numbers, bools, dictionary indexes, null bitmaps). */
function buffersOf(df: Frame): ArrayBufferLike[] {
  const out: ArrayBufferLike[] = [];
  for (const name of df.columnNames) {
    const c = df.column(name);
    if (c.nulls) out.push(c.nulls.buffer);
    if (c.type === 'S') {
      if (c.dictionary) out.push(c.dictionary.codes.buffer);
    } else out.push(c.values.buffer);
  }
  return out;
}

/** Some columns of a frame, as a frame. */
function pick(df: Frame, names: readonly string[]): Frame {
  return DataFrame.fromColumns(Object.fromEntries(names.map((n) => [n, df.column(n)])));
}

describe('lent scans', () => {
  it('yield the same rows as an ordinary scan, at any concurrency, over any column subset', async () => {
    const rng = seededRng();
    const store = new FakeCluster();
    // 'k' is dictionary-encoded (4 values), 's' mostly plain; every column has nulls.
    const df = randomFrame(rng, 1000);
    await DataFrame.put(store, 'f', df, { chunkRows: 70 });
    for (const concurrency of [1, 3, 8]) {
      const lf = await DataFrame.get(store, 'f', { concurrency });
      const got: unknown[][] = [];
      for await (const c of lf.chunks({ lend: true })) got.push(...rowsOf(c));
      expect(got).toEqual(rowsOf(df));
      const some: unknown[][] = [];
      for await (const c of lf.chunks({ lend: true, columns: ['k', 'd'], from: 3, to: 9 })) some.push(...rowsOf(c));
      expect(some).toEqual(rowsOf(pick(df.slice(210, 630), ['k', 'd'])));
    }
    const rows: unknown[][] = [];
    for await (const r of await DataFrame.get(store, 'f')) rows.push(r);
    expect(rows).toEqual(rowsOf(df));
  });

  it('reuse a bounded set of arrays however long the scan, none refilled while its chunk is lent', async () => {
    const rng = seededRng();
    const store = new InstrumentedStore(new MemoryStore());
    const df = randomFrame(rng, 64 * 60);
    await DataFrame.put(store, 'f', df, { chunkRows: 64 });
    store.delayMs = 1; // reads stay in flight while the consumer holds a chunk
    const concurrency = 3;
    const lf = await DataFrame.get(store, 'f', { concurrency });
    const distinct = new Set<ArrayBufferLike>();
    let i = 0;
    for await (const c of lf.chunks({ lend: true, columns: ['i', 'd', 'b', 'k'] })) {
      const rows = rowsOf(c);
      expect(rows).toEqual(rowsOf(pick(df.slice(i * 64, (i + 1) * 64), ['i', 'd', 'b', 'k'])));
      for (const b of buffersOf(c)) distinct.add(b);
      // The prefetched chunks finish decoding meanwhile, and not into this one's arrays.
      await new Promise((r) => setTimeout(r, 4));
      expect(rowsOf(c)).toEqual(rows);
      i++;
    }
    expect(i).toBe(60);
    // Per column array (values or indexes, and null bitmap): at most concurrency + 1 buffers in all.
    const perChunk = buffersOf(await lf.chunk(0, ['i', 'd', 'b', 'k'])).length;
    expect(distinct.size).toBeLessThanOrEqual(perChunk * (concurrency + 1));
    expect(distinct.size).toBeGreaterThanOrEqual(perChunk);
  });

  it('borrow each stored value through getWith, keeping nothing of it once decoded', async () => {
    const rng = seededRng();
    const df = randomFrame(rng, 900);
    const store = new LendingStore();
    await DataFrame.put(store, 'f', df, { chunkRows: 64 });
    const lf = await DataFrame.get(store, 'f', { concurrency: 4 });
    const got: unknown[][] = [];
    for await (const c of lf.chunks({ lend: true })) got.push(...rowsOf(c));
    expect(got).toEqual(rowsOf(df));
    // Every chunk column was borrowed (and scribbled over once decoded), none taken for good.
    expect(store.lent).toBe(lf.nchunks * lf.ncols);
    // An ordinary scan may keep views of the values: it takes them for good (get), never borrows.
    store.lent = 0;
    expect(rowsOf(await lf.load())).toEqual(rowsOf(df));
    expect(store.lent).toBe(0);
  });

  it('on an engine, neither fill its block cache nor evict from it (fillCache: false), and read every value right', async () => {
    const rng = seededRng();
    const db = await Engine.open('/db', { vfs: new MemVfs(), memtableBytes: 64 * 1024 });
    try {
      const df = randomFrame(rng, 3000);
      await DataFrame.put(db, 'f', df, { chunkRows: 256 });
      await db.compactRange();
      const lf = await DataFrame.get(db, 'f', { concurrency: 3 });
      const cached = db.stats().blockCache; // the metadata's block
      const got: unknown[][] = [];
      for await (const c of lf.chunks({ lend: true })) got.push(...rowsOf(c));
      expect(got).toEqual(rowsOf(df));
      const after = db.stats().blockCache;
      expect(after.entries).toBe(cached.entries);
      expect(after.bytes).toBe(cached.bytes);
      expect(after.misses).toBeGreaterThan(cached.misses); // it did read the tables
      // Random access still caches, and so does a lent scan told to.
      expect(rowsOf(await lf.chunk(2))).toEqual(rowsOf(df.slice(512, 768)));
      expect(db.stats().blockCache.entries).toBeGreaterThan(cached.entries);
      const some = db.stats().blockCache.entries;
      const again: unknown[][] = [];
      for await (const c of lf.chunks({ lend: true, fillCache: true })) again.push(...rowsOf(c));
      expect(again).toEqual(rowsOf(df));
      expect(db.stats().blockCache.entries).toBeGreaterThan(some);
    } finally {
      await db.close();
    }
  });

  it('never recycle a column the cache holds', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    const df = randomFrame(rng, 640);
    await DataFrame.put(store, 'f', df, { chunkRows: 64 });
    const lf = await DataFrame.get(store, 'f', { concurrency: 2 });
    const cached = await lf.chunk(4);
    const before = rowsOf(cached);
    let n = 0;
    for await (const c of lf.chunks({ lend: true })) n += c.nrows;
    for await (const c of lf.chunks({ lend: true })) n += c.nrows;
    expect(n).toBe(1280);
    expect(rowsOf(cached)).toEqual(before);
    expect(rowsOf(await lf.chunk(4))).toEqual(rowsOf(df.slice(256, 320)));
  });

  it('stop reading when the consumer stops, and report damaged chunks as CORRUPTION', async () => {
    const store = new InstrumentedStore(new MemoryStore());
    const df = DataFrame.fromColumns({ x: new Float64Array(1000).map((_, i) => i) });
    const meta = await DataFrame.put(store, 'f', df, { chunkRows: 10 });
    const lf = await DataFrame.get(store, 'f', { concurrency: 4 });
    store.gets = 0;
    for await (const c of lf.chunks({ lend: true })) if (c.get('x', 0) === 20) break;
    expect(store.gets).toBeLessThanOrEqual(3 + 4);
    const key = chunkKey('f', meta.version, 7, 0);
    const v = (await store.get(key))!;
    v[v.length - 3]! ^= 0x40;
    await store.put(key, v);
    const scan = async (): Promise<void> => {
      for await (const _ of lf.chunks({ lend: true })) void _;
    };
    await expect(scan()).rejects.toMatchObject({ code: 'CORRUPTION' });
  });
});

describe('decoding into an arena', () => {
  it('copies every array into the arena, never a view of the stored value, and decodes the same values', () => {
    const rng = seededRng();
    const n = 300;
    const maybe = <T>(v: T): T | null => (rng.bool(0.2) ? null : v);
    const cols = [
      columnFromValues(
        'I',
        Array.from({ length: n }, () => maybe(rng.int(-1e9, 1e9))),
      ),
      columnFromValues(
        'D',
        Array.from({ length: n }, () => maybe(rng.next())),
      ),
      columnFromValues(
        'B',
        Array.from({ length: n }, () => maybe(rng.bool())),
      ),
      columnFromValues(
        'S',
        Array.from({ length: n }, () => maybe(rng.pick(['a', 'b', 'c']))),
      ),
      columnFromValues(
        'S',
        Array.from({ length: n }, (_, i) => maybe(`v${i % 300}`)),
      ),
      columnFromValues(
        'S',
        Array.from({ length: 70_000 }, (_, i) => `w${i % 20_000}`),
      ),
    ];
    for (const c of cols) {
      const enc = encodeChunk(c);
      // At an odd offset inside a larger buffer, as a reply frame would hold it.
      const host = new Uint8Array(enc.length + 5);
      host.set(enc, 3);
      const value = host.subarray(3, 3 + enc.length);
      const pool = new ArrayPool();
      const arena = pool.arena();
      const got = decodeChunk(value, 'k', c.type, c.length, arena);
      expect(got.toArray()).toEqual(c.toArray());
      const bufs: ArrayBufferLike[] = [];
      if (got.nulls) bufs.push(got.nulls.buffer);
      if (got.type === 'S') {
        if (got.dictionary) bufs.push(got.dictionary.codes.buffer);
      } else bufs.push(got.values.buffer);
      for (const b of bufs) {
        expect(b).not.toBe(host.buffer);
        expect(arena.taken).toContain(b);
      }
      // Given back and taken again, a buffer is overwritten completely: the next decode is exact too.
      pool.give(arena.taken);
      const again = pool.arena();
      const other = encodeChunk(columnFromValues(c.type, [...c].reverse()));
      expect(decodeChunk(other, 'k', c.type, c.length, again).toArray()).toEqual([...c].reverse());
    }
  });
});

/**
 * A store that lends values as a reusing store would: once `use` returns, the bytes it saw are
 * overwritten, so anything that kept a view of them reads garbage (or fails its checksum).
 */
class LendingStore extends MemoryStore {
  lent = 0;

  async getWith<T>(key: KeyLike, use: (value: Uint8Array) => T): Promise<T | undefined> {
    const v = await this.get(key);
    if (v === undefined) return undefined;
    this.lent++;
    try {
      return use(v);
    } finally {
      v.fill(0xa5);
    }
  }
}
