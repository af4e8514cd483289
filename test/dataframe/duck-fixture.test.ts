// The DuckDB fixture's loader, which the differential tests rely on to give DuckDB the same values
// eau2 holds: -0, NaN and the infinities arrive as they are (String(-0) is "0", and NaN is no SQL
// literal).

import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { DataFrame } from '../../dataframe/index.js';
import { duckFixture, duckLoad } from './duck-fixture.js';

let con: DuckDBConnection;
duckFixture('eau2-duck-fixture-', (_dir, c) => {
  con = c;
});

describe('duckLoad', () => {
  it('keeps -0, NaN and the infinities of a double column', async () => {
    const xs = [-0, 0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.5, null];
    await duckLoad(con, 't', DataFrame.fromColumns({ i: xs.map((_, k) => k), x: xs }, { schema: 'i:I,x:D' }));
    const rows = (await con.runAndReadAll('SELECT x, 1 / x, isnan(x) FROM t ORDER BY i')).getRows();
    expect(rows.map((r) => r[0])).toEqual(xs);
    // The sign of zero shows through division.
    expect(rows.slice(0, 2).map((r) => r[1])).toEqual([Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]);
    expect(rows.map((r) => r[2])).toEqual([false, false, true, false, false, false, null]);
  });
});
