// SQL over stored frames: parse (pgsql-ast-parser, with node locations for error carets), resolve the
// FROM clause to frames, plan (planner.ts) and run the plans through the same Query machinery as the
// fluent API. `EXPLAIN SELECT ...` returns the plans as text instead of running them.
// docs/dataframe.md "SQL".

import type { Expr as SqlExpr, ExprRef, From, SelectFromStatement, SelectStatement } from 'pgsql-ast-parser';
import { deepFreeze, Eau2Error, ErrorCode, type KvStore } from '../../kv/index.js';
import { DataFrame, type SqlOptions, type SqlParam } from '../dataframe.js';
import { columnFromValues } from '../column-builder.js';
import { LazyFrame } from '../lazy-frame.js';
import { checkName } from '../layout.js';
import type { FrameMeta } from '../meta.js';
import { cachedMeta, forgetMeta, isPublished, peekMeta } from '../meta-cache.js';
import { explainPlan } from '../query/explain.js';
import type { Expr } from '../query/expr-base.js';
import { crossJoin, fullJoin } from '../query/gathered-join.js';
import { joinedFields, type JoinType, MAX_CROSS_CHUNK_ROWS } from '../query/join.js';
import { checkPlan, type CheckedPlan, type Plan } from '../query/plan.js';
import { analyzeLine, type Query } from '../query/query.js';
import { taskNodes } from '../query/tasks.js';
import { VersionCheck } from '../query/version-check.js';
import { compareRows, sortKey, type SortKey } from '../query/sort.js';
import { checkGatheredRows, MAX_GATHERED_ROWS, windowType } from '../query/window.js';
import type { Field } from '../schema.js';
import { type Decorrelate, isPlainSelect, type RunSelect, runStatement } from './derived.js';
import { PartsLog } from './explain-parts.js';
import { andOf, andTerms, commaToJoins } from './comma-joins.js';
import { sqlError } from './errors.js';
import { joinShape, sidesRead } from './join-on.js';
import { joinColumns } from './join-using.js';
import { takeSubJoin } from './sub-join.js';
import { MAX_SQL_LENGTH, parseOne } from './parse.js';

export { warmParser } from './parse.js';
import { bindParams, checkParams, mayHaveParams } from './params.js';
import { bindTime, mayReadTime } from './now.js';
import { hasScalarSubqueries, withScalars } from './scalar.js';
import { decorrelate, mayDecorrelate } from './decorrelate.js';
import { runGroupingSets } from './grouping-sets.js';
import { findColumn, planSelect, type SqlPlan, type SqlScope } from './planner.js';
import { SQL_AGGS, spanOf } from './translate.js';

export interface SqlResult {
  /** The result rows (absent for EXPLAIN). */
  frame?: DataFrame;
  /** EXPLAIN's text: the plans, where each part runs. */
  explain?: string;
  /** EXPLAIN: the columns the statement's result would have. */
  columns?: readonly Field[];
  /**
   * EXPLAIN of a statement that runs as parts: each part before the main SELECT, in the order they
   * run, with its text in the statement when it is written there, and its lines of the explanation.
   */
  parts?: { n: number; sql: string; lines: string[] }[];
}

/**
 * Statements parsed lately, by their text (the parser is most of a small query's client time): a
 * repeated statement is planned from its syntax tree, deep-frozen so no use can change it for the
 * next. Bounded in statements and in characters of text.
 */
const PARSED_MAX = 256;
const PARSED_MAX_CHARS = 1 << 20;
const parsedCache = new Map<string, SelectStatement>();
let parsedChars = 0;

function remember(text: string, st: SelectStatement): SelectStatement {
  parsedCache.set(text, st);
  parsedChars += text.length;
  for (const k of parsedCache.keys()) {
    if (parsedCache.size <= PARSED_MAX && parsedChars <= PARSED_MAX_CHARS) break;
    parsedCache.delete(k);
    parsedChars -= k.length;
  }
  return st;
}

function recalled(text: string): SelectStatement | undefined {
  const hit = parsedCache.get(text);
  if (hit) {
    parsedCache.delete(text);
    parsedCache.set(text, hit);
  }
  return hit;
}

/** The statement's tree, from the cache or parsed now: here, or by `parse` (parse-thread.ts). */
async function parsed(text: string, parse?: (text: string) => Promise<SelectStatement>): Promise<SelectStatement> {
  return recalled(text) ?? remember(text, deepFreeze(parse ? await parse(text) : parseOne(text)));
}

type Frame = DataFrame | LazyFrame;

interface Side {
  frame: Frame;
  alias: string;
  /** Column name in the (joined) frame the query reads, per column of this side. */
  names: Map<string, string>;
}

