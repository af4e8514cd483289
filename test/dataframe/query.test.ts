// Queries: every plan gives the same answer as a plain row-by-row reference evaluator written here
// independently, whether it runs over an in-memory frame, a stored frame (local task) or a frame spread
// over a fake 3-node cluster with replicas (pushed-down tasks, msgpack on the wire). Also: coverage
// checks catch missing or double-counted chunks, and malformed plans are refused before any data is read.

import { describe, expect, it } from 'vitest';
import {
  DataFrame,
  add,
  and,
  between,
  col,
  dataframeTasks,
  eq,
  ge,
  gt,
  isIn,
  isNull,
  lt,
  mul,
  ne,
  neg,
  not,
  or,
  sub,
  type Expr,
  type Query,
  type Value,
} from '../../dataframe/index.js';
import { metaToPlain } from '../../dataframe/meta.js';
import { compareKeys } from '../../dataframe/query/merge.js';
import { MemoryStore } from '../support/memory-store.js';
import { FakeCluster } from './fake-cluster.js';
import { randomFrame, rowsOf, seededRng } from './helpers.js';

type Row = Record<string, Value>;

/** Row-at-a-time reference semantics (SQL three-valued logic). */
function ref(e: Expr, r: Row): Value {
  switch (e.op) {
    case 'col':
      return r[e.name]!;
    case 'lit':
      return e.value;
    case 'and':
    case 'or': {
      const vs = e.args.map((a) => ref(a, r));
      const decisive = e.op === 'or';
      if (vs.includes(decisive)) return decisive;
      return vs.includes(null) ? null : !decisive;
    }
    case 'not': {
      const v = ref(e.args[0], r);
      return v === null ? null : !v;
    }
    case 'isNull':
      return ref(e.args[0], r) === null;
    case 'neg': {
      const v = ref(e.args[0], r) as number | null;
      return v === null ? null : -v;
    }
    case 'in': {
      const v = ref(e.args[0], r);
      return v === null ? null : e.values.filter((x) => x !== null).includes(v as number | string | boolean);
    }
    default: {
      const a = ref(e.args[0]!, r) as number;
      const b = ref(e.args[1]!, r) as number;
      if (a === null || b === null) return null;
      const f: Record<string, () => Value> = {
        eq: () => a === b,
        ne: () => a !== b,
        lt: () => a < b,
        le: () => a <= b,
        gt: () => a > b,
        ge: () => a >= b,
        add: () => a + b,
        sub: () => a - b,
        mul: () => a * b,
        div: () => a / b,
        mod: () => a % b,
      };
      return f[e.op]!();
    }
  }
}

function refAgg(rows: Row[], by: string[], aggs: [string, string][]): Value[][] {
  const groups = new Map<string, [Value[], Row[]]>();
  for (const r of rows) {
    const key = by.map((b) => r[b]!);
    const k = JSON.stringify(key);
    if (!groups.has(k)) groups.set(k, [key, []]);
    groups.get(k)![1].push(r);
  }
  if (by.length === 0 && groups.size === 0) groups.set('[]', [[], []]);
  const out = [...groups.values()].sort((a, b) => compareKeys(a[0], b[0]));
  return out.map(([key, rs]) => [
    ...key,
    ...aggs.map(([c, fn]) => {
      const vs = c === '*' ? rs.map(() => 1) : rs.map((r) => r[c]!).filter((v) => v !== null);
      if (fn === 'count') return vs.length;
      if (vs.length === 0) return null;
      if (fn === 'sum') return (vs as number[]).reduce((s, v) => s + v, 0);
      if (fn === 'mean') return (vs as number[]).reduce((s, v) => s + v, 0) / vs.length;
      return vs.reduce((m, v) => ((fn === 'min' ? v < m : v > m) ? v : m));
    }),
  ]);
}

