// The columns a FROM of joined frames shows, as PostgreSQL names them. `JOIN ... USING (k)` merges
// each USING column of its two sides into one: `SELECT *` shows it once, first, then the other
// columns of the left side, then the right side's; an unqualified `k` reads the merged column (the
// left side's value for INNER and LEFT, the right side's for RIGHT, COALESCE(left, right) for FULL),
// while `l.k` and `r.k` still read that side's. In a chain, a later USING merges with the columns
// of the frames joined so far. Everything else in the statement runs as before: USING becomes
// `ON l.k = r.k` (a null key matches nothing either way), `*` and `t.*` become the columns they
// stand for, and an unqualified reference to a merged column becomes the expression it stands for.
// Columns of the same name that are not merged keep their names here; the result gives a repeated
// name `_1`, `_2` (run.ts), pair or chain alike.

import type { Expr as SqlExpr, ExprRef, From, SelectedColumn, SelectFromStatement } from 'pgsql-ast-parser';
import type { Field } from '../schema.js';
import { andOf } from './comma-joins.js';
import { spanOf, sqlError } from './errors.js';
import { isQueryStatement } from './parse.js';
import { findColumn, itemName } from './planner.js';
import { rewrite } from './rewrite.js';

type Table = Extract<From, { type: 'table' }>;

/** A column the FROM shows: its name, the expression that reads it, and whether USING merged it. */
interface Shown {
  name: string;
  type: string;
  expr: SqlExpr;
  merged: boolean;
}

const ref = (table: string, name: string): SqlExpr => ({ type: 'ref', table: { name: table }, name }) as SqlExpr;

const isStar = (c: SelectedColumn): boolean => c.expr.type === 'ref' && c.expr.name === '*';

/** The shown columns an unqualified name reads: findColumn's rule (exact, else the only one in another case). */
function named(shown: readonly Shown[], name: string): Shown[] {
  const exact = shown.filter((s) => s.name === name);
  if (exact.length) return exact;
  return shown.filter((s) => s.name.toLowerCase() === name.toLowerCase());
}

/** `x` with its unqualified references to merged columns replaced (outside subqueries). */
function mergedRefs<T>(x: T, shown: readonly Shown[]): T {
  return rewrite(x, (n) => {
    if (isQueryStatement(n)) return n;
    if (n.type !== 'ref') return undefined;
    const r = n as unknown as ExprRef;
    if (r.table || r.name === '*') return undefined;
    const hits = named(shown, r.name);
    return hits.length === 1 && hits[0]!.merged ? hits[0]!.expr : undefined;
  });
}

/** Whether a FROM item is the right side of a NATURAL JOIN (parse.ts marks it). */
function isNatural(f: From): boolean {
  return (f.join as { eau2Natural?: boolean } | undefined)?.eau2Natural === true;
}

/**
 * A NATURAL JOIN's item with USING of every column of its side whose name the columns joined before
 * it show (as an unqualified name would find it), as PostgreSQL reads it; with none in common, an
 * inner NATURAL JOIN is a CROSS JOIN.
 */
function naturalAsUsing(text: string, f: Table, right: readonly Field[], shown: readonly Shown[]): Table {
  if (!isNatural(f)) return f;
  const j = f.join!;
  if (j.on || j.using) throw sqlError(text, spanOf(f), 'a NATURAL JOIN takes no ON or USING');
  const common = right.filter((c) => named(shown, c.name).length > 0).map((c) => ({ name: c.name }));
  if (common.length > 0) return { ...f, join: { type: j.type, using: common } };
  if (j.type !== 'INNER JOIN')
    throw sqlError(text, spanOf(f), `a NATURAL ${j.type} of frames with no column name in common: write ON`);
  return { ...f, join: { type: 'CROSS JOIN' } };
}

/**
 * The statement with its USING joins written as ON, `*` and `t.*` written as the columns they
 * stand for, and unqualified references to merged columns as what they read. `fields` holds each
 * FROM item's columns, in order. A statement with neither USING nor `*` is returned as it is.
 */
