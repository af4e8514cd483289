// A 3-node cluster (replication factor 2) with one node killed and never replaced: its failover
// timeout is longer than the test, so the dead node stays the leader of its partitions and is shown
// up. This is the window between a node's death and its failover, held open: everything an analyst
// or an operator does must be answered from the followers, exactly as with every node up, and
// nothing may wait for a failover that does not come (the clients retry for 2 s at most, the CLI and
// a node's POST /df/sql for their default 15 s). Answers are compared with the same statements' answers
// before the kill. Results are paged (1 MiB frames).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../cluster/index.js';
import { DataFrame, type Value } from '../../dataframe/index.js';
import { TestCluster, eventually, runCli } from '../cluster/support/cluster-harness.js';
import { rowsOf, seededRng } from './helpers.js';

let cluster: TestCluster;
const clients: ClusterClient[] = [];
const LIMIT = 1024 * 1024;

beforeAll(async () => {
  cluster = await TestCluster.start({
    nodes: 3,
    partitions: 8,
    replicationFactor: 2,
    extra: { maxFrameBytes: LIMIT, failoverTimeoutMs: 600_000 },
  });
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.close();
  await cluster?.stop();
});

async function connect(urls: string[], opts: { w?: 'all' } = {}): Promise<ClusterClient> {
  const c = await ClusterClient.connect(urls, { maxFrameBytes: LIMIT, retryMs: 2000, ...opts });
  clients.push(c);
  return c;
}

const eau2 = (args: string[]) => runCli(args, 60_000);

async function postSql(
  node: string,
  sql: string,
): Promise<{ status: number; body: { rows?: Value[][]; message?: string } }> {
  const res = await fetch(`${cluster.node(node).url}/df/sql`, { method: 'POST', body: JSON.stringify({ sql }) });
  return { status: res.status, body: (await res.json()) as { rows?: Value[][]; message?: string } };
}

/** Rows ordered by their first (numeric) cell: a shuffle join's groups come in no defined order. */
const byFirst = (rows: Value[][]): Value[][] => rows.sort((a, b) => (a[0] as number) - (b[0] as number));

const QUERIES = [
  'SELECT * FROM big',
  'SELECT id, s FROM big WHERE id % 7 = 3',
  'SELECT id, g FROM big ORDER BY s DESC, id LIMIT 20000',
  'SELECT g, count(*) AS c, sum(id) AS t, min(s) AS lo FROM big GROUP BY g ORDER BY g',
  'SELECT count(*) AS n FROM big',
  'SELECT b.g, b.v, count(*) AS c FROM big a JOIN small b ON a.g = b.g GROUP BY b.g, b.v ORDER BY b.g',
];
// Over HTTP: at most 10,000 rows come back; these stay under it.
const HTTP_QUERIES = QUERIES.slice(3);
const CLI_RUNS = (url: string): string[][] => [
  ['df', 'ls', '--url', url],
  ['df', 'show', 'big', '--head', '5', '--url', url],
  ['sql', QUERIES[3]!, '--url', url],
  ['df', 'query', 'big', '--select', 'g,count(*) AS c', '--group-by', 'g', '--order-by', 'g', '--url', url],
];

