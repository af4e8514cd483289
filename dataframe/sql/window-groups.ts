// Window functions over a GROUP BY's groups (`SELECT origin, count(*), rank() OVER (ORDER BY
// count(*) DESC) FROM f GROUP BY origin`): SQL computes the windows after grouping, so the statement
// is split in two. The grouped SELECT, with every expression the windows and the ORDER BY read as
// columns of its own, runs first as a part (derived.ts: pushed to the nodes, its groups gathered at
// the client); the windows, ORDER BY, LIMIT and DISTINCT run over its rows.

import type { Expr as SqlExpr, ExprCall, SelectFromStatement, SelectedColumn } from 'pgsql-ast-parser';
import { sqlError } from './errors.js';
import { isAggCall, itemName } from './planner.js';
import { SQL_AGGS, spanOf } from './translate.js';

const isWindow = (e: SqlExpr | undefined): e is ExprCall => e?.type === 'call' && !!e.over;

/** Whether the statement has window functions and groups (GROUP BY, HAVING or an aggregate). */
export function windowsOverGroups(st: SelectFromStatement): boolean {
  const cols = st.columns ?? [];
  if (!cols.some((c) => isWindow(c.expr))) return false;
  return (st.groupBy?.length ?? 0) > 0 || !!st.having || cols.some((c) => isAggCall(c.expr, SQL_AGGS));
}

/** An expression's shape without its place in the text: two spellings of one expression compare equal. */
function shape(e: SqlExpr): string {
  return JSON.stringify(e, (k, v) => (k === '_location' ? undefined : v));
}

const ref = (name: string, at?: SqlExpr): SqlExpr =>
  ({ type: 'ref', name, ...(spanOf(at) ? { _location: spanOf(at) } : {}) }) as SqlExpr;

/**
 * The grouped part (`inner`, read under the name `from`) and the statement over its rows (`outer`).
 * Both keep the original nodes, so errors point into the statement as written.
 */
export function splitWindowsOverGroups(
  text: string,
  st: SelectFromStatement,
  from: string,
): { inner: SelectFromStatement; outer: SelectFromStatement } {
  const cols = st.columns ?? [];
  const innerCols: SelectedColumn[] = [];
  const named = new Map<string, string>();
  /** The inner column computing `e` (one per distinct expression). */
  const column = (e: SqlExpr, tag: string): SqlExpr => {
    const k = shape(e);
    let name = named.get(k);
    if (name === undefined) {
      name = `__${tag}${innerCols.length}`;
      named.set(k, name);
      innerCols.push({ expr: e, alias: { name } });
    }
    return ref(name, e);
  };
  // GROUP BY by position or output name means the SELECT item, in the statement as written (the
  // planner's reading): resolved here, since the inner SELECT's items are others.
  const groupBy = (st.groupBy ?? []).map((g) => {
    let k = -1;
    if (g.type === 'integer') {
      if (g.value < 1 || g.value > cols.length)
        throw sqlError(text, spanOf(g), `GROUP BY position ${g.value} is not in the SELECT list (1..${cols.length})`);
      k = g.value - 1;
    } else if (g.type === 'ref' && !g.table) k = cols.findIndex((c) => c.alias?.name === g.name);
    if (k < 0) return g;
    const e = cols[k]!.expr;
    if (isWindow(e)) throw sqlError(text, spanOf(g), 'GROUP BY cannot name a window function');
    return e;
  });
  const outerCols: SelectedColumn[] = cols.map((c) => {
    if (c.expr.type === 'ref' && c.expr.name === '*')
      throw sqlError(text, spanOf(c.expr), 'SELECT * with GROUP BY: name the columns');
    if (!isWindow(c.expr)) return { expr: column(c.expr, 'c'), alias: { name: itemName(text, c) } };
    const w = c.expr;
    // Literal arguments (lag's offset) stay: the window reads them as written.
    const arg = (a: SqlExpr): SqlExpr =>
      (a.type === 'ref' && a.name === '*') || a.type === 'integer' || a.type === 'numeric' ? a : column(a, 'w');
    const over = {
      ...w.over!,
      partitionBy: w.over!.partitionBy?.map((p) => column(p, 'w')),
      orderBy: w.over!.orderBy?.map((o) => ({ ...o, by: column(o.by, 'w') })),
    };
    return { expr: { ...w, args: w.args.map(arg), over }, alias: { name: itemName(text, c) } };
  });
  // ORDER BY: a position or an output name means the outer item; anything else is computed inside.
  const outputs = new Set(outerCols.map((c) => c.alias!.name));
  const orderBy = st.orderBy?.map((o) =>
    o.by.type === 'integer' || (o.by.type === 'ref' && !o.by.table && outputs.has(o.by.name))
      ? o
      : { ...o, by: column(o.by, 'o') },
  );
  const inner: SelectFromStatement = {
    type: 'select',
    columns: innerCols,
    from: st.from,
    where: st.where,
    groupBy,
    having: st.having,
    ...(spanOf(st) ? { _location: spanOf(st) } : {}),
  };
  const outer: SelectFromStatement = {
    type: 'select',
    columns: outerCols,
    from: [{ type: 'table', name: { name: from } }],
    orderBy,
    limit: st.limit,
    distinct: st.distinct,
    ...(spanOf(st) ? { _location: spanOf(st) } : {}),
  };
  return { inner, outer };
}
