// Scalar subqueries: `(SELECT avg(delay) FROM f)` where an expression stands (a SELECT item, WHERE,
// HAVING, GROUP BY, ORDER BY, inside CASE or a call). Each runs first, as a statement of its own (a
// part, as derived.ts runs WITH queries), and its one value replaces it in the statement's tree as a
// typed literal, as a parameter's value does (params.ts): the statement is then planned and pushed
// to the nodes as if the value had been written in it. Subqueries that read the outer query's columns
// (correlated ones) would have to run once per outer row: refused, naming the column.
// docs/dataframe.md "SQL".

import { isColumnOfOneFrame, isQueryStatement } from './parse.js';
import { rewrite } from './rewrite.js';
import type { ExprRef, From, Expr as SqlExpr, SelectFromStatement, SelectStatement } from 'pgsql-ast-parser';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { DataFrame } from '../dataframe.js';
import type { ColumnType, Field, Value } from '../schema.js';
import { formatDate, formatTimestamp } from '../temporal.js';
import { type Span, spanOf, sqlError } from './errors.js';

type Node = Record<string, unknown>;

/** SQL type names for a literal of each column type (planner CAST_TYPES reads them back). */
const CAST_NAMES: Record<ColumnType, string> = {
  I: 'int',
  D: 'double',
  S: 'text',
  B: 'boolean',
  L: 'bigint',
  T: 'timestamp',
  d: 'date',
};

/** Where expressions stand in one SELECT (its FROM, and subqueries' own clauses, are not walked). */
function roots(st: SelectFromStatement): unknown[] {
  return [
    ...(st.columns ?? []).map((c) => c.expr),
    st.where,
    st.having,
    ...(st.groupBy ?? []),
    ...(st.orderBy ?? []).map((o) => o.by),
  ];
}

/**
 * Calls `visit` on each scalar subquery of `x`, not descending into it. EXISTS (...) and IN (...)
 * subqueries are not scalar: they are semi joins (run.ts) or refused there.
 */
function walk(x: unknown, visit: (n: SelectStatement) => void, visitList?: (n: InSubquery) => void): void {
  if (Array.isArray(x)) {
    for (const v of x) walk(v, visit, visitList);
    return;
  }
  if (x === null || typeof x !== 'object') return;
  const n = x as Node;
  if (isQueryStatement(n)) {
    visit(n as unknown as SelectStatement);
    return;
  }
  if (n.type === 'call' && String((n.function as Node | undefined)?.name).toLowerCase() === 'exists') return;
  if (n.type === 'binary' && (n.op === 'IN' || n.op === 'NOT IN')) {
    const right = n.right as Node;
    walk(n.left, visit, visitList);
    if (!isQueryStatement(right)) walk(right, visit, visitList);
    else visitList?.(n as unknown as InSubquery);
    return;
  }
  for (const v of Object.values(n)) if (v !== null && typeof v === 'object') walk(v, visit, visitList);
}

/** `x [NOT] IN (subquery)`. */
interface InSubquery {
  type: 'binary';
  op: 'IN' | 'NOT IN';
  left: SqlExpr;
  right: SelectStatement;
}

/**
 * The IN subqueries of `st` that run first and stand as their lists of values (withScalars): all but
 * `column IN (SELECT column FROM frame)` as a term of the WHERE's top-level AND, which run.ts joins
 * as a semi join instead (no list to gather, whatever its size). NOT IN is always a list: its nulls
 * make it differ from an anti join (`x NOT IN (1, NULL)` is never true).
 */
function listSubqueries(st: SelectFromStatement): InSubquery[] {
  const top = new Set<unknown>();
  const flat = (e: unknown): void => {
    const n = e as Node | null | undefined;
    if (n?.type === 'binary' && n.op === 'AND') flat(n.left), flat(n.right);
    else if (n) top.add(n);
  };
  flat(st.where);
  const out: InSubquery[] = [];
  walk(
    roots(st),
    () => {},
    (n) => {
      if (!top.has(n) || !semiShaped(n)) out.push(n);
    },
  );
  return out;
}

function semiShaped(n: InSubquery): boolean {
  return n.op !== 'NOT IN' && n.left.type === 'ref' && isColumnOfOneFrame(n.right);
}

/** Values an IN subquery may give when it stands as a list (past it: a join or EXISTS does it). */
export const MAX_IN_SUBQUERY_ROWS = 100_000;

