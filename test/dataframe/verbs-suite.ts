// The query verbs checked against plain-JavaScript references (verbs-reference.ts) on seeded random
// frames, for any store: verbs.test.ts runs them on a MemoryStore, verbs-cluster.test.ts on a real
// 3-node cluster. Each check stores its own frames (small chunks, so every node holds several).

import { expect } from 'vitest';
import type { KvStore } from '../../kv/index.js';
import {
  DataFrame,
  add,
  and,
  cast,
  coalesce,
  col,
  contains,
  gt,
  length,
  lower,
  mul,
  not,
  substring,
  upper,
  when,
} from '../../dataframe/index.js';
import type { Rng } from '../../app/apps/random.js';
import { randomFrame, rowsOf } from './helpers.js';
import {
  approx,
  groupRows,
  joinRows,
  nonNull,
  percentileDisc,
  rankError,
  sampleVar,
  sortRows,
  type Row,
} from './verbs-reference.js';

// randomFrame's columns: i (I), d (D), b (B), s (S), k (S, 4 values), each ~10% null.
const I = 0;
const D = 1;
const B = 2;
const S = 3;
const K = 4;

export async function checkSortAndTopK(store: KvStore, rng: Rng, name: string): Promise<void> {
  const df = randomFrame(rng, 3000);
  await DataFrame.put(store, name, df, { chunkRows: 128 });
  const lf = await DataFrame.get(store, name);
  const rows = rowsOf(df);
  // Several keys, mixed directions and null placements; stable (ties keep frame order).
  const full = sortRows(rows, [
    [K, false, true],
    [I, true, false],
  ]);
  const q = lf.orderBy({ col: 'k', nulls: 'first' }, '-i');
  expect(rowsOf(await q.collect())).toEqual(full);
  // Top-k with offset: the same rows as slicing the full sort.
  expect(rowsOf(await q.offset(7).limit(25).collect())).toEqual(full.slice(7, 32));
  expect(rowsOf(await lf.orderBy('d').limit(0).collect())).toEqual([]);
  // Filter + select + top-k on a column that is not selected.
  const filtered = sortRows(
    rows.filter((r) => r[B] === true),
    [[D, true, false]],
  ).map((r) => [r[S], r[I]]);
  expect(
    rowsOf(await lf.filter(col('b')).select('s', 'i').orderBy({ col: 'd', desc: true }).limit(10).collect()),
  ).toEqual(filtered.slice(0, 10));
}

