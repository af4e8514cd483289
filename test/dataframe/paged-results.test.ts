// Paged query results (dataframe/query/page.ts). A node's answer to a query task is one reply, and a
// reply has a limit (maxFrameBytes), so a task given a page size stops after the chunk that takes its
// result past it and names the chunks left; the client asks the same node for those. What must hold:
// the answer is the one an unpaged run gives (rows in chunk order, groups, top-k rows, offsets and
// limits), whatever the page size; pages happen when results are large and not otherwise; a node
// that names chunks it was not asked for, or all of them again, fails the query instead of looping;
// a node lost between pages has its remaining chunks answered by a replica; and on a real cluster a
// node's share larger than a reply is answered, where it used to fail as "none of its replicas can
// be reached".

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../cluster/index.js';
import { DataFrame, type Value } from '../../dataframe/index.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { TestCluster } from '../cluster/support/cluster-harness.js';
import { MemoryStore } from '../support/memory-store.js';
import { FakeCluster } from './fake-cluster.js';
import { rowsOf, seededRng } from './helpers.js';
import type { Rng } from '../../app/apps/random.js';

/** A FakeCluster whose queries are placed node by node, as on a ClusterClient, with a small reply limit. */
class PlacedCluster extends FakeCluster {
  /** The client asks for pages of an eighth of this. */
  maxReplyBytes = 16 * 1024;
  calls: { node: string; name: string; chunks: number; taken?: number; after: boolean; ranked: number }[] = [];
  /** Replaces a node's result (to play a node that breaks the protocol). */
  tamper?: (node: string, result: unknown, call: number) => unknown;
  /** Node that stops answering tasks `name` (any, if not given) from its n-th such call on (0-based). */
  failFrom?: { node: string; call: number; name?: string };

  async runTaskOn(node: string, name: string, payload: unknown): Promise<unknown> {
    const id = Number(node.slice(1));
    const p = payload as { chunks?: number[]; left?: unknown[]; taken?: number; after?: unknown };
    const f = this.failFrom;
    const mine = this.calls.filter((c) => c.node === node).length;
    const nth = this.calls.filter((c) => c.node === node && (f?.name === undefined || c.name === f.name)).length;
    const call = {
      node,
      name,
      chunks: (p.chunks ?? p.left)?.length ?? -1,
      taken: p.taken,
      after: p.after !== undefined,
      ranked: 0,
    };
    this.calls.push(call);
    if (this.down.has(id) || (f?.node === node && (f.name === undefined || f.name === name) && nth >= f.call))
      throw new Eau2Error(ErrorCode.UNAVAILABLE, `node ${node} cannot be reached`);
    const r = await this.runAsNode(id, name, payload);
    call.ranked = (r as { ranked?: unknown[] }).ranked?.length ?? 0;
    return this.tamper ? this.tamper(node, r, mine) : r;
  }
}

/** Rows with long strings (so pages fill fast), nulls, int64 and a key with many distinct values. */
function frame(rng: Rng, n: number): DataFrame {
  const maybe = <T>(v: T): T | null => (rng.bool(0.08) ? null : v);
  const cols = {
    i: { type: 'I' as const, values: [] as (number | null)[] },
    d: { type: 'D' as const, values: [] as (number | null)[] },
    s: { type: 'S' as const, values: [] as (string | null)[] },
    k: { type: 'S' as const, values: [] as (string | null)[] },
    l: { type: 'L' as const, values: [] as (bigint | null)[] },
  };
  for (let r = 0; r < n; r++) {
    cols.i.values.push(maybe(rng.int(-50, 50)));
    // Multiples of 1/8 of moderate size: sums are exact in any order, so merged partials equal.
    cols.d.values.push(maybe(rng.int(-80_000, 80_000) / 8));
    cols.s.values.push(maybe(`${rng.word(rng.int(1, 8))}-${'x'.repeat(rng.int(0, 60))}`));
    cols.k.values.push(maybe(`key${rng.int(0, Math.max(1, n / 3))}`));
    cols.l.values.push(maybe(BigInt(rng.int(-1e9, 1e9)) * 9_000_000_001n));
  }
  return DataFrame.fromColumns(cols);
}