async function openFrame(
  store: KvStore,
  text: string,
  f: From,
  opts: SqlOptions,
  opened: FrameMeta[] | undefined,
  used: FrameMeta[] | undefined,
): Promise<{ frame: Frame; alias: string }> {
  // A subquery in the statement's FROM was computed first (derived.ts): what is left is one in a semi
  // join's FROM.
  if (f.type !== 'table')
    throw sqlError(text, spanOf(f), 'an EXISTS or IN subquery reads a frame or a WITH query by name, not a subquery');
  const name = f.name.name;
  const alias = f.name.alias ?? name;
  if (f.name.schema) throw sqlError(text, spanOf(f.name), 'frame names have no schema');
  const given = opts.frames?.[name];
  if (given) return { frame: given, alias };
  try {
    if (!opened) return { frame: await DataFrame.get(store, name), alias };
    const { meta, hit } = await cachedMeta(store, checkName(name));
    if (hit) opened.push(meta);
    used?.push(meta);
    return { frame: new LazyFrame(store, meta), alias };
  } catch (e) {
    if (e instanceof Eau2Error && e.code === ErrorCode.NOT_FOUND)
      // NOT_FOUND, as opening the frame by name says it (404 over HTTP), with the statement's place.
      throw sqlError(text, spanOf(f.name), `no frame named ${name}`, ErrorCode.NOT_FOUND);
    throw e;
  }
}

function scopeOf(sides: Side[], fields: readonly Field[]): SqlScope {
  return {
    fields,
    resolve(ref: ExprRef, err) {
      const cands = ref.table
        ? sides.filter((s) => s.alias === ref.table!.name || s.alias.toLowerCase() === ref.table!.name.toLowerCase())
        : sides;
      if (ref.table && cands.length === 0) throw err(`no frame or alias named ${ref.table.name} in FROM`);
      const hits: string[] = [];
      for (const s of cands) {
        const c = findColumn(s.frame.fields, ref.name);
        if (c !== undefined) hits.push(s.names.get(c)!);
      }
      if (hits.length === 0)
        throw err(
          `no column named ${ref.name}${ref.table ? ` in ${ref.table.name}` : ''} (columns: ${cands.flatMap((s) => s.frame.fields.map((f) => f.name)).join(', ')})`,
        );
      if (hits.length > 1) throw err(`column ${ref.name} is ambiguous: qualify it with a frame name`);
      return hits[0]!;
    },
  };
}

interface Prepared {
  query: Query;
  plan: SqlPlan;
  /** What ran at the client before stage 1 (sides of a join gathered there), for EXPLAIN. */
  before?: string[];
  /** Stage 1 of `plan` checked, once a run without maxRows has checked it. */
  checked?: CheckedPlan;
}

/**
 * Statements over one stored frame planned lately, per store, by their text: the plan and the query it runs, with the
 * metadata objects (from the metadata cache) of the frames it was planned against. A repeated
 * statement whose frames' cache entries are still those objects runs that plan without opening
 * the frames or planning again; a frame replaced, re-read or deleted has another (or no) entry,
 * so its statements are planned again. As the metadata they were planned from is checked to be
 * the published version with every run (runChecked), a plan is never used for a version replaced
 * before the query began. Bounded in statements and characters of text, as the parsed cache is.
 */
const PLANS_MAX = 256;
const PLANS_MAX_CHARS = 1 << 20;

interface PlanEntry {
  metas: readonly FrameMeta[];
  prepared: Prepared;
}

class PlanCache {
  readonly entries = new Map<string, PlanEntry>();
  chars = 0;

  /** The entry for `text` if every frame it was planned from is still the cached version. */
  get(store: KvStore, text: string): PlanEntry | undefined {
    const e = this.entries.get(text);
    if (!e) return undefined;
    this.entries.delete(text);
    if (e.metas.some((m) => peekMeta(store, m.name) !== m)) {
      this.chars -= text.length;
      return undefined;
    }
    this.entries.set(text, e);
    return e;
  }

  set(text: string, e: PlanEntry): void {
    if (this.entries.has(text)) this.entries.delete(text);
    else this.chars += text.length;
    this.entries.set(text, e);
    for (const k of this.entries.keys()) {
      if (this.entries.size <= PLANS_MAX && this.chars <= PLANS_MAX_CHARS) break;
      this.entries.delete(k);
      this.chars -= k.length;
    }
  }
}

const planCaches = new WeakMap<KvStore, PlanCache>();

function planCacheOf(store: KvStore): PlanCache {
  let c = planCaches.get(store);
  if (!c) planCaches.set(store, (c = new PlanCache()));
  return c;
}

/** How many statements this store's plan cache holds (tests). */
export function cachedPlans(store: KvStore): number {
  return planCaches.get(store)?.entries.size ?? 0;
}

/**
 * `opened` collects the cached metadata the frames were opened from (each must be checked before the
 * answer is trusted); undefined: every frame's metadata is read now, not cached.
 */