export async function checkAggregates(store: KvStore, rng: Rng, name: string): Promise<void> {
  const df = randomFrame(rng, 4000);
  await DataFrame.put(store, name, df, { chunkRows: 100 });
  const lf = await DataFrame.get(store, name);
  const rows = rowsOf(df);
  const got = await lf.groupBy('k').agg([
    { col: 'd', fn: 'std' },
    { col: 'd', fn: 'var' },
    { col: 's', fn: 'countDistinct' },
    { col: 's', fn: 'approxCountDistinct' },
    { col: 'i', fn: 'median' },
    { col: 'd', fn: 'quantile', q: 0.9, as: 'p90' },
    { col: 's', fn: 'first' },
    { col: 's', fn: 'last' },
    { col: 'b', fn: 'any' },
    { col: 'b', fn: 'all' },
  ]);
  expect(got.columnNames).toEqual([
    'k',
    'd_std',
    'd_var',
    's_countDistinct',
    's_approxCountDistinct',
    'i_median',
    'p90',
    's_first',
    's_last',
    'b_any',
    'b_all',
  ]);
  const groups = groupRows(rows, (r) => [r[K]!]);
  expect(got.nrows).toBe(groups.size);
  for (const row of rowsOf(got)) {
    const g = groups.get(JSON.stringify([row[0]]))!;
    const ds = nonNull(g.map((r) => r[D] as number | null));
    const is = nonNull(g.map((r) => r[I] as number | null));
    const ss = nonNull(g.map((r) => r[S] as string | null));
    const bs = nonNull(g.map((r) => r[B] as boolean | null));
    const v = sampleVar(ds)!;
    expectClose(row[2], v);
    expectClose(row[1], Math.sqrt(v));
    const distinct = new Set(ss).size;
    expect(row[3]).toBe(distinct);
    expect(Math.abs((row[4] as number) - distinct) / distinct).toBeLessThan(0.05);
    // ~1000 values per group: below the sketch's compaction threshold per node, exact or nearly.
    expect(rankError(is, row[5] as number, 0.5)).toBeLessThanOrEqual(0.0165);
    expect(rankError(ds, row[6] as number, 0.9)).toBeLessThanOrEqual(0.0165);
    expect(row[7]).toBe(g[0]![S]);
    expect(row[8]).toBe(g[g.length - 1]![S]);
    expect(row[9]).toBe(bs.some((x) => x));
    expect(row[10]).toBe(bs.every((x) => x));
  }
  // Under 1024 distinct values per group, the sketches count values exactly: the median and a
  // quantile are the reference's, also through a filter (the evaluator's selection of rows) over a
  // column with nulls; std over the same rows from the same numeric fast path.
  const kept = rows.filter((r) => r[B] === true);
  const fq = await lf
    .filter(col('b'))
    .groupBy('k')
    .agg([
      { col: 'i', fn: 'median' },
      { col: 'i', fn: 'quantile', q: 0.1, as: 'p10' },
      { col: 'i', fn: 'std' },
    ]);
  const fgroups = groupRows(kept, (r) => [r[K]!]);
  expect(fq.nrows).toBe(fgroups.size);
  for (const row of rowsOf(fq)) {
    const is = nonNull(fgroups.get(JSON.stringify([row[0]]))!.map((r) => r[I] as number | null));
    expect(row[1], `median of ${row[0]}`).toBe(percentileDisc(is, 0.5));
    expect(row[2], `p10 of ${row[0]}`).toBe(percentileDisc(is, 0.1));
    expectClose(row[3], Math.sqrt(sampleVar(is)!));
  }
  // Exact where the sketch never compacted: a small frame's median is the reference's.
  const small = DataFrame.fromColumns({ x: [5, 1, 4, null, 2, 3, 9] });
  await DataFrame.put(store, `${name}-small`, small, { chunkRows: 2 });
  const sl = await DataFrame.get(store, `${name}-small`);
  const m = await sl.agg([
    { col: 'x', fn: 'median' },
    { col: 'x', fn: 'quantile', q: 0.25 },
  ]);
  expect(rowsOf(m)).toEqual([[percentileDisc([5, 1, 4, 2, 3, 9], 0.5), percentileDisc([5, 1, 4, 2, 3, 9], 0.25)]]);
}

export async function checkComputedColumns(store: KvStore, rng: Rng, name: string): Promise<void> {
  const df = randomFrame(rng, 2000);
  await DataFrame.put(store, name, df, { chunkRows: 128 });
  const lf = await DataFrame.get(store, name);
  const rows = rowsOf(df);
  const q = lf
    .withColumn('x', add(mul(col('i'), 2), col('d')))
    .withColumn('u', upper(col('s')))
    .withColumn('len', length(col('s')))
    .withColumn('sub', substring(col('s'), 2, 3))
    .withColumn('has', contains(lower(col('k')), 'r'))
    .withColumn('ci', cast(col('d'), 'I'))
    .withColumn('co', coalesce(col('i'), -1))
    .withColumn(
      'sign',
      when(gt(col('d'), 0), 'pos')
        .when(not(gt(col('d'), 0)), 'nonpos')
        .otherwise('none'),
    );
  const got = rowsOf(await q.select('x', 'u', 'len', 'sub', 'has', 'ci', 'co', 'sign').collect());
  const ref = rows.map((r) => {
    const i = r[I] as number | null;
    const d = r[D] as number | null;
    const s = r[S] as string | null;
    const k = r[K] as string | null;
    return [
      i === null || d === null ? null : i * 2 + d,
      s === null ? null : s.toUpperCase(),
      s === null ? null : s.length,
      s === null ? null : s.slice(1, 4),
      k === null ? null : k.toLowerCase().includes('r'),
      d === null ? null : Math.trunc(d) + 0, // an int column has no -0 (trunc of -0.5 is -0)
      i ?? -1,
      d === null ? 'none' : d > 0 ? 'pos' : 'nonpos',
    ];
  });
  expect(got).toEqual(ref);
  // A computed column as a filter, a group key and an aggregate input.
  const agg = await lf
    .withColumn('band', when(gt(col('i'), 0), 'hi').otherwise('lo'))
    .withColumn('twice', mul(col('d'), 2))
    .filter(and(gt(col('twice'), -1000), not(contains(col('band'), 'x'))))
    .groupBy('band')
    .agg({ twice: 'sum', '*': 'count' });
  const keep = rows.filter((r) => r[D] !== null && (r[D] as number) * 2 > -1000);
  const band = (r: Row): string => (r[I] !== null && (r[I] as number) > 0 ? 'hi' : 'lo');
  const ref2 = ['hi', 'lo'].map((b) => {
    const g = keep.filter((r) => band(r) === b);
    return [b, g.reduce((a, r) => a + (r[D] as number) * 2, 0), g.length];
  });
  expect(approx(rowsOf(agg))).toEqual(approx(ref2));
}

