// A query plan: the plain-data description of a query that is shipped to the nodes (docs/dataframe.md
// "Queries"). Filter first, then either rows (optionally projected and limited) or an aggregate
// (optionally grouped). `checkPlan` validates a plan against a schema and derives the result schema;
// nodes run it on every payload before touching data.

import { checkFields, type ColumnType, type Field } from '../schema.js';
import type { Zone } from '../zone-map.js';
import { AGG_IMPLS, GENERIC_AGGS, isGenericAgg } from './aggregates.js';
import { MAX_SEPARATOR } from './string-agg.js';
import type { Expr } from './expr-base.js';
import { checkExpr } from './expr.js';
import { checkSortKeys, type SortKey } from './sort.js';
import type { VersionCheck } from './version-check.js';

/** sum..count run in group-agg.ts's typed arrays; the rest are aggregates.ts's mergeable states. */
const FAST_AGGS = ['sum', 'mean', 'min', 'max', 'count'] as const;
const AGG_FNS = [...FAST_AGGS, ...GENERIC_AGGS] as const;
/** The quantiles SQL's percentile_disc/percentile_cont read, whose q may be 0 (the least value). */
const QUANTILE_01 = new Set<unknown>(['quantileDesc', 'quantileCont']);
export type AggFn = (typeof AGG_FNS)[number];

export interface AggSpec {
  /** Source column, or '*' (count only) for rows. */
  readonly col: string;
  readonly fn: AggFn;
  /** Output column name. */
  readonly as: string;
  /** quantile only: which one, in (0, 1] (quantileDesc, quantileCont: [0, 1]). */
  readonly q?: number;
  /** stringAgg only: the separator (',' if absent; at most 1,000 characters). */
  readonly sep?: string;
  /** stringAgg only: by value, descending if true (absent: in frame order). */
  readonly desc?: boolean;
}

/** A computed column: evaluated per chunk before the filter, usable everywhere a column is. */
export interface Derived {
  readonly name: string;
  readonly expr: Expr;
}

export interface Plan {
  /** Computed columns, in order (each may use the ones before it). */
  readonly derive?: readonly Derived[];
  readonly filter?: Expr;
  readonly select?: readonly string[];
  readonly groupBy?: readonly string[];
  /** Present (possibly empty) = an aggregate query; absent = a row query. */
  readonly aggs?: readonly AggSpec[];
  /**
   * Row queries only: the rows' order (stable: ties keep frame order); with a limit, each node keeps
   * only its best offset + limit rows (top-k) and the client merges them.
   */
  readonly orderBy?: readonly SortKey[];
  /** Row queries only: at most this many rows (after `offset`), in frame order unless ordered. */
  readonly limit?: number;
  /** Row queries only: rows skipped before the limit applies. */
  readonly offset?: number;
}

export interface CheckedPlan {
  readonly plan: Plan;
  /** Field indexes the plan reads (of the frame's own fields). */
  readonly reads: number[];
  /** The frame's fields followed by the derived ones: what filter, groupBy, aggs and select see. */
  readonly fields: Field[];
  /** Schema of the result frame. */
  readonly output: Field[];
}

/** The default output name of an aggregate: "x_sum", or "count" for count of '*'. */
/** What one run of a plan may carry besides the plan. */
export interface ExecuteOptions {
  /** Versions the run's first query task asks the nodes to confirm (tasks.ts, VersionCheck). */
  readonly versionCheck?: VersionCheck;
  /**
   * Groups an aggregate query may gather at most, counted in the partial results as they arrive (a
   * group that several nodes or pages send counts once for each) and in the merged result: past it,
   * TOO_LARGE. The bound a node puts on the queries it runs for HTTP clients; default unbounded.
   */
  readonly maxGroups?: number;
}

/** What a query runs against: something that can evaluate a checked plan into partial results. */
export interface QuerySource {
  readonly fields: readonly Field[];
  readonly nchunks: number;
  /**
   * Runs the plan where the data lives; returns one partial result per participant, with how many
   * chunks they cover when that is not `nchunks` (a shuffle join's chunks are the pieces it made).
   */
  execute(checked: CheckedPlan, opts?: ExecuteOptions): Promise<unknown[] | { partials: unknown[]; nchunks: number }>;
  /**
   * Where the plan runs, for explain(): e.g. "on the nodes holding frame flights (24 chunks)"; with
   * the checked plan when there is one (a join says which right columns it would send).
   */
  describe?(checked?: CheckedPlan): string;
  /** What each node runs the plan over, for explain() (default: "the chunks it leads"). */
  over?(checked?: CheckedPlan): string;
  /** A stored frame's zone maps, for explain() to show which filter terms can skip chunks. */
  zones?(): SourceZones;
}

