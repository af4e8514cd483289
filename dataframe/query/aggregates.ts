// The aggregates beyond sum/mean/min/max/count (which group-agg.ts runs in typed arrays): each is a
// mergeable state with add (one value on a node), merge (two partial states, at the client), finish,
// and a plain-data form for the wire that the merger checks (partials are untrusted). One table, so a
// new aggregate or a new column type is a change in one place. docs/dataframe.md "Aggregates".

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { ColumnType, Value } from '../schema.js';
import { HyperLogLog } from './sketch/hll.js';
import { KllSketch, type ExactBudget } from './sketch/kll.js';
import { type HeldChars, StringAgg } from './string-agg.js';

export const GENERIC_AGGS = [
  'std',
  'var',
  'countDistinct',
  'approxCountDistinct',
  'median',
  'quantile',
  'quantileDesc',
  'quantileCont',
  'stringAgg',
  'first',
  'last',
  'any',
  'all',
] as const;
export type GenericAggFn = (typeof GENERIC_AGGS)[number];

/**
 * Distinct values one exact countDistinct may hold on one node or at the client, summed over its
 * groups: exact counting keeps every value, so past this it fails (TOO_LARGE) and says to use
 * approxCountDistinct, rather than grow without bound.
 */
export const MAX_DISTINCT_VALUES = 5_000_000;

export interface AggState {
  add(v: Value, chunk: number, row: number): void;
  /** add() of a non-null number, for states over numeric columns only (the evaluator's fast path). */
  addNumber?(x: number): void;
  /**
   * addNumber() of the non-null values at positions [0, m) of a numeric column (rows sel[j], or j),
   * in that order, for states that take a whole column at once (one group: no per-row call).
   */
  addNumbers?(
    a: Float64Array | Int32Array,
    nulls: Uint8Array | undefined,
    sel: Uint32Array | undefined,
    m: number,
  ): void;
  merge(o: AggState): void;
  finish(): Value;
  toPlain(): unknown;
}

export interface AggImpl {
  /** An error message if the aggregate cannot take a column of type t, else undefined. */
  accepts(t: ColumnType): string | undefined;
  output(t: ColumnType): ColumnType;
  /** Whether null values reach add() (first/last keep the row's value, null or not). */
  seesNulls?: boolean;
  create(param: AggParams, budget: DistinctBudget): AggState;
  fromPlain(x: unknown, param: AggParams, budget: DistinctBudget): AggState;
}

/** An aggregate's parameters, from its AggSpec: a quantile's q, stringAgg's separator and order. */
interface AggParams {
  readonly q?: number;
  readonly sep?: string;
  readonly desc?: boolean;
}

/**
 * Table slots (16 bytes each) the quantile sketches of one query may hold for their exact phase, on
 * one node or at the client, summed over groups: past this, new sketches and growing ones hold KLL
 * levels instead (sketch/kll.ts), so many groups cost no more memory than KLL sketches do.
 */
const MAX_EXACT_QUANTILE_SLOTS = 1 << 20;

/** Shared count of exact distinct values held by one query's states, and of quantile table slots. */
export class DistinctBudget implements ExactBudget, HeldChars {
  used = 0;
  slots = 0;
  /** Characters held by stringAgg states (string-agg.ts). */
  held = 0;
  takeSlots(n: number): boolean {
    if (this.slots + n > MAX_EXACT_QUANTILE_SLOTS) return false;
    this.slots += n;
    return true;
  }
  take(n: number): void {
    this.used += n;
    if (this.used > MAX_DISTINCT_VALUES)
      throw new Eau2Error(
        ErrorCode.TOO_LARGE,
        `countDistinct holds more than ${MAX_DISTINCT_VALUES} distinct values: use approxCountDistinct`,
      );
  }
}

const numeric = (t: ColumnType): string | undefined => (t === 'I' || t === 'D' ? undefined : 'a numeric column');
const anyType = (): string | undefined => undefined;
const bool = (t: ColumnType): string | undefined => (t === 'B' ? undefined : 'a bool column');