const EXPRS: Expr[] = [
  gt(col('i'), 100),
  and(gt(col('d'), -500), lt(col('i'), 0)),
  or(eq(col('k'), 'red'), isNull(col('k'))),
  not(eq(col('b'), true)),
  eq(col('b'), col('b')),
  ge(add(col('i'), mul(col('d'), 2)), 10),
  lt(sub(neg(col('i')), col('d')), 0),
  isIn(col('k'), ['blue', 'cyan', null]),
  isIn(col('i'), [1, 2, 3, 500, -7]),
  and(ne(col('s'), ''), gt(col('s'), 'm')),
  between(col('i'), -50, 50),
  or(and(isNull(col('i')), eq(col('b'), false)), gt(col('d'), 1000)),
];

type Runner = (df: DataFrame) => Promise<{ q: () => Query; cluster?: FakeCluster }>;

const runners: Record<string, Runner> = {
  'in-memory frame': async (df) => ({ q: () => df.query() }),
  'stored frame, local task': async (df) => {
    const store = new MemoryStore();
    await DataFrame.put(store, 't', df, { chunkRows: 97 });
    const lf = await DataFrame.get(store, 't');
    return { q: () => lf.query() };
  },
  'frame on a 3-node cluster, pushed down': async (df) => {
    const cluster = new FakeCluster(3, 16, 2);
    await DataFrame.put(cluster, 't', df, { chunkRows: 97 });
    const lf = await DataFrame.get(cluster, 't');
    return { q: () => lf.query(), cluster };
  },
};

for (const [mode, run] of Object.entries(runners)) {
  describe(`queries on a ${mode}`, () => {
    it('filters and projects exactly like the reference, in frame order', async () => {
      const df = randomFrame(seededRng(), 2000);
      const objs = df.toObjects();
      const { q } = await run(df);
      for (const e of EXPRS) {
        const got = await q().filter(e).select('i', 's').collect();
        const want = objs.filter((r) => ref(e, r) === true).map((r) => [r.i, r.s]);
        expect(rowsOf(got), JSON.stringify(e)).toEqual(want);
      }
    });

    it('groups and aggregates exactly like the reference', async () => {
      const df = randomFrame(seededRng(), 2000);
      const objs = df.toObjects();
      const { q, cluster } = await run(df);
      const aggs: [string, string][] = [
        ['d', 'sum'],
        ['d', 'mean'],
        ['d', 'min'],
        ['d', 'max'],
        ['d', 'count'],
        ['*', 'count'],
        ['i', 'min'],
        ['s', 'max'],
        ['b', 'max'],
      ];
      const spec = { d: ['sum', 'mean', 'min', 'max', 'count'], '*': 'count', i: 'min', s: 'max', b: 'max' } as const;
      for (const by of [['k'], ['k', 'b'], []]) {
        for (const e of [undefined, ...EXPRS.slice(0, 4)]) {
          const base = e ? q().filter(e) : q();
          const got = await base.groupBy(by).agg(spec);
          const rows = e ? objs.filter((r) => ref(e, r) === true) : objs;
          expect(rowsOf(got), `by ${by} where ${JSON.stringify(e)}`).toEqual(refAgg(rows, by, aggs));
        }
      }
      const got = await q().groupBy('k').agg({ d: 'sum' });
      expect(got.columnNames).toEqual(['k', 'd_sum']);
      expect(got.schema).toBe('SD');
      if (cluster) expect(cluster.taskRuns).toBeGreaterThan(0);
    });

    it('answers scalar helpers, distinct keys, limits and empty selections', async () => {
      const df = randomFrame(seededRng(), 1500);
      const objs = df.toObjects();
      const { q } = await run(df);
      const pos = gt(col('i'), 0);
      const sel = objs.filter((r) => ref(pos, r) === true);
      expect(await q().count()).toBe(1500);
      expect(await q().filter(pos).count()).toBe(sel.length);
      expect(await q().filter(pos).sum('i')).toBe(sel.reduce((s, r) => s + (r.i as number), 0));
      expect(await q().filter(pos).min('i')).toBe(Math.min(...sel.map((r) => r.i as number)));
      expect(await q().filter(pos).max('s')).toBe(refAgg(sel, [], [['s', 'max']])[0]![0]);
      expect(await q().filter(pos).mean('d')).toBe(refAgg(sel, [], [['d', 'mean']])[0]![0]);
      expect(rowsOf(await q().groupBy('k').collect())).toEqual([[null], ['blue'], ['cyan'], ['green'], ['red']]);
      const firstTen = objs
        .filter((r) => ref(pos, r) === true)
        .slice(0, 10)
        .map((r) => [r.i]);
      expect(rowsOf(await q().filter(pos).select('i').limit(10).collect())).toEqual(firstTen);
      const none = gt(col('i'), 10_000);
      expect(await q().filter(none).count()).toBe(0);
      expect(await q().filter(none).sum('d')).toBeNull();
      expect((await q().filter(none).collect()).nrows).toBe(0);
      expect((await q().filter(none).groupBy('k').agg({ d: 'sum' })).nrows).toBe(0);
    });
  });
}