function queries(rng: Rng): string[] {
  const x = rng.int(-40, 40);
  const lim = rng.int(1, 400);
  const off = rng.int(0, 300);
  return [
    'SELECT * FROM t',
    `SELECT * FROM t WHERE i > ${x}`,
    `SELECT s, l FROM t WHERE i <= ${x} OR d IS NULL`,
    `SELECT i, s FROM t WHERE d < ${x * 100} LIMIT ${lim} OFFSET ${off}`,
    `SELECT * FROM t LIMIT ${lim * 3} OFFSET ${off}`,
    'SELECT k, count(*) AS n, sum(d) AS sd, min(s) AS ms, max(l) AS ml, avg(i) AS ai FROM t GROUP BY k',
    `SELECT s, i, count(*) AS n FROM t WHERE i <> ${x} GROUP BY s, i`,
    'SELECT count(DISTINCT k) AS dk, count(*) AS n, min(l) AS nl, sum(d) AS sd FROM t',
    `SELECT * FROM t ORDER BY d DESC NULLS LAST, i LIMIT ${rng.int(1, 12)}`,
    `SELECT s, d, l FROM t ORDER BY l NULLS FIRST, s LIMIT ${lim * 4} OFFSET ${off}`,
    `SELECT k, s FROM t WHERE i > ${x} ORDER BY k DESC, s, d`,
    // A computed sort key takes the plain top-k path whatever k: a few hundred rows page, and the
    // pages after a node's first k rows are sent their k-th best as a bound.
    `SELECT i, s, d * 2 AS dd FROM t ORDER BY dd DESC NULLS FIRST, i LIMIT ${rng.int(100, 600)} OFFSET ${rng.int(0, 50)}`,
    `SELECT l, i + 1 AS j FROM t WHERE d > ${x} ORDER BY j, l DESC LIMIT ${rng.int(100, 600)}`,
  ];
}

