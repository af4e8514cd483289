// `INTERVAL 'n' UNIT [(p)]`, the SQL standard's interval literal (dataframe/sql/pre-parse.ts):
// rewritten before parsing, in place and at its own length, never inside a string, a quoted name or a
// comment; a statement using it answers as the same statement written `INTERVAL 'n unit'`, and a
// date plus whole days as the calendar says. A failure prints the seed; EAU2_TEST_SEED=<seed> replays.

import { describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { DataFrame } from '../../dataframe/index.js';
import {
  distinctFrom,
  naturalJoins,
  qualifiedIntervals,
  setOperators,
  windowFrames,
} from '../../dataframe/sql/pre-parse.js';
import { MemoryStore } from '../support/memory-store.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);

describe('qualifiedIntervals', () => {
  it.each([
    ["SELECT d - INTERVAL '90' DAY FROM t", "SELECT d - INTERVAL '90 DAY' FROM t"],
    ["SELECT d - interval '90' day (3) FROM t", "SELECT d - interval '90 day'     FROM t"],
    ["x + INTERVAL  '-1.5'\n HOURS", "x + INTERVAL  '-1.5 HOURS' "],
    ["x+INTERVAL'3'MONTH", "x+INTERVAL'3'MONTH"], // no space before the unit: not the form
    ["a + INTERVAL '1' YEAR + INTERVAL '2' MONTH", "a + INTERVAL '1 YEAR' + INTERVAL '2 MONTH'"],
  ])('%j', (sql, want) => {
    const got = qualifiedIntervals(sql);
    expect(got).toBe(want);
    expect(got.length).toBe(sql.length);
  });

  it.each([
    "SELECT 'INTERVAL ''9'' DAY' AS s",
    "SELECT E'it\\'s INTERVAL ''9'' DAY' AS s",
    'SELECT 1 AS "INTERVAL \'9\' DAY"',
    "SELECT 1 -- INTERVAL '9' DAY\n",
    "SELECT 1 /* INTERVAL '9' DAY /* nested */ INTERVAL '9' DAY */",
    "SELECT $$INTERVAL '9' DAY$$, $q$ INTERVAL '9' DAY $q$",
    "SELECT myinterval '9' DAY",
    "SELECT INTERVAL '9 days', INTERVAL '1' FORTNIGHT",
  ])('leaves %j alone', (sql) => {
    expect(qualifiedIntervals(sql)).toBe(sql);
  });

  it.each([
    "SELECT 'a''' || 'b', INTERVAL '2' DAY",
    // What opens a comment or a dollar-quoted string inside a string or a name opens nothing.
    "SELECT '--' AS a, INTERVAL '2' DAY",
    "SELECT '/*' AS a, INTERVAL '2' DAY",
    "SELECT E'\\\\' AS a, E'\\\\'' /*' AS b, INTERVAL '2' DAY",
    "SELECT E'it\\'s /*' AS a, INTERVAL '2' DAY",
    'SELECT 1 AS "$$", INTERVAL \'2\' DAY',
    "SELECT 1 /* -- */, INTERVAL '2' DAY",
  ])('rewrites what follows %j', (sql) => {
    expect(qualifiedIntervals(sql)).toBe(sql.replace("INTERVAL '2' DAY", "INTERVAL '2 DAY'"));
  });
});

describe('setOperators', () => {
  it('writes each as a UNION of its length and says where it was', () => {
    const sql =
      "SELECT a FROM t intersect SELECT a FROM u EXCEPT ALL SELECT 'except' -- intersect\n EXCEPT DISTINCT SELECT 1";
    const { text, ops } = setOperators(sql);
    expect(text.length).toBe(sql.length);
    expect(text).toBe(
      "SELECT a FROM t UNION ALL SELECT a FROM u UNION ALL  SELECT 'except' -- intersect\n UNION ALL       SELECT 1",
    );
    expect(ops).toEqual([
      { at: sql.indexOf('intersect'), op: 'intersect' },
      { at: sql.indexOf('EXCEPT ALL'), op: 'except all' },
      { at: sql.indexOf('EXCEPT DISTINCT'), op: 'except' },
    ]);
    expect(setOperators('SELECT exceptional, intersection FROM "EXCEPT"')).toEqual({
      text: 'SELECT exceptional, intersection FROM "EXCEPT"',
      ops: [],
    });
  });
});

describe('naturalJoins', () => {
  it('blanks out NATURAL before a JOIN and says where the join starts', () => {
    const sql = "SELECT natural FROM a NATURAL  LEFT JOIN b natural join c WHERE s = 'NATURAL JOIN'";
    const { text, joins } = naturalJoins(sql);
    expect(text).toBe("SELECT natural FROM a          LEFT JOIN b         join c WHERE s = 'NATURAL JOIN'");
    expect(joins).toEqual([sql.indexOf('LEFT'), sql.indexOf('join c')]);
  });
});

describe('windowFrames', () => {
  it('blanks out a frame at the end of an OVER and reads its bounds', () => {
    const a = 'rows between 6 PRECEDING and CURRENT ROW';
    const b = 'RANGE UNBOUNDED PRECEDING';
    const sql = `SELECT sum(x) OVER (ORDER BY d ${a}), count(*) OVER (ORDER BY d ${b} ), 'ROWS 1 PRECEDING)' FROM rows`;
    const { text, frames } = windowFrames(sql);
    expect(text).toBe(sql.replace(a, ' '.repeat(a.length)).replace(b, ' '.repeat(b.length)));
    expect(frames).toEqual([
      { at: sql.indexOf(a), end: sql.indexOf(a) + a.length, rows: true, start: -6, stop: 0 },
      { at: sql.indexOf(b), end: sql.indexOf(b) + b.length, rows: false, start: -Infinity, stop: 0 },
    ]);
  });
});

describe('SQL with INTERVAL n UNIT', () => {
  const store = new MemoryStore();
  const one = async (sql: string): Promise<unknown> => [...(await DataFrame.sql(store, sql)).rows()][0]![0];

  it('answers as the PostgreSQL form, and whole days as the calendar', async () => {
    onTestFailed(() => console.error(`[sql-pre-parse] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const rng = new Rng(SEED);
    const units = ['year', 'month', 'day', 'hour', 'minute', 'second'];
    for (let i = 0; i < 60; i++) {
      const day = new Date(Date.UTC(1990, 0, 1) + rng.int(0, 20_000) * 86_400_000).toISOString().slice(0, 10);
      const unit = units[rng.int(0, units.length - 1)]!;
      const n = rng.int(-400, 400);
      const op = rng.int(0, 1) === 0 ? '+' : '-';
      const standard = `SELECT DATE '${day}' ${op} INTERVAL '${n}' ${unit.toUpperCase()}${rng.int(0, 1) ? ' (3)' : ''} AS v`;
      const postgres = `SELECT DATE '${day}' ${op} INTERVAL '${n} ${unit}s' AS v`;
      const got = await one(standard);
      expect(got, standard).toEqual(await one(postgres));
      if (unit === 'day') {
        const days = op === '+' ? n : -n;
        expect(got, standard).toBe(BigInt(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000) * 1000n);
      }
    }
  });

  it('keeps error carets and result names on the text as written', async () => {
    const err = await DataFrame.sql(store, "SELECT DATE '1998-12-01' - INTERVAL '90' DAY (3) + nosuch").catch(
      (e: Error & { details?: { column?: number } }) => e,
    );
    expect((err as Error).message).toMatch(/nosuch/);
    expect((err as { details?: { column?: number } }).details?.column).toBe(
      "SELECT DATE '1998-12-01' - INTERVAL '90' DAY (3) + ".length + 1,
    );
    const df = await DataFrame.sql(store, "SELECT DATE '1998-12-01' - INTERVAL '90' DAY");
    expect(df.fields[0]!.name).toBe("DATE '1998-12-01' - INTERVAL '90' DAY");
    expect(await one("SELECT 'INTERVAL ''9'' DAY' AS s")).toBe("INTERVAL '9' DAY");
  });
});

describe('IS [NOT] DISTINCT FROM', () => {
  it('is written as a comparison of its length', () => {
    const sql = "SELECT a IS NOT DISTINCT FROM b, a is distinct\n from b, 'IS DISTINCT FROM' FROM t";
    const { text, at } = distinctFrom(sql);
    const pad = (w: string, n: number): string => w.padEnd(n, ' ');
    expect(text).toBe(
      sql
        .replace('IS NOT DISTINCT FROM', pad('=', 'IS NOT DISTINCT FROM'.length))
        .replace('is distinct\n from', pad('<>', 'is distinct\n from'.length)),
    );
    expect(at).toEqual([sql.indexOf('IS NOT'), sql.indexOf('is distinct')]);
  });

  it('compares nulls as values, as a loop over the rows says', async () => {
    onTestFailed(() => console.error(`[sql-pre-parse] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const rng = new Rng(SEED ^ 0xd15);
    const nums = [null, 0, -0, 1.5, Number.NaN, 2];
    const strs = [null, 'x', 'y', ''];
    const rows = Array.from({ length: 200 }, () => [
      nums[rng.int(0, nums.length - 1)]!,
      nums[rng.int(0, nums.length - 1)]!,
      strs[rng.int(0, strs.length - 1)]!,
      strs[rng.int(0, strs.length - 1)]!,
    ]);
    const store = new MemoryStore();
    await DataFrame.put(store, 'd', DataFrame.fromRows('a:D,b:D,s:S,u:S', rows), { chunkRows: 37 });
    // Equal as SQL's = is, with NaN equal to NaN (as in PostgreSQL and DuckDB), and null equal to null.
    const same = (x: unknown, y: unknown): boolean =>
      x === null || y === null ? x === y : x === y || (Number.isNaN(x) && Number.isNaN(y));
    const got = [
      ...(
        await DataFrame.sql(
          store,
          'SELECT a IS DISTINCT FROM b AS d, s IS NOT DISTINCT FROM u AS n, NOT a IS NOT DISTINCT FROM b AND s IS DISTINCT FROM u AS e FROM d',
        )
      ).rows(),
    ];
    expect(got).toEqual(rows.map(([a, b, s, u]) => [!same(a, b), same(s, u), !same(a, b) && !same(s, u)]));
    const where = await DataFrame.sql(store, 'SELECT count(*) AS n FROM d WHERE a IS NOT DISTINCT FROM b');
    expect([...where.rows()][0]![0]).toBe(rows.filter(([a, b]) => same(a, b)).length);
  });
});