export function joinColumns(
  text: string,
  st: SelectFromStatement,
  fields: readonly (readonly Field[])[],
): SelectFromStatement {
  const from = (st.from ?? []) as Table[];
  if (from.length === 0 || from.some((f) => f.type !== 'table')) return st;
  const hasUsing = from.some((f) => f.join?.using || isNatural(f));
  const stars = (st.columns ?? []).some(isStar);
  if (!hasUsing && !stars) return st;
  const aliases = from.map((f) => f.name.alias ?? f.name.name);
  const columnsOf = (i: number): Shown[] =>
    fields[i]!.map((f) => ({ name: f.name, type: f.type, expr: ref(aliases[i]!, f.name), merged: false }));

  let shown = columnsOf(0);
  const joined: Table[] = [from[0]!];
  for (let i = 1; i < from.length; i++) {
    const f = naturalAsUsing(text, from[i]!, fields[i]!, shown);
    const j = f.join;
    const right = columnsOf(i);
    if (!j?.using) {
      // As in PostgreSQL, JOIN binds tighter than a comma: `a, b JOIN c USING (k)` merges b's k with
      // c's alone, which a left-to-right reading cannot give.
      if (!j && hasUsing) {
        const u = from.find((x) => x.join?.using || isNatural(x))!;
        throw sqlError(
          text,
          spanOf(u.join) ?? spanOf(u),
          `${isNatural(u) ? 'NATURAL JOIN' : 'USING'} beside a comma join: write ON a.k = b.k`,
        );
      }
      joined.push(j?.on ? { ...f, join: { ...j, on: mergedRefs(j.on, [...shown, ...right]) } } : f);
      shown = [...shown, ...right];
      continue;
    }
    const kind = j.type.replace(' JOIN', '');
    const usedLeft = new Set<Shown>();
    const usedRight = new Set<Shown>();
    const merged: Shown[] = [];
    const on: SqlExpr[] = [];
    for (const u of j.using) {
      const at = spanOf(u) ?? spanOf(j);
      const l = named(shown, u.name);
      const rc = findColumn(fields[i]!, u.name);
      if (l.length === 0 || rc === undefined)
        throw sqlError(text, at, `USING column ${u.name} is not in both sides of the join`);
      if (l.length > 1)
        throw sqlError(text, at, `USING column ${u.name} is in more than one frame on its left: write ON a.k = b.k`);
      const lc = l[0]!;
      const r = right.find((x) => x.name === rc)!;
      if (usedLeft.has(lc)) throw sqlError(text, at, `USING names column ${u.name} twice`);
      const num = (t: string): boolean => t === 'I' || t === 'D';
      if (lc.type !== r.type && !(num(lc.type) && num(r.type)))
        throw sqlError(text, at, `USING column ${u.name} is of type ${lc.type} on the left and ${r.type} on the right`);
      // A column merged by a FULL JOIN is COALESCE(left, right), which a hash join cannot take as a key.
      if (lc.expr.type !== 'ref')
        throw sqlError(
          text,
          at,
          `USING column ${u.name} is merged by a FULL JOIN before it: put that join in a WITH query first`,
        );
      usedLeft.add(lc);
      usedRight.add(r);
      on.push({ type: 'binary', op: '=', left: lc.expr, right: r.expr } as SqlExpr);
      const expr =
        kind === 'RIGHT'
          ? r.expr
          : kind === 'FULL'
            ? ({ type: 'call', function: { name: 'coalesce' }, args: [lc.expr, r.expr] } as SqlExpr)
            : lc.expr;
      const type = lc.type === r.type ? lc.type : 'D';
      merged.push({ name: lc.name, type, expr, merged: true });
    }
    const at = spanOf(j);
    joined.push({ ...f, join: { type: j.type, on: andOf(on)!, ...(at ? { _location: at } : {}) } } as Table);
    shown = [...merged, ...shown.filter((s) => !usedLeft.has(s)), ...right.filter((s) => !usedRight.has(s))];
  }

  const columns = (st.columns ?? []).flatMap((c): SelectedColumn[] => {
    if (!isStar(c)) {
      const x = mergedRefs(c.expr, shown);
      // An item keeps the name it has as written, whatever it now reads.
      return [x === c.expr ? c : { ...c, expr: x, alias: { name: itemName(text, c) } }];
    }
    const t = (c.expr as ExprRef).table;
    if (!t) return shown.map((s) => ({ expr: s.expr, alias: { name: s.name } }));
    const i = aliases.findIndex((a) => a === t.name || a.toLowerCase() === t.name.toLowerCase());
    if (i < 0) throw sqlError(text, spanOf(c.expr), `no frame or alias named ${t.name} in FROM`);
    return columnsOf(i).map((s) => ({ expr: s.expr, alias: { name: s.name } }));
  });
  // A bare name in GROUP BY or ORDER BY may name an output column, which the planner prefers.
  const outputs = new Set(columns.map((c) => c.alias?.name ?? (c.expr.type === 'ref' ? c.expr.name : '')));
  const key = (e: SqlExpr): SqlExpr => (e.type === 'ref' && !e.table && outputs.has(e.name) ? e : mergedRefs(e, shown));
  return {
    ...st,
    columns,
    from: joined,
    where: mergedRefs(st.where ?? null, shown),
    groupBy: st.groupBy?.map(key),
    having: mergedRefs(st.having, shown),
    orderBy: st.orderBy?.map((o) => ({ ...o, by: key(o.by) })),
  };
}
