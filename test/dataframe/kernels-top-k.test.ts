// A top-k's scan of a chunk (dataframe/query/top-k.ts): the chunk's own k-th best first key, and the
// positions it lists as still possible candidates, which alone are then tested. Against a plain sort
// of the rows: double and int keys with heavy ties, NaN, -0 beside 0 and nulls, ascending and
// descending, nulls first and last, no filter, `key IS NOT NULL` (left to the scan), a filter on
// another column (a selection), a comparison on the key (a selection the filter proves non-null),
// and chunks the filter leaves empty. Seeded; the seed is printed on failure.

import { describe, expect, it } from 'vitest';
import type { Rng } from '../../app/apps/random.js';
import { DataFrame, col, gt, isNull, lt, not, type Expr, type Value } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { rowsOf, seededRng } from './helpers.js';

type Row = Value[];

/** ORDER BY key (desc, nulls first or last), w, id: NaN above every number, -0 equal to 0. */
function reference(rows: Row[], desc: boolean, nullsFirst: boolean): Row[] {
  const rank = (v: Value): number => {
    if (v === null) return nullsFirst ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    const x = v as number;
    if (x !== x) return desc ? -1e300 : 1e300;
    return desc ? -x : x;
  };
  return [...rows].sort(
    (a, b) => rank(a[1]!) - rank(b[1]!) || (a[2] as number) - (b[2] as number) || (a[0] as number) - (b[0] as number),
  );
}

function keyValue(rng: Rng, type: 'D' | 'I', spread: number): number | null {
  if (rng.bool(0.05)) return null;
  if (type === 'I') return rng.int(-spread, spread);
  if (rng.bool(0.03)) return Number.NaN;
  if (rng.bool(0.05)) return rng.pick([0, -0]);
  return rng.int(-spread, spread) / 4;
}

describe('top-k scan kernels', () => {
  it('never take a null row for its slot value when bounding a chunk by its k-th best', async () => {
    // Negative keys in ascending order with nulls among them: a null's slot (0) would beat every
    // value, and a chunk bounded by it would keep none of its rows.
    const n = 2000;
    const key = Array.from({ length: n }, (_, i) => (i % 10 === 3 ? null : i - n));
    const df = DataFrame.fromColumns({
      id: Int32Array.from({ length: n }, (_, i) => i),
      key: { type: 'D', values: key },
    });
    const store = new MemoryStore();
    await DataFrame.put(store, 'f', df, { chunkRows: 500 });
    const lf = await DataFrame.get(store, 'f');
    const got = rowsOf(await lf.orderBy({ col: 'key', desc: true, nulls: 'last' }).limit(3).collect());
    expect(got).toEqual([
      [n - 1, -1],
      [n - 2, -2],
      [n - 3, -3],
    ]);
  });

  it('equal a plain sort with ties, NaN, -0, nulls, selections and emptied chunks', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    for (let round = 0; round < 40; round++) {
      const type = rng.pick(['D', 'I'] as const);
      const n = rng.int(0, 3000);
      // Few distinct keys (many rows tie with the k-th) or many.
      const spread = rng.pick([2, 10, 100000]);
      // Sorted keys too, either way: each chunk's rows beat the last's (the chunk's k-th bounds the
      // scan), and a chunk's better end is its first or its last row.
      const sorted = rng.pick([0, 0, 0, 1, -1]);
      const keys = Array.from({ length: n }, () => keyValue(rng, type, spread));
      if (sorted !== 0) keys.sort((a, b) => (a === null || b === null || a !== a || b !== b ? 0 : sorted * (a - b)));
      const df = DataFrame.fromColumns({
        id: Int32Array.from({ length: n }, (_, i) => i),
        key: { type, values: keys },
        // v > 0 keeps about half the rows, and none of a chunk where v is all negative.
        // A second key in no relation to the rows' order: which of the rows tied on key come
        // first is not frame order.
        w: Int32Array.from({ length: n }, () => rng.int(0, 20)),
        v: {
          type: 'D',
          values: Array.from({ length: n }, (_, i) => (rng.bool(0.1) ? null : ((i >> 7) % 3) - 1 + rng.next())),
        },
      });
      await DataFrame.put(store, 'f', df, { chunkRows: rng.pick([64, 128, 500, 1000]) });
      const lf = await DataFrame.get(store, 'f');
      const rows = rowsOf(df);
      for (let q = 0; q < 4; q++) {
        const desc = rng.bool();
        const nullsFirst = rng.bool(0.3);
        const k = rng.pick([1, 3, 10, 50]);
        const which = rng.int(0, 3);
        const filter: Expr | undefined = [undefined, not(isNull(col('key'))), gt(col('v'), 0), lt(col('key'), 1)][
          which
        ];
        const keep = (r: Row): boolean =>
          which === 0
            ? true
            : which === 1
              ? r[1] !== null
              : which === 2
                ? r[3] !== null && (r[3] as number) > 0
                : r[1] !== null && (r[1] as number) < 1;
        const want = reference(rows.filter(keep), desc, nullsFirst).slice(0, k);
        const query = (filter ? lf.filter(filter) : lf.query())
          .orderBy({ col: 'key', desc, nulls: nullsFirst ? 'first' : 'last' }, { col: 'w' }, { col: 'id' })
          .limit(k);
        const got = rowsOf(await query.collect());
        const what = `round ${round} ${type} n=${n} spread=${spread} sorted=${sorted} desc=${desc} nullsFirst=${nullsFirst} k=${k} filter=${which}`;
        // The ids say which rows, in which order.
        expect(
          got.map((r) => r[0]),
          what,
        ).toEqual(want.map((r) => r[0]));
      }
    }
  });
});
