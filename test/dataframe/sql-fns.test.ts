// The analyst's functions (docs/dataframe.md "Computed columns" and "SQL"): date_trunc, date_diff,
// intervals, the string functions, the math functions, greatest/least/nullif. Each one is run over a
// fixed table of edge values (empty strings, a tab, NaN, ±Infinity, 0, negative numbers, times before
// 1970, month ends, leap days, nulls), stored in small chunks on a FakeCluster (so the functions run
// on the nodes, through msgpack), and compared cell by cell with DuckDB over the same table; where
// eau2 differs from DuckDB by design, DuckDB is asked for eau2's documented answer. Then the errors
// (pointing at the call), the bounds on memory and regex time, and the TypeScript builders.

import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  col,
  DataFrame,
  dateAdd,
  dateDiff,
  dateTrunc,
  greatest,
  least,
  left,
  ln,
  log,
  lpad,
  nullif,
  power,
  regexpMatches,
  repeat,
  replace,
  reverse,
  right,
  round,
  rpad,
  sign,
  splitPart,
  strpos,
  trim,
  trunc,
  type Value,
} from '../../dataframe/index.js';
import { FakeCluster } from './fake-cluster.js';

const SCHEMA = 's:S,u:S,x:D,y:D,i:I,t:T,t2:T,d:d';
const US_DAY = 86_400_000_000n;
const ts = (iso: string): bigint => BigInt(Date.parse(iso)) * 1000n;
const day = (iso: string): number => Date.parse(iso) / 86_400_000;
const ROWS: Value[][] = [
  ['a,b,c', ',', 2.5, 2, 3, ts('2024-03-07T11:52:25.678Z') + 901n, ts('2024-02-29T00:00:00Z'), day('2024-01-31')],
  ['', '', 0, -1, 0, -1n, 0n, day('1969-12-31')],
  ['\tx  ', ' ', -2.5, 0.5, -7, ts('1969-12-31T23:00:00Z'), ts('1970-01-01T01:00:00Z'), day('2024-02-29')],
  [
    'Gamma',
    'a',
    Number.NaN,
    3,
    45,
    ts('1901-01-01T00:00:00Z'),
    ts('2099-12-31T23:59:59Z') + 999_999n,
    day('1901-03-31'),
  ],
  [
    'abcabc',
    'bc',
    Number.POSITIVE_INFINITY,
    -0.5,
    1,
    ts('2024-12-31T23:59:59Z'),
    ts('2025-01-01T00:00:00Z'),
    day('2023-12-31'),
  ],
  [
    'delta ',
    'ta',
    Number.NEGATIVE_INFINITY,
    10,
    -1,
    ts('2024-01-01T10:00:00Z'),
    ts('2024-01-08T09:00:00Z'),
    day('2024-01-08'),
  ],
  ['aaa', 'aa', 1, 1, 2, ts('2023-05-31T12:00:00Z'), ts('2023-03-31T12:00:00Z'), day('2000-02-29')],
  [null, null, null, null, null, null, null, null],
  ['xyx', null, 1e300, null, null, ts('2024-06-15T00:00:00Z'), null, null],
];

/** eau2's SQL and DuckDB's for the same value (DuckDB's with eau2's answer where they differ by design). */
const ieeeLn = (f: string, v: string): string =>
  `CASE WHEN ${v} > 0 THEN ${f}(${v}) WHEN ${v} = 0 THEN '-inf'::DOUBLE WHEN ${v} < 0 THEN 'nan'::DOUBLE END`;
