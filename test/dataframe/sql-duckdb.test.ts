// eau2's SQL against DuckDB's, differentially: seeded random tables of every column type (nulls in
// each, int64 values past 2^53, timestamps before and after 1970, empty strings, NaN) are stored in small
// chunks in a MemoryStore and in a FakeCluster (so nodes push work down, send partial results
// through msgpack and the client merges them) and loaded into DuckDB; random SELECTs from the
// grammar in sql-fuzz-gen.ts run on all three, and the results must agree: in order when ORDER BY
// makes the order total, else as multisets; doubles to a relative 1e-9, int64, timestamps and dates
// exactly (DuckDB converts its own to microseconds and days in SQL). Some statements are run as a
// part of another (WITH, a subquery in FROM, UNION [ALL]), some compare with a scalar subquery in
// WHERE. A failure prints the seed, the query's number and both statements; EAU2_TEST_SEED=<seed> replays the run (EAU2_TEST_QUERY=<n>
// runs one query of it).

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { DataFrame, type Value } from '../../dataframe/index.js';
import type { KvStore } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { FakeCluster } from './fake-cluster.js';
import { type Col, duckOut, Gen, isoDate, isoTs, type Samples, type Ty, type X } from './sql-fuzz-gen.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);
const ONLY = process.env.EAU2_TEST_QUERY === undefined ? undefined : Number(process.env.EAU2_TEST_QUERY);
const QUERIES = 300;
const FACT_ROWS = 3000;
const DIM_ROWS = 40;

const FACT: Col[] = [
  { name: 'id', t: 'I' },
  { name: 'i', t: 'I' },
  { name: 'k', t: 'I', low: true },
  { name: 'x', t: 'D' },
  { name: 's', t: 'S', low: true },
  { name: 'w', t: 'S' },
  { name: 'b', t: 'B', low: true },
  { name: 'l', t: 'L' },
  { name: 't', t: 'T' },
  { name: 'dt', t: 'd' },
];
const DIM: Col[] = [
  { name: 'gid', t: 'I' },
  { name: 'gk', t: 'I', low: true },
  { name: 'gs', t: 'S', low: true },
  { name: 'gx', t: 'D' },
  { name: 'gb', t: 'B', low: true },
  { name: 'gl', t: 'L' },
];
/** A second dimension, for chains of joins (f JOIN g JOIN h). */
const HDIM: Col[] = [
  { name: 'hid', t: 'I' },
  { name: 'hk', t: 'I', low: true },
  { name: 'hs', t: 'S', low: true },
  { name: 'hx', t: 'D' },
];
const HDIM_ROWS = 24;
const WORDS = ['alpha', 'beta', 'Gamma', '', 'delta ', 'eps'];
/** The dimension's keys: the fact's words and as many more, so a join on them matches a few rows each. */
const DIM_WORDS = [...WORDS, 'zeta', 'eta', 'theta', 'iota', 'kappa', 'mu'];
const DUCK_TYPE: Record<Ty, string> = {
  I: 'INTEGER',
  D: 'DOUBLE',
  S: 'VARCHAR',
  B: 'BOOLEAN',
  L: 'BIGINT',
  T: 'TIMESTAMP',
  d: 'DATE',
};

/** A random cell of a column, in eau2's representation (T: bigint µs, d: days). */
/**
 * How many int64 cells past 2^53 a table may still get: 40 of at most 2^57 and 40 next to 2^55 keep
 * any sum of a column (2^63 > 40 * 2^57 + 40 * (2^55 + 40) + 3000 * 5000) inside the int64 range.
 */
let bigLeft = { huge: 0, near: 0 };

