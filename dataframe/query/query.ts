// The fluent query API: df.filter(expr).select(cols).groupBy(cols).agg({ x: 'sum' }). Each step
// returns a new immutable Query holding a plain-data Plan; terminal steps (agg, collect, count, sum,
// ...) check the plan against the schema, hand it to the frame's source to run (pushed to the nodes for
// a stored frame, in-process for an in-memory one) and merge the partial results into a DataFrame.

import type { DataFrame } from '../dataframe.js';
import type { Value } from '../schema.js';
import { lift, type ExprLike } from './expr-base.js';
import { and } from './expr.js';
import { explainPlan } from './explain.js';
import { foldPlan } from './fold.js';
import { mergePartials } from './merge.js';
import {
  aggName,
  checkPlan,
  type AggFn,
  type AggSpec,
  type CheckedPlan,
  type Plan,
  type ExecuteOptions,
  type QuerySource,
  type SourceZones,
} from './plan.js';
import { sortKey, type SortSpec } from './sort.js';

/** What running a query did, beyond its answer. */
export interface QueryStats {
  /** Row-chunks of the frame. */
  readonly chunks: number;
  /** Of those, how many were not read because their zone maps showed the filter could not match. */
  readonly chunksSkipped: number;
}

const STATS = new WeakMap<DataFrame, QueryStats>();

/** EXPLAIN ANALYZE's last line: what running the query did. */
export function analyzeLine(df: DataFrame): string {
  const s = STATS.get(df);
  const skipped = s ? `chunks skipped: ${s.chunksSkipped} of ${s.chunks} (while running)` : 'chunks skipped: unknown';
  return `ran: ${skipped}; result ${df.nrows} rows`;
}

/** The stats of the query whose result `df` is (undefined for a frame no query returned). */
export function queryStats(df: DataFrame): QueryStats | undefined {
  return STATS.get(df);
}

/** One full aggregate spec: the quantiles need their q, stringAgg may take sep and desc. */
interface AggRequestItem {
  col: string;
  fn: AggFn;
  as?: string;
  q?: number;
  sep?: string;
  desc?: boolean;
}

/**
 * agg() argument: column (or '*') -> aggregate or list of aggregates; or a list of full specs
 * ({ col, fn, as, q, sep, desc }).
 */
export type AggRequest = Readonly<Record<string, AggFn | readonly AggFn[]>> | readonly AggRequestItem[];

export class Query {
  constructor(
    private readonly source: QuerySource,
    readonly plan: Plan = {},
  ) {}

  private with(p: Partial<Plan>): Query {
    return new Query(this.source, { ...this.plan, ...p });
  }

  /** Keeps rows where `expr` is true; several filters are ANDed. */
  filter(expr: ExprLike): Query {
    const e = lift(expr);
    return this.with({ filter: this.plan.filter ? and(this.plan.filter, e) : e });
  }

  select(...cols: (string | readonly string[])[]): Query {
    return this.with({ select: cols.flat() });
  }

  groupBy(...cols: (string | readonly string[])[]): Query {
    return this.with({ groupBy: cols.flat() });
  }

  /** Row queries: the first n matching rows, in frame order (or in orderBy's order). */
  limit(n: number): Query {
    return this.with({ limit: n });
  }

  /** Row queries: skip the first n matching rows. */
  offset(n: number): Query {
    return this.with({ offset: n });
  }

  /**
   * Row queries: order by one or more keys ('x' ascending, '-x' descending, or { col, desc, nulls });
   * nulls last unless a key says otherwise; stable. With limit(), each node keeps only its best rows.
   */
  orderBy(...keys: (SortSpec | readonly SortSpec[])[]): Query {
    return this.with({ orderBy: keys.flat().map(sortKey) });
  }

  /** Adds a computed column, usable by later filters, group keys, aggregates, select and orderBy. */
  withColumn(name: string, expr: ExprLike): Query {
    return this.with({ derive: [...(this.plan.derive ?? []), { name, expr: lift(expr) }] });
  }

  /** Several computed columns at once: { name: expr }. */
  derive(cols: Readonly<Record<string, ExprLike>>): Query {
    let q: Query = this;
    for (const [n, e] of Object.entries(cols)) q = q.withColumn(n, e);
    return q;
  }

  /** Where the query's node part runs (for explain), for the checked plan when given. */
  where(checked?: CheckedPlan): string {
    return this.source.describe?.(checked) ?? 'in memory';
  }

  /** What each node runs the query's node part over (for explain), when not the chunks it leads. */
  over(checked?: CheckedPlan): string | undefined {
    return this.source.over?.(checked);
  }

