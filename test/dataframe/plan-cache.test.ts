// DataFrame.sql keeps, per store, the plans of the statements it ran lately (sql/run.ts): a repeated
// statement runs its plan without opening its frames or planning again. The plan must never outlive
// the frame versions it was planned from: a replaced frame (same or another schema) and a deleted one
// make the statement be planned again. Checked against answers computed from the frames in plain code.

import { describe, expect, it } from 'vitest';
import { DataFrame } from '../../dataframe/index.js';
import type { Value } from '../../dataframe/schema.js';
import { cachedPlans } from '../../dataframe/sql/run.js';
import { MemoryStore } from '../support/memory-store.js';
import { randomFrame, rowsOf, seededRng } from './helpers.js';

const GROUPED = 'SELECT k, count(*) AS n, sum(i) AS s FROM t WHERE i > -500 GROUP BY k ORDER BY k';

/** GROUPED's answer, in plain code (a null k's group sorts last, as ORDER BY's default ASC NULLS LAST). */
function grouped(df: DataFrame): Value[][] {
  const k = df.fields.findIndex((f) => f.name === 'k');
  const i = df.fields.findIndex((f) => f.name === 'i');
  const acc = new Map<string | null, [number, number]>();
  for (const r of df.rows()) {
    const v = r[i] as number | null;
    if (v === null || !(v > -500)) continue;
    const key = r[k] as string | null;
    const a = acc.get(key) ?? [0, 0];
    a[0]++;
    a[1] += v;
    acc.set(key, a);
  }
  const keys = [...acc.keys()].sort((a, b) => (a === null ? 1 : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0));
  return keys.map((key) => [key, ...acc.get(key)!]);
}

