// The filter's one-pass kernels over a column with nulls (dataframe/query/filter-valid.ts), against
// the vector evaluator (eval.ts), the plain form of the same semantics: every comparison, each array
// type, chunk lengths around the kernels' eight-row blocks (0 included), few to all rows null, NaN,
// -0 and infinities among the values and literals, and the null slots holding arbitrary values
// (which must not matter). As the first term, and after another (a selection), through
// compileFilter. Seeded; the seed is printed on failure.

import { describe, expect, it } from 'vitest';
import type { Rng } from '../../app/apps/random.js';
import { BoolColumn, DoubleColumn, IntColumn, bitSet, bitmapBytes, type Column } from '../../dataframe/column.js';
import { and, col, eq, ge, gt, le, lt, ne, not, isNull, type Expr, type Literal } from '../../dataframe/index.js';
import { compile, selection } from '../../dataframe/query/eval.js';
import { checkExpr } from '../../dataframe/query/expr.js';
import { compileFilter } from '../../dataframe/query/filter.js';
import type { Field } from '../../dataframe/schema.js';
import { seededRng } from './helpers.js';

const OPS = [eq, ne, lt, le, gt, ge];
const SPECIALS = [Number.NaN, -0, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.5];

/** A null bitmap with each of n rows null with probability p (undefined when p is 0). */
function nullBits(rng: Rng, n: number, p: number): Uint8Array | undefined {
  if (p === 0) return undefined;
  const bm = new Uint8Array(bitmapBytes(n));
  for (let r = 0; r < n; r++) if (rng.bool(p)) bitSet(bm, r);
  return bm;
}

/** Columns x (the compared one) and k (a second column with nulls, for a first term before x's). */
function chunk(rng: Rng, type: 'D' | 'I' | 'B', n: number, pNull: number): { fields: Field[]; cols: Column[] } {
  // Every slot gets a value, null or not: a null slot's value must not change what is kept.
  const nulls = nullBits(rng, n, pNull);
  let x: Column;
  if (type === 'D')
    x = new DoubleColumn(
      Float64Array.from({ length: n }, () => (rng.bool(0.15) ? rng.pick(SPECIALS) : rng.int(-8, 8) / 4)),
      n,
      nulls,
    );
  else if (type === 'I')
    x = new IntColumn(
      Int32Array.from({ length: n }, () => rng.int(-5, 5)),
      n,
      nulls,
    );
  else
    x = new BoolColumn(
      Uint8Array.from({ length: n }, () => rng.int(0, 1)),
      n,
      nulls,
    );
  const k = new IntColumn(
    Int32Array.from({ length: n }, () => rng.int(0, 3)),
    n,
    nullBits(rng, n, 0.2),
  );
  return {
    fields: [
      { name: 'x', type },
      { name: 'k', type: 'I' },
    ],
    cols: [x, k],
  };
}

function literals(rng: Rng, type: 'D' | 'I' | 'B'): Literal[] {
  if (type === 'B') return [true, false];
  return [-1, 0, -0, 0.25, rng.int(-5, 5), Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
}

describe('filter kernels over columns with nulls', () => {
  it('keep the rows the vector evaluator keeps, whatever the null slots hold', () => {
    const rng = seededRng();
    const lengths = [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000];
    let kept = 0;
    for (const type of ['D', 'I', 'B'] as const)
      for (const n of [...lengths, rng.int(100, 3000)])
        for (const pNull of [0.02, 0.5, 1]) {
          const { fields, cols } = chunk(rng, type, n, pNull);
          for (const op of OPS)
            for (const v of literals(rng, type)) {
              const cmp = rng.bool() ? op(col('x'), v) : op(v, col('x'));
              // The comparison first (all rows), after a term on k (a selection), after a term on k
              // that keeps every row of k that is not null.
              for (const e of [cmp, and(lt(col('k'), 2), cmp), and(not(isNull(col('k'))), cmp)] as Expr[]) {
                checkExpr(e, fields);
                const what = `${type} n=${n} nulls=${pNull} ${JSON.stringify(e)}`;
                const want = [...selection(compile(e, fields)(cols, n), n)];
                const got = [...compileFilter(e, fields)(cols, n)];
                expect(got, what).toEqual(want);
                kept += got.length;
              }
            }
        }
    // Not a test that passes by keeping nothing.
    expect(kept).toBeGreaterThan(10_000);
  });
});
