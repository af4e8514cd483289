// Which query a column of a correlated subquery belongs to: its own FROM's frames (SQL's scoping:
// the nearest query's columns first) or the outer query's FROM items. Shared by the rewrites of
// decorrelate.ts (scalar subqueries) and exists-join.ts ([NOT] EXISTS).

import type { ExprRef, From, SelectFromStatement } from 'pgsql-ast-parser';
import type { Field } from '../schema.js';
import { findColumn } from './planner.js';
import { isQueryStatement } from './parse.js';

type Node = Record<string, unknown>;
type Table = Extract<From, { type: 'table' }>;

/** The columns of a frame named in FROM (a stored frame, a WITH query, a frame given), if known. */
export type FieldsOf = (name: string) => Promise<readonly Field[] | undefined>;

/** An outer FROM item: its alias and its columns (undefined for a subquery in FROM: not known before it runs). */
export interface Outer {
  alias: string;
  fields: readonly Field[] | undefined;
}

export const aliasOf = (f: From): string | undefined =>
  f.type === 'table' ? (f.name.alias ?? f.name.name) : f.type === 'statement' ? f.alias : undefined;

/** The outer query's FROM items, with the columns of those that are frames. */
export async function outerItems(from: readonly From[], fieldsOf: FieldsOf): Promise<Outer[]> {
  const out: Outer[] = [];
  for (const f of from)
    out.push({ alias: aliasOf(f) ?? '', fields: f.type === 'table' ? await fieldsOf(f.name.name) : undefined });
  return out;
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export interface InnerScope {
  /** 'in' for the subquery's own column, 'out' for the outer query's, undefined if neither can be told. */
  scopeOf(r: ExprRef): 'in' | 'out' | undefined;
  /** The scopes of the columns `e` reads (undefined among them for a subquery or a column not told). */
  reads(e: unknown): Set<'in' | 'out' | undefined>;
  /** The index of the outer FROM item an 'out' column belongs to, if it can be told. */
  outerItem(r: ExprRef): number | undefined;
}

/**
 * The scope of subquery `q` under the outer FROM items `outer`; undefined when its FROM is not frames
 * joined by commas whose columns are known.
 */
export async function innerScope(
  q: SelectFromStatement,
  outer: readonly Outer[],
  fieldsOf: FieldsOf,
): Promise<InnerScope | undefined> {
  if (!q.from?.length || q.from.some((f) => f.type !== 'table' || f.join)) return undefined;
  const inner: { alias: string; fields: readonly Field[] }[] = [];
  for (const f of q.from as Table[]) {
    const fields = await fieldsOf(f.name.name);
    if (!fields) return undefined;
    inner.push({ alias: f.name.alias ?? f.name.name, fields });
  }
  const outerItem = (r: ExprRef): number | undefined => {
    if (r.table) {
      const i = outer.findIndex((o) => same(o.alias, r.table!.name));
      return i >= 0 ? i : undefined;
    }
    // An unqualified name could be a column of a subquery in FROM, whose columns are not known.
    if (outer.some((o) => !o.fields)) return undefined;
    const hits = outer.flatMap((o, i) => (findColumn(o.fields!, r.name) !== undefined ? [i] : []));
    return hits.length === 1 ? hits[0] : undefined;
  };
  const scopeOf = (r: ExprRef): 'in' | 'out' | undefined => {
    if (r.table) {
      const own = inner.find((i) => same(i.alias, r.table!.name));
      if (own) return findColumn(own.fields, r.name) !== undefined ? 'in' : undefined;
      return outerItem(r) !== undefined ? 'out' : undefined;
    }
    const mine = inner.filter((i) => findColumn(i.fields, r.name) !== undefined);
    if (mine.length > 0) return mine.length === 1 ? 'in' : undefined;
    return outerItem(r) !== undefined ? 'out' : undefined;
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
  return { scopeOf, reads, outerItem };
}
