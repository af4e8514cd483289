// Correlated scalar subqueries in the WHERE, rewritten as a join with a grouped subquery, the usual
// decorrelation (as TPC-H Q2, Q17 and Q20 need it):
//
//   WHERE l_quantity < (SELECT 0.2 * avg(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)
//
// becomes a FROM item `(SELECT l_partkey AS __k0, 0.2 * avg(l_quantity) AS __v FROM lineitem GROUP
// BY l_partkey) __sq0` and the terms `__sq0.__k0 = p_partkey AND l_quantity < __sq0.__v`. Exact
// where it is done: the subquery is a top-level AND term's side of a comparison (a row whose key has
// no group would compare with NULL and be dropped, as the join drops it), reads frames (joined by
// commas, as TPC-H Q2's four), is
// correlated by equalities of its columns with the outer query's only (its other terms read its own
// frame alone, and filter it before grouping), and its one column is an aggregate other than count
// (over no rows, count is 0, not NULL: the "count bug"). Any other correlated subquery is left to
// scalar.ts, which refuses it naming the outer column. [NOT] EXISTS terms are joined the same way
// by exists-join.ts. A bare `SELECT *` is written out as the columns of the FROM as written, so the
// joined subqueries' columns (__k0, __v, ...) are not among the statement's.

import type {
  Expr as SqlExpr,
  ExprRef,
  From,
  SelectedColumn,
  SelectFromStatement,
  SelectStatement,
} from 'pgsql-ast-parser';
import { andOf, andTerms } from './comma-joins.js';
import { aliasOf, type FieldsOf, innerScope, type Outer, outerItems } from './correlation.js';
import { spanOf, sqlError } from './errors.js';
import { existsJoins } from './exists-join.js';
import { isQueryStatement } from './parse.js';
import { someNode } from './rewrite.js';

type Node = Record<string, unknown>;

const COMPARE = new Set(['=', '<>', '!=', '<', '<=', '>', '>=']);
const AGGS = new Set(['sum', 'avg', 'min', 'max']);

/** Whether `e` calls an aggregate of AGGS, and no count and no subquery. */
function aggregateOnly(e: unknown): boolean {
  let agg = false;
  let bad = false;
  const walk = (x: unknown): void => {
    if (bad || x === null || typeof x !== 'object') return;
    if (Array.isArray(x)) return x.forEach(walk);
    const n = x as Node;
    if (isQueryStatement(n)) {
      bad = true;
      return;
    }
    if (n.type === 'call') {
      const name = String((n.function as Node | undefined)?.name).toLowerCase();
      if (name === 'count' || n.over || n.filter) bad = true;
      else if (AGGS.has(name)) {
        agg = true;
        return; // its arguments read the subquery's rows
      }
    } else if (n.type === 'ref') {
      bad = true; // a column outside an aggregate: no single value per group
      return;
    }
    for (const v of Object.values(n)) walk(v);
  };
  walk(e);
  return agg && !bad;
}

/**
 * The statement with each such correlated subquery of its WHERE, and each [NOT] EXISTS that
 * exists-join.ts takes, joined as a grouped subquery; `undefined` when it has none (so the caller
 * runs it as it is).
 */
export async function decorrelate(
  text: string,
  st: SelectFromStatement,
  fieldsOf: FieldsOf,
): Promise<SelectFromStatement | undefined> {
  const written = st.from ?? [];
  if (written.length === 0) return undefined;
  const outer = await outerItems(written, fieldsOf);
  const added: From[] = [];
  const extra: SqlExpr[] = [];
  const out: SqlExpr[] = [];
  for (const t of andTerms(st.where)) {
    const b = t as unknown as Node;
    const side =
      b.type === 'binary' && COMPARE.has(String(b.op))
        ? isQueryStatement(b.right)
          ? 'right'
          : isQueryStatement(b.left)
            ? 'left'
            : undefined
        : undefined;
    const sub = side ? (b[side] as SelectStatement) : undefined;
    const join = sub ? await grouped(sub, outer, fieldsOf, `__sq${added.length}`) : undefined;
    if (!join) {
      out.push(t);
      continue;
    }
    added.push(join.item);
    extra.push(...join.keys);
    out.push({ ...(t as object), [side!]: join.value } as unknown as SqlExpr);
  }
  // With a scalar subquery joined, an EXISTS is beside a join: run.ts's semi join cannot take it.
  const ex = await existsJoins(text, st, out, outer, fieldsOf, added.length > 0);
  if (!ex && added.length === 0) return undefined;
  const columns = starWritten(text, st) ?? st.columns;
  const from = [...(ex?.from ?? written), ...added];
  return { ...st, columns, from, where: andOf([...(ex?.terms ?? out), ...extra]) ?? null };
}

