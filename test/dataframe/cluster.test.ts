// End to end on a real local cluster: three eau2 node processes (replication 2), reached through
// ClusterClient. Frames stored through the client are spread over every node, queries are pushed to
// the nodes as tasks and give the same answers as in memory, the Demo's three clients each use their
// own connection, and every node serves the /df HTTP routes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../cluster/index.js';
import { demo } from '../../app/apps/demo.js';
import { DataFrame, HOLDINGS_TASK, and, col, gt, isIn } from '../../dataframe/index.js';
import { metaToPlain } from '../../dataframe/meta.js';
import { LocalCluster } from '../../bench/dataframe/local-cluster.js';
import { randomFrame, rowsOf, seededRng } from './helpers.js';

let cluster: LocalCluster;
let urls: string[];

beforeAll(async () => {
  cluster = await LocalCluster.start(3, 2, 8);
  urls = cluster.urls;
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('dataframes on a 3-node cluster', () => {
  it('stores a frame spread evenly over every node and reads it back exactly', async () => {
    const df = randomFrame(seededRng(), 3000);
    await DataFrame.put(cluster.client, 'spread', df, { chunkRows: 100 });
    const lf = await DataFrame.get(cluster.client, 'spread');
    expect(rowsOf(await lf.load())).toEqual(rowsOf(df));
    const held = (await cluster.client.runTask(HOLDINGS_TASK, { meta: metaToPlain(lf.meta) })) as {
      nodeId: string;
      chunks: number[];
    }[];
    expect(held.map((h) => h.nodeId).sort()).toEqual(['n1', 'n2', 'n3']);
    expect(held.reduce((k, h) => k + h.chunks.length, 0)).toBe(30);
    // The writer read the client's topology and gave each leader an equal share (placement.ts).
    expect(lf.meta.slots).toHaveLength(30);
    for (const h of held) expect(h.chunks.length).toBe(10);
  });

  it('pushes queries to the nodes and matches the in-memory answer', async () => {
    const df = randomFrame(seededRng(), 4000);
    await DataFrame.put(cluster.client, 'q', df, { chunkRows: 128 });
    const lf = await DataFrame.get(cluster.client, 'q');
    const filter = and(gt(col('d'), -3000), isIn(col('k'), ['red', 'blue', null]));
    const spec = { d: ['sum', 'min', 'max', 'count'], i: 'mean', '*': 'count' } as const;
    expect(rowsOf(await lf.filter(filter).groupBy('k', 'b').agg(spec))).toEqual(
      rowsOf(await df.filter(filter).groupBy('k', 'b').agg(spec)),
    );
    expect(rowsOf(await lf.filter(filter).select('s', 'i').limit(50).collect())).toEqual(
      rowsOf(await df.filter(filter).select('s', 'i').limit(50).collect()),
    );
    expect(await lf.count()).toBe(4000);
  });

  it('runs the Demo with one client connection per role', async () => {
    const clients = await Promise.all([0, 1, 2].map((i) => ClusterClient.connect([urls[i]!])));
    try {
      const lines: string[] = [];
      const r = await demo(clients as [ClusterClient, ClusterClient, ClusterClient], {
        log: (l) => lines.push(l),
        n: 20_000,
      });
      expect(r.ok, r.summary).toBe(true);
      expect(lines).toContain('SUCCESS');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('serves /df routes on every node', async () => {
    await DataFrame.put(
      cluster.client,
      'web',
      DataFrame.fromColumns({ n: new Int32Array([1, 2, 3]), s: ['a', null, 'c'] }),
    );
    for (const u of urls) {
      const list = (await (await fetch(`${u}/df`)).json()) as { frames: { name: string }[] };
      expect(list.frames.map((f) => f.name)).toContain('web');
      const rows = (await (await fetch(`${u}/df/web/rows?offset=1&limit=5`)).json()) as { rows: unknown[][] };
      expect(rows.rows).toEqual([
        [2, null],
        [3, 'c'],
      ]);
      expect((await fetch(`${u}/df/nope`)).status).toBe(404);
    }
  });
});
