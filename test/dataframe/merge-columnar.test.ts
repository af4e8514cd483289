// A node answers an aggregate query's groups by column (`cgroups`) when the client asks for them
// (`cg` in the task payload) and by row otherwise (an older client); the client merges either, and a
// mix of both (older and newer nodes), into the same result. Checked on random frames (keys with
// nulls, NaN, -0 and strings; count, sum, mean, exact int64 sums, min, max, count(distinct),
// median), each partial through a msgpack round trip as on the wire; and malformed columnar
// partials are refused as protocol errors, never merged.

import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { sliceColumn } from '../../dataframe/column.js';
import { DataFrame, type Value } from '../../dataframe/index.js';
import { groupKeyText } from '../../dataframe/query/group-key.js';
import { mergePartials } from '../../dataframe/query/merge.js';
import { runPartial } from '../../dataframe/query/partial.js';
import { type AggSpec, checkPlan, type Plan } from '../../dataframe/query/plan.js';
import { QUERY_TASK } from '../../dataframe/query/tasks.js';
import { metaToPlain } from '../../dataframe/meta.js';
import { FakeCluster } from './fake-cluster.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);
const packr = new Packr({ useRecords: false, useBigIntExtension: true } as never);
const wire = (x: unknown): unknown => packr.unpack(packr.pack(x));

/** Cells as text that tells -0, NaN, bigints and nulls apart. */
const text = (v: Value): string =>
  typeof v === 'bigint'
    ? `${v}n`
    : Object.is(v, -0)
      ? '-0'
      : typeof v === 'number' && v !== v
        ? 'NaN'
        : JSON.stringify(v);
const rowsOf = (df: DataFrame): string[] => [...df.rows()].map((r) => r.map(text).join('|'));

function randomFrame(rng: Rng, n: number): DataFrame {
  const strs = Array.from({ length: rng.int(1, 40) }, (_, i) => `s${i}`);
  const rows: Value[][] = [];
  for (let r = 0; r < n; r++) {
    const x = rng.bool(0.1) ? null : rng.bool(0.03) ? Number.NaN : rng.bool(0.03) ? -0 : rng.int(-1000, 1000) / 8;
    rows.push([
      rng.bool(0.05) ? null : strs[rng.int(0, strs.length - 1)]!,
      rng.bool(0.05) ? null : rng.int(-30, 30),
      x,
      rng.bool(0.1) ? null : BigInt(rng.int(-5, 5)) * 2n ** 48n + BigInt(rng.int(0, 1000)),
    ]);
  }
  return DataFrame.fromRows('s:S,i:I,x:D,l:L', rows);
}

const AGGS: AggSpec[] = [
  { col: '*', fn: 'count', as: 'n' },
  { col: 'x', fn: 'count', as: 'cx' },
  { col: 'x', fn: 'sum', as: 'sx' },
  { col: 'x', fn: 'mean', as: 'mx' },
  { col: 'l', fn: 'sum', as: 'sl' },
  { col: 'x', fn: 'min', as: 'lo' },
  { col: 's', fn: 'max', as: 'hi' },
  { col: 'i', fn: 'countDistinct', as: 'di' },
  { col: 'x', fn: 'median', as: 'med' },
];

/** The partials of `plan` over `df` split into `parts` row ranges (one per simulated node). */
async function partials(df: DataFrame, plan: Plan, parts: number, columnar: boolean[]): Promise<unknown[]> {
  const checked = checkPlan(plan, df.fields);
  const chunkRows = 97;
  const nchunks = Math.ceil(df.nrows / chunkRows);
  const out: unknown[] = [];
  for (let p = 0; p < parts; p++) {
    const chunks = Array.from({ length: nchunks }, (_, i) => i).filter((i) => i % parts === p);
    const rows = (i: number) => Math.min(chunkRows, df.nrows - i * chunkRows);
    const r = await runPartial(
      checked,
      checked.fields,
      async (i) => df.columns.map((c) => sliceColumn(c, i * chunkRows, i * chunkRows + rows(i))),
      rows,
      chunks,
      1,
      undefined,
      { columnar: columnar[p]! },
    );
    out.push(wire(r));
  }
  return out;
}

