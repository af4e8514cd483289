// Semi and anti joins written as subqueries in the WHERE: `[NOT] EXISTS (SELECT ... FROM r WHERE r.k =
// outer.k [AND ...])` and `k IN (SELECT c FROM r)`, taken out of the WHERE as a join of the statement's
// frame with r (run.ts). docs/dataframe.md "SQL".

import type { Expr as SqlExpr, ExprRef, From, SelectFromStatement } from 'pgsql-ast-parser';
import type { JoinType } from '../query/join.js';
import { sqlError } from './errors.js';
import { type OnSide, sidesRead } from './join-on.js';
import { andTerms } from './comma-joins.js';
import { isColumnOfOneFrame } from './parse.js';
import { findColumn } from './planner.js';
import { spanOf } from './translate.js';

function refOf(e: SqlExpr): ExprRef | undefined {
  return e.type === 'ref' && e.name !== '*' ? e : undefined;
}

/** Equality terms a.x = b.y (ANDed) as [left column, right column] pairs. */
function keyPairs(text: string, on: SqlExpr, left: OnSide, right: OnSide): [string, string][] {
  const terms: SqlExpr[] = [];
  const flat = (e: SqlExpr): void => {
    if (e.type === 'binary' && e.op === 'AND') flat(e.left), flat(e.right);
    else terms.push(e);
  };
  flat(on);
  return terms.map((t) => {
    const bad = (): Error =>
      sqlError(text, spanOf(t), 'a join condition must be column = column, one from each side (ANDed)');
    if (t.type !== 'binary' || t.op !== '=') throw bad();
    const a = refOf(t.left);
    const b = refOf(t.right);
    if (!a || !b) throw bad();
    const side = (r: ExprRef): [OnSide, string] | undefined => {
      for (const s of r.table
        ? [left, right].filter((x) => x.alias.toLowerCase() === r.table!.name.toLowerCase())
        : [left, right]) {
        const c = findColumn(s.fields, r.name);
        if (c !== undefined) return [s, c];
      }
      return undefined;
    };
    const x = side(a);
    const y = side(b);
    if (!x) throw sqlError(text, spanOf(a), `no column named ${a.name}`);
    if (!y) throw sqlError(text, spanOf(b), `no column named ${b.name}`);
    if (x[0] === y[0]) throw bad();
    return x[0] === left ? [x[1], y[1]] : [y[1], x[1]];
  });
}

/** A semi/anti join written as [NOT] EXISTS (SELECT ... FROM r WHERE r.k = outer.k ...) or k IN (SELECT c FROM r). */
export interface SubJoin {
  how: JoinType;
  from: From;
  /** Builds the key pairs once both sides are open. */
  keys(left: OnSide, right: OnSide): [string, string][];
  /**
   * EXISTS: the key pairs, and the WHERE terms on the subquery's frame alone (`EXISTS (SELECT * FROM
   * l WHERE l.k = o.k AND l.commit < l.receipt)`), which filter that frame before the join.
   */
  split?(left: OnSide, right: OnSide): { keys: [string, string][]; inner: SqlExpr[] };
}

export function takeSubJoin(
  text: string,
  where: SqlExpr | null | undefined,
): { rest: SqlExpr | undefined; sub?: SubJoin } {
  if (!where) return { rest: undefined };
  const terms: SqlExpr[] = [];
  const flat = (e: SqlExpr): void => {
    if (e.type === 'binary' && e.op === 'AND') flat(e.left), flat(e.right);
    else terms.push(e);
  };
  flat(where);
  let sub: SubJoin | undefined;
  const rest: SqlExpr[] = [];
  for (const t of terms) {
    const neg = t.type === 'unary' && t.op === 'NOT';
    const inner = neg ? (t as { operand: SqlExpr }).operand : t;
    let found: SubJoin | undefined;
    if (inner.type === 'call' && inner.function.name.toLowerCase() === 'exists' && inner.args[0]?.type === 'select') {
      const q = inner.args[0] as SelectFromStatement;
      if (q.from?.length !== 1 || q.from[0]!.join)
        throw sqlError(text, spanOf(q), 'EXISTS needs one frame in its FROM');
      if (!q.where || q.groupBy || q.having || q.limit)
        throw sqlError(text, spanOf(q), 'EXISTS takes SELECT ... FROM frame WHERE key equalities only');
      const on = q.where;
      found = {
        how: neg ? 'anti' : 'semi',
        from: q.from[0]!,
        keys: (l, r) => keyPairs(text, on, l, r),
        split: (l, r) => {
          const keys: [string, string][] = [];
          const inner: SqlExpr[] = [];
          for (const t of andTerms(on)) {
            const sides = sidesRead(text, t, l, r);
            if (sides === 'R' || sides === '') inner.push(t);
            else if (sides === 'LR' && t.type === 'binary' && t.op === '=' && refOf(t.left) && refOf(t.right))
              keys.push(...keyPairs(text, t, l, r));
            else
              throw sqlError(
                text,
                spanOf(t),
                sides === 'L'
                  ? "an EXISTS subquery's WHERE term on the outer query alone is not supported: move it out of the subquery"
                  : "an EXISTS subquery's WHERE takes equalities of its frame's columns with the outer query's, and terms on its own frame alone",
              );
          }
          if (keys.length === 0)
            throw sqlError(text, spanOf(on), "EXISTS needs an equality of its frame's column with the outer query's");
          return { keys, inner };
        },
      };
    } else if (
      inner.type === 'binary' &&
      (inner.op === 'IN' || inner.op === 'NOT IN') &&
      inner.right.type === 'select'
    ) {
      if (inner.op === 'NOT IN' || neg)
        throw sqlError(
          text,
          spanOf(inner),
          'NOT IN (subquery) is not supported (its nulls make it differ from an anti join): use NOT EXISTS',
        );
      const q = inner.right as SelectFromStatement;
      const c = q.columns?.[0];
      const lref = refOf(inner.left);
      if (!isColumnOfOneFrame(q) || !c || !lref)
        throw sqlError(text, spanOf(inner), 'IN (subquery) takes column IN (SELECT column FROM frame)');
      const rref = refOf(c.expr)!;
      found = {
        how: 'semi',
        from: q.from![0]!,
        keys: (l, r) => {
          const lc = findColumn(l.fields, lref.name);
          const rc = findColumn(r.fields, rref.name);
          if (!lc) throw sqlError(text, spanOf(lref), `no column named ${lref.name}`);
          if (!rc) throw sqlError(text, spanOf(rref), `no column named ${rref.name}`);
          return [[lc, rc]];
        },
      };
    }
    if (found) {
      if (sub) throw sqlError(text, spanOf(t), 'one subquery join (EXISTS/IN) per SELECT: this is a second one');
      sub = found;
    } else rest.push(t);
  }
  const rebuilt = rest.reduce<SqlExpr | undefined>(
    (a, b) => (a ? ({ type: 'binary', op: 'AND', left: a, right: b } as SqlExpr) : b),
    undefined,
  );
  return { rest: rebuilt, sub };
}
