// Parsing a SQL statement: pgsql-ast-parser's tree of one SELECT (or WITH, or UNION), with errors
// that point at the statement's text, and bounds on what a statement may cost before it is planned.

import { createRequire } from 'node:module';
import type { SelectFromStatement, SelectStatement } from 'pgsql-ast-parser';
import { spanOf, sqlError } from './errors.js';
import {
  bareIntervals,
  distinctFrom,
  intervalRanges,
  type FrameAt,
  groupingSets,
  naturalJoins,
  qualifiedIntervals,
  setOperators,
  type SetOperatorAt,
  windowFrames,
} from './pre-parse.js';
import { cteColumns, markCteColumns } from './values.js';
import { bodyText, namedWindows, overOf, resolveWindows } from './window-clause.js';

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

/** Calls `visit` on every object node of a parsed tree (arrays walked through). */
function eachNode(node: unknown, visit: (n: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) {
    for (const x of node) eachNode(x, visit);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  visit(node as Record<string, unknown>);
  for (const v of Object.values(node)) eachNode(v, visit);
}

/**
 * Marks the nodes that stand where pre-parse.ts rewrote what the parser does not read, each with a
 * plain property (so that it survives the parse thread's structured clone):
 * - a UNION node whose branches lie on either side of an INTERSECT or EXCEPT (`eau2SetOp`; derived.ts
 *   runs it);
 * - the join of a FROM item that starts where a blanked-out NATURAL was followed (`eau2Natural`);
 * - an `=`/`<>` (the parser's `!=`) whose operator stands where an IS [NOT] DISTINCT FROM was
 *   (`eau2Distinct`);
 * - an OVER clause holding a blanked-out frame (`eau2Frame`).
 */
function markRewritten(
  stmts: unknown,
  ops: readonly SetOperatorAt[],
  natural: ReadonlySet<number>,
  distinct: readonly number[],
  frames: readonly FrameAt[],
): void {
  /** Whether an offset lies between a node's left and right operands. */
  const between = (n: { left?: Located; right?: Located }, at: number): boolean =>
    n.left?._location !== undefined &&
    n.right?._location !== undefined &&
    at >= n.left._location.end &&
    at < n.right._location.start;
  eachNode(stmts, (node) => {
    const n = node as Located & {
      type?: string;
      op?: string;
      left?: Located;
      right?: Located;
      join?: { eau2Natural?: boolean };
      over?: Located & { eau2Frame?: FrameAt };
      eau2SetOp?: string;
      eau2Distinct?: boolean;
    };
    if (n.type === 'union' || n.type === 'union all') {
      const op = ops.find((o) => between(n, o.at));
      if (op) n.eau2SetOp = op.op;
    }
    if (n.join && n._location && natural.has(n._location.start)) n.join.eau2Natural = true;
    if (n.type === 'binary' && (n.op === '=' || n.op === '<>' || n.op === '!=') && distinct.some((i) => between(n, i)))
      n.eau2Distinct = true;
    const at = n.over?._location;
    if (at) {
      const f = frames.find((x) => x.at >= at.start && x.end <= at.end);
      if (f) n.over!.eau2Frame = f;
    }
  });
}

/** The parser's error for `text` as a SQL error pointing at the token it stopped at. */
function syntaxError(text: string, e: unknown): Error {
  // A statement that does not start with a keyword the parser knows (`SELEC * FROM t`) fails later,
  // at a token after the mistake: point at the first word instead.
  const first = /^(\s*)([A-Za-z_]\w*)/.exec(text);
  if (first && !STATEMENT_WORDS.has(first[2]!.toLowerCase())) {
    const at = first[1]!.length;
    return sqlError(
      text,
      { start: at, end: at + first[2]!.length },
      `SQL syntax error: a statement starts with SELECT, not ${JSON.stringify(first[2])}`,
    );
  }
  const tok = (e as { token?: { offset?: number; text?: string } }).token;
  const at = tok?.offset ?? text.replace(/\s+$/, '').length;
  const what = tok ? `unexpected ${JSON.stringify(tok.text)}` : 'unexpected end of statement';
  return sqlError(text, { start: at, end: at + (tok?.text?.length ?? 1) }, `SQL syntax error: ${what}`);
}

export function parseOne(text: string): SelectStatement {
  let stmts: ReturnType<typeof parse>;
  const range = intervalRanges(text)[0];
  if (range)
    throw sqlError(
      text,
      range,
      "an interval with a range of units (YEAR TO MONTH) is not supported, as in DuckDB: write INTERVAL '1 year 2 months'",
    );
  const ctes = cteColumns(qualifiedIntervals(bareIntervals(text)));
  const framed = windowFrames(groupingSets(ctes.text));
  const distinct = distinctFrom(framed.text);
  const natural = naturalJoins(distinct.text);
  const sets = setOperators(natural.text);
  const pre = namedWindows(sets.text);
  const mark = (parsed: unknown, frames = framed.frames): void => {
    if (sets.ops.length + natural.joins.length + distinct.at.length + frames.length > 0)
      markRewritten(parsed, sets.ops, new Set(natural.joins), distinct.at, frames);
  };
  try {
    stmts = parse(pre.text, { locationTracking: true });
    mark(stmts);
    if (ctes.lists.length) markCteColumns(stmts, ctes.lists);
  } catch (e) {
    throw syntaxError(text, e);
  }
  if (pre.defs.length + pre.refs.length > 0)
    resolveWindows(text, stmts, pre, (open, close) => {
      try {
        const body = parse(bodyText(pre.bodies, open, close), { locationTracking: true });
        // The body's OVER spans the text before it too: only a frame inside the body is its own.
        mark(
          body,
          framed.frames.filter((f) => f.at > open && f.end <= close),
        );
        return overOf(body[0] as SelectStatement);
      } catch (e) {
        throw syntaxError(text, e);
      }
    });
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