/** Whether the SELECT has a scalar subquery in one of its expressions. */
export function hasScalarSubqueries(st: SelectStatement): boolean {
  if (st.type !== 'select') return false;
  let found = false;
  walk(roots(st), () => {
    found = true;
  });
  return found || listSubqueries(st).length > 0;
}

/** The literal standing for a subquery's value of type `t` (null: a null of that type). */
function literal(t: ColumnType, v: Value, at: Span | undefined): SqlExpr {
  const loc = at ? { _location: at } : {};
  const cast = (operand: SqlExpr): SqlExpr =>
    ({ type: 'cast', operand, to: { name: CAST_NAMES[t] }, ...loc }) as SqlExpr;
  if (v === null) return cast({ type: 'null', ...loc } as SqlExpr);
  switch (t) {
    case 'S':
      return { type: 'string', value: v as string, ...loc } as SqlExpr;
    case 'B':
      return { type: 'boolean', value: v as boolean, ...loc } as SqlExpr;
    // A plain number, so `x > (SELECT ...)` is a column against a literal: the filter's fast path and
    // zone maps take it. (An integer literal is a number in eau2: a SELECT item of one is a double.)
    case 'I':
      return { type: 'integer', value: v as number, ...loc } as SqlExpr;
    case 'D':
      return { type: 'numeric', value: v as number, ...loc } as SqlExpr;
    case 'L':
      return cast({ type: 'string', value: String(v), ...loc } as SqlExpr);
    case 'T':
      return cast({ type: 'string', value: formatTimestamp(BigInt(v as number | bigint)), ...loc } as SqlExpr);
    case 'd':
      return cast({ type: 'string', value: formatDate(v as number), ...loc } as SqlExpr);
  }
}

/** A value as text that tells every two apart, types included (the plan cache's key). */
function valueKey(t: ColumnType, v: Value): string {
  return `${t}:${v === null ? 'null' : typeof v === 'number' && Object.is(v, -0) ? '-0' : String(v)}`;
}

/**
 * The span with the parentheses around it: a subquery's node starts inside them, and a SELECT item's
 * name is its text, `(SELECT max(v) FROM b)` as DuckDB names it.
 */
function inParens(text: string, at: Span | undefined): Span | undefined {
  if (!at) return at;
  let start = at.start - 1;
  let end = at.end;
  while (start >= 0 && /\s/.test(text[start]!)) start--;
  while (end < text.length && /\s/.test(text[end]!)) end++;
  return text[start] === '(' && text[end] === ')' ? { start, end: end + 1 } : at;
}

/** The outer query's FROM, for telling a correlated reference from a misspelt one. */
export interface OuterScope {
  readonly from: readonly From[];
  /** The columns of a FROM item, if it can be opened. */
  fields(f: From): Promise<readonly Field[] | undefined>;
}

/** The subquery's reference at `offset`, if an error points at one. */
function refAt(sub: SelectStatement, offset: number): ExprRef | undefined {
  let hit: ExprRef | undefined;
  const find = (x: unknown): void => {
    if (hit || x === null || typeof x !== 'object') return;
    const n = x as Node;
    if (n.type === 'ref' && spanOf(n)?.start === offset) hit = n as unknown as ExprRef;
    else for (const v of Object.values(n)) find(v);
  };
  find(sub);
  return hit;
}

const aliasOf = (f: From): string | undefined =>
  f.type === 'table' ? (f.name.alias ?? f.name.name) : f.type === 'statement' ? f.alias : undefined;

/** Whether `ref` names a column of the outer query (and so makes the subquery correlated). */
async function isOuter(ref: ExprRef, outer: OuterScope): Promise<boolean> {
  const q = ref.table?.name.toLowerCase();
  for (const f of outer.from) {
    if (q !== undefined) {
      if (aliasOf(f)?.toLowerCase() === q) return true;
      continue;
    }
    const fields = await outer.fields(f).catch(() => undefined);
    if (fields?.some((x) => x.name.toLowerCase() === ref.name.toLowerCase())) return true;
  }
  return false;
}

/**
 * The SELECT with each scalar subquery replaced by its value, and a key naming those values (for the
 * plan cache: a statement whose subqueries give other values is another plan). `run` runs a
 * subquery, at most 2 rows of it (1 and one more, to tell there are more).
 */
