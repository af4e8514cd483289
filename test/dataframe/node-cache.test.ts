// The node-side cache of decoded chunks (DataframeTaskContext.chunkCache, given by a node's dataframe hook): a
// repeated query is answered from it with the same result and without reading the chunks again; it
// stays within its byte budget; and a query on a version that is no longer published does not use
// it (the client finds the version replaced and sends the query again, cache off), so it fails
// exactly as it would without a cache.

import { describe, expect, it } from 'vitest';
import { ChunkCache, DataFrame, QUERY_TASK, and, col, dataframeTasks, eq, gt } from '../../dataframe/index.js';
import { metaToPlain } from '../../dataframe/meta.js';
import { FakeCluster } from './fake-cluster.js';
import { randomFrame, rowsOf, seededRng } from './helpers.js';

const chunkGets = (c: FakeCluster): number => c.nodes.reduce((t, n) => t + n.stats.gets, 0);

async function grouped(lf: Awaited<ReturnType<typeof DataFrame.get>>): Promise<unknown[][]> {
  const q = lf.filter(and(gt(col('d'), 0), eq(col('b'), true))).groupBy('k');
  return rowsOf(await q.agg({ i: 'sum', d: ['mean', 'max'], '*': 'count' }));
}

describe('node chunk cache', () => {
  it('answers a repeated query from the cache with the same result', async () => {
    const caches = [0, 1, 2].map(() => new ChunkCache(64 * 1024 * 1024));
    const cluster = new FakeCluster(3, 16, 2, caches);
    const plain = new FakeCluster(3, 16, 2);
    const df = randomFrame(seededRng(), 3000);
    await DataFrame.put(cluster, 't', df, { chunkRows: 100 });
    await DataFrame.put(plain, 't', df, { chunkRows: 100 });
    const want = await grouped(await DataFrame.get(plain, 't'));

    const lf = await DataFrame.get(cluster, 't');
    expect(await grouped(lf)).toEqual(want);
    const filled = caches.reduce((t, c) => t + c.size, 0);
    expect(filled).toBe(30 * 4); // 30 row-chunks, 4 columns read (i, d, b, k), each cached once
    const gets = chunkGets(cluster);
    expect(await grouped(lf)).toEqual(want);
    // Only the client's check of the version read a store the second time.
    expect(chunkGets(cluster) - gets).toBeLessThanOrEqual(1);
    expect(caches.reduce((t, c) => t + c.hits, 0)).toBe(30 * 4);
  });

  it('stays within its byte budget', async () => {
    const caches = [0, 1, 2].map(() => new ChunkCache(20_000));
    const cluster = new FakeCluster(3, 16, 2, caches);
    const df = randomFrame(seededRng(), 3000);
    await DataFrame.put(cluster, 't', df, { chunkRows: 100 });
    const lf = await DataFrame.get(cluster, 't');
    const first = await grouped(lf);
    expect(await grouped(lf)).toEqual(first);
    for (const c of caches) expect(c.bytes).toBeLessThanOrEqual(20_000);
  });

  it('is not used for a version that was replaced: the old reader still gets NOT_FOUND', async () => {
    const caches = [0, 1, 2].map(() => new ChunkCache(64 * 1024 * 1024));
    const cluster = new FakeCluster(3, 16, 2, caches);
    const rng = seededRng();
    await DataFrame.put(cluster, 't', randomFrame(rng, 1000), { chunkRows: 100 });
    const old = await DataFrame.get(cluster, 't');
    await grouped(old); // fills the caches with the old version's chunks
    const df2 = randomFrame(rng, 500);
    await DataFrame.put(cluster, 't', df2, { chunkRows: 100 });
    await expect(grouped(old)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const cur = await DataFrame.get(cluster, 't');
    expect(await cur.count()).toBe(500);
    expect(await grouped(cur)).toEqual(await grouped(await DataFrame.get(cluster, 't')));
  });
});

describe('what a repeated query reads', () => {
  it('a repeated SQL join reads the two metadata records and no chunk of either frame', async () => {
    const caches = [0, 1, 2].map(() => new ChunkCache(64 * 1024 * 1024));
    const cluster = new FakeCluster(3, 16, 2, caches);
    const df = randomFrame(seededRng(), 3000);
    await DataFrame.put(cluster, 'facts', df, { chunkRows: 100 });
    const keys = ['red', 'green', 'blue', 'cyan', 'black'];
    const codes = DataFrame.fromColumns({ code: keys, grp: keys.map((k) => k.length % 3) });
    await DataFrame.put(cluster, 'codes', codes);
    const q = 'SELECT r.grp, count(*) AS n FROM facts f JOIN codes r ON f.k = r.code GROUP BY r.grp ORDER BY r.grp';
    const grp = new Map(keys.map((k) => [k, k.length % 3]));
    const counts = new Map<number, number>();
    for (const r of df.rows()) {
      const g = grp.get(r[4] as string);
      if (g !== undefined) counts.set(g, (counts.get(g) ?? 0) + 1);
    }
    const want = [...counts.keys()].sort((a, b) => a - b).map((g) => [g, counts.get(g)!]);
    expect(rowsOf(await DataFrame.sql(cluster, q))).toEqual(want);
    const gets = chunkGets(cluster);
    expect(rowsOf(await DataFrame.sql(cluster, q))).toEqual(want);
    // One check of each frame's version; the metadata, the right side and the left chunks are cached.
    expect(chunkGets(cluster) - gets).toBe(2);
  });

  it('refuses a task payload whose cache flag is not a boolean', async () => {
    const cluster = new FakeCluster(3, 16, 2);
    await DataFrame.put(cluster, 't', randomFrame(seededRng(), 100));
    const lf = await DataFrame.get(cluster, 't');
    const task = dataframeTasks[QUERY_TASK]!;
    const ctx = { store: cluster, isLeaderFor: () => true, nodeId: 'x', wholeStore: true };
    const payload = { meta: metaToPlain(lf.meta), plan: { aggs: [{ col: '*', fn: 'count', as: 'n' }] } };
    await expect(task(ctx, { ...payload, cache: 'no' })).rejects.toMatchObject({ code: 'PROTOCOL' });
    expect(await task(ctx, { ...payload, cache: false })).toMatchObject({ groups: [[[], [100]]] });
  });
});
