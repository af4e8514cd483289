// Named windows, `WINDOW w AS (...)` and `OVER w` / `OVER (w ORDER BY ...)` (dataframe/sql/window-clause.ts):
// the rewrite before parsing, at the statement's length, never inside a string, a quoted name or a
// comment; errors pointing at the name; and random statements naming windows (several definitions,
// one built on another, frames, a subquery, GROUP BY) checked against DuckDB on seeded random frames
// with nulls, over a MemoryStore, a FakeCluster and frames in memory. Windows order by a unique key
// last, so that ROWS frames, row_number and lag do not depend on how ties are broken.
// A failure prints the seed; EAU2_TEST_SEED=<seed> (and EAU2_TEST_QUERY=<n>) replays.

import { describe, expect, it, onTestFailed } from 'vitest';
import type { Rng } from '../../app/apps/random.js';
import { DataFrame } from '../../dataframe/index.js';
import { Eau2Error } from '../../kv/index.js';
import { namedWindows } from '../../dataframe/sql/window-clause.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckDifferential, SEED, type Statement } from './duck-differential.js';

const QUERIES = 80;
const ROWS = 70;

describe('namedWindows', () => {
  it('blanks out the WINDOW clause and the names after OVER, at the text length', () => {
    const sql =
      "SELECT sum(x) OVER w, rank() OVER (w2 ORDER BY x) FROM t WHERE s = 'OVER w' WINDOW w AS (PARTITION BY g), w2 AS (w ROWS 1 PRECEDING) ORDER BY 1";
    const { text, bodies, defs, refs } = namedWindows(sql);
    expect(text.length).toBe(sql.length);
    expect(bodies.length).toBe(sql.length);
    const clause = sql.slice(sql.indexOf('WINDOW'), sql.indexOf(' ORDER BY 1'));
    expect(text).toBe(
      sql.replace('OVER w,', 'OVER(),').replace('(w2 ORDER', '(   ORDER').replace(clause, ' '.repeat(clause.length)),
    );
    expect(bodies).toBe(
      sql.replace('OVER w,', 'OVER(),').replace('(w2 ORDER', '(   ORDER').replace('(w ROWS', '(  ROWS'),
    );
    expect(defs.map((d) => [d.name, sql.slice(d.open, d.close + 1), d.base?.name])).toEqual([
      ['w', '(PARTITION BY g)', undefined],
      ['w2', '(w ROWS 1 PRECEDING)', 'w'],
    ]);
    expect(refs.map((r) => [r.name, r.bare, sql.slice(r.over, r.over + 4), r.start])).toEqual([
      ['w', true, 'OVER', sql.indexOf('w,')],
      ['w2', false, 'OVER', sql.indexOf('w2 ORDER')],
    ]);
    expect(new Set(defs.map((d) => d.scope))).toEqual(new Set(refs.map((r) => r.scope)));
  });

  it.each([
    "SELECT 'OVER w WINDOW w AS (ORDER BY x)' AS s",
    'SELECT 1 AS "OVER w", 2 AS "window w as (x)"',
    'SELECT 1 -- OVER w WINDOW w AS (ORDER BY x)\n',
    'SELECT 1 /* OVER w /* nested */ WINDOW w AS (ORDER BY x) */',
    'SELECT $$OVER w$$, $q$ WINDOW w AS (x) $q$',
    'SELECT window, overall FROM t',
    'SELECT sum(x) OVER (PARTITION BY g), count(*) OVER (ORDER BY x ROWS 1 PRECEDING) FROM t',
  ])('leaves %j alone', (sql) => {
    expect(namedWindows(sql)).toEqual({ text: sql, bodies: sql, defs: [], refs: [] });
  });

  it('looks a name up in the SELECT that holds it: its subquery and its branch of a UNION', () => {
    const sql =
      'SELECT sum(x) OVER w FROM (SELECT x, rank() OVER w FROM t WINDOW w AS (ORDER BY x)) q WINDOW w AS (ORDER BY y) UNION SELECT 1 OVER w FROM u';
    const { defs, refs } = namedWindows(sql);
    expect(defs.map((d) => d.scope)).toEqual([refs[1]!.scope, refs[0]!.scope]);
    expect(new Set(refs.map((r) => r.scope)).size).toBe(3);
  });
});