describe('a dead leader that is never replaced', () => {
  it('is answered around: queries, describe, shuffle joins, POST /df/sql and the CLI', async () => {
    const rng = seededRng();
    const writer = await connect(
      cluster.nodes.map((x) => x.url),
      { w: 'all' },
    );
    const n = 60_000;
    const id = new Int32Array(n);
    const s = new Array<string>(n);
    const g = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      id[i] = i;
      s[i] = `${rng.word(rng.int(1, 8))} ${'y'.repeat(100)}`;
      g[i] = `g${rng.int(0, 12)}`;
    }
    // w=all: every chunk is on both replicas before the kill.
    await DataFrame.put(writer, 'big', DataFrame.fromColumns({ id, s, g } as never), { chunkRows: 2000 });
    const small = DataFrame.fromColumns({
      g: { type: 'S', values: Array.from({ length: 13 }, (_, i) => `g${i}`) },
      v: { type: 'I', values: Array.from({ length: 13 }, (_, i) => i * i) },
    });
    await DataFrame.put(writer, 'small', small, { chunkRows: 3 });

    // The answers with every node up.
    const ref = new Map<string, Value[][]>();
    for (const q of QUERIES) ref.set(q, rowsOf(await DataFrame.sql(writer, q)));
    const big = await DataFrame.get(writer, 'big');
    const shuffle = big.join(await DataFrame.get(writer, 'small'), { on: 'g', broadcastLimitBytes: 16, buckets: 4 });
    expect(shuffle.explain()).toMatch(/shuffle join/);
    const joined = byFirst(rowsOf(await shuffle.groupBy('v').agg({ '*': 'count' })));
    const described = rowsOf(await big.describe());
    const httpRef = new Map<string, unknown>();
    for (const q of HTTP_QUERIES) {
      const r = await postSql('n2', q);
      expect(r.status).toBe(200);
      httpRef.set(q, r.body.rows);
    }
    // The read-only HTTP routes a node serves from its own store (and the console's placement: of the
    // small frame, since it scans chunk values and a page of big's would pass the 1 MiB frame limit).
    const ROUTES = ['/df', '/df/big', '/df/big/rows?offset=29990&limit=20', '/df/small/placement'];
    const getRoute = async (node: string, route: string): Promise<{ status: number; body: unknown }> => {
      const res = await fetch(`${cluster.node(node).url}${route}`);
      return { status: res.status, body: await res.json() };
    };
    const routeRef = new Map<string, unknown>();
    for (const route of ROUTES) {
      const r = await getRoute('n2', route);
      expect(r.status, route).toBe(200);
      routeRef.set(route, r.body);
    }
    const cliRef: string[] = [];
    for (const args of CLI_RUNS(cluster.node('n3').url)) {
      const r = await eau2(args);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      cliRef.push(r.stdout);
    }

    const victim = 'n1';
    expect(writer.topology.placement.some((p) => p.leader === victim)).toBe(true);
    await cluster.kill(victim);

    // A client connected before the kill, and one connected after it (its first listing and open).
    const late = await connect([cluster.node('n2').url]);
    expect(late.topology.nodes.find((x) => x.id === victim)?.status).toBe('up');
    // Its scans ask the dead leader for each of its partitions once, then go to the follower (not
    // back to the leader, which a failed attempt only moved last in the order its retry picks from).
    const scans: number[] = [];
    const pool = (
      late as unknown as { pool: { request: (node: string, type: number, body: unknown) => Promise<unknown> } }
    ).pool;
    const request = pool.request.bind(pool);
    pool.request = (node, type, body, ...rest: unknown[]) => {
      if (node === victim && type === 0x24) scans.push((body as { p: number }).p);
      return (request as (...a: unknown[]) => Promise<unknown>)(node, type, body, ...rest);
    };
    expect((await DataFrame.list(late)).map((f) => f.name).sort()).toEqual(['big', 'small']);
    pool.request = request;
    expect(scans.length).toBeGreaterThan(0);
    expect(new Set(scans).size).toBe(scans.length);
    for (const c of [writer, late]) {
      expect((await DataFrame.list(c)).map((f) => f.name).sort()).toEqual(['big', 'small']);
      const lf = await DataFrame.get(c, 'big');
      expect(await lf.count()).toBe(n);
      for (const q of QUERIES) expect(rowsOf(await DataFrame.sql(c, q)), q).toEqual(ref.get(q));
      // describe()'s exact columns (count, nulls, distinct, min, max, mean); its quantiles come from
      // sketches merged in another grouping once other nodes evaluate the dead node's chunks.
      const d = rowsOf(await lf.describe());
      expect(d.map((r) => r.slice(0, 8))).toEqual(described.map((r) => r.slice(0, 8)));
      // A shuffle join: its scatters, bucket joins and cleanup go around the dead node.
      const sj = lf.join(await DataFrame.get(c, 'small'), { on: 'g', broadcastLimitBytes: 16, buckets: 4 });
      expect(byFirst(rowsOf(await sj.groupBy('v').agg({ '*': 'count' })))).toEqual(joined);
    }

    // POST /df/sql on the survivors: each node runs the plan through a client of its own.
    for (const node of ['n2', 'n3']) {
      for (const q of HTTP_QUERIES) {
        const r = await postSql(node, q);
        expect(r.status, `${node} ${q}: ${r.body.message}`).toBe(200);
        expect(r.body.rows, q).toEqual(httpRef.get(q));
      }
    }

    for (const node of ['n2', 'n3']) {
      for (const route of ROUTES) {
        const r = await getRoute(node, route);
        expect(r.status, `${node} ${route}: ${JSON.stringify(r.body).slice(0, 200)}`).toBe(200);
        expect(r.body, route).toEqual(routeRef.get(route));
      }
    }

    // The CLI through a survivor: each command is a new client.
    const runs = CLI_RUNS(cluster.node('n3').url);
    for (let i = 0; i < runs.length; i++) {
      const r = await eau2(runs[i]!);
      expect(r.stderr, runs[i]!.join(' ')).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(cliRef[i]);
    }

    // The victim comes back (it leads its partitions again: they never failed over), then hangs
    // (SIGSTOP): a new connection to it waits out the 3 s handshake timeout. A new client pays that
    // once, in its first listing, and then sends the hung node nothing more while it suspects it:
    // neither the topology refresh that follows the failure nor the count's and the query's tasks.
    await cluster.restart(victim);
    // Back as the leader of its partitions, with its followers in sync (those partitions' chunks are
    // read from it again).
    let seen = '';
    const back = await eventually(async () => {
      const v = (await (await fetch(`${cluster.node(victim).url}/cluster`)).json()) as {
        partitions: { leader: string; isr: string[] }[];
      };
      seen = JSON.stringify(v.partitions);
      const led = v.partitions.filter((p) => p.leader === victim);
      return led.length > 0 && led.every((p) => p.isr.length === 2);
    }, 60_000);
    expect(back, seen).toBe(true);
    cluster.procs.get(victim)!.kill('SIGSTOP');
    try {
      const fresh = await connect([cluster.node('n3').url]);
      expect(fresh.topology.placement.some((p) => p.leader === victim)).toBe(true);
      const sent: number[] = [];
      const freshPool = (fresh as unknown as { pool: { request: (node: string, type: number) => Promise<unknown> } })
        .pool;
      const send = freshPool.request.bind(freshPool);
      freshPool.request = (node, type, ...rest: unknown[]) => {
        if (node === victim) sent.push(type);
        return (send as (...a: unknown[]) => Promise<unknown>)(node, type, ...rest);
      };
      // The first listing (scans, 0x24) finds the victim silent; a refresh follows (TOPOLOGY, 0x11).
      expect((await DataFrame.list(fresh)).map((f) => f.name).sort()).toEqual(['big', 'small']);
      expect(sent.length).toBeGreaterThan(0);
      expect(sent.every((t) => t === 0x24)).toBe(true);
      sent.length = 0;
      // Right after it (within the client's 2 s suspicion): tasks (0x40) go to the other replicas.
      expect(await (await DataFrame.get(fresh, 'big')).count()).toBe(n);
      expect(rowsOf(await DataFrame.sql(fresh, QUERIES[3]!))).toEqual(ref.get(QUERIES[3]!));
      expect(sent).not.toContain(0x40);
    } finally {
      cluster.procs.get(victim)!.kill('SIGCONT');
    }
  }, 400_000);
});
