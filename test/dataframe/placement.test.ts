// Row-chunk placement: on a store that shows its topology, a writer gives every partition leader an
// equal share of row-chunks (the slowest node sets a query's time), records each row-chunk's key slot
// in the metadata, and everything that finds chunks (reads, queries, deletion) follows the slots.
// A store without a topology keeps row-chunk i at slot i and writes version 1 metadata.

import { describe, expect, it } from 'vitest';
import { partitionOf as clusterPartitionOf } from '../../kv/index.js';
import { DataFrame, HOLDINGS_TASK, col, gt } from '../../dataframe/index.js';
import { chunkHashTag, chunkKey, makeVersion, metaKey, parseChunkKey } from '../../dataframe/layout.js';
import { metaToPlain, slotOf } from '../../dataframe/meta.js';
import { SlotPlanner, partitionOfTag } from '../../dataframe/placement.js';
import { partitionLeadersOf, type PartitionLeaders } from '../../kv/index.js';
import { fromUtf8 } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { FakeCluster } from './fake-cluster.js';
import { randomFrame, rowsOf, seededRng } from './helpers.js';

function leaders(partitions: number, nodes: number): PartitionLeaders {
  return { partitions, placement: Array.from({ length: partitions }, (_, p) => ({ leader: `n${p % nodes}` })) };
}

async function heldCounts(store: FakeCluster, name: string): Promise<number[]> {
  const lf = await DataFrame.get(store, name);
  const held = (await store.runTask(HOLDINGS_TASK, { meta: metaToPlain(lf.meta) })) as {
    nodeId: string;
    chunks: number[];
  }[];
  return held.sort((a, b) => a.nodeId.localeCompare(b.nodeId)).map((h) => h.chunks.length);
}

async function keysOf(store: FakeCluster): Promise<string[]> {
  const out = new Set<string>();
  for (const n of store.nodes) for await (const [k] of n.scan()) out.add(fromUtf8(k));
  return [...out];
}

describe('row-chunk placement', () => {
  it('hashes a tag to the partition the cluster computes', () => {
    const rng = seededRng();
    for (let i = 0; i < 200; i++) {
      const tag = chunkHashTag(`f${rng.word(rng.int(1, 8))}`, makeVersion(rng.int(1, 1000)), rng.int(0, 1e6));
      for (const p of [1, 7, 16, 1024])
        expect(partitionOfTag(tag, p)).toBe(clusterPartitionOf(`\u0000df/c/{${tag}}/0000`, p));
    }
  });

  it('hands out distinct slots, leader by leader in turn, for any leader layout', () => {
    const rng = seededRng();
    for (const [partitions, nodes] of [
      [16, 3],
      [8, 3],
      [7, 5],
      [1, 1],
      [64, 4],
    ] as const) {
      const map = leaders(partitions, nodes);
      const version = makeVersion(rng.int(1, 1000));
      const planner = new SlotPlanner('f', version, map);
      const seen = new Set<number>();
      for (let i = 0; i < 300; i++) {
        const s = planner.next();
        expect(seen.has(s)).toBe(false);
        seen.add(s);
        expect(map.placement[partitionOfTag(chunkHashTag('f', version, s), partitions)]!.leader).toBe(`n${i % nodes}`);
      }
    }
  });

  it('gives every leader an equal share of row-chunks and reads, queries and deletes through the slots', async () => {
    const rng = seededRng();
    for (const [nodes, partitions, nrows] of [
      [3, 16, 3000],
      [3, 8, 2980],
      [5, 7, 4000],
    ] as const) {
      const store = new FakeCluster(nodes, partitions, 2);
      const df = randomFrame(rng, nrows);
      const meta = await DataFrame.put(store, 'f', df, { chunkRows: 20 });
      expect(meta.slots).toHaveLength(meta.nchunks);
      const counts = await heldCounts(store, 'f');
      expect(counts.reduce((a, b) => a + b, 0)).toBe(meta.nchunks);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);

      const lf = await DataFrame.get(store, 'f');
      expect(lf.meta.slots).toEqual(meta.slots);
      expect(rowsOf(await lf.load())).toEqual(rowsOf(df));
      expect(rowsOf(await lf.slice(777, 50))).toEqual(rowsOf(df.slice(777, 827)));
      const q = { d: ['sum', 'min'], '*': 'count' } as const;
      expect(
        rowsOf(
          await lf
            .filter(gt(col('i'), 0))
            .groupBy('k')
            .agg(q),
        ),
      ).toEqual(
        rowsOf(
          await df
            .filter(gt(col('i'), 0))
            .groupBy('k')
            .agg(q),
        ),
      );

      // A second version replaces the first; deleting the frame then leaves no key at all.
      await DataFrame.put(store, 'f', df.slice(0, 1000), { chunkRows: 20 });
      const chunkKeys = (await keysOf(store)).filter((k) => k.startsWith('\u0000df/c/'));
      expect(new Set(chunkKeys.map((k) => parseChunkKey(k)!.version)).size).toBe(1);
      expect(chunkKeys).toHaveLength(50 * 5);
      await DataFrame.delete(store, 'f');
      expect(await keysOf(store)).toEqual([]);
    }
  });

  it('keeps row-chunk i at slot i, with version 1 metadata, on a store that shows no topology', async () => {
    const rng = seededRng();
    const store = new FakeCluster();
    store.showTopology = false;
    expect(partitionLeadersOf(store)).toBeUndefined();
    expect(partitionLeadersOf(new MemoryStore())).toBeUndefined();
    const df = randomFrame(rng, 500);
    const meta = await DataFrame.put(store, 'f', df, { chunkRows: 50 });
    expect(meta.slots).toBeUndefined();
    expect((await store.get(metaKey('f')))![3]).toBe(1);
    for (let i = 0; i < meta.nchunks; i++) {
      expect(slotOf(meta, i)).toBe(i);
      expect(await store.get(chunkKey('f', meta.version, i, 0))).toBeDefined();
    }
    expect(rowsOf(await (await DataFrame.get(store, 'f')).load())).toEqual(rowsOf(df));
  });

  it('writes the placed row-chunks under their slots, and the metadata as version 2', async () => {
    const rng = seededRng();
    const store = new FakeCluster();
    const meta = await DataFrame.put(store, 'f', randomFrame(rng, 400), { chunkRows: 40 });
    expect((await store.get(metaKey('f')))![3]).toBe(2);
    const slots = new Set(meta.slots);
    const stored = (await keysOf(store)).filter((k) => k.startsWith('\u0000df/c/')).map((k) => parseChunkKey(k)!.chunk);
    expect(new Set(stored)).toEqual(slots);
    for (let i = 0; i < meta.nchunks; i++)
      expect(store.leaderOf(chunkKey('f', meta.version, slotOf(meta, i), 0))).toBe(i % 3);
  });
});
