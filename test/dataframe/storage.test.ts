// Storing frames on a KvStore: round trips, lazy reads through a byte-bounded cache, the key layout
// (hash tags per row-chunk, spread over partitions), and bad input refused with clear errors.

import { describe, expect, it } from 'vitest';
import { DataFrame, chunkHashTag, type LazyFrame } from '../../dataframe/index.js';
import { chunkKey, metaKey, parseChunkKey } from '../../dataframe/layout.js';
import { fromUtf8 } from '../../kv/index.js';
import { isEau2Error } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { InstrumentedStore, randomFrame, rowsOf, seededRng } from './helpers.js';
import { hashKey, partitionOf } from './fake-cluster.js';

async function allKeys(store: MemoryStore): Promise<string[]> {
  const out: string[] = [];
  for await (const [k] of store.scan()) out.push(fromUtf8(k));
  return out;
}

describe('DataFrame.put / get', () => {
  it('round-trips a frame with nulls across chunk boundaries', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    const df = randomFrame(rng, 1000);
    const meta = await DataFrame.put(store, 'f', df, { chunkRows: 64 });
    expect(meta.nchunks).toBe(16);
    const lf = await DataFrame.get(store, 'f');
    expect(lf.schema).toBe('IDBSS');
    expect(lf.nrows).toBe(1000);
    expect(lf.columnNames).toEqual(df.columnNames);
    expect(rowsOf(await lf.load())).toEqual(rowsOf(df));
    const streamed: unknown[] = [];
    for await (const row of lf) streamed.push(row);
    expect(streamed).toEqual(rowsOf(df));
    for (const r of [0, 63, 64, 999]) expect(await lf.get('s', r)).toEqual(df.get('s', r));
    expect(rowsOf(await lf.slice(60, 10))).toEqual(rowsOf(df.slice(60, 70)));
    expect(rowsOf(await lf.slice(990, 100))).toEqual(rowsOf(df.slice(990)));
    expect((await lf.slice(5000, 3)).nrows).toBe(0);
  });

  it('stores an empty frame', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'e', DataFrame.fromColumns({ a: { type: 'I', values: [] } }));
    const lf = await DataFrame.get(store, 'e');
    expect(lf.nrows).toBe(0);
    expect(lf.nchunks).toBe(0);
    expect((await lf.load()).nrows).toBe(0);
  });

  it('is lazy: opening reads only metadata, touching a cell reads one chunk of one column', async () => {
    const store = new InstrumentedStore(new MemoryStore());
    await DataFrame.put(store, 'f', randomFrame(seededRng(), 500), { chunkRows: 100 });
    store.gets = 0;
    const lf = await DataFrame.get(store, 'f');
    expect(store.gets).toBe(1);
    await lf.get('d', 250);
    await lf.get('d', 260); // same chunk: cached
    expect(store.gets).toBe(2);
  });

  it('bounds the chunk cache in bytes, evicting the least recently used chunk', async () => {
    const store = new InstrumentedStore(new MemoryStore());
    const n = 4096;
    await DataFrame.put(store, 'f', DataFrame.fromColumns({ x: new Float64Array(n).map((_, i) => i) }), {
      chunkRows: 1024,
    });
    const lf = await DataFrame.get(store, 'f', { cacheBytes: 2 * 1024 * 8 + 500 }); // room for two chunks
    for (const r of [0, 1024, 2048]) await lf.get('x', r);
    expect(lf.cache.size).toBe(2);
    expect(lf.cache.bytes).toBeLessThanOrEqual(2 * 1024 * 8 + 500);
    store.gets = 0;
    await lf.get('x', 2048); // still cached
    expect(store.gets).toBe(0);
    await lf.get('x', 0); // evicted first
    expect(store.gets).toBe(1);
  });

  it('scans without filling the cache', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'f', randomFrame(seededRng(), 300), { chunkRows: 50 });
    const lf = await DataFrame.get(store, 'f');
    let n = 0;
    for await (const c of lf.chunks()) n += c.nrows;
    expect(n).toBe(300);
    expect(lf.cache.size).toBe(0);
  });

  it('moves chunks in parallel but never more than the concurrency limit', async () => {
    const store = new InstrumentedStore(new MemoryStore());
    store.delayMs = 2;
    const df = DataFrame.fromColumns({ x: new Float64Array(2000) });
    await DataFrame.put(store, 'f', df, { chunkRows: 50, concurrency: 3 });
    expect(store.maxInflight).toBeGreaterThan(1);
    expect(store.maxInflight).toBeLessThanOrEqual(3);
    store.maxInflight = 0;
    const lf = await DataFrame.get(store, 'f', { concurrency: 4 });
    let k = 0;
    for await (const c of lf.chunks()) k += c.nrows;
    expect(k).toBe(2000);
    expect(store.maxInflight).toBeGreaterThan(1);
    expect(store.maxInflight).toBeLessThanOrEqual(4);
  });
});