/** Mean and sum of squared deviations, merged with Chan et al.'s formula (no cancellation from sum of squares). */
class Moments implements AggState {
  constructor(
    private readonly fn: 'std' | 'var',
    public n = 0,
    public mean = 0,
    public m2 = 0,
  ) {}
  add(v: Value): void {
    this.addNumber(v as number);
  }
  addNumber(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
  }
  merge(o: AggState): void {
    const b = o as Moments;
    if (b.n === 0) return;
    const n = this.n + b.n;
    const d = b.mean - this.mean;
    this.m2 += b.m2 + (d * d * this.n * b.n) / n;
    this.mean += (d * b.n) / n;
    this.n = n;
  }
  finish(): Value {
    if (this.n < 2) return null; // sample variance, as SQL's var_samp/stddev_samp
    const v = this.m2 / (this.n - 1);
    return this.fn === 'var' ? v : Math.sqrt(v);
  }
  toPlain(): unknown {
    return [this.n, this.mean, this.m2];
  }
}

class Distinct implements AggState {
  readonly set = new Set<Value>();
  constructor(private readonly budget: DistinctBudget) {}
  add(v: Value): void {
    const s = this.set.size;
    this.set.add(v === 0 ? 0 : v); // -0 is 0
    if (this.set.size > s) this.budget.take(1);
  }
  merge(o: AggState): void {
    for (const v of (o as Distinct).set) this.add(v);
  }
  finish(): Value {
    return this.set.size;
  }
  toPlain(): unknown {
    return [...this.set];
  }
}

class Approx implements AggState {
  constructor(readonly h = new HyperLogLog()) {}
  add(v: Value): void {
    this.h.add(v as number | string | boolean);
  }
  merge(o: AggState): void {
    this.h.merge((o as Approx).h);
  }
  finish(): Value {
    return this.h.estimate();
  }
  toPlain(): unknown {
    return this.h.toPlain();
  }
}

/**
 * How a quantile is read from the sketch: `disc`, the value at rank ceil(q·n) (PostgreSQL's
 * percentile_disc); `desc`, the same counted from the greatest value (percentile_disc ... ORDER BY x
 * DESC); `cont`, the interpolation between the values at 0-based ranks floor and ceil of q·(n - 1)
 * (percentile_cont).
 */
type QuantileRead = 'disc' | 'desc' | 'cont';

class Quantile implements AggState {
  constructor(
    private readonly q: number,
    readonly s: KllSketch,
    private readonly read: QuantileRead = 'disc',
  ) {}
  add(v: Value): void {
    this.s.add(v as number);
  }
  addNumber(x: number): void {
    this.s.add(x);
  }
  addNumbers(
    a: Float64Array | Int32Array,
    nulls: Uint8Array | undefined,
    sel: Uint32Array | undefined,
    m: number,
  ): void {
    this.s.addColumn(a, nulls, sel, m);
  }
  merge(o: AggState): void {
    this.s.merge((o as Quantile).s);
  }
  finish(): Value {
    const { s, q } = this;
    if (this.read === 'disc') return s.quantile(q);
    if (s.n === 0) return null;
    if (this.read === 'desc') return s.atRank(s.n - Math.max(1, Math.ceil(q * s.n)) + 1);
    const pos = q * (s.n - 1);
    const lo = Math.floor(pos);
    const a = s.atRank(lo + 1)!;
    if (pos === lo) return a;
    const b = s.atRank(lo + 2)!;
    // PostgreSQL's and DuckDB's form: lo + (hi - lo) * fraction.
    return a + (b - a) * (pos - lo);
  }
  toPlain(): unknown {
    return this.s.toPlain();
  }
}

/** first/last: the value of the group's first (last) row in frame order, null included. */
class Edge implements AggState {
  constructor(
    private readonly last: boolean,
    public at: [number, number, Value] | null = null,
  ) {}
  add(v: Value, chunk: number, row: number): void {
    const a = this.at;
    if (
      a === null ||
      (this.last ? chunk > a[0] || (chunk === a[0] && row > a[1]) : chunk < a[0] || (chunk === a[0] && row < a[1]))
    )
      this.at = [chunk, row, v];
  }
  merge(o: AggState): void {
    const b = (o as Edge).at;
    if (b) this.add(b[2], b[0], b[1]);
  }
  finish(): Value {
    return this.at ? this.at[2] : null;
  }
  toPlain(): unknown {
    return this.at;
  }
}

