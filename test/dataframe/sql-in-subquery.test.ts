// IN and NOT IN over a subquery that is not `column IN (SELECT column FROM frame)` (dataframe/sql/
// scalar.ts): the subquery runs first and stands as its list of values. What must hold: answers
// equal DuckDB's on random frames with nulls (NOT IN's nulls included: a list holding null keeps no
// row, an empty one keeps every row), in WHERE, under OR, as a SELECT item and in a WITH query,
// placed on nodes and in process; a list past its bound fails TOO_LARGE; a correlated one is refused naming the column.
// And [NOT] EXISTS whose WHERE also filters its own frame (TPC-H Q4), against DuckDB the same way.

import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { DataFrame, type Value } from '../../dataframe/index.js';
import { MAX_IN_SUBQUERY_ROWS } from '../../dataframe/sql/scalar.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckFixture, duckLoad } from './duck-fixture.js';
import { FakeCluster } from './fake-cluster.js';
import { rowsOf, seededRng } from './helpers.js';

let con: DuckDBConnection;
duckFixture('eau2-insub-', (_dir, c) => void (con = c));

describe('IN and NOT IN over a subquery', () => {
  it('answers as DuckDB, nulls included', async () => {
    const rng = seededRng();
    const maybe = <T>(v: T): T | null => (rng.bool(0.1) ? null : v);
    const a = { k: [] as (number | null)[], s: [] as (string | null)[] };
    const b = { k: [] as (number | null)[], v: [] as (number | null)[], s: [] as (string | null)[] };
    for (let i = 0; i < 300; i++) {
      a.k.push(maybe(rng.int(0, 40)));
      a.s.push(maybe(`w${rng.int(0, 9)}`));
    }
    for (let i = 0; i < 200; i++) {
      b.k.push(rng.bool(0.03) ? null : rng.int(0, 50));
      b.v.push(maybe(rng.int(-20, 20)));
      b.s.push(maybe(`w${rng.int(0, 12)}`));
    }
    const fa = DataFrame.fromColumns({ k: { type: 'I', values: a.k }, s: { type: 'S', values: a.s } });
    const fb = DataFrame.fromColumns({
      k: { type: 'I', values: b.k },
      v: { type: 'I', values: b.v },
      s: { type: 'S', values: b.s },
    });
    const plain = new MemoryStore();
    const cluster = new FakeCluster(3, 16, 2);
    for (const store of [plain, cluster]) {
      await DataFrame.put(store, 'a', fa, { chunkRows: 40 });
      await DataFrame.put(store, 'b', fb, { chunkRows: 40 });
    }
    await duckLoad(con, 'a', fa);
    await duckLoad(con, 'b', fb);
    const sub = (): string => {
      const col = rng.pick(['k', 'k', 's']);
      const where = rng.pick([
        '',
        ` WHERE v > ${rng.int(-25, 25)}`,
        ' WHERE v IS NULL',
        ` WHERE k < ${rng.int(0, 50)}`,
      ]);
      const shape = rng.int(0, 3);
      if (shape === 0) return `SELECT ${col} FROM b${where}`;
      if (shape === 1) return `SELECT DISTINCT ${col} FROM b${where}`;
      if (shape === 2) return `SELECT ${col} FROM b${where} GROUP BY ${col} HAVING count(*) > ${rng.int(1, 6)}`;
      return `SELECT ${col} FROM b WHERE ${col} IS NOT NULL${where ? ` AND ${where.slice(7)}` : ''}`;
    };
    for (let q = 0; q < 80; q++) {
      const s = sub();
      const col = s.startsWith('SELECT s') || s.startsWith('SELECT DISTINCT s') ? 's' : 'k';
      const op = rng.pick(['IN', 'NOT IN']);
      const form = rng.int(0, 3);
      const sql =
        form === 0
          ? `SELECT k, s FROM a WHERE ${col} ${op} (${s}) ORDER BY k, s`
          : form === 1
            ? `SELECT k, s FROM a WHERE k = ${rng.int(0, 40)} OR ${col} ${op} (${s}) ORDER BY k, s`
            : form === 2
              ? `SELECT k, s, ${col} ${op} (${s}) AS m FROM a ORDER BY k, s`
              : // In a part (a WITH query), whose statement runs apart from the outer one.
                `WITH w AS (SELECT k, s FROM a WHERE ${col} ${op} (${s})) SELECT k, s FROM w ORDER BY k, s`;
      const want = (await con.runAndReadAll(sql)).getRows().map((r) => r.map((v) => v as Value));
      for (const store of [plain, cluster]) {
        expect(rowsOf(await DataFrame.sql(store, sql)), `query ${q}: ${sql}`).toEqual(want);
      }
    }
  });

  it('[NOT] EXISTS with terms on its own frame answers as DuckDB', async () => {
    const rng = seededRng();
    const maybe = <T>(v: T): T | null => (rng.bool(0.1) ? null : v);
    const cols = (n: number, kmax: number) => ({
      k: Array.from({ length: n }, () => maybe(rng.int(0, kmax))),
      v: Array.from({ length: n }, () => maybe(rng.int(-20, 20))),
      s: Array.from({ length: n }, () => maybe(`w${rng.int(0, 9)}`)),
    });
    const a = cols(250, 40);
    const b = cols(300, 50);
    const frame = (c: typeof a) =>
      DataFrame.fromColumns({
        k: { type: 'I', values: c.k },
        v: { type: 'I', values: c.v },
        s: { type: 'S', values: c.s },
      });
    const plain = new MemoryStore();
    const cluster = new FakeCluster(3, 16, 2);
    for (const store of [plain, cluster]) {
      await DataFrame.put(store, 'a', frame(a), { chunkRows: 40 });
      await DataFrame.put(store, 'b', frame(b), { chunkRows: 40 });
    }
    await duckLoad(con, 'a', frame(a));
    await duckLoad(con, 'b', frame(b));
    for (let q = 0; q < 60; q++) {
      const terms = [
        rng.pick(['b.k = a.k', 'a.k = b.k']),
        ...(rng.bool(0.3) ? [rng.pick(['b.s = a.s', 'a.v = b.v'])] : []),
        rng.pick([
          `b.v > ${rng.int(-25, 25)}`,
          'b.v IS NULL',
          `b.s <> 'w${rng.int(0, 9)}'`,
          `b.v + 1 < ${rng.int(-5, 5)}`,
        ]),
        ...(rng.bool(0.3) ? [`b.s IS NOT NULL`] : []),
      ];
      const neg = rng.bool() ? 'NOT ' : '';
      const sql = `SELECT k, v, s FROM a WHERE ${neg}EXISTS (SELECT * FROM b WHERE ${terms.join(' AND ')}) ORDER BY k, v, s`;
      const want = (await con.runAndReadAll(sql)).getRows().map((r) => r.map((v) => v as Value));
      for (const store of [plain, cluster])
        expect(rowsOf(await DataFrame.sql(store, sql)), `query ${q}: ${sql}`).toEqual(want);
    }
  });

  it('fails TOO_LARGE past its bound, and refuses a correlated one naming the column', async () => {
    const store = new MemoryStore();
    const n = MAX_IN_SUBQUERY_ROWS + 1;
    await DataFrame.put(
      store,
      'big',
      DataFrame.fromColumns({ k: { type: 'I', values: Array.from({ length: n }, (_, i) => i) } }),
    );
    await DataFrame.put(store, 'a', DataFrame.fromColumns({ k: { type: 'I', values: [1, 2] } }));
    const big = await DataFrame.sql(store, 'SELECT k FROM a WHERE k NOT IN (SELECT k FROM big)').catch((e) => e);
    expect(big).toBeInstanceOf(Eau2Error);
    expect((big as Eau2Error).code).toBe(ErrorCode.TOO_LARGE);
    expect((big as Error).message).toMatch(/more than 100000 rows: join with it/);
    // One value fewer fits.
    const fits = await DataFrame.sql(store, 'SELECT k FROM a WHERE k NOT IN (SELECT k FROM big WHERE k > 0)');
    expect(rowsOf(fits)).toEqual([]);
    const corr = await DataFrame.sql(
      store,
      'SELECT k FROM a WHERE k IN (SELECT big.k FROM big WHERE big.k > a.k)',
    ).catch((e) => e);
    expect((corr as Error).message).toMatch(/correlated subqueries are not supported: this subquery reads a\.k/);
  });

  it('takes SELECT * of a one-column frame as that column, as a list or a semi join', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'a', DataFrame.fromColumns({ k: { type: 'I', values: [1, 2, 3, 4] } }));
    await DataFrame.put(store, 'b', DataFrame.fromColumns({ k: { type: 'I', values: [2, 4, 9] } }));
    for (const sub of ['SELECT * FROM b', 'SELECT k FROM b', 'SELECT DISTINCT k FROM b']) {
      // A top-level term (a semi join, or a list where the shape is more than a column of a frame)
      // and one under OR (always a list).
      expect(rowsOf(await DataFrame.sql(store, `SELECT k FROM a WHERE k IN (${sub}) ORDER BY k`)), sub).toEqual([
        [2],
        [4],
      ]);
      expect(
        rowsOf(await DataFrame.sql(store, `SELECT k FROM a WHERE k IN (${sub}) OR k = 1 ORDER BY k`)),
        sub,
      ).toEqual([[1], [2], [4]]);
    }
  });
});
