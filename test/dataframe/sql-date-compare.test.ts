// Dates compared with timestamps, and constant bounds folded before a query runs
// (dataframe/query/fold.ts). SQL compares a date with a timestamp as the date's midnight (`DATE -
// INTERVAL` is a timestamp, so TPC-H's `l_shipdate <= DATE '1998-12-01' - INTERVAL '90 days'` is
// one), and a constant bound such as `DATE '2024-01-01'` must reach the zone maps as a literal. What
// must hold: every answer equals DuckDB's on random dates, timestamps and bounds either side of
// midnight, under NOT and OR (where a rewrite that is not exact for null rows would show); a bound
// written as a typed literal or an expression skips chunks as a text literal does; number literals
// in a bound add up as SQL's decimals do.

import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { DataFrame, queryStats, type Value } from '../../dataframe/index.js';
import { col, ge, lt } from '../../dataframe/query/expr.js';
import { cast } from '../../dataframe/query/expr-fns.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckFixture } from './duck-fixture.js';
import { FakeCluster } from './fake-cluster.js';
import { rowsOf, seededRng } from './helpers.js';

let con: DuckDBConnection;
duckFixture('eau2-datecmp-', (_dir, c) => void (con = c), { utc: true });

const DAY_US = 86_400_000_000n;
const isoDay = (d: number): string => new Date(d * 86_400_000).toISOString().slice(0, 10);
const isoTs = (us: bigint): string => new Date(Number(us / 1000n)).toISOString().replace('T', ' ').replace('Z', '');