function cell(rng: Rng, c: Col, row: number): Value {
  if (c.name === 'id' || c.name === 'gid' || c.name === 'hid') return row;
  if (rng.bool(0.1)) return null;
  switch (c.t) {
    case 'I':
      return c.low ? rng.int(0, 45) : rng.int(-1000, 1000);
    case 'D':
      // Eighths, so sums are exact in any order; a few NaN (compared and sorted above every number).
      return rng.bool(0.01) ? Number.NaN : rng.int(-100_000, 100_000) / 8;
    case 'S':
      if (c.name === 'gs' || c.name === 'hs') return rng.pick(DIM_WORDS);
      return c.low ? rng.pick(WORDS) : rng.word(rng.int(0, 5));
    case 'B':
      return rng.bool();
    case 'L':
      // Mostly small; some past 2^53, some next to 2^55, where neighbours round to one double (a
      // top-k compares doubles first).
      if (bigLeft.near > 0 && rng.bool(0.02)) {
        bigLeft.near--;
        return (rng.bool() ? 1n : -1n) * (2n ** 55n + BigInt(rng.int(0, 40)));
      }
      if (bigLeft.huge > 0 && rng.bool(0.02)) {
        bigLeft.huge--;
        return BigInt(rng.int(-(2 ** 20) + 1, 2 ** 20 - 1)) * 2n ** 37n + BigInt(rng.int(0, 2 ** 30));
      }
      return BigInt(rng.int(-5000, 5000));
    case 'T': {
      // 1901..2099, whole seconds or with microseconds.
      const sec = rng.int(-2_177_000_000, 4_000_000_000);
      return BigInt(sec) * 1_000_000n + (rng.bool() ? BigInt(rng.int(0, 999_999)) : 0n);
    }
    case 'd':
      return rng.int(-25_000, 47_000);
  }
}

function table(rng: Rng, cols: Col[], n: number): Value[][] {
  bigLeft = { huge: 40, near: 40 };
  return Array.from({ length: n }, (_, r) => cols.map((c) => cell(rng, c, r)));
}

function duckLiteral(t: Ty, v: Value): string {
  if (v === null) return 'NULL';
  if (t === 'S') return `'${String(v).replace(/'/g, "''")}'`;
  if (t === 'T') return `make_timestamp(${v}::BIGINT)`;
  if (t === 'd') return `(DATE '1970-01-01' + ${v}::INTEGER)`;
  if (t === 'D') return Number.isNaN(v) ? `'NaN'::DOUBLE` : `${v}::DOUBLE`;
  return String(v);
}

async function loadDuck(con: DuckDBConnection, name: string, cols: Col[], rows: Value[][]): Promise<void> {
  await con.run(`CREATE TABLE ${name} (${cols.map((c) => `${c.name} ${DUCK_TYPE[c.t]}`).join(', ')})`);
  for (let at = 0; at < rows.length; at += 500) {
    const vals = rows.slice(at, at + 500).map((r) => `(${r.map((v, k) => duckLiteral(cols[k]!.t, v)).join(', ')})`);
    await con.run(`INSERT INTO ${name} VALUES ${vals.join(',\n')}`);
  }
}

interface Stmt {
  eau: string;
  duck: string;
  /** The output columns' types, to compare cells by kind. */
  types: Ty[];
  ordered: boolean;
}

