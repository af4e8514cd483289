// Several JOINs in one SELECT (`FROM f JOIN a ON ... JOIN b ON ...`). The query engine joins two
// frames at a time, so the chain is taken from the left: the first two frames' join becomes a part
// (derived.ts: pushed to the nodes, its rows gathered at the client), holding only the columns the
// statement reads and filtered by the WHERE terms that read nothing else (unless a later RIGHT JOIN
// keeps rows those terms would drop), and the statement is
// rewritten over it: `f.x` becomes the part's column "f.x". A longer chain repeats this. Comma joins
// are first written as JOINs (comma-joins.ts).

import { isQueryStatement } from './parse.js';
import { rewrite as rewriteTree, someNode } from './rewrite.js';
import type { Expr as SqlExpr, ExprRef, From, SelectFromStatement, SelectedColumn } from 'pgsql-ast-parser';
import type { Field } from '../schema.js';
import { andOf, andTerms, commaToJoins } from './comma-joins.js';
import { spanOf, sqlError } from './errors.js';
import { joinColumns } from './join-using.js';
import { findColumn, itemName } from './planner.js';

type Table = Extract<From, { type: 'table' }>;

/** Whether the statement joins more than two frames. */
export function isJoinChain(st: SelectFromStatement): boolean {
  return (st.from?.length ?? 0) > 2;
}

const aliasOf = (t: Table): string => t.name.alias ?? t.name.name;

/** The tree with `f`'s replacements (a node, or undefined to keep it), outside subqueries. */
function mapTree<T>(x: T, f: (n: Record<string, unknown>) => unknown): T {
  return rewriteTree(x, (n) => f(n) ?? (isQueryStatement(n) ? n : undefined));
}

/**
 * The first two frames' join as a part named `part`, and the statement over it. `fields` holds each
 * FROM item's columns, in order.
 */
export function splitJoinChain(
  text: string,
  written: SelectFromStatement,
  writtenFields: readonly (readonly Field[])[],
  part: string,
): { part: SelectFromStatement; rest: SelectFromStatement } {
  for (const f of written.from ?? [])
    if (f.type !== 'table') throw sqlError(text, spanOf(f), 'FROM takes frames, WITH queries or subqueries here');
  // USING, `*` and `t.*` as the columns they stand for (join-using.ts); each item keeps the name it
  // has as written.
  const merged = joinColumns(text, written, writtenFields);
  const columns: SelectedColumn[] = (merged.columns ?? []).map((c) => ({ ...c, alias: { name: itemName(text, c) } }));
  const { st, fields } = commaToJoins(text, merged, writtenFields);
  const from = st.from as Table[];
  const aliases = from.map(aliasOf);
  /** The FROM item and column a reference names, if it names one (else it may be an output name). */
  const resolve = (r: ExprRef): [number, string] | undefined => {
    if (r.name === '*') return undefined;
    const cands = r.table
      ? aliases.flatMap((a, i) => (a === r.table!.name || a.toLowerCase() === r.table!.name.toLowerCase() ? [i] : []))
      : aliases.map((_, i) => i);
    const hits = cands.flatMap((i) => {
      const c = findColumn(fields[i]!, r.name);
      return c === undefined ? [] : [[i, c] as [number, string]];
    });
    if (hits.length > 1) throw sqlError(text, spanOf(r), `column ${r.name} is ambiguous: qualify it with a frame name`);
    return hits[0];
  };
  const inPart = (i: number): boolean => i < 2;
  const colName = (i: number, c: string): string => `${aliases[i]}.${c}`;
  const needed = new Map<string, [number, string]>();
  const rewrite = <T>(x: T): T =>
    mapTree(x, (n) => {
      if (n.type !== 'ref') return undefined;
      const hit = resolve(n as unknown as ExprRef);
      if (!hit || !inPart(hit[0])) return undefined;
      const name = colName(hit[0], hit[1]);
      needed.set(name, hit);
      return { type: 'ref', name, ...(n._location ? { _location: n._location } : {}) };
    });
  /** Whether every column the expression reads is the part's (and it holds no subquery). */
  const onlyPart = (e: SqlExpr): boolean => {
    return !someNode(e, (n) => {
      if (isQueryStatement(n)) return true;
      if (n.type !== 'ref') return false;
      const hit = resolve(n as unknown as ExprRef);
      return !hit || !inPart(hit[0]);
    });
  };

  // WHERE terms that read the first two frames alone filter the part.
  const terms = andTerms(st.where);
  // Not past a later RIGHT or FULL JOIN: its rows without a match have the part's columns null, which
  // the WHERE sees after the join (a term on them drops such rows; in the part it would keep them).
  const later = from.slice(2).some((f) => f.join?.type === 'RIGHT JOIN' || f.join?.type === 'FULL JOIN');
  const pushed = later ? [] : terms.filter(onlyPart);
  const kept = later ? terms : terms.filter((t) => !onlyPart(t));
  const and = andOf;

  // An ORDER BY or GROUP BY item that is a bare name may name an output column, which the planner
  // prefers to a frame's; a name inside an expression there is a frame's.
  const outputs = new Set(columns.flatMap((c) => (c.alias ? [c.alias.name] : [])));
  const key = (e: SqlExpr): SqlExpr => (e.type === 'ref' && !e.table && outputs.has(e.name) ? e : rewrite(e));
  const rest: SelectFromStatement = {
    ...st,
    columns: rewrite(columns),
    from: [
      { type: 'table', name: { name: part } } as Table,
      ...from.slice(2).map((f) => ({ ...f, join: rewrite(f.join) })),
    ],
    where: rewrite(and(kept)) ?? null,
    groupBy: st.groupBy?.map(key),
    having: rewrite(st.having),
    orderBy: st.orderBy?.map((o) => ({ ...o, by: key(o.by) })),
  };
  // A statement reading no column of the first two frames (`count(*)`) still needs one from the part.
  if (needed.size === 0) {
    const c = fields[0]![0]!.name;
    needed.set(colName(0, c), [0, c]);
  }
  const partSt: SelectFromStatement = {
    type: 'select',
    columns: [...needed].map(([name, [i, c]]) => ({
      expr: { type: 'ref', table: { name: aliases[i]! }, name: c } as SqlExpr,
      alias: { name },
    })),
    from: [from[0]!, from[1]!],
    where: and(pushed) ?? null,
  };
  return { part: partSt, rest };
}
