// Comma, CROSS and FULL joins and extra ON terms in SQL (docs/dataframe.md "Joins", "SQL"): where each
// runs (a comma join with equalities on the nodes, as JOIN ... ON; CROSS and FULL at the client), the
// forms that are refused and why, and the bounds on what the client gathers. The answers themselves
// are compared with DuckDB's in sql-joins-more.test.ts.

import { describe, expect, it } from 'vitest';
import { col, DataFrame, eq } from '../../dataframe/index.js';
import { Eau2Error, ErrorCode, type KvStore } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { FakeCluster } from './fake-cluster.js';
import { seededRng } from './helpers.js';

const A = DataFrame.fromRows('k:I,x:S', [
  [1, 'p'],
  [2, 'q'],
  [null, 'r'],
  [1, 's'],
]);
const B = DataFrame.fromRows('k:I,v:I', [
  [1, 10],
  [1, 11],
  [3, 30],
  [null, 5],
]);
const C = DataFrame.fromRows('v:I,name:S', [
  [10, 'ten'],
  [30, 'thirty'],
  [11, 'eleven'],
]);

async function frames(store: KvStore): Promise<KvStore> {
  await DataFrame.put(store, 'a', A, { chunkRows: 2 });
  await DataFrame.put(store, 'b', B, { chunkRows: 3 });
  await DataFrame.put(store, 'c', C);
  return store;
}

const rows = async (store: KvStore, sql: string, opts = {}): Promise<unknown[][]> =>
  [...(await DataFrame.sql(store, sql, opts)).rows()].map((r) => [...r]);
const explain = async (store: KvStore, sql: string, opts = {}): Promise<string> =>
  (await rows(store, `EXPLAIN ${sql}`, opts)).map((r) => r[0]).join('\n');
const sorted = (xs: unknown[][]): string[] => xs.map((r) => JSON.stringify(r)).sort();

async function failure(p: Promise<unknown>): Promise<Eau2Error> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(Eau2Error);
  return e as Eau2Error;
}

describe('comma joins', () => {
  it('run as JOIN ... ON on the nodes: the equality becomes the broadcast join key', async () => {
    const store = await frames(new FakeCluster());
    const plan = await explain(store, 'SELECT count(*) FROM a, b WHERE a.k = b.k AND b.v > 10');
    expect(plan).toContain('broadcast to every node: inner join on k');
    expect(await rows(store, 'SELECT count(*) FROM a, b WHERE a.k = b.k AND b.v > 10')).toEqual(
      await rows(store, 'SELECT count(*) FROM a JOIN b ON a.k = b.k WHERE b.v > 10'),
    );
  });

  it('join frames in an order that connects them, and SELECT * keeps the order FROM gives', async () => {
    const store = await frames(new MemoryStore());
    const df = await DataFrame.sql(store, 'SELECT * FROM c, a x, b WHERE b.v = c.v AND x.k = b.k');
    expect(df.fields.map((f) => f.name)).toEqual(['v', 'name', 'k', 'x', 'k_1', 'v_1']);
    expect(sorted([...df.rows()].map((r) => [...r]))).toEqual(
      sorted(
        await rows(store, 'SELECT c.v, c.name, a.k, a.x, b.k, b.v FROM a JOIN b ON a.k = b.k JOIN c ON c.v = b.v'),
      ),
    );
  });

  it('join a frame no equality links by CROSS JOIN, its own WHERE terms applied first', async () => {
    const store = await frames(new FakeCluster());
    const got = await rows(store, "SELECT x, name FROM a, c WHERE a.k = 1 AND c.name <> 'ten'");
    expect(sorted(got)).toEqual(
      sorted([
        ['p', 'thirty'],
        ['p', 'eleven'],
        ['s', 'thirty'],
        ['s', 'eleven'],
      ]),
    );
    // In memory, the product is built at the client: filtered first, each side has 2 rows, and the
    // product (4) is within 5 gathered rows.
    const inMemory = { a: A, c: C };
    expect(
      await rows(store, "SELECT count(*) FROM a, c WHERE a.k = 1 AND c.name <> 'ten'", {
        maxGatheredRows: 5,
        frames: inMemory,
      }),
    ).toEqual([[4]]);
  });

  it('refuse two groups with outer joins, and USING beside a comma', async () => {
    const store = await frames(new MemoryStore());
    const two = await failure(
      DataFrame.sql(store, 'SELECT count(*) FROM a LEFT JOIN b ON a.k = b.k, c LEFT JOIN b d ON d.v = c.v'),
    );
    expect(two.code).toBe(ErrorCode.INVALID);
    expect(two.message).toMatch(/two groups with LEFT, RIGHT or FULL JOINs/);
    const using = await failure(DataFrame.sql(store, 'SELECT count(*) FROM c, a JOIN b USING (k)'));
    expect(using.message).toMatch(/USING beside a comma join/);
    // As PostgreSQL and DuckDB: a frame twice under one name leaves every column of it ambiguous.
    const twice = await failure(DataFrame.sql(store, 'SELECT count(*) FROM a, a'));
    expect(twice.message).toMatch(/a is named twice in FROM: give one of them an alias/);
    expect(await rows(store, 'SELECT count(*) FROM a x, a y WHERE x.k = y.k')).toEqual([[5]]);
  });
});

