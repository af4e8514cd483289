// WITH, subqueries in FROM and UNION [ALL]: the parts a statement computes before the SELECT that
// reads them. Their answers against DuckDB's are in sql-duckdb.test.ts (random statements run as
// parts); here, the shapes and errors each path has, and the bound on the rows a part gathers.

import { describe, expect, it } from 'vitest';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { DataFrame } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { FakeCluster } from './fake-cluster.js';
import { failure, sqlResult as sql, rowsOf } from './helpers.js';

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
    'a',
    DataFrame.fromRows('code:S,state:S', [
      ['SFO', 'CA'],
      ['LAX', 'CA'],
      ['JFK', 'NY'],
    ]),
  );
  return store;
}

describe('WITH, subqueries in FROM and UNION', () => {
  for (const [name, make] of [
    ['memory store', () => new MemoryStore()],
    ['cluster', () => new FakeCluster()],
  ] as const) {
    it(`query a part's rows as a frame (${name})`, async () => {
      const store = await fixture(make());
      expect(
        await sql(
          store,
          'WITH t AS (SELECT origin, count(*) AS n FROM f GROUP BY origin), ' +
            'u AS (SELECT t.origin, n, state FROM t JOIN a ON t.origin = a.code) ' +
            'SELECT state, sum(n) AS n FROM u GROUP BY state ORDER BY state',
        ),
      ).toEqual({
        names: ['state:S', 'n:D'],
        rows: [
          ['CA', 3],
          ['NY', 2],
        ],
      });
      // A subquery on either side of a join, renamed by AS s(a, b).
      expect(
        (
          await sql(
            store,
            'SELECT s.o, s.d, a.state FROM a JOIN (SELECT origin, max(delay) FROM f GROUP BY origin) AS s(o, d) ' +
              'ON a.code = s.o ORDER BY s.d DESC',
          )
        ).rows,
      ).toEqual([
        ['JFK', 30, 'NY'],
        ['SFO', 10, 'CA'],
        ['LAX', -3, 'CA'],
      ]);
      // Two joins: the first in a WITH query, the second over its rows.
      expect(
        (
          await sql(
            store,
            'WITH fa AS (SELECT f.origin, a.state FROM f JOIN a ON f.origin = a.code) ' +
              'SELECT fa.origin, b.code FROM fa JOIN a b ON fa.state = b.state ORDER BY 1, 2',
          )
        ).rows,
      ).toEqual([
        ['JFK', 'JFK'],
        ['JFK', 'JFK'],
        ['LAX', 'LAX'],
        ['LAX', 'SFO'],
        ['SFO', 'LAX'],
        ['SFO', 'LAX'],
        ['SFO', 'SFO'],
        ['SFO', 'SFO'],
      ]);
      // A WITH name shadows a stored frame, and a later WITH query reads an earlier one.
      expect(
        (await sql(store, 'WITH a AS (SELECT origin FROM f WHERE delay > 5), b AS (SELECT * FROM a) SELECT * FROM b'))
          .rows,
      ).toEqual([['SFO'], ['JFK']]);
      // A semi join reads a WITH query by name.
      expect(
        (
          await sql(
            store,
            "WITH ca AS (SELECT code FROM a WHERE state = 'CA') SELECT origin, delay FROM f WHERE origin IN (SELECT code FROM ca) ORDER BY delay",
          )
        ).rows,
      ).toEqual([
        ['LAX', -3],
        ['SFO', 4],
        ['SFO', 10],
      ]);
    });

    it(`stack branches with UNION ALL and UNION, widening numbers and dates (${name})`, async () => {
      const store = await fixture(make());
      expect(await sql(store, 'SELECT origin FROM f WHERE delay > 5 UNION ALL SELECT code FROM a')).toEqual({
        names: ['origin:S'],
        rows: [['SFO'], ['JFK'], ['SFO'], ['LAX'], ['JFK']],
      });
      const u = await sql(store, 'SELECT origin FROM f UNION SELECT code FROM a UNION SELECT state FROM a');
      expect(u.rows.map((r) => r[0]).sort()).toEqual(['CA', 'JFK', 'LAX', 'NY', 'SFO']);
      // int32 with int64: int64, exact past 2^53; int with double: double; date with timestamp: its midnight.
      expect(await sql(store, 'SELECT delay FROM f WHERE delay > 20 UNION ALL SELECT l FROM f WHERE l > 5')).toEqual({
        names: ['delay:L'],
        rows: [[30n], [9007199254740993n]],
      });
      expect(
        await sql(store, "SELECT delay FROM f WHERE delay < 0 UNION ALL SELECT 0.5 FROM a WHERE code = 'JFK'"),
      ).toEqual({ names: ['delay:D'], rows: [[-3], [0.5]] });
      expect(
        await sql(
          store,
          "SELECT day FROM f WHERE day = 1 UNION ALL SELECT CAST('1970-01-01 06:00:00' AS timestamp) FROM a WHERE code = 'JFK'",
        ),
      ).toEqual({ names: ['day:T'], rows: [[86_400_000_000n], [21_600_000_000n]] });
      // ORDER BY and LIMIT over the whole go outside, on a subquery.
      expect(
        (await sql(store, 'SELECT * FROM (SELECT origin FROM f UNION SELECT state FROM a) u ORDER BY origin LIMIT 3'))
          .rows,
      ).toEqual([['CA'], ['JFK'], ['LAX']]);
    });
  }

  it('compute window functions over the groups of a GROUP BY', async () => {
    const store = await fixture(new FakeCluster());
    expect(
      await sql(
        store,
        'SELECT origin, count(*) AS n, rank() OVER (ORDER BY count(*) DESC) AS r, ' +
          'sum(sum(delay)) OVER (ORDER BY origin) AS running FROM f GROUP BY 1 ORDER BY r, origin',
      ),
    ).toEqual({
      names: ['origin:S', 'n:D', 'r:I', 'running:D'],
      rows: [
        ['JFK', 2, 1, 30],
        ['SFO', 2, 1, 41],
        ['LAX', 1, 3, 27],
      ],
    });
    // HAVING and WHERE stay with the groups; ORDER BY an aggregate and LIMIT come after the windows;
    // lag's offset is read as written; an unnamed item keeps its text as its name.
    expect(
      await sql(
        store,
        'SELECT origin, lag(origin, 1) OVER (ORDER BY origin) FROM f WHERE day >= 0 GROUP BY origin ' +
          'HAVING count(*) > 1 ORDER BY max(delay) DESC LIMIT 1',
      ),
    ).toEqual({ names: ['origin:S', 'lag(origin, 1) OVER (ORDER BY origin):S'], rows: [['JFK', null]] });
    const e = await failure(
      DataFrame.sql(store, 'SELECT origin, delay, rank() OVER (ORDER BY count(*)) FROM f GROUP BY origin'),
    );
    expect(e.message).toMatch(/column delay must appear in GROUP BY .*\(line 1, column 16\)/);
    const groups = await failure(
      DataFrame.sql(store, 'SELECT origin, rank() OVER (ORDER BY count(*)) FROM f GROUP BY origin', {
        maxGatheredRows: 2,
      }),
    );
    expect(groups.message).toMatch(/the client gathers at most 2 rows for the groups under window functions here/);
  });

  it('join more than two frames in one SELECT, from the left', async () => {
    const store = await fixture(new FakeCluster());
    await DataFrame.put(
      store,
      'st',
      DataFrame.fromRows('state:S,region:S', [
        ['CA', 'West'],
        ['NY', 'East'],
      ]),
    );
    // The same frame twice under two aliases; WHERE terms on the first two frames filter the part.
    expect(
      await sql(
        store,
        'SELECT f.origin, o.state AS os, d.state, delay FROM f JOIN a o ON f.origin = o.code ' +
          'LEFT JOIN a d ON f.origin = d.code AND d.state = o.state WHERE delay > 0 ORDER BY delay',
      ),
    ).toEqual({
      names: ['origin:S', 'os:S', 'state:S', 'delay:I'],
      rows: [
        ['SFO', 'CA', 'CA', 4],
        ['SFO', 'CA', 'CA', 10],
        ['JFK', 'NY', 'NY', 30],
      ],
    });
    expect(
      await sql(
        store,
        'SELECT region, count(*) AS n, max(delay) FROM f JOIN a ON origin = code JOIN st r ON a.state = r.state ' +
          'GROUP BY region ORDER BY n DESC',
      ),
    ).toEqual({
      names: ['region:S', 'n:D', 'max(delay):I'],
      rows: [
        ['West', 3, 10],
        ['East', 2, 30],
      ],
    });
    // SELECT * names each frame's columns in order; a repeated name gets _1.
    expect(
      (await sql(store, 'SELECT * FROM f JOIN a ON origin = code JOIN st ON a.state = st.state LIMIT 1')).names,
    ).toEqual(['origin:S', 'delay:I', 'l:L', 'day:d', 'code:S', 'state:S', 'state_1:S', 'region:S']);
    expect(
      (await sql(store, 'SELECT count(*) FROM f JOIN a ON origin = code JOIN st ON a.state = st.state')).rows,
    ).toEqual([[5]]);
    for (const [text, why] of [
      ['SELECT state FROM f JOIN a ON origin = code JOIN st ON a.state = st.state', /column state is ambiguous/],
      ['SELECT code FROM f JOIN a ON origin = code JOIN nosuch n ON n.x = code', /no frame named nosuch/],
    ] as const) {
      const e = await failure(DataFrame.sql(store, text));
      expect(e.message, text).toMatch(why);
    }
    // RIGHT JOIN keeps every row of its right frame; after a chain, the WHERE sees those rows'
    // nulls (a term on the first frames is not pushed into the part there).
    expect(
      (
        await sql(
          store,
          "SELECT st.region, x.code FROM (SELECT * FROM a WHERE code <> 'JFK') x RIGHT JOIN st ON x.state = st.state ORDER BY 1, 2",
        )
      ).rows,
    ).toEqual([
      ['East', null],
      ['West', 'LAX'],
      ['West', 'SFO'],
    ]);
    expect(
      (
        await sql(
          store,
          'SELECT r.region, f.origin FROM f JOIN a ON origin = code RIGHT JOIN st r ON a.state = r.state ' +
            "WHERE f.origin <> 'JFK' ORDER BY 1, 2",
        )
      ).rows,
    ).toEqual([
      ['West', 'LAX'],
      ['West', 'SFO'],
      ['West', 'SFO'],
    ]);
    // USING in a chain merges with the frames joined so far: one state, first.
    expect((await sql(store, 'SELECT * FROM f JOIN a ON origin = code JOIN st USING (state) LIMIT 1')).names).toEqual([
      'state:S',
      'origin:S',
      'delay:I',
      'l:L',
      'day:d',
      'code:S',
      'region:S',
    ]);
    expect((await sql(store, 'SELECT count(*) FROM f JOIN a ON origin = code JOIN st USING (state)')).rows).toEqual([
      [5],
    ]);
    // SELECT * over a RIGHT JOIN names the columns as over the LEFT JOIN of the same frames.
    expect((await sql(store, 'SELECT * FROM a RIGHT JOIN st ON a.state = st.state')).names).toEqual(
      (await sql(store, 'SELECT * FROM a LEFT JOIN st ON a.state = st.state')).names,
    );
    expect((await sql(store, 'SELECT * FROM a RIGHT JOIN st ON a.state = st.state')).names).toEqual([
      'code:S',
      'state:S',
      'state_1:S',
      'region:S',
    ]);
    const big = await failure(
      DataFrame.sql(store, 'SELECT count(*) FROM f JOIN a ON origin = code JOIN st ON a.state = st.state', {
        maxGatheredRows: 3,
      }),
    );
    expect(big.message).toMatch(/the client gathers at most 3 rows for a join in a chain of joins here/);
  });

  it('bind parameters anywhere in the statement', async () => {
    const store = await fixture(new MemoryStore());
    expect(
      (
        await sql(
          store,
          'WITH t AS (SELECT origin, delay FROM f WHERE delay > $1) SELECT origin FROM t UNION ALL SELECT code FROM a WHERE state = $2',
          { params: [5, 'NY'] },
        )
      ).rows,
    ).toEqual([['SFO'], ['JFK'], ['JFK']]);
  });

  it('refuse what SQL would read otherwise, pointing at it', async () => {
    const store = await fixture(new MemoryStore());
    const cases: [string, RegExp][] = [
      // The parser gives the ORDER BY to the last branch.
      [
        'SELECT origin FROM f UNION ALL SELECT code FROM a ORDER BY 1',
        /ORDER BY or LIMIT after a UNION is not supported: SELECT \* FROM \(\.\.\. UNION \.\.\.\) u ORDER BY \.\.\. LIMIT \.\.\. \(line 1, column 60\)/,
      ],
      ['SELECT origin FROM f UNION ALL SELECT code FROM a LIMIT 2', /ORDER BY or LIMIT after a UNION/],
      [
        'SELECT origin, delay FROM f UNION ALL SELECT code FROM a',
        /each UNION branch needs 2 columns, as the first has: this one has 1 \(line 1, column 39\)/,
      ],
      [
        'SELECT origin FROM f UNION ALL SELECT delay FROM f',
        /UNION column 1 \(origin\) is S in one branch and I in another: CAST one of them/,
      ],
      ['WITH t AS (SELECT nope FROM f) SELECT * FROM t', /no column named nope .*\(line 1, column 19\)/],
      ['SELECT * FROM (SELECT origin FROM f) s(a, b, c)', /s names 3 columns, its query has 1/],
      ['SELECT * FROM f, LATERAL (SELECT 1) x', /comma joins are not supported|LATERAL/],
      [
        'SELECT origin FROM f WHERE EXISTS (SELECT 1 FROM (SELECT code FROM a) x WHERE x.code = f.origin)',
        /an EXISTS or IN subquery reads a frame or a WITH query by name/,
      ],
    ];
    for (const [text, why] of cases) {
      const e = await failure(DataFrame.sql(store, text));
      expect(e, text).toBeInstanceOf(Eau2Error);
      expect(e.code, text).toBe(ErrorCode.INVALID);
      expect(e.message, text).toMatch(why);
    }
  });

  it('gather at most maxGatheredRows rows of each part, and cut only the outer result to maxRows', async () => {
    const store = await fixture(new MemoryStore());
    for (const text of [
      'WITH t AS (SELECT * FROM f) SELECT count(*) FROM t',
      'SELECT count(*) FROM (SELECT * FROM f) q',
      'SELECT origin FROM f UNION ALL SELECT code FROM a',
    ]) {
      expect(rowsOf(await DataFrame.sql(store, text, { maxGatheredRows: 5 })).length, text).toBeGreaterThan(0);
      const e = await failure(DataFrame.sql(store, text, { maxGatheredRows: 4 }));
      expect(e.code, text).toBe(ErrorCode.TOO_LARGE);
      expect(e.message, text).toMatch(
        /the client gathers at most 4 rows for (WITH t|the subquery q|UNION branch 1) here/,
      );
    }
    // maxRows (the HTTP route's cut: that many rows and one more) applies to the statement's result,
    // not to its parts: the count is over all five rows.
    expect(
      rowsOf(await DataFrame.sql(store, 'WITH t AS (SELECT * FROM f) SELECT count(*) FROM t', { maxRows: 1 })),
    ).toEqual([[5]]);
    expect(
      rowsOf(await DataFrame.sql(store, 'SELECT origin FROM f UNION ALL SELECT code FROM a', { maxRows: 2 })).length,
    ).toBe(3);
  });
});
