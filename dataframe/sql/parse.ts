// Parsing a SQL statement: pgsql-ast-parser's tree of one SELECT (or WITH, or UNION), with errors
// that point at the statement's text, and bounds on what a statement may cost before it is planned.

import { createRequire } from 'node:module';
import type { SelectFromStatement, SelectStatement } from 'pgsql-ast-parser';
import { spanOf, sqlError } from './errors.js';
import {
  distinctFrom,
  type FrameAt,
  naturalJoins,
  qualifiedIntervals,
  setOperators,
  type SetOperatorAt,
  windowFrames,
} from './pre-parse.js';

/** The statement kinds a query may be: a SELECT, a UNION [ALL] of them, WITH ... SELECT. */
export function isQueryStatement(st: unknown): st is SelectStatement {
  if (st === null || typeof st !== 'object') return false;
  const t = (st as { type?: unknown }).type;
  return t === 'select' || t === 'union' || t === 'union all' || t === 'with';
}

/**
 * `SELECT c FROM frame` and nothing more (no join, WHERE, GROUP BY, HAVING, LIMIT or DISTINCT; one
 * column, named): the IN subquery a semi join takes as its right side.
 */
export function isColumnOfOneFrame(q: unknown): q is SelectFromStatement {
  const s = q as SelectFromStatement;
  const c = s.columns?.[0]?.expr;
  return (
    s.type === 'select' &&
    s.from?.length === 1 &&
    s.from[0]!.type === 'table' &&
    !s.from[0]!.join &&
    !s.where &&
    !s.groupBy &&
    !s.having &&
    !s.limit &&
    !s.distinct &&
    s.columns?.length === 1 &&
    c?.type === 'ref' &&
    c.name !== '*'
  );
}

/**
 * Deepest nesting of a statement's tree that planning takes (in levels of the parser's tree: an
 * operator and its operand are two, a call and its argument list three). The translator recurses per
 * level, and a chain of 2,000 `+` overflowed the stack; expressions are held to 64 levels anyway
 * (checkExpr), so what this bounds is chains of AND/OR (flattened once translated) and of UNION.
 */
const MAX_NESTING = 1000;

/** The depth of a syntax tree, counted without recursion (the tree may be deeper than the stack). */
function nestingDepth(root: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d > max) max = d;
    for (const v of Object.values(x)) if (v !== null && typeof v === 'object') stack.push([v, d + 1]);
  }
  return max;
}

// pgsql-ast-parser is one 370 kB CommonJS bundle. Loaded with require it costs ~60 ms of CPU; through
// ESM's import, Node also scans the whole source for its named exports first (cjs-module-lexer),
// which tripled that (180-220 ms), and a process's first SQL statement pays the load.
const { parse } = createRequire(import.meta.url)('pgsql-ast-parser') as typeof import('pgsql-ast-parser');

/**
 * Parses one statement of the common shapes (a filter, a join, grouping, ordering, a limit) and
 * discards it: the parser's first statement costs several times a later one (its code not yet compiled
 * by V8). The SQL path's background load runs it (sql-preload.ts).
 */
export function warmParser(): void {
  parse(
    'SELECT a.k, count(*) AS n, avg(b.v) FROM t a JOIN u b ON a.k = b.k WHERE b.v > 0 AND a.s IS NOT NULL GROUP BY a.k ORDER BY 2 DESC, a.k LIMIT 10',
    { locationTracking: true },
  );
}

/** First words of the statements the parser reads (the others are refused by name after parsing). */
const STATEMENT_WORDS = new Set([
  'select',
  'with',
  'values',
  'insert',
  'update',
  'delete',
  'create',
  'drop',
  'alter',
  'truncate',
  'begin',
  'start',
  'commit',
  'rollback',
  'set',
  'show',
  'table',
  'do',
  'prepare',
  'deallocate',
  'comment',
  'raise',
]);

/** Longest statement accepted (the parser's memory grows with the text). */
export const MAX_SQL_LENGTH = 100_000;

type Located = { _location?: { start: number; end: number } };

/**
 * Marks each UNION node whose branches lie on either side of an INTERSECT or EXCEPT that pre-parse.ts
 * wrote as a UNION with that operator (`eau2SetOp`, a plain property so that it survives the parse
 * thread's structured clone); derived.ts runs it.
 */
