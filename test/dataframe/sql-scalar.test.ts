// Scalar subqueries and the statement's time: where an expression may stand, a subquery runs first and
// its one value stands in the statement as a literal, as current_date and now() stand as the time the
// statement began. Their answers against DuckDB's are in sql-duckdb.test.ts (random
// statements compare columns with scalar subqueries); here, each place a subquery may stand, the
// types its value keeps, the errors (rows, columns, correlation) and the plan cache.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../../kv/index.js';
import { DataFrame } from '../../dataframe/index.js';
import { cachedPlans } from '../../dataframe/sql/run.js';
import { MemoryStore } from '../support/memory-store.js';
import { FakeCluster } from './fake-cluster.js';
import { failure, sqlResult as sql } from './helpers.js';

async function fixture<S extends MemoryStore | FakeCluster>(store: S): Promise<S> {
  await DataFrame.put(
    store,
    'f',
    DataFrame.fromRows('origin:S,delay:I,l:L,day:d', [
      ['SFO', 10, 1n, 0],
      ['JFK', 30, 2n, 1],
      ['SFO', 4, 9007199254740993n, 2],
      ['LAX', -3, null, null],
      ['JFK', null, 5n, 3],
    ]),
    { chunkRows: 2 },
  );
  await DataFrame.put(
    store,
    'b',
    DataFrame.fromRows('k:S,v:D,ok:B,at:T', [
      ['a', 1.5, true, 1_000_000n],
      ['b', 12.5, false, 86_400_000_000n + 7n],
    ]),
  );
  return store;
}