describe('paged query results (seeded)', () => {
  it('answer as an unpaged run does, and page only large results', async () => {
    const rng = seededRng();
    for (let round = 0; round < 4; round++) {
      const n = rng.int(1500, 4000);
      const df = frame(rng, n);
      // At least six chunks: two a node, so that a node's share can take more than one page.
      const chunkRows = rng.pick([37, 100, 257]);
      const plain = new MemoryStore();
      const placed = new PlacedCluster(3, 16, 2);
      placed.maxReplyBytes = rng.pick([8 * 1024, 16 * 1024, 64 * 1024]);
      await DataFrame.put(plain, 't', df, { chunkRows });
      await DataFrame.put(placed, 't', df, { chunkRows });
      let paged = 0;
      for (const sql of queries(rng)) {
        placed.calls = [];
        const want = rowsOf(await DataFrame.sql(plain, sql));
        const got = rowsOf(await DataFrame.sql(placed, sql));
        expect(got, `round ${round} (${n} rows, chunks of ${chunkRows}): ${sql}`).toEqual(want);
        const nodes = new Set(placed.calls.map((c) => c.node)).size;
        if (placed.calls.length > nodes) paged++;
        // Every page after a node's first asks for fewer chunks than the one before it.
        for (const node of new Set(placed.calls.map((c) => c.node))) {
          const seq = placed.calls.filter((c) => c.node === node).map((c) => c.chunks);
          for (let j = 1; j < seq.length; j++) expect(seq[j]!).toBeLessThan(seq[j - 1]!);
        }
      }
      // The whole-frame row queries and the wide group-by pass a 1-8 KiB page on any of these frames.
      expect(paged, `round ${round}: queries that paged`).toBeGreaterThanOrEqual(3);
    }
  });

  it('does not page a small result, nor a top-k whose rows fit', async () => {
    const rng = seededRng();
    const df = frame(rng, 3000);
    const placed = new PlacedCluster(3, 16, 2);
    placed.maxReplyBytes = 64 * 1024 * 1024;
    await DataFrame.put(placed, 't', df, { chunkRows: 100 });
    for (const sql of [
      'SELECT * FROM t',
      'SELECT k, count(*) AS n FROM t GROUP BY k',
      'SELECT * FROM t ORDER BY d DESC LIMIT 5000',
    ]) {
      placed.calls = [];
      await DataFrame.sql(placed, sql);
      expect(placed.calls.length, sql).toBe(3);
    }
    // With a 16 KiB reply (2 KiB pages), the same top-k pages. (A top-k of at
    // most 4,096 rows reads its other columns late and answers in one reply: not paged.)
    placed.maxReplyBytes = 16 * 1024;
    placed.calls = [];
    await DataFrame.sql(placed, 'SELECT * FROM t ORDER BY d DESC LIMIT 5000');
    expect(placed.calls.length).toBeGreaterThan(3);
    placed.calls = [];
    await DataFrame.sql(placed, 'SELECT * FROM t ORDER BY d DESC LIMIT 4000');
    expect(placed.calls.length).toBe(3);
  });

  it("sends a top-k's later pages the k-th best row of its earlier ones, and gets fewer rows back", async () => {
    const rng = seededRng();
    const df = frame(rng, 3000);
    const plain = new MemoryStore();
    const placed = new PlacedCluster(1, 16, 1);
    await DataFrame.put(plain, 't', df, { chunkRows: 50 });
    await DataFrame.put(placed, 't', df, { chunkRows: 50 });
    const sql = 'SELECT i, s, d * 2 AS dd FROM t ORDER BY dd DESC NULLS LAST, i LIMIT 200';
    const got = rowsOf(await DataFrame.sql(placed, sql));
    expect(got).toEqual(rowsOf(await DataFrame.sql(plain, sql)));
    const bounded = placed.calls.filter((c) => c.after);
    expect(bounded.length, 'pages sent a bound').toBeGreaterThan(0);
    // Without the bound every page brings its best rows of its chunks: about every row of the frame.
    const sent = placed.calls.reduce((n, c) => n + c.ranked, 0);
    expect(sent).toBeLessThan(1500);
    // A first key of few values: later pages hold many rows tied with the bound on it, which a later
    // key (a greater id, descending) or their place puts before it or after it.
    const n = 3000;
    const g = DataFrame.fromColumns({
      id: { type: 'I', values: Array.from({ length: n }, () => rng.int(0, 1000)) },
      g: { type: 'I', values: Array.from({ length: n }, () => rng.int(0, 6)) },
    });
    await DataFrame.put(plain, 'g', g, { chunkRows: 50 });
    await DataFrame.put(placed, 'g', g, { chunkRows: 50 });
    for (const q of [
      'SELECT id, g * 2 AS gg FROM g ORDER BY gg, id DESC LIMIT 200',
      'SELECT id, g * 2 AS gg FROM g ORDER BY gg DESC LIMIT 300',
    ]) {
      placed.calls = [];
      expect(rowsOf(await DataFrame.sql(placed, q)), q).toEqual(rowsOf(await DataFrame.sql(plain, q)));
      expect(placed.calls.filter((c) => c.after).length, q).toBeGreaterThan(0);
    }
  });

  it('counts the rows of earlier pages toward a node limit', async () => {
    const rng = seededRng();
    const df = frame(rng, 3000);
    // One node: its limit is the query's, so a page that miscounted would end short or run long.
    const placed = new PlacedCluster(1, 16, 1);
    await DataFrame.put(placed, 't', df, { chunkRows: 50 });
    const got = rowsOf(await DataFrame.sql(placed, 'SELECT * FROM t LIMIT 700'));
    expect(got).toEqual(rowsOf(df).slice(0, 700));
    const later = placed.calls.filter((c) => c.taken !== undefined);
    expect(later.length).toBeGreaterThan(0);
    // A node asked again has sent rows already, and is never asked past the limit.
    for (const c of later) {
      expect(c.taken).toBeGreaterThan(0);
      expect(c.taken).toBeLessThan(700);
    }
  });

  it('fails on a node that leaves every chunk for later, or names chunks it was not given', async () => {
    const rng = seededRng();
    const placed = new PlacedCluster(3, 16, 2);
    await DataFrame.put(placed, 't', frame(rng, 2000), { chunkRows: 100 });
    for (const bad of ['all', 'foreign', 'repeat'] as const) {
      placed.calls = [];
      placed.tamper = (node, r, call) => {
        if (node !== 'n1' || call > 0) return r;
        const res = r as { chunks: number[]; more?: number[] };
        const asked = [...res.chunks, ...(res.more ?? [])];
        if (bad === 'all') return { ...res, chunks: [], more: asked };
        if (bad === 'foreign') return { ...res, more: [...(res.more ?? []), 100_000] };
        return { ...res, more: [asked[0]!, asked[0]!] };
      };
      const err = await DataFrame.sql(placed, 'SELECT * FROM t').catch((e: unknown) => e);
      expect(err, bad).toBeInstanceOf(Eau2Error);
      expect((err as Eau2Error).code, bad).toBe(ErrorCode.PROTOCOL);
    }
  });

  it("answers a node's remaining chunks from a replica when the node is lost between pages", async () => {
    const rng = seededRng();
    const df = frame(rng, 3000);
    const plain = new MemoryStore();
    const placed = new PlacedCluster(3, 16, 2);
    await DataFrame.put(plain, 't', df, { chunkRows: 80 });
    await DataFrame.put(placed, 't', df, { chunkRows: 80 });
    for (const sql of [
      'SELECT * FROM t',
      'SELECT s, count(*) AS n, sum(d) AS sd FROM t GROUP BY s',
      'SELECT * FROM t ORDER BY l DESC, i LIMIT 5000',
    ]) {
      placed.calls = [];
      placed.failFrom = { node: 'n2', call: 1 };
      const got = rowsOf(await DataFrame.sql(placed, sql));
      placed.failFrom = undefined;
      expect(got, sql).toEqual(rowsOf(await DataFrame.sql(plain, sql)));
      expect(placed.calls.filter((c) => c.node === 'n2').length, `${sql}: n2 answered a page, then failed`).toBe(2);
    }
  });
});