function markSetOperators(node: unknown, ops: readonly SetOperatorAt[]): void {
  if (Array.isArray(node)) {
    for (const x of node) markSetOperators(x, ops);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const n = node as { type?: string; left?: Located; right?: Located; eau2SetOp?: string };
  if ((n.type === 'union' || n.type === 'union all') && n.left?._location && n.right?._location) {
    const from = n.left._location.end;
    const to = n.right._location.start;
    const op = ops.find((o) => o.at >= from && o.at < to);
    if (op) n.eau2SetOp = op.op;
  }
  for (const v of Object.values(node)) markSetOperators(v, ops);
}

/** Marks the join of each FROM item that starts where a blanked-out NATURAL was followed (`eau2Natural`). */
function markNaturalJoins(node: unknown, starts: ReadonlySet<number>): void {
  if (Array.isArray(node)) {
    for (const x of node) markNaturalJoins(x, starts);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const n = node as Located & { join?: { eau2Natural?: boolean } };
  if (n.join && n._location && starts.has(n._location.start)) n.join.eau2Natural = true;
  for (const v of Object.values(node)) markNaturalJoins(v, starts);
}

/** Marks each `=`/`<>` (the parser's `!=`) whose operator stands where an IS [NOT] DISTINCT FROM was (`eau2Distinct`). */
function markDistinctFrom(node: unknown, at: readonly number[]): void {
  if (Array.isArray(node)) {
    for (const x of node) markDistinctFrom(x, at);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const n = node as { type?: string; op?: string; left?: Located; right?: Located; eau2Distinct?: boolean };
  if (
    n.type === 'binary' &&
    (n.op === '=' || n.op === '<>' || n.op === '!=') &&
    n.left?._location &&
    n.right?._location
  ) {
    const from = n.left._location.end;
    const to = n.right._location.start;
    if (at.some((i) => i >= from && i < to)) n.eau2Distinct = true;
  }
  for (const v of Object.values(node)) markDistinctFrom(v, at);
}

/** Gives each OVER clause the frame written inside it (`eau2Frame`). */
function markWindowFrames(node: unknown, frames: readonly FrameAt[]): void {
  if (Array.isArray(node)) {
    for (const x of node) markWindowFrames(x, frames);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const over = (node as { over?: Located & { eau2Frame?: FrameAt } }).over;
  const at = over?._location;
  if (over && at) {
    const f = frames.find((x) => x.at >= at.start && x.end <= at.end);
    if (f) over.eau2Frame = f;
  }
  for (const v of Object.values(node)) markWindowFrames(v, frames);
}

export function parseOne(text: string): SelectStatement {
  let stmts: ReturnType<typeof parse>;
  try {
    const framed = windowFrames(qualifiedIntervals(text));
    const distinct = distinctFrom(framed.text);
    const natural = naturalJoins(distinct.text);
    const pre = setOperators(natural.text);
    stmts = parse(pre.text, { locationTracking: true });
    if (pre.ops.length > 0) markSetOperators(stmts, pre.ops);
    if (natural.joins.length > 0) markNaturalJoins(stmts, new Set(natural.joins));
    if (framed.frames.length > 0) markWindowFrames(stmts, framed.frames);
    if (distinct.at.length > 0) markDistinctFrom(stmts, distinct.at);
  } catch (e) {
    // A statement that does not start with a keyword the parser knows (`SELEC * FROM t`) fails later,
    // at a token after the mistake: point at the first word instead.
    const first = /^(\s*)([A-Za-z_]\w*)/.exec(text);
    if (first && !STATEMENT_WORDS.has(first[2]!.toLowerCase())) {
      const at = first[1]!.length;
      throw sqlError(
        text,
        { start: at, end: at + first[2]!.length },
        `SQL syntax error: a statement starts with SELECT, not ${JSON.stringify(first[2])}`,
      );
    }
    const tok = (e as { token?: { offset?: number; text?: string } }).token;
    const at = tok?.offset ?? text.replace(/\s+$/, '').length;
    const what = tok ? `unexpected ${JSON.stringify(tok.text)}` : 'unexpected end of statement';
    throw sqlError(text, { start: at, end: at + (tok?.text?.length ?? 1) }, `SQL syntax error: ${what}`);
  }
  if (stmts.length !== 1) throw sqlError(text, spanOf(stmts[1]), 'one statement at a time');
  const depth = nestingDepth(stmts[0]);
  if (depth > MAX_NESTING)
    throw sqlError(
      text,
      undefined,
      `the statement nests ${depth} levels deep, more than ${MAX_NESTING} (a long chain of AND, OR or + is as deep as it is long: use IN (...) or a WITH query)`,
    );
  const st = stmts[0]!;
  if (!isQueryStatement(st)) throw sqlError(text, spanOf(st), `only SELECT is supported, not ${st.type.toUpperCase()}`);
  return st;
}
