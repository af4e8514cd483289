// A node that stops answering without closing its connections (SIGSTOP: a hung process, a host
// gone quiet) costs a long-lived client's queries the peer connection's silence timeout (3 s) once,
// not on every query: the failed task makes the client fetch the topology again, so it learns the
// node is down and which replicas lead in its place. A node's POST /df/sql keeps such a client for a
// minute between queries, so without this every statement answered 3 s late while one node hung.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../cluster/index.js';
import { DataFrame } from '../../dataframe/index.js';
import { TestCluster, eventually, sleep } from '../cluster/support/cluster-harness.js';

let cluster: TestCluster;
const clients: ClusterClient[] = [];

beforeAll(async () => {
  cluster = await TestCluster.start({ nodes: 3, partitions: 8, replicationFactor: 2 });
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.close();
  await cluster?.stop(); // SIGKILL ends a stopped process too
});

describe('queries of a long-lived client with one node paused', () => {
  it('pay the silence timeout once, then go to the replicas that took over', async () => {
    const nodes = cluster.nodes;
    const client = await ClusterClient.connect(
      nodes.map((n) => n.url),
      { w: 'all' },
    );
    clients.push(client);
    const n = 4000;
    const df = DataFrame.fromColumns({ x: new Int32Array(n).map((_, i) => i) });
    // Enough row-chunks that each leader holds some, the paused node included.
    await DataFrame.put(client, 'paused', df, { chunkRows: 200 });
    const count = async (): Promise<number> =>
      Number((await DataFrame.sql(client, 'SELECT count(*) AS n FROM paused')).get('n', 0));
    expect(await count()).toBe(n);

    const victim = 'n3';
    expect(client.topology.placement.some((p) => p.leader === victim)).toBe(true);
    cluster.procs.get(victim)!.kill('SIGSTOP');
    // The others fail the paused node's partitions over to themselves.
    const other = await ClusterClient.connect(nodes[0]!.url);
    clients.push(other);
    expect(
      await eventually(async () => {
        await other.refresh();
        return other.topology.placement.every((p) => p.leader !== victim);
      }, 30_000),
    ).toBe(true);

    // Requests the client sends the paused node, by type (0x40: a dataframe task).
    const sent: number[] = [];
    const pool = (client as unknown as { pool: { request: (node: string, type: number) => Promise<unknown> } }).pool;
    const send = pool.request.bind(pool);
    pool.request = (node, type, ...rest: unknown[]) => {
      if (node === victim) sent.push(type);
      return (send as (...a: unknown[]) => Promise<unknown>)(node, type, ...rest);
    };
    // The first query finds the paused node silent (a task to it waits out the silence timeout), and
    // places its chunks on the other replicas.
    expect(await count()).toBe(n);
    expect(sent).toContain(0x40);
    // Past the client's 2 s suspicion of the node: only the topology, refreshed after that failure,
    // now keeps the queries off it, and none waits for it.
    await sleep(2500);
    sent.length = 0;
    for (let i = 0; i < 2; i++) expect(await count()).toBe(n);
    expect(sent).toEqual([]);
    expect(client.topology.placement.every((p) => p.leader !== victim)).toBe(true);
  }, 90_000);
});
