// Comma joins (`FROM customer c, orders o, lineitem l WHERE c.custkey = o.custkey AND ...`), as
// TPC-H and most hand-written SQL joins frames, read as explicit joins: each WHERE term `x = y` with
// x and y columns of two different frames (of types a join can match) becomes a join condition, and
// the frames are joined in an order that connects them: after the first, the first frame in FROM
// order linked by such a term to those already joined, on every term that links it to them. A frame
// linked to none of them is joined by CROSS JOIN. The other terms stay the WHERE. The statement that
// comes out is an ordinary chain of JOINs (join-chain.ts, run.ts).
//
// As in PostgreSQL, JOIN binds tighter than a comma: `FROM a, b JOIN c ON ...` is a × (b JOIN c). A
// group of INNER (or CROSS) joins is the same as its frames with its ON terms in the WHERE, so its
// frames are ordered like any other; a group with a LEFT, RIGHT or FULL JOIN keeps its order and is
// joined first, as an outer join cannot be taken apart (so a statement may have one such group).

import type { Expr as SqlExpr, ExprRef, From, SelectFromStatement } from 'pgsql-ast-parser';
import type { Field } from '../schema.js';
import { spanOf, sqlError } from './errors.js';
import { findColumn } from './planner.js';

type Table = Extract<From, { type: 'table' }>;

/** Whether a FROM item after the first has no JOIN before it (a comma). */
function hasCommaJoin(st: SelectFromStatement): boolean {
  return (st.from ?? []).slice(1).some((f) => !f.join);
}

/** The top-level AND terms of `e`. */
export function andTerms(e: SqlExpr | null | undefined): SqlExpr[] {
  const out: SqlExpr[] = [];
  const flat = (x: SqlExpr): void => {
    if (x.type === 'binary' && x.op === 'AND') flat(x.left), flat(x.right);
    else out.push(x);
  };
  if (e) flat(e);
  return out;
}

/** The terms ANDed (undefined for none). */
export function andOf(xs: readonly SqlExpr[]): SqlExpr | undefined {
  return xs.reduce<SqlExpr | undefined>(
    (a, b) => (a ? ({ type: 'binary', op: 'AND', left: a, right: b } as SqlExpr) : b),
    undefined,
  );
}

const num = (t: string): boolean => t === 'I' || t === 'D';

/** A term's shape without its place in the text: two terms written alike compare equal. */
const shapeOf = (e: SqlExpr): string => JSON.stringify(e, (k, v) => (k === '_location' ? undefined : v));

/**
 * `(A AND X) OR (A AND Y)` as `A` and `X OR Y`: the terms every branch of an OR holds, taken out of
 * it, so that a join condition written in each branch (TPC-H Q19's `p_partkey = l_partkey`) is one
 * (else the frames would be crossed). Exact in SQL's three-valued logic, where AND distributes over
 * OR as in two-valued logic. A term that is no OR, or whose branches share nothing, is itself.
 */
function commonOfOr(t: SqlExpr): SqlExpr[] {
  if (t.type !== 'binary' || t.op !== 'OR') return [t];
  const branches: SqlExpr[] = [];
  const flat = (x: SqlExpr): void => {
    if (x.type === 'binary' && x.op === 'OR') flat(x.left), flat(x.right);
    else branches.push(x);
  };
  flat(t);
  const terms = branches.map(andTerms);
  const shapes = terms.map((ts) => new Set(ts.map(shapeOf)));
  const common = terms[0]!.filter((x) => shapes.every((s) => s.has(shapeOf(x))));
  if (common.length === 0) return [t];
  const commonShapes = new Set(common.map(shapeOf));
  const rests = terms.map((ts) => ts.filter((x) => !commonShapes.has(shapeOf(x))));
  // A branch of common terms alone makes the OR true wherever they hold.
  if (rests.some((r) => r.length === 0)) return common;
  const or = rests.map((r) => andOf(r)!).reduce((a, b) => ({ type: 'binary', op: 'OR', left: a, right: b }) as SqlExpr);
  return [...common, or];
}

/**
 * The statement with its comma joins written as JOINs, and `fields` (each FROM item's columns) in
 * the new FROM order. A statement without a comma join is returned as it is.
 */