export async function checkJoins(store: KvStore, rng: Rng, name: string): Promise<void> {
  const left = randomFrame(rng, 1500);
  const rightRows: Row[] = [];
  for (let j = 0; j < 60; j++)
    rightRows.push([
      rng.bool(0.1) ? null : rng.pick(['red', 'green', 'blue', 'cyan', 'pink']),
      rng.int(-3, 3),
      `r${j}`,
    ]);
  const right = DataFrame.fromRows('k:S,n:I,tag:S', rightRows);
  await DataFrame.put(store, `${name}-l`, left, { chunkRows: 100 });
  await DataFrame.put(store, `${name}-r`, right, { chunkRows: 16 });
  const lf = await DataFrame.get(store, `${name}-l`);
  const rf = await DataFrame.get(store, `${name}-r`);
  const lrows = rowsOf(left);
  for (const how of ['inner', 'left', 'semi', 'anti'] as const) {
    const got = rowsOf(await lf.join(rf, { on: 'k', how }).collect());
    expect(got, how).toEqual(joinRows(lrows, rightRows, [[K, 0]], how));
  }
  // A right side whose keys are unique (a dimension table; a null key is never indexed), some left
  // keys without a match: the inner join's one-match-per-row path, rows and aggregates.
  const uniqRows: Row[] = [
    ['red', 1, 'u0'],
    [null, 2, 'u1'],
    ['blue', 3, 'u2'],
    ['cyan', 4, 'u3'],
  ];
  await DataFrame.put(store, `${name}-u`, DataFrame.fromRows('k:S,n:I,tag:S', uniqRows), { chunkRows: 3 });
  const uf = await DataFrame.get(store, `${name}-u`);
  for (const how of ['inner', 'left'] as const) {
    const want = joinRows(lrows, uniqRows, [[K, 0]], how);
    expect(rowsOf(await lf.join(uf, { on: 'k', how }).collect()), `unique right, ${how}`).toEqual(want);
    const tagAt = want[0] ? want[0].length - 1 : 0;
    const counts = new Map<Row[number], number>();
    for (const r of want) counts.set(r[tagAt]!, (counts.get(r[tagAt]!) ?? 0) + 1);
    const got = rowsOf(await lf.join(uf, { on: 'k', how }).groupBy('tag').agg({ '*': 'count' }));
    expect(new Map(got.map((r) => [r[0]!, r[1]]))).toEqual(counts);
  }
  // The left frame in memory (DataFrame.join, run in this process), the right one in memory or stored.
  for (const [side, r] of [
    ['in memory', right],
    ['stored', rf],
  ] as const)
    for (const how of ['inner', 'left', 'semi', 'anti'] as const) {
      const got = rowsOf(await left.join(r, { on: 'k', how }).collect());
      expect(got, `left in memory, right ${side}, ${how}`).toEqual(joinRows(lrows, rightRows, [[K, 0]], how));
    }
  // Two keys, with a right-side column name that clashes (k -> k_right), aggregated on the nodes.
  const ref = joinRows(
    lrows,
    rightRows,
    [
      [K, 0],
      [I, 1],
    ],
    'inner',
  );
  const j = lf.join(rf, {
    on: [
      ['k', 'k'],
      ['i', 'n'],
    ],
  });
  expect(j.check().output.map((f) => f.name)).toEqual(['i', 'd', 'b', 's', 'k', 'k_right', 'n', 'tag']);
  const got = rowsOf(await j.groupBy('tag').agg({ '*': 'count', d: 'sum' }));
  const groups = groupRows(ref, (r) => [r[7]!]);
  const want = [...groups.entries()]
    .map(([t, g]) => [
      JSON.parse(t)[0],
      g.length,
      g.every((r) => r[D] === null) ? null : g.reduce((a, r) => a + ((r[D] as number) ?? 0), 0),
    ])
    .sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
  expect(approx(got)).toEqual(approx(want as Row[]));
  expect(j.explain()).toMatch(/broadcast to every node: inner join on k, i = n/);
  // A right side in memory past the broadcast limit cannot be shuffled: the join says why.
  await expect(lf.join(right, { on: 'k', broadcastLimitBytes: 10 }).count()).rejects.toThrow(
    /over 10 bytes .*a shuffle join needs both frames stored/,
  );
}

