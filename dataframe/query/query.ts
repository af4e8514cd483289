// The fluent query API: df.filter(expr).select(cols).groupBy(cols).agg({ x: 'sum' }). Each step
// returns a new immutable Query holding a plain-data Plan; terminal steps (agg, collect, count, sum,
// ...) check the plan against the schema, hand it to the frame's source to run (pushed to the nodes for
// a stored frame, in-process for an in-memory one) and merge the partial results into a DataFrame.

import type { DataFrame } from '../dataframe.js';
import type { Field, Value } from '../schema.js';
import { and, lift, type ExprLike } from './expr.js';
import { mergePartials } from './merge.js';
import { aggName, checkPlan, type AggFn, type AggSpec, type CheckedPlan, type Plan } from './plan.js';

/** What a query runs against: something that can evaluate a checked plan into partial results. */
export interface QuerySource {
  readonly fields: readonly Field[];
  readonly nchunks: number;
  /** Runs the plan where the data lives; returns one partial result per participant. */
  execute(checked: CheckedPlan): Promise<unknown[]>;
}

/** agg() argument: column (or '*') -> aggregate or list of aggregates. */
export type AggRequest = Readonly<Record<string, AggFn | readonly AggFn[]>>;

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

  /** Row queries: the first n matching rows, in frame order. */
  limit(n: number): Query {
    return this.with({ limit: n });
  }

  /** The plan as checked against the schema (TypeError if it does not fit). */
  check(p: Plan = this.plan): CheckedPlan {
    return checkPlan(p, this.source.fields);
  }

  private async run(p: Plan): Promise<DataFrame> {
    const checked = this.check(p);
    const partials = await this.source.execute(checked);
    return mergePartials(checked, partials, this.source.nchunks);
  }

  /**
   * Aggregates, per group if groupBy was given. Output columns: the group columns, then "<col>_<fn>"
   * for each aggregate ("count" for '*'), one row per group in key order (nulls first).
   */
  agg(spec: AggRequest): Promise<DataFrame> {
    if (spec === null || typeof spec !== 'object') throw new TypeError('agg takes { column: fn | fn[] }');
    const aggs: AggSpec[] = [];
    for (const [c, fns] of Object.entries(spec)) {
      for (const fn of typeof fns === 'string' ? [fns] : (fns as readonly AggFn[]))
        aggs.push({ col: c, fn, as: aggName(c, fn) });
    }
    return this.run({ ...this.plan, aggs });
  }

  /** The matching rows (selected columns), or for a grouped query its distinct keys. */
  collect(): Promise<DataFrame> {
    return this.run(this.plan.groupBy ? { ...this.plan, aggs: [] } : this.plan);
  }

  private async scalar(col: string, fn: AggFn): Promise<Value> {
    if (this.plan.groupBy)
      throw new TypeError(`${fn}() on a grouped query: use agg({ ${JSON.stringify(col)}: '${fn}' })`);
    const df = await this.run({ filter: this.plan.filter, aggs: [{ col, fn, as: 'v' }] });
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