/** A correlated subquery as a grouped FROM item, the key equalities and the value's reference. */
async function grouped(
  sub: SelectStatement,
  outer: readonly Outer[],
  fieldsOf: FieldsOf,
  alias: string,
): Promise<{ item: From; keys: SqlExpr[]; value: SqlExpr } | undefined> {
  if (sub.type !== 'select') return undefined;
  const q = sub as SelectFromStatement;
  if (q.groupBy || q.having || q.limit || q.orderBy || q.distinct || q.columns?.length !== 1 || !q.where)
    return undefined;
  if (!aggregateOnly(q.columns[0]!.expr)) return undefined;
  const scope = await innerScope(q, outer, fieldsOf);
  if (!scope) return undefined;
  const { scopeOf, reads } = scope;
  const keys: [ExprRef, ExprRef][] = [];
  const own: SqlExpr[] = [];
  for (const t of andTerms(q.where)) {
    const r = reads(t);
    if (r.has(undefined)) return undefined;
    if (!r.has('out')) {
      own.push(t);
      continue;
    }
    const b = t as unknown as Node;
    if (b.type !== 'binary' || b.op !== '=' || (b.left as Node).type !== 'ref' || (b.right as Node).type !== 'ref')
      return undefined;
    const l = b.left as unknown as ExprRef;
    const rr = b.right as unknown as ExprRef;
    const [sl, sr] = [scopeOf(l), scopeOf(rr)];
    if (sl === 'in' && sr === 'out') keys.push([l, rr]);
    else if (sl === 'out' && sr === 'in') keys.push([rr, l]);
    else return undefined;
  }
  if (keys.length === 0) return undefined; // not correlated: scalar.ts runs it once
  if (reads(q.columns[0]!.expr).has('out')) return undefined;
  const item = {
    type: 'statement',
    alias,
    statement: {
      type: 'select',
      columns: [
        ...keys.map(([k], i) => ({ expr: k, alias: { name: `__k${i}` } })),
        { expr: q.columns[0]!.expr, alias: { name: '__v' } },
      ],
      from: q.from,
      where: andOf(own) ?? null,
      groupBy: keys.map(([k]) => k),
    },
  } as unknown as From;
  const ref = (name: string): SqlExpr => ({ type: 'ref', table: { name: alias }, name }) as SqlExpr;
  return {
    item,
    keys: keys.map(([, o], i) => ({ type: 'binary', op: '=', left: ref(`__k${i}`), right: o }) as SqlExpr),
    value: ref('__v'),
  };
}

/**
 * The SELECT list with a bare `*` written out as `t.*` for each FROM item as written, so the FROM
 * items a rewrite adds are not listed (the result names repeated columns as `*` would). Undefined
 * when there is no `*`; an error beside USING, whose merged columns `t.*` would list twice.
 */
function starWritten(text: string, st: SelectFromStatement): SelectFromStatement['columns'] | undefined {
  const cols = st.columns ?? [];
  const star = cols.find((c) => c.expr.type === 'ref' && c.expr.name === '*' && !c.expr.table);
  if (!star) return undefined;
  const written = st.from ?? [];
  if (written.some((f) => f.join?.using))
    throw sqlError(
      text,
      spanOf(star.expr),
      'SELECT * beside JOIN ... USING and a subquery joined to the statement is not supported: name the columns',
    );
  return cols.flatMap((c) =>
    c.expr.type === 'ref' && c.expr.name === '*' && !c.expr.table
      ? written.map((f) => ({ expr: { type: 'ref', table: { name: aliasOf(f) ?? '' }, name: '*' } }) as SelectedColumn)
      : [c],
  );
}

/**
 * Whether the statement has a subquery anywhere in its WHERE, or an EXISTS elsewhere (refused by
 * exists-join.ts, naming it): a cheap test before opening frames.
 */
export function mayDecorrelate(st: SelectFromStatement): boolean {
  const exists = (n: Node): boolean =>
    n.type === 'call' && String((n.function as Node | undefined)?.name).toLowerCase() === 'exists';
  return (
    someNode(st.where, isQueryStatement) ||
    someNode([(st.columns ?? []).map((c) => c.expr), st.having, st.groupBy, st.orderBy], exists)
  );
}