describe('named windows: errors', () => {
  const store = new MemoryStore();
  const frames = {
    t: DataFrame.fromRows('id:I,g:S,x:I', [
      [1, 'a', 10],
      [2, 'a', 20],
    ]),
  };
  it.each([
    [
      'SELECT sum(x) OVER v FROM t WINDOW w AS (ORDER BY x)',
      'v FROM',
      'no window named v (the WINDOW clause defines w)',
    ],
    ['SELECT sum(x) OVER w FROM t', 'w FROM', 'no window named w: define it in a WINDOW clause of its SELECT'],
    [
      'SELECT sum(x) OVER w FROM (SELECT x FROM t WINDOW w AS (ORDER BY x)) q',
      'w FROM',
      'no window named w: define it',
    ],
    ['SELECT 1 FROM t WINDOW w AS (ORDER BY x), w AS (ORDER BY id)', 'w AS (ORDER BY id)', 'window w is defined twice'],
    [
      'SELECT sum(x) OVER (w ORDER BY id) FROM t WINDOW w AS (ORDER BY x)',
      'w ORDER',
      'cannot override the ORDER BY of window w',
    ],
    [
      'SELECT sum(x) OVER (w PARTITION BY id) FROM t WINDOW w AS (ORDER BY x)',
      'w PARTITION',
      'cannot override the PARTITION BY',
    ],
    [
      'SELECT sum(x) OVER (w) FROM t WINDOW w AS (ORDER BY x ROWS 1 PRECEDING)',
      'w)',
      'cannot copy window w, which has a frame',
    ],
    [
      'SELECT 1 FROM t WINDOW a AS (b), b AS (ORDER BY x)',
      'b), b',
      'window b is defined after a: a window definition names only those before it',
    ],
    ['SELECT 1 FROM t WINDOW a AS (a ORDER BY x)', 'a ORDER', 'window a is defined after a'],
    ['SELECT 1 FROM t WINDOW a AS (c ORDER BY x)', 'c ORDER', 'no window named c'],
    ['SELECT sum(x) OVER w FROM t WINDOW w AS (ORDER BY x +)', ')', 'SQL syntax error: unexpected ")"'],
  ])('%s', async (sql, at, msg) => {
    const err = await DataFrame.sql(store, sql, { frames }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Eau2Error);
    expect((err as Error).message).toContain(msg);
    expect((err as Eau2Error).details).toMatchObject({ offset: sql.lastIndexOf(at) });
  });

  it('names a result column by the text as written', async () => {
    const df = await DataFrame.sql(
      store,
      'SELECT id, sum(x) OVER win, rank() OVER (w2 ORDER BY x) FROM t WINDOW win AS (ORDER BY id), w2 AS () ORDER BY id',
      { frames },
    );
    expect(df.fields.map((f) => f.name)).toEqual(['id', 'sum(x) OVER win', 'rank() OVER (w2 ORDER BY x)']);
    expect([...df.rows()]).toEqual([
      [1, 10, 1],
      [2, 30, 2],
    ]);
  });
});

interface Def {
  name: string;
  part: string;
  order: string;
  frame: string;
  base?: Def;
}

const FRAMES = [
  'ROWS 1 PRECEDING',
  'ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING',
  'ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING',
];
const ORDERS = ['id', 'id DESC', 'k, id', 'x DESC, id', 'g, id DESC'];
const PARTS = ['g', 'k', 'g, k', 'i % 3'];

/** A window function: the aggregates take a frame, the others none; those that read the order need one. */
function call(rng: Rng, framed: boolean, ordered: boolean): string {
  const aggs = ['sum(x)', 'count(x)', 'avg(i)', 'count(*)', 'min(g)', 'max(x)'];
  const values = ['first_value(x)', 'last_value(i)'];
  const ranks = ['row_number()', 'rank()', 'dense_rank()', 'lag(x)', 'lead(g, 2)', 'ntile(3)'];
  return rng.pick(!ordered ? aggs : framed ? [...aggs, ...values] : [...aggs, ...values, ...ranks]);
}

interface Spec {
  part: string;
  order: string;
  frame: string;
}

const specText = (w: Spec): string =>
  [w.part && `PARTITION BY ${w.part}`, w.order && `ORDER BY ${w.order}`, w.frame].filter(Boolean).join(' ');

/**
 * A statement naming windows, and for DuckDB the same with each window written out where a
 * definition names another: DuckDB 1.5 drops the PARTITION BY of a window copied through another
 * (`WINDOW a AS (PARTITION BY g), b AS (a ORDER BY id)`, then `OVER (b)`).
 */