describe('scalar subqueries', () => {
  for (const [name, make] of [
    ['memory store', () => new MemoryStore()],
    ['cluster', () => new FakeCluster()],
  ] as const) {
    it(`stand in WHERE, SELECT, HAVING, CASE and ORDER BY (${name})`, async () => {
      const store = await fixture(make());
      // avg(delay) = 10.25
      expect((await sql(store, 'SELECT origin FROM f WHERE delay > (SELECT avg(delay) FROM f)')).rows).toEqual([
        ['JFK'],
      ]);
      expect(
        await sql(store, 'SELECT origin, (SELECT max(v) FROM b) AS m, (SELECT max(v) FROM b) FROM f WHERE delay = 4'),
      ).toEqual({ names: ['origin:S', 'm:D', '(SELECT max(v) FROM b):D'], rows: [['SFO', 12.5, 12.5]] });
      expect(
        (
          await sql(
            store,
            'SELECT origin, count(*) AS n FROM f GROUP BY origin HAVING count(*) >= (SELECT count(*) FROM b) ORDER BY origin',
          )
        ).rows,
      ).toEqual([
        ['JFK', 2],
        ['SFO', 2],
      ]);
      expect(
        (
          await sql(
            store,
            "SELECT CASE WHEN delay > (SELECT max(v) FROM b) THEN 'late' ELSE 'ok' END AS s FROM f WHERE delay IS NOT NULL",
          )
        ).rows,
      ).toEqual([['ok'], ['late'], ['ok'], ['ok']]);
      expect(
        (await sql(store, 'SELECT origin FROM f WHERE delay IS NOT NULL ORDER BY abs(delay - (SELECT min(v) FROM b))'))
          .rows,
      ).toEqual([['SFO'], ['LAX'], ['SFO'], ['JFK']]);
      // A subquery inside a subquery, and a GROUP BY subquery of one group.
      expect(
        (
          await sql(
            store,
            'SELECT origin FROM f WHERE delay < (SELECT max(delay) FROM f WHERE delay < (SELECT max(v) FROM b)) ORDER BY delay',
          )
        ).rows,
      ).toEqual([['LAX'], ['SFO']]);
      expect(
        (
          await sql(
            store,
            "SELECT origin FROM f WHERE delay = (SELECT max(delay) FROM f GROUP BY origin HAVING origin = 'JFK')",
          )
        ).rows,
      ).toEqual([['JFK']]);
    });

    it(`keep the value's type; no row is a null of it (${name})`, async () => {
      const store = await fixture(make());
      expect(
        await sql(
          store,
          'SELECT (SELECT max(l) FROM f) AS l, (SELECT max(day) FROM f) AS d, (SELECT min(origin) FROM f) AS s, ' +
            '(SELECT max(at) FROM b) AS t, (SELECT bool_or(ok) FROM b) AS o, (SELECT max(delay) FROM f) + 1 AS i FROM b LIMIT 1',
        ),
      ).toEqual({
        names: ['l:L', 'd:d', 's:S', 't:T', 'o:B', 'i:D'],
        rows: [[9007199254740993n, 3, 'JFK', 86_400_000_007n, true, 31]],
      });
      // The int64 past 2^53 and the timestamp's microsecond compare exactly.
      expect((await sql(store, 'SELECT delay FROM f WHERE l = (SELECT max(l) FROM f)')).rows).toEqual([[4]]);
      expect((await sql(store, 'SELECT k FROM b WHERE at = (SELECT max(at) FROM b)')).rows).toEqual([['b']]);
      expect(
        await sql(
          store,
          "SELECT (SELECT v FROM b WHERE k = 'none') AS v, (SELECT l FROM f WHERE delay > 99) AS l FROM b",
        ),
      ).toEqual({
        names: ['v:D', 'l:L'],
        rows: [
          [null, null],
          [null, null],
        ],
      });
      expect((await sql(store, "SELECT origin FROM f WHERE delay > (SELECT v FROM b WHERE k = 'none')")).rows).toEqual(
        [],
      );
    });

    it(`run inside WITH queries and over them (${name})`, async () => {
      const store = await fixture(make());
      expect(
        (
          await sql(
            store,
            'WITH t AS (SELECT origin, delay FROM f WHERE delay > (SELECT min(v) FROM b)) ' +
              'SELECT origin FROM t WHERE delay < (SELECT max(delay) FROM t) ORDER BY origin',
          )
        ).rows,
      ).toEqual([['SFO'], ['SFO']]);
      expect(
        (
          await sql(
            store,
            'SELECT origin FROM f WHERE delay > (WITH m AS (SELECT max(v) AS x FROM b) SELECT x FROM m) ' +
              'UNION ALL SELECT k FROM b WHERE v < (SELECT max(v) FROM b)',
          )
        ).rows,
      ).toEqual([['JFK'], ['a']]);
    });
  }

  it('refuse more than one row, as PostgreSQL does, and more than one column', async () => {
    const store = await fixture(new FakeCluster());
    const many = await failure(sql(store, 'SELECT * FROM f WHERE delay > (SELECT delay FROM f)'));
    expect(many.code).toBe(ErrorCode.INVALID);
    expect(many.message).toMatch(
      /^more than one row returned by a subquery used as an expression \(line 1, column 32\)/,
    );
    // A LIMIT 1 makes one row of it.
    expect(
      (await sql(store, 'SELECT origin FROM f WHERE delay > (SELECT delay FROM f ORDER BY delay LIMIT 1 OFFSET 1)'))
        .rows,
    ).toEqual([['SFO'], ['JFK']]);
    expect((await failure(sql(store, 'SELECT * FROM f WHERE delay > (SELECT k, v FROM b)'))).message).toMatch(
      /^a subquery used as an expression must return one column/,
    );
    expect(
      (await failure(sql(store, "SELECT * FROM f WHERE delay > (SELECT * FROM b WHERE k = 'a')"))).message,
    ).toMatch(/^a subquery used as an expression must return one column, not 4/);
  });

  it('refuse a correlated subquery, naming the outer column', async () => {
    const store = await fixture(new MemoryStore());
    // In a SELECT item (one in the WHERE's comparisons is joined as a grouped subquery instead:
    // sql-correlated.test.ts).
    const q = await failure(sql(store, 'SELECT origin, (SELECT max(v) FROM b WHERE b.k = f.origin) AS m FROM f'));
    expect(q.code).toBe(ErrorCode.INVALID);
    expect(q.message).toMatch(
      /^correlated subqueries are not supported: this subquery reads f\.origin of the outer query/,
    );
    expect(q.details).toMatchObject({
      offset: 'SELECT origin, (SELECT max(v) FROM b WHERE b.k = '.length,
    });
    const u = await failure(sql(store, 'SELECT origin, (SELECT max(v) FROM b WHERE k = origin) AS m FROM f x'));
    expect(u.message).toMatch(/this subquery reads origin of the outer query/);
    const a = await failure(sql(store, 'SELECT origin, (SELECT max(v) FROM b WHERE k = x.origin) AS m FROM f x'));
    expect(a.message).toMatch(/this subquery reads x\.origin of the outer query/);
    // A name neither query has is the subquery's own mistake.
    expect(
      (await failure(sql(store, 'SELECT origin FROM f WHERE delay > (SELECT max(v) FROM b WHERE k = orign)'))).message,
    ).toMatch(/^no column named orign \(columns: k, v, ok, at\)/);
  });

  it('run with every execution: a kept plan never answers with an earlier value', async () => {
    const store = await fixture(new FakeCluster());
    const text = 'SELECT origin FROM f WHERE delay > (SELECT max(v) FROM b) ORDER BY origin';
    expect((await sql(store, text)).rows).toEqual([['JFK']]);
    const before = cachedPlans(store);
    expect((await sql(store, text)).rows).toEqual([['JFK']]);
    expect(cachedPlans(store)).toBe(before); // the second run used the kept plans
    await DataFrame.put(store, 'b', DataFrame.fromRows('k:S,v:D,ok:B,at:T', [['c', 5, true, 0n]]));
    expect((await sql(store, text)).rows).toEqual([['JFK'], ['SFO']]);
    await DataFrame.put(store, 'b', DataFrame.fromRows('k:S,v:D,ok:B,at:T', [['c', 12.5, true, 0n]]));
    expect((await sql(store, text)).rows).toEqual([['JFK']]);
  });

  it('are planned as a literal: zone maps and EXPLAIN ANALYZE see the value', async () => {
    const store = await fixture(new FakeCluster());
    const { rows } = await sql(store, 'EXPLAIN ANALYZE SELECT origin FROM f WHERE delay > (SELECT max(v) FROM b)');
    const plan = rows.map((r) => r[0]).join('\n');
    expect(plan).toContain('filter (delay > 12.5)');
    expect(plan).toContain('chunks skipped: 2 of 3');
    // EXPLAIN runs nothing: the subquery is a part, its value not known.
    const explained = (await sql(store, 'EXPLAIN SELECT origin FROM f WHERE delay > (SELECT max(v) FROM b)')).rows
      .map((r) => r[0])
      .join('\n');
    expect(explained).toContain("part 1's value stands as NULL");
  });
});