export async function withScalars(
  text: string,
  st: SelectFromStatement,
  run: (sub: SelectStatement, maxRows: number) => Promise<DataFrame>,
  outer: OuterScope,
): Promise<{ st: SelectFromStatement; key: string | undefined }> {
  const subs: SelectStatement[] = [];
  walk(roots(st), (n) => subs.push(n));
  const lists = listSubqueries(st);
  const values = new Map<unknown, SqlExpr>();
  const keys: string[] = [];
  for (const sub of subs) {
    const at = spanOf(sub);
    if (sub.type === 'select' && (sub.columns?.length ?? 0) > 1)
      throw sqlError(text, at, 'a subquery used as an expression must return one column');
    const df = await runSub(text, sub, () => run(sub, 1), outer);
    if (df.fields.length !== 1)
      throw sqlError(text, at, `a subquery used as an expression must return one column, not ${df.fields.length}`);
    if (df.nrows > 1) throw sqlError(text, at, 'more than one row returned by a subquery used as an expression');
    const t = df.fields[0]!.type;
    const v = df.nrows === 0 ? null : df.columns[0]!.get(0);
    values.set(sub, literal(t, v, inParens(text, at)));
    keys.push(valueKey(t, v));
  }
  for (const n of lists) {
    const at = spanOf(n.right);
    const df = await runSub(text, n.right, () => run(n.right, MAX_IN_SUBQUERY_ROWS), outer);
    if (df.fields.length !== 1)
      throw sqlError(text, at, `a subquery after IN must return one column, not ${df.fields.length}`);
    if (df.nrows > MAX_IN_SUBQUERY_ROWS)
      throw sqlError(
        text,
        at,
        `the subquery after ${n.op} returned more than ${MAX_IN_SUBQUERY_ROWS} rows: join with it (or use [NOT] EXISTS) instead`,
        ErrorCode.TOO_LARGE,
      );
    values.set(n, inList(n, df, spanOf(n)));
  }
  // The FROM holds no scalar subquery (a subquery there is a part, run before this).
  const out = rewrite(
    st,
    (n) => values.get(n),
    (n, key) => key === 'from' && n === (st as unknown),
  );
  // A statement with a list is not kept as a plan: its key would be the list.
  return { st: out, key: lists.length > 0 ? undefined : JSON.stringify(keys) };
}

/** Runs a subquery; one that fails on a column of the outer query is refused as correlated. */
async function runSub(
  text: string,
  sub: SelectStatement,
  run: () => Promise<DataFrame>,
  outer: OuterScope,
): Promise<DataFrame> {
  try {
    return await run();
  } catch (e) {
    const offset = e instanceof Eau2Error ? (e.details as { offset?: unknown } | undefined)?.offset : undefined;
    const ref = typeof offset === 'number' ? refAt(sub, offset) : undefined;
    if (ref && (await isOuter(ref, outer))) {
      const name = ref.table ? `${ref.table.name}.${ref.name}` : ref.name;
      throw sqlError(
        text,
        spanOf(ref),
        `correlated subqueries are not supported: this subquery reads ${name} of the outer query (a JOIN with a GROUP BY subquery computes the same per row)`,
      );
    }
    throw e;
  }
}

/**
 * `x [NOT] IN (subquery)` as `x [NOT] IN (v1, v2, ...)` over the subquery's distinct values, which
 * keeps SQL's nulls (a list holding null makes a value found in no entry null). Over no rows, IN is
 * false and NOT IN true, for every x, null included.
 */
function inList(n: InSubquery, df: DataFrame, at: Span | undefined): SqlExpr {
  const loc = at ? { _location: at } : {};
  if (df.nrows === 0) return { type: 'boolean', value: n.op === 'NOT IN', ...loc } as SqlExpr;
  const t = df.fields[0]!.type;
  const c = df.columns[0]!;
  const seen = new Set<string>();
  const expressions: SqlExpr[] = [];
  for (let i = 0; i < df.nrows; i++) {
    const v = c.get(i);
    const k = valueKey(t, v);
    if (seen.has(k)) continue;
    seen.add(k);
    expressions.push(literal(t, v, at));
  }
  return { type: 'binary', op: n.op, left: n.left, right: { type: 'list', expressions }, ...loc } as SqlExpr;
}