async function prepare(
  store: KvStore,
  text: string,
  written: SelectFromStatement,
  opts: SqlOptions,
  opened: FrameMeta[] | undefined,
  used?: FrameMeta[],
  /** EXPLAIN: sides a join gathers at the client first are described, not gathered. */
  explaining = false,
): Promise<Prepared> {
  if (!written.from || written.from.length === 0) {
    // No FROM reads one row of no columns, as in PostgreSQL and DuckDB: `SELECT current_date`,
    // `SELECT (SELECT max(v) FROM b)`. The frame's one column is out of scope (SELECT * has none).
    const star = written.columns?.find((c) => c.expr.type === 'ref' && c.expr.name === '*');
    if (star) throw sqlError(text, spanOf(star.expr), 'SELECT * needs a FROM frame');
    const none: SqlScope = {
      fields: [],
      resolve: (ref, err) => {
        throw err(`no column named ${ref.name}: the SELECT has no FROM`);
      },
    };
    const plan = planSelect(text, written, none, SQL_AGGS);
    return { query: DataFrame.fromColumns({ __row: [true] }).query(), plan };
  }
  if (written.from.length > 2) throw sqlError(text, spanOf(written.from[2]), 'a chain of joins runs as parts');
  const { rest: where, sub } = takeSubJoin(text, written.where);
  const l = await openFrame(store, text, written.from[0]!, opts, opened, used);
  const left: Side = { frame: l.frame, alias: l.alias, names: new Map(l.frame.fields.map((f) => [f.name, f.name])) };
  if (written.from[1] && sub)
    throw sqlError(
      text,
      spanOf(written.where),
      'a subquery join (EXISTS/IN) beside a JOIN is not supported: put the JOIN in a WITH query',
    );
  // `SELECT t.*` over one frame (or an EXISTS's outer frame) reads its columns (join-using.ts).
  const one =
    written.from[1] || !written.columns?.some((c) => c.expr.type === 'ref' && c.expr.name === '*' && c.expr.table)
      ? written
      : joinColumns(text, written, [l.frame.fields]);
  if (!written.from[1] && !sub) {
    const plan = planSelect(text, { ...one, where }, scopeOf([left], l.frame.fields), SQL_AGGS);
    return { query: l.frame.query(), plan };
  }
  const r = await openFrame(store, text, written.from[1] ?? sub!.from, opts, opened, used);
  // USING, `*` and `t.*` as the columns they stand for (join-using.ts); then `FROM a, b WHERE a.k =
  // b.k` is read as `FROM a JOIN b ON a.k = b.k` (comma-joins.ts).
  const st = written.from[1]
    ? commaToJoins(text, joinColumns(text, { ...written, where }, [l.frame.fields, r.frame.fields]), [
        l.frame.fields,
        r.frame.fields,
      ]).st
    : one;
  let rest = written.from[1] ? st.where : where;
  const joinFrom = st.from![1];
  const right: Side = { frame: r.frame, alias: r.alias, names: new Map() };
  const bound = Math.min(MAX_GATHERED_ROWS, opts.maxGatheredRows ?? MAX_GATHERED_ROWS);
  const before: string[] = [];
  /** `SELECT * FROM side WHERE terms` (or the distinct values of `cols`), planned over that side alone. */
  const sideSelect = (s: Side, terms: SqlExpr[], cols?: readonly string[]): SqlPlan => {
    const one: Side = { frame: s.frame, alias: s.alias, names: new Map(s.frame.fields.map((f) => [f.name, f.name])) };
    const sel: SelectFromStatement = {
      type: 'select',
      ...(cols ? { distinct: 'distinct' as const } : {}),
      columns: (cols ?? ['*']).map((c) => ({ expr: { type: 'ref', name: c } })),
      from: [{ type: 'table', name: { name: s.alias } }],
      where: andOf(terms) ?? null,
    };
    return planSelect(text, sel, scopeOf([one], s.frame.fields), SQL_AGGS);
  };
  /**
   * A side's rows where `terms` hold (or the distinct values of its columns `cols`), gathered at the
   * client (at most `bound`; TOO_LARGE beyond).
   */
  const gather = async (s: Side, terms: SqlExpr[], what: string, cols?: readonly string[]): Promise<DataFrame> => {
    if (s.frame instanceof DataFrame && terms.length === 0 && !cols) return s.frame;
    const plan = sideSelect(s, terms, cols);
    if (explaining) {
      // What follows depends on the rows gathered (how many, for a cross join's placement): it is
      // planned over none, and says so.
      const fields = cols ? cols.map((c) => s.frame.fields.find((f) => f.name === c)!) : s.frame.fields;
      before.push(
        `${what}: its ${cols ? 'distinct keys' : 'rows'}${terms.length ? ' where its terms hold' : ''} are gathered here (at most ${bound}); EXPLAIN gathers none, so what follows is planned as over no rows`,
      );
      return DataFrame.fromFields(
        fields,
        fields.map((f) => columnFromValues(f.type, [])),
      );
    }
    const df = (await runPrepared({ query: s.frame.query(), plan }, null, { maxRows: bound })).frame!;
    checkGatheredRows(df.nrows, bound, what);
    const rows = cols ? 'distinct keys' : 'rows';
    before.push(
      `${what}: ${df.nrows} ${rows}${terms.length ? ' where its terms hold' : ''} gathered (at most ${bound})`,
    );
    return df;
  };
  let how: JoinType;
  let on: [string, string][];
  let rightJoin = false;
  /** The kept side's ON terms, over its columns: its rows where they are not true match nothing. */
  let leftMatch: Expr | undefined;
  /** FULL and CROSS joins run at the client over both sides' rows (gathered-join.ts). */
  let atClient: 'full' | 'cross' | undefined;
  if (joinFrom) {
    const j = joinFrom.join!;
    const shape = joinShape(
      text,
      j,
      { alias: left.alias, fields: left.frame.fields },
      { alias: right.alias, fields: right.frame.fields },
    );
    on = shape.on;
    how = shape.kind === 'LEFT' || shape.kind === 'RIGHT' ? 'left' : 'inner';
    rightJoin = shape.kind === 'RIGHT';
    if (shape.where.length) rest = andOf([...andTerms(rest), ...shape.where]) ?? null;
    if (shape.filter) {
      const lr = shape.kind === 'LEFT' ? 'right' : 'left';
      const s = lr === 'right' ? right : left;
      s.frame = await gather(s, shape.filter, `the ${lr} side of a ${shape.kind} JOIN with ON terms on it`);
    }
    if (shape.match) {
      const plan = sideSelect(shape.kind === 'LEFT' ? left : right, shape.match);
      if (plan.stage1.derive?.length || !plan.stage1.filter)
        throw sqlError(text, spanOf(shape.match[0]), 'this ON term on the side whose rows all stay is not supported');
      leftMatch = plan.stage1.filter;
    }
    if (shape.kind === 'FULL') atClient = 'full';
    else if (on.length === 0) atClient = 'cross';
  } else {
    how = sub!.how;
    const sides = [
      { alias: left.alias, fields: left.frame.fields },
      { alias: right.alias, fields: right.frame.fields },
    ] as const;
    if (sub!.split) {
      // An EXISTS whose WHERE also filters its own frame: that frame's keys where the filter holds,
      // gathered first (distinct), are the side joined.
      const { keys, inner } = sub!.split(...sides);
      on = keys;
      if (inner.length)
        right.frame = await gather(right, inner, 'the frame of an EXISTS with terms on it alone', [
          ...new Set(keys.map((k) => k[1])),
        ]);
    } else on = sub!.keys(...sides);
  }
  // A cross join of a stored frame with a few rows (a one-row subquery, `FROM sales, (SELECT
  // max(day) AS d FROM sales) m WHERE ...`) runs on the nodes: a join without keys, the few rows
  // broadcast, the stored frame's chunks where they are, so far as each chunk's joined rows stay
  // within MAX_CROSS_CHUNK_ROWS (which the nodes check too).
  const fits = (big: Frame, small: Frame): boolean =>
    big instanceof LazyFrame && small.nrows * big.chunkRows <= MAX_CROSS_CHUNK_ROWS;
  let onNodes: 'left' | 'right' | undefined;
  if (atClient === 'cross') {
    const l = left.frame;
    const r = right.frame;
    onNodes = fits(l, r) && (l.nrows >= r.nrows || !fits(r, l)) ? 'left' : fits(r, l) ? 'right' : undefined;
    if (onNodes) atClient = undefined;
  }
  if (atClient) {
    // Terms of the WHERE on one side alone filter that side before a cross join (not before a FULL
    // JOIN: they would keep, with nulls, rows the WHERE drops).
    const terms = atClient === 'cross' ? andTerms(rest) : [];
    const onSide = (x: SqlExpr) =>
      sidesRead(
        text,
        x,
        { alias: left.alias, fields: left.frame.fields },
        { alias: right.alias, fields: right.frame.fields },
      );
    const lt = terms.filter((x) => onSide(x) === 'L');
    const rt = terms.filter((x) => onSide(x) === 'R');
    if (atClient === 'cross') rest = andOf(terms.filter((x) => !lt.includes(x) && !rt.includes(x))) ?? null;
    const what = atClient === 'full' ? 'FULL JOIN' : 'CROSS JOIN';
    const ldf = await gather(left, lt, `the left side of a ${what}`);
    const rdf = await gather(right, rt, `the right side of a ${what}`);
    const joined = atClient === 'full' ? fullJoin(ldf, rdf, on, bound) : crossJoin(ldf, rdf, bound);
    const { fields, rightNames } = joinedFields(ldf.fields, rdf.fields, 'inner');
    right.frame.fields.forEach((f, i) => right.names.set(f.name, rightNames[i]!));
    const plan = planSelect(
      text,
      { ...st, where: rest, from: [st.from![0]!] },
      scopeOf([left, right], fields),
      SQL_AGGS,
    );
    before.push(
      explaining
        ? `the ${what} of those rows (at most ${bound}), which stage 1 runs over`
        : `the ${what} of those rows: ${joined.nrows} rows (at most ${bound}), which stage 1 runs over`,
    );
    return { query: joined.query(), plan, before };
  }
  // An inner join whose right side is a stored frame of more rows than the left runs with that frame
  // on the left, where its chunks stay on the nodes, and the smaller side is the one broadcast: rows
  // in memory (a part of a chain of joins) on the left would have the stored frame read at the
  // client, or refused past the broadcast limit (TOO_LARGE); a smaller stored frame on the left
  // would have both shuffled where it could be broadcast. A stored frame of fewer rows (a
  // dimension, later in a chain) stays the right side: read once, joined in this process.
  const swap =
    onNodes === 'right' ||
    (how === 'inner' &&
      onNodes === undefined &&
      right.frame instanceof LazyFrame &&
      right.frame.nrows > left.frame.nrows);
  if (rightJoin || swap) {
    // a RIGHT JOIN b is b LEFT JOIN a, and a swapped inner join b JOIN a: run so, with a's columns
    // first in scope.
    const { fields, rightNames } = joinedFields(right.frame.fields, left.frame.fields, how);
    left.names = new Map(left.frame.fields.map((f, i) => [f.name, rightNames[i]!]));
    right.names = new Map(right.frame.fields.map((f) => [f.name, f.name]));
    const nr = right.frame.fields.length;
    const scope = scopeOf([left, right], [...fields.slice(nr), ...fields.slice(0, nr)]);
    const plan = planSelect(text, { ...st, where: rest, from: [st.from![0]!] }, scope, SQL_AGGS);
    try {
      return {
        query: right.frame.join(left.frame, { on: on.map(([a, b]): [string, string] => [b, a]), how, leftMatch }),
        plan,
        before,
      };
    } catch (e) {
      if (e instanceof TypeError) throw sqlError(text, spanOf(joinFrom), e.message);
      throw e;
    }
  }
  const { fields, rightNames } = joinedFields(left.frame.fields, right.frame.fields, how);
  right.frame.fields.forEach((f, i) => {
    if (rightNames[i] !== undefined) right.names.set(f.name, rightNames[i]!);
  });
  // A semi/anti join's right columns are not in its result: only the left side is in scope.
  const sides = how === 'semi' || how === 'anti' ? [left] : [left, right];
  const plan = planSelect(text, { ...st, where: rest, from: [st.from![0]!] }, scopeOf(sides, fields), SQL_AGGS);
  let query: Query;
  try {
    query = (left.frame as LazyFrame).join(right.frame, { on, how, leftMatch });
  } catch (e) {
    if (e instanceof TypeError) throw sqlError(text, spanOf(joinFrom ?? st.where), e.message);
    throw e;
  }
  return { query, plan, before };
}

