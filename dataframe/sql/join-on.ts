// The terms of a join's ON (ANDed), sorted by what they read: equalities of a column of each side are
// the join's keys; every other term reads the left side alone, the right side alone, both, or
// nothing. What each may do depends on the join (joinShape): in an INNER JOIN any term may move to the
// WHERE; in a LEFT JOIN a term on the right side alone filters the right side before the join, and
// a term on the left side alone decides which left rows may match (each left row stays); a term
// reading both sides that is not a key equality cannot be a hash join's and is refused.

import { isQueryStatement } from './parse.js';
import type { Expr as SqlExpr, ExprRef, JoinClause } from 'pgsql-ast-parser';
import type { Field } from '../schema.js';
import { andTerms } from './comma-joins.js';
import { spanOf, sqlError } from './errors.js';
import { findColumn } from './planner.js';

/** One side of a join as a reference sees it: the frame's alias and columns. */
export interface OnSide {
  readonly alias: string;
  readonly fields: readonly Field[];
}

interface OnTerms {
  /** [left column, right column] pairs, all equal for a match. */
  keys: [string, string][];
  /** Terms that are not keys, by the sides they read (a subquery counts as reading both). */
  left: SqlExpr[];
  right: SqlExpr[];
  both: SqlExpr[];
  none: SqlExpr[];
}

/** The side and column a reference names, or an error at it. */
function sideOf(text: string, r: ExprRef, left: OnSide, right: OnSide): ['L' | 'R', string] {
  const hits: ['L' | 'R', string][] = [];
  for (const [k, s] of [
    ['L', left],
    ['R', right],
  ] as const) {
    if (r.table && s.alias !== r.table.name && s.alias.toLowerCase() !== r.table.name.toLowerCase()) continue;
    const c = findColumn(s.fields, r.name);
    if (c !== undefined) hits.push([k, c]);
  }
  if (hits.length > 1) throw sqlError(text, spanOf(r), `column ${r.name} is ambiguous: qualify it with a frame name`);
  if (hits.length === 0)
    throw sqlError(text, spanOf(r), `no column named ${r.name}${r.table ? ` in ${r.table.name}` : ''}`);
  return hits[0]!;
}

/** Which sides a term reads: 'L', 'R', 'LR', or '' for none. */
export function sidesRead(text: string, e: SqlExpr, left: OnSide, right: OnSide): '' | 'L' | 'R' | 'LR' {
  let l = false;
  let r = false;
  const walk = (x: unknown): void => {
    if (x === null || typeof x !== 'object') return;
    if (Array.isArray(x)) return x.forEach(walk);
    const n = x as { type?: string };
    if (isQueryStatement(n)) {
      l = r = true;
      return;
    }
    if (n.type === 'ref' && (n as ExprRef).name !== '*') {
      if (sideOf(text, n as ExprRef, left, right)[0] === 'L') l = true;
      else r = true;
      return;
    }
    for (const v of Object.values(n)) walk(v);
  };
  walk(e);
  return l && r ? 'LR' : l ? 'L' : r ? 'R' : '';
}

function splitOn(text: string, on: SqlExpr, left: OnSide, right: OnSide): OnTerms {
  const out: OnTerms = { keys: [], left: [], right: [], both: [], none: [] };
  for (const t of andTerms(on)) {
    if (t.type === 'binary' && t.op === '=' && t.left.type === 'ref' && t.right.type === 'ref') {
      const a = sideOf(text, t.left, left, right);
      const b = sideOf(text, t.right, left, right);
      const type = (x: ['L' | 'R', string]): string =>
        (x[0] === 'L' ? left : right).fields.find((f) => f.name === x[1])!.type;
      const num = (y: string): boolean => y === 'I' || y === 'D';
      const [ta, tb] = [type(a), type(b)];
      // Columns of types a join cannot match (an int and an int64) compare as any other term.
      if (a[0] !== b[0] && (ta === tb || (num(ta) && num(tb)))) {
        out.keys.push(a[0] === 'L' ? [a[1], b[1]] : [b[1], a[1]]);
        continue;
      }
    }
    const s = sidesRead(text, t, left, right);
    (s === 'L' ? out.left : s === 'R' ? out.right : s === 'LR' ? out.both : out.none).push(t);
  }
  return out;
}

/** How a two-frame join runs, from its JOIN clause. */
export interface JoinShape {
  kind: 'INNER' | 'LEFT' | 'RIGHT' | 'FULL' | 'CROSS';
  /** [left column, right column] pairs (none: a cross join). */
  on: [string, string][];
  /** ON terms that join the WHERE (an INNER JOIN's). */
  where: SqlExpr[];
  /** ON terms that filter, before the join, the side whose rows may go (a LEFT JOIN's right side, a RIGHT JOIN's left). */
  filter?: SqlExpr[];
  /** ON terms on the side whose rows all stay: its rows where they do not hold match nothing. */
  match?: SqlExpr[];
}

export function joinShape(text: string, j: JoinClause, left: OnSide, right: OnSide): JoinShape {
  const kind = j.type.replace(' JOIN', '') as JoinShape['kind'];
  if (!['INNER', 'LEFT', 'RIGHT', 'FULL', 'CROSS'].includes(kind))
    throw sqlError(text, spanOf(j), `${j.type} is not supported`);
  const shape: JoinShape = { kind, on: [], where: [] };
  // USING arrives written as ON (join-using.ts), which also merges its columns.
  if (j.on) {
    const t = splitOn(text, j.on, left, right);
    shape.on = t.keys;
    // A term on the side whose rows all stay (left of a LEFT JOIN, right of a RIGHT JOIN) decides
    // which of its rows may match, not which stay: the join tests it per row (leftMatch). A term
    // reading both sides that is not a key equality cannot be a hash join's; a FULL JOIN takes keys only.
    const refused = kind === 'FULL' ? [...t.left, ...t.right, ...t.both, ...t.none] : t.both;
    if (refused.length && kind !== 'INNER')
      throw sqlError(
        text,
        spanOf(refused[0]),
        kind === 'FULL'
          ? "a FULL JOIN's ON takes equalities of a column of each side only (ANDed)"
          : `a ${kind} JOIN's ON takes equalities of a column of each side and terms on one side alone: ` +
              'this term reads both sides (or a subquery) and is not such an equality',
      );
    if (kind === 'INNER') shape.where = [...t.left, ...t.right, ...t.both, ...t.none];
    else if (kind !== 'FULL') {
      const filter = [...(kind === 'LEFT' ? t.right : t.left), ...t.none];
      if (filter.length) shape.filter = filter;
      const match = kind === 'LEFT' ? t.left : t.right;
      if (match.length) shape.match = match;
    }
  } else if (kind !== 'CROSS')
    throw sqlError(
      text,
      spanOf(j),
      (j as { eau2Natural?: boolean }).eau2Natural
        ? 'a NATURAL JOIN is not read here: write USING or ON'
        : 'JOIN needs ON or USING',
    );
  if (shape.on.length === 0 && kind !== 'INNER' && kind !== 'CROSS')
    throw sqlError(text, spanOf(j), `a ${kind} JOIN needs an equality of a column of each side in its ON`);
  return shape;
}
