// A node's query task over its engine, as a cluster node runs it: chunks are read through the store's
// getWith with fillCache false (lent from the engine's reused buffer, not kept in the block cache)
// and decoded into arrays the cached column owns. So a column in the node's chunk cache must never
// share memory with what the engine reads next: here every query's answer is compared with the same
// query on a store without a cache, after other queries have read other chunks through the same buffer.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { afterAll, describe, expect, it } from 'vitest';
import { ChunkCache, DataFrame, and, col, dataframeTasks, eq, gt } from '../../dataframe/index.js';
import { Engine } from '../../engine/index.js';
import type { KvStore, TaskRunner } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { randomFrame, rowsOf, seededRng } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'eau2-node-cache-engine-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const wire = new Packr({ useRecords: false });

/** The engine as one node leading every partition: its tasks get `cache`, payloads cross msgpack. */
function node(engine: Engine, cache: ChunkCache, lentReads: { n: number }): KvStore & TaskRunner {
  const store: KvStore = {
    get: (k, o) => engine.get(k, o?.fillCache === undefined ? undefined : { fillCache: o.fillCache }),
    getWith: (k, use, o) => {
      if (o?.fillCache === false) lentReads.n++;
      return engine.getWith(k, use, o?.fillCache === undefined ? undefined : { fillCache: o.fillCache });
    },
    put: (k, v) => engine.put(k, v),
    del: (k) => engine.del(k),
    batch: (ops) => engine.batch(ops),
    scan: (r) => engine.scan(r),
  };
  return {
    ...store,
    runTask: async (name, payload) => {
      const ctx = { store, isLeaderFor: () => true, wholeStore: true, nodeId: 'n1', chunkCache: cache };
      return [wire.unpack(wire.pack(await dataframeTasks[name]!(ctx as never, wire.unpack(wire.pack(payload)))))];
    },
  };
}

type Lazy = Awaited<ReturnType<typeof DataFrame.get>>;
const grouped = async (lf: Lazy) =>
  rowsOf(
    await lf
      .filter(and(gt(col('d'), 0), eq(col('b'), true)))
      .groupBy('k')
      .agg({ i: 'sum', d: ['mean', 'max'], '*': 'count' }),
  );
const byWord = async (lf: Lazy) =>
  rowsOf(
    await lf
      .filter(gt(col('i'), -500))
      .groupBy('s')
      .agg({ d: ['min', 'sum'], '*': 'count' }),
  );

describe('a node query task over an engine', () => {
  it('reads chunks lent from the engine into columns of their own, and leaves the block cache alone', async () => {
    const engine = await Engine.open(join(root, 'db'), { memtableBytes: 256 * 1024 });
    try {
      const rng = seededRng();
      const df = randomFrame(rng, 60_000);
      // 12,000 rows a chunk: the double column's values are ~96 KB, a block of their own.
      await DataFrame.put(engine, 't', df, { chunkRows: 12_000 });
      await engine.compactRange();
      const plain = new MemoryStore();
      await DataFrame.put(plain, 't', df, { chunkRows: 12_000 });
      const want = [await grouped(await DataFrame.get(plain, 't')), await byWord(await DataFrame.get(plain, 't'))];

      const cache = new ChunkCache(64 * 1024 * 1024);
      const lent = { n: 0 };
      const store = node(engine, cache, lent);
      const blocks0 = engine.stats().blockCache.entries;
      const lf = await DataFrame.get(store, 't');
      expect(await grouped(lf)).toEqual(want[0]);
      expect(lent.n).toBe(5 * 4); // 5 row-chunks, 4 columns (i, d, b, k), each read once, lent
      // Only the metadata's block went into the block cache, no chunk's.
      expect(engine.stats().blockCache.entries - blocks0).toBeLessThanOrEqual(1);
      // Other chunks read through the same lend buffer (s is new; i, d are cached)...
      expect(await byWord(lf)).toEqual(want[1]);
      expect(lent.n).toBe(5 * 5);
      // ...and the first query, answered from the chunk cache alone, is unchanged.
      const hits = cache.hits;
      expect(await grouped(lf)).toEqual(want[0]);
      expect(cache.hits - hits).toBe(5 * 4);
      expect(lent.n).toBe(5 * 5);
    } finally {
      await engine.close();
    }
  });
});
