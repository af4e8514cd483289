// Filters as selection vectors (dataframe/query/filter.ts): the branch-free comparison kernels and the
// term-by-term narrowing keep exactly the rows that the vector evaluator (eval.ts) keeps, for every
// operator, column type and literal side, with and without nulls, NaN and infinities.

import { describe, expect, it } from 'vitest';
import {
  DataFrame,
  and,
  col,
  eq,
  ge,
  gt,
  isNull,
  le,
  lt,
  ne,
  not,
  or,
  type Expr,
  type Literal,
} from '../../dataframe/index.js';
import { compile, selection } from '../../dataframe/query/eval.js';
import { compileFilter } from '../../dataframe/query/filter.js';
import { checkExpr } from '../../dataframe/query/expr.js';
import type { Rng } from '../../app/apps/random.js';
import { seededRng } from './helpers.js';

const OPS = [eq, ne, lt, le, gt, ge];

/** A frame whose columns have no nulls unless `nulls`, with repeated values so eq/ne matter. */
function frame(rng: Rng, n: number, nulls: boolean): DataFrame {
  const maybe = <T>(v: T): T | null => (nulls && rng.bool(0.15) ? null : v);
  const specials = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0.5];
  return DataFrame.fromColumns({
    i: { type: 'I', values: Array.from({ length: n }, () => maybe(rng.int(-5, 5))) },
    d: {
      type: 'D',
      values: Array.from({ length: n }, () => maybe(rng.bool(0.1) ? rng.pick(specials) : rng.int(-8, 8) / 4)),
    },
    b: { type: 'B', values: Array.from({ length: n }, () => maybe(rng.bool())) },
    s: { type: 'S', values: Array.from({ length: n }, () => maybe(rng.pick(['a', 'b', 'c']))) },
  });
}

function randomTerm(rng: Rng): Expr {
  const op = rng.pick(OPS);
  const which = rng.int(0, 5);
  let c: string;
  let v: Literal;
  if (which <= 1) [c, v] = ['i', rng.pick([rng.int(-6, 6), 2.5, Number.NaN, null])];
  else if (which <= 3) [c, v] = ['d', rng.pick([rng.int(-8, 8) / 4, Number.NaN, Number.POSITIVE_INFINITY, -0])];
  else if (which === 4) [c, v] = ['b', rng.bool()];
  else {
    // Null tests run on the null bitmap (filter.ts's nullStep), any column type.
    const c = rng.pick(['i', 'd', 'b', 's']);
    return rng.pick([isNull(col(c)), not(isNull(col(c))), or(eq(col('s'), 'a'), not(col('b')))]);
  }
  return rng.bool() ? op(col(c), v) : op(v, col(c));
}

function vectorRows(e: Expr, df: DataFrame): number[] {
  const cols = df.fields.map((f) => df.column(f.name));
  return [...selection(compile(e, df.fields)(cols, df.nrows), df.nrows)];
}

function kernelRows(e: Expr, df: DataFrame): number[] {
  const cols = df.fields.map((f) => df.column(f.name));
  return [...compileFilter(e, df.fields)(cols, df.nrows)];
}

describe('selection-vector filters', () => {
  it('keep the same rows as the vector evaluator for single comparisons of every kind', () => {
    const rng = seededRng();
    for (const nulls of [false, true]) {
      const df = frame(rng, 500, nulls);
      for (const c of ['i', 'd', 'b']) {
        for (const op of OPS) {
          for (const v of c === 'b' ? [true, false] : [-1, 0, 0.25, 3, Number.NaN, Number.NEGATIVE_INFINITY]) {
            for (const e of [op(col(c), v), op(v, col(c))]) {
              checkExpr(e, df.fields);
              expect(kernelRows(e, df), `${JSON.stringify(e)} nulls=${nulls}`).toEqual(vectorRows(e, df));
            }
          }
        }
      }
    }
  });

  it('narrow term by term through ANDs (nested too) to the rows where every term is true', () => {
    const rng = seededRng();
    for (let round = 0; round < 60; round++) {
      const df = frame(rng, rng.int(0, 300), rng.bool());
      const k = rng.int(1, 4);
      const ts = Array.from({ length: k }, () => randomTerm(rng));
      const e = k >= 3 && rng.bool() ? and(ts[0]!, and(...ts.slice(1))) : k === 1 ? ts[0]! : and(...ts);
      checkExpr(e, df.fields);
      expect(kernelRows(e, df), JSON.stringify(e)).toEqual(vectorRows(e, df));
    }
  });

  it('name as non-null only columns that no kept row has null (what aggregates then skip testing)', () => {
    const rng = seededRng();
    let claimed = 0;
    for (let round = 0; round < 80; round++) {
      const df = frame(rng, rng.int(0, 300), true);
      const ts = Array.from({ length: rng.int(1, 3) }, () => randomTerm(rng));
      const e = ts.length === 1 ? ts[0]! : and(...ts);
      checkExpr(e, df.fields);
      const cols = df.fields.map((f) => df.column(f.name));
      const select = compileFilter(e, df.fields);
      const rows = [...select(cols, df.nrows)];
      for (const c of select.nonNull) {
        claimed++;
        for (const r of rows) expect(cols[c]!.get(r), `${JSON.stringify(e)} column ${c} row ${r}`).not.toBeNull();
      }
    }
    // Comparisons and IS NOT NULL are common among the random terms: the property was exercised.
    expect(claimed).toBeGreaterThan(20);
    // A term that is not a comparison with a literal or IS NOT NULL claims nothing.
    const df = frame(rng, 10, true);
    expect([...compileFilter(or(eq(col('s'), 'a'), not(col('b'))), df.fields).nonNull]).toEqual([]);
    expect([...compileFilter(isNull(col('i')), df.fields).nonNull]).toEqual([]);
    expect([...compileFilter(and(gt(col('d'), 0), not(isNull(col('s')))), df.fields).nonNull].sort()).toEqual([1, 3]);
  });

  it('keeps every row of a chunk when a term is always true and none when one is never true', () => {
    const df = DataFrame.fromColumns({ x: new Float64Array([1, 2, 3]), f: [true, true, false] });
    expect(kernelRows(gt(col('x'), 0), df)).toEqual([0, 1, 2]);
    expect(kernelRows(and(gt(col('x'), 0), eq(col('f'), true)), df)).toEqual([0, 1]);
    expect(kernelRows(and(lt(col('x'), 0), eq(col('f'), true)), df)).toEqual([]);
    expect(kernelRows(and(eq(col('f'), true), eq(col('x'), null)), df)).toEqual([]);
    // IS NULL / IS NOT NULL on a chunk without a null bitmap.
    expect(kernelRows(isNull(col('x')), df)).toEqual([]);
    expect(kernelRows(not(isNull(col('x'))), df)).toEqual([0, 1, 2]);
    expect(kernelRows(and(eq(col('f'), true), not(isNull(col('x')))), df)).toEqual([0, 1]);
  });
});
