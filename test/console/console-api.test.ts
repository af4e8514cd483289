// The JSON and static routes the console reads (docs/api.md "Console"), without a browser: / points
// to /ui/, /ui serves only the built files with a CSP that keeps the page on its node, /stats answers
// for this node or (node=) another, /stats/series holds a bounded sampled history, /whoami names the
// caller's role, and the dataframe placement and query routes agree with the frame and the query API
// and refuse bad input with a 400. The sampler's quantiles and ring are checked on their own first.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../cluster/index.js';
import { bucketQuantile, MAX_LAG_PARTITIONS, SeriesSampler } from '../../cluster/http/console-series.js';
import { httpNeed } from '../../cluster/security/roles.js';
import { createToken } from '../../cluster/security/tokens.js';
import { col, DataFrame, gt } from '../../dataframe/index.js';
import { eventually, TestCluster } from '../cluster/support/cluster-harness.js';
import { buildConsole } from './support/browser.js';

// The console built from the current sources, for every cluster below.
let consoleDir = '';
beforeAll(() => {
  consoleDir = buildConsole();
});
afterAll(() => {
  if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
});

describe('the node-side sampler', () => {
  it('interpolates quantiles inside histogram buckets, as histogram_quantile does', () => {
    const le = [0.001, 0.01, 0.1, Number.POSITIVE_INFINITY];
    expect(bucketQuantile(le, [0, 0, 0, 0], 0.5)).toBeNull();
    // 10 in (0, 1ms], 10 in (1ms, 10ms]: the median is the top of the first bucket.
    expect(bucketQuantile(le, [10, 20, 20, 20], 0.5)).toBeCloseTo(0.001, 9);
    expect(bucketQuantile(le, [10, 20, 20, 20], 0.75)).toBeCloseTo(0.001 + 0.009 * 0.5, 9);
    // Past the last finite bound only "more than 100 ms" is known.
    expect(bucketQuantile(le, [0, 0, 0, 5], 0.99)).toBe(0.1);
  });

  it('samples rates, quantiles, lag and engine deltas into a ring of bounded size', async () => {
    const registry = new Registry();
    const httpSeconds = new Histogram({
      name: 'h',
      help: 'h',
      labelNames: ['route'],
      registers: [registry],
      buckets: [0.001, 0.01, 0.1],
    });
    let engine: Record<string, number> = {
      compactions: 0,
      blockCache_hits: 0,
      blockCache_misses: 0,
      memtableBytes: 10,
    };
    const leaders = Array.from({ length: MAX_LAG_PARTITIONS + 6 }, (_, p) => ({
      p,
      lsn: 100,
      followers: [{ id: 'n2', acked: 100 - p, lagSeconds: p / 10 }],
    }));
    const s = new SeriesSampler(
      { metrics: { httpSeconds }, leaderState: () => leaders, engineStats: () => engine },
      1000,
      3,
    );
    await s.sample(1_000_000);
    expect(s.report().t).toEqual([]); // a baseline only
    for (let i = 0; i < 20; i++) httpSeconds.observe({ route: '/kv' }, i < 10 ? 0.0005 : 0.005);
    engine = { compactions: 2, blockCache_hits: 30, blockCache_misses: 10, memtableBytes: 20 };
    await s.sample(1_002_000);
    let r = s.report();
    expect(r.t).toEqual([1_002_000]);
    expect(r.routes['/kv']!.rps).toEqual([10]);
    expect(r.routes['/kv']!.p50[0]).toBeCloseTo(1, 6);
    expect(r.engine.compactions).toEqual([2]);
    expect(r.engine.blockCacheHitRate).toEqual([0.75]);
    expect(r.engine.memtableBytes).toEqual([20]);
    // The most lagging partitions are kept, at most MAX_LAG_PARTITIONS of them.
    expect(Object.keys(r.lag)).toHaveLength(MAX_LAG_PARTITIONS);
    expect(r.lag[String(MAX_LAG_PARTITIONS + 5)]!.entries).toEqual([MAX_LAG_PARTITIONS + 5]);
    expect(r.lag['0']).toBeUndefined();
    // A quiet interval: no requests, no latency; the ring keeps the last 3 samples.
    for (let i = 2; i <= 5; i++) await s.sample(1_000_000 + i * 2000);
    r = s.report();
    expect(r.t).toEqual([1_006_000, 1_008_000, 1_010_000]);
    expect(r.routes['/kv']!.rps).toEqual([0, 0, 0]);
    expect(r.routes['/kv']!.p99).toEqual([null, null, null]);
    expect(r.engine.blockCacheHitRate).toEqual([null, null, null]);
  });

  it('opens the console files and GET / to everyone, and nothing else', () => {
    expect(httpNeed('GET', '/ui/')).toBe('open');
    expect(httpNeed('GET', '/ui/app.js')).toBe('open');
    expect(httpNeed('GET', '/')).toBe('open');
    expect(httpNeed('HEAD', '/ui/app.js')).toBe('open');
    expect(httpNeed('PUT', '/')).toBe('write');
    expect(httpNeed('POST', '/')).toBe('read');
    expect(httpNeed('POST', '/ui/')).toBe('admin');
    expect(httpNeed('GET', '/stats')).toBe('read');
    expect(httpNeed('GET', '/whoami')).toBe('read');
    expect(httpNeed('GET', '/df/x/query')).toBe('read');
  });
});