const CASES: [string, string?][] = [
  // round to decimal places, as DuckDB rounds a double (x itself, or 0 for negative places, where
  // the scaled value is not finite)
  ['round(x, 0)'],
  ['round(x, 1)'],
  ['round(y, 1)'],
  ['round(x * 1.005, 2)'],
  ['round(x * 1234.5678, -2)'],
  ['round(y * 17.4, i)', 'round(y * 17.4, i)'],
  ['round(x, 400)'],
  // strings
  ['replace(s, u, s)'],
  ["replace(s, 'a', 'XY')"],
  ["replace(s, '', 'X')"],
  ['split_part(s, u, i)'],
  ["split_part(s, ',', -1)"],
  ["split_part(s, '', 2)"],
  ["split_part(s, ',', 0)"],
  ['strpos(s, u)'],
  ['position(u IN s)'],
  ["instr(s, 'a')"],
  ['left(s, i)'],
  ['right(s, i)'],
  ['left(s, 2)'],
  ['right(s, -1)'],
  ["lpad(s, 7, 'xy')"],
  ["rpad(s, 4, 'xy')"],
  ["lpad(s, i, '*')"],
  ["rpad(s, 0, '*')"],
  ['ltrim(s)'],
  ['rtrim(s)'],
  ['trim(s)'],
  ["trim(s, 'xa')"],
  ["ltrim(s, 'ab')"],
  ["rtrim(s, 'c ')"],
  ['reverse(s)'],
  ['repeat(s, i)'],
  ['repeat(u, 3)'],
  ["regexp_matches(s, 'b.$')"],
  ["regexp_matches(s, '^[a-z]+$')"],
  ["regexp_matches(s, '(a|b)+c')"],
  ["regexp_matches(s, '\\s')"],
  // math (IEEE 754 where DuckDB fails: logs of 0 and negatives)
  ['ln(x)', ieeeLn('ln', 'x')],
  ['log10(x)', ieeeLn('log10', 'x')],
  ['log2(y)', ieeeLn('log2', 'y')],
  ['log(x)', ieeeLn('log10', 'x')],
  ['log(2, y)', `(${ieeeLn('ln', 'y')}) / ln(2)`],
  ['log(y, 8)', `ln(8) / (${ieeeLn('ln', 'y')})`],
  ['exp(y)'],
  ['exp(x)'],
  ['power(x, y)'],
  ['pow(y, 2)'],
  ['power(y, x)'],
  ['power(-8, 1.0 / 3)'],
  ['sign(x)'],
  ['sign(i)'],
  ['mod(x, y)'],
  ['mod(i, 3)', 'mod(i::DOUBLE, 3)'],
  ['trunc(x)'],
  ['trunc(y)'],
  ['greatest(x, y)'],
  ['least(x, y)'],
  ['greatest(i, y, 1)'],
  ['least(s, u)'],
  ['greatest(t, t2)', 'epoch_us(greatest(t, t2))'],
  ['least(d, d)', "date_diff('day', DATE '1970-01-01', least(d, d))"],
  ['nullif(i, 3)'],
  ['nullif(x, y)'],
  ["nullif(s, '')"],
  // dates and times
  ...['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second'].flatMap((u): [string, string][] => [
    [`date_trunc('${u}', t)`, `epoch_us(date_trunc('${u}', t))`],
    [`date_trunc('${u}', d)`, `epoch_us(date_trunc('${u}', d))`],
  ]),
  ...['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second', 'millisecond', 'microsecond'].map(
    (u): [string] => [`date_diff('${u}', t, t2)`],
  ),
  ["datediff('month', d, t)"],
  ["date_diff('day', t2, d)"],
  ["date_diff('week', d, t2)"],
  ...[
    '1 month',
    '-1 month',
    '1 year',
    '3 months',
    '1 day',
    '2 hours 30 minutes',
    '1 year 2 months 3 days 04:05:06.5',
    '-10 days',
  ].flatMap((iv): [string, string][] => [
    [`t + INTERVAL '${iv}'`, `epoch_us(t + INTERVAL '${iv}')`],
    [`d - INTERVAL '${iv}'`, `epoch_us(d - INTERVAL '${iv}')`],
    [`INTERVAL '${iv}' + d`, `epoch_us(INTERVAL '${iv}' + d)`],
  ]),
  ["date_add(t2, INTERVAL '1 month')", "epoch_us(date_add(t2, INTERVAL '1 month'))"],
];

