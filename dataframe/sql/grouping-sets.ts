// GROUP BY ROLLUP (...), CUBE (...) and GROUPING SETS (...), and grouping(col, ...), as PostgreSQL
// and DuckDB define them. The GROUP BY's items expand into a list of grouping sets (each a list of
// key expressions; a plain key is in every set, and several items multiply, `GROUP BY a, ROLLUP(b,
// c)` being (a, b, c), (a, b), (a)); the statement's stage 1 runs once per set over the same input,
// grouped by that set's keys alone, and the results are stacked with the keys a set leaves out as
// nulls, beside a 0/1 column per key saying so (what grouping() reads). Stage 2 (HAVING, the SELECT
// list, ORDER BY, LIMIT) then runs over the stack as over one GROUP BY's groups. Each set is an
// ordinary aggregate, so every aggregate stays exactly what it is in a GROUP BY (median and
// count(DISTINCT) included), at the cost of one pass over the input per set: the sets are capped.
// A set listed twice gives its groups twice, as in PostgreSQL and DuckDB. docs/dataframe.md "SQL".

import type { Expr as SqlExpr, ExprCall } from 'pgsql-ast-parser';
import { columnFromValues } from '../column-builder.js';
import { DataFrame } from '../dataframe.js';
import type { Plan } from '../query/plan.js';
import type { Column } from '../column.js';
import type { Field } from '../schema.js';
import { sqlError } from './errors.js';
import { spanOf } from './translate.js';

/** Most grouping sets one GROUP BY may make (each is a pass over the input). */
const MAX_GROUPING_SETS = 64;
/** Most columns of one CUBE (2^6 = 64 sets). */
const MAX_CUBE_COLUMNS = 6;

/** The hidden column that is 1 where group key `k` is rolled up (left out of the row's set), else 0. */
export const flagName = (k: number): string => `\u0000gk${k}`;

/** The GROUP BY's keys (each occurrence once) and its grouping sets, as indexes into `keys`. */
export interface ExpandedGroupBy {
  keys: SqlExpr[];
  /** Undefined for a plain GROUP BY (one set of every key). */
  sets: number[][] | undefined;
}

type SetKind = 'rollup' | 'cube' | 'sets';

/**
 * Which construct a GROUP BY item is. GROUPING SETS arrives as a call GROUPING_SETS (pre-parse.ts):
 * one written so by hand is no such call.
 */
function kindOf(text: string, e: SqlExpr): SetKind | undefined {
  if (e.type !== 'call' || e.over || e.function.schema) return undefined;
  const name = e.function.name.toLowerCase();
  if (name === 'rollup' || name === 'cube') return name;
  const at = spanOf(e)?.start;
  if (name === 'grouping_sets' && at !== undefined && /^grouping\s+sets/i.test(text.slice(at, at + 40))) return 'sets';
  return undefined;
}

/** Expands a GROUP BY list into its keys and grouping sets (refused past MAX_GROUPING_SETS). */
export function expandGroupBy(text: string, items: readonly SqlExpr[]): ExpandedGroupBy {
  const keys: SqlExpr[] = [];
  if (!items.some((e) => kindOf(text, e))) return { keys: [...items], sets: undefined };
  const key = (e: SqlExpr): number => keys.push(e) - 1;
  const tooMany = (at: unknown, n: number | string): Error =>
    sqlError(
      text,
      spanOf(at),
      `GROUP BY makes ${n} grouping sets, more than ${MAX_GROUPING_SETS} (each is a pass over the rows)`,
    );
  /** A ROLLUP's or CUBE's element: `(a, b)` is one element of two keys. */
  const unit = (e: SqlExpr): number[] => (e.type === 'list' ? e.expressions.map(key) : [key(e)]);
  /** The sets one item makes. */
  const setsOf = (e: SqlExpr): number[][] => {
    const kind = kindOf(text, e);
    if (!kind) return [[key(e)]];
    const args = (e as ExprCall).args;
    if (args.length === 0) throw sqlError(text, spanOf(e), `${kind.toUpperCase()} needs at least one element`);
    if (kind === 'rollup') {
      const units = args.map(unit);
      return Array.from({ length: units.length + 1 }, (_, i) => units.slice(0, units.length - i).flat());
    }
    if (kind === 'cube') {
      if (args.length > MAX_CUBE_COLUMNS) throw tooMany(e, 2 ** args.length);
      const units = args.map(unit);
      // Subsets from the whole down, as PostgreSQL lists them; the order of rows is not defined anyway.
      return Array.from({ length: 2 ** units.length }, (_, m) =>
        units.filter((_, i) => ((2 ** units.length - 1 - m) >> (units.length - 1 - i)) & 1).flat(),
      );
    }
    const out: number[][] = [];
    for (const a of args) {
      // `()`, the empty set, arrives as a 0 standing where the text has its parenthesis.
      const at = spanOf(a)?.start;
      if (a.type === 'integer' && a.value === 0 && at !== undefined && text[at] === '(') out.push([]);
      else if (a.type === 'list') out.push(a.expressions.map(key));
      else out.push(...setsOf(a));
      if (out.length > MAX_GROUPING_SETS) throw tooMany(e, `more than ${out.length - 1}`);
    }
    return out;
  };
  let sets: number[][] = [[]];
  for (const e of items) {
    const mine = setsOf(e);
    if (sets.length * mine.length > MAX_GROUPING_SETS) throw tooMany(e, sets.length * mine.length);
    sets = sets.flatMap((s) => mine.map((m) => [...s, ...m]));
  }
  return { keys, sets };
}