/** The plan with its last stage limited to `cap` rows (a smaller LIMIT stays). */
function capRows(p: SqlPlan, cap: number): SqlPlan {
  const lim = (x: Plan): Plan =>
    x.aggs === undefined && (x.limit === undefined || x.limit > cap) ? { ...x, limit: cap } : x;
  return p.post ? { ...p, post: lim(p.post) } : { ...p, stage1: lim(p.stage1) };
}

/**
 * The result under the SELECT list's names, a repeated one given `_1`, `_2`, ... (a frame's names are
 * unique), skipping a name already taken: DuckDB's rule for a table created from a result, so `k, a,
 * k, k_1` is `k, a, k_1, k_1_1` in both.
 */
function renamed(df: DataFrame, names: readonly string[]): DataFrame {
  const taken = new Set<string>();
  const next = new Map<string, number>();
  const unique = names.map((n) => {
    let u = n;
    if (taken.has(n)) {
      let k = next.get(n) ?? 1;
      while (taken.has(`${n}_${k}`)) k++;
      u = `${n}_${k}`;
      next.set(n, k + 1);
    }
    taken.add(u);
    return u;
  });
  return DataFrame.fromFields(
    df.fields.map((f, i) => ({ name: unique[i]!, type: f.type })),
    df.columns,
  );
}