/** any/all over a bool column, nulls ignored (SQL's bool_or/bool_and); null for no values. */
class BoolFold implements AggState {
  constructor(
    private readonly all: boolean,
    public v: boolean | null = null,
  ) {}
  add(v: Value): void {
    const b = v as boolean;
    this.v = this.v === null ? b : this.all ? this.v && b : this.v || b;
  }
  merge(o: AggState): void {
    const b = (o as BoolFold).v;
    if (b !== null) this.add(b);
  }
  finish(): Value {
    return this.v;
  }
  toPlain(): unknown {
    return this.v;
  }
}

const bad = (what: string): TypeError => new TypeError(`bad ${what} accumulator`);
const isVal = (v: unknown): v is Value =>
  v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint';

function moments(fn: 'std' | 'var'): AggImpl {
  return {
    accepts: numeric,
    output: () => 'D',
    create: () => new Moments(fn),
    fromPlain: (x) => {
      if (!Array.isArray(x) || x.length !== 3 || x.some((v) => typeof v !== 'number')) throw bad(fn);
      return new Moments(fn, x[0], x[1], x[2]);
    },
  };
}

function quantileImpl(read: QuantileRead = 'disc'): AggImpl {
  return {
    accepts: numeric,
    output: (t) => (read === 'cont' ? 'D' : t),
    create: (p, budget) => new Quantile(p.q ?? 0.5, new KllSketch(budget), read),
    fromPlain: (x, p, budget) => new Quantile(p.q ?? 0.5, KllSketch.fromPlain(x, budget), read),
  };
}

function edge(last: boolean): AggImpl {
  return {
    accepts: anyType,
    output: (t) => t,
    seesNulls: true,
    create: () => new Edge(last),
    fromPlain: (x) => {
      if (x === null) return new Edge(last);
      if (!Array.isArray(x) || x.length !== 3 || !Number.isInteger(x[0]) || !Number.isInteger(x[1]) || !isVal(x[2]))
        throw bad(last ? 'last' : 'first');
      return new Edge(last, x as [number, number, Value]);
    },
  };
}

function boolFold(all: boolean): AggImpl {
  return {
    accepts: bool,
    output: () => 'B',
    create: () => new BoolFold(all),
    fromPlain: (x) => {
      if (x !== null && typeof x !== 'boolean') throw bad(all ? 'all' : 'any');
      return new BoolFold(all, x);
    },
  };
}

export const AGG_IMPLS: Record<GenericAggFn, AggImpl> = {
  std: moments('std'),
  var: moments('var'),
  countDistinct: {
    accepts: anyType,
    output: () => 'D',
    create: (_q, budget) => new Distinct(budget),
    fromPlain: (x, _q, budget) => {
      if (!Array.isArray(x) || !x.every(isVal)) throw bad('countDistinct');
      const d = new Distinct(budget);
      for (const v of x) d.add(v);
      return d;
    },
  },
  approxCountDistinct: {
    accepts: anyType,
    output: () => 'D',
    create: () => new Approx(),
    fromPlain: (x) => new Approx(HyperLogLog.fromPlain(x)),
  },
  median: quantileImpl(),
  quantile: quantileImpl(),
  quantileDesc: quantileImpl('desc'),
  quantileCont: quantileImpl('cont'),
  stringAgg: {
    accepts: (t) => (t === 'S' ? undefined : 'a string column (CAST it to text)'),
    output: () => 'S',
    create: (p, budget) => new StringAgg(p.sep ?? ',', orderOf(p), budget),
    fromPlain: (x, p, budget) => StringAgg.fromPlain(x, p.sep ?? ',', orderOf(p), budget),
  },
  first: edge(false),
  last: edge(true),
  any: boolFold(false),
  all: boolFold(true),
};

/** stringAgg's order: frame order without `desc`, else by value. */
function orderOf(p: AggParams): 'asc' | 'desc' | undefined {
  return p.desc === undefined ? undefined : p.desc ? 'desc' : 'asc';
}

const GENERIC = new Set<string>(GENERIC_AGGS);

export function isGenericAgg(fn: string): fn is GenericAggFn {
  return GENERIC.has(fn);
}
