// `INTERVAL 90 DAY`, DuckDB's and MySQL's interval literal without quotes, and weeks in either form
// (dataframe/sql/pre-parse.ts): rewritten before parsing, in place and no longer than written, never
// inside a string, a quoted name or a comment; random dates and timestamps plus or minus such an
// interval answer as DuckDB does; a range of units (`YEAR TO MONTH`), which DuckDB refuses too, is an
// error pointing at it. A failure prints the seed; EAU2_TEST_SEED=<seed> replays.

import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { DataFrame } from '../../dataframe/index.js';
import { bareIntervals, intervalRanges, qualifiedIntervals } from '../../dataframe/sql/pre-parse.js';
import { Eau2Error } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckFixture } from './duck-fixture.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);

describe('bareIntervals', () => {
  it.each([
    ['SELECT d - INTERVAL 90 DAY FROM t', "SELECT d - INTERVAL'90DAY' FROM t"],
    ['SELECT d - interval  3\n months', "SELECT d - interval'3months'  "],
    ['x + INTERVAL 2 WEEK', "x + INTERVAL'14DAY'"],
    ['x + INTERVAL 15 weeks', "x + INTERVAL'105day' "],
    ['x + INTERVAL 1.5 HOUR + INTERVAL .5 SECONDS', "x + INTERVAL'1.5HOUR' + INTERVAL'.5SECONDS'"],
  ])('%j', (sql, want) => {
    const got = bareIntervals(sql);
    expect(got).toBe(want);
    expect(got.length).toBe(sql.length);
  });

  it.each([
    "SELECT 'INTERVAL 9 DAY' AS s",
    'SELECT 1 AS "INTERVAL 9 DAY"',
    'SELECT 1 -- INTERVAL 9 DAY\n',
    'SELECT 1 /* INTERVAL 9 DAY /* nested */ INTERVAL 9 DAY */',
    'SELECT $$INTERVAL 9 DAY$$',
    'SELECT myinterval 9 DAY, INTERVAL 9 FORTNIGHT, INTERVAL -1 DAY, INTERVAL 9 DAYLIGHT',
  ])('leaves %j alone', (sql) => {
    expect(bareIntervals(sql)).toBe(sql);
  });

  it('writes weeks in the quoted form as days too', () => {
    expect(qualifiedIntervals("x + INTERVAL '2' WEEK")).toBe("x + INTERVAL '14 DAY'");
    expect(qualifiedIntervals("x + INTERVAL '-3' weeks")).toBe("x + INTERVAL '-21 day' ");
  });

  it('finds a range of units, quoted or not, outside literals', () => {
    const sql = "SELECT 'INTERVAL 1 YEAR TO MONTH', INTERVAL '1-2' YEAR TO MONTH, INTERVAL 3 day to second";
    expect(intervalRanges(sql)).toEqual([
      { start: sql.indexOf("INTERVAL '1-2'"), end: sql.indexOf(', INTERVAL 3') },
      { start: sql.indexOf('INTERVAL 3'), end: sql.length },
    ]);
  });
});

describe('SQL with INTERVAL n UNIT', () => {
  const store = new MemoryStore();
  let con: DuckDBConnection | undefined;
  duckFixture(
    'eau2-sql-interval-',
    (_, c) => {
      con = c;
    },
    { utc: true },
  );

  it('answers as DuckDB does, dates and timestamps plus or minus every unit', async () => {
    onTestFailed(() =>
      console.error(`[sql-interval-bare] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
    );
    const rng = new Rng(SEED);
    const units = ['YEAR', 'MONTHS', 'week', 'DAY', 'days', 'HOUR', 'minute', 'SECONDS'];
    const items: string[] = [];
    for (let i = 0; i < 80; i++) {
      const day = new Date(Date.UTC(1990, 0, 1) + rng.int(0, 20_000) * 86_400_000).toISOString().slice(0, 10);
      const at = rng.bool() ? `DATE '${day}'` : `TIMESTAMP '${day} ${rng.int(10, 23)}:${rng.int(10, 59)}:07'`;
      const sp = (): string => rng.pick([' ', '  ', '\n ']);
      items.push(`${at} ${rng.pick(['+', '-'])} INTERVAL${sp()}${rng.int(0, 400)}${sp()}${rng.pick(units)} AS v${i}`);
    }
    const sql = `SELECT ${items.join(', ')}`;
    const got = [...(await DataFrame.sql(store, sql)).rows()][0]!;
    const duck = (
      await con!.runAndReadAll(`SELECT ${items.map((x) => `epoch_us(${x.replace(/ AS v\d+$/, '')})`).join(', ')}`)
    ).getRows()[0]!;
    items.forEach((x, i) => {
      expect(got[i], x).toBe(BigInt(duck[i] as bigint));
    });
  });

  it.each([
    ["SELECT DATE '2024-01-31' + INTERVAL '1-2' YEAR TO MONTH", "INTERVAL '1-2'", 'range of units (YEAR TO MONTH)'],
    ["SELECT DATE '2024-01-31' + INTERVAL 3 DAY TO HOUR", 'INTERVAL 3', 'range of units'],
    ["SELECT DATE '2024-01-31' + INTERVAL 1.5 DAY", 'INTERVAL 1.5', 'a fractional year, month or day'],
    ["SELECT DATE '2024-01-31' + INTERVAL 2 DAY + nosuch", 'nosuch', 'no column named nosuch'],
  ])('%s', async (sql, at, msg) => {
    const err = await DataFrame.sql(store, sql).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Eau2Error);
    expect((err as Error).message).toContain(msg);
    expect((err as Eau2Error).details).toMatchObject({ offset: sql.indexOf(at) });
  });

  it('names a result column by the text as written', async () => {
    const df = await DataFrame.sql(store, "SELECT DATE '1998-12-01' - INTERVAL 90 DAY");
    expect(df.fields[0]!.name).toBe("DATE '1998-12-01' - INTERVAL 90 DAY");
    expect([...df.rows()][0]![0]).toBe(BigInt(Date.parse('1998-09-02T00:00:00Z')) * 1000n);
  });
});
