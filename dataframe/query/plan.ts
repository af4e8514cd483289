// A query plan: the plain-data description of a query that is shipped to the nodes (docs/dataframe.md
// "Queries"). Filter first, then either rows (optionally projected and limited) or an aggregate
// (optionally grouped). `checkPlan` validates a plan against a schema and derives the result schema;
// nodes run it on every payload before touching data.

import { checkFields, type ColumnType, type Field } from '../schema.js';
import { checkExpr, type Expr } from './expr.js';

const AGG_FNS = ['sum', 'mean', 'min', 'max', 'count'] as const;
export type AggFn = (typeof AGG_FNS)[number];

export interface AggSpec {
  /** Source column, or '*' (count only) for rows. */
  readonly col: string;
  readonly fn: AggFn;
  /** Output column name. */
  readonly as: string;
}

export interface Plan {
  readonly filter?: Expr;
  readonly select?: readonly string[];
  readonly groupBy?: readonly string[];
  /** Present (possibly empty) = an aggregate query; absent = a row query. */
  readonly aggs?: readonly AggSpec[];
  /** Row queries only: at most this many rows, in frame order. */
  readonly limit?: number;
}

export interface CheckedPlan {
  readonly plan: Plan;
  /** Field indexes the plan reads. */
  readonly reads: number[];
  /** Schema of the result frame. */
  readonly output: Field[];
}

/** The default output name of an aggregate: "x_sum", or "count" for count of '*'. */
export function aggName(col: string, fn: AggFn): string {
  return col === '*' ? fn : `${col}_${fn}`;
}

/** Output type of an aggregate: counts, sums and means are float64 (exact to 2^53); min/max keep the type. */
function aggType(fn: AggFn, input: ColumnType | undefined): ColumnType {
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
    if (!['filter', 'select', 'groupBy', 'aggs', 'limit'].includes(k))
      throw new TypeError(`unknown plan field ${JSON.stringify(k)}`);
  }
  const reads = new Set<string>();
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
    if (p.limit !== undefined && !(Number.isSafeInteger(p.limit) && (p.limit as number) >= 0)) {
      throw new TypeError('limit must be an integer >= 0');
    }
  } else {
    if (p.limit !== undefined) throw new TypeError('limit applies to row queries only');
    const groupBy = p.groupBy === undefined ? [] : checkNames(p.groupBy, 'groupBy', visible);
    if (!Array.isArray(p.aggs)) throw new TypeError('aggs must be an array');
    groupBy.forEach((n) => reads.add(n));
    output = groupBy.map((n) => ({ name: n, type: typeOf(n) }));
    for (const a of p.aggs as unknown[]) {
      const { col, fn, as } = (a ?? {}) as Record<string, unknown>;
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
        if ((fn === 'sum' || fn === 'mean') && t !== 'I' && t !== 'D') {
          throw new TypeError(`${fn} needs a numeric column; ${JSON.stringify(col)} is ${t}`);
        }
        reads.add(col);
      }
      output.push({ name: as, type: aggType(fn as AggFn, t) });
    }
    if (output.length === 0) throw new TypeError('an aggregate query needs a groupBy column or an aggregate');
  }
  checkFields(output); // duplicate output names are a TypeError
  // Drop undefined members: msgpack would carry them as nulls, which a node rightly rejects.
  const plan = Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as Plan;
  return { plan, reads: fields.flatMap((f, i) => (reads.has(f.name) ? [i] : [])), output };
}

function collect(e: unknown, out: Set<string>): void {
  const x = e as { op: string; name?: string; args?: unknown[] };
  if (x.op === 'col') out.add(x.name!);
  for (const a of x.args ?? []) collect(a, out);
}