describe('aggregate partials by column', () => {
  it('merge as the same partials by row do, alone and mixed, for random frames and groupings', async () => {
    const rng = new Rng(SEED);
    const groupings = [[], ['s'], ['i'], ['x'], ['s', 'i'], ['i', 'x', 's']];
    for (let t = 0; t < 24; t++) {
      const df = randomFrame(rng, rng.int(0, 1500));
      const groupBy = groupings[t % groupings.length]!;
      const aggs = AGGS.filter(() => rng.bool(0.6));
      if (aggs.length === 0) aggs.push(AGGS[0]!);
      const plan: Plan = { aggs, ...(groupBy.length ? { groupBy } : {}) };
      const checked = checkPlan(plan, df.fields);
      const nchunks = Math.ceil(df.nrows / 97);
      const what = `seed ${SEED} (EAU2_TEST_SEED=${SEED}) case ${t}: ${df.nrows} rows by [${groupBy}] ${aggs.map((a) => a.fn)}`;
      const byRow = mergePartials(checked, await partials(df, plan, 3, [false, false, false]), nchunks);
      const byCol = mergePartials(checked, await partials(df, plan, 3, [true, true, true]), nchunks);
      const mixed = mergePartials(checked, await partials(df, plan, 3, [true, false, true]), nchunks);
      expect(rowsOf(byCol), what).toEqual(rowsOf(byRow));
      expect(rowsOf(mixed), what).toEqual(rowsOf(byRow));
      // The same answer as one partial over the whole frame.
      expect(rowsOf(byCol), what).toEqual(
        rowsOf(mergePartials(checked, await partials(df, plan, 1, [false]), nchunks)),
      );
    }
  });

  it('groups several key columns as group keys compare (0 and -0 one, NaN one, null one), as a plain loop does', async () => {
    const rng = new Rng(SEED ^ 0x2468);
    for (const groupBy of [
      ['s', 'x'],
      ['x', 'i'],
      ['i', 'l', 's'],
      ['x', 'l'],
    ]) {
      const df = randomFrame(rng, rng.int(0, 1200));
      const plan: Plan = { groupBy, aggs: [{ col: '*', fn: 'count', as: 'n' }] };
      const checked = checkPlan(plan, df.fields);
      const got = mergePartials(checked, await partials(df, plan, 3, [true, false, true]), Math.ceil(df.nrows / 97));
      // The reference: one group per key text (groupKeyText), counted row by row.
      const idx = groupBy.map((g) => df.fields.findIndex((f) => f.name === g));
      const counts = new Map<string, [Value[], number]>();
      for (const row of df.rows()) {
        const key = idx.map((i) => row[i]!);
        const t = groupKeyText(key);
        const e = counts.get(t);
        if (e) e[1]++;
        else counts.set(t, [key, 1]);
      }
      const want = [...counts.values()].map(([k, n]) => [...k.map((v) => (Object.is(v, -0) ? 0 : v)), n]);
      const norm = (rows: Value[][]) =>
        rows.map((r) => r.map((v) => (Object.is(v, -0) ? '0' : text(v))).join('|')).sort();
      expect(norm([...got.rows()]), `seed ${SEED ^ 0x2468} by ${groupBy}`).toEqual(norm(want));
    }
  });

  it('refuses a malformed columnar partial', async () => {
    const df = randomFrame(new Rng(SEED ^ 0xbeef), 300);
    const plan: Plan = {
      groupBy: ['s'],
      aggs: [
        { col: '*', fn: 'count', as: 'n' },
        { col: 'x', fn: 'mean', as: 'm' },
      ],
    };
    const checked = checkPlan(plan, df.fields);
    const [good] = (await partials(df, plan, 1, [true])) as { chunks: number[]; cgroups: Record<string, unknown> }[];
    const nchunks = Math.ceil(df.nrows / 97);
    const bad = (cgroups: unknown) => () => mergePartials(checked, [{ chunks: good!.chunks, cgroups }], nchunks);
    const g = good!.cgroups as { n: number; k: unknown[][]; a: Record<string, unknown[]>[] };
    expect(bad(g)).not.toThrow();
    expect(bad({ ...g, n: g.n + 1 })).toThrow(/bad partial query result: bad groups: a list of another length/);
    expect(bad({ ...g, n: -1 })).toThrow(/bad partial query result: bad groups/);
    expect(bad({ ...g, k: [] })).toThrow(/bad partial query result: bad groups/);
    expect(bad({ ...g, a: [g.a[0]] })).toThrow(/bad partial query result: bad groups/);
    expect(bad({ ...g, a: [{ c: g.a[0]!.c!.map(() => 'x') }, g.a[1]] })).toThrow(/bad count accumulator/);
    expect(bad({ ...g, a: [g.a[0], { ...g.a[1], s: g.a[1]!.s!.map(() => '1.5') }] })).toThrow(/bad sum accumulator/);
    expect(bad({ ...g, a: [g.a[0], { c: g.a[1]!.c }] })).toThrow(/a list of another length/);
    expect(bad(null)).toThrow(/bad groups/);
  });

  it('a node answers by column only a client that asks (cg), by row an older one', async () => {
    const store = new FakeCluster(3, 16, 2);
    const meta = await DataFrame.put(store, 't', randomFrame(new Rng(SEED ^ 0x77), 500), { chunkRows: 64 });
    const plan = { groupBy: ['s'], aggs: [{ col: 'x', fn: 'sum', as: 'sx' }] };
    const asked = (await store.runTask(QUERY_TASK, { meta: metaToPlain(meta), plan, cg: true })) as object[];
    const older = (await store.runTask(QUERY_TASK, { meta: metaToPlain(meta), plan })) as object[];
    for (const r of asked) expect(Object.keys(r)).toContain('cgroups');
    for (const r of asked) expect(Object.keys(r)).not.toContain('groups');
    for (const r of older) expect(Object.keys(r)).toContain('groups');
    for (const r of older) expect(Object.keys(r)).not.toContain('cgroups');
    const checked = checkPlan(plan as Plan, meta.fields);
    expect(rowsOf(mergePartials(checked, asked, meta.nchunks))).toEqual(
      rowsOf(mergePartials(checked, older, meta.nchunks)),
    );
  });

  it('counts columnar groups against maxGroups', async () => {
    const df = randomFrame(new Rng(SEED ^ 0x51), 1000);
    const plan: Plan = { groupBy: ['i'], aggs: [{ col: '*', fn: 'count', as: 'n' }] };
    const checked = checkPlan(plan, df.fields);
    const parts = await partials(df, plan, 2, [true, true]);
    const nchunks = Math.ceil(df.nrows / 97);
    const groups = mergePartials(checked, parts, nchunks).nrows;
    expect(() => mergePartials(checked, parts, nchunks, groups - 1)).toThrow(/more than/);
    expect(mergePartials(checked, parts, nchunks, groups).nrows).toBe(groups);
  });
});