describe('the SQL plan cache', () => {
  it('runs a repeated statement from one cached plan, with the same answer', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    const df = randomFrame(rng, 700);
    await DataFrame.put(store, 't', df, { chunkRows: 100 });
    expect(cachedPlans(store)).toBe(0);
    for (let k = 0; k < 3; k++) expect(rowsOf(await DataFrame.sql(store, GROUPED))).toEqual(grouped(df));
    expect(cachedPlans(store)).toBe(1);
    // The frames a caller passes are not versioned: such statements are not kept.
    await DataFrame.sql(store, 'SELECT count(*) FROM mem', { frames: { mem: df } });
    expect(cachedPlans(store)).toBe(1);
    // Nor joins: a join's query holds the right side it broadcast.
    await DataFrame.put(store, 'codes', DataFrame.fromColumns({ code: ['red', 'blue'], grp: ['g0', 'g1'] }));
    const joinQ = 'SELECT r.grp, count(*) AS n FROM t JOIN codes r ON t.k = r.code GROUP BY r.grp ORDER BY r.grp';
    expect(rowsOf(await DataFrame.sql(store, joinQ))).toEqual(rowsOf(await DataFrame.sql(store, joinQ)));
    expect(cachedPlans(store)).toBe(1);
  });

  it('plans again after a replace with the same schema, another schema, and after a delete', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    const a = randomFrame(rng, 500);
    await DataFrame.put(store, 't', a, { chunkRows: 64 });
    expect(rowsOf(await DataFrame.sql(store, GROUPED))).toEqual(grouped(a));
    const b = randomFrame(rng, 900);
    await DataFrame.put(store, 't', b, { chunkRows: 128 });
    expect(rowsOf(await DataFrame.sql(store, GROUPED))).toEqual(grouped(b));
    expect(rowsOf(await DataFrame.sql(store, GROUPED))).toEqual(grouped(b));
    // i becomes a double column: the comparison and the sum are planned for doubles.
    const n = 300;
    const doubles = DataFrame.fromColumns({
      k: Array.from({ length: n }, (_, j) => `k${j % 5}`),
      i: Float64Array.from({ length: n }, (_, j) => j / 4 - 40),
    });
    await DataFrame.put(store, 't', doubles, { chunkRows: 50 });
    expect(rowsOf(await DataFrame.sql(store, GROUPED))).toEqual(grouped(doubles));
    // Without column i the statement is wrong, and says so.
    await DataFrame.put(store, 't', DataFrame.fromColumns({ k: ['x', 'y'] }));
    await expect(DataFrame.sql(store, GROUPED)).rejects.toThrow(/no column named i/);
    await DataFrame.put(store, 't', a, { chunkRows: 64 });
    expect(rowsOf(await DataFrame.sql(store, GROUPED))).toEqual(grouped(a));
    expect(await DataFrame.delete(store, 't')).toBe(true);
    await expect(DataFrame.sql(store, GROUPED)).rejects.toThrow(/no frame named t/);
  });

  it('does not run a plan made from a version it found replaced again', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    const a = randomFrame(rng, 600);
    await DataFrame.put(store, 't', a, { chunkRows: 100 });
    const reads = async (): Promise<number> => {
      const g0 = store.stats.gets;
      await DataFrame.sql(store, GROUPED);
      return store.stats.gets - g0;
    };
    await reads();
    const steady = await reads(); // the chunks and one check of the metadata
    const b = randomFrame(rng, 600);
    await DataFrame.put(store, 't', b, { chunkRows: 100 });
    // The first query after the replace runs the old plan, finds its version replaced, and runs
    // again from fresh metadata; after that, a query costs what it cost before the replace.
    expect(await reads()).toBeGreaterThan(steady);
    await reads();
    expect(await reads()).toBe(steady);
    expect(rowsOf(await DataFrame.sql(store, GROUPED))).toEqual(grouped(b));
  });

  it('answers from the current version through random replaces, deletes and repeated statements', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    const joinQ = 'SELECT r.grp, count(*) AS n FROM t JOIN codes r ON t.k = r.code GROUP BY r.grp ORDER BY r.grp';
    let cur: DataFrame | undefined;
    let codes: DataFrame | undefined;
    const joined = (): Value[][] => {
      const grp = new Map([...codes!.rows()].map((r) => [r[0] as string, r[1] as string]));
      const kc = cur!.fields.findIndex((f) => f.name === 'k');
      const n = new Map<string, number>();
      for (const r of cur!.rows()) {
        const g = grp.get(r[kc] as string);
        if (g !== undefined) n.set(g, (n.get(g) ?? 0) + 1);
      }
      return [...n.keys()].sort().map((g) => [g, n.get(g)!]);
    };
    for (let step = 0; step < 60; step++) {
      const op = rng.int(0, 9);
      if (op <= 1) {
        cur = randomFrame(rng, rng.int(0, 400));
        await DataFrame.put(store, 't', cur, { chunkRows: rng.int(20, 120) });
      } else if (op === 2) {
        const keys = ['red', 'green', 'blue', 'cyan'];
        codes = DataFrame.fromColumns({ code: keys, grp: keys.map(() => `g${rng.int(0, 2)}`) });
        await DataFrame.put(store, 'codes', codes);
      } else if (op === 3 && rng.bool(0.3)) {
        const name = rng.bool() ? 't' : 'codes';
        expect(await DataFrame.delete(store, name)).toBe((name === 't' ? cur : codes) !== undefined);
        if (name === 't') cur = undefined;
        else codes = undefined;
      } else if (op <= 6) {
        if (cur) expect(rowsOf(await DataFrame.sql(store, GROUPED)), `step ${step}`).toEqual(grouped(cur));
        else await expect(DataFrame.sql(store, GROUPED)).rejects.toThrow(/no frame named t/);
      } else if (cur && codes) {
        expect(rowsOf(await DataFrame.sql(store, joinQ)), `step ${step}`).toEqual(joined());
      } else {
        await expect(DataFrame.sql(store, joinQ)).rejects.toThrow(/no frame named (t|codes)/);
      }
    }
  });
});