export function commaToJoins(
  text: string,
  st: SelectFromStatement,
  fields: readonly (readonly Field[])[],
): { st: SelectFromStatement; fields: readonly (readonly Field[])[] } {
  if (!hasCommaJoin(st)) return { st, fields };
  const from = st.from as Table[];
  for (const f of from)
    if (f.type !== 'table') throw sqlError(text, spanOf(f), 'FROM takes frames, WITH queries or subqueries here');
  // Groups: a frame after a comma and the JOINs that follow it.
  const groups: number[][] = [];
  from.forEach((f, i) => {
    if (i === 0 || !f.join) groups.push([i]);
    else groups[groups.length - 1]!.push(i);
  });
  const inner = (i: number): boolean => from[i]!.join?.type === 'INNER JOIN' || from[i]!.join?.type === 'CROSS JOIN';
  const terms = andTerms(st.where).flatMap(commonOfOr);
  // Units joined as one: each frame of an inner group; a group with an outer join whole, and first
  // (a × (b LEFT JOIN c) is (b LEFT JOIN c) × a: SELECT * keeps FROM's order, join-chain.ts).
  const isOuter = (idx: number[]): boolean => idx.slice(1).some((i) => !inner(i));
  const outers = groups.filter(isOuter);
  if (outers.length > 1)
    throw sqlError(
      text,
      spanOf(from[outers[1]![0]!]),
      'comma joins between two groups with LEFT, RIGHT or FULL JOINs: write one group as a WITH query',
    );
  const units: number[][] = outers.length ? [outers[0]!] : [];
  for (const idx of groups) {
    if (isOuter(idx)) continue;
    for (const i of idx) {
      const j = from[i]!.join;
      if (j?.using) throw sqlError(text, spanOf(j), 'USING beside a comma join: write ON a.k = b.k');
      if (j?.on) terms.push(...andTerms(j.on));
      units.push([i]);
    }
  }
  const unitOf = new Map<number, number>();
  units.forEach((u, n) => {
    for (const i of u) unitOf.set(i, n);
  });
  const aliases = from.map((f) => f.name.alias ?? f.name.name);
  // As in PostgreSQL: `FROM a, a` names no column unambiguously (give one an alias).
  aliases.forEach((a, i) => {
    if (aliases.findIndex((b) => b.toLowerCase() === a.toLowerCase()) < i)
      throw sqlError(text, spanOf(from[i]), `${a} is named twice in FROM: give one of them an alias`);
  });
  /** The FROM item and column type a reference names, if exactly one matches. */
  const resolve = (e: SqlExpr): [number, string] | undefined => {
    if (e.type !== 'ref' || e.name === '*') return undefined;
    const r = e as ExprRef;
    const hits: [number, string][] = [];
    aliases.forEach((a, i) => {
      if (r.table && a !== r.table.name && a.toLowerCase() !== r.table.name.toLowerCase()) return;
      const c = findColumn(fields[i]!, r.name);
      if (c !== undefined) hits.push([i, fields[i]!.find((f) => f.name === c)!.type]);
    });
    return hits.length === 1 ? hits[0] : undefined;
  };
  // Join conditions: x = y between two units, of types a join matches (the same, or two numbers).
  const links: { term: SqlExpr; a: number; b: number }[] = [];
  const rest: SqlExpr[] = [];
  for (const t of terms) {
    const x = t.type === 'binary' && t.op === '=' ? resolve(t.left) : undefined;
    const y = x && t.type === 'binary' ? resolve(t.right) : undefined;
    if (x && y && unitOf.get(x[0]) !== unitOf.get(y[0]) && (x[1] === y[1] || (num(x[1]) && num(y[1]))))
      links.push({ term: t, a: unitOf.get(x[0])!, b: unitOf.get(y[0])! });
    else rest.push(t);
  }
  const joined = new Set<number>([0]);
  const out: Table[] = units[0]!.map((i, n) => (n === 0 ? { ...from[i]!, join: undefined } : from[i]!));
  const order = [...units[0]!];
  while (joined.size < units.length) {
    const linked = (u: number): boolean =>
      links.some((l) => (l.a === u && joined.has(l.b)) || (l.b === u && joined.has(l.a)));
    let next = -1;
    for (let u = 1; u < units.length && next < 0; u++) if (!joined.has(u) && linked(u)) next = u;
    for (let u = 1; u < units.length && next < 0; u++) if (!joined.has(u)) next = u;
    const on = links.filter((l) => (l.a === next && joined.has(l.b)) || (l.b === next && joined.has(l.a)));
    const i = units[next]![0]!;
    const cond = andOf(on.map((l) => l.term));
    out.push({
      ...from[i]!,
      join: cond ? { type: 'INNER JOIN', on: cond } : { type: 'CROSS JOIN' },
    } as Table);
    order.push(i);
    joined.add(next);
  }
  return {
    st: { ...st, from: out, where: andOf(rest) ?? null },
    fields: order.map((i) => fields[i]!),
  };
}