/** Rows in one canonical order, for joins whose row order is not defined (shuffle). */
const canonical = (rows: Row[]): Row[] =>
  rows
    .map((r) => [JSON.stringify(r), r] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([, r]) => r);

/** All keys under the shuffle prefix: none may be left once a join is over. */
export async function shuffleLeftovers(store: KvStore): Promise<number> {
  let n = 0;
  const it = store.scan({ gte: '\u0000df/t/', lt: '\u0000df/t0' });
  try {
    for await (const _ of it) n++;
  } finally {
    await it.close();
  }
  return n;
}

/**
 * Shuffle joins, forced by a tiny broadcast limit: every join type on one and two keys, aggregates
 * and top-k over the joined rows, against the same references as the broadcast join; the temporary
 * pieces are gone afterwards.
 */
export async function checkShuffleJoins(store: KvStore, rng: Rng, name: string): Promise<void> {
  const left = randomFrame(rng, 1500);
  // A right side with many rows per key and keys absent from the left, so buckets differ in size.
  const rightRows: Row[] = [];
  for (let j = 0; j < 150; j++)
    rightRows.push([
      rng.bool(0.1) ? null : rng.pick(['red', 'green', 'blue', 'cyan', 'pink', 'gray', 'teal']),
      rng.bool(0.05) ? null : rng.int(-20, 20),
      `r${j}`,
    ]);
  const right = DataFrame.fromRows('k:S,n:I,tag:S', rightRows);
  await DataFrame.put(store, `${name}-l`, left, { chunkRows: 150 });
  await DataFrame.put(store, `${name}-r`, right, { chunkRows: 64 });
  const lf = await DataFrame.get(store, `${name}-l`);
  const rf = await DataFrame.get(store, `${name}-r`);
  const lrows = rowsOf(left);
  const small = { broadcastLimitBytes: 1000, buckets: 5 };
  for (const how of ['inner', 'left', 'semi', 'anti'] as const) {
    const q = lf.join(rf, { on: 'k', how, ...small });
    expect(q.explain(), how).toMatch(
      new RegExp(`shuffle join, ${how} join on k: .*into 5 buckets.*\\), over the buckets it is given`),
    );
    expect(canonical(rowsOf(await q.collect())), how).toEqual(canonical(joinRows(lrows, rightRows, [[K, 0]], how)));
  }
  // Two keys (I against I), aggregated per right tag; the default bucket count.
  const on: [string, string][] = [
    ['k', 'k'],
    ['i', 'n'],
  ];
  const ref = joinRows(
    lrows,
    rightRows,
    [
      [K, 0],
      [I, 1],
    ],
    'inner',
  );
  const j = lf.join(rf, { on, broadcastLimitBytes: 4000 });
  expect(j.explain()).toMatch(/shuffle join, inner join on k, i = n: .*over the broadcast limit of 4000/);
  const groups = groupRows(ref, (r) => [r[7]!]);
  const want = [...groups.entries()]
    .map(([t, g]) => [JSON.parse(t)[0], g.length])
    .sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
  expect(rowsOf(await j.groupBy('tag').agg({ '*': 'count' }))).toEqual(want);
  // Top-k over the joined rows, by keys that leave ties only between identical rows.
  const left2 = joinRows(lrows, rightRows, [[K, 0]], 'left');
  const top = sortRows(left2, [
    [I, true, false],
    [7, false, false],
    [S, false, false],
    [D, false, false],
  ]).slice(0, 20);
  expect(
    rowsOf(
      await lf
        .join(rf, { on: 'k', how: 'left', ...small })
        .orderBy('-i', 'tag', 's', 'd')
        .limit(20)
        .collect(),
    ),
  ).toEqual(top);
  // The same join by broadcast gives the same rows.
  const b = lf.join(rf, { on: 'k', how: 'left' });
  expect(b.explain()).toMatch(/broadcast to every node/);
  expect(canonical(rowsOf(await b.collect()))).toEqual(canonical(left2));
  expect(await shuffleLeftovers(store)).toBe(0);
}