/** The first grouping() call in an expression (outside subqueries), if there is one. */
export function groupingCall(e: unknown): object | undefined {
  if (e === null || typeof e !== 'object') return undefined;
  const o = e as { type?: string; function?: { name?: string }; over?: unknown };
  if (o.type === 'select') return undefined;
  if (o.type === 'call' && !o.over && o.function?.name?.toLowerCase() === 'grouping') return o;
  for (const v of Object.values(o)) {
    const found = groupingCall(v);
    if (found) return found;
  }
  return undefined;
}

/**
 * `e` with each grouping(a, b, ...) written as the bit mask it is, over the hidden flag columns
 * (`flag(a)` names a's): `flag(a) * 2 + flag(b)`, the first argument the highest bit, 1 where that
 * key is rolled up. The tree is copied, not changed (a cached statement's tree is frozen).
 */
export function withGroupingMasks(text: string, e: SqlExpr, flag: (arg: SqlExpr) => string): SqlExpr {
  const map = (x: unknown): unknown => {
    if (x === null || typeof x !== 'object') return x;
    if (Array.isArray(x)) return x.map(map);
    const o = x as SqlExpr & { _location?: unknown };
    if (o.type === 'select') return o;
    if (o.type === 'call' && !o.over && o.function.name.toLowerCase() === 'grouping') {
      const loc = o._location ? { _location: o._location } : {};
      if (o.args.length === 0) throw sqlError(text, spanOf(o), 'grouping() takes at least one argument');
      return o.args
        .map((a) => ({ type: 'ref', name: flag(a), ...loc }) as SqlExpr)
        .reduce(
          (acc, r) =>
            ({
              type: 'binary',
              op: '+',
              left: { type: 'binary', op: '*', left: acc, right: { type: 'integer', value: 2, ...loc }, ...loc },
              right: r,
              ...loc,
            }) as SqlExpr,
        );
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, map(v)]));
  };
  return map(e) as SqlExpr;
}

/**
 * Runs `stage1` once per grouping set (`sets` index its groupBy; `run` runs one plan) and stacks the
 * results in `output`'s columns (the whole stage 1's: its keys, then its aggregates), the keys a set
 * leaves out null, then a flag column per key (flagName) saying which those are.
 */
export async function runGroupingSets(
  stage1: Plan,
  sets: readonly (readonly number[])[],
  output: readonly Field[],
  run: (p: Plan, first: boolean) => Promise<DataFrame>,
): Promise<DataFrame> {
  const keys = stage1.groupBy ?? [];
  const fields: Field[] = [...output, ...keys.map((_, k) => ({ name: flagName(k), type: 'I' as const }))];
  const parts: DataFrame[] = [];
  for (const [n, set] of sets.entries()) {
    const { groupBy: _, ...rest } = stage1;
    // The grand total is one row even without aggregates (or rows): a count stands in, unread.
    const p: Plan = set.length
      ? { ...rest, groupBy: set.map((k) => keys[k]!) }
      : { ...rest, aggs: rest.aggs?.length ? rest.aggs : [{ col: '*', fn: 'count', as: '\u0000n' }] };
    const df = await run(p, n === 0);
    const rows = df.nrows;
    const cols: Column[] = output.map((f, i) =>
      i >= keys.length || set.includes(i) ? df.column(f.name) : columnFromValues(f.type, new Array(rows).fill(null)),
    );
    for (let k = 0; k < keys.length; k++)
      cols.push(columnFromValues('I', new Array(rows).fill(set.includes(k) ? 0 : 1)));
    parts.push(DataFrame.fromFields(fields, cols));
  }
  return DataFrame.concat(parts, fields);
}
