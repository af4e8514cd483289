// SQL beyond the verbs suite: errors that point at the offending part of the statement, EXPLAIN's
// text, joins written as JOIN, EXISTS and IN, and the CLI's flag-spelled queries.

import { describe, expect, it } from 'vitest';
import { ErrorCode, type Eau2Error } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { DataFrame } from '../../dataframe/index.js';
import { querySql } from '../../app/cli/query-commands.js';
import { rowsOf, seededRng } from './helpers.js';

async function fixture(): Promise<MemoryStore> {
  const store = new MemoryStore();
  await DataFrame.put(
    store,
    'flights',
    DataFrame.fromRows('origin:S,dest:S,delay:I', [
      ['SFO', 'JFK', 10],
      ['SFO', 'LAX', -5],
      ['JFK', 'SFO', 30],
      ['LAX', 'SFO', null],
      ['ORD', 'JFK', 7],
      ['JFK', 'ORD', 3],
    ]),
    { chunkRows: 2 },
  );
  await DataFrame.put(
    store,
    'airports',
    DataFrame.fromRows('code:S,city:S', [
      ['SFO', 'San Francisco'],
      ['JFK', 'New York'],
      ['LAX', 'Los Angeles'],
    ]),
  );
  return store;
}

async function sqlError(store: MemoryStore, sql: string): Promise<Eau2Error> {
  try {
    await DataFrame.sql(store, sql);
  } catch (e) {
    return e as Eau2Error;
  }
  throw new Error(`no error for ${sql}`);
}

