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
import { valueBefore } from './group-key.js';
import type { ColumnarGroups } from './group-agg.js';
import type { PartialResult } from './partial.js';
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

/** An exact int64 sum travels as decimal text; a partial over no rows of them is still the number 0. */
function checkSum(x: unknown): number | string {
  if (typeof x === 'number' || (typeof x === 'string' && /^-?\d{1,40}$/.test(x))) return x;
  throw protocol('bad sum accumulator');
}

function checkCount(x: unknown): number {
  if (typeof x !== 'number') throw protocol('bad count accumulator');
  return x;
}

function checkValue(fn: AggFn, x: unknown): Value {
  if (x === null || typeof x === 'number' || typeof x === 'string' || typeof x === 'boolean' || typeof x === 'bigint')
    return x;
  throw protocol(`bad ${fn} accumulator`);
}

const addSums = (a: number | string, b: number | string): number | string =>
  typeof a === 'string' || typeof b === 'string' ? (BigInt(a) + BigInt(b)).toString() : a + b;

/**
 * The merged groups, by column: a map from key to group number, and per aggregate a list per part
 * (counts, sums, states, values), so that merging many groups makes no array per group. Partials
 * come by row (`groups`, older nodes) or by column (`cgroups`); both are checked as they are read.
 */
class GroupMerge {
  // The value itself is the map key, a level per key column (a Map's SameValueZero keeps 0 and -0,
  // and every NaN, in one group, as groupKeyText does), sparing a JSON text per group of every partial.
  private readonly index = new Map<unknown, unknown>();
  private readonly keys: Value[][];
  private readonly counts: number[][];
  private readonly sums: (number | string)[][];
  private readonly states: AggState[][];
  private readonly values: Value[][];
  private readonly budget = new DistinctBudget();
  private n = 0;

  constructor(
    private readonly aggs: readonly AggSpec[],
    private readonly nkeys: number,
    private readonly maxGroups: number,
  ) {
    this.keys = Array.from({ length: nkeys }, () => []);
    this.counts = aggs.map(() => []);
    this.sums = aggs.map(() => []);
    this.states = aggs.map(() => []);
    this.values = aggs.map(() => []);
  }

  /** The group of key values `at(j)`, made (with empty accumulators) if new; -1 when made. */
  private groupOf(at: (j: number) => Value): number {
    // Several key columns: nested maps, a level per column (as the nodes' GroupAggregator keeps them).
    let level: Map<unknown, unknown> = this.index;
    const last = this.nkeys - 1;
    for (let j = 0; j < last; j++) {
      const v = at(j);
      let next = level.get(v) as Map<unknown, unknown> | undefined;
      if (next === undefined) level.set(v, (next = new Map()));
      level = next;
    }
    // No key columns: one group, under an unused key.
    const lastKey = last >= 0 ? at(last) : undefined;
    const g = level.get(lastKey) as number | undefined;
    if (g !== undefined) return g;
    level.set(lastKey, this.n);
    for (let j = 0; j < this.nkeys; j++) this.keys[j]!.push(at(j));
    this.n++;
    if (this.n > this.maxGroups) throw tooManyGroups(this.maxGroups);
    return -1;
  }

  /** Adds aggregate k's accumulator for group g (-1: the group just made, n - 1). */
  private add(k: number, g: number, count: unknown, sum: unknown, plain: unknown, value: unknown): void {
    const spec = this.aggs[k]!;
    const fn = spec.fn;
    const fresh = g < 0;
    const at = fresh ? this.n - 1 : g;
    if (fn === 'count') {
      const c = checkCount(count);
      if (fresh) this.counts[k]!.push(c);
      else this.counts[k]![at] = this.counts[k]![at]! + c;
    } else if (fn === 'sum' || fn === 'mean') {
      const c = checkCount(count);
      const x = checkSum(sum);
      if (fresh) {
        this.counts[k]!.push(c);
        this.sums[k]!.push(x);
      } else {
        this.counts[k]![at] = this.counts[k]![at]! + c;
        this.sums[k]![at] = addSums(this.sums[k]![at]!, x);
      }
    } else if (isGenericAgg(fn)) {
      let state: AggState;
      try {
        state = AGG_IMPLS[fn].fromPlain(plain, spec, this.budget);
      } catch (e) {
        if (e instanceof TypeError) throw protocol(e.message);
        throw e;
      }
      if (fresh) this.states[k]!.push(state);
      else this.states[k]![at]!.merge(state);
    } else {
      const y = checkValue(fn, value);
      if (fresh) this.values[k]!.push(y);
      else {
        const x = this.values[k]![at]!;
        if (x === null) this.values[k]![at] = y;
        else if (y !== null && (fn === 'min' ? valueBefore(y, x) : valueBefore(x, y))) this.values[k]![at] = y;
      }
    }
  }

