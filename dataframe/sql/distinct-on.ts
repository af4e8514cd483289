// `SELECT DISTINCT ON (exprs) ... ORDER BY ...` and `SELECT DISTINCT ... GROUP BY ...`: the SELECT
// without its DISTINCT, ORDER BY, LIMIT and OFFSET runs first as a part (derived.ts: pushed to the
// nodes, its rows gathered at the client, at most `maxGatheredRows`), with a hidden column for each
// DISTINCT ON or ORDER BY expression that is not a column of its output; at the client its rows
// are sorted by the ORDER BY, the first row of each run of equal DISTINCT ON values kept (rows equal
// as group keys are: nulls equal, 0 and -0 equal, NaN equal to NaN), then OFFSET and LIMIT, and
// the hidden columns dropped. DISTINCT with GROUP BY is DISTINCT ON every output column; as in
// PostgreSQL its ORDER BY must name output columns, and DISTINCT ON's ORDER BY must start with the
// DISTINCT ON expressions (PostgreSQL's errors). docs/dataframe.md "SQL".

import type { Expr as SqlExpr, OrderByStatement, SelectFromStatement } from 'pgsql-ast-parser';
import { DataFrame } from '../dataframe.js';
import { gather } from '../query/partial.js';
import { groupKeyText } from '../query/group-key.js';
import type { SortKey } from '../query/sort.js';
import { sqlError } from './errors.js';
import { spanOf } from './translate.js';

/** Whether a SELECT takes the client-side distinct step: DISTINCT ON, or DISTINCT with GROUP BY. */
export function needsDistinctStep(st: SelectFromStatement): boolean {
  return Array.isArray(st.distinct) || (st.distinct === 'distinct' && (st.groupBy?.length ?? 0) > 0);
}

/** An expression's tree without parser locations, as text: equal for two writings of one expression. */
function shape(e: unknown): string {
  return JSON.stringify(e, (k, v) => (k === '_location' ? undefined : v));
}

/** Where a DISTINCT ON or ORDER BY expression's value is in the part's rows. */
type Place = { ordinal: number } | { hidden: number };

export interface DistinctStep {
  /** The SELECT that runs first: no DISTINCT, ORDER BY, LIMIT or OFFSET, the hidden columns last. */
  inner: SelectFromStatement;
  /** The statement's rows from the part's. */
  finish(df: DataFrame, maxRows: number | undefined): Promise<DataFrame>;
}

/** Splits a SELECT for which needsDistinctStep holds. */
export function distinctStep(text: string, st: SelectFromStatement): DistinctStep {
  const err = (n: unknown, msg: string): Error => sqlError(text, spanOf(n), msg);
  const items = st.columns ?? [];
  const star = items.some((c) => c.expr.type === 'ref' && c.expr.name === '*');
  const hidden: SqlExpr[] = [];
  const hiddenShapes: string[] = [];
  /** The place of an expression of DISTINCT ON or ORDER BY, and a text equal for equal places. */
  const place = (e: SqlExpr): { at: Place; key: string } => {
    if (e.type === 'integer') {
      if (e.value < 1 || (!star && e.value > items.length))
        throw err(e, `ORDER BY/DISTINCT ON position ${e.value} is not in the SELECT list`);
      return { at: { ordinal: e.value }, key: `#${e.value}` };
    }
    // A name of an output column stands for it, as in PostgreSQL (an alias before an input column).
    let x: SqlExpr = e;
    if (e.type === 'ref' && !e.table) {
      const i = items.findIndex((c) => (c.alias?.name ?? (c.expr.type === 'ref' ? c.expr.name : undefined)) === e.name);
      if (i >= 0 && !star) return { at: { ordinal: i + 1 }, key: `#${i + 1}` };
      if (i >= 0) x = items[i]!.expr;
    }
    if (!star) {
      const i = items.findIndex((c) => shape(c.expr) === shape(x));
      if (i >= 0) return { at: { ordinal: i + 1 }, key: `#${i + 1}` };
    }
    const s = shape(x);
    let j = hiddenShapes.indexOf(s);
    if (j < 0) {
      j = hidden.push(x) - 1;
      hiddenShapes.push(s);
    }
    return { at: { hidden: j }, key: s };
  };
  const orderBy: readonly OrderByStatement[] = st.orderBy ?? [];
  const distinctOn = Array.isArray(st.distinct) ? st.distinct : undefined;
  const on = distinctOn?.map(place);
  const order = orderBy.map((o) => {
    const p = place(o.by);
    if (!on && 'hidden' in p.at && !star)
      throw err(o.by, 'for SELECT DISTINCT, ORDER BY expressions must appear in select list');
    return p;
  });
  if (on) {
    // PostgreSQL: the ORDER BY's leading items are DISTINCT ON expressions until each has been named
    // (an ORDER BY that ends first is extended by the others).
    const left = new Set(on.map((p) => p.key));
    const other = order.findIndex((o) => !left.has(o.key));
    for (const o of other < 0 ? order : order.slice(0, other)) left.delete(o.key);
    if (other >= 0 && left.size > 0) {
      const i = on.findIndex((p) => left.has(p.key));
      throw err(distinctOn![i], 'SELECT DISTINCT ON expressions must match initial ORDER BY expressions');
    }
  }
  const limit = count(text, st.limit?.limit, 'LIMIT');
  const offset = count(text, st.limit?.offset, 'OFFSET') ?? 0;
  const inner: SelectFromStatement = {
    ...st,
    distinct: undefined,
    orderBy: undefined,
    limit: undefined,
    columns: [...items, ...hidden.map((expr, j) => ({ expr, alias: { name: `\u0000on${j}` } }))],
  };
  return {
    inner,
    async finish(df, maxRows) {
      const width = df.fields.length - hidden.length;
      const column = (p: Place, at: unknown): number => {
        if ('hidden' in p) return width + p.hidden;
        if (p.ordinal > width) throw err(at, `ORDER BY/DISTINCT ON position ${p.ordinal} is not in the SELECT list`);
        return p.ordinal - 1;
      };
      const keys: SortKey[] = orderBy.map((o, k) => ({
        col: df.fields[column(order[k]!.at, o.by)]!.name,
        desc: o.order === 'DESC',
        ...(o.nulls ? { nulls: o.nulls === 'FIRST' ? ('first' as const) : ('last' as const) } : {}),
      }));
      const sorted = keys.length ? await df.query().run({ orderBy: keys }) : df;
      const cols = on
        ? on.map((p, k) => sorted.columns[column(p.at, distinctOn![k])]!)
        : sorted.columns.slice(0, width);
      const seen = new Set<string>();
      const keep: number[] = [];
      const end = Math.min(
        offset + (limit ?? Number.POSITIVE_INFINITY),
        offset + (maxRows ?? Number.POSITIVE_INFINITY) + 1,
      );
      for (let r = 0; r < sorted.nrows && keep.length < end; r++) {
        const k = groupKeyText(cols.map((c) => c.get(r)));
        if (seen.has(k)) continue;
        seen.add(k);
        keep.push(r);
      }
      const idx = Uint32Array.from(keep.slice(offset));
      return DataFrame.fromFields(
        sorted.fields.slice(0, width),
        sorted.columns.slice(0, width).map((c) => gather(c, idx)),
      );
    },
  };
}

/** A LIMIT or OFFSET: an integer >= 0. */
function count(text: string, e: SqlExpr | null | undefined, what: string): number | undefined {
  if (!e) return undefined;
  if (e.type !== 'integer' || e.value < 0) throw sqlError(text, spanOf(e), `${what} must be an integer >= 0`);
  return e.value;
}