/**
 * Runs (or with EXPLAIN, explains) one SELECT statement. `parse`, if given, parses a statement not in
 * the cache (a node's HTTP route parses on a thread of its own: parse-thread.ts).
 */
export async function runSql(
  store: KvStore,
  sql: string,
  opts: SqlOptions = {},
  parse?: (text: string) => Promise<SelectStatement>,
): Promise<SqlResult> {
  if (typeof sql !== 'string') throw new TypeError('sql takes the statement as a string');
  if (sql.length > MAX_SQL_LENGTH)
    throw new Eau2Error(ErrorCode.TOO_LARGE, `SQL statement longer than ${MAX_SQL_LENGTH} characters`);
  // EXPLAIN is blanked out rather than cut off, so node locations still index the text as given.
  const m = /^\s*explain\s+(analyze\s+)?/i.exec(sql);
  const text = m ? ' '.repeat(m[0].length) + sql.slice(m[0].length) : sql;
  const params = opts.params === undefined ? undefined : checkParams(opts.params);
  let st = await parsed(text, parse);
  let key = sql;
  if (params?.length || mayHaveParams(text)) {
    st = bindParams(text, st, params ?? []);
    if (params?.length) key = `${sql}\u0000${paramsKey(params)}`;
  }
  if (mayReadTime(text)) {
    const b = bindTime(st, new Date());
    st = b.st;
    // Its plan holds this execution's time: not kept for the next.
    if (b.timed) return runTree(store, sql, text, undefined, st, m, opts);
  }
  return runTree(store, sql, text, key, st, m, opts);
}

/**
 * Runs a parsed statement (with its parameters bound): the whole statement, or a scalar subquery of
 * it (scalar.ts). `key` names the statement's tree for the plan cache (undefined: its plan is not kept).
 */