describe("the statement's time", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is a date and a UTC timestamp, read once for every part and node', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2024-02-29T23:59:59.123Z'));
    const store = await fixture(new FakeCluster());
    expect(
      await sql(
        store,
        'SELECT current_date AS d, current_timestamp AS t, now() AS n, today() AS y, current_date() AS c, ' +
          "date_trunc('month', now()) AS m FROM b LIMIT 1",
      ),
    ).toEqual({
      names: ['d:d', 't:T', 'n:T', 'y:d', 'c:d', 'm:T'],
      rows: [[19782, 1_709_251_199_123_000n, 1_709_251_199_123_000n, 19782, 19782, 1_706_745_600_000_000n]],
    });
    vi.useRealTimers();
    // Every row of every part and subquery, on every node, reads one instant.
    const before = BigInt(Date.now()) * 1000n;
    const { rows } = await sql(
      store,
      'WITH t AS (SELECT now() AS a, delay FROM f) SELECT count(DISTINCT a) AS n, ' +
        'min(a) = now() AND max(a) = (SELECT max(current_timestamp) FROM f) AS same, min(a) AS at FROM t',
    );
    const after = BigInt(Date.now()) * 1000n;
    expect(rows[0]!.slice(0, 2)).toEqual([1, true]);
    expect(rows[0]![2]).toBeGreaterThanOrEqual(before);
    expect(rows[0]![2]).toBeLessThanOrEqual(after);
  });

  it('is read again by each execution: its plan is not kept', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const store = await fixture(new FakeCluster());
    const text = 'SELECT k FROM b WHERE at < now() ORDER BY k';
    vi.setSystemTime(new Date('1970-01-01T12:00:00Z'));
    const kept = cachedPlans(store);
    expect((await sql(store, text)).rows).toEqual([['a']]);
    vi.setSystemTime(new Date('1970-01-03T00:00:00Z'));
    expect((await sql(store, text)).rows).toEqual([['a'], ['b']]);
    expect((await sql(store, 'SELECT k FROM b WHERE CAST(at AS date) < current_date')).rows).toEqual([['a'], ['b']]);
    expect(cachedPlans(store)).toBe(kept);
  });
});

describe('SELECT without FROM', () => {
  it('reads one row of no columns, as PostgreSQL and DuckDB do', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2024-02-29T12:00:00Z'));
    try {
      for (const store of [await fixture(new MemoryStore()), await fixture(new FakeCluster())]) {
        expect(
          await sql(store, 'SELECT (SELECT max(v) FROM b) AS m, 1 + 2 AS y, current_date AS d, count(*) AS n'),
        ).toEqual({ names: ['m:D', 'y:D', 'd:d', 'n:D'], rows: [[12.5, 3, 19782, 1]] });
        expect((await sql(store, 'SELECT 1 AS x WHERE 1 = 0')).rows).toEqual([]);
        expect((await sql(store, 'SELECT origin FROM f WHERE delay = (SELECT 30)')).rows).toEqual([['JFK']]);
        expect((await failure(sql(store, 'SELECT *'))).message).toMatch(/^SELECT \* needs a FROM frame/);
        expect((await failure(sql(store, 'SELECT origin'))).message).toMatch(
          /^no column named origin: the SELECT has no FROM/,
        );
      }
    } finally {
      vi.useRealTimers();
    }
  });
});