describe('a chain of joins', () => {
  it('keeps WHERE terms out of the first join when a later FULL JOIN adds rows they must see', async () => {
    // a JOIN b gives 4 rows (v 10, 11, 10, 11); the FULL JOIN adds c's row 30 with a and b null,
    // which a.x = 'p' then drops. Filtered inside the first join, that row would be kept.
    const store = await frames(new MemoryStore());
    const sql = "SELECT x, name FROM a JOIN b ON a.k = b.k FULL JOIN c ON c.v = b.v WHERE a.x = 'p'";
    expect(sorted(await rows(store, sql))).toEqual(
      sorted([
        ['p', 'ten'],
        ['p', 'eleven'],
      ]),
    );
  });

  it('joins rows in memory to a stored frame with the stored frame on the nodes', async () => {
    // The part a chain (or a comma join of three frames) gathers is in memory: the stored frame it is
    // joined to next stays where its chunks are, and the rows in memory are broadcast.
    const store = await frames(new FakeCluster());
    const m = DataFrame.fromRows('mk:I,w:S', [
      [1, 'one'],
      [3, 'three'],
    ]);
    const plan = await explain(store, 'SELECT w, v FROM m JOIN b ON m.mk = b.k', { frames: { m } });
    expect(plan).toContain('on the nodes holding b');
    expect(plan).toContain('joining its chunks to the right side (in memory)');
    const got = await rows(store, 'SELECT w, v FROM m JOIN b ON m.mk = b.k', { frames: { m } });
    expect(sorted(got)).toEqual(
      sorted([
        ['one', 10],
        ['one', 11],
        ['three', 30],
      ]),
    );
    const star = await DataFrame.sql(store, 'SELECT * FROM m JOIN b ON m.mk = b.k', { frames: { m } });
    expect(star.fields.map((f) => f.name)).toEqual(['mk', 'w', 'k', 'v']);
  });

  it('joins rows in memory to a stored frame of fewer rows in this process', async () => {
    // A dimension later in a chain: read once as the right side, where broadcasting the rows in
    // memory to it would send them all (500k rows to a 10k-row frame: 384-649 ms, against 33-86).
    const store = await frames(new FakeCluster());
    const m = DataFrame.fromColumns({ mk: [1, 3, 3, 1, 2, 7] });
    const plan = await explain(store, 'SELECT v FROM m JOIN b ON m.mk = b.k', { frames: { m } });
    expect(plan).toContain('joining its chunks to the right side b');
    expect(plan).not.toContain('on the nodes holding b');
    expect(sorted(await rows(store, 'SELECT v FROM m JOIN b ON m.mk = b.k', { frames: { m } }))).toEqual(
      sorted([[10], [11], [30], [30], [10], [11]]),
    );
  });
});