describe('SQL', () => {
  it('points errors at the offending part of the statement', async () => {
    const store = await fixture();
    const e1 = await sqlError(store, 'SELECT origin, count(*) FROM flights WHERE dely > 0 GROUP BY origin');
    expect(e1.code).toBe('INVALID');
    expect(e1.details).toMatchObject({ line: 1, column: 44 });
    expect(e1.message).toContain('no column named dely');
    expect(e1.message.split('\n')[2]).toBe(`  ${' '.repeat(43)}^^^^`);
    const e2 = await sqlError(store, 'SELECT origin,\n  delay\nFROM flights GROUP BY origin');
    expect(e2.details).toMatchObject({ line: 2, column: 3 });
    expect(e2.message).toMatch(/delay must appear in GROUP BY/);
    const e3 = await sqlError(store, 'SELECT origin FROM flights WHERE ORDER BY 1');
    expect(e3.message).toMatch(/syntax error: unexpected "ORDER"/);
    expect(e3.details).toMatchObject({ line: 1, column: 34 });
    const e4 = await sqlError(store, 'SELECT sum(origin) FROM flights');
    expect(e4.message).toMatch(/sum\(\) needs a numeric column/);
    expect(e4.details).toMatchObject({ column: 8 });
    // A misspelt first word is pointed at, not the token after it where the parser gave up.
    const e8 = await sqlError(store, '  SELEC * FROM flights');
    expect(e8.message).toMatch(/a statement starts with SELECT, not "SELEC" \(line 1, column 3\)/);
    expect(e8.details).toMatchObject({ line: 1, column: 3 });
    const e5 = await sqlError(store, 'SELECT * FROM nowhere');
    expect(e5.message).toMatch(/no frame named nowhere/);
    expect(e5.details).toMatchObject({ column: 15 });
    expect(e5.code).toBe(ErrorCode.NOT_FOUND);
    const e6 = await sqlError(store, 'SELECT origin FROM flights ORDER BY 3');
    expect(e6.message).toMatch(/position 3 is not in the SELECT list/);
    const e7 = await sqlError(store, 'SELECT origin FROM flights WHERE count(*) > 1');
    expect(e7.message).toMatch(/aggregate count\(\) is not allowed in WHERE/);
    expect((await sqlError(store, 'DELETE FROM flights')).message).toMatch(/only SELECT/);
  });

  it('EXPLAIN shows the node part, the merge and the client stage', async () => {
    const store = await fixture();
    const plan = await DataFrame.sql(
      store,
      'EXPLAIN SELECT origin, count(*), avg(delay) FROM flights WHERE delay > 0 GROUP BY origin ORDER BY 2 DESC LIMIT 10',
    );
    expect([...plan.column('plan').values].join('\n')).toBe(
      [
        'stage 1:',
        'on each node (in-process over flights, 3 chunks), over the chunks it leads:',
        '  read columns: origin, delay',
        '  filter (delay > 0)',
        '  zone maps (per chunk min/max/nulls in the metadata), by filter term:',
        '    (delay > 0): can skip chunks; skips 0 of 3 by the metadata',
        '  chunks skipped: 0 of 3 (estimate from the metadata, before running)',
        '  group by origin: partial count(*) AS __a0, mean(delay) AS __a1',
        'then at the client: merge the partial aggregates per group, order groups by key',
        'result: origin:S, __a0:D, __a1:D',
        'stage 2, at the client over that result:',
        'at the client:',
        '  read columns: origin, __a0, __a1',
        '  compute __s0 = origin',
        '  compute __s1 = __a0',
        '  compute __s2 = __a1',
        '  order by __s1 DESC: keep its best 10 rows (top-k heap)',
        '  keep __s0, __s1, __s2',
        '  keep 10',
        'result: __s0:S, __s1:D, __s2:D',
        'columns: origin, count(*), avg(delay)',
      ].join('\n'),
    );
    const topk = await DataFrame.sql(store, 'EXPLAIN SELECT origin, delay FROM flights ORDER BY delay DESC LIMIT 2');
    expect([...topk.column('plan').values]).toContain('  order by delay DESC: keep its best 2 rows (top-k heap)');
    const join = await DataFrame.sql(store, 'EXPLAIN SELECT city FROM flights f JOIN airports a ON f.origin = a.code');
    expect([...join.column('plan').values].join('\n')).toMatch(/broadcast to every node: inner join on origin = code/);
  });

  it('names an unnamed item by its text, parentheses included', async () => {
    const store = await fixture();
    const df = await DataFrame.sql(store, 'SELECT (delay) IS NULL, ((delay)) + 1, (origin) FROM flights LIMIT 1');
    // A parenthesis makes no node of the parser's tree: the first name's span starts inside one.
    expect(df.fields.map((f) => f.name)).toEqual(['(delay) IS NULL', '((delay)) + 1', 'origin']);
  });

  it('takes FILTER (WHERE ...) on aggregates, as over the rows where it holds', async () => {
    const store = await fixture();
    expect(
      rowsOf(
        await DataFrame.sql(
          store,
          'SELECT origin, count(*) FILTER (WHERE delay > 5) AS late, sum(delay) FILTER (WHERE dest <> $1) AS s, ' +
            'count(DISTINCT dest) FILTER (WHERE delay IS NOT NULL) AS d FROM flights GROUP BY origin ORDER BY origin',
          { params: ['JFK'] },
        ),
      ),
    ).toEqual([
      ['JFK', 1, 33, 2],
      ['LAX', 0, null, 0],
      ['ORD', 1, null, 1],
      ['SFO', 1, -5, 2],
    ]);
    for (const [sql, why] of [
      [
        'SELECT first(delay) FILTER (WHERE delay > 0) FROM flights',
        /first: FILTER is not supported \(it keeps null values\) \(line 1, column 21\)/,
      ],
      [
        'SELECT lower(origin) FILTER (WHERE delay > 0) FROM flights',
        /FILTER \(WHERE \.\.\.\) applies to aggregates, not to lower\(\)/,
      ],
      [
        'SELECT sum(delay) FILTER (WHERE delay > 0) OVER (ORDER BY delay) FROM flights',
        /sum: FILTER is not supported in window functions/,
      ],
    ] as const) {
      const e = await sqlError(store, sql);
      expect(e.code, sql).toBe(ErrorCode.INVALID);
      expect(e.message, sql).toMatch(why);
    }
  });

  it('joins with JOIN ... ON, LEFT JOIN, EXISTS, NOT EXISTS and IN', async () => {
    const store = await fixture();
    const inner = await DataFrame.sql(
      store,
      'SELECT a.city, count(*) AS n FROM flights f JOIN airports a ON f.origin = a.code GROUP BY a.city ORDER BY n DESC, 1',
    );
    expect(rowsOf(inner)).toEqual([
      ['New York', 2],
      ['San Francisco', 2],
      ['Los Angeles', 1],
    ]);
    const left = await DataFrame.sql(
      store,
      'SELECT origin, city FROM flights LEFT JOIN airports ON origin = code WHERE delay > 5 ORDER BY delay',
    );
    expect(rowsOf(left)).toEqual([
      ['ORD', null],
      ['SFO', 'San Francisco'],
      ['JFK', 'New York'],
    ]);
    const semi = await DataFrame.sql(
      store,
      'SELECT origin, dest FROM flights f WHERE EXISTS (SELECT 1 FROM airports a WHERE a.code = f.dest) AND delay > 0',
    );
    expect(rowsOf(semi)).toEqual([
      ['SFO', 'JFK'],
      ['JFK', 'SFO'],
      ['ORD', 'JFK'],
    ]);
    const anti = await DataFrame.sql(
      store,
      'SELECT origin FROM flights f WHERE NOT EXISTS (SELECT 1 FROM airports a WHERE a.code = f.origin)',
    );
    expect(rowsOf(anti)).toEqual([['ORD']]);
    const inSub = await DataFrame.sql(store, 'SELECT count(*) FROM flights WHERE dest IN (SELECT code FROM airports)');
    expect(rowsOf(inSub)).toEqual([[5]]);
    // NOT IN runs its subquery first and stands as its list (no null among the codes: NOT EXISTS's answer).
    const notIn = await DataFrame.sql(
      store,
      'SELECT origin FROM flights WHERE origin NOT IN (SELECT code FROM airports)',
    );
    expect(rowsOf(notIn)).toEqual(rowsOf(anti));
    expect((await sqlError(store, 'SELECT origin FROM flights LEFT JOIN airports ON delay > 1')).message).toMatch(
      /a LEFT JOIN needs an equality of a column of each side in its ON/,
    );
  });

  it('supports DISTINCT, string functions, LIKE, BETWEEN, IS NULL and quantiles', async () => {
    const store = await fixture();
    expect(rowsOf(await DataFrame.sql(store, 'SELECT DISTINCT dest FROM flights ORDER BY dest'))).toEqual([
      ['JFK'],
      ['LAX'],
      ['ORD'],
      ['SFO'],
    ]);
    const r = await DataFrame.sql(
      store,
      `SELECT lower(origin) || '-' || substring(dest, 1, 2) AS route, length(dest) AS n
       FROM flights WHERE origin LIKE 'S%' AND delay BETWEEN -10 AND 10 AND delay IS NOT NULL ORDER BY route`,
    );
    expect(rowsOf(r)).toEqual([
      ['sfo-JF', 3],
      ['sfo-LA', 3],
    ]);
    const q = await DataFrame.sql(
      store,
      'SELECT median(delay), quantile(delay, 0.9), stddev(delay) IS NOT NULL FROM flights',
    );
    expect(rowsOf(q)).toEqual([[7, 30, true]]);
  });

  it('orders a GROUP BY result by any keys, sorted or already in order (seeded)', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    const rows: [string | null, number | null, number][] = [];
    for (let i = 0; i < 400; i++)
      rows.push([
        rng.bool(0.1) ? null : rng.pick(['a', 'b', 'c', 'd', 'e']),
        rng.bool(0.1) ? null : rng.int(-3, 3),
        rng.int(0, 100),
      ]);
    await DataFrame.put(store, 't', DataFrame.fromRows('k:S,j:I,v:I', rows), { chunkRows: 37 });
    // The reference: groups in key order (nulls first), then a stable sort by the ORDER BY keys.
    const groups = new Map<string, [string | null, number | null, number]>();
    for (const [k, j, v] of rows) {
      const g = groups.get(JSON.stringify([k, j]));
      if (g) g[2] += v;
      else groups.set(JSON.stringify([k, j]), [k, j, v]);
    }
    type Key = { i: number; desc?: boolean; nulls?: 'first' | 'last' };
    const cmp = (x: string | number | null, y: string | number | null, k: Key): number => {
      if (x === y) return 0;
      if (x === null) return k.nulls === 'first' ? -1 : 1;
      if (y === null) return k.nulls === 'first' ? 1 : -1;
      return (x < y ? -1 : 1) * (k.desc ? -1 : 1);
    };
    const byKeys = (keys: Key[]) => (a: (string | number | null)[], b: (string | number | null)[]) => {
      for (const k of keys) {
        const c = cmp(a[k.i]!, b[k.i]!, k);
        if (c !== 0) return c;
      }
      return 0;
    };
    const base = [...groups.values()].sort(
      byKeys([
        { i: 0, nulls: 'first' },
        { i: 1, nulls: 'first' },
      ]),
    );
    const cases: [string, Key[], number, number][] = [
      ['k, j', [{ i: 0 }, { i: 1 }], 0, Infinity],
      [
        'k NULLS FIRST, j NULLS FIRST',
        [
          { i: 0, nulls: 'first' },
          { i: 1, nulls: 'first' },
        ],
        0,
        Infinity,
      ],
      ['k NULLS FIRST', [{ i: 0, nulls: 'first' }], 2, 5],
      ['k DESC, j', [{ i: 0, desc: true }, { i: 1 }], 0, Infinity],
      ['j, k', [{ i: 1 }, { i: 0 }], 1, 7],
      ['3 DESC', [{ i: 2, desc: true }], 0, Infinity],
    ];
    for (const [order, keys, offset, limit] of cases) {
      const tail = `${Number.isFinite(limit) ? ` LIMIT ${limit}` : ''}${offset ? ` OFFSET ${offset}` : ''}`;
      const sql = `SELECT k, j, sum(v) FROM t GROUP BY k, j ORDER BY ${order}${tail}`;
      const want = [...base].sort(byKeys(keys)).slice(offset, offset + limit);
      expect(rowsOf(await DataFrame.sql(store, sql)), sql).toEqual(want);
    }
    // A sort key outside the SELECT list, over rows already in its order.
    const got = rowsOf(
      await DataFrame.sql(store, 'SELECT j, sum(v) FROM t GROUP BY k, j ORDER BY k NULLS FIRST, j NULLS FIRST'),
    );
    expect(got).toEqual(base.map((g) => [g[1], g[2]]));
  });

  it('df query spells a SELECT from flags', () => {
    expect(
      querySql('flights', {
        select: 'origin, count(*)',
        where: 'delay > 0',
        groupBy: 'origin',
        orderBy: '2 DESC',
        limit: 5,
      }),
    ).toBe('SELECT origin, count(*) FROM flights WHERE delay > 0 GROUP BY origin ORDER BY 2 DESC LIMIT 5');
    expect(querySql('My Frame', {})).toBe('SELECT * FROM "My Frame"');
  });
});
