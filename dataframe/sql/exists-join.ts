// [NOT] EXISTS terms of the WHERE rewritten as joins with a grouped subquery (decorrelation, as
// decorrelate.ts does for scalar subqueries), for those run.ts's one semi/anti join cannot take:
// a second one in a SELECT, one beside a JOIN or comma joins (TPC-H Q21), one whose correlation has
// a comparison that is no equality, one that reads no outer column. One that it can take (a single
// EXISTS over one frame, correlated by equalities, the statement reading one frame) is left to it,
// as a semi or anti join on the nodes.
//
// Taken: `[NOT] EXISTS (SELECT ... FROM r [, s ...] WHERE ...)` as a top-level AND term of the
// WHERE, whose WHERE's terms are, ANDed: equalities `r.k = o.k` of its columns with the outer
// query's (the keys), at most one comparison `r.c OP o.x` (OP one of <> < <= > >=), and terms on its
// own frames alone (filtering them before grouping). It becomes a FROM item
//
//   (SELECT k AS __k0, ..., min(c) AS __mn, max(c) AS __mx FROM r WHERE <own terms>
//      AND k IS NOT NULL ... GROUP BY k, ...) __exN
//
// (without a comparison: the distinct keys; without keys: no GROUP BY, one row). Why it is exact,
// in SQL's three-valued logic: a key equality with a NULL on either side is not true, so inner rows
// with a NULL key never match (they are filtered out) and an outer row with a NULL key matches no
// group. Within a key's group, EXISTS (... AND c OP x) holds iff some row's c OP x is TRUE; min and
// max skip NULL c as the comparison's NULL skips those rows, so with x not NULL:
//
//   c <> x  iff  __mn <> x OR __mx <> x     (some c differs from x iff not all equal it)
//   c < x   iff  __mn < x        c <= x  iff  __mn <= x
//   c > x   iff  __mx > x        c >= x  iff  __mx >= x
//
// and when x is NULL, or the group has no row (no match: __mn NULL), or every c is NULL (__mn
// NULL), each side is NULL and EXISTS is false. So EXISTS is the condition COND above taken as
// true only when TRUE: as a WHERE term over an inner join with the group (a NULL drops the row, as
// a missing group does). NOT EXISTS must keep the rows without a group: the group is LEFT JOINed
// on the keys, and the term is NOT coalesce(COND, false), written
//
//   __exN.__mn IS NULL OR x IS NULL OR NOT (COND)
//
// which is never NULL: where the first two are false, __mn, __mx and x are not NULL, so COND is
// TRUE or FALSE. Without a comparison, NOT EXISTS is `__exN.__k0 IS NULL` after the LEFT JOIN (the
// group's keys are never NULL, so a NULL is no match). Without keys the one row is joined by a
// comma (a cross join with one row): with a comparison, COND as above; without, `count(*) AS __n`
// and `__n > 0` (NOT: `__n = 0`).
//
// A LEFT JOIN must follow the FROM item its keys read: it is put at the end of the group of that
// item (a frame after a comma and the JOINs after it, comma-joins.ts), so NOT EXISTS keys read one
// such group, and the statement keeps at most one group with an outer join when it has several
// (comma-joins.ts joins such a group first, whole); else it is refused. A `k IN (SELECT c FROM r)`
// term beside such a rewrite is joined the same way (the distinct non-NULL c), as the one semi join
// run.ts takes would be refused beside a JOIN. docs/dataframe.md "SQL".

import type { Expr as SqlExpr, ExprRef, From, SelectFromStatement } from 'pgsql-ast-parser';
import { ErrorCode } from '../../kv/index.js';
import { andOf, andTerms } from './comma-joins.js';
import { type FieldsOf, innerScope, type Outer } from './correlation.js';
import { spanOf, sqlError } from './errors.js';
import { isColumnOfOneFrame, isQueryStatement } from './parse.js';
import { someNode } from './rewrite.js';
import { SQL_AGGS } from './translate.js';

type Node = Record<string, unknown>;