describe('terms in ON besides equalities', () => {
  it('filter the right side of a LEFT JOIN before it: every left row stays', async () => {
    const store = await frames(new FakeCluster());
    const got = await rows(store, 'SELECT x, v FROM a LEFT JOIN b ON a.k = b.k AND b.v > 10');
    expect(sorted(got)).toEqual(
      sorted([
        ['p', 11],
        ['q', null],
        ['r', null],
        ['s', 11],
      ]),
    );
  });

  it('move to the WHERE of an INNER JOIN, and filter the left side of a RIGHT JOIN', async () => {
    const store = await frames(new FakeCluster());
    expect(sorted(await rows(store, "SELECT x, v FROM a JOIN b ON a.k = b.k AND a.x = 's'"))).toEqual(
      sorted([
        ['s', 10],
        ['s', 11],
      ]),
    );
    expect(sorted(await rows(store, "SELECT x, v FROM a RIGHT JOIN b ON a.k = b.k AND a.x = 's'"))).toEqual(
      sorted([
        ['s', 10],
        ['s', 11],
        [null, 30],
        [null, 5],
      ]),
    );
  });

  it('on the side whose rows all stay decide which of them may match: each still stays', async () => {
    const store = await frames(new FakeCluster());
    const left = "SELECT x, v FROM a LEFT JOIN b ON a.k = b.k AND a.x = 's'";
    expect(sorted(await rows(store, left))).toEqual(
      sorted([
        ['p', null],
        ['q', null],
        ['r', null],
        ['s', 10],
        ['s', 11],
      ]),
    );
    expect(await explain(store, left)).toContain("left join on k, left rows matching only where (x = 's')");
    // Its constant operands are folded once at the client, as a WHERE's are.
    expect(await explain(store, 'SELECT x FROM a LEFT JOIN b ON a.k = b.k AND a.k >= 0.25 + 0.75')).toContain(
      'left rows matching only where (k >= 1)',
    );
    // With a term on the other side too: that side filtered first.
    expect(sorted(await rows(store, `${left} AND b.v > 10`))).toEqual(
      sorted([
        ['p', null],
        ['q', null],
        ['r', null],
        ['s', 11],
      ]),
    );
    expect(sorted(await rows(store, 'SELECT x, v FROM a RIGHT JOIN b ON a.k = b.k AND b.v > 10'))).toEqual(
      sorted([
        [null, 10],
        ['p', 11],
        ['s', 11],
        [null, 30],
        [null, 5],
      ]),
    );
  });

  it('are part of what a node keeps a prepared right side by', async () => {
    // The same right side sent twice with different conditions: the second must not be answered
    // by the join the node prepared for the first.
    const store = await frames(new FakeCluster());
    const sql = (x: string) => `SELECT x, v FROM a LEFT JOIN b ON a.k = b.k AND a.x = '${x}' WHERE v IS NOT NULL`;
    expect(sorted(await rows(store, sql('s')))).toEqual(
      sorted([
        ['s', 10],
        ['s', 11],
      ]),
    );
    expect(sorted(await rows(store, sql('p')))).toEqual(
      sorted([
        ['p', 10],
        ['p', 11],
      ]),
    );
  });

  it('by shuffle as by broadcast', async () => {
    // The condition travels to each bucket's join: compared with the broadcast join's rows.
    const store = await frames(new FakeCluster());
    const [a, b] = [await DataFrame.get(store, 'a'), await DataFrame.get(store, 'b')];
    const run = async (limit: number) =>
      sorted(
        [
          ...(
            await a.join(b, { on: 'k', how: 'left', leftMatch: eq(col('x'), 's'), broadcastLimitBytes: limit }).run({})
          ).rows(),
        ].map((r) => [...r]),
      );
    const q = a.join(b, { on: 'k', how: 'left', leftMatch: eq(col('x'), 's'), broadcastLimitBytes: 0 });
    expect(q.explain()).toContain('shuffle join, left join on k, left rows matching only where');
    expect(await run(0)).toEqual(await run(1 << 20));
    expect(await run(0)).toEqual(
      sorted([
        [1, 'p', null, null],
        [2, 'q', null, null],
        [null, 'r', null, null],
        [1, 's', 1, 10],
        [1, 's', 1, 11],
      ]),
    );
    expect(() => a.join(b, { on: 'k', how: 'inner', leftMatch: eq(col('x'), 's') })).toThrow(
      /leftMatch is for left joins/,
    );
  });

  it('reading both sides without being a key equality, and any in a FULL JOIN, are refused', async () => {
    const store = await frames(new MemoryStore());
    for (const [sql, term] of [
      ['SELECT * FROM a LEFT JOIN b ON a.k = b.k AND a.k < b.v', 'a.k < b.v'],
      ['SELECT * FROM a FULL JOIN b ON a.k = b.k AND b.v > 10', 'b.v > 10'],
    ] as const) {
      const e = await failure(DataFrame.sql(store, sql));
      expect(e.code).toBe(ErrorCode.INVALID);
      expect(e.message).toMatch(/ON takes equalities/);
      expect(e.details).toMatchObject({ column: sql.indexOf(term) + 1 });
      if (term === 'a.k < b.v') expect(e.message).toMatch(/reads both sides .* not such an equality/);
    }
    const none = await failure(DataFrame.sql(store, 'SELECT * FROM a LEFT JOIN b ON b.v > 10'));
    expect(none.message).toMatch(/a LEFT JOIN needs an equality/);
  });
});

