// VALUES lists in FROM and as WITH queries (dataframe/sql/values.ts), alone and joined to stored
// frames: checked against DuckDB on seeded random lists (integers, doubles, text, booleans, dates,
// NULLs, repeated keys) and a random stored frame, over a MemoryStore, a FakeCluster and frames in
// memory; the types inferred, DuckDB's default names, the row bound and the errors. A failure prints
// the seed; EAU2_TEST_SEED=<seed> (and EAU2_TEST_QUERY=<n>) replays.

import { beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Rng } from '../../app/apps/random.js';
import { DataFrame, type Value } from '../../dataframe/index.js';
import { ErrorCode } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckDifferential, randomTables, SEED } from './duck-differential.js';

const QUERIES = 80;

/** Few values, so keys repeat; a fifth null. */
function cell(rng: Rng, t: string): Value {
  if (rng.next() < 0.2) return null;
  if (t === 'I') return rng.int(0, 4);
  if (t === 'D') return rng.int(-16, 16) / 8;
  return ['x', 'y', 'z'][rng.int(0, 2)]!;
}

/** A random VALUES list of `rows` rows: columns k (int), label (text), num (a number), flag, day. */
function valuesList(rng: Rng, rows: number): string {
  // The first row has no NULL: a column of NULLs alone is an integer one (DuckDB's type), which
  // DuckDB then casts where text or a boolean is wanted, and eau2 refuses (tested below).
  let first = true;
  const nul = (s: string): string => (!first && rng.next() < 0.2 ? 'NULL' : s);
  const wide = rng.next() < 0.2; // a BIGINT column
  const decimal = rng.next() < 0.5; // a double column, else integers
  const list = Array.from({ length: rows }, () => {
    const num = decimal ? `${rng.int(-16, 16) / 8}` : wide ? `${rng.int(-3, 3) * 3_000_000_000}` : `${rng.int(-9, 9)}`;
    const day = `DATE '2024-0${rng.int(1, 9)}-1${rng.int(0, 9)}'`;
    const row = `(${nul(String(rng.int(0, 5)))}, ${nul(`'${['x', 'y', 'w'][rng.int(0, 2)]}'`)}, ${nul(num)}, ${nul(rng.next() < 0.5 ? 'true' : 'false')}, ${nul(day)})`;
    first = false;
    return row;
  });
  return `VALUES ${list.join(', ')}`;
}

function statement(rng: Rng): string {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)]!;
  const list = valuesList(rng, rng.int(1, 8));
  const named = 'v(k, label, num, flag, day)';
  switch (rng.int(0, 5)) {
    case 0:
      return `SELECT * FROM (${list}) AS ${named}`;
    case 1:
      // DuckDB's default names.
      return `SELECT col0, col2, col4, count(*) AS n FROM (${list}) v GROUP BY col0, col2, col4`;
    case 2:
      return `WITH ${named} AS (${list}) SELECT t.s, v.label, count(*) AS n, sum(t.v) AS sv FROM t JOIN v ON t.k = v.k GROUP BY t.s, v.label`;
    case 3:
      return `SELECT t.k, t.s, v.num, v.flag FROM t LEFT JOIN (${list}) AS ${named} ON t.k = v.k${pick(['', ' WHERE v.flag', ' WHERE t.v > 0'])}`;
    case 4:
      return `WITH ${named} AS (${list}) SELECT k, count(*) AS n, sum(num) AS s, min(day) AS d, max(label) AS l FROM v WHERE k IS NOT NULL OR flag GROUP BY k`;
    default:
      return `SELECT k, label FROM (${list}) AS ${named} UNION SELECT k, s FROM t`;
  }
}

/** Numbers compared as numbers (DuckDB's decimals and bigints), dates as their day numbers. */
const norm = (v: unknown): unknown => {
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') return Number(v.toPrecision(9));
  if (v !== null && typeof v === 'object') {
    if ('days' in v) return Number((v as { days: number }).days);
    if ('scale' in v && 'value' in v) {
      const d = v as { scale: number; value: bigint };
      return Number(d.value) / 10 ** d.scale;
    }
  }
  return v;
};
const sorted = (_: string[], rows: unknown[][]): string[] => rows.map((r) => JSON.stringify(r.map(norm))).sort();

const duck = duckDifferential('eau2-sql-values-', (rng) => randomTables(rng, { t: 'k:I,s:S,v:D' }, { t: 40 }, cell));