async function runTree(
  store: KvStore,
  sql: string,
  text: string,
  key: string | undefined,
  st: SelectStatement,
  m: RegExpExecArray | null,
  opts: SqlOptions,
): Promise<SqlResult> {
  if (st.type === 'select' && mayDecorrelate(st)) {
    // A correlated scalar subquery of the WHERE joined as a grouped subquery (decorrelate.ts): the
    // statement that comes out has a subquery in FROM, so it runs as parts.
    const fieldsOf = async (name: string): Promise<readonly Field[] | undefined> =>
      opts.frames?.[name]?.fields ?? (await cachedMeta(store, checkName(name)).catch(() => undefined))?.meta.fields;
    const d = await decorrelate(text, st, fieldsOf);
    if (d && m) return explainParts(store, sql, text, st, m, opts);
    if (d) return runTree(store, sql, text, undefined, d, m, opts);
  }
  if (!isPlainSelect(st)) {
    if (m) return explainParts(store, sql, text, st, m, opts);
    return { frame: await inParts(store, sql, text, st, opts) };
  }
  let plain: SelectFromStatement = st;
  let planKey: string | undefined = key;
  if (hasScalarSubqueries(plain)) {
    // EXPLAIN runs no subquery: each is a part, its value unknown (EXPLAIN ANALYZE runs them).
    if (m && !m[1]) return explainParts(store, sql, text, st, m, opts);
    // Each subquery runs now, with each execution of the statement; the plan is kept per the values
    // they gave, so a kept plan never holds a value from an earlier run.
    const sub = async (x: SelectStatement, maxRows: number): Promise<DataFrame> =>
      (await runTree(store, sql, text, key && `${key}\u0000@${spanOf(x)?.start}`, x, null, { ...opts, maxRows }))
        .frame!;
    const outer = {
      from: plain.from ?? [],
      fields: async (f: From) =>
        f.type === 'table'
          ? (opts.frames?.[f.name.name]?.fields ?? (await cachedMeta(store, checkName(f.name.name))).meta.fields)
          : undefined,
    };
    const r = await withScalars(text, plain, sub, outer);
    plain = r.st;
    planKey = key && r.key !== undefined ? `${key}\u0000${r.key}` : undefined;
  }
  return (
    (await runChecked(store, sql, planKey, plain, m, opts, true)) ??
    (await runChecked(store, sql, planKey, plain, m, opts, false))!
  );
}

/**
 * Runs a statement as its parts (derived.ts), each SELECT by `one` (the statement's own run when not
 * given); with `log`, EXPLAIN's walk through them.
 */
function inParts(
  store: KvStore,
  sql: string,
  text: string,
  st: SelectStatement,
  opts: SqlOptions,
  one: RunSelect = async (s, o) =>
    ((await runChecked(store, sql, sql, s, null, o, true)) ?? (await runChecked(store, sql, sql, s, null, o, false))!)
      .frame!,
  log?: PartsLog,
): Promise<DataFrame> {
  const fieldsOf = async (name: string, at: From): Promise<readonly Field[]> => {
    try {
      return (await cachedMeta(store, checkName(name))).meta.fields;
    } catch (e) {
      if (e instanceof Eau2Error && e.code === ErrorCode.NOT_FOUND)
        throw sqlError(
          text,
          spanOf((at as { name?: unknown }).name ?? at),
          `no frame named ${name}`,
          ErrorCode.NOT_FOUND,
        );
      throw e;
    }
  };
  const joined: Decorrelate = async (s, fields) => (mayDecorrelate(s) ? decorrelate(text, s, fields) : undefined);
  return runStatement(text, st, opts, one, fieldsOf, joined, log);
}

/**
 * EXPLAIN of a statement that runs as parts: each part's SELECT planned and explained as a single
 * SELECT is (nothing run), over empty stand-ins for the parts it reads (explain-parts.ts); with
 * ANALYZE, each part run and its run reported.
 */
async function explainParts(
  store: KvStore,
  sql: string,
  text: string,
  st: SelectStatement,
  m: RegExpExecArray,
  opts: SqlOptions,
): Promise<SqlResult> {
  // EXPLAIN ANALYZE runs each part, the next part over its rows, and reports each run.
  const analyze = m[1] !== undefined;
  const log = new PartsLog(analyze);
  const one: RunSelect = async (s, o) => {
    const r =
      (await runChecked(store, sql, undefined, s, m, o, true, analyze)) ??
      (await runChecked(store, sql, undefined, s, m, o, false, analyze))!;
    log.note(r.explain!);
    return analyze ? r.frame! : log.standIn(r.columns!);
  };
  const df = await inParts(store, sql, text, st, opts, one, log);
  return { explain: log.text(), columns: df.fields, parts: log.parts() };
}

/** The parameters' values as text that tells every two apart (types included), for the plan cache's key. */
function paramsKey(params: readonly SqlParam[]): string {
  return JSON.stringify(
    params.map((v) =>
      typeof v === 'bigint'
        ? ['L', v.toString()]
        : v instanceof Date
          ? ['T', v.toISOString()]
          : typeof v === 'number'
            ? ['D', Object.is(v, -0) ? '-0' : String(v)]
            : v,
    ),
  );
}

/**
 * Runs the statement over frames opened from the metadata cache (`cached`) or read now. With the
 * cache, every cached version is checked to be the published one by a read sent as the query starts,
 * in parallel with it; undefined when one was not (the cache entries are dropped, and the caller runs
 * the statement again from fresh metadata), so a frame replaced or deleted before the query began is
 * never answered from its old version.
 */
