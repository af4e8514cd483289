// DataFrame.sql plans from a per-store cache of frames' metadata, and the nodes answer from their
// caches of decoded chunks whatever version they are asked for: neither may ever let a query answer
// from a version that was replaced or deleted before it began. On a real 3-node cluster, one client
// queries (its caches warm) while another replaces or drops the frames between its queries.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../cluster/index.js';
import { MsgType } from '../../cluster/protocol/messages.js';
import { fromUtf8, keyBytes, partitionOf } from '../../kv/index.js';
import { chunkKey, metaKey } from '../../dataframe/layout.js';
import { slotOf } from '../../dataframe/meta.js';
import { requireMeta } from '../../dataframe/storage.js';
import { DataFrame } from '../../dataframe/index.js';
import type { Value } from '../../dataframe/schema.js';
import { LocalCluster } from '../../bench/dataframe/local-cluster.js';
import { randomFrame, rowsOf, seededRng } from './helpers.js';
import type { Rng } from '../../app/apps/random.js';

let cluster: LocalCluster;
/** The client that writes: its replaces and drops are unknown to the querying client's cache. */
let writer: ClusterClient;

beforeAll(async () => {
  cluster = await LocalCluster.start(3, 2, 8);
  writer = await ClusterClient.connect(cluster.urls);
}, 120_000);

afterAll(async () => {
  await writer?.close();
  await cluster?.stop();
});

const GROUPED = 'SELECT k, count(*) AS n, sum(i) AS s FROM t WHERE k IS NOT NULL GROUP BY k ORDER BY k';

/** GROUPED's answer, computed from the frame's rows in plain code. */
function grouped(df: DataFrame): Value[][] {
  const k = df.fields.findIndex((f) => f.name === 'k');
  const i = df.fields.findIndex((f) => f.name === 'i');
  const acc = new Map<string, [number, number | null]>();
  for (const r of df.rows()) {
    const key = r[k] as string | null;
    if (key === null) continue;
    const a = acc.get(key) ?? [0, null];
    a[0]++;
    if (r[i] !== null) a[1] = (a[1] ?? 0) + (r[i] as number);
    acc.set(key, a);
  }
  return [...acc.keys()].sort().map((key) => [key, ...acc.get(key)!]);
}

const sql = async (text: string): Promise<Value[][]> => rowsOf(await DataFrame.sql(cluster.client, text));

function frame(rng: Rng): DataFrame {
  return randomFrame(rng, rng.int(800, 2000));
}