describe('paged shuffle joins', () => {
  it("answers as in-process, paging each bucket's rows, and moves a lost node's pieces to another", async () => {
    const rng = seededRng();
    const df = frame(rng, 2500);
    // The right side: one row per key value of most of the left's keys (and some it lacks).
    const keys = [...new Set(rowsOf(df).map((r) => r[3]))].filter((k) => k !== null && rng.bool(0.8)) as string[];
    keys.push('nokey1', 'nokey2');
    const right = DataFrame.fromColumns({
      key: { type: 'S', values: keys },
      w: { type: 'I', values: keys.map((_, i) => i) },
    });
    const plain = new MemoryStore();
    const placed = new PlacedCluster(3, 16, 2);
    for (const s of [plain, placed]) {
      await DataFrame.put(s, 't', df, { chunkRows: 150 });
      await DataFrame.put(s, 'r', right, { chunkRows: 40 });
    }
    const run = async (s: PlacedCluster | MemoryStore, how: 'inner' | 'left') => {
      const lf = await DataFrame.get(s, 't');
      const rf = await DataFrame.get(s, 'r');
      // A broadcast limit of 100 bytes makes it a shuffle: both sides repartitioned into buckets.
      const j = lf.join(rf, { on: [['k', 'key']], how, broadcastLimitBytes: 100, buckets: 4 });
      const rows = rowsOf(await j.collect());
      const groups = rowsOf(await j.groupBy('k').agg({ '*': 'count', w: 'sum' }));
      const text = (r: unknown[]) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));
      return { rows: rows.map(text).sort(), groups };
    };
    for (const how of ['inner', 'left'] as const) {
      placed.calls = [];
      const want = await run(plain, how);
      expect(await run(placed, how), how).toEqual(want);
      // Some bucket job was asked for again (its left pieces past a page).
      expect(placed.calls.filter((c) => c.taken !== undefined).length, how).toBeGreaterThan(0);
      // n1 stops answering bucket joins after its second page (the cleanup still reaches it).
      placed.calls = [];
      placed.failFrom = { node: 'n1', call: 2, name: 'df.bucketJoin' };
      expect(await run(placed, how), `${how}, n1 lost`).toEqual(want);
      placed.failFrom = undefined;
      const n1 = placed.calls.filter((c) => c.node === 'n1' && c.name === 'df.bucketJoin');
      expect(n1.length, how).toBeGreaterThan(2);
    }
  });
});