describe('pushdown over a cluster', () => {
  it('counts each chunk once even though followers hold copies', async () => {
    const cluster = new FakeCluster(3, 16, 3); // every node holds every chunk
    await DataFrame.put(cluster, 't', randomFrame(seededRng(), 3000), { chunkRows: 100 });
    const lf = await DataFrame.get(cluster, 't');
    expect(await lf.count()).toBe(3000);
    const spread = await cluster.runTask('df.holdings', { meta: metaToPlain(lf.meta) });
    const perNode = (spread as { chunks: number[] }[]).map((r) => r.chunks.length);
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(30);
    expect(perNode.filter((n) => n > 0).length).toBe(3); // the frame is spread over all nodes
  });

  it('fails with UNAVAILABLE rather than answer without a down node’s chunks', async () => {
    const cluster = new FakeCluster(3, 16, 2);
    await DataFrame.put(cluster, 't', randomFrame(seededRng(), 3000), { chunkRows: 100 });
    const lf = await DataFrame.get(cluster, 't');
    cluster.down.add(1);
    await expect(lf.count()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('fails with PROTOCOL when two nodes answer for the same chunk', async () => {
    const cluster = new FakeCluster(3, 16, 2);
    await DataFrame.put(cluster, 't', randomFrame(seededRng(), 500), { chunkRows: 100 });
    const lf = await DataFrame.get(cluster, 't');
    cluster.brokenLeadership = true;
    await expect(lf.count()).rejects.toMatchObject({ code: 'PROTOCOL' });
  });

  it('ships plans as plain data that survive JSON', async () => {
    const df = randomFrame(seededRng(), 10);
    const plan = df.filter(and(gt(col('i'), 1), isIn(col('k'), ['red']))).select('i').plan;
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });
});

describe('plan validation', () => {
  const df = DataFrame.fromColumns({ n: new Int32Array([1, 2]), s: ['a', 'b'] });

  it('refuses bad plans on the client before reading data', async () => {
    await expect(df.filter(gt(col('zz'), 1)).count()).rejects.toThrow(/no column named "zz"/);
    await expect(df.filter(gt(col('s'), 1)).count()).rejects.toThrow(/cannot compare S with D/);
    await expect(df.filter(col('n')).count()).rejects.toThrow(/filter must be a boolean/);
    await expect(df.sum('s')).rejects.toThrow(/sum needs a numeric column/);
    await expect(df.agg({ n: 'mode' as 'sum' })).rejects.toThrow(/unknown aggregate "mode"/);
    await expect(df.agg({ '*': 'sum' })).rejects.toThrow(/can only be counted/);
    await expect(df.select('s').groupBy('n').agg({ '*': 'count' })).rejects.toThrow(/groupBy: no column named "n"/);
    expect(() => df.filter((() => true) as unknown as Expr)).toThrow(/functions are not expressions/);
  });

  it('refuses bad payloads on the node with PROTOCOL', async () => {
    const store = new MemoryStore();
    const meta = await DataFrame.put(store, 't', df);
    const ctx = { store, isLeaderFor: () => true, nodeId: 'n0' };
    const task = dataframeTasks['df.query']!;
    await expect(
      task(ctx, { meta: metaToPlain(meta), plan: { filter: { op: 'eval', code: 'x' } } }),
    ).rejects.toMatchObject({ code: 'PROTOCOL' });
    await expect(task(ctx, { meta: { name: 't' }, plan: {} })).rejects.toMatchObject({ code: 'PROTOCOL' });
    await expect(task(ctx, null)).rejects.toMatchObject({ code: 'PROTOCOL' });
  });
});

describe('aggregates when nulls appear only in later chunks', () => {
  it('count the non-null values of each column, not the rows, once nulls show up', async () => {
    const rng = seededRng();
    const n = 600;
    // Chunks of 50 rows: the first 300 rows have no nulls, later rows some (per column, at different places).
    const late = (r: number, p: number): boolean => r >= 300 && rng.bool(p);
    const df = DataFrame.fromColumns({
      k: { type: 'S', values: Array.from({ length: n }, () => rng.pick(['a', 'b', 'c'])) },
      i: { type: 'I', values: Array.from({ length: n }, (_, r) => (late(r, 0.3) ? null : rng.int(-50, 50))) },
      d: {
        type: 'D',
        values: Array.from({ length: n }, (_, r) => (r >= 450 && rng.bool(0.5) ? null : rng.int(-400, 400) / 8)),
      },
    });
    const store = new MemoryStore();
    await DataFrame.put(store, 't', df, { chunkRows: 50 });
    const lf = await DataFrame.get(store, 't');
    const objs = df.toObjects();
    const aggs: [string, string][] = [
      ['i', 'sum'],
      ['i', 'mean'],
      ['i', 'count'],
      ['d', 'mean'],
      ['d', 'count'],
      ['*', 'count'],
    ];
    const spec = { i: ['sum', 'mean', 'count'], d: ['mean', 'count'], '*': 'count' } as const;
    for (const e of [undefined, gt(col('d'), 0)]) {
      const q = e ? lf.filter(e) : lf.query();
      const rows = e ? objs.filter((r) => ref(e, r) === true) : objs;
      expect(rowsOf(await q.groupBy('k').agg(spec))).toEqual(refAgg(rows, ['k'], aggs));
      expect(rowsOf(await q.agg(spec))).toEqual(refAgg(rows, [], aggs));
    }
  });
});

describe('doubles that are not finite', () => {
  it('keep NaN, Infinity, -Infinity and null apart as group keys, on one node and merged over chunks', async () => {
    const df = DataFrame.fromColumns({
      k: { type: 'D', values: [NaN, 2, null, Infinity, -Infinity, NaN, null, 2] },
      t: ['a', 'a', 'a', 'a', 'a', 'b', 'a', 'a'],
    });
    const store = new MemoryStore();
    await DataFrame.put(store, 'n', df, { chunkRows: 3 });
    const lf = await DataFrame.get(store, 'n');
    for (const src of [df, lf]) {
      expect(rowsOf(await src.groupBy('k').agg({ '*': 'count' }))).toEqual([
        [null, 2],
        [-Infinity, 1],
        [2, 2],
        [Infinity, 1],
        [NaN, 2],
      ]);
      expect(rowsOf(await src.groupBy('k', 't').agg({ '*': 'count' }))).toEqual([
        [null, 'a', 2],
        [-Infinity, 'a', 1],
        [2, 'a', 2],
        [Infinity, 'a', 1],
        [NaN, 'a', 1],
        [NaN, 'b', 1],
      ]);
    }
  });

  it('rank NaN above every number in min and max, whatever order the rows come in', async () => {
    const store = new MemoryStore();
    for (const vals of [
      [NaN, 1, 2],
      [1, NaN, 2],
      [1, 2, NaN],
      [NaN, NaN, 3],
    ]) {
      const df = DataFrame.fromColumns({ x: Float64Array.from(vals), g: ['a', 'a', 'a'] });
      await DataFrame.put(store, 'm', df, { chunkRows: 1 }); // one chunk per row: the client merges
      const lf = await DataFrame.get(store, 'm');
      const lowest = Math.min(...vals.filter((v) => !Number.isNaN(v)));
      for (const src of [df, lf]) {
        expect(await src.min('x')).toBe(lowest);
        expect(await src.max('x')).toBeNaN();
        expect(rowsOf(await src.groupBy('g').agg({ x: ['min', 'max'] }))).toEqual([['a', lowest, NaN]]);
      }
    }
  });
});