async function runChecked(
  store: KvStore,
  sql: string,
  /**
   * The plan cache's key: the text, and the parameters' values when there are some (undefined: the
   * plan is not kept).
   */
  key: string | undefined,
  st: SelectFromStatement,
  m: RegExpExecArray | null,
  opts: SqlOptions,
  cached: boolean,
  /** EXPLAIN ANALYZE of a part: the result's rows too (runPrepared). */
  rows = false,
): Promise<SqlResult | undefined> {
  let opened: FrameMeta[] | undefined = cached ? [] : undefined;
  // Frames given in opts.frames are not versioned: only statements over stored frames alone are kept.
  const plans = cached && !opts.frames && key !== undefined ? planCacheOf(store) : undefined;
  const planned = plans?.get(store, key!);
  let prepared: Prepared;
  if (planned) {
    prepared = planned.prepared;
    opened = [...planned.metas];
  } else {
    const used: FrameMeta[] = [];
    try {
      prepared = await prepare(store, sql, st, opts, opened, used, m !== null && !m[1]);
    } catch (e) {
      // Planning against a cached schema that has changed since can fail: check before reporting it.
      if (opened?.length && !(await allPublished(store, opened).catch(() => true))) {
        for (const x of opened) forgetMeta(store, x.name);
        return undefined;
      }
      throw e;
    }
    // Not a join's: its query keeps the broadcast right side it sent (up to the broadcast limit, 64
    // MiB by default), which 256 kept plans would multiply; the metadata cache bounds those columns.
    if (used.length === 1) plans?.set(key!, { metas: used, prepared });
  }
  if (!opened?.length) return runPrepared(prepared, m, opts, undefined, rows);
  // On a cluster the query's tasks carry the check to the nodes that lead the metadata records
  // (VersionCheck); elsewhere, or for what they do not carry, one read of each record.
  const vc = taskNodes(store).length > 0 ? new VersionCheck(opened) : undefined;
  const run = runPrepared(prepared, m, opts, vc, rows);
  const check = vc ? checkedBy(store, vc, run) : allPublished(store, opened);
  check.catch(() => {}); // awaited below; only its outcome matters there
  let out: SqlResult | undefined;
  let failure: unknown;
  try {
    out = await run;
  } catch (e) {
    failure = e;
  }
  let ok: boolean;
  try {
    ok = await check;
  } catch (e) {
    throw out ? e : failure;
  }
  if (!ok) {
    for (const x of opened) forgetMeta(store, x.name);
    return undefined;
  }
  if (out) return out;
  throw failure;
}

async function allPublished(store: KvStore, metas: readonly FrameMeta[]): Promise<boolean> {
  return (await Promise.all(metas.map((x) => isPublished(store, x)))).every(Boolean);
}

/**
 * Whether every version `vc` names is still the published one: the nodes' answers for those the
 * query's tasks carried, a read of the record for the others, sent as soon as the tasks have gone
 * out (in parallel with them), and for any a node could not answer.
 */
async function checkedBy(store: KvStore, vc: VersionCheck, run: Promise<unknown>): Promise<boolean> {
  const ended = run.then(
    () => {},
    () => {},
  );
  await Promise.race([vc.dispatched, ended]);
  const early = allPublished(
    store,
    vc.metas.filter((x) => !vc.carried.has(x)),
  );
  early.catch(() => {}); // awaited below
  await ended;
  const late = allPublished(
    store,
    vc.metas.filter((x) => vc.carried.has(x) && !vc.answers.has(x)),
  );
  late.catch(() => {});
  const answered = [...vc.answers.values()].every(Boolean);
  return (await early) && (await late) && answered;
}

/** Runs a prepared statement; `versionCheck` goes with its first query's tasks (VersionCheck). */
async function runPrepared(
  prepared: Prepared,
  m: RegExpExecArray | null,
  opts: SqlOptions,
  versionCheck?: VersionCheck,
  /** EXPLAIN ANALYZE of a part: the result's rows too, for the parts that read them. */
  rows = false,
): Promise<SqlResult> {
  const carry = versionCheck || opts.maxGroups !== undefined ? { versionCheck, maxGroups: opts.maxGroups } : undefined;
  const { query } = prepared;
  const plan = opts.maxRows === undefined ? prepared.plan : capRows(prepared.plan, opts.maxRows + 1);
  const maxWindow = Math.min(MAX_GATHERED_ROWS, opts.maxGatheredRows ?? MAX_GATHERED_ROWS);
  const stage1: Plan = plan.windows.length ? { ...plan.stage1, limit: maxWindow + 1 } : plan.stage1;
  // A cached statement's stage 1 is checked once: a plan is immutable, and its frames' versions too.
  const reuse = plan === prepared.plan && plan.windows.length === 0;
  let checked: CheckedPlan;
  try {
    checked = (reuse ? prepared.checked : undefined) ?? query.check(stage1);
  } catch (e) {
    if (e instanceof TypeError) throw new Eau2Error(ErrorCode.INVALID, `cannot plan this query: ${e.message}`);
    throw e;
  }
  if (reuse) prepared.checked = checked;
  const runStage1 = (): Promise<DataFrame> =>
    plan.sets
      ? runGroupingSets(stage1, plan.sets, checked.output, (p, first) =>
          // The version check rides on the first run's tasks only.
          query.run(
            p,
            query.check(p),
            first ? carry : opts.maxGroups !== undefined ? { maxGroups: opts.maxGroups } : undefined,
          ),
        )
      : query.run(stage1, checked, carry);
  if (m) {
    const lines = [
      ...(prepared.before?.length ? ['first, at the client:', ...prepared.before.map((b) => `  ${b}`)] : []),
      'stage 1:',
      explainPlan(checked, query.where(checked), false, query.over(checked), query.zones()),
    ];
    if (plan.windows.length)
      lines.push(
        `then at the client: window functions over at most ${maxWindow} gathered rows: ` +
          plan.windows
            .map(
              (w) =>
                `${w.fn}(${w.col ?? ''}) over (partition by ${w.partitionBy.join(', ') || '()'} order by ${w.orderBy.map((k) => k.col + (k.desc ? ' desc' : '')).join(', ') || '()'})`,
            )
            .join('; '),
      );
    if (plan.post) {
      const fields: Field[] = [...checked.output];
      for (const w of plan.windows) fields.push({ name: w.as, type: windowType(w, fields) });
      lines.push(
        'stage 2, at the client over that result:',
        explainPlan(checkPlan(plan.post, fields), 'the client', true),
      );
    }
    if (plan.sets)
      lines.push(
        `stage 1 runs once per grouping set, the results stacked: ${plan.sets.map((s) => `(${s.map((k) => plan.stage1.groupBy![k]).join(', ')})`).join(', ')}`,
      );
    lines.push(`columns: ${plan.names.join(', ')}`);
    const columns = await resultFields(plan, checked);
    if (!m[1]) return { explain: lines.join('\n'), columns };
    // EXPLAIN ANALYZE runs stage 1 as well and reports what the run did; a part's result is the
    // rest of the run over that stage 1 (run again per set for grouping sets).
    const ran = await query.run(stage1, undefined, carry);
    lines.push(analyzeLine(ran));
    if (!rows) return { explain: lines.join('\n'), columns };
    const frame = await finish(plan, maxWindow, plan.sets ? await runStage1() : ran);
    return { explain: lines.join('\n'), columns, frame };
  }
  return { frame: await finish(plan, maxWindow, await runStage1()) };
}