/** A comparison's operator with its sides swapped. */
const FLIP: Record<string, string> = { '<>': '<>', '!=': '<>', '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

const isExists = (n: unknown): boolean => {
  const c = n as Node | null;
  return (
    c?.type === 'call' &&
    String((c.function as Node | undefined)?.name).toLowerCase() === 'exists' &&
    isQueryStatement((c.args as unknown[] | undefined)?.[0])
  );
};

const ref = (table: string, name: string): SqlExpr => ({ type: 'ref', table: { name: table }, name }) as SqlExpr;
const bin = (op: string, left: SqlExpr, right: SqlExpr): SqlExpr => ({ type: 'binary', op, left, right }) as SqlExpr;
const un = (op: string, operand: SqlExpr): SqlExpr => ({ type: 'unary', op, operand }) as SqlExpr;
const call = (name: string, arg: SqlExpr): SqlExpr =>
  ({ type: 'call', function: { name }, args: [arg] }) as unknown as SqlExpr;
const or = (...xs: SqlExpr[]): SqlExpr => xs.reduce((a, b) => bin('OR', a, b));

/** One subquery term of the WHERE, as it is joined. */
interface Taken {
  neg: boolean;
  from: From[];
  /** [the subquery's column, the outer query's column] pairs. */
  keys: [ExprRef, ExprRef][];
  /** The one comparison `inner OP outer`, written with the subquery's column on the left. */
  cmp?: { op: string; inner: ExprRef; outer: ExprRef };
  own: SqlExpr[];
  /** The outer FROM item each key's outer column belongs to (undefined: not told). */
  at: (number | undefined)[];
}

/** What a subquery term is: taken, refused (with the error), or not joinable here (`why`). */
type Seen = { taken: Taken; simple: boolean } | { error: Error } | { why: string };

/**
 * The FROM with the subquery terms among `terms` (the WHERE's top-level AND) joined, and the WHERE's
 * terms then; undefined when there is nothing to rewrite (no such term, or one that run.ts's
 * semi/anti join takes, unless `beside`: the statement gets other joins).
 */
export async function existsJoins(
  text: string,
  st: SelectFromStatement,
  terms: readonly SqlExpr[],
  outer: readonly Outer[],
  fieldsOf: FieldsOf,
  beside: boolean,
): Promise<{ from: From[]; terms: SqlExpr[] } | undefined> {
  const written = st.from ?? [];
  refuseMisplaced(text, st, terms);
  const found: { term: SqlExpr; seen: Seen }[] = [];
  const rest: SqlExpr[] = [];
  for (const t of terms) {
    const neg = t.type === 'unary' && t.op === 'NOT';
    const e = neg ? (t as { operand: SqlExpr }).operand : t;
    if (isExists(e)) found.push({ term: t, seen: await seenExists(text, e, neg, outer, fieldsOf) });
    else if (!neg && inJoin(e)) {
      const b = e as Extract<SqlExpr, { type: 'binary' }>;
      const q = b.right as unknown as SelectFromStatement;
      const taken: Taken = {
        neg: false,
        from: q.from!,
        keys: [[q.columns![0]!.expr as ExprRef, b.left as ExprRef]],
        own: [],
        at: [],
      };
      found.push({ term: t, seen: { taken, simple: true } });
    } else rest.push(t);
  }
  if (found.length === 0) return undefined;
  const plainFrom = written.length === 1 && !written[0]!.join;
  const only = found[0]!.seen;
  // One that run.ts's semi/anti join takes, or refuses with its own words (a subquery in its FROM).
  if (!beside && plainFrom && found.length === 1 && (('taken' in only && only.simple) || 'why' in only))
    return undefined;
  const taken: Taken[] = [];
  for (const { term, seen } of found) {
    if ('error' in seen) throw seen.error;
    if ('why' in seen)
      throw sqlError(
        text,
        spanOf(term),
        `this EXISTS cannot be joined beside a JOIN, comma joins or another subquery join: ${seen.why}`,
      );
    taken.push(seen.taken);
  }
  return place(text, written, taken, rest);
}

/**
 * `k IN (SELECT c FROM r)` as run.ts's semi join takes it (scalar.ts's semiShaped): a column, in a
 * frame's column, nothing else.
 */
function inJoin(e: SqlExpr): boolean {
  return e.type === 'binary' && e.op === 'IN' && e.left.type === 'ref' && isColumnOfOneFrame(e.right);
}

/** An EXISTS anywhere but as a top-level AND term of the WHERE (or its NOT) is refused here, naming it. */
function refuseMisplaced(text: string, st: SelectFromStatement, terms: readonly SqlExpr[]): void {
  const find = (x: unknown): Node | undefined => {
    let hit: Node | undefined;
    someNode(x, (n) => (isExists(n) ? ((hit = n), true) : false));
    return hit;
  };
  const where = terms.flatMap((t) => {
    const e = t.type === 'unary' && t.op === 'NOT' ? (t as { operand: SqlExpr }).operand : t;
    return isExists(e) ? [] : [e];
  });
  const inWhere = find(where);
  if (inWhere)
    throw sqlError(
      text,
      spanOf(inWhere),
      'EXISTS under OR or inside another expression is not supported: only [NOT] EXISTS as a term of the WHERE ANDed with the others',
    );
  const elsewhere = find([(st.columns ?? []).map((c) => c.expr), st.having, st.groupBy, st.orderBy]);
  if (elsewhere)
    throw sqlError(
      text,
      spanOf(elsewhere),
      'EXISTS in a SELECT item, GROUP BY, HAVING or ORDER BY is not supported: only [NOT] EXISTS as a term of the WHERE',
    );
}

/** The correlation of `EXISTS (q)` with the outer query. */
async function seenExists(
  text: string,
  e: SqlExpr,
  neg: boolean,
  outer: readonly Outer[],
  fieldsOf: FieldsOf,
): Promise<Seen> {
  const sub = (e as unknown as { args: unknown[] }).args[0] as SelectFromStatement;
  if (sub.type !== 'select') return { why: 'its subquery must be one SELECT' };
  const q = sub;
  if (q.groupBy || q.having || q.limit)
    return {
      error: sqlError(text, spanOf(q), 'an EXISTS subquery with GROUP BY, HAVING or LIMIT is not supported'),
    };
  const agg = (q.columns ?? []).find((c) =>
    someNode(
      c.expr,
      (n) => n.type === 'call' && SQL_AGGS[String((n.function as Node).name).toLowerCase()] !== undefined,
    ),
  );
  if (agg)
    return {
      error: sqlError(
        text,
        spanOf(agg.expr),
        'an EXISTS subquery whose SELECT has an aggregate (one row whatever its WHERE) is not supported',
      ),
    };
  const scope = await innerScope(q, outer, fieldsOf);
  if (!scope) {
    for (const f of q.from ?? [])
      if (f.type === 'table' && !f.join && !(await fieldsOf(f.name.name)))
        return { error: sqlError(text, spanOf(f.name), `no frame named ${f.name.name}`, ErrorCode.NOT_FOUND) };
    return { why: 'its FROM must name frames or WITH queries, joined by commas' };
  }
  const keys: [ExprRef, ExprRef][] = [];
  let cmp: Taken['cmp'];
  const own: SqlExpr[] = [];
  for (const t of andTerms(q.where)) {
    const r = scope.reads(t);
    if (r.has(undefined))
      return {
        why: someNode(t, isQueryStatement)
          ? 'a subquery in its WHERE is not supported'
          : `a column of ${JSON.stringify(text.slice(spanOf(t)?.start, spanOf(t)?.end))} is in neither query, or in two of the subquery's frames`,
      };
    if (!r.has('out')) {
      own.push(t);
      continue;
    }
    const bad = (msg: string): Seen => ({ error: sqlError(text, spanOf(t), msg) });
    if (!r.has('in'))
      return bad(
        "an EXISTS subquery's WHERE term on the outer query alone is not supported: move it out of the subquery",
      );
    const b = t as unknown as Node;
    const op = String(b.op);
    const l = b.left as Node | undefined;
    const rr = b.right as Node | undefined;
    const sides =
      b.type === 'binary' && (op === '=' || FLIP[op]) && l?.type === 'ref' && rr?.type === 'ref'
        ? [scope.scopeOf(l as unknown as ExprRef), scope.scopeOf(rr as unknown as ExprRef)]
        : [];
    if (!((sides[0] === 'in' && sides[1] === 'out') || (sides[0] === 'out' && sides[1] === 'in')))
      return bad(
        "an EXISTS subquery's WHERE term reading the outer query must be its column = (or <>, <, <=, >, >=) the outer query's column, ANDed with the others (not under OR)",
      );
    const [inner, out, o] =
      sides[0] === 'in'
        ? [l as unknown as ExprRef, rr as unknown as ExprRef, op]
        : [rr as unknown as ExprRef, l as unknown as ExprRef, FLIP[op]!];
    if (op === '=') keys.push([inner, out]);
    else if (cmp)
      return bad(
        "an EXISTS subquery's WHERE takes one comparison with the outer query that is no equality: this is a second one",
      );
    else cmp = { op: o === '!=' ? '<>' : o, inner, outer: out };
  }
  return {
    taken: { neg, from: q.from!, keys, cmp, own, at: keys.map(([, o]) => scope.outerItem(o)) },
    simple: !cmp && keys.length > 0 && q.from!.length === 1,
  };
}

/** The FROM with each taken term's grouped subquery placed, and the WHERE's terms. */
function place(
  text: string,
  written: readonly From[],
  taken: readonly Taken[],
  rest: readonly SqlExpr[],
): { from: From[]; terms: SqlExpr[] } {
  // A group: a FROM item after a comma and the JOINs after it.
  const groupOf: number[] = [];
  written.forEach((f, i) => groupOf.push(i === 0 ? 0 : f.join ? groupOf[i - 1]! : groupOf[i - 1]! + 1));
  const groups = groupOf[groupOf.length - 1]! + 1;
  const outerGroups = new Set<number>();
  written.forEach((f, i) => {
    if (f.join && f.join.type !== 'INNER JOIN' && f.join.type !== 'CROSS JOIN') outerGroups.add(groupOf[i]!);
  });
  const lefts = new Map<number, From[]>();
  const commas: From[] = [];
  const terms: SqlExpr[] = [...rest];
  taken.forEach((t, n) => {
    const alias = `__ex${n}`;
    const x = (name: string): SqlExpr => ref(alias, name);
    const notNull = t.keys.map(([k]) => un('IS NOT NULL', k));
    const columns = [
      ...t.keys.map(([k], i) => ({ expr: k, alias: { name: `__k${i}` } })),
      ...(t.cmp
        ? [
            { expr: call('min', t.cmp.inner), alias: { name: '__mn' } },
            { expr: call('max', t.cmp.inner), alias: { name: '__mx' } },
          ]
        : t.keys.length === 0
          ? [{ expr: call('count', { type: 'ref', name: '*' } as SqlExpr), alias: { name: '__n' } }]
          : []),
    ];
    const statement = {
      type: 'select',
      columns,
      from: t.from,
      where: andOf([...t.own, ...notNull]) ?? null,
      ...(t.keys.length ? { groupBy: t.keys.map(([k]) => k) } : {}),
    };
    const on = t.keys.map(([, o], i) => bin('=', x(`__k${i}`), o));
    let cond: SqlExpr | undefined;
    /** NOT EXISTS with a comparison: true where there is no group, x is NULL or COND is false. */
    let notCond: SqlExpr | undefined;
    if (t.cmp) {
      const o = t.cmp.outer;
      cond =
        t.cmp.op === '<>'
          ? or(bin('<>', x('__mn'), o), bin('<>', x('__mx'), o))
          : bin(t.cmp.op, x(t.cmp.op[0] === '<' ? '__mn' : '__mx'), o);
      notCond = or(un('IS NULL', x('__mn')), un('IS NULL', o), un('NOT', cond));
    }
    if (!t.neg || t.keys.length === 0) {
      // One row per key (or one row): joined by a comma, the key equalities in the WHERE.
      commas.push({ type: 'statement', statement, alias } as unknown as From);
      terms.push(...on);
      if (cond && !t.neg) terms.push(cond);
      else if (notCond) terms.push(notCond);
      else if (t.keys.length === 0)
        terms.push(bin(t.neg ? '=' : '>', x('__n'), { type: 'integer', value: 0 } as SqlExpr));
      return;
    }
    // NOT EXISTS with keys: a LEFT JOIN at the end of the group its keys read.
    const unknown = t.at.indexOf(undefined);
    if (unknown >= 0)
      throw sqlError(
        text,
        spanOf(t.keys[unknown]![1]),
        'cannot tell which FROM item this column of NOT EXISTS belongs to: qualify it with its frame name',
      );
    const gs = new Set(t.at.map((i) => groupOf[i!]!));
    if (gs.size > 1)
      throw sqlError(
        text,
        spanOf(t.keys[0]![1]),
        'NOT EXISTS joins as a LEFT JOIN of the FROM item its keys read: here they read frames on both sides of a comma; join them with JOIN ... ON, or write them as a WITH query',
      );
    const g = [...gs][0]!;
    outerGroups.add(g);
    if (groups > 1 && outerGroups.size > 1)
      throw sqlError(
        text,
        spanOf(t.keys[0]![1]),
        'NOT EXISTS joins as a LEFT JOIN of the FROM item its keys read, and comma joins take one group with a LEFT, RIGHT or FULL JOIN: here there would be two; write one part of the FROM as a WITH query',
      );
    const item = { type: 'statement', statement, alias, join: { type: 'LEFT JOIN', on: andOf(on) } } as unknown as From;
    lefts.set(g, [...(lefts.get(g) ?? []), item]);
    terms.push(notCond ?? un('IS NULL', x('__k0')));
  });
  const from: From[] = [];
  written.forEach((f, i) => {
    from.push(f);
    if (groupOf[i + 1] !== groupOf[i]) from.push(...(lefts.get(groupOf[i]!) ?? []));
  });
  return { from: [...from, ...commas], terms };
}