describe('the bound on the groups a query gathers (maxGroups)', () => {
  it('fails past it with TOO_LARGE, in-process and on a placed cluster, answers at it, and stops the pages', async () => {
    const rng = seededRng();
    const n = rng.int(2000, 3000);
    // A key unique per row: every group comes from one chunk, so the partials hold n groups in all.
    const u = Array.from({ length: n }, (_, i) => i * 7 + 1);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(0, i);
      [u[i], u[j]] = [u[j]!, u[i]!];
    }
    const df = DataFrame.fromColumns({
      u: { type: 'I', values: u },
      d: { type: 'D', values: u.map((x) => x / 4) },
    });
    const plain = new MemoryStore();
    const placed = new PlacedCluster(3, 16, 2);
    await DataFrame.put(plain, 't', df, { chunkRows: 100 });
    await DataFrame.put(placed, 't', df, { chunkRows: 100 });
    const sql = 'SELECT u, count(*) AS c, sum(d) AS s FROM t GROUP BY u';
    for (const store of [plain, placed]) {
      const at = await DataFrame.sql(store, sql, { maxGroups: n });
      expect(at.nrows).toBe(n);
      const err = await DataFrame.sql(store, sql, { maxGroups: n - 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Eau2Error);
      expect((err as Eau2Error).code).toBe(ErrorCode.TOO_LARGE);
      expect((err as Eau2Error).message).toContain(`more than ${n - 1} groups`);
    }
    // Past the bound, the nodes are not asked for their next pages.
    placed.calls = [];
    await DataFrame.sql(placed, sql);
    const unbounded = placed.calls.length;
    placed.calls = [];
    await DataFrame.sql(placed, sql, { maxGroups: 10 }).catch(() => undefined);
    expect(unbounded).toBeGreaterThan(9);
    expect(placed.calls.length).toBeLessThan(unbounded / 2);
  });
});