  /** A partial's group by row: [key values, one accumulator per aggregate]. */
  addRow(raw: unknown): void {
    const aggs = this.aggs;
    if (
      !Array.isArray(raw) ||
      !Array.isArray(raw[0]) ||
      raw[0].length !== this.nkeys ||
      !Array.isArray(raw[1]) ||
      raw[1].length !== aggs.length
    )
      throw protocol('bad group');
    const key = raw[0] as Value[];
    const accs = raw[1] as unknown[];
    const g = this.groupOf((j) => key[j]!);
    for (let k = 0; k < aggs.length; k++) {
      const a = accs[k];
      const fn = aggs[k]!.fn;
      if (fn === 'sum' || fn === 'mean') {
        if (!Array.isArray(a) || a.length !== 2) throw protocol(`bad ${fn} accumulator`);
        this.add(k, g, a[1], a[0], undefined, undefined);
      } else this.add(k, g, a, undefined, a, a);
    }
  }

  /** A partial's groups by column (ColumnarGroups). */
  addColumnar(raw: unknown): void {
    const aggs = this.aggs;
    const c = raw as Partial<ColumnarGroups> | null;
    if (c === null || typeof c !== 'object' || !Number.isSafeInteger(c.n) || c.n! < 0) throw protocol('bad groups');
    const n = c.n!;
    const list = (x: unknown): unknown[] => {
      if (!Array.isArray(x) || x.length !== n) throw protocol('bad groups: a list of another length');
      return x;
    };
    if (!Array.isArray(c.k) || c.k.length !== this.nkeys || !Array.isArray(c.a) || c.a.length !== aggs.length)
      throw protocol('bad groups');
    const keys = c.k.map(list);
    const parts = c.a.map((x: unknown, k: number) => {
      const a = (x ?? {}) as { c?: unknown; s?: unknown; p?: unknown; v?: unknown };
      const fn = aggs[k]!.fn;
      if (fn === 'count') return { c: list(a.c) };
      if (fn === 'sum' || fn === 'mean') return { c: list(a.c), s: list(a.s) };
      if (isGenericAgg(fn)) return { p: list(a.p) };
      return { v: list(a.v) };
    });
    for (let i = 0; i < n; i++) {
      const g = this.groupOf((j) => keys[j]![i] as Value);
      for (let k = 0; k < aggs.length; k++) {
        const a = parts[k]!;
        this.add(k, g, a.c?.[i], a.s?.[i], a.p?.[i], a.v?.[i]);
      }
    }
  }

  /** Pushes the groups, ordered by key, into `builders` (the keys' then the aggregates'). */
  output(builders: ColumnBuilder[], output: readonly { type: ColumnType }[]): void {
    const { aggs, nkeys } = this;
    // An ungrouped aggregate has exactly one row, even over no rows (count 0, sum null).
    if (nkeys === 0 && this.n === 0) {
      this.n = 1;
      aggs.forEach((a, k) => {
        this.counts[k]!.push(0);
        this.sums[k]!.push(0);
        if (isGenericAgg(a.fn)) this.states[k]!.push(AGG_IMPLS[a.fn].create(a, this.budget));
        this.values[k]!.push(null);
      });
    }
    const order = Array.from({ length: this.n }, (_, g) => g);
    const keys = this.keys;
    order.sort((a, b) => {
      for (let j = 0; j < nkeys; j++) {
        const x = keys[j]![a]!;
        const y = keys[j]![b]!;
        if (x === y || (x !== x && y !== y)) continue;
        if (x === null) return -1;
        if (y === null) return 1;
        return valueBefore(x, y) ? -1 : valueBefore(y, x) ? 1 : 0;
      }
      return 0;
    });
    for (const g of order) {
      for (let j = 0; j < nkeys; j++) builders[j]!.push(keys[j]![g]!);
      for (let k = 0; k < aggs.length; k++) builders[nkeys + k]!.push(this.finish(k, g, output[nkeys + k]!.type));
    }
  }

  private finish(k: number, g: number, type: ColumnType): Value {
    const fn = this.aggs[k]!.fn;
    if (isGenericAgg(fn)) return this.states[k]![g]!.finish();
    if (fn === 'count') return this.counts[k]![g]!;
    if (fn === 'sum' || fn === 'mean') {
      const n = this.counts[k]![g]!;
      const s = this.sums[k]![g]!;
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
    return this.values[k]![g]!;
  }
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
  const merged = new GroupMerge(aggs, nkeys, maxGroups);
  for (const p of partials) {
    if (p.cgroups !== undefined) merged.addColumnar(p.cgroups);
    else if (Array.isArray(p.groups)) for (const g of p.groups) merged.addRow(g);
    else throw protocol('aggregate result without groups');
  }
  merged.output(builders, output);
  return DataFrame.fromFields(
    output,
    builders.map((b) => b.finish()),
  );
}