describe('console routes on a 2-node cluster', () => {
  let c: TestCluster;
  let client: ClusterClient;
  const base = (id = 'n1'): string => c.node(id).url;

  beforeAll(async () => {
    c = await TestCluster.start({ nodes: 2, partitions: 4, replicationFactor: 2, startTimeoutMs: 90_000 });
    client = await ClusterClient.connect([base()], { timeoutMs: 20_000 });
    const x = Int32Array.from({ length: 250 }, (_, i) => i);
    const g = Array.from({ length: 250 }, (_, i) => ['a', 'b', 'c'][i % 3]!);
    await DataFrame.put(client, 'nums', DataFrame.fromColumns({ x, g }), { chunkRows: 50 });
  }, 150_000);

  afterAll(async () => {
    await client?.close();
    await c?.stop();
  });

  it('points a browser at / to /ui/ and serves the built files with a same-origin CSP', async () => {
    const browser = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
    const root = await fetch(`${base()}/`, { redirect: 'manual', headers: browser });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/ui/');
    // A program gets the node's description, which links the console.
    const described = (await (await fetch(`${base()}/`)).json()) as { links: Record<string, { href: string }> };
    expect(described.links.console).toEqual({ href: '/ui/', methods: ['GET'] });
    const page = await fetch(`${base()}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('<script src="app.js">');
    const js = await fetch(`${base('n2')}/ui/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    for (const p of ['/ui/nope.js', '/ui/..%2Fpackage.json', '/ui/../package.json', '/ui/sub/app.js'])
      expect((await fetch(`${base()}${p}`)).status, p).toBe(404);
    const post = await fetch(`${base()}/ui/`, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('answers /stats for itself and, with node=, for another node', async () => {
    const own = (await (await fetch(`${base()}/stats`)).json()) as Record<string, unknown>;
    expect(own.node).toBe('n1');
    expect(own.version).toMatch(/^\d+\.\d+\.\d+/);
    expect((own.memory as { rss: number }).rss).toBeGreaterThan(0);
    expect((own.engine as { levels: unknown[] }).levels.length).toBeGreaterThan(0);
    expect([...(own.leads as number[]), ...(own.follows as number[])].sort()).toEqual([0, 1, 2, 3]);
    const other = (await (await fetch(`${base()}/stats?node=n2`)).json()) as Record<string, unknown>;
    expect(other.node).toBe('n2');
    const missing = await fetch(`${base()}/stats?node=zz`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { code: string }).code).toBe('NOT_FOUND');
    expect((await fetch(`${base()}/stats?nod=n2`)).status).toBe(400);
    expect((await fetch(`${base()}/stats`, { method: 'PUT' })).status).toBe(405);
  });

  it('keeps a sampled history in /stats/series', async () => {
    for (let i = 0; i < 10; i++) await fetch(`${base()}/kv/s${i}`, { method: 'PUT', body: 'v' });
    let s: { intervalMs: number; t: number[]; routes: Record<string, { rps: number[] }> } | undefined;
    expect(
      await eventually(async () => {
        s = (await (await fetch(`${base()}/stats/series?node=n1`)).json()) as typeof s;
        return (s?.routes['/kv/:key']?.rps ?? []).some((x) => x > 0);
      }, 20_000),
    ).toBe(true);
    expect(s!.intervalMs).toBe(2000);
    expect(s!.t.length).toBeGreaterThan(0);
    expect(s!.t.length).toBeLessThanOrEqual(300);
  });

  it('answers /whoami without auth as a caller that may do everything', async () => {
    expect(await (await fetch(`${base()}/whoami`)).json()).toEqual({
      auth: false,
      name: null,
      role: 'admin',
      node: 'n1',
    });
  });

  it('gives a frame’s chunk placement, agreeing with /cluster', async () => {
    const p = (await (await fetch(`${base()}/df/nums/placement`)).json()) as {
      bytes: number;
      nodes: Record<string, { chunks: number; bytes: number }>;
      chunks: { chunk: number; rows: number; partition: number; leader: string; bytes: number }[];
    };
    const cluster = (await (await fetch(`${base()}/cluster`)).json()) as {
      partitions: { partition: number; leader: string }[];
    };
    expect(p.chunks.map((x) => x.rows)).toEqual([50, 50, 50, 50, 50]);
    for (const ch of p.chunks) {
      expect(ch.leader).toBe(cluster.partitions[ch.partition]!.leader);
      expect(ch.bytes).toBeGreaterThan(0);
    }
    expect(p.chunks.reduce((n, x) => n + x.bytes, 0)).toBe(p.bytes);
    expect(Object.values(p.nodes).reduce((n, x) => n + x.chunks, 0)).toBe(5);
    expect((await fetch(`${base()}/df/nope/placement`)).status).toBe(404);
  });

  it('runs a console query on the nodes with the query API’s result', async () => {
    const q = { filter: [{ col: 'x', op: 'gt', value: '100' }], groupBy: ['g'], aggs: [{ col: 'x', fn: 'sum' }] };
    const r = (await (
      await fetch(`${base('n2')}/df/nums/query?q=${encodeURIComponent(JSON.stringify(q))}`)
    ).json()) as {
      columns: { name: string }[];
      rows: unknown[][];
      ms: number;
    };
    const lf = await DataFrame.get(client, 'nums');
    const api = await lf
      .filter(gt(col('x'), 100))
      .groupBy('g')
      .agg({ x: 'sum' });
    expect(r.columns.map((x) => x.name)).toEqual(['g', 'x_sum']);
    expect(r.rows).toEqual(api.toObjects().map((o) => [o.g, o.x_sum]));
    expect(r.ms).toBeGreaterThanOrEqual(0);
    // A row query: the first rows in frame order.
    const rows = (await (
      await fetch(`${base()}/df/nums/query?q=${encodeURIComponent(JSON.stringify({ select: ['x'], limit: 3 }))}`)
    ).json()) as { rows: unknown[][]; nrows: number };
    expect(rows.rows).toEqual([[0], [1], [2]]);
  });

  it('answers queries over int64, timestamp and date columns as /df does: exact text', async () => {
    const big = 2n ** 62n + 7n;
    const typed = DataFrame.fromColumns({
      l: { type: 'L', values: [big, -big, null] },
      t: { type: 'T', values: [1_700_000_000_123_456n, 0n, null] },
      d: { type: 'd', values: [19_700, 0, null] },
    });
    await DataFrame.put(client, 'typed', typed);
    const r = (await (
      await fetch(`${base()}/df/typed/query?q=${encodeURIComponent(JSON.stringify({ limit: 3 }))}`)
    ).json()) as { rows: unknown[][] };
    expect(r.rows).toEqual([
      [big.toString(), '2023-11-14T22:13:20.123456Z', '2023-12-09'],
      [(-big).toString(), '1970-01-01T00:00:00Z', '1970-01-01'],
      [null, null, null],
    ]);
  });

  it('refuses a bad query with a 400 naming the mistake', async () => {
    const bad = async (q: string): Promise<string> => {
      const r = await fetch(`${base()}/df/nums/query?q=${encodeURIComponent(q)}`);
      expect(r.status, q).toBe(400);
      return ((await r.json()) as { message: string }).message;
    };
    expect(await bad('{')).toMatch(/not JSON/);
    expect(await bad('[]')).toMatch(/object/);
    expect(await bad('{"filter":[{"col":"nope","op":"eq","value":1}]}')).toMatch(/no column "nope"/);
    expect(await bad('{"filter":[{"col":"x","op":"like","value":1}]}')).toMatch(/unknown filter op/);
    expect(await bad('{"filter":[{"col":"x","op":"eq","value":"ten"}]}')).toMatch(/not a number/);
    expect(await bad('{"aggs":[{"col":"g","fn":"median"}]}')).toMatch(/fn one of/);
    expect(await bad('{"aggs":[{"col":"*","fn":"sum"}]}')).toMatch(/only counts/);
    expect(await bad('{"limit":0}')).toMatch(/limit/);
    expect(await bad('{"having":1}')).toMatch(/unknown field/);
    expect((await fetch(`${base()}/df/nums/query`)).status).toBe(400);
    expect((await fetch(`${base()}/df/nums/query?q=%7B%7D&x=1`)).status).toBe(400);
  });
});

describe('console routes with auth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eau2-console-auth-'));
  const read = createToken('read', 'viewer');
  let c: TestCluster;

  beforeAll(async () => {
    writeFileSync(join(dir, 'peer.secret'), `${'p'.repeat(48)}\n`);
    c = await TestCluster.start({
      nodes: 1,
      partitions: 2,
      replicationFactor: 1,
      startTimeoutMs: 90_000,
      extra: { auth: { peerSecretFile: join(dir, 'peer.secret'), tokens: [read.entry] } },
    });
  }, 120_000);

  afterAll(async () => {
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page to anyone but its data only with a token, and names the token’s role', async () => {
    const url = c.node('n1').url;
    expect((await fetch(`${url}/ui/`)).status).toBe(200);
    expect((await fetch(`${url}/whoami`)).status).toBe(401);
    expect((await fetch(`${url}/stats`)).status).toBe(401);
    const auth = { authorization: `Bearer ${read.token}` };
    expect(await (await fetch(`${url}/whoami`, { headers: auth })).json()).toEqual({
      auth: true,
      name: 'viewer',
      role: 'read',
      node: 'n1',
    });
    expect((await fetch(`${url}/stats?node=n1`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${url}/kv/k`, { method: 'PUT', body: 'v', headers: auth })).status).toBe(403);
  });
});