describe('dates against timestamps, and folded bounds', () => {
  it('answers as DuckDB: random dates, timestamps and constant bounds, under NOT and OR', async () => {
    const rng = seededRng();
    const n = 600;
    const ids: number[] = [];
    const days: (number | null)[] = [];
    const times: (bigint | null)[] = [];
    for (let r = 0; r < n; r++) {
      ids.push(r);
      // Days around a few hundred; timestamps on those days, often exactly at midnight.
      const d = 19_000 + rng.int(0, 300);
      days.push(rng.bool(0.1) ? null : d);
      const at = rng.pick([0n, 1n, BigInt(rng.int(0, 86_399)) * 1_000_000n, DAY_US - 1n]);
      times.push(rng.bool(0.1) ? null : BigInt(19_000 + rng.int(0, 300)) * DAY_US + at);
    }
    const df = DataFrame.fromColumns({
      id: { type: 'I', values: ids },
      d: { type: 'd', values: days },
      t: { type: 'T', values: times },
    });
    const plain = new MemoryStore();
    const cluster = new FakeCluster(3, 16, 2);
    await DataFrame.put(plain, 'f', df, { chunkRows: 50 });
    await DataFrame.put(cluster, 'f', df, { chunkRows: 50 });
    await con.run('CREATE OR REPLACE TABLE f (id INTEGER, d DATE, t TIMESTAMP)');
    await con.run(
      `INSERT INTO f VALUES ${ids
        .map(
          (i) =>
            `(${i}, ${days[i] === null ? 'NULL' : `DATE '${isoDay(days[i]!)}'`}, ${times[i] === null ? 'NULL' : `make_timestamp(${times[i]}::BIGINT)`})`,
        )
        .join(',')}`,
    );
    const bound = (): string => {
      const d = 19_000 + rng.int(-2, 302);
      switch (rng.int(0, 5)) {
        case 0:
          return `DATE '${isoDay(d)}'`;
        case 1:
          return `DATE '${isoDay(d)}' ${rng.pick(['+', '-'])} INTERVAL '${rng.int(0, 40)} ${rng.pick(['days', 'hours', 'months', 'minutes'])}'`;
        case 2:
          return `TIMESTAMP '${isoTs(BigInt(d) * DAY_US + rng.pick([0n, 1_000_000n, DAY_US - 1_000_000n]))}'`;
        case 3:
          return `'${isoDay(d)}'::date`;
        case 4:
          return 't';
        default:
          return 'd';
      }
    };
    const term = (): string => {
      const left = rng.pick(['d', 't']);
      const op = rng.pick(['=', '<>', '<', '<=', '>', '>=']);
      const right = bound();
      return rng.bool() ? `${left} ${op} ${right}` : `${right} ${op} ${left}`;
    };
    for (let q = 0; q < 250; q++) {
      let where = term();
      if (rng.bool(0.3)) where = `NOT (${where})`;
      if (rng.bool(0.3)) where = `(${where}) ${rng.pick(['AND', 'OR'])} (${term()})`;
      const sql = `SELECT id FROM f WHERE ${where} ORDER BY id`;
      const want = (await con.runAndReadAll(sql)).getRows().map((r) => [Number(r[0])]);
      for (const store of [plain, cluster]) {
        const got = rowsOf(await DataFrame.sql(store, sql));
        expect(got, `query ${q}: ${sql}`).toEqual(want);
      }
      // The same condition as a computed column (evaluated, not folded), nulls included.
      const sel = `SELECT id, ${where} AS c FROM f ORDER BY id`;
      const rows = (await con.runAndReadAll(sel)).getRows().map((r) => [Number(r[0]), r[1]]);
      expect(rowsOf(await DataFrame.sql(cluster, sel)), `query ${q}: ${sel}`).toEqual(rows);
    }
  });

  it('a typed bound or a constant expression skips chunks as a text literal does', async () => {
    const n = 1000;
    const df = DataFrame.fromColumns({
      d: { type: 'd', values: Array.from({ length: n }, (_, r) => 19_000 + Math.floor(r / 10)) },
      t: { type: 'T', values: Array.from({ length: n }, (_, r) => (19_000n + BigInt(Math.floor(r / 10))) * DAY_US) },
    });
    const store = new MemoryStore();
    await DataFrame.put(store, 'f', df, { chunkRows: 100 });
    // 19090 is 2022-01-08 + 90 days: the last chunk's tenth day.
    const last = isoDay(19_090);
    for (const where of [
      `d >= '${last}'`,
      `d >= DATE '${last}'`,
      `d >= '${last}'::date`,
      `d > DATE '${last}' - INTERVAL '1 day'`,
      `d >= DATE '${last}' - INTERVAL '1 second'`,
      `t >= DATE '${last}'`,
      `d >= TIMESTAMP '${last} 00:00:00'`,
    ]) {
      const sql = `SELECT count(*) AS n FROM f WHERE ${where}`;
      const plan = rowsOf(await DataFrame.sql(store, `EXPLAIN ${sql}`)).join('\n');
      expect(plan, where).toContain('chunks skipped: 9 of 10');
      expect(rowsOf(await DataFrame.sql(store, sql)), where).toEqual([[100]]);
    }
    // The API: a cast literal is folded too.
    const lf = await DataFrame.get(store, 'f');
    const r = await lf.filter(ge(col('d'), cast(last, 'd'))).collect();
    expect(r.nrows).toBe(100);
    expect(queryStats(r)?.chunksSkipped).toBe(9);
    const t = await lf.filter(lt(col('t'), cast(isoDay(19_010), 'd'))).collect();
    expect(t.nrows).toBe(100);
    expect(queryStats(t)?.chunksSkipped).toBe(9);
    // A date is its midnight: equal to a timestamp at it, less than any later one.
    const eq = rowsOf(await DataFrame.sql(store, `SELECT count(*) FROM f WHERE d = TIMESTAMP '${last} 00:00:00'`));
    const ne = rowsOf(await DataFrame.sql(store, `SELECT count(*) FROM f WHERE d = TIMESTAMP '${last} 00:00:01'`));
    expect([eq, ne]).toEqual([[[10]], [[0]]] as Value[][][]);
  });

  it('adds, subtracts and multiplies number literals in a bound exactly, as SQL decimals', async () => {
    const store = new MemoryStore();
    const xs = [0.04, 0.05, 0.06, 0.07, 0.08, 0.3, 0.7];
    await DataFrame.put(store, 'f', DataFrame.fromColumns({ x: { type: 'D', values: xs } }));
    await con.run('CREATE OR REPLACE TABLE g (x DOUBLE)');
    await con.run(`INSERT INTO g VALUES ${xs.map((x) => `(${x})`).join(',')}`);
    for (const where of [
      'x BETWEEN 0.06 - 0.01 AND 0.06 + 0.01',
      'x <= 0.1 * 3',
      'x >= 0.1 * 3 AND x < 1 - 0.3',
      'x = -(-0.7)',
      'x > 0.3 - 0.1 - 0.1',
    ]) {
      const want = (await con.runAndReadAll(`SELECT x FROM g WHERE ${where} ORDER BY x`)).getRows();
      const got = rowsOf(await DataFrame.sql(store, `SELECT x FROM f WHERE ${where} ORDER BY x`));
      expect(got, where).toEqual(want);
    }
  });
});