describe('the bound on the rows a query gathers for window functions (maxGatheredRows)', () => {
  it('fails past it with TOO_LARGE and answers at it', async () => {
    const store = new MemoryStore();
    const n = 250;
    await DataFrame.put(
      store,
      't',
      DataFrame.fromColumns({ i: { type: 'I', values: Array.from({ length: n }, (_, k) => n - k) } }),
      {
        chunkRows: 40,
      },
    );
    const sql = 'SELECT i, row_number() OVER (ORDER BY i) AS r FROM t';
    const at = rowsOf(await DataFrame.sql(store, sql, { maxGatheredRows: n }));
    expect(at.length).toBe(n);
    expect(at[0]).toEqual([n, n]);
    const err = await DataFrame.sql(store, sql, { maxGatheredRows: n - 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Eau2Error);
    expect((err as Eau2Error).code).toBe(ErrorCode.TOO_LARGE);
    expect((err as Eau2Error).message).toContain(`at most ${n - 1} rows for window functions here`);
    // A filter that leaves fewer rows answers.
    expect(rowsOf(await DataFrame.sql(store, `${sql} WHERE i <= 10`, { maxGatheredRows: n - 1 })).length).toBe(10);
  });
});

describe('paged query results on a real cluster', () => {
  let cluster: TestCluster;
  let client: ClusterClient;
  const LIMIT = 1024 * 1024;
  beforeAll(async () => {
    // Nodes and client take frames of at most 1 MiB: a node's share of the frame below is ~4 MiB. The
    // nodes run queries for HTTP clients with at most 20,000 groups (the environment they start with).
    process.env.EAU2_DF_MAX_GROUPS = '20000';
    try {
      cluster = await TestCluster.start({
        nodes: 3,
        partitions: 8,
        replicationFactor: 2,
        extra: { maxFrameBytes: LIMIT },
      });
    } finally {
      delete process.env.EAU2_DF_MAX_GROUPS;
    }
    client = await ClusterClient.connect(
      cluster.nodes.map((x) => x.url),
      { w: 'all', maxFrameBytes: LIMIT },
    );
  }, 120_000);
  afterAll(async () => {
    await client?.close();
    await cluster?.stop();
  });

  it('answers a query whose node share is larger than a reply, and refuses a too-large reply by name', async () => {
    const n = 60_000;
    const id = new Int32Array(n);
    const s = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      id[i] = i;
      s[i] = `row ${i} ${'y'.repeat(150)}`;
    }
    await DataFrame.put(client, 'big', DataFrame.fromColumns({ id, s } as never), { chunkRows: 2000 });
    const all = await DataFrame.sql(client, 'SELECT * FROM big');
    expect(all.nrows).toBe(n);
    const got = rowsOf(all) as [number, string][];
    for (let i = 0; i < n; i += 997) expect(got[i]).toEqual([i, s[i]]);
    expect(got[n - 1]).toEqual([n - 1, s[n - 1]]);
    const groups = await DataFrame.sql(client, 'SELECT s, count(*) AS c FROM big GROUP BY s');
    expect(groups.nrows).toBe(n);
    const top = rowsOf(await DataFrame.sql(client, 'SELECT id FROM big ORDER BY s DESC LIMIT 3')) as Value[][];
    expect(top).toEqual([[9999], [9998], [9997]]);
    // Over HTTP the receiving node merges: a GROUP BY past its bound is refused, a smaller one answers.
    const post = async (sql: string) => {
      const res = await fetch(`${cluster.nodes[1]!.url}/df/sql`, { method: 'POST', body: JSON.stringify({ sql }) });
      return {
        status: res.status,
        body: (await res.json()) as { rows?: unknown[]; code?: string; message?: string },
      };
    };
    const refused = await post('SELECT s, count(*) AS c FROM big GROUP BY s ORDER BY c DESC LIMIT 3');
    expect(refused.status).toBe(413);
    expect(refused.body.code).toBe('TOO_LARGE');
    expect(refused.body.message).toContain('more than 20000 groups');
    const fine = await post('SELECT id % 1000 AS b, count(*) AS c FROM big GROUP BY b ORDER BY b LIMIT 2');
    expect(fine.status).toBe(200);
    expect(fine.body.rows).toEqual([
      [0, 60],
      [1, 60],
    ]);
    // The console's query route has the same bound.
    const q = JSON.stringify({ groupBy: ['s'], aggs: [{ col: 'id', fn: 'count' }] });
    const res = await fetch(`${cluster.nodes[2]!.url}/df/big/query?q=${encodeURIComponent(q)}`);
    expect(res.status).toBe(413);
    // One chunk's rows alone pass the reply limit: a clear TOO_LARGE, not an unreachable node.
    // (Stored small: one string repeated is a dictionary; the computed column's strings differ.)
    const wide = DataFrame.fromColumns({
      w: { type: 'S', values: new Array<string>(4000).fill('z'.repeat(600)) },
      id: { type: 'I', values: Array.from({ length: 4000 }, (_, i) => i) },
    });
    await DataFrame.put(client, 'wide', wide, { chunkRows: 4000 });
    const err = await DataFrame.sql(client, 'SELECT w || CAST(id AS text) AS w2 FROM wide').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Eau2Error);
    expect((err as Eau2Error).code).toBe(ErrorCode.TOO_LARGE);
    expect((err as Eau2Error).message).toMatch(/frame limit/);
  }, 120_000);
});
