// A frame on a 3-node cluster (replication factor 2) stays readable and queryable with one node
// killed: listing, loading, count, filter + group-by from TypeScript and `df ls` / `df show` from
// the CLI, both right after the kill (before the coordinator marks the node down) and once the
// topology shows it down. Answers are checked against the frame kept in memory and against counts
// computed here by a plain loop over the generated values.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../cluster/index.js';
import { DataFrame, and, col, gt, isIn } from '../../dataframe/index.js';
import { TestCluster, eventually, runCli } from '../cluster/support/cluster-harness.js';
import { randomFrame, rowsOf, seededRng } from './helpers.js';

let cluster: TestCluster;
const clients: ClusterClient[] = [];

beforeAll(async () => {
  cluster = await TestCluster.start({ nodes: 3, partitions: 8, replicationFactor: 2 });
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.close();
  await cluster?.stop();
});

async function connect(urls: string[]): Promise<ClusterClient> {
  const c = await ClusterClient.connect(urls, { timeoutMs: 5000 });
  clients.push(c);
  return c;
}

const eau2 = (args: string[]) => runCli(args, 30_000);

describe('queries with one node of a replication-factor-2 cluster down', () => {
  it('list, load, count, filter and group-by from any replica that is up', async () => {
    const rng = seededRng();
    const rows = 3000;
    const df = randomFrame(rng, rows);
    // w=all: every chunk is on both replicas before the kill, so no acknowledged chunk is lost.
    const writer = await connect(cluster.nodes.map((n) => n.url));
    const w = await ClusterClient.connect(cluster.nodes[0]!.url, { w: 'all' });
    // A right side for a shuffle join: several rows per key, a key the left lacks, a null key.
    const rightKeys = ['red', 'blue', 'green', 'plum', null, 'red', 'blue', 'red'];
    try {
      await DataFrame.put(w, 'downf', df, { chunkRows: 100 });
      await DataFrame.put(w, 'downr', DataFrame.fromColumns({ k: { type: 'S', values: rightKeys } }), { chunkRows: 3 });
    } finally {
      await w.close();
    }
    const before = await DataFrame.get(writer, 'downf');
    expect(before.meta.nchunks).toBe(30);

    // The reference, computed by a plain loop over the generated values.
    const dVals = df.column('d').toArray() as (number | null)[];
    const kVals = df.column('k').toArray() as (string | null)[];
    let filtered = 0;
    let joined = 0;
    for (const k of kVals) if (k !== null) joined += rightKeys.filter((x) => x === k).length;
    for (let r = 0; r < rows; r++) {
      const d = dVals[r];
      const k = kVals[r];
      if (d !== null && d !== undefined && d > -3000 && (k === 'red' || k === 'blue')) filtered++; // a null key is not in the list (null)
    }
    const filter = and(gt(col('d'), -3000), isIn(col('k'), ['red', 'blue', null]));
    const spec = { d: ['sum', 'min', 'max', 'count'], i: 'mean', '*': 'count' } as const;
    const groups = rowsOf(await df.filter(filter).groupBy('k', 'b').agg(spec));

    await cluster.kill('n2');
    const check = async (client: ClusterClient): Promise<void> => {
      expect((await DataFrame.list(client)).map((f) => f.name)).toContain('downf');
      const lf = await DataFrame.get(client, 'downf');
      expect(rowsOf(await lf.load())).toEqual(rowsOf(df));
      expect(await lf.count()).toBe(rows);
      expect(await lf.filter(filter).count()).toBe(filtered);
      expect(rowsOf(await lf.filter(filter).groupBy('k', 'b').agg(spec))).toEqual(groups);
    };
    // Right after the kill: the topology still shows n2 up; its reads and tasks fail over.
    await check(writer);
    // A client that connects after the kill, through the nodes that are up.
    await check(await connect([cluster.node('n1').url, cluster.node('n3').url]));

    // Once the coordinator shows n2 down, n2 is not even tried.
    expect(
      await eventually(async () => {
        const r = await fetch(`${cluster.node('n1').url}/cluster`);
        const info = (await r.json()) as { nodes: { id: string; status: string }[] };
        return info.nodes.find((n) => n.id === 'n2')?.status === 'down';
      }, 20_000),
    ).toBe(true);
    const late = await connect([cluster.node('n1').url]);
    expect(late.topology.nodes.find((n) => n.id === 'n2')?.status).toBe('down');
    await check(late);

    // A shuffle join (forced by a tiny broadcast limit): scatters, bucket joins and the cleanup
    // of its pieces go around the node that is down.
    const lj = (await DataFrame.get(late, 'downf')).join(await DataFrame.get(late, 'downr'), {
      on: 'k',
      broadcastLimitBytes: 16,
      buckets: 4,
    });
    expect(lj.explain()).toMatch(/shuffle join/);
    expect(await lj.count()).toBe(joined);
    // No piece is left: scanned from any replica (n2's partitions have no leader to scan), until the
    // followers have applied the deletes too.
    const leftovers = async (): Promise<number> => {
      const it = late.scan({ gte: '\u0000df/t/', lt: '\u0000df/t0' }, { read: 'any' });
      let n = 0;
      try {
        for await (const _ of it) n++;
      } finally {
        await it.close();
      }
      return n;
    };
    expect(await eventually(async () => (await leftovers()) === 0, 10_000)).toBe(true);

    // The CLI through a node that is up.
    const ls = await eau2(['df', 'ls', '--url', cluster.node('n3').url]);
    expect(ls.stderr).toBe('');
    expect(ls.status).toBe(0);
    expect(ls.stdout).toContain('downf');
    const show = await eau2(['df', 'show', 'downf', '--url', cluster.node('n3').url]);
    expect(show.stderr).toBe('');
    expect(show.status).toBe(0);
    expect(show.stdout.length).toBeGreaterThan(0);
  }, 180_000);

  it('fails clearly when both replicas of a partition are down', async () => {
    await cluster.kill('n3'); // n2 is down already: partitions held only by n2 and n3 have no replica left
    const client = await connect([cluster.node('n1').url]);
    const lf = await DataFrame.get(client, 'downf').catch((e: unknown) => e);
    if (lf instanceof Error) {
      // The metadata's own partition has no replica left.
      expect((lf as { code?: string }).code).toBe('UNAVAILABLE');
      return;
    }
    await expect((lf as Awaited<ReturnType<typeof DataFrame.get>>).count()).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  }, 120_000);
});