describe('CROSS and FULL joins', () => {
  it('run at the client, and EXPLAIN says so', async () => {
    const store = await frames(new FakeCluster());
    const plan = await explain(store, 'SELECT * FROM a FULL JOIN b ON a.k = b.k');
    expect(plan).toContain('the left side of a FULL JOIN: its rows are gathered here');
    expect(plan).toContain('the FULL JOIN of those rows (at most');
    // EXPLAIN ANALYZE gathers them, and says how many rows the join gave.
    const analyzed = await explain(store, 'ANALYZE SELECT * FROM a FULL JOIN b ON a.k = b.k');
    expect(analyzed).toContain('the FULL JOIN of those rows: 8 rows');
    expect(sorted(await rows(store, 'SELECT x, v FROM a FULL OUTER JOIN b ON a.k = b.k'))).toEqual(
      sorted([
        ['p', 10],
        ['p', 11],
        ['s', 10],
        ['s', 11],
        ['q', null],
        ['r', null],
        [null, 30],
        [null, 5],
      ]),
    );
    expect(await rows(store, 'SELECT count(*) FROM a CROSS JOIN c')).toEqual([[12]]);
  });

  it('run a CROSS JOIN with a few rows on the nodes, as a join without keys', async () => {
    const store = await frames(new FakeCluster());
    const plan = await explain(store, 'SELECT count(*) FROM c CROSS JOIN a WHERE a.k < c.v');
    expect(plan).toContain('on the nodes holding a');
    expect(plan).toContain('broadcast to every node: inner join without keys');
    expect(await rows(store, 'SELECT count(*) FROM c CROSS JOIN a WHERE a.k < c.v')).toEqual([[9]]);
    // The analyst's one-row subquery: its row joined to every row of a, where a's chunks are.
    expect(await rows(store, 'SELECT x FROM a, (SELECT max(v) AS m FROM b) s WHERE a.k * 20 < s.m ORDER BY x')).toEqual(
      [['p'], ['s']],
    );
  });

  it('refuse, on a node, a chunk whose rows joined without keys would pass MAX_CROSS_CHUNK_ROWS', async () => {
    const left = DataFrame.fromColumns({ x: Array.from({ length: 3000 }, (_, i) => i) });
    const right = DataFrame.fromColumns({ y: Array.from({ length: 1500 }, (_, i) => i) });
    const e = await failure(left.join(right, { on: [] }).run({ aggs: [{ col: 'x', fn: 'count', as: 'n' }] }));
    expect(e.code).toBe(ErrorCode.TOO_LARGE);
    expect(e.message).toMatch(/gives 4500000 rows for one chunk \(3000 x 1500 right rows\), over 4194304/);
    expect([
      ...(await left.join(right.slice(0, 1000), { on: [] }).run({ aggs: [{ col: 'x', fn: 'count', as: 'n' }] })).rows(),
    ]).toEqual([[3000000]]);
  });

  it('refuse, on a node, a chunk whose matches on repeated right keys would pass MAX_CROSS_CHUNK_ROWS', async () => {
    // 3,000 left rows on one key, each matching every one of 1,500 right rows: 4.5M rows for the chunk.
    const left = DataFrame.fromColumns({ k: Array.from({ length: 3000 }, () => 1) });
    const right = (n: number) =>
      DataFrame.fromColumns({ k: Array.from({ length: n }, () => 1), y: Array.from({ length: n }, (_, i) => i) });
    for (const how of ['inner', 'left'] as const) {
      const e = await failure(
        left.join(right(1500), { on: [['k', 'k']], how }).run({ aggs: [{ col: 'y', fn: 'count', as: 'n' }] }),
      );
      expect(e.code, how).toBe(ErrorCode.TOO_LARGE);
      expect(e.message, how).toMatch(/more than 4194304 rows for one chunk of 3000 rows/);
      expect([
        ...(
          await left.join(right(1000), { on: [['k', 'k']], how }).run({ aggs: [{ col: 'y', fn: 'count', as: 'n' }] })
        ).rows(),
      ]).toEqual([[3000000]]);
    }
    // On a stored frame through SQL, the same bound on the node that joins the chunk.
    const store = new MemoryStore();
    await DataFrame.put(store, 'l', left);
    await DataFrame.put(store, 'r', right(1500));
    const sql = await failure(DataFrame.sql(store, 'SELECT count(*) FROM l JOIN r ON l.k = r.k'));
    expect(sql.code).toBe(ErrorCode.TOO_LARGE);
    // A semi join keeps each left row once, however often its key repeats on the right.
    expect([
      ...(
        await left
          .join(right(1500), { on: [['k', 'k']], how: 'semi' })
          .run({ aggs: [{ col: 'k', fn: 'count', as: 'n' }] })
      ).rows(),
    ]).toEqual([[3000]]);
  });

  it('joins running at once answer as each alone (the match arrays are one scratch per process)', async () => {
    const rng = seededRng();
    const store = new FakeCluster(3, 8, 2);
    const frame = (n: number, keys: number) =>
      DataFrame.fromColumns({
        k: { type: 'I', values: Array.from({ length: n }, () => (rng.bool(0.05) ? null : rng.int(0, keys))) },
        s: { type: 'S', values: Array.from({ length: n }, () => `s${rng.int(0, 9)}`) },
        v: { type: 'I', values: Array.from({ length: n }, () => rng.int(-50, 50)) },
      });
    await DataFrame.put(store, 'l', frame(3000, 400), { chunkRows: 500 });
    await DataFrame.put(store, 'r', frame(600, 300), { chunkRows: 500 });
    const statements = [
      'SELECT l.s, count(*), sum(r.v) FROM l JOIN r ON l.k = r.k GROUP BY l.s ORDER BY 1',
      'SELECT r.s, count(*), min(l.v) FROM l LEFT JOIN r ON l.k = r.k GROUP BY r.s ORDER BY 1',
      'SELECT count(*) FROM l WHERE EXISTS (SELECT * FROM r WHERE r.k = l.k)',
      'SELECT l.v, r.s FROM l JOIN r ON l.k = r.k AND l.v = r.v ORDER BY 1, 2',
    ];
    const alone: unknown[][][] = [];
    for (const sql of statements) alone.push(await rows(store, sql));
    for (let round = 0; round < 3; round++)
      expect(await Promise.all(statements.map((sql) => rows(store, sql)))).toEqual(alone);
  });

  it('join without keys in every join type: all right rows, or none', async () => {
    const count = async (how: 'inner' | 'left' | 'semi' | 'anti', right: DataFrame): Promise<unknown> =>
      [...(await A.join(right, { on: [], how }).run({ aggs: [{ col: 'x', fn: 'count', as: 'n' }] })).rows()][0]![0];
    const none = B.slice(0, 0);
    expect([await count('inner', B), await count('inner', none)]).toEqual([16, 0]);
    expect([await count('left', B), await count('left', none)]).toEqual([16, 4]);
    expect([await count('semi', B), await count('semi', none)]).toEqual([4, 0]);
    expect([await count('anti', B), await count('anti', none)]).toEqual([0, 4]);
  });

  it('fail with TOO_LARGE past maxGatheredRows before building the rows', async () => {
    const store = await frames(new MemoryStore());
    const inMemory = { a: A, b: B };
    const cross = await failure(
      DataFrame.sql(store, 'SELECT count(*) FROM a CROSS JOIN b', { maxGatheredRows: 15, frames: inMemory }),
    );
    expect(cross.code).toBe(ErrorCode.TOO_LARGE);
    expect(cross.message).toMatch(/CROSS JOIN gives 16 rows, over the 15/);
    // 40 rows on each side all of one key: 1,600 rows, counted before any is built.
    const one = DataFrame.fromRows(
      'k:I',
      Array.from({ length: 40 }, () => [7]),
    );
    await DataFrame.put(store, 'same', one);
    const full = await failure(
      DataFrame.sql(store, 'SELECT count(*) FROM same s FULL JOIN same t ON s.k = t.k', { maxGatheredRows: 1000 }),
    );
    expect(full.code).toBe(ErrorCode.TOO_LARGE);
    expect(full.message).toMatch(/FULL JOIN gives \d+ rows, over the 1000/);
    expect(
      await rows(store, 'SELECT count(*) FROM same s FULL JOIN same t ON s.k = t.k', { maxGatheredRows: 1600 }),
    ).toEqual([[1600]]);
    // A side is gathered at most maxGatheredRows rows (and one more, to tell).
    const side = await failure(
      DataFrame.sql(store, 'SELECT count(*) FROM same FULL JOIN a ON same.k = a.k', { maxGatheredRows: 30 }),
    );
    expect(side.code).toBe(ErrorCode.TOO_LARGE);
    expect(side.message).toMatch(/the left side of a FULL JOIN/);
  });
});