describe('VALUES lists, against DuckDB', () => {
  it(`gives DuckDB's rows to ${QUERIES} random statements`, async () => {
    onTestFailed(() => console.error(`[sql-values] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const failures = await duck.run(QUERIES, statement, sorted);
    expect(failures.slice(0, 6).join('\n\n'), `${failures.length} of ${QUERIES} queries differ`).toBe('');
  });
});

describe('VALUES', () => {
  const store = new MemoryStore();
  beforeAll(() => DataFrame.put(store, 'p', DataFrame.fromRows('a:I', [[1], [2]])));
  const refused = async (text: string): Promise<{ message: string; at: string; code: string }> => {
    const e = await DataFrame.sql(store, text).then(
      () => {
        throw new Error('not refused');
      },
      (x: Error & { code: string }) => x,
    );
    const lines = e.message.split('\n');
    const caret = lines[lines.length - 1]!;
    const start = caret.indexOf('^') - 2;
    return {
      message: lines[0]!,
      at: text.slice(start, start + caret.trimEnd().length - caret.indexOf('^')),
      code: e.code,
    };
  };

  it('types each column as DuckDB types its literals', async () => {
    const df = await DataFrame.sql(
      store,
      `SELECT * FROM (VALUES (1, 3000000000, 1, 'a', true, DATE '2024-01-02', NULL, TIMESTAMP '2024-01-02 03:04:05', 9007199254740993),
                             (2, 1, 2.5, NULL, NULL, '2024-02-03', NULL, DATE '2024-01-03', -1)) v`,
    );
    expect(df.fields).toEqual([
      { name: 'col0', type: 'I' },
      { name: 'col1', type: 'L' },
      { name: 'col2', type: 'D' },
      { name: 'col3', type: 'S' },
      { name: 'col4', type: 'B' },
      { name: 'col5', type: 'd' },
      { name: 'col6', type: 'I' },
      { name: 'col7', type: 'T' },
      { name: 'col8', type: 'L' },
    ]);
    expect(df.row(1)).toEqual([2, 1n, 2.5, null, null, 19756, null, 1704240000000000n, -1n]);
    // Past 2^53 the digits are read from the text, not the parser's rounded number.
    expect(df.row(0)[8]).toBe(9007199254740993n);
    const signed = await DataFrame.sql(store, 'SELECT * FROM (VALUES (- 7, -(2.5), +3, -9223372036854775808)) v');
    expect(signed.fields.map((f) => f.type)).toEqual(['I', 'D', 'I', 'L']);
    expect(signed.row(0)).toEqual([-7, -2.5, 3, -9223372036854775808n]);
  });

  it('takes parameters as the literals they stand for', async () => {
    const df = await DataFrame.sql(store, 'SELECT * FROM (VALUES ($1, $2, $3, $4, $5)) v', {
      params: [1, 'x', 1234567890123456789n, new Date(0), 2.5],
    });
    expect(df.fields.map((f) => f.type)).toEqual(['I', 'S', 'L', 'T', 'D']);
    expect(df.row(0)).toEqual([1, 'x', 1234567890123456789n, 0n, 2.5]);
  });

  it('names a WITH query’s columns from its list, for VALUES and SELECT alike', async () => {
    const df = await DataFrame.sql(
      store,
      `WITH v (k, "Name") AS (VALUES (1, 'one'), (2, 'two')), w(x) AS (SELECT a FROM p)
       SELECT v."Name", w.x FROM v JOIN w ON v.k = w.x ORDER BY w.x`,
    );
    expect(df.fields.map((f) => f.name)).toEqual(['Name', 'x']);
    expect([...df.rows()]).toEqual([
      ['one', 1],
      ['two', 2],
    ]);
    // The same words in a string are left alone.
    const s = await DataFrame.sql(store, "SELECT 'v(k) AS (' AS t FROM (VALUES (1)) v");
    expect(s.row(0)).toEqual(['v(k) AS (']);
  });

  it('refuses more than 10,000 rows, TOO_LARGE, before building any', async () => {
    const text = `SELECT count(*) FROM (VALUES ${'(1),'.repeat(10_000)}(2)) v`;
    const e = await refused(text);
    expect(e.code).toBe(ErrorCode.TOO_LARGE);
    expect(e.message).toMatch(/^VALUES has 10001 rows, more than 10000: load the rows as a frame/);
    expect(e.at).toBe('2');
  });

  it('refuses what is no list of literals of one type, pointing at it', async () => {
    expect(await refused('SELECT * FROM (VALUES (1, 2), (3)) v')).toMatchObject({
      message: expect.stringMatching(/^VALUES lists must all be the same length/),
      at: '3',
    });
    expect(await refused("SELECT * FROM (VALUES (1), ('a')) v")).toMatchObject({
      message: expect.stringMatching(/^VALUES column 1 mixes int and text: CAST the values to one type/),
      at: "'a'",
    });
    expect(await refused('SELECT * FROM (VALUES (1), (a + 1)) v')).toMatchObject({
      message: expect.stringMatching(/^VALUES takes literals/),
      at: 'a + 1',
    });
    expect(await refused("SELECT * FROM (VALUES (DATE '2024-01-01'), ('soon')) v")).toMatchObject({
      message: expect.stringMatching(/^cannot read this text as a date/),
      at: "'soon'",
    });
    // A column of NULLs alone is an integer one, as in DuckDB, which would cast it to a boolean here.
    expect(await refused('SELECT * FROM (VALUES (NULL)) v(b) WHERE b')).toMatchObject({
      message: expect.stringMatching(/filter must be a boolean expression, not I/),
    });
    expect(await refused('SELECT * FROM (VALUES (1)) AS v(a, b)')).toMatchObject({
      message: expect.stringMatching(/^v names 2 columns, its query has 1/),
    });
  });
});