describe('key layout', () => {
  it('gives all columns of a row-chunk one hash tag and spreads row-chunks over partitions', async () => {
    const store = new MemoryStore();
    const meta = await DataFrame.put(store, 'spread', randomFrame(seededRng(), 64 * 40), { chunkRows: 64 });
    const chunkKeys = (await allKeys(store)).filter((k) => k.startsWith('\u0000df/c/'));
    expect(chunkKeys.length).toBe(40 * 5);
    const partitionsByChunk = new Map<number, Set<number>>();
    for (const k of chunkKeys) {
      const p = parseChunkKey(k)!;
      expect(p.version).toBe(meta.version);
      expect(hashKey(k)).toBe(chunkHashTag('spread', meta.version, p.chunk));
      const set = partitionsByChunk.get(p.chunk) ?? new Set<number>();
      set.add(partitionOf(k, 16));
      partitionsByChunk.set(p.chunk, set);
    }
    for (const set of partitionsByChunk.values()) expect(set.size).toBe(1);
    const used = new Set([...partitionsByChunk.values()].map((s) => [...s][0]));
    // 40 chunks hashed onto 16 partitions: all but a few partitions should be used.
    expect(used.size).toBeGreaterThanOrEqual(12);
  });

  it('keeps keys of one version in chunk order', () => {
    const v = '0000000001-abcdef01';
    const keys = [0, 1, 15, 16, 255, 4096].map((c) => chunkKey('f', v, c, 0));
    expect([...keys].sort()).toEqual(keys);
  });
});

describe('listing and deleting', () => {
  it('lists frames with their schema and sizes, and deletes every key of a frame', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'a', DataFrame.fromColumns({ x: [1, 2, 3] }));
    await DataFrame.put(store, 'b', DataFrame.fromColumns({ s: ['p'], n: new Int32Array([1]) }));
    const list = await DataFrame.list(store);
    expect(list.map((f) => [f.name, f.schema, f.nrows, f.ncols])).toEqual([
      ['a', 'D', 3, 1],
      ['b', 'SI', 1, 2],
    ]);
    expect(await DataFrame.delete(store, 'a')).toBe(true);
    expect(await DataFrame.delete(store, 'a')).toBe(false);
    expect((await DataFrame.list(store)).map((f) => f.name)).toEqual(['b']);
    expect((await allKeys(store)).some((k) => k.includes('{a/') || k === metaKey('a'))).toBe(false);
  });
});

describe('bad input', () => {
  it('reports a missing frame as NOT_FOUND', async () => {
    const err = await DataFrame.get(new MemoryStore(), 'nope').catch((e: unknown) => e);
    expect(isEau2Error(err, 'NOT_FOUND')).toBe(true);
    expect(String(err)).toMatch(/no dataframe named "nope"/);
  });

  it('rejects names that would break the key layout', async () => {
    for (const bad of ['', 'a/b', 'x{y}', 'tab\there', 'z'.repeat(201)]) {
      await expect(DataFrame.put(new MemoryStore(), bad, DataFrame.fromColumns({ a: [1] }))).rejects.toThrow(TypeError);
    }
  });

  it('reports a damaged chunk as CORRUPTION, never as data', async () => {
    const store = new MemoryStore();
    const meta = await DataFrame.put(store, 'f', DataFrame.fromColumns({ x: new Float64Array([1, 2, 3]) }));
    const key = chunkKey('f', meta.version, 0, 0);
    const v = (await store.get(key))!;
    v[v.length - 1]! ^= 1;
    await store.put(key, v);
    const lf = await DataFrame.get(store, 'f');
    const err = await lf.get('x', 2).catch((e: unknown) => e);
    expect(isEau2Error(err, 'CORRUPTION')).toBe(true);
    expect(String(err)).toContain(key);
    await expect(lf.sum('x')).rejects.toMatchObject({ code: 'CORRUPTION' });
  });

  it('reports a chunk missing from a published frame as CORRUPTION', async () => {
    const store = new MemoryStore();
    const meta = await DataFrame.put(store, 'f', DataFrame.fromColumns({ x: new Float64Array(10) }), { chunkRows: 4 });
    await store.del(chunkKey('f', meta.version, 1, 0));
    const lf: LazyFrame = await DataFrame.get(store, 'f');
    await expect(lf.load()).rejects.toMatchObject({ code: 'CORRUPTION' });
  });

  it('reports damaged metadata as CORRUPTION', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'f', DataFrame.fromColumns({ x: [1] }));
    await store.put(metaKey('f'), 'garbage');
    await expect(DataFrame.get(store, 'f')).rejects.toMatchObject({ code: 'CORRUPTION' });
    await expect(DataFrame.list(store)).rejects.toMatchObject({ code: 'CORRUPTION' });
  });
});