/** A literal sorts or groups nothing, and SQL reads an integer one as a SELECT position: no such key. */
const isLiteral = (e: X): boolean => /^-?[\d.']|^CAST\(-?\d|^(TRUE|FALSE)$/.test(e.eau);

const dir = (rng: Rng): string =>
  `${rng.pick(['', ' ASC', ' DESC'])}${rng.pick(['', '', ' NULLS FIRST', ' NULLS LAST'])}`;

function limitClause(rng: Rng): string {
  let s = '';
  if (rng.bool(0.5)) s += ` LIMIT ${rng.int(0, 40)}`;
  if (rng.bool(0.3)) s += ` OFFSET ${rng.int(0, 20)}`;
  return s;
}

/** One random statement: a row query, DISTINCT, GROUP BY, or window query, over f, a join, or a semi join. */
function statement(rng: Rng, samples: Samples): Stmt {
  const from = rng.pick(['plain', 'plain', 'plain', 'join', 'semi', 'join3'] as const);
  let fromEau = 'f';
  let fromDuck = 'f';
  let cols = FACT;
  let semi: X | undefined;
  const uniq = ['id'];
  if (from === 'join') {
    const how = rng.pick(['JOIN', 'INNER JOIN', 'LEFT JOIN', 'RIGHT JOIN']);
    const on = rng.pick(['f.k = g.gk', 'f.s = g.gs', 'g.gk = f.k', 'f.k = g.gk AND f.s = g.gs']);
    fromEau = fromDuck = `f ${how} g ON ${on}`;
    cols = [...FACT, ...DIM];
    uniq.push('gid');
  } else if (from === 'join3') {
    // A chain: the first join runs as a part of its own, the second over its rows.
    const how = rng.pick(['JOIN', 'LEFT JOIN']);
    const how2 = rng.pick(['JOIN', 'LEFT JOIN', 'RIGHT JOIN']);
    const on2 = rng.pick(['g.gs = h.hs', 'f.k = h.hk', 'h.hs = f.s AND h.hk = g.gk']);
    fromEau = fromDuck = `f ${how} g ON f.k = g.gk ${how2} h ON ${on2}`;
    cols = [...FACT, ...DIM, ...HDIM];
    uniq.push('gid', 'hid');
  } else if (from === 'semi') {
    const s = rng.pick([
      'EXISTS (SELECT 1 FROM g WHERE g.gk = f.k)',
      'NOT EXISTS (SELECT 1 FROM g WHERE g.gk = f.k)',
      'EXISTS (SELECT gid FROM g WHERE f.s = g.gs)',
      'NOT EXISTS (SELECT 1 FROM g WHERE g.gk = f.k AND g.gs = f.s)',
      'k IN (SELECT gk FROM g)',
      's IN (SELECT gs FROM g)',
    ]);
    semi = { eau: s, duck: s, t: 'B' };
  }
  const gen = new Gen(rng, cols, samples);
  const whereX = rng.bool(0.6) ? gen.bool(2) : undefined;
  const scalar = rng.bool(0.15) ? scalarTerm(rng) : undefined;
  const conds = [semi, whereX, scalar].filter((c): c is X => c !== undefined);
  const where = (side: 'eau' | 'duck'): string =>
    conds.length ? ` WHERE ${conds.map((c) => (conds.length > 1 ? `(${c[side]})` : c[side])).join(' AND ')}` : '';
  const anyType = (): Ty => rng.pick(['I', 'D', 'S', 'B', 'L', 'T', 'd'] as const);
  const shape = rng.pick(['row', 'row', 'distinct', 'group', 'group', 'group', 'window'] as const);

  if (shape === 'row' || shape === 'window') {
    let items: X[];
    let starEau = false;
    if (shape === 'row' && rng.bool(0.1)) {
      items = cols.map((c) => ({ eau: c.name, duck: c.name, t: c.t }));
      starEau = true;
    } else items = Array.from({ length: rng.int(1, 4) }, () => gen.expr(anyType(), 2));
    if (shape === 'window') {
      items.unshift({ eau: 'id', duck: 'id', t: 'I' });
      for (let n = rng.int(1, 2); n > 0; n--) items.push(windowItem(rng, gen, uniq));
    }
    const ordered = rng.bool(0.6);
    let order = { eau: '', duck: '' };
    if (ordered) {
      const keys = Array.from({ length: rng.int(0, 2) }, () => ({ k: gen.expr(anyType(), 1), d: dir(rng) })).filter(
        (k) => !isLiteral(k.k),
      );
      const ties = uniq.map((u) => u + dir(rng));
      const lim = limitClause(rng);
      const by = (side: 'eau' | 'duck') => [...keys.map((k) => k.k[side] + k.d), ...ties].join(', ');
      order = { eau: ` ORDER BY ${by('eau')}${lim}`, duck: ` ORDER BY ${by('duck')}${lim}` };
    }
    return {
      eau: `SELECT ${starEau ? '*' : items.map((i) => i.eau).join(', ')} FROM ${fromEau}${where('eau')}${order.eau}`,
      duck: `SELECT ${items.map(duckOut).join(', ')} FROM ${fromDuck}${where('duck')}${order.duck}`,
      types: items.map((i) => i.t),
      ordered,
    };
  }

  if (shape === 'distinct') {
    const items = Array.from({ length: rng.int(1, 3) }, () => {
      const c = gen.col(rng.pick(['I', 'S', 'B'] as const), true);
      return c && rng.bool(0.7) ? c : gen.expr(rng.pick(['I', 'S', 'B', 'd'] as const), 1);
    });
    const ordered = rng.bool(0.5);
    const tail = ordered ? ` ORDER BY ${items.map((_, k) => `${k + 1}${dir(rng)}`).join(', ')}${limitClause(rng)}` : '';
    return {
      eau: `SELECT DISTINCT ${items.map((i) => i.eau).join(', ')} FROM ${fromEau}${where('eau')}${tail}`,
      duck: `SELECT DISTINCT ${items.map(duckOut).join(', ')} FROM ${fromDuck}${where('duck')}${tail}`,
      types: items.map((i) => i.t),
      ordered,
    };
  }

  // GROUP BY: keys (by position or repeated), aggregates, maybe expressions over them, HAVING.
  const keys = Array.from({ length: rng.int(0, 2) }, () => {
    const c = gen.col(rng.pick(['I', 'S', 'B'] as const), true);
    return c && rng.bool(0.6) ? c : gen.expr(rng.pick(['I', 'S', 'B', 'd', 'L', 'D', 'T'] as const), 1);
  }).filter((k) => !isLiteral(k));
  const aggs = Array.from({ length: rng.int(1, 4) }, () => aggItem(rng, gen, from === 'join' || from === 'join3'));
  // An expression over a key (SQL allows it over a grouped value).
  const overKey = keys
    .filter(() => rng.bool(0.3))
    .map((k): X => {
      if (k.t === 'S') return { eau: `lower(${k.eau})`, duck: `lower(${k.duck})`, t: 'S' };
      if (k.t === 'I') return { eau: `${k.eau} * 2`, duck: `${k.duck} * 2`, t: 'D' };
      return { eau: `(${k.eau}) IS NULL`, duck: `(${k.duck}) IS NULL`, t: 'B' };
    });
  // A window over the groups (computed after grouping), ordered so that its answer is determined:
  // the keys are unique per group.
  const overGroups: X[] = [];
  if (keys.length > 0 && rng.bool(0.25)) {
    const dirs = keys.map(() => dir(rng));
    const byKeys = (side: 'eau' | 'duck') => keys.map((k, n) => k[side] + dirs[n]).join(', ');
    const ks = { eau: byKeys('eau'), duck: byKeys('duck') };
    overGroups.push(
      rng.pick([
        { eau: 'rank() OVER (ORDER BY count(*) DESC)', duck: 'rank() OVER (ORDER BY count(*) DESC)', t: 'I' as Ty },
        { eau: 'dense_rank() OVER (ORDER BY count(*))', duck: 'dense_rank() OVER (ORDER BY count(*))', t: 'I' as Ty },
        {
          eau: `row_number() OVER (ORDER BY ${ks.eau})`,
          duck: `row_number() OVER (ORDER BY ${ks.duck})`,
          t: 'I' as Ty,
        },
        {
          eau: `sum(count(*)) OVER (ORDER BY ${ks.eau})`,
          duck: `sum(count(*)) OVER (ORDER BY ${ks.duck})`,
          t: 'D' as Ty,
        },
        { eau: 'count(*) OVER ()', duck: 'count(*) OVER ()', t: 'I' as Ty },
      ]),
    );
  }
  const items = [...keys, ...aggs, ...overKey, ...overGroups];
  const byPos = rng.bool();
  // DuckDB's SELECT item is the key converted to microseconds or days: it groups by the expression.
  const groupBy = (side: 'eau' | 'duck'): string =>
    keys.length
      ? ` GROUP BY ${keys.map((k, n) => (byPos && side === 'eau' ? String(n + 1) : k[side])).join(', ')}`
      : '';
  // HAVING only with GROUP BY: pgsql-ast-parser, eau2's SQL parser, reads no HAVING without one.
  const having =
    keys.length > 0 && rng.bool(0.3)
      ? rng.pick([
          `count(*) > ${rng.int(0, 80)}`,
          `min(i) < ${rng.int(-900, 0)}`,
          `sum(k) >= ${rng.int(0, 3000)}`,
          'bool_or(b)',
          `max(s) <> 'beta'`,
        ])
      : undefined;
  const hv = having ? ` HAVING ${having}` : '';
  const ordered = keys.length > 0 && rng.bool(0.5);
  // The keys make the order total; an aggregate (exact: a count) may sort first.
  const first = rng.bool(0.4) ? [`count(*)${dir(rng)}`] : [];
  const tail = ordered
    ? ` ORDER BY ${[...first, ...keys.map((_, k) => `${k + 1}${dir(rng)}`)].join(', ')}${limitClause(rng)}`
    : '';
  return {
    eau: `SELECT ${items.map((i) => i.eau).join(', ')} FROM ${fromEau}${where('eau')}${groupBy('eau')}${hv}${tail}`,
    duck: `SELECT ${items.map(duckOut).join(', ')} FROM ${fromDuck}${where('duck')}${groupBy('duck')}${hv}${tail}`,
    types: items.map((i) => i.t),
    ordered,
  };
}

/**
 * A column compared with a scalar subquery (run first, its value put in the statement as a literal):
 * of each type, over f itself or over g, sometimes over no row (null). The aggregates are exact, so
 * the value is DuckDB's to the bit.
 */
function scalarTerm(rng: Rng): X {
  const n = rng.int(-2, 6);
  const op = rng.pick(['=', '<>', '<', '<=', '>', '>=']);
  const [col, sub] = rng.pick([
    ['i', `(SELECT max(gk) * 100 FROM g WHERE gk < ${n})`],
    ['k', `(SELECT min(gk) FROM g WHERE gs <> 'beta')`],
    ['i', `(SELECT min(i) FROM f WHERE k = ${n})`],
    ['k', `(SELECT gk FROM g WHERE gid = ${rng.int(-3, 3)})`],
    ['x', `(SELECT max(gx) FROM g WHERE gk = ${n})`],
    ['x', `(SELECT min(x) FROM f WHERE k > ${n} AND b)`],
    ['s', `(SELECT max(gs) FROM g WHERE gk > ${n})`],
    ['w', `(SELECT min(w) FROM f WHERE k = ${n})`],
    ['l', `(SELECT max(l) FROM f WHERE k = ${n})`],
    ['l', `(SELECT min(gl) FROM g)`],
    ['t', `(SELECT max(t) FROM f WHERE k = ${n})`],
    ['dt', `(SELECT min(dt) FROM f WHERE k < ${n})`],
    ['b', `(SELECT bool_or(gb) FROM g WHERE gk = ${n})`],
  ] as const);
  const e = `${col} ${op} ${sub}`;
  return { eau: e, duck: e, t: 'B' };
}

/**
 * A statement as a part of another, now and then (the WITH, subquery and UNION paths compute the part
 * first and query its rows): read whole, counted, or stacked on itself with UNION ALL or UNION. The
 * generated statements' rows are a deterministic multiset (a LIMIT comes only with a total order),
 * but SQL keeps no order through a part, so the outer result is compared as a multiset.
 */
function derived(rng: Rng, st: Stmt): Stmt {
  const kind = rng.pick(['none', 'none', 'none', 'none', 'with', 'sub', 'count', 'union all', 'union'] as const);
  const wrap = (f: (x: string) => string): Stmt => ({ ...st, eau: f(st.eau), duck: f(st.duck), ordered: false });
  switch (kind) {
    case 'none':
      return st;
    case 'with':
      return wrap((x) => `WITH q AS (${x}) SELECT * FROM q`);
    case 'sub':
      return wrap((x) => `SELECT * FROM (${x}) q`);
    case 'count':
      return { ...wrap((x) => `SELECT count(*) FROM (${x}) q`), types: ['I'] };
    default: {
      // UNION compares rows: a double DuckDB computes in parallel (a variance, an average) may differ
      // in its last bits between the two branches, which DuckDB then keeps as two rows.
      const k = kind === 'union' && st.types.includes('D') ? 'UNION ALL' : kind.toUpperCase();
      return wrap((x) => `SELECT * FROM (${x}) a ${k} SELECT * FROM (${x}) b`);
    }
  }
}

function aggItem(rng: Rng, gen: Gen, joined: boolean): X {
  const any = (): X => gen.expr(rng.pick(['I', 'D', 'S', 'B', 'L', 'T', 'd'] as const), 1);
  const numeric = (): X => gen.expr(rng.pick(['I', 'D'] as const), 1);
  let a = rng.pick([
    (): X => ({ eau: 'count(*)', duck: 'count(*)', t: 'I' }),
    (): X => {
      const v = any();
      return { eau: `count(${v.eau})`, duck: `count(${v.duck})`, t: 'I' };
    },
    (): X => {
      const v = any();
      return { eau: `count(DISTINCT ${v.eau})`, duck: `count(DISTINCT ${v.duck})`, t: 'I' };
    },
    (): X => {
      // An int64 sum outside the int64 range is an error in eau2 (docs: "a total outside the int64
      // range is INVALID"), a HUGEINT in DuckDB: the fact's int64s are drawn so that their sum
      // cannot leave it, but a join repeats a row as often as it matches, so not over a join.
      const v = !joined && rng.bool(0.3) ? gen.expr('L', 1) : numeric();
      return { eau: `sum(${v.eau})`, duck: `sum(${v.duck})`, t: v.t === 'L' ? 'L' : 'D' };
    },
    (): X => {
      const v = rng.bool(0.2) ? gen.expr('L', 1) : numeric();
      return { eau: `avg(${v.eau})`, duck: `avg(${v.duck})`, t: 'D' };
    },
    (): X => {
      const v = any();
      const f = rng.pick(['min', 'max']);
      return { eau: `${f}(${v.eau})`, duck: `${f}(${v.duck})`, t: v.t };
    },
    // any_value is one of the group's non-null values, which one unspecified: eau2 gives the least.
    (): X => {
      const v = any();
      return { eau: `any_value(${v.eau})`, duck: `min(${v.duck})`, t: v.t };
    },
    (): X => {
      const v = numeric();
      const [f, g] = rng.pick([
        ['stddev', 'stddev_samp'],
        ['variance', 'var_samp'],
      ]);
      // Over values holding NaN or ±Infinity, PostgreSQL's (and eau2's) answer is NaN; DuckDB 1.5
      // fails with "out of range", so it is asked for PostgreSQL's answer.
      const nan = `NOT isfinite(CAST(${v.duck} AS DOUBLE))`;
      return {
        eau: `${f}(${v.eau})`,
        duck: `CASE WHEN count(${v.duck}) < 2 THEN NULL WHEN bool_or(${nan}) THEN 'NaN'::DOUBLE ELSE ${g}(${v.duck}) FILTER (WHERE NOT ${nan}) END`,
        t: 'D',
      };
    },
    (): X => {
      const v = gen.bool(1);
      const f = rng.pick(['bool_or', 'bool_and']);
      return { eau: `${f}(${v.eau})`, duck: `${f}(${v.duck})`, t: 'B' };
    },
    // eau2's median is percentile_disc (DuckDB's median interpolates), exact while it counts at most
    // 1,024 distinct values: k has 46.
    (): X => ({ eau: 'median(k)', duck: 'quantile_disc(k, 0.5)', t: 'I' }),
    // The SQL standard's spelling, either way round, exact as median's is. DuckDB 1.5 answers a
    // fraction of 0 over a DESC order with the least value, where PostgreSQL (and eau2) give the
    // first value of that order, the greatest: not asked (sql-ordered-aggs.test.ts checks eau2's).
    (): X => {
      const f = rng.pick(['percentile_disc', 'percentile_cont']);
      // A double (DuckDB reads k * 2.5 as a DECIMAL, and rounds percentile_cont to its scale).
      const [by, duckBy] = rng.pick([
        ['k', 'k'],
        ['k', 'k'],
        ['k * 2.5 - 7', 'CAST(k AS DOUBLE) * 2.5 - 7'],
      ]);
      const desc = rng.pick(['', ' ASC', ' DESC']);
      const q = rng.pick([0, 0.1, 0.25, 0.5, 0.75, 0.9, 1].filter((x) => x > 0 || !desc));
      const e = (x: string) => `${f}(${q}) WITHIN GROUP (ORDER BY ${x}${desc})`;
      return { eau: e(by!), duck: e(duckBy!), t: f === 'percentile_disc' && by === 'k' ? 'I' : 'D' };
    },
    // Ordered by the value, so both join the same strings in the same order (the words are ASCII:
    // DuckDB's byte order is eau2's UTF-16 order).
    (): X => {
      const v = rng.pick(['s', 'w', 'lower(s)']);
      const e = `string_agg(${v}, '${rng.pick([',', ' | ', ''])}' ORDER BY ${v}${rng.pick(['', ' ASC', ' DESC'])})`;
      return { eau: e, duck: e, t: 'S' };
    },
  ])();
  // FILTER (WHERE ...) on a call (not on the CASE that stands for DuckDB's stddev; pgsql-ast-parser
  // reads none after WITHIN GROUP).
  if (rng.bool(0.2) && !a.duck.startsWith('CASE') && !a.duck.includes('WITHIN GROUP')) {
    const c = gen.bool(1);
    a = { ...a, eau: `${a.eau} FILTER (WHERE ${c.eau})`, duck: `${a.duck} FILTER (WHERE ${c.duck})` };
  }
  if (a.t === 'I' && rng.bool(0.2)) return { eau: `${a.eau} * 2 + 1`, duck: `${a.duck} * 2 + 1`, t: 'D' };
  return a;
}

function windowItem(rng: Rng, gen: Gen, uniq: string[]): X {
  const part = rng.bool(0.7)
    ? rng.bool(0.7)
      ? gen.col(rng.pick(['I', 'S', 'B'] as const), true)
      : gen.expr(rng.pick(['I', 'S', 'B', 'd'] as const), 1)
    : undefined;
  const key = gen.expr(rng.pick(['I', 'D', 'S', 'T', 'd', 'L'] as const), 1);
  const d = dir(rng);
  const fn = rng.pick(['row_number', 'rank', 'dense_rank', 'lag', 'lead', 'sum', 'count', 'avg'] as const);
  // row_number, lag and lead number rows among ties: the order must be total (the unique keys break
  // ties: id, and gid over a join).
  const needsTotal = fn === 'row_number' || fn === 'lag' || fn === 'lead';
  const ordered = needsTotal || rng.bool(0.7);
  const ties = needsTotal || rng.bool(0.3) ? uniq.map((u) => `${u}${dir(rng)}`) : [];
  const over = (side: 'eau' | 'duck'): string => {
    const p = part ? `PARTITION BY ${part[side]}` : '';
    const o = ordered ? ` ORDER BY ${[`${key[side]}${d}`, ...ties].join(', ')}` : '';
    return `OVER (${p}${o})`;
  };
  const oEau = over('eau');
  const oDuck = over('duck');
  if (fn === 'lag' || fn === 'lead') {
    const v = gen.expr(rng.pick(['I', 'D', 'S', 'B', 'L', 'T', 'd'] as const), 1);
    const n = rng.bool() ? `, ${rng.int(0, 3)}` : '';
    return { eau: `${fn}(${v.eau}${n}) ${oEau}`, duck: `${fn}(${v.duck}${n}) ${oDuck}`, t: v.t };
  }
  if (fn === 'sum' || fn === 'avg' || fn === 'count') {
    const v = gen.expr(rng.pick(['I', 'D'] as const), 1);
    return { eau: `${fn}(${v.eau}) ${oEau}`, duck: `${fn}(${v.duck}) ${oDuck}`, t: 'D' };
  }
  return { eau: `${fn}() ${oEau}`, duck: `${fn}() ${oDuck}`, t: 'I' };
}

/** A cell in a comparable form: L/T/d as decimal text, I/D as numbers, the rest as they are. */
function norm(t: Ty, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (t === 'L' || t === 'T' || t === 'd') return typeof v === 'number' && !Number.isInteger(v) ? `~${v}` : String(v);
  if (t === 'I' || t === 'D') return typeof v === 'number' ? v : Number(String(v));
  if (typeof v === 'object') return String(v);
  return v;
}

const close = (a: number, b: number): boolean =>
  a === b || (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

function rowsEqual(a: unknown[], b: unknown[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((v, k) => (typeof v === 'number' && typeof b[k] === 'number' ? close(v, b[k] as number) : v === b[k]));
}

/** A sort key for multiset comparison: doubles to 6 digits, so near-equal values sort alike. */
const rowKey = (r: unknown[]): string =>
  JSON.stringify(r.map((v) => (typeof v === 'number' ? Number(v.toPrecision(6)) : v)));

/** The first difference between two results, or undefined when they agree. */
function diff(got: unknown[][], want: unknown[][], ordered: boolean): string | undefined {
  if (got.length !== want.length) return `${got.length} rows, DuckDB ${want.length}`;
  const show = (r: unknown[]): string => JSON.stringify(r);
  if (ordered) {
    const i = got.findIndex((r, k) => !rowsEqual(r, want[k]!));
    return i < 0 ? undefined : `row ${i}: ${show(got[i]!)}, DuckDB ${show(want[i]!)}`;
  }
  const sorted = (rows: unknown[][]): unknown[][] =>
    rows
      .map((r) => [rowKey(r), r] as const)
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([, r]) => r);
  const g = sorted(got);
  const w = sorted(want);
  if (g.every((r, k) => rowsEqual(r, w[k]!))) return undefined;
  // Rounding may have sorted near-equal rows apart: match each row to any equal one.
  const left = [...w];
  for (const r of g) {
    const k = left.findIndex((x) => rowsEqual(r, x));
    if (k < 0) return `row ${show(r)} is not in DuckDB's result (e.g. ${show(left[0] ?? [])})`;
    left.splice(k, 1);
  }
  return undefined;
}

let duck: DuckDBInstance;
let con: DuckDBConnection;
const stores: [string, KvStore][] = [
  ['memory', new MemoryStore()],
  ['cluster', new FakeCluster()],
];
let samples: Samples;

beforeAll(async () => {
  const rng = new Rng(SEED);
  const fact = table(rng, FACT, FACT_ROWS);
  const dim = table(rng, DIM, DIM_ROWS);
  const hdim = table(rng, HDIM, HDIM_ROWS);
  const frame = (cols: Col[], rows: Value[][]) =>
    DataFrame.fromRows(cols.map((c) => `${c.name}:${c.t}`).join(','), rows);
  for (const [, store] of stores) {
    await DataFrame.put(store, 'f', frame(FACT, fact), { chunkRows: rng.int(90, 250) });
    await DataFrame.put(store, 'g', frame(DIM, dim), { chunkRows: rng.int(8, 24) });
    await DataFrame.put(store, 'h', frame(HDIM, hdim), { chunkRows: rng.int(5, 12) });
  }
  duck = await DuckDBInstance.create(':memory:');
  con = await duck.connect();
  await loadDuck(con, 'f', FACT, fact);
  await loadDuck(con, 'g', DIM, dim);
  await loadDuck(con, 'h', HDIM, hdim);
  const of = (name: string) => fact.map((r) => r[FACT.findIndex((c) => c.name === name)]).filter((v) => v !== null);
  samples = {
    L: of('l') as bigint[],
    T: of('t') as bigint[],
    d: of('dt') as number[],
    S: [...WORDS, 'a', 'zz', 'ab'],
  };
});

afterAll(() => {
  con?.closeSync();
  duck?.closeSync();
});

describe('SQL against DuckDB', () => {
  it(`gives DuckDB's answers to ${QUERIES} random queries`, async () => {
    onTestFailed(() => console.error(`[sql-duckdb] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const failures: string[] = [];
    for (let q = 0; q < QUERIES; q++) {
      if (ONLY !== undefined && q !== ONLY) continue;
      const st = derived(
        new Rng((SEED ^ Math.imul(q + 1, 0x85ebca6b)) >>> 0),
        statement(new Rng((SEED ^ Math.imul(q + 1, 0x9e3779b1)) >>> 0), samples),
      );
      const report = (what: string) =>
        failures.push(
          `seed ${SEED} query ${q} (EAU2_TEST_SEED=${SEED} EAU2_TEST_QUERY=${q}): ${what}\n  eau2:   ${st.eau}\n  DuckDB: ${st.duck}`,
        );
      let want: unknown[][];
      try {
        want = (await con.runAndReadAll(st.duck)).getRows().map((r) => r.map((v, k) => norm(st.types[k]!, v)));
      } catch (e) {
        report(`DuckDB failed: ${(e as Error).message.split('\n')[0]}`);
        continue;
      }
      for (const [name, store] of stores) {
        let got: unknown[][];
        try {
          const df = await DataFrame.sql(store, st.eau);
          got = [...df.rows()].map((r) => r.map((v, k) => norm(st.types[k]!, v)));
        } catch (e) {
          report(`eau2 (${name}) failed: ${(e as Error).message.split('\n')[0]}`);
          break;
        }
        const d = diff(got, want, st.ordered);
        if (d) {
          report(`${name}: ${d}`);
          break;
        }
      }
    }
    expect(failures.slice(0, 10).join('\n\n'), `${failures.length} of ${QUERIES} queries differ`).toBe('');
  });
});

// isoTs and isoDate write the literals both sides read: check them against known instants.
describe('the generator', () => {
  it('writes timestamps and dates as DuckDB and eau2 read them', () => {
    expect(isoTs(-1n)).toBe('1969-12-31 23:59:59.999999');
    expect(isoTs(951_782_400_000_000n)).toBe('2000-02-29 00:00:00');
    expect(isoDate(-1)).toBe('1969-12-31');
  });
});
