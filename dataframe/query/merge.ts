// The "merge" half of query execution: combines partial results (from nodes or from local runs) into
// the result frame. Partials are untrusted plain data, so their shape is checked, and so is coverage:
// every chunk of the frame must be answered exactly once, or the query fails rather than return a
// count that silently misses a node's share (UNAVAILABLE) or counts a chunk twice (PROTOCOL).

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { bodyToColumn } from '../chunk-codec.js';
import { ColumnBuilder } from '../column-builder.js';
import { isPlainObject } from '../envelope.js';
import { DataFrame } from '../dataframe.js';
import { INT64_MAX, INT64_MIN, type ColumnType, type Value } from '../schema.js';
import { compareKeys, groupKeyText, valueBefore } from './group-key.js';
import { initAcc, type Acc, type PartialResult } from './partial.js';
import type { AggFn, AggSpec, CheckedPlan } from './plan.js';
import { AGG_IMPLS, DistinctBudget, isGenericAgg, type AggState } from './aggregates.js';
import { compareRanked, sortKey, type Ranked } from './sort.js';
import { tooManyGroups } from './page.js';

export { compareKeys } from './group-key.js';

function protocol(msg: string): Eau2Error {
  return new Eau2Error(ErrorCode.PROTOCOL, `bad partial query result: ${msg}`);
}

function checkCoverage(partials: readonly PartialResult[], nchunks: number): void {
  const seen = new Uint8Array(nchunks);
  for (const p of partials) {
    for (const c of p.chunks) {
      if (!Number.isInteger(c) || c < 0 || c >= nchunks) throw protocol(`chunk number ${String(c)} out of range`);
      if (seen[c]) throw protocol(`chunk ${c} was answered twice (two nodes claim to lead it)`);
      seen[c] = 1;
    }
  }
  const missing = seen.reduce((k, s) => k + (s ? 0 : 1), 0);
  if (missing > 0) {
    throw new Eau2Error(
      ErrorCode.UNAVAILABLE,
      `${missing} of ${nchunks} chunks were not answered: no reachable node leads them`,
      {
        details: { missing, nchunks },
      },
    );
  }
}

/**
 * a and b combined. A sum or mean's [sum, n] pair `a` is updated in place: every accumulator the
 * merge holds was decoded (or built) for this merge alone.
 */
function combine(fn: AggFn, a: Acc, b: Acc): Acc {
  if (fn === 'count') return (a as number) + (b as number);
  if (fn === 'sum' || fn === 'mean') {
    const x = a as [number | string, number];
    const [s2, n2] = b as [number | string, number];
    const s1 = x[0];
    // Exact int64 sums travel as decimal text; a partial over no rows of them is still the number 0.
    x[0] = typeof s1 === 'string' || typeof s2 === 'string' ? (BigInt(s1) + BigInt(s2)).toString() : s1 + s2;
    x[1] += n2;
    return x;
  }
  if (isGenericAgg(fn)) {
    (a as AggState).merge(b as AggState);
    return a;
  }
  if (a === null) return b;
  if (b === null) return a;
  const [x, y] = [a as Value, b as Value];
  return (fn === 'min' ? valueBefore(y, x) : valueBefore(x, y)) ? b : a;
}

function checkAcc(spec: AggSpec, a: unknown, budget: DistinctBudget): Acc {
  const fn = spec.fn;
  if (isGenericAgg(fn)) {
    try {
      return AGG_IMPLS[fn].fromPlain(a, spec, budget);
    } catch (e) {
      if (e instanceof TypeError) throw protocol(e.message);
      throw e;
    }
  }
  const ok =
    fn === 'count'
      ? typeof a === 'number'
      : fn === 'sum' || fn === 'mean'
        ? Array.isArray(a) &&
          a.length === 2 &&
          (typeof a[0] === 'number' || (typeof a[0] === 'string' && /^-?\d{1,40}$/.test(a[0]))) &&
          typeof a[1] === 'number'
        : a === null ||
          typeof a === 'number' ||
          typeof a === 'string' ||
          typeof a === 'boolean' ||
          typeof a === 'bigint';
  if (!ok) throw protocol(`bad ${fn} accumulator`);
  return a as Acc;
}

function finish(fn: AggFn, a: Acc, type: ColumnType): Value {
  if (isGenericAgg(fn)) return (a as AggState).finish();
  if (fn === 'count') return a as number;
  if (fn === 'sum' || fn === 'mean') {
    const [s, n] = a as [number | string, number];
    if (n === 0) return null;
    if (type === 'L') {
      const v = BigInt(s);
      if (v < INT64_MIN || v > INT64_MAX)
        throw new Eau2Error(ErrorCode.INVALID, `the sum ${v} is outside the int64 range`, {
          details: { sum: String(v) },
        });
      return v;
    }
    // The mean of an int64 column: its exact sum rounded to a double, then divided.
    return fn === 'sum' ? Number(s) : Number(s) / n;
  }
  return a as Value;
}

function shape(raw: unknown): PartialResult {
  if (!isPlainObject(raw) || !Array.isArray(raw.chunks)) throw protocol('not an object with a chunks list');
  return raw as unknown as PartialResult;
}

