// [NOT] EXISTS joined as grouped subqueries (dataframe/sql/exists-join.ts). What must hold: answers
// equal DuckDB's on random frames with NULL keys, NULL compared values, repeated keys and keys with
// no inner rows, in process and on a FakeCluster: EXISTS and NOT EXISTS with each comparison
// operator (either way round), on one or two keys or none, with and without terms on the
// subquery's own frame, two or three in one SELECT, beside comma joins and a JOIN, beside a
// correlated scalar subquery or an IN (subquery), over a WITH query or a subquery in FROM, and as
// a WITH query's statement; `SELECT *` lists the written FROM's columns only. The shapes a join
// would not answer exactly are refused naming the part. EAU2_TEST_SEED=<seed> replays a run.

import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { DataFrame, type Value } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckFixture, duckLoad } from './duck-fixture.js';
import { FakeCluster } from './fake-cluster.js';
import { failure, rowsOf } from './helpers.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);

let con: DuckDBConnection;
duckFixture('eau2-exists-', (_dir, c) => void (con = c));

const OPS = ['<>', '<', '<=', '>', '>=', '!='];

function shuffle<T>(rng: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

describe('correlated [NOT] EXISTS', () => {
  it('answers as DuckDB, joined as grouped subqueries', async () => {
    onTestFailed(() => console.error(`[sql-exists] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const rng = new Rng(SEED);
    const maybe = <T>(v: T): T | null => (rng.bool(0.12) ? null : v);
    const table = (n: number, keys: number) => ({
      k: Array.from({ length: n }, () => maybe(rng.int(0, keys))),
      j: Array.from({ length: n }, () => maybe(rng.int(0, 3))),
      v: Array.from({ length: n }, () => maybe(rng.int(-6, 6))),
    });
    // b's keys cover a part of a's (a's other keys have no group); c is small.
    const tables = { a: table(150, 30), b: table(250, 20), c: table(25, 30) };
    const plain = new MemoryStore();
    const cluster = new FakeCluster(3, 16, 2);
    for (const [name, t] of Object.entries(tables)) {
      const df = DataFrame.fromColumns({
        k: { type: 'I', values: t.k },
        j: { type: 'I', values: t.j },
        v: { type: 'I', values: t.v },
      });
      for (const store of [plain, cluster]) await DataFrame.put(store, name, df, { chunkRows: 40 });
      await duckLoad(con, name, df);
    }
    /** One EXISTS over `frame` (b, or a WITH query over b), aliased `alias`, correlated with a. */
    const exists = (alias: string, frame: string): string => {
      const keys = rng.pick([[`${alias}.k = a.k`], [`a.k = ${alias}.k`], [`${alias}.k = a.k`, `a.j = ${alias}.j`], []]);
      const op = rng.pick(OPS);
      const cmp = rng.bool(0.75)
        ? [rng.bool() ? `${alias}.v ${op} a.v` : `a.v ${op} ${alias}.v`]
        : keys.length === 0
          ? [`${alias}.j = a.j`]
          : [];
      const own = rng.pick(['', `${alias}.j IS NOT NULL`, `${alias}.v > ${rng.int(-4, 4)}`, `${alias}.j <> 1`]);
      const terms = [...keys, ...cmp, ...(own ? [own] : [])];
      shuffle(rng, terms);
      return `${rng.bool() ? 'NOT ' : ''}EXISTS (SELECT * FROM ${frame} ${alias} WHERE ${terms.join(' AND ')})`;
    };
    let answered = 0;
    for (let q = 0; q < 70; q++) {
      const shape = rng.pick(['one', 'two', 'three', 'comma', 'join', 'scalar']);
      // The subquery may read a WITH query, the outer query a subquery in FROM, and the whole
      // statement may be a WITH query's: each part is joined as the statement itself is.
      const frame = rng.bool(0.2) ? 'bw' : 'b';
      const withs = frame === 'bw' ? ['bw AS (SELECT * FROM b WHERE b.j <> 2 OR b.j IS NULL)'] : [];
      const own = shape === 'one' || shape === 'two' || shape === 'three' || shape === 'scalar';
      let from = own && rng.bool(0.2) ? '(SELECT * FROM a WHERE a.v > -3 OR a.v IS NULL) a' : 'a';
      let cols = 'a.k, a.j, a.v';
      const where: string[] = [exists('b1', frame)];
      if (shape === 'two' || shape === 'three') where.push(exists('b2', frame));
      if (shape === 'three') where.push(exists('b3', rng.pick(['b', frame])));
      if (shape === 'comma') {
        from = 'a, c';
        where.push('c.k = a.k');
        cols += ', c.v';
      }
      if (shape === 'join') {
        from = rng.bool() ? 'a JOIN c ON a.k = c.k' : 'a LEFT JOIN c ON a.k = c.k';
        cols += ', c.v';
      }
      if (shape === 'scalar') where.push('a.v >= (SELECT min(c.v) FROM c WHERE c.j = a.j)');
      // A semi join by IN beside the rewritten EXISTS is joined the same way.
      if (rng.bool(0.2)) where.push(rng.pick(['a.j IN (SELECT j FROM c)', 'a.k IN (SELECT k FROM c)']));
      if (rng.bool(0.3)) where.push(`a.v > ${rng.int(-5, 2)}`);
      shuffle(rng, where);
      const order = (cs: string): string =>
        cs
          .split(', ')
          .map((c) => `${c} NULLS LAST`)
          .join(', ');
      const body = `SELECT ${cols} FROM ${from} WHERE ${where.join(' AND ')}`;
      const sql =
        own && rng.bool(0.2)
          ? `WITH ${[...withs, `t AS (${body})`].join(', ')} SELECT * FROM t ORDER BY ${order('k, j, v')}`
          : `${withs.length ? `WITH ${withs.join(', ')} ` : ''}${body} ORDER BY ${order(cols)}`;
      const want = (await con.runAndReadAll(sql)).getRows().map((r) => r.map((v) => v as Value));
      if (want.length > 0) answered++;
      for (const store of [plain, cluster])
        expect(rowsOf(await DataFrame.sql(store, sql)), `query ${q}: ${sql}`).toEqual(want);
    }
    // Most statements keep some rows: the comparison is not with empty answers alone.
    expect(answered).toBeGreaterThan(35);
  });

  it('compares strings and doubles through min and max as DuckDB compares them', async () => {
    const store = new MemoryStore();
    const a = DataFrame.fromColumns({
      k: { type: 'I', values: [1, 2, 3, null, 1, 2] },
      s: { type: 'S', values: ['a', 'B', 'é', 'b', null, 'ab'] },
      d: { type: 'D', values: [1.5, 0, 2, null, 3, 0.25] },
    });
    const b = DataFrame.fromColumns({
      k: { type: 'I', values: [1, 1, 2, null, 3, 2] },
      s: { type: 'S', values: ['A', 'b', 'e', 'x', 'Z', null] },
      d: { type: 'D', values: [1.5, 0, 2, null, 3, null] },
    });
    for (const [name, df] of [
      ['a', a],
      ['b', b],
    ] as const) {
      await DataFrame.put(store, name, df);
      await duckLoad(con, name, df);
    }
    for (const op of OPS)
      for (const c of ['s', 'd'])
        for (const neg of ['', 'NOT ']) {
          const sql = `SELECT a.k, a.s, a.d FROM a, b bb WHERE a.k = bb.k AND ${neg}EXISTS (SELECT * FROM b WHERE b.k = a.k AND b.${c} ${op} a.${c}) ORDER BY 1, 2, 3`;
          expect(rowsOf(await DataFrame.sql(store, sql)), sql).toEqual((await con.runAndReadAll(sql)).getRows());
        }
  });

  it('keeps the one semi or anti join on the nodes where it is enough', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'a', DataFrame.fromColumns({ k: { type: 'I', values: [1, 2, 3] } }));
    await DataFrame.put(store, 'b', DataFrame.fromColumns({ k: { type: 'I', values: [1, 1, 3] } }));
    // EXPLAIN refuses a statement run as parts: this one is still one query, an anti join.
    const plan = await DataFrame.sql(
      store,
      'EXPLAIN SELECT k FROM a WHERE NOT EXISTS (SELECT * FROM b WHERE b.k = a.k)',
    );
    expect([...plan.column('plan').values].join('\n')).toMatch(/anti join/);
  });

  it('lists the written FROM under SELECT *, not the joined subqueries', async () => {
    const store = new MemoryStore();
    const a = DataFrame.fromColumns({
      k: { type: 'I', values: [1, 2, 3, null] },
      v: { type: 'I', values: [5, 6, 7, 8] },
    });
    const b = DataFrame.fromColumns({
      k: { type: 'I', values: [1, 1, 2, null] },
      v: { type: 'I', values: [5, 9, 1, 2] },
    });
    await DataFrame.put(store, 'a', a);
    await DataFrame.put(store, 'b', b);
    await duckLoad(con, 'a', a);
    await duckLoad(con, 'b', b);
    for (const [sql, names] of [
      ['SELECT * FROM a WHERE v < (SELECT max(v) FROM b WHERE b.k = a.k) ORDER BY k', ['k', 'v']],
      ['SELECT * FROM a WHERE EXISTS (SELECT * FROM b WHERE b.k = a.k AND b.v <> a.v) ORDER BY k', ['k', 'v']],
      [
        'SELECT * FROM a, b WHERE a.k = b.k AND NOT EXISTS (SELECT * FROM b b2 WHERE b2.k = a.k AND b2.v < b.v) ORDER BY 1, 2, 3, 4',
        ['k', 'v', 'k_1', 'v_1'],
      ],
      [
        'SELECT * FROM (SELECT k, v + 1 AS w FROM a) s WHERE EXISTS (SELECT * FROM b WHERE b.k = s.k) AND EXISTS (SELECT * FROM b WHERE b.v < s.w) ORDER BY k',
        ['k', 'w'],
      ],
    ] as const) {
      const df = await DataFrame.sql(store, sql);
      expect(
        df.fields.map((f) => f.name),
        sql,
      ).toEqual(names);
      expect(rowsOf(df), sql).toEqual((await con.runAndReadAll(sql)).getRows());
    }
  });

  it('joins them inside a WITH query and a subquery in FROM, and over a WITH query', async () => {
    const store = new MemoryStore();
    const a = DataFrame.fromColumns({
      k: { type: 'I', values: [1, 2, 3, null, 2] },
      v: { type: 'I', values: [5, 6, 7, 8, 1] },
    });
    const b = DataFrame.fromColumns({
      k: { type: 'I', values: [1, 1, 2, null, 3] },
      v: { type: 'I', values: [5, 9, 1, 2, 7] },
    });
    await DataFrame.put(store, 'a', a);
    await DataFrame.put(store, 'b', b);
    await duckLoad(con, 'a', a);
    await duckLoad(con, 'b', b);
    for (const sql of [
      'WITH t AS (SELECT a.k, a.v FROM a JOIN b ON a.k = b.k WHERE EXISTS (SELECT * FROM b b2 WHERE b2.k = a.k AND b2.v > a.v)) SELECT * FROM t ORDER BY k, v',
      'SELECT count(*) AS n FROM (SELECT a.k FROM a, b WHERE a.k = b.k AND NOT EXISTS (SELECT * FROM b b2 WHERE b2.k = a.k AND b2.v <> b.v)) s',
      // A correlated scalar subquery in a part is joined the same way.
      'WITH t AS (SELECT k, v FROM a WHERE v < (SELECT max(b.v) FROM b WHERE b.k = a.k)) SELECT * FROM t ORDER BY k',
      'WITH bw AS (SELECT * FROM b WHERE v > 1) SELECT k, v FROM a WHERE EXISTS (SELECT * FROM bw WHERE bw.k = a.k AND bw.v < a.v) AND NOT EXISTS (SELECT * FROM bw WHERE bw.v = a.v) ORDER BY k, v',
    ])
      expect(rowsOf(await DataFrame.sql(store, sql)), sql).toEqual(
        (await con.runAndReadAll(sql)).getRows().map((r) => r.map((v) => (typeof v === 'bigint' ? Number(v) : v))),
      );
  });

  it('refuses the shapes a join would not answer exactly, naming the part', async () => {
    const store = new MemoryStore();
    for (const name of ['a', 'b', 'c'])
      await DataFrame.put(
        store,
        name,
        DataFrame.fromColumns({ k: { type: 'I', values: [1, 2, 3] }, v: { type: 'I', values: [5, 6, 7] } }),
      );
    for (const [sql, msg] of [
      [
        'SELECT k FROM a WHERE EXISTS (SELECT * FROM b WHERE b.k = a.k AND b.v < a.v AND b.v <> a.k)',
        /takes one comparison with the outer query that is no equality: this is a second one \(line 1, column 81\)/,
      ],
      [
        'SELECT k FROM a WHERE EXISTS (SELECT * FROM b WHERE b.k = a.k OR b.v > a.v)',
        /WHERE term reading the outer query must be its column = .* \(not under OR\) \(line 1, column 53\)/,
      ],
      [
        'SELECT k FROM a WHERE EXISTS (SELECT * FROM b WHERE b.k = a.k + 1)',
        /WHERE term reading the outer query must be its column = /,
      ],
      [
        'SELECT k FROM a WHERE k = 1 OR EXISTS (SELECT * FROM b WHERE b.k = a.k)',
        /EXISTS under OR or inside another expression is not supported: .* \(line 1, column 32\)/,
      ],
      [
        'SELECT k, EXISTS (SELECT * FROM b WHERE b.k = a.k) AS e FROM a',
        /EXISTS in a SELECT item, GROUP BY, HAVING or ORDER BY is not supported: .* \(line 1, column 11\)/,
      ],
      [
        'SELECT k FROM a WHERE EXISTS (SELECT max(v) FROM b WHERE b.k = a.k AND b.v < a.v)',
        /EXISTS subquery whose SELECT has an aggregate/,
      ],
      [
        'SELECT k FROM a WHERE EXISTS (SELECT * FROM b WHERE b.k = a.k AND a.v > 2 AND b.v < a.v)',
        /WHERE term on the outer query alone is not supported/,
      ],
      [
        'SELECT * FROM a JOIN c USING (k) WHERE v > (SELECT min(b.v) FROM b WHERE b.k = a.k)',
        /SELECT \* beside JOIN ... USING and a subquery joined to the statement is not supported: name the columns/,
      ],
      [
        'SELECT a.k FROM a, c WHERE a.k = c.k AND EXISTS (SELECT * FROM b WHERE b.k = a.k AND EXISTS (SELECT * FROM c d WHERE d.k = b.k))',
        /this EXISTS cannot be joined beside a JOIN, comma joins or another subquery join: a subquery in its WHERE is not supported \(line 1, column 42\)/,
      ],
      [
        'SELECT k FROM a WHERE EXISTS (SELECT * FROM b WHERE b.k = a.k AND b.v > a.v) AND EXISTS (SELECT * FROM nosuch n WHERE n.k = a.k)',
        /no frame named nosuch \(line 1, column 104\)/,
      ],
      [
        // NOT EXISTS is a LEFT JOIN of the item its keys read: here two items on both sides of a comma.
        'SELECT a.k FROM a, c WHERE a.v = c.v AND NOT EXISTS (SELECT * FROM b WHERE b.k = a.k AND b.v = c.k)',
        /NOT EXISTS joins as a LEFT JOIN of the FROM item its keys read: here they read frames on both sides of a comma/,
      ],
      [
        'SELECT a.k FROM a, c WHERE a.v = c.v AND NOT EXISTS (SELECT * FROM b WHERE b.k = a.k) AND NOT EXISTS (SELECT * FROM b WHERE b.k = c.k)',
        /comma joins take one group with a LEFT, RIGHT or FULL JOIN: here there would be two/,
      ],
    ] as const) {
      const e = await failure(DataFrame.sql(store, sql));
      expect(e.message, sql).toMatch(msg);
    }
  });
});