let duck: DuckDBInstance;
let con: DuckDBConnection;
const store = new FakeCluster();

function duckLiteral(v: Value, type: string): string {
  if (v === null) return 'NULL';
  if (type === 'S') return `'${String(v).replace(/'/g, "''")}'`;
  if (type === 'D') return Number.isFinite(v) ? `${v}::DOUBLE` : `'${String(v)}'::DOUBLE`;
  if (type === 'T') return `make_timestamp(${v}::BIGINT)`;
  if (type === 'd') return `(DATE '1970-01-01' + ${v}::INTEGER)`;
  return String(v);
}

beforeAll(async () => {
  await DataFrame.put(store, 'f', DataFrame.fromRows(SCHEMA, ROWS), { chunkRows: 2 });
  duck = await DuckDBInstance.create(':memory:');
  con = await duck.connect();
  const types = SCHEMA.split(',').map((c) => c.split(':')[1]!);
  const duckTypes: Record<string, string> = { S: 'VARCHAR', D: 'DOUBLE', I: 'INTEGER', T: 'TIMESTAMP', d: 'DATE' };
  await con.run(
    `CREATE TABLE f (${SCHEMA.split(',')
      .map((c) => `${c.split(':')[0]} ${duckTypes[c.split(':')[1]!]}`)
      .join(', ')}, id INTEGER)`,
  );
  const vals = ROWS.map((r, k) => `(${r.map((v, j) => duckLiteral(v, types[j]!)).join(', ')}, ${k})`);
  await con.run(`INSERT INTO f VALUES ${vals.join(', ')}`);
});

afterAll(() => {
  con?.closeSync();
  duck?.closeSync();
});

/** A cell as both engines' answers compare: int64s and bigints as text, doubles to 12 digits. */
function norm(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'NaN';
    return Number.isInteger(v) || !Number.isFinite(v) ? v : Number(v.toPrecision(12));
  }
  return v;
}

describe('the analyst functions against DuckDB', () => {
  it.each(CASES)('%s', async (eau, duckText) => {
    const got = [...(await DataFrame.sql(store, `SELECT ${eau} AS v FROM f`)).rows()].map((r) => norm(r[0]));
    const want = (await con.runAndReadAll(`SELECT ${duckText ?? eau} AS v FROM f ORDER BY id`))
      .getRows()
      .map((r) => norm(r[0]));
    expect(got).toEqual(want);
  });

  it('date_trunc of a date is a timestamp, and date_diff an int64, as DuckDB types them', async () => {
    const df = await DataFrame.sql(
      store,
      "SELECT date_trunc('month', d) AS a, date_diff('day', d, t) AS b, d + INTERVAL '1 day' AS c, strpos(s, 'a') AS e, sign(x) AS g FROM f",
    );
    expect(df.schema).toBe('TLTII');
  });
});

describe('trim', () => {
  it('removes spaces only, as DuckDB and PostgreSQL (a tab or newline stays)', async () => {
    const df = DataFrame.fromRows('s:S', [['\t a \n'], ['  b  ']]);
    const got = [
      ...(
        await df
          .derive({ v: trim(col('s')) })
          .select('v')
          .collect()
      ).rows(),
    ].map((r) => r[0]);
    expect(got).toEqual(['\t a \n', 'b']);
  });
});