export function mergePartials(
  checked: CheckedPlan,
  raws: readonly unknown[],
  nchunks: number,
  maxGroups = Number.POSITIVE_INFINITY,
): DataFrame {
  const partials = raws.map(shape);
  checkCoverage(partials, nchunks);
  const { plan, output } = checked;
  const builders = output.map((f) => new ColumnBuilder(f.type, 1024, f.name));

  if (plan.aggs === undefined && plan.orderBy) {
    const keys = plan.orderBy.map(sortKey);
    const all: Ranked[] = [];
    for (const p of partials) {
      if (!Array.isArray(p.ranked)) throw protocol('ordered row query result without ranked rows');
      for (const r of p.ranked) {
        if (
          !Array.isArray(r) ||
          r.length !== 4 ||
          !Number.isInteger(r[0]) ||
          !Number.isInteger(r[1]) ||
          !Array.isArray(r[2]) ||
          r[2].length !== keys.length ||
          !Array.isArray(r[3]) ||
          r[3].length !== output.length
        )
          throw protocol('bad ranked row');
        all.push({ chunk: r[0], row: r[1], keys: r[2], values: r[3] });
      }
    }
    all.sort((a, b) => compareRanked(a, b, keys));
    const from = plan.offset ?? 0;
    const to = plan.limit === undefined ? all.length : from + plan.limit;
    for (const r of all.slice(from, to)) r.values.forEach((v, j) => builders[j]!.push(v as Value));
    return DataFrame.fromFields(
      output,
      builders.map((b) => b.finish()),
    );
  }

  if (plan.aggs === undefined) {
    const parts: [number, unknown[]][] = [];
    for (const p of partials) {
      if (!Array.isArray(p.rows)) throw protocol('row query result without rows');
      for (const r of p.rows) {
        if (!Array.isArray(r) || typeof r[0] !== 'number' || !Array.isArray(r[1]) || r[1].length !== output.length) {
          throw protocol('bad row chunk');
        }
        parts.push(r as [number, unknown[]]);
      }
    }
    parts.sort((a, b) => a[0] - b[0]);
    const limit = plan.limit ?? Number.POSITIVE_INFINITY;
    let skip = plan.offset ?? 0;
    let total = 0;
    for (const [chunk, bodies] of parts) {
      if (total >= limit) break;
      const cols = bodies.map((b, c) => bodyToColumn(b, `query result for chunk ${chunk}`, output[c]!.type));
      const n = cols[0]!.length;
      if (cols.some((c) => c.length !== n)) throw protocol(`columns of chunk ${chunk} differ in length`);
      const from = Math.min(n, skip);
      skip -= from;
      const k = Math.min(n - from, limit - total);
      cols.forEach((c, j) => builders[j]!.appendColumn(c, from, from + k));
      total += k;
    }
    return DataFrame.fromFields(
      output,
      builders.map((b) => b.finish()),
    );
  }

  const aggs = plan.aggs;
  const nkeys = (plan.groupBy ?? []).length;
  // One key column: the value itself is the map key (a Map's SameValueZero keeps 0 and -0, and every
  // NaN, in one group, as groupKeyText does), sparing a JSON text per group of every partial.
  const merged = new Map<unknown, [Value[], Acc[]]>();
  const budget = new DistinctBudget();
  for (const p of partials) {
    if (!Array.isArray(p.groups)) throw protocol('aggregate result without groups');
    for (const g of p.groups) {
      if (
        !Array.isArray(g) ||
        !Array.isArray(g[0]) ||
        g[0].length !== nkeys ||
        !Array.isArray(g[1]) ||
        g[1].length !== aggs.length
      ) {
        throw protocol('bad group');
      }
      const raw = g[1];
      const key = nkeys === 1 ? (g[0][0] as Value) : groupKeyText(g[0] as Value[]);
      const cur = merged.get(key);
      if (cur) {
        const accs = cur[1];
        for (let k = 0; k < aggs.length; k++)
          accs[k] = combine(aggs[k]!.fn, accs[k], checkAcc(aggs[k]!, raw[k], budget));
      } else {
        const accs = new Array<Acc>(aggs.length);
        for (let k = 0; k < aggs.length; k++) accs[k] = checkAcc(aggs[k]!, raw[k], budget);
        merged.set(key, [g[0], accs]);
        if (merged.size > maxGroups) throw tooManyGroups(maxGroups);
      }
    }
  }
  // An ungrouped aggregate has exactly one row, even over no rows (count 0, sum null).
  if (nkeys === 0 && merged.size === 0)
    merged.set('[]', [[], aggs.map((a) => (isGenericAgg(a.fn) ? AGG_IMPLS[a.fn].create(a, budget) : initAcc(a.fn)))]);
  const rows = [...merged.values()].sort((a, b) => compareKeys(a[0], b[0]));
  for (const [key, accs] of rows) {
    for (let j = 0; j < nkeys; j++) builders[j]!.push(key[j]!);
    for (let k = 0; k < aggs.length; k++)
      builders[nkeys + k]!.push(finish(aggs[k]!.fn, accs[k], output[nkeys + k]!.type));
  }
  return DataFrame.fromFields(
    output,
    builders.map((b) => b.finish()),
  );
}