/** What runs at the client after stage 1: window functions, stage 2, the SELECT list's names. */
async function finish(plan: SqlPlan, maxWindow: number, stage1Rows: DataFrame): Promise<DataFrame> {
  let df = stage1Rows;
  if (plan.windows.length) {
    checkGatheredRows(df.nrows, maxWindow);
    df = df.window(plan.windows);
  }
  if (plan.post) df = await runPost(df, plan.post);
  return renamed(df, plan.names);
}

/**
 * The columns a plan's result has, without running it: what follows stage 1 at the client (grouping
 * sets, window functions, stage 2, the SELECT list's names) run over a stage 1 result of no rows.
 */
async function resultFields(plan: SqlPlan, checked: CheckedPlan): Promise<readonly Field[]> {
  const none = (fields: readonly Field[]): DataFrame =>
    DataFrame.fromFields(
      fields,
      fields.map((f) => columnFromValues(f.type, [])),
    );
  let df = plan.sets
    ? await runGroupingSets(plan.stage1, plan.sets, checked.output, async () => none(checked.output))
    : none(checked.output);
  if (plan.windows.length) df = df.window(plan.windows);
  if (plan.post) df = await runPost(df, plan.post);
  return renamed(df, plan.names).fields;
}

/**
 * Stage 2 at the client. Rows that arrive already in the ORDER BY's order (a GROUP BY ordered by its
 * group keys: the merge returns groups in key order) are not sorted again, since a stable sort leaves
 * them as they are; the check is one comparison per row, the sort a heap of rows. A stage 2 that only
 * names and picks stage 1's columns picks them, without running a query over them.
 */
async function runPost(df: DataFrame, post: Plan): Promise<DataFrame> {
  if (!post.orderBy) return df.query().run(post);
  const { orderBy, select, limit, offset, ...pre } = post;
  const mid = (pre.filter === undefined && named(df, pre.derive)) || (await df.query().run(pre));
  const sorted = inOrder(mid, orderBy.map(sortKey));
  const rest = Object.fromEntries(
    Object.entries({ select, orderBy: sorted ? undefined : orderBy, limit, offset }).filter(([, v]) => v !== undefined),
  ) as Plan;
  if (rest.orderBy || rest.limit !== undefined || rest.offset !== undefined) return mid.query().run(rest);
  if (!select) return mid;
  const at = select.map((n) => mid.fields.findIndex((f) => f.name === n));
  if (at.some((i) => i < 0)) return mid.query().run(rest);
  return DataFrame.fromFields(
    at.map((i) => mid.fields[i]!),
    at.map((i) => mid.columns[i]!),
  );
}

/**
 * `df` with the derived columns added when each only names a column of `df` (stage 2 of a GROUP BY
 * selects group keys and aggregates so): the same columns under a second name, without evaluating
 * anything. Undefined when some derived column computes.
 */
function named(df: DataFrame, derive: Plan['derive']): DataFrame | undefined {
  if (!derive?.length) return df;
  const fields = [...df.fields];
  const columns = [...df.columns];
  for (const d of derive) {
    const e = d.expr as { op?: unknown; name?: unknown };
    const i = e.op === 'col' && Object.keys(e).length === 2 ? df.fields.findIndex((f) => f.name === e.name) : -1;
    if (i < 0) return undefined;
    fields.push({ name: d.name, type: df.fields[i]!.type });
    columns.push(df.columns[i]!);
  }
  return DataFrame.fromFields(fields, columns);
}

/** Whether every row of `df` is at or after the previous one in the order of `keys`. */
function inOrder(df: DataFrame, keys: readonly SortKey[]): boolean {
  const cols = keys.map((k) => df.column(k.col));
  let prev = cols.map((c) => c.get(0));
  for (let i = 1; i < df.nrows; i++) {
    const cur = cols.map((c) => c.get(i));
    if (compareRows(prev, cur, keys) > 0) return false;
    prev = cur;
  }
  return true;
}