describe('cached metadata and node caches on a 3-node cluster', () => {
  it('answers from the new version after another client replaces the frame between queries', async () => {
    const rng = seededRng();
    let df = frame(rng);
    await DataFrame.put(writer, 't', df, { chunkRows: 100 });
    for (let round = 0; round < 4; round++) {
      // Twice each: the second runs with the client's metadata and the nodes' chunk caches warm.
      expect(await sql(GROUPED)).toEqual(grouped(df));
      expect(await sql(GROUPED)).toEqual(grouped(df));
      df = frame(rng);
      await DataFrame.put(writer, 't', df, { chunkRows: rng.int(50, 150) });
    }
    expect(await sql(GROUPED)).toEqual(grouped(df));
  });

  it('plans again from the new schema when the replacement has other columns', async () => {
    const rng = seededRng();
    const df = frame(rng);
    await DataFrame.put(writer, 't2', df, { chunkRows: 100 });
    const q = GROUPED.replace('FROM t ', 'FROM t2 ');
    expect(await sql(q)).toEqual(grouped(df));
    // i becomes a double column: the plan's types come from the new metadata.
    const n = 500;
    const k = Array.from({ length: n }, (_, j) => `k${j % 7}`);
    const i = Float64Array.from({ length: n }, (_, j) => j / 4);
    const doubles = DataFrame.fromColumns({ k, i });
    await DataFrame.put(writer, 't2', doubles, { chunkRows: 64 });
    expect(await sql(q)).toEqual(grouped(doubles));
    // Without column i the statement is wrong, and says so (not an answer from the cached schema).
    await DataFrame.put(writer, 't2', DataFrame.fromColumns({ k }), { chunkRows: 64 });
    await expect(sql(q)).rejects.toThrow(/no column named i/);
  });

  it('fails for a frame another client dropped between queries, and finds it again once stored', async () => {
    const rng = seededRng();
    const df = frame(rng);
    await DataFrame.put(writer, 't3', df, { chunkRows: 100 });
    const q = GROUPED.replace('FROM t ', 'FROM t3 ');
    expect(await sql(q)).toEqual(grouped(df));
    expect(await sql(q)).toEqual(grouped(df));
    expect(await DataFrame.delete(writer, 't3')).toBe(true);
    await expect(sql(q)).rejects.toThrow(/no frame named t3/);
    await expect(sql('SELECT count(*) FROM t3')).rejects.toThrow(/no frame named t3/);
    const again = frame(rng);
    await DataFrame.put(writer, 't3', again, { chunkRows: 100 });
    expect(await sql(q)).toEqual(grouped(again));
  });

  it("answers a broadcast join from the right side's new version", async () => {
    const rng = seededRng();
    const left = frame(rng);
    await DataFrame.put(writer, 'facts', left, { chunkRows: 100 });
    const keys = ['red', 'green', 'blue', 'cyan', 'black', 'white', 'pink'];
    const sides = (): DataFrame =>
      DataFrame.fromColumns({ code: keys, grp: keys.map(() => `g${rng.int(0, 3)}`) }, { schema: 'code:S,grp:S' });
    const q = 'SELECT r.grp, count(*) AS n FROM facts f JOIN codes r ON f.k = r.code GROUP BY r.grp ORDER BY r.grp';
    /** q's answer in plain code. */
    const want = (right: DataFrame): Value[][] => {
      const grp = new Map([...right.rows()].map((r) => [r[0] as string, r[1] as string]));
      const kcol = left.fields.findIndex((f) => f.name === 'k');
      const n = new Map<string, number>();
      for (const r of left.rows()) {
        const g = grp.get(r[kcol] as string);
        if (g !== undefined) n.set(g, (n.get(g) ?? 0) + 1);
      }
      return [...n.keys()].sort().map((g) => [g, n.get(g)!]);
    };
    for (let round = 0; round < 3; round++) {
      const right = sides();
      await DataFrame.put(writer, 'codes', right);
      expect(await sql(q)).toEqual(want(right));
      expect(await sql(q)).toEqual(want(right));
    }
    expect(await DataFrame.delete(writer, 'codes')).toBe(true);
    await expect(sql(q)).rejects.toThrow(/no frame named codes/);
  });

  it('a frame opened before it was replaced reads its own version, never the caches of it', async () => {
    const rng = seededRng();
    const df = frame(rng);
    await DataFrame.put(writer, 't4', df, { chunkRows: 100 });
    const sumOf = (f: DataFrame): number => [...f.rows()].reduce<number>((t, r) => t + ((r[0] as number) ?? 0), 0);
    const old = await DataFrame.get(cluster.client, 't4');
    expect(await old.sum('i')).toBe(sumOf(df));
    expect(await old.sum('i')).toBe(sumOf(df)); // the nodes' caches now hold its chunks of i
    const next = randomFrame(rng, df.nrows + 1);
    await DataFrame.put(writer, 't4', next, { chunkRows: 100 });
    // The put removed the old version's chunks: reading them fails, as it would with no cache.
    await expect(old.sum('i')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await (await DataFrame.get(cluster.client, 't4')).sum('i')).toBe(sumOf(next));
    await DataFrame.delete(writer, 't4');
    await expect(DataFrame.get(cluster.client, 't4')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('confirms cached versions through the query tasks, reading the record only where no task went', async () => {
    const rng = seededRng();
    const name = 't5';
    const q = GROUPED.replace('FROM t ', `FROM ${name} `);
    // Every GET the querying client sends for the frame's metadata record.
    const pool = (cluster.client as unknown as { pool: { request: (...a: unknown[]) => Promise<unknown> } }).pool;
    const request = pool.request;
    let metaReads = 0;
    pool.request = function (this: unknown, ...a: unknown[]) {
      const body = a[2] as { k?: Uint8Array } | undefined;
      if (a[1] === MsgType.GET && body?.k && fromUtf8(body.k) === metaKey(name)) metaReads++;
      return request.apply(this, a);
    };
    /** 0 when the node leading the metadata record's partition leads one of the frame's chunks, else 1. */
    const expectedReads = async (): Promise<number> => {
      const meta = await requireMeta(cluster.client, name);
      const topo = cluster.client.topology;
      const leaderOf = (key: string): string => topo.placement[partitionOf(keyBytes(key), topo.partitions)]!.leader;
      const taskNodes = new Set(
        Array.from({ length: meta.nchunks }, (_, i) => leaderOf(chunkKey(name, meta.version, slotOf(meta, i), 0))),
      );
      return taskNodes.has(leaderOf(metaKey(name))) ? 0 : 1;
    };
    let df: DataFrame | undefined;
    try {
      // Seeded random replaces (of several sizes, so of several chunk placements) and drops by the
      // other client, between queries whose caches are warm: every answer is the current version's.
      for (let step = 0; step < 16; step++) {
        const op = rng.int(0, 3);
        if (op === 0 || !df) {
          df = randomFrame(rng, rng.int(1, 1500));
          await DataFrame.put(writer, name, df, { chunkRows: rng.int(30, 400) });
        } else if (op === 1 && rng.bool(0.4)) {
          expect(await DataFrame.delete(writer, name)).toBe(true);
          await expect(sql(q), `step ${step}`).rejects.toThrow(/no frame named t5/);
          df = undefined;
          continue;
        }
        // The first query after a replace finds its cached version stale and runs again from the
        // record; the second reads the record into the cache; from the third on, the caches are warm.
        expect(await sql(q), `step ${step}`).toEqual(grouped(df));
        expect(await sql(q), `step ${step}`).toEqual(grouped(df));
        metaReads = 0;
        expect(await sql(q), `step ${step}`).toEqual(grouped(df));
        expect(metaReads, `step ${step}: reads of the metadata record`).toBe(await expectedReads());
      }
    } finally {
      pool.request = request;
    }
  });
});
