// A SQL statement planned from cached metadata has its frames' versions confirmed by the nodes that
// lead their metadata records, beside their share of the query (dataframe/query/tasks.ts
// VersionCheck), instead of by a read of each record from the client. A stand-in cluster of one node
// (a MemoryStore that runs tasks as a node does, through a msgpack round trip) whose node leads the
// records or not: either way every answer is the current version's, through seeded random replaces
// and deletes by another writer; the client reads a record only when no node could confirm it.

import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { DataFrame, QUERY_TASK, dataframeTasks } from '../../dataframe/index.js';
import { metaKey } from '../../dataframe/layout.js';
import { metaToPlain } from '../../dataframe/meta.js';
import { requireMeta } from '../../dataframe/storage.js';
import type { Value } from '../../dataframe/schema.js';
import { fromUtf8, keyBytes, type KeyLike, type KvStore, type ReadOptions } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { randomFrame, rowsOf, seededRng } from './helpers.js';

const wire = new Packr({ useRecords: false });

/** One node holding everything; `leads` says whether it leads the metadata records' partition. */
class OneNodeCluster extends MemoryStore {
  leads = true;
  metaReads = 0;
  readonly topology = { partitions: 1, placement: [{ leader: 'n1', followers: [] as string[] }] };

  override get(key: KeyLike, opts?: ReadOptions): Promise<Uint8Array | undefined> {
    if (fromUtf8(keyBytes(key)).startsWith(metaKey(''))) this.metaReads++;
    return super.get(key, opts);
  }

  async runTask(name: string, payload: unknown): Promise<unknown[]> {
    return [await this.runTaskOn('n1', name, payload)];
  }

  async runTaskOn(_node: string, name: string, payload: unknown): Promise<unknown> {
    const ctx = {
      // The node's own reads are not the client's.
      store: { get: (k: KeyLike, o?: ReadOptions) => super.get(k, o) } as KvStore,
      isLeaderFor: (key: KeyLike) => this.leads || !fromUtf8(keyBytes(key)).startsWith(metaKey('')),
      nodeId: 'n1',
      wholeStore: true,
    };
    return wire.unpack(wire.pack(await dataframeTasks[name]!(ctx, wire.unpack(wire.pack(payload)))));
  }
}

const GROUPED = 'SELECT k, count(*) AS n, sum(i) AS s FROM t WHERE k IS NOT NULL GROUP BY k ORDER BY k';

function grouped(df: DataFrame): Value[][] {
  const acc = new Map<string, [number, number | null]>();
  for (const r of df.rows()) {
    const key = r[4] as string | null;
    if (key === null) continue;
    const a = acc.get(key) ?? [0, null];
    a[0]++;
    if (r[0] !== null) a[1] = (a[1] ?? 0) + (r[0] as number);
    acc.set(key, a);
  }
  return [...acc.keys()].sort().map((key) => [key, ...acc.get(key)!]);
}

describe('version checks carried by the query tasks', () => {
  it('answers the current version through random replaces and deletes, reading records only when no node confirms', async () => {
    const rng = seededRng();
    const store = new OneNodeCluster();
    // The other writer: the same data, another store object, so the querying client's caches do not see it.
    const writer: KvStore = {
      get: (k, o) => MemoryStore.prototype.get.call(store, k, o),
      put: store.put.bind(store),
      del: store.del.bind(store),
      batch: store.batch.bind(store),
      scan: store.scan.bind(store),
    };
    let df: DataFrame | undefined;
    for (let step = 0; step < 40; step++) {
      store.leads = rng.bool(0.7);
      const op = rng.int(0, 4);
      if (op === 0 || !df) {
        df = randomFrame(rng, rng.int(0, 600));
        await DataFrame.put(writer, 't', df, { chunkRows: rng.int(20, 200) });
      } else if (op === 1 && rng.bool(0.3)) {
        expect(await DataFrame.delete(writer, 't')).toBe(true);
        await expect(DataFrame.sql(store, GROUPED), `step ${step}`).rejects.toThrow(/no frame named t/);
        df = undefined;
        continue;
      }
      expect(rowsOf(await DataFrame.sql(store, GROUPED)), `step ${step}`).toEqual(grouped(df));
      expect(rowsOf(await DataFrame.sql(store, GROUPED)), `step ${step}`).toEqual(grouped(df));
      // Warm: the node confirms the version it leads the record of; else the client reads the record.
      store.metaReads = 0;
      expect(rowsOf(await DataFrame.sql(store, GROUPED)), `step ${step}`).toEqual(grouped(df));
      expect(store.metaReads, `step ${step}, leads=${store.leads}`).toBe(store.leads ? 0 : 1);
    }
  });

  it('a node answers whether each version is the published one, null where it does not lead the record', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'a', DataFrame.fromColumns({ x: [1, 2, 3] }));
    const old = await requireMeta(store, 'a');
    await DataFrame.put(store, 'a', DataFrame.fromColumns({ x: [4, 5] }));
    const cur = await requireMeta(store, 'a');
    const run = (verify: unknown, leads = true): Promise<unknown> =>
      dataframeTasks[QUERY_TASK]!(
        { store, isLeaderFor: () => leads, nodeId: 'n1', wholeStore: true },
        { meta: metaToPlain(cur), plan: { aggs: [{ col: '*', fn: 'count', as: 'n' }] }, verify },
      );
    const verified = async (verify: unknown, leads = true): Promise<unknown> =>
      ((await run(verify, leads)) as { verified?: unknown }).verified;
    expect(
      await verified([
        ['a', cur.version],
        ['a', old.version],
        ['gone', cur.version],
      ]),
    ).toEqual([true, false, false]);
    // The same record again: confirmed from the bytes it last decoded, the same answers.
    expect(
      await verified([
        ['a', cur.version],
        ['a', old.version],
      ]),
    ).toEqual([true, false]);
    expect(await verified([['a', cur.version]], false)).toEqual([null]);
    expect(((await run(undefined)) as { verified?: unknown }).verified).toBeUndefined();
    for (const bad of [{}, [['a']], [['a', 7]], [['a/b', cur.version]], Array(9).fill(['a', cur.version])])
      await expect(run(bad), JSON.stringify(bad).slice(0, 30)).rejects.toMatchObject({ code: 'PROTOCOL' });
  });
});