export interface SourceZones {
  /** The frame's own columns (zone maps cover those, not computed ones). */
  fields: readonly Field[];
  zones: readonly (readonly Zone[])[] | undefined;
  rowsOf: (chunk: number) => number;
}

export function aggName(col: string, fn: AggFn): string {
  return col === '*' ? fn : `${col}_${fn}`;
}

/**
 * Output type of an aggregate: counts, sums and means are float64 (exact to 2^53) but for the sum of
 * an int64 column, an exact int64; min/max keep the type.
 */
export function aggType(fn: AggFn, input: ColumnType | undefined): ColumnType {
  if (isGenericAgg(fn)) return AGG_IMPLS[fn].output(input!);
  if (fn === 'sum' && input === 'L') return 'L';
  return fn === 'min' || fn === 'max' ? input! : 'D';
}

function checkNames(v: unknown, what: string, fields: readonly Field[]): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))
    throw new TypeError(`${what} must be an array of column names`);
  const names = v as string[];
  if (new Set(names).size !== names.length) throw new TypeError(`${what} names a column twice`);
  for (const n of names)
    if (!fields.some((f) => f.name === n)) throw new TypeError(`${what}: no column named ${JSON.stringify(n)}`);
  return names;
}

/** Validates `raw` (possibly from the network) against `fields`. TypeError on any problem. */
export function checkPlan(raw: unknown, fields: readonly Field[]): CheckedPlan {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new TypeError('plan must be an object');
  const p = raw as Record<string, unknown>;
  for (const k of Object.keys(p)) {
    if (p[k] === undefined) continue;
    if (!['derive', 'filter', 'select', 'groupBy', 'aggs', 'orderBy', 'limit', 'offset'].includes(k))
      throw new TypeError(`unknown plan field ${JSON.stringify(k)}`);
  }
  const reads = new Set<string>();
  const base = fields;
  if (p.derive !== undefined) {
    if (!Array.isArray(p.derive) || p.derive.length > MAX_DERIVED)
      throw new TypeError(`derive must be an array of at most ${MAX_DERIVED} { name, expr }`);
    const all = [...fields];
    for (const d of p.derive as unknown[]) {
      const { name, expr } = (d ?? {}) as Record<string, unknown>;
      if (typeof name !== 'string' || name === '') throw new TypeError('a derived column needs a name');
      if (all.some((f) => f.name === name))
        throw new TypeError(`derived column ${JSON.stringify(name)} exists already`);
      const t = checkExpr(expr, all);
      collect(expr, reads);
      all.push({ name, type: t === 'N' ? 'D' : t });
    }
    fields = all;
  }
  if (p.filter !== undefined) {
    const t = checkExpr(p.filter, fields);
    if (t !== 'B' && t !== 'N') throw new TypeError(`filter must be a boolean expression, not ${t}`);
    collect(p.filter, reads);
  }
  const visible = p.select === undefined ? fields : fields.filter((f) => (p.select as string[]).includes(f.name));
  const select = p.select === undefined ? undefined : checkNames(p.select, 'select', fields);
  const typeOf = (name: string): ColumnType => fields.find((f) => f.name === name)!.type;
  let output: Field[];
  if (p.aggs === undefined) {
    if (p.groupBy !== undefined) throw new TypeError('groupBy needs agg() (or an empty aggs list for distinct keys)');
    const names = select ?? fields.map((f) => f.name);
    names.forEach((n) => reads.add(n));
    output = names.map((n) => ({ name: n, type: typeOf(n) }));
    for (const k of ['limit', 'offset'] as const) {
      if (p[k] !== undefined && !(Number.isSafeInteger(p[k]) && (p[k] as number) >= 0))
        throw new TypeError(`${k} must be an integer >= 0`);
    }
    if (p.orderBy !== undefined) for (const k of checkSortKeys(p.orderBy, fields)) reads.add(k.col);
  } else {
    for (const k of ['limit', 'offset', 'orderBy'] as const)
      if (p[k] !== undefined)
        throw new TypeError(`${k} applies to row queries only (order an aggregate's result frame)`);
    const groupBy = p.groupBy === undefined ? [] : checkNames(p.groupBy, 'groupBy', visible);
    if (!Array.isArray(p.aggs)) throw new TypeError('aggs must be an array');
    groupBy.forEach((n) => reads.add(n));
    output = groupBy.map((n) => ({ name: n, type: typeOf(n) }));
    for (const a of p.aggs as unknown[]) {
      const { col, fn, as, q, sep, desc } = (a ?? {}) as Record<string, unknown>;
      if (fn === 'quantile' ? !(typeof q === 'number' && q > 0 && q <= 1) : q !== undefined && !QUANTILE_01.has(fn))
        throw new TypeError('quantile needs q in (0, 1]; other aggregates take no q');
      if (QUANTILE_01.has(fn) && !(typeof q === 'number' && q >= 0 && q <= 1))
        throw new TypeError(`${String(fn)} needs q in [0, 1]`);
      if (fn !== 'stringAgg' && (sep !== undefined || desc !== undefined))
        throw new TypeError('only stringAgg takes sep and desc');
      if (sep !== undefined && !(typeof sep === 'string' && sep.length <= MAX_SEPARATOR))
        throw new TypeError(`stringAgg's sep must be a string of at most ${MAX_SEPARATOR} characters`);
      if (desc !== undefined && typeof desc !== 'boolean') throw new TypeError("stringAgg's desc must be a boolean");
      if (!AGG_FNS.includes(fn as AggFn))
        throw new TypeError(`unknown aggregate ${JSON.stringify(fn)}: use ${AGG_FNS.join(', ')}`);
      if (typeof col !== 'string' || typeof as !== 'string')
        throw new TypeError('aggregate needs a column and an output name');
      let t: ColumnType | undefined;
      if (col === '*') {
        if (fn !== 'count') throw new TypeError(`'*' can only be counted, not ${String(fn)}`);
      } else {
        checkNames([col], 'agg', visible);
        t = typeOf(col);
        if ((fn === 'sum' || fn === 'mean') && t !== 'I' && t !== 'D' && t !== 'L') {
          throw new TypeError(`${fn} needs a numeric column; ${JSON.stringify(col)} is ${t}`);
        }
        const why = isGenericAgg(fn as string) ? AGG_IMPLS[fn as 'std'].accepts(t) : undefined;
        if (why) throw new TypeError(`${String(fn)} needs ${why}; ${JSON.stringify(col)} is ${t}`);
        reads.add(col);
      }
      output.push({ name: as, type: aggType(fn as AggFn, t) });
    }
    if (output.length === 0) throw new TypeError('an aggregate query needs a groupBy column or an aggregate');
  }
  checkFields(output); // duplicate output names are a TypeError
  // Drop undefined members: msgpack would carry them as nulls, which a node rightly rejects.
  const plan = Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as Plan;
  return { plan, reads: base.flatMap((f, i) => (reads.has(f.name) ? [i] : [])), fields: [...fields], output };
}

/** Computed columns a plan may carry: each is evaluated on every chunk. */
const MAX_DERIVED = 256;

/**
 * The plan's reads in the order a node reads them late: `early`, the filter's columns and a row
 * query's first sort key, for every chunk; `rest` only where rows may be kept (top-k.ts lateTopK,
 * partial.ts lateRows; explain.ts describes the same split). Undefined when nothing is left for later.
 */
export function lateReads(checked: CheckedPlan): { early: number[]; rest: number[] } | undefined {
  const { plan, reads, fields } = checked;
  const first = new Set<string>();
  if (plan.orderBy !== undefined) first.add(plan.orderBy[0]!.col);
  if (plan.filter !== undefined) collect(plan.filter, first);
  const early = reads.filter((c) => first.has(fields[c]!.name));
  const rest = reads.filter((c) => !first.has(fields[c]!.name));
  return early.length === 0 || rest.length === 0 ? undefined : { early, rest };
}

/** Adds the names of the columns expression `e` reads to `out`. */
function collect(e: unknown, out: Set<string>): void {
  const x = e as { op: string; name?: string; args?: unknown[] };
  if (x.op === 'col') out.add(x.name!);
  for (const a of x.args ?? []) collect(a, out);
}
