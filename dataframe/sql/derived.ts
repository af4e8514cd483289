// The parts of a SQL statement computed before the SELECT that reads them: WITH queries, subqueries
// in FROM, the branches of a UNION, and the groups window functions are computed over. Each part runs as a statement of its own (its SELECT planned
// and pushed to the nodes as any other), its result is gathered at the client, at most
// `maxGatheredRows` rows (TOO_LARGE beyond: a part is held whole in memory), and the SELECT that reads it
// finds it by name, as it finds a frame given in SqlOptions.frames. docs/dataframe.md "SQL".

import type { From, SelectFromStatement, SelectStatement, Statement } from 'pgsql-ast-parser';
import { DataFrame, type SqlOptions } from '../dataframe.js';
import { columnFromValues } from '../column-builder.js';
import { checkGatheredRows, MAX_GATHERED_ROWS } from '../query/window.js';
import type { ColumnType, Field, Value } from '../schema.js';
import { sqlError } from './errors.js';
import { distinctStep, needsDistinctStep } from './distinct-on.js';
import { isJoinChain, splitJoinChain } from './join-chain.js';
import { isQueryStatement } from './parse.js';
import { closingParen, type SetOperator } from './pre-parse.js';
import { gather } from '../query/partial.js';
import { groupKeyText } from '../query/group-key.js';
import { hasScalarSubqueries, withScalars } from './scalar.js';
import { spanOf } from './translate.js';
import type { FieldsOf } from './correlation.js';
import { type PartsLog, writtenText } from './explain-parts.js';
import { valuesFrame } from './values.js';
import { splitWindowsOverGroups, windowsOverGroups } from './window-groups.js';

/** Runs one SELECT (without derived parts) over the store and the frames in `opts.frames`. */
export type RunSelect = (st: SelectFromStatement, opts: SqlOptions) => Promise<DataFrame>;

/**
 * A SELECT with its correlated subqueries joined as subqueries in FROM (decorrelate.ts), given the
 * columns of the frames it may name (undefined: not known); undefined when it has none.
 */
export type Decorrelate = (st: SelectFromStatement, fieldsOf: FieldsOf) => Promise<SelectFromStatement | undefined>;

/** Whether a SELECT reads no derived part (its FROM names frames only): it runs as it is. */
export function isPlainSelect(st: SelectStatement): st is SelectFromStatement {
  return (
    st.type === 'select' &&
    !(st.from ?? []).some((f) => f.type === 'statement') &&
    !windowsOverGroups(st) &&
    !isJoinChain(st) &&
    !needsDistinctStep(st)
  );
}

/** Types two UNION branches' columns share: the same, or the wider of two numbers or two times. */
function unionType(a: ColumnType, b: ColumnType): ColumnType | undefined {
  if (a === b) return a;
  const pair = new Set([a, b]);
  if (pair.has('D') && (pair.has('I') || pair.has('L'))) return 'D';
  if (pair.has('I') && pair.has('L')) return 'L';
  if (pair.has('d') && pair.has('T')) return 'T';
  return undefined;
}

const DAY_US = 86_400_000_000n;

function widen(v: Value, from: ColumnType, to: ColumnType): Value {
  if (v === null || from === to) return v;
  if (to === 'D') return Number(v);
  if (to === 'L') return BigInt(v as number);
  return BigInt(v as number) * DAY_US; // a date's midnight, as CAST(date AS timestamp)
}

/**
 * A chain of set operations over its branches (`ops[i]` between `dfs[i]` and `dfs[i + 1]`), as SQL
 * reads it: INTERSECT [ALL] binds tighter than UNION [ALL] and EXCEPT [ALL], which are taken from
 * the left (`a UNION b INTERSECT c` is `a UNION (b INTERSECT c)`; `a UNION ALL b UNION c` is `(a
 * UNION ALL b) UNION c`, which keeps each distinct row once).
 */
