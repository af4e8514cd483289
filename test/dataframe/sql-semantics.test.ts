// SQL cases where eau2 once answered differently from PostgreSQL and DuckDB, each found by the
// differential test (sql-duckdb.test.ts) and reduced to a few rows; the expected answers are
// PostgreSQL's.

import { describe, expect, it } from 'vitest';
import { col, DataFrame, eq, lt } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { rowsOf } from './helpers.js';

async function fixture(): Promise<MemoryStore> {
  const store = new MemoryStore();
  await DataFrame.put(
    store,
    'f',
    DataFrame.fromRows('id:I,l:L,dt:d,t:T', [
      [1, 5n, 0, 0n],
      [2, 6n, 1, 86_400_000_000n],
      [3, null, null, null],
    ]),
    { chunkRows: 2 },
  );
  return store;
}

const ids = async (store: MemoryStore, sql: string): Promise<unknown[]> =>
  rowsOf(await DataFrame.sql(store, sql)).map((r) => r[0]);

describe('SQL as PostgreSQL answers it', () => {
  it('compares a computed int64, date or timestamp with a literal in the value type', async () => {
    const store = await fixture();
    expect(await ids(store, 'SELECT id FROM f WHERE COALESCE(l, l) <> 5')).toEqual([2]);
    expect(await ids(store, 'SELECT id FROM f WHERE COALESCE(l, l) IN (5, 6)')).toEqual([1, 2]);
    expect(await ids(store, "SELECT id FROM f WHERE COALESCE(dt, dt) = '1970-01-02'")).toEqual([2]);
    expect(await ids(store, "SELECT id FROM f WHERE CAST(dt AS timestamp) >= '1970-01-02'")).toEqual([2]);
    expect(await ids(store, "SELECT id FROM f WHERE CAST(t AS date) IN ('1970-01-01', '1999-01-01')")).toEqual([1]);
    expect(await ids(store, "SELECT id FROM f WHERE '1970-01-01T12:00:00Z' > COALESCE(t, t)")).toEqual([1]);
  });

  it('makes IN null, not false, for a value missing from a list that holds NULL', async () => {
    const store = await fixture();
    expect(rowsOf(await DataFrame.sql(store, 'SELECT id, id IN (1, NULL), l IN (5, NULL) FROM f'))).toEqual([
      [1, true, true],
      [2, null, null],
      [3, null, null],
    ]);
    expect(await ids(store, 'SELECT id FROM f WHERE id NOT IN (1, NULL)')).toEqual([]);
    expect(await ids(store, 'SELECT id FROM f WHERE id NOT IN (1, 7)')).toEqual([2, 3]);
  });

  it('reads an IN list of one value', async () => {
    const store = await fixture();
    expect(await ids(store, 'SELECT id FROM f WHERE id IN (2)')).toEqual([2]);
    expect(await ids(store, 'SELECT id FROM f WHERE l NOT IN (-5)')).toEqual([1, 2]);
    expect(await ids(store, "SELECT id FROM f WHERE dt IN ('1970-01-01')")).toEqual([1]);
  });

  it('reads an integer literal past 2^53 as its exact int64', async () => {
    const store = new MemoryStore();
    const big = 2n ** 53n + 1n;
    await DataFrame.put(
      store,
      'b',
      DataFrame.fromRows('id:I,l:L', [
        [1, big],
        [2, -big],
        [3, big - 1n],
        [4, null],
      ]),
    );
    expect(await ids(store, `SELECT id FROM b WHERE l = ${big}`)).toEqual([1]);
    expect(await ids(store, `SELECT id FROM b WHERE l = -${big}`)).toEqual([2]);
    expect(await ids(store, `SELECT id FROM b WHERE l = - ${big}`)).toEqual([2]);
    expect(await ids(store, `SELECT id FROM b WHERE l IN (${big}, 7)`)).toEqual([1]);
    expect(await ids(store, `SELECT id FROM b WHERE l IN (-${big}, 7)`)).toEqual([2]);
    expect(await ids(store, `SELECT id FROM b WHERE l NOT IN (${big})`)).toEqual([2, 3]);
    expect(await ids(store, `SELECT id FROM b WHERE l NOT IN (${big}, NULL)`)).toEqual([]);
    expect(rowsOf(await DataFrame.sql(store, `SELECT ${big}, -9223372036854775808 FROM b LIMIT 1`))).toEqual([
      [big, -(2n ** 63n)],
    ]);
  });

  it('takes an int64 with an integer or an integer literal in COALESCE and CASE, as bigint', async () => {
    const store = new MemoryStore();
    const big = 2n ** 53n + 1n;
    await DataFrame.put(
      store,
      'b',
      DataFrame.fromRows('id:I,l:L,b:B', [
        [1, big, true],
        [2, null, false],
      ]),
    );
    const df = await DataFrame.sql(
      store,
      'SELECT COALESCE(l, 7), COALESCE(l, id), CASE WHEN b THEN 5 WHEN id = 2 THEN l ELSE 7 END, CASE WHEN b THEN l ELSE -1 END FROM b',
    );
    expect(df.schema).toBe('LLLL');
    expect(rowsOf(df)).toEqual([
      [big, big, 5n, big],
      [7n, 2n, null, -1n],
    ]);
    expect(rowsOf(await DataFrame.sql(store, 'SELECT sum(COALESCE(l, 1)) FROM b'))).toEqual([[big + 1n]]);
  });

  it('casts text with leading zeros to bigint as to int', async () => {
    const store = new MemoryStore();
    await DataFrame.put(
      store,
      't',
      DataFrame.fromRows('s:S', [['00012'], [' -007 '], ['+0'], ['9223372036854775808']]),
    );
    expect(rowsOf(await DataFrame.sql(store, 'SELECT CAST(s AS bigint), CAST(s AS int) FROM t'))).toEqual([
      [12n, 12],
      [-7n, -7],
      [0n, 0],
      [null, null], // out of range: null, as a TRY_CAST
    ]);
  });

  it('compares NaN as the greatest number and equal to itself, as it sorts', async () => {
    const store = new MemoryStore();
    await DataFrame.put(
      store,
      'n',
      DataFrame.fromColumns({
        id: new Int32Array([1, 2, 3, 4]),
        x: new Float64Array([Number.NaN, 1, Number.POSITIVE_INFINITY, Number.NaN]),
        y: new Float64Array([Number.NaN, Number.NaN, 1, 2]),
      }),
      { chunkRows: 2 },
    );
    const cmp = 'x = x, x > 5, x >= 5, x < 5, x <= 5, x <> 5, x = y, x > y, x < y, NOT (x > 5)';
    expect(rowsOf(await DataFrame.sql(store, `SELECT id, ${cmp} FROM n`))).toEqual([
      [1, true, true, true, false, false, true, true, false, false, false],
      [2, true, false, false, true, true, true, false, false, true, true],
      [3, true, true, true, false, false, true, false, true, false, false],
      [4, true, true, true, false, false, true, false, true, false, false],
    ]);
    // The filter kernels (a column against a literal, first term or narrowing a selection).
    expect(await ids(store, 'SELECT id FROM n WHERE x > 5')).toEqual([1, 3, 4]);
    expect(await ids(store, 'SELECT id FROM n WHERE id > 0 AND x >= 1')).toEqual([1, 2, 3, 4]);
    expect(await ids(store, 'SELECT id FROM n WHERE 5 < x')).toEqual([1, 3, 4]);
    expect(await ids(store, 'SELECT id FROM n WHERE x <= 1')).toEqual([2]);
    expect(await ids(store, 'SELECT id FROM n WHERE x BETWEEN 0 AND 2')).toEqual([2]);
    // A NaN literal (the API allows one): every number is below it, so no zone map may skip a chunk.
    const lf = await DataFrame.get(store, 'n');
    expect((await lf.filter(lt(col('x'), Number.NaN)).collect()).column('id').toArray()).toEqual([2, 3]);
    expect((await lf.filter(eq(col('x'), Number.NaN)).collect()).column('id').toArray()).toEqual([1, 4]);
  });
});