function statement(rng: Rng): Statement {
  const defs: Def[] = [];
  const n = rng.int(1, 3);
  for (let k = 0; k < n; k++) {
    const base = defs.find((d) => !d.order && !d.frame && rng.bool(0.5));
    const part = base ? '' : rng.bool(0.6) ? rng.pick(PARTS) : '';
    const order = base || rng.bool(0.8) ? rng.pick(ORDERS) : '';
    const frame = order && rng.bool(0.3) ? rng.pick(FRAMES) : '';
    defs.push({ name: rng.pick(['w', 'win', 'w_']) + k, part, order, frame, base });
  }
  const body = (d: Def): string => [d.base?.name, specText(d)].filter(Boolean).join(' ');
  // What a window amounts to: its chain of bases written out.
  const whole = (d: Def): Spec =>
    d.base ? { ...whole(d.base), ...(d.order ? { order: d.order } : {}), frame: d.frame } : d;
  const items: string[] = [];
  const inlined: string[] = [];
  const m = rng.int(1, 4);
  for (let k = 0; k < m; k++) {
    const d = rng.pick(defs);
    const w = whole(d);
    const has = w.frame !== '';
    // `OVER w`; `OVER (w)` and `(w ORDER BY ...)` or `(w frame)` where SQL lets a window be copied.
    let over: string;
    let spec: Spec = w;
    const r = rng.next();
    if (has || r < 0.4) over = d.name;
    else if (!w.order) {
      spec = { ...w, order: rng.pick(ORDERS) };
      over = `(${d.name} ORDER BY ${spec.order})`;
    } else if (r < 0.65) {
      spec = { ...w, frame: rng.pick(FRAMES) };
      over = `(${d.name} ${spec.frame})`;
    } else over = `(${d.name})`;
    const c = call(rng, spec.frame !== '', spec.order !== '');
    items.push(`${c} OVER ${over} AS c${k}`);
    inlined.push(`${c} OVER (${specText(spec)}) AS c${k}`);
  }
  const where = rng.bool(0.3) ? " WHERE g IS NOT NULL OR g = 'OVER w0'" : '';
  const clause = ` WINDOW ${defs.map((d) => `${d.name} AS (${body(d)})`).join(', ')}`;
  const comment = rng.bool(0.2) ? ' /* WINDOW w0 AS (ORDER BY x) */' : '';
  const sub = rng.bool(0.2);
  const select = (cols: string[], window: string): string => {
    const inner = `SELECT id, ${cols.join(', ')} FROM t${where}${comment}${window}`;
    return sub ? `SELECT * FROM (${inner}) q WHERE id % 2 = 0` : inner;
  };
  const text = select(items, clause);
  return defs.some((d) => d.base) ? { text, duck: select(inlined, '') } : text;
}

const norm = (v: unknown): unknown =>
  typeof v === 'bigint' ? Number(v) : typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(12)) : v;
const sorted = (rows: unknown[][]): string[] => rows.map((r) => JSON.stringify(r.map(norm))).sort();

const duck = duckDifferential('eau2-sql-window-clause-', (rng) => ({
  t: DataFrame.fromRows(
    'id:I,g:S,k:I,x:D,i:I',
    Array.from({ length: ROWS }, (_, id) => [
      id,
      rng.bool(0.15) ? null : rng.pick(['a', 'b', 'c']),
      rng.bool(0.15) ? null : rng.int(0, 5),
      rng.bool(0.2) ? null : rng.int(-40, 40) / 4,
      rng.bool(0.2) ? null : rng.int(-9, 9),
    ]),
  ),
}));

describe('named windows, against DuckDB', () => {
  it(`answers ${QUERIES} random statements naming windows as DuckDB does`, async () => {
    onTestFailed(() =>
      console.error(`[sql-window-clause] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
    );
    const failures = await duck.run(QUERIES, statement, (_, rows) => sorted(rows));
    expect(failures.slice(0, 6).join('\n\n'), `${failures.length} of ${QUERIES} queries differ`).toBe('');
  });

  it('runs a named window over groups, as DuckDB does', async () => {
    const text =
      'SELECT g, sum(x) AS s, rank() OVER w AS r, sum(sum(x)) OVER (w ROWS UNBOUNDED PRECEDING) AS c FROM t GROUP BY g WINDOW w AS (ORDER BY g NULLS FIRST)';
    const want = sorted((await duck.con().runAndReadAll(text)).getRows());
    for (const [name, store] of duck.stores) {
      const df = await DataFrame.sql(store, text, name === 'frames' ? { frames: duck.given } : {});
      expect(sorted([...df.rows()]), name).toEqual(want);
    }
  });
});
