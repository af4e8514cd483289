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
// scalar.ts, which refuses it naming the outer column.

import type { Expr as SqlExpr, ExprRef, From, SelectFromStatement, SelectStatement } from 'pgsql-ast-parser';
import type { Field } from '../schema.js';
import { andOf, andTerms } from './comma-joins.js';
import { findColumn } from './planner.js';
import { isQueryStatement } from './parse.js';
import { someNode } from './rewrite.js';

type Node = Record<string, unknown>;
type Table = Extract<From, { type: 'table' }>;

const COMPARE = new Set(['=', '<>', '!=', '<', '<=', '>', '>=']);
const AGGS = new Set(['sum', 'avg', 'min', 'max']);

/** The columns of a frame named in FROM (a stored frame, a WITH query, a frame given), if known. */
export type FieldsOf = (name: string) => Promise<readonly Field[] | undefined>;

const aliasOf = (f: From): string | undefined =>
  f.type === 'table' ? (f.name.alias ?? f.name.name) : f.type === 'statement' ? f.alias : undefined;

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
 * The statement with each such correlated subquery of its WHERE joined as a grouped subquery;
 * `undefined` when it has none (so the caller runs it as it is).
 */
export async function decorrelate(
  st: SelectFromStatement,
  fieldsOf: FieldsOf,
): Promise<SelectFromStatement | undefined> {
  const from = st.from ?? [];
  if (from.length === 0 || !st.where) return undefined;
  // The outer query's columns by FROM item (unknown for a subquery in FROM: its names stay unresolved).
  const outer: { alias: string; fields: readonly Field[] | undefined }[] = [];
  for (const f of from)
    outer.push({ alias: aliasOf(f) ?? '', fields: f.type === 'table' ? await fieldsOf(f.name.name) : undefined });
  const terms = andTerms(st.where);
  const added: From[] = [];
  const extra: SqlExpr[] = [];
  let changed = false;
  const out: SqlExpr[] = [];
  for (const t of terms) {
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
    changed = true;
    added.push(join.item);
    extra.push(...join.keys);
    out.push({ ...(t as object), [side!]: join.value } as unknown as SqlExpr);
  }
  if (!changed) return undefined;
  return { ...st, from: [...from, ...added], where: andOf([...out, ...extra]) ?? null };
}

/** A correlated subquery as a grouped FROM item, the key equalities and the value's reference. */
async function grouped(
  sub: SelectStatement,
  outer: { alias: string; fields: readonly Field[] | undefined }[],
  fieldsOf: FieldsOf,
  alias: string,
): Promise<{ item: From; keys: SqlExpr[]; value: SqlExpr } | undefined> {
  if (sub.type !== 'select') return undefined;
  const q = sub as SelectFromStatement;
  // Its FROM: frames, joined by commas (its WHERE's equalities join them, comma-joins.ts).
  if (!q.from?.length || q.from.some((f) => f.type !== 'table' || f.join)) return undefined;
  if (q.groupBy || q.having || q.limit || q.orderBy || q.distinct || q.columns?.length !== 1 || !q.where)
    return undefined;
  if (!aggregateOnly(q.columns[0]!.expr)) return undefined;
  const inner: { alias: string; fields: readonly Field[] }[] = [];
  for (const f of q.from as Table[]) {
    const fields = await fieldsOf(f.name.name);
    if (!fields) return undefined;
    inner.push({ alias: f.name.alias ?? f.name.name, fields });
  }
  const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
  /** 'in' for the subquery's own column, 'out' for the outer query's, undefined if neither can be told. */
  const scopeOf = (r: ExprRef): 'in' | 'out' | undefined => {
    if (r.table) {
      const own = inner.find((i) => same(i.alias, r.table!.name));
      if (own) return findColumn(own.fields, r.name) !== undefined ? 'in' : undefined;
      return outer.some((o) => same(o.alias, r.table!.name)) ? 'out' : undefined;
    }
    // SQL's scoping: the nearest query's columns first.
    const mine = inner.filter((i) => findColumn(i.fields, r.name) !== undefined);
    if (mine.length > 0) return mine.length === 1 ? 'in' : undefined;
    const hits = outer.filter((o) => o.fields && findColumn(o.fields, r.name) !== undefined);
    return hits.length === 1 ? 'out' : undefined;
  };
  const reads = (e: unknown): Set<'in' | 'out' | undefined> => {
    const s = new Set<'in' | 'out' | undefined>();
    const walk = (x: unknown): void => {
      if (x === null || typeof x !== 'object') return;
      if (Array.isArray(x)) return x.forEach(walk);
      const n = x as Node;
      if (isQueryStatement(n)) {
        s.add(undefined);
        return;
      }
      if (n.type === 'ref' && n.name !== '*') {
        s.add(scopeOf(n as unknown as ExprRef));
        return;
      }
      for (const v of Object.values(n)) walk(v);
    };
    walk(e);
    return s;
  };
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

/** Whether the statement has a subquery anywhere in its WHERE (a cheap test before opening frames). */
export function whereHasSubquery(st: SelectFromStatement): boolean {
  return someNode(st.where, isQueryStatement);
}