function foldSetOperations(
  dfs: readonly DataFrame[],
  ops: readonly (SetOperator | 'union' | 'union all')[],
): DataFrame {
  const terms: DataFrame[] = [dfs[0]!];
  const between: (SetOperator | 'union' | 'union all')[] = [];
  ops.forEach((op, i) => {
    if (op === 'intersect' || op === 'intersect all') terms.push(setOperation(op, terms.pop()!, dfs[i + 1]!));
    else {
      between.push(op);
      terms.push(dfs[i + 1]!);
    }
  });
  let acc = terms[0]!;
  between.forEach((op, k) => {
    const r = terms[k + 1]!;
    if (op === 'union all') acc = DataFrame.concat([acc, r], acc.fields);
    else if (op === 'union') acc = setOperation('distinct', DataFrame.concat([acc, r], acc.fields));
    else acc = setOperation(op, acc, r);
  });
  return acc;
}

/** The operator of a UNION node: INTERSECT or EXCEPT when pre-parse.ts marked it so, else its own. */
function setOperatorOf(y: SelectStatement): SetOperator | 'union' | 'union all' {
  return (y as { eau2SetOp?: SetOperator }).eau2SetOp ?? (y.type as 'union' | 'union all');
}

/**
 * `l INTERSECT r`, `l EXCEPT r` (each distinct row of l once, found or not found in r) and their ALL
 * forms (a row as many times as it is in both, or in l more than in r), over frames of the same
 * fields; `distinct`, each distinct row of l once. Rows are equal as group keys are (nulls equal, 0
 * and -0 equal, NaN equal to NaN), as in PostgreSQL and DuckDB. The rows kept are l's, in l's order.
 */
