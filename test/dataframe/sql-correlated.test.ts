// Correlated scalar subqueries in the WHERE, joined as grouped subqueries (dataframe/sql/
// decorrelate.ts). What must hold: answers equal DuckDB's on random frames with null and repeated
// keys and nulls in the aggregated values, in process and on a FakeCluster, with the subquery on
// either side of the comparison, correlated on one or two keys, with terms of its own, over one or
// two frames; the shapes where a join would not be exact (count, a correlation that is no equality,
// a subquery in a SELECT item or under OR) are still refused naming the outer column.

import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { DataFrame, type Value } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckFixture, duckLoad } from './duck-fixture.js';
import { FakeCluster } from './fake-cluster.js';
import { failure, rowsOf, seededRng } from './helpers.js';

let con: DuckDBConnection;
duckFixture('eau2-corr-', (_dir, c) => void (con = c));

describe('correlated scalar subqueries', () => {
  it('answer as DuckDB, joined as grouped subqueries', async () => {
    const rng = seededRng();
    const maybe = <T>(v: T): T | null => (rng.bool(0.1) ? null : v);
    const table = (n: number) => ({
      k: Array.from({ length: n }, () => maybe(rng.int(0, 30))),
      j: Array.from({ length: n }, () => maybe(rng.int(0, 3))),
      v: Array.from({ length: n }, () => maybe(rng.int(-50, 50))),
    });
    const tables = { a: table(200), b: table(300), c: table(40) };
    const plain = new MemoryStore();
    const cluster = new FakeCluster(3, 16, 2);
    for (const [name, t] of Object.entries(tables)) {
      const df = DataFrame.fromColumns({
        k: { type: 'I', values: t.k },
        j: { type: 'I', values: t.j },
        v: { type: 'I', values: t.v },
      });
      for (const store of [plain, cluster]) await DataFrame.put(store, name, df, { chunkRows: 50 });
      await duckLoad(con, name, df);
    }
    for (let q = 0; q < 60; q++) {
      const agg = rng.pick(['avg(b.v)', 'sum(b.v)', 'min(b.v)', 'max(b.v)', '0.5 * avg(b.v)', 'max(b.v) - min(b.v)']);
      const keys = rng.bool(0.3) ? 'b.k = a.k AND a.j = b.j' : rng.pick(['b.k = a.k', 'a.k = b.k']);
      const own = rng.pick(['', ` AND b.v > ${rng.int(-30, 30)}`, ' AND b.j IS NOT NULL']);
      const two = rng.bool(0.3);
      const sub = two
        ? `(SELECT ${agg} FROM b, c WHERE ${keys} AND c.k = b.j${own})`
        : `(SELECT ${agg} FROM b WHERE ${keys}${own})`;
      const cmp = rng.pick(['<', '<=', '>', '>=', '=', '<>']);
      const term = rng.bool() ? `a.v ${cmp} ${sub}` : `${sub} ${cmp} a.v`;
      const more = rng.pick(['', ' AND a.j IS NOT NULL', ` AND a.k < ${rng.int(5, 30)}`]);
      const sql = `SELECT a.k, a.j, a.v FROM a WHERE ${term}${more} ORDER BY a.k, a.j, a.v`;
      const want = (await con.runAndReadAll(sql)).getRows().map((r) => r.map((v) => v as Value));
      for (const store of [plain, cluster])
        expect(rowsOf(await DataFrame.sql(store, sql)), `query ${q}: ${sql}`).toEqual(want);
    }
  });

  it('still refuses the shapes a join would not answer exactly', async () => {
    const store = new MemoryStore();
    for (const name of ['a', 'b'])
      await DataFrame.put(
        store,
        name,
        DataFrame.fromColumns({ k: { type: 'I', values: [1, 2, 3] }, v: { type: 'I', values: [5, 6, 7] } }),
      );
    for (const sql of [
      // count over no rows is 0, not NULL: a join would drop the row where the comparison holds.
      'SELECT k FROM a WHERE v > (SELECT count(*) FROM b WHERE b.k = a.k)',
      'SELECT k FROM a WHERE v > (SELECT avg(b.v) FROM b WHERE b.k < a.k)',
      'SELECT k, (SELECT avg(b.v) FROM b WHERE b.k = a.k) AS m FROM a',
      'SELECT k FROM a WHERE k = 1 OR v > (SELECT avg(b.v) FROM b WHERE b.k = a.k)',
    ]) {
      const e = await failure(DataFrame.sql(store, sql));
      expect(e.message, sql).toMatch(/correlated subqueries are not supported: this subquery reads a\.k/);
    }
  });
});