describe('errors', () => {
  const sqlError = async (text: string): Promise<string> => {
    try {
      await DataFrame.sql(store, text);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error(`no error for ${text}`);
  };

  it('points at the call given an argument of the wrong type', async () => {
    const m = await sqlError("SELECT s, lpad(s, 'x', '*') FROM f");
    expect(m).toMatch(/lpad: argument 2 must be a number, not S \(line 1, column 11\)/);
    expect(m).toContain(`\n  SELECT s, lpad(s, 'x', '*') FROM f\n            ${'^'.repeat(17)}`);
    expect(await sqlError('SELECT ln(s) FROM f')).toMatch(/ln: argument 1 must be a number, not S/);
    expect(await sqlError('SELECT date_diff(1, t, t) FROM f')).toMatch(/the unit must be a string literal/);
    expect(await sqlError("SELECT date_trunc('fortnight', t) FROM f")).toMatch(/one of 'year', 'quarter'/);
    expect(await sqlError("SELECT date_trunc('day', s) FROM f")).toMatch(/must be a date or timestamp, not S/);
    expect(await sqlError("SELECT x + INTERVAL '1 day' FROM f")).toMatch(/must be a date or timestamp, not D/);
    expect(await sqlError('SELECT greatest(s, 1) FROM f')).toMatch(/greatest: cannot mix S and D/);
    expect(await sqlError('SELECT nullif(x) FROM f')).toMatch(/nullif takes 2 arguments/);
    expect(await sqlError('SELECT regexp_matches(s, u) FROM f')).toMatch(/the pattern must be a string literal/);
    expect(await sqlError("SELECT regexp_matches(s, '(') FROM f")).toMatch(/regexp_matches: .*\(/);
  });

  it('refuses intervals it cannot add exactly', async () => {
    expect(await sqlError("SELECT t + INTERVAL 'soon' FROM f")).toMatch(/not an interval: 'soon'/);
    expect(await sqlError("SELECT t + INTERVAL '1.5 days' FROM f")).toMatch(/a fractional year, month or day/);
    expect(await sqlError("SELECT INTERVAL '1 day' FROM f")).toMatch(/may only be added to or subtracted from/);
    expect(await sqlError('SELECT date_add(t, 1) FROM f')).toMatch(
      /date_add takes a date or timestamp and an INTERVAL/,
    );
    expect(await sqlError("SELECT t - INTERVAL '300000 years' FROM f")).toMatch(/leaves the timestamp range/);
  });

  it('an empty lpad fill pads nothing, as in PostgreSQL (DuckDB fails)', async () => {
    const df = await DataFrame.sql(store, "SELECT lpad(s, 4, '') AS a, rpad(s, 1, '') AS b FROM f WHERE s <> ''");
    expect([...df.rows()]).toEqual([
      ['a,b,', 'a'],
      ['\tx  ', '\t'],
      ['Gamm', 'G'],
      ['abca', 'a'],
      ['delt', 'd'],
      ['aaa', 'a'],
      ['xyx', 'x'],
    ]);
  });
});

describe('bounds', () => {
  it('refuses to build a string past the per-chunk limit rather than allocate it', async () => {
    for (const q of [
      'SELECT repeat(s, 1000000000) FROM f',
      "SELECT lpad(s, 2000000000, 'x') FROM f",
      'SELECT rpad(s, 40000000, s) FROM f',
    ])
      expect(
        await (async () =>
          DataFrame.sql(store, q).then(
            () => 'ok',
            (e: Error) => e.message,
          ))(),
      ).toMatch(/results over one chunk would exceed 33554432 characters/);
    // replace multiplies too: a long replacement for each of many matches.
    const big = DataFrame.fromRows('s:S,r:S', [['a'.repeat(10_000), 'b'.repeat(10_000)]]);
    await expect(big.derive({ v: replace(col('s'), 'a', col('r')) }).collect()).rejects.toThrow(
      /replace: results over one chunk/,
    );
  });

  it('runs a pattern that backtracks exponentially in linear time, and refuses backreferences', async () => {
    // /(a+)+$/ over 'aaa...ab' takes a backtracking engine 2^n steps: this would not finish.
    const df = DataFrame.fromRows('s:S', [[`${'a'.repeat(50_000)}b`], ['aaa']]);
    const got = await df
      .derive({ v: regexpMatches(col('s'), '(a+)+$'), w: regexpMatches(col('s'), '^(a|aa)*$') })
      .select('v', 'w')
      .collect();
    expect([...got.rows()]).toEqual([
      [false, false],
      [true, true],
    ]);
    const run = async (pattern: string) =>
      df
        .derive({ v: regexpMatches(col('s'), pattern) })
        .select('v')
        .collect();
    await expect(run('(a)\\1')).rejects.toThrow(/backreferences/);
    await expect(run('a'.repeat(1001))).rejects.toThrow(/at most 1000/);
  });
});

describe('the TypeScript builders', () => {
  it('build the expressions SQL does, computed on the nodes', async () => {
    const lf = await DataFrame.get(store, 'f');
    const api = await lf
      .derive({
        a: replace(col('s'), 'a', 'XY'),
        b: splitPart(col('s'), ',', -1),
        c: strpos(col('s'), col('u')),
        e: left(col('s'), 2),
        g: right(col('s'), -1),
        h: lpad(col('s'), 7, 'xy'),
        k: rpad(col('s'), 4),
        m: reverse(col('s')),
        n: repeat(col('u'), 2),
        o: ln(col('x')),
        p: log(2, col('y')),
        q: power(col('y'), 2),
        r: sign(col('x')),
        v: trunc(col('y')),
        w: greatest(col('x'), col('y')),
        z: least(col('x'), col('y')),
        aa: nullif(col('i'), 3),
        ab: dateTrunc('month', col('d')),
        ac: dateDiff('month', col('t'), col('t2')),
        ad: dateAdd(col('t'), -1, 'month'),
        ae: round(col('y'), 1),
      })
      .select(
        'a',
        'b',
        'c',
        'e',
        'g',
        'h',
        'k',
        'm',
        'n',
        'o',
        'p',
        'q',
        'r',
        'v',
        'w',
        'z',
        'aa',
        'ab',
        'ac',
        'ad',
        'ae',
      )
      .collect();
    const sql = await DataFrame.sql(
      store,
      `SELECT replace(s, 'a', 'XY'), split_part(s, ',', -1), strpos(s, u), left(s, 2), right(s, -1), lpad(s, 7, 'xy'),
        rpad(s, 4, ' '), reverse(s), repeat(u, 2), ln(x), log(2, y), power(y, 2), sign(x), trunc(y), greatest(x, y),
        least(x, y), nullif(i, 3), date_trunc('month', d), date_diff('month', t, t2), t - INTERVAL '1 month',
        round(y, 1) FROM f`,
    );
    expect(api.schema).toBe(sql.schema);
    expect([...api.rows()].map((r) => r.map(norm))).toEqual([...sql.rows()].map((r) => r.map(norm)));
    expect(dateAdd(col('t'), 1, 'day')).toEqual({
      op: 'call',
      fn: 'dateAdd',
      args: [col('t'), { op: 'lit', value: 1 }, { op: 'lit', value: 'day' }],
    });
  });
});

// Not an analyst function, but part of the same arithmetic: 1 to any power is 1 (C's pow, DuckDB's).
describe('power', () => {
  it('follows C for 1^NaN and (-1)^Infinity, where Math.pow gives NaN', async () => {
    const df = DataFrame.fromRows('a:D,b:D', [
      [1, Number.NaN],
      [-1, Number.POSITIVE_INFINITY],
      [2, 10],
    ]);
    const got = await df
      .derive({ v: power(col('a'), col('b')) })
      .select('v')
      .collect();
    expect([...got.rows()].map((r) => r[0])).toEqual([1, 1, 1024]);
  });
});

// A week starts on Monday (ISO 8601): check a known Monday, and a day before 1970.
describe('dateTrunc week', () => {
  it('starts weeks on Monday, before and after 1970', async () => {
    const df = DataFrame.fromRows('d:d', [[day('2024-03-10')], [day('1969-12-31')]]);
    const got = await df
      .derive({ v: dateTrunc('week', col('d')) })
      .select('v')
      .collect();
    expect([...got.rows()].map((r) => r[0])).toEqual([
      BigInt(day('2024-03-04')) * US_DAY,
      BigInt(day('1969-12-29')) * US_DAY,
    ]);
  });
});