function setOperation(op: SetOperator | 'distinct', l: DataFrame, r?: DataFrame): DataFrame {
  const counts = new Map<string, number>();
  for (const row of r?.rows() ?? []) {
    const k = groupKeyText(row);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const seen = new Set<string>();
  const keep: number[] = [];
  let i = 0;
  for (const row of l.rows()) {
    const k = groupKeyText(row);
    const c = counts.get(k) ?? 0;
    if (op === 'intersect all' || op === 'except all') {
      if (c > 0) counts.set(k, c - 1);
      if (c > 0 === (op === 'intersect all')) keep.push(i);
    } else if ((op === 'distinct' || c > 0 === (op === 'intersect')) && !seen.has(k)) {
      seen.add(k);
      keep.push(i);
    }
    i++;
  }
  const idx = Uint32Array.from(keep);
  return DataFrame.fromFields(
    l.fields,
    l.columns.map((c) => gather(c, idx)),
  );
}

/**
 * The statement's result. `opts.maxRows` bounds the outermost result only (a part cut short would
 * change the answer); each part is bounded by `maxGatheredRows` and fails past it.
 */
export async function runStatement(
  text: string,
  st: SelectStatement,
  opts: SqlOptions,
  runSelect: RunSelect,
  /** A stored frame's columns (NOT_FOUND at `at` if there is none). */
  fieldsOf: (name: string, at: From) => Promise<readonly Field[]>,
  decorrelate?: Decorrelate,
  /**
   * For EXPLAIN: each part is logged instead of run (`runSelect` plans its SELECT and returns an
   * empty frame of its result's columns), and scalar subqueries' values stand as NULL.
   */
  log?: PartsLog,
): Promise<DataFrame> {
  let joins = 0;
  const bound = Math.min(MAX_GATHERED_ROWS, opts.maxGatheredRows ?? MAX_GATHERED_ROWS);
  const frames: Record<string, DataFrame> = {};
  const given = opts.frames ?? {};
  const part = async (x: SelectStatement, what: string, scope: Record<string, DataFrame>): Promise<DataFrame> => {
    if (log) {
      // EXPLAIN plans the part as it is alone, without the bound the run checks (each part says it).
      log.begin();
      const df = await run(x, scope, log.analyze ? bound : undefined);
      if (log.analyze) checkGatheredRows(df.nrows, bound, what);
      log.end(`${what} (its rows gathered at the client, at most ${bound})`, df, writtenText(text, x));
      return df;
    }
    const df = await run(x, scope, bound);
    checkGatheredRows(df.nrows, bound, what);
    return df;
  };
  /** runSelect, with EXPLAIN's note of which parts' rows the SELECT reads. */
  const select = (sel: SelectFromStatement, o: SqlOptions): Promise<DataFrame> => {
    if (log) log.reads(sel, o.frames ?? {});
    return runSelect(sel, o);
  };
  const run = async (x: SelectStatement, scope: Record<string, DataFrame>, maxRows?: number): Promise<DataFrame> => {
    const o: SqlOptions = { ...opts, frames: { ...given, ...scope }, maxRows };
    const v = x as unknown as Statement;
    if (v.type === 'values') {
      const df = valuesFrame(text, v);
      log?.note(`VALUES: ${df.nrows} rows written in the statement, at the client`);
      return df;
    }
    switch (x.type) {
      case 'select': {
        if (needsDistinctStep(x)) {
          const step = distinctStep(text, x);
          const what = Array.isArray(x.distinct) ? 'the rows under DISTINCT ON' : 'the groups under DISTINCT';
          const rows = await part(step.inner, what, scope);
          log?.note(
            `at the client over part ${log.partOf(rows)}'s rows: ${Array.isArray(x.distinct) ? 'DISTINCT ON (the first row of each key, in the ORDER BY)' : 'DISTINCT'}, then ORDER BY and LIMIT`,
          );
          return step.finish(rows, maxRows);
        }
        let sc = scope;
        const from: From[] = [];
        for (const f of x.from ?? []) {
          if (f.type !== 'statement') {
            from.push(f);
            continue;
          }
          if (f.lateral) throw sqlError(text, spanOf(f), 'LATERAL subqueries are not supported');
          const what = /^__sq\d+$/.test(f.alias)
            ? `the grouped subquery ${f.alias} a correlated subquery of the WHERE is joined as`
            : /^__/.test(f.alias)
              ? `the subquery ${f.alias} an EXISTS or IN is joined as`
              : `the subquery ${f.alias}`;
          const rows = await part(f.statement, what, scope);
          const df = renameAs(text, f, rows);
          log?.same(df, rows);
          sc = { ...sc, [f.alias]: df };
          from.push({ type: 'table', name: { name: f.alias }, join: f.join, _location: f._location } as From);
        }
        let sel: SelectFromStatement = { ...x, from };
        // Before the chain of joins is split: a subquery's outer columns name the FROM as written.
        const d = await decorrelate?.(sel, async (name) => {
          const f = sc[name]?.fields ?? given[name]?.fields;
          return f ?? fieldsOf(name, { type: 'table', name: { name } } as From).catch(() => undefined);
        });
        if (d) return run(d, sc, maxRows);
        if (hasScalarSubqueries(sel)) {
          // A scalar subquery sees the WITH queries in scope, not this SELECT's FROM (scalar.ts).
          const outer = {
            from,
            fields: async (f: From) => {
              const name = (f as Extract<From, { type: 'table' }>).name.name;
              return sc[name]?.fields ?? given[name]?.fields ?? fieldsOf(name, f);
            },
          };
          const sub = async (y: SelectStatement, maxRows: number): Promise<DataFrame> => {
            if (!log) return run(y, scope, maxRows);
            log.begin();
            const df = await run(y, scope, log.analyze ? maxRows : undefined);
            const n = log.end(
              maxRows === 1
                ? 'a subquery used as a value (one row at most)'
                : `the subquery of an IN (its values, at most ${maxRows})`,
              df,
              writtenText(text, y),
            );
            if (log.analyze) {
              log.note(`part ${n}'s value (or list of values) is in the plan below`);
              return df;
            }
            log.note(
              `part ${n}'s value stands as NULL in the plan below: when the statement runs, the plan holds the value (or the list of values) part ${n} gives`,
            );
            return log.standIn(df.fields, 1);
          };
          sel = (await withScalars(text, sel, sub, outer)).st;
        }
        if (isJoinChain(sel)) {
          const fields = await Promise.all(
            from.map((f) => {
              const name = (f as Extract<From, { type: 'table' }>).name.name;
              return sc[name]?.fields ?? given[name]?.fields ?? fieldsOf(name, f);
            }),
          );
          const name = `\u0000join${++joins}`;
          const split = splitJoinChain(text, sel, fields, name);
          const rows = await part(split.part, 'a join in a chain of joins', sc);
          return run(split.rest, { ...sc, [name]: rows }, maxRows);
        }
        if (windowsOverGroups(sel)) {
          const name = '\u0000groups';
          const { inner, outer } = splitWindowsOverGroups(text, sel, name);
          const groups = await part(inner, 'the groups under window functions', sc);
          return select(outer, { ...o, frames: { ...given, ...sc, [name]: groups } });
        }
        return select(sel, { ...o, frames: { ...given, ...sc } });
      }
      case 'union':
      case 'union all':
        return union(x, scope, maxRows);
      case 'with': {
        let sc = scope;
        for (const b of x.bind) {
          if (!isQueryStatement(b.statement as Statement) && b.statement.type !== 'values')
            throw sqlError(text, spanOf(b.statement), 'WITH takes SELECT queries and VALUES only');
          const df = await part(b.statement as SelectStatement, `WITH ${b.alias.name}`, sc);
          // `WITH v(x, y) AS (...)`: the names pre-parsing read (values.ts).
          const names = (b as { eau2Columns?: string[] }).eau2Columns;
          const named = names ? renamed(text, b, b.alias.name, names, df) : df;
          log?.same(named, df);
          sc = { ...sc, [b.alias.name]: named };
        }
        if (!isQueryStatement(x.in as Statement)) throw sqlError(text, spanOf(x.in), 'WITH ... must end in a SELECT');
        return run(x.in as SelectStatement, sc, maxRows);
      }
      default:
        throw sqlError(text, spanOf(x), `${x.type.toUpperCase()} is not supported here`);
    }
  };
  const union = async (
    x: SelectStatement,
    scope: Record<string, DataFrame>,
    maxRows: number | undefined,
  ): Promise<DataFrame> => {
    // The parser nests `a UNION b UNION c` as a UNION (b UNION c), where SQL reads (a UNION b) UNION
    // c, and gives a trailing ORDER BY or LIMIT to the last branch, where SQL gives it to the whole:
    // the chain is read back in its written order and folded from the left, one operator throughout
    // (a branch in parentheses is a branch of its own), and a trailing ORDER BY or LIMIT refused.
    // INTERSECT and EXCEPT reach here as UNION nodes marked with the operator written (pre-parse.ts).
    const branches: SelectStatement[] = [];
    const ops: { op: SetOperator | 'union' | 'union all'; node: SelectStatement }[] = [];
    const flat = (y: SelectStatement, top: boolean): void => {
      if ((y.type === 'union' || y.type === 'union all') && (top || !parenthesized(y))) {
        flat(y.left, false);
        ops.push({ op: setOperatorOf(y), node: y });
        flat(y.right, false);
      } else branches.push(y);
    };
    flat(x, true);
    const op = ops[0]!.op;
    const mixed = ops.some((o) => o.op !== op);
    // Errors name the operator as written; a branch is a UNION's, an INTERSECT's, an EXCEPT's (or a
    // set operation's, in a chain of several).
    const families = new Set(ops.map((o) => o.op.replace(/ all$/, '').toUpperCase()));
    const branchOf = families.size === 1 ? [...families][0]! : 'set operation';
    const last = branches[branches.length - 1]!;
    if (last.type === 'select' && (last.orderBy || last.limit))
      throw sqlError(
        text,
        spanOf(last.orderBy?.[0] ?? last.limit),
        `ORDER BY or LIMIT after ${/^[IE]/.test(branchOf) ? 'an' : 'a'} ${branchOf} is not supported: SELECT * FROM (... ${[...families].join(' ... ')} ...) u ORDER BY ... LIMIT ...`,
      );
    const dfs: DataFrame[] = [];
    for (const [i, b] of branches.entries()) dfs.push(await part(b, `${branchOf} branch ${i + 1}`, scope));
    const first = dfs[0]!;
    if (log) {
      const ns = dfs.map((d) => log.partOf(d)).join(', ');
      const opsText = [...new Set(ops.map((o) => o.op.toUpperCase()))].join(', ');
      log.note(
        op === 'union' && !mixed
          ? `at the client: the rows of parts ${ns} stacked, then each distinct row once:`
          : `at the client over the rows of parts ${ns}: ${opsText}`,
      );
    }
    const fields: { name: string; type: ColumnType }[] = first.fields.map((f) => ({ ...f }));
    dfs.forEach((d, i) => {
      if (d.fields.length !== fields.length)
        throw sqlError(
          text,
          spanOf(branches[i]),
          `each ${branchOf} branch needs ${fields.length} columns, as the first has: this one has ${d.fields.length}`,
        );
      d.fields.forEach((f, c) => {
        const t = unionType(fields[c]!.type, f.type);
        if (!t)
          throw sqlError(
            text,
            spanOf(branches[i]),
            `${branchOf} column ${c + 1} (${fields[c]!.name}) is ${fields[c]!.type} in one branch and ${f.type} in another: CAST one of them`,
          );
        fields[c]!.type = t;
      });
    });
    const widened = dfs.map((d) =>
      DataFrame.fromFields(
        fields,
        d.columns.map((c, j) =>
          c.type === fields[j]!.type
            ? c
            : columnFromValues(
                fields[j]!.type,
                Array.from({ length: d.nrows }, (_, r) => widen(c.get(r), c.type, fields[j]!.type)),
              ),
        ),
      ),
    );
    // maxRows as a SELECT takes it: that many rows and one more, to tell that there were more.
    const bounded = (df: DataFrame): DataFrame =>
      maxRows === undefined || df.nrows <= maxRows ? df : df.slice(0, maxRows + 1);
    if (mixed)
      return bounded(
        foldSetOperations(
          widened,
          ops.map((o) => o.op),
        ),
      );
    if (op !== 'union' && op !== 'union all') return bounded(widened.reduce((l, r) => setOperation(op, l, r)));
    const all = DataFrame.concat(widened, fields);
    if (op === 'union all') return bounded(all);
    // UNION keeps each distinct row once: SELECT DISTINCT over the rows of every branch.
    const name = '\u0000union';
    const distinct: SelectFromStatement = {
      type: 'select',
      distinct: 'distinct',
      columns: [{ expr: { type: 'ref', name: '*' } }],
      from: [{ type: 'table', name: { name } }],
    };
    return select(distinct, { ...opts, frames: { ...given, ...scope, [name]: all }, maxRows });
  };
  /**
   * Whether a set operation's node is written in parentheses (its own branch of an outer chain): the
   * parenthesis it starts with closes where it ends. The parser nests a chain from the right, so a
   * node that merely starts with a parenthesized branch, `(SELECT 2) EXCEPT SELECT 1` in `SELECT 1
   * EXCEPT (SELECT 2) EXCEPT SELECT 1`, is no such branch.
   */
  const parenthesized = (y: SelectStatement): boolean => {
    const at = (y as { _location?: { start: number; end: number } })._location;
    if (at === undefined || text[at.start] !== '(') return false;
    const inner = text.slice(at.start, at.end);
    return closingParen(inner) === inner.length - 1;
  };
  return run(st, frames, opts.maxRows);
}

/** A subquery's result under the column names `AS s(a, b)` gives, if it gives them. */
function renameAs(text: string, f: Extract<From, { type: 'statement' }>, df: DataFrame): DataFrame {
  const names = f.columnNames;
  if (!names?.length) return df;
  return renamed(
    text,
    f,
    f.alias,
    names.map((n) => n.name),
    df,
  );
}

/** A part's result with its first columns named `names` (the rest keep theirs). */
function renamed(text: string, at: unknown, alias: string, names: readonly string[], df: DataFrame): DataFrame {
  if (names.length > df.fields.length)
    throw sqlError(text, spanOf(at), `${alias} names ${names.length} columns, its query has ${df.fields.length}`);
  return DataFrame.fromFields(
    df.fields.map((x, i) => ({ name: names[i] ?? x.name, type: x.type })),
    df.columns,
  );
}