export async function checkDescribe(store: KvStore, rng: Rng, name: string): Promise<void> {
  const df = randomFrame(rng, 1000);
  await DataFrame.put(store, name, df, { chunkRows: 128 });
  const d = await (await DataFrame.get(store, name)).describe();
  const rows = rowsOf(df);
  const byCol = new Map(rowsOf(d).map((r) => [r[0], r]));
  const dcol = nonNull(rows.map((r) => r[D] as number | null));
  const dd = byCol.get('d')!;
  expect(dd[2]).toBe(dcol.length);
  expect(dd[3]).toBe(rows.length - dcol.length);
  expect(Number(dd[5])).toBe(Math.min(...dcol));
  expect(Number(dd[6])).toBe(Math.max(...dcol));
  expectClose(dd[7], dcol.reduce((a, b) => a + b, 0) / dcol.length);
  expectClose(dd[8], Math.sqrt(sampleVar(dcol)!));
  expect(rankError(dcol, dd[10] as number, 0.5)).toBeLessThanOrEqual(0.0165);
  const kd = byCol.get('k')!;
  expect(kd[4]).toBe(new Set(nonNull(rows.map((r) => r[K]))).size);
  expect(kd[7]).toBe(null);
}

const ORIGINS = ['SFO', 'JFK', 'LAX', 'ORD', 'SEA'];

/** A flights-like frame's rows: origin (S), delay (I, ~5% null), month (I). */
/**
 * A statistic equal to the reference's up to rounding: within 1e-12 of it, relative (the merge of
 * partial moments and the two-pass reference round differently; a variance of 5e7 differs by ~1e-6).
 */
function expectClose(got: unknown, want: number): void {
  expect(typeof got).toBe('number');
  expect(Math.abs((got as number) - want) / Math.max(1, Math.abs(want)), `${String(got)} against ${want}`).toBeLessThan(
    1e-12,
  );
}

export function flightRows(rng: Rng, n: number, origins: readonly string[] = ORIGINS): Row[] {
  const rows: Row[] = [];
  for (let r = 0; r < n; r++) rows.push([rng.pick(origins), rng.bool(0.05) ? null : rng.int(-30, 120), rng.int(1, 12)]);
  return rows;
}

export const FLIGHTS_SCHEMA = 'origin:S,delay:I,month:I';

/** The example statement over frame `name`. */
export const exampleSql = (name: string, limit = 10): string =>
  `SELECT origin, count(*), avg(delay) FROM ${name} WHERE delay > 0 GROUP BY origin ORDER BY 2 DESC LIMIT ${limit}`;