  /** What runs where, as text: the plan checked against the schema, the node part and the merge. */
  explain(p: Plan = this.plan): string {
    const checked = this.check(p);
    return explainPlan(checked, this.where(checked), false, this.over(checked), this.zones());
  }

  /** The stored frame's zone maps, when the query reads one directly (for explain). */
  zones(): SourceZones | undefined {
    return this.source.zones?.();
  }

  /**
   * explain(), then runs the plan and adds what running it did: chunks skipped by zone maps (as
   * queryStats gives them) and the result's size.
   */
  async explainAnalyze(p: Plan = this.plan): Promise<string> {
    const text = this.explain(p);
    const df = await this.run(p);
    return `${text}
${analyzeLine(df)}`;
  }

  /** The plan as checked against the schema (TypeError if it does not fit). */
  check(p: Plan = this.plan): CheckedPlan {
    return checkPlan(foldPlan(p, this.source.fields), this.source.fields);
  }

  /** Runs a plan (checked first, unless `checked` is `p` checked already) and merges the partial results. */
  async run(p: Plan, checked: CheckedPlan = this.check(p), opts?: ExecuteOptions): Promise<DataFrame> {
    const r = await this.source.execute(checked, opts);
    const partials = Array.isArray(r) ? r : r.partials;
    const nchunks = Array.isArray(r) ? this.source.nchunks : r.nchunks;
    const df = mergePartials(checked, partials, nchunks, opts?.maxGroups);
    let skipped = 0;
    for (const p of partials) {
      const k = (p as { skipped?: unknown }).skipped;
      if (Number.isSafeInteger(k) && (k as number) > 0) skipped += k as number;
    }
    STATS.set(df, { chunks: nchunks, chunksSkipped: skipped });
    return df;
  }

  /**
   * Aggregates, per group if groupBy was given. Output columns: the group columns, then "<col>_<fn>"
   * for each aggregate ("count" for '*'), one row per group in key order (nulls first).
   */
  agg(spec: AggRequest, opts?: ExecuteOptions): Promise<DataFrame> {
    const p = this.aggPlan(spec);
    return this.run(p, undefined, opts);
  }

  /** The plan agg(spec) runs (for explain). */
  aggPlan(spec: AggRequest): Plan {
    if (spec === null || typeof spec !== 'object') throw new TypeError('agg takes { column: fn | fn[] }');
    const aggs: AggSpec[] = [];
    if (Array.isArray(spec)) {
      for (const a of spec as readonly AggRequestItem[]) {
        const as =
          a.as ??
          (a.fn === 'quantile'
            ? `${a.col}_q${a.q}`
            : a.q !== undefined
              ? `${aggName(a.col, a.fn)}_q${a.q}`
              : aggName(a.col, a.fn));
        const { q, sep, desc } = a;
        aggs.push(
          Object.fromEntries(
            Object.entries({ col: a.col, fn: a.fn, as, q, sep, desc }).filter(([, v]) => v !== undefined),
          ) as unknown as AggSpec,
        );
      }
    } else {
      for (const [c, fns] of Object.entries(spec as Readonly<Record<string, AggFn | readonly AggFn[]>>)) {
        for (const fn of typeof fns === 'string' ? [fns] : (fns as readonly AggFn[]))
          aggs.push({ col: c, fn, as: aggName(c, fn) });
      }
    }
    return { ...this.plan, aggs };
  }

  /** The matching rows (selected columns), or for a grouped query its distinct keys. */
  collect(): Promise<DataFrame> {
    return this.run(this.plan.groupBy ? { ...this.plan, aggs: [] } : this.plan);
  }

  private async scalar(col: string, fn: AggFn): Promise<Value> {
    if (this.plan.groupBy)
      throw new TypeError(`${fn}() on a grouped query: use agg({ ${JSON.stringify(col)}: '${fn}' })`);
    const df = await this.run({ derive: this.plan.derive, filter: this.plan.filter, aggs: [{ col, fn, as: 'v' }] });
    return df.get(0, 0);
  }

  /** Number of matching rows. */
  async count(): Promise<number> {
    return (await this.scalar('*', 'count')) as number;
  }

  /** Sum of the non-null values (null if there are none). */
  async sum(col: string): Promise<number | null> {
    return (await this.scalar(col, 'sum')) as number | null;
  }

  async mean(col: string): Promise<number | null> {
    return (await this.scalar(col, 'mean')) as number | null;
  }

  min(col: string): Promise<Value> {
    return this.scalar(col, 'min');
  }

  max(col: string): Promise<Value> {
    return this.scalar(col, 'max');
  }
}