/** exampleSql's answer computed from the rows (ties in count in origin order, as the group keys come). */
export function exampleRef(rows: readonly Row[], limit = 10): Row[] {
  const groups = groupRows(
    rows.filter((r) => r[1] !== null && (r[1] as number) > 0),
    (r) => [r[0]!],
  );
  return sortRows(
    [...groups.entries()].map(([k, g]) => [
      JSON.parse(k)[0],
      g.length,
      g.reduce((a, r) => a + (r[1] as number), 0) / g.length,
    ]),
    [
      [1, true, false],
      [0, false, false],
    ],
  ).slice(0, limit);
}

/** The SQL example of the issue, and windows, against references. */
export async function checkSql(store: KvStore, rng: Rng, name: string): Promise<void> {
  const origins = ORIGINS;
  const rows = flightRows(rng, 3000);
  await DataFrame.put(store, name, DataFrame.fromRows(FLIGHTS_SCHEMA, rows), { chunkRows: 200 });
  const got = await DataFrame.sql(store, exampleSql(name, 3));
  expect(got.columnNames).toEqual(['origin', 'count(*)', 'avg(delay)']);
  expect(approx(rowsOf(got))).toEqual(approx(exampleRef(rows, 3)));

  // Windows: row_number, rank, running sum and lag per origin ordered by month.
  const w = await DataFrame.sql(
    store,
    `SELECT origin, month, delay,
            row_number() OVER (PARTITION BY origin ORDER BY month) AS rn,
            rank() OVER (PARTITION BY origin ORDER BY month) AS rk,
            sum(delay) OVER (PARTITION BY origin ORDER BY month) AS run,
            lag(delay) OVER (PARTITION BY origin ORDER BY month) AS prev
     FROM ${name} WHERE month <= 2 ORDER BY origin, rn`,
  );
  const want: Row[] = [];
  for (const o of [...origins].sort()) {
    const part = sortRows(
      rows.filter((r) => r[0] === o && (r[2] as number) <= 2),
      [[2, false, false]],
    );
    part.forEach((r, j) => {
      const rank = part.findIndex((x) => x[2] === r[2]) + 1;
      const peers = part.filter((x) => (x[2] as number) <= (r[2] as number));
      const ds = nonNull(peers.map((x) => x[1] as number | null));
      want.push([
        o,
        r[2]!,
        r[1]!,
        j + 1,
        rank,
        ds.length ? ds.reduce((a, b) => a + b, 0) : null,
        j > 0 ? part[j - 1]![1]! : null,
      ]);
    });
  }
  expect(rowsOf(w)).toEqual(want);

  // Expressions, aliases, HAVING, CASE, COALESCE, CAST, ordinals, OFFSET.
  const e = await DataFrame.sql(
    store,
    `SELECT lower(origin) AS o, CASE WHEN month < 7 THEN 'h1' ELSE 'h2' END AS half,
            sum(coalesce(delay, 0)) AS total, max(CAST(delay AS double)) AS worst, count(DISTINCT month) AS months
     FROM ${name} GROUP BY 1, 2 HAVING count(*) > 10 ORDER BY total DESC, o LIMIT 4 OFFSET 1`,
  );
  const g2 = groupRows(rows, (r) => [(r[0] as string).toLowerCase(), (r[2] as number) < 7 ? 'h1' : 'h2']);
  const ref2 = sortRows(
    [...g2.entries()]
      .filter(([, g]) => g.length > 10)
      .map(([k, g]) => {
        const [o, h] = JSON.parse(k) as [string, string];
        const ds = nonNull(g.map((r) => r[1] as number | null));
        return [
          o,
          h,
          g.reduce((a, r) => a + ((r[1] as number) ?? 0), 0),
          Math.max(...ds),
          new Set(g.map((r) => r[2])).size,
        ] as Row;
      }),
    [
      [2, true, false],
      [0, false, false],
    ],
  ).slice(1, 5);
  expect(rowsOf(e)).toEqual(ref2);
}
