// strftime and to_char: dates and timestamps as text. Every format code against DuckDB's strftime over
// seeded random instants (years 1 to 9999, microseconds, before and after 1970), on a cluster so the
// format runs on the nodes; to_char's templates against the strftime they stand for, and the errors.

import type { DuckDBConnection } from '@duckdb/node-api';
import { describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { ErrorCode } from '../../kv/index.js';
import { DataFrame } from '../../dataframe/index.js';
import { duckFixture } from './duck-fixture.js';
import { FakeCluster } from './fake-cluster.js';
import { failure, rowsOf } from './helpers.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);

let con: DuckDBConnection;
duckFixture('eau2-strftime-', (_d, c) => {
  con = c;
});

// Microseconds of 0001-01-01 and 9999-12-31T23:59:59.999999.
const MIN_US = -62_135_596_800_000_000n;
const MAX_US = 253_402_300_799_999_999n;

const FORMATS = [
  '%Y-%m-%d %H:%M:%S.%f',
  '%y/%-m/%-d %-H:%-M:%-S %g',
  '%a %A %b %B %j %-j %w %u',
  '%I %-I %p %c | %x | %X %z %%',
  'week %-y, day %d',
];

describe('strftime', () => {
  it("gives DuckDB's text for every code (seeded)", async () => {
    onTestFailed(() => console.error(`[sql-strftime] seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const rng = new Rng(SEED);
    const n = 300;
    const ts: bigint[] = [];
    for (let i = 0; i < n; i++) {
      // Half near 1970 (both sides), half anywhere in years 1-9999.
      const span = rng.bool() ? 4_000_000_000_000_000n : MAX_US - MIN_US;
      const base = span === MAX_US - MIN_US ? MIN_US : -span / 2n;
      ts.push(base + (BigInt(rng.int(0, 2 ** 30)) * span) / 2n ** 30n + BigInt(rng.int(0, 999_999)));
    }
    const days = ts.map((t) =>
      Number((t - (((t % 86_400_000_000n) + 86_400_000_000n) % 86_400_000_000n)) / 86_400_000_000n),
    );
    const store = new FakeCluster();
    await DataFrame.put(
      store,
      'f',
      DataFrame.fromColumns({
        i: Int32Array.from(ts, (_, k) => k),
        t: { type: 'T', values: ts },
        d: { type: 'd', values: days },
      }),
      { chunkRows: 64 },
    );
    await con.run(
      `CREATE OR REPLACE TABLE f AS SELECT * FROM (VALUES ${ts.map((t, k) => `(${k}, make_timestamp(${t}), DATE '1970-01-01' + ${days[k]})`).join(', ')}) v(i, t, d)`,
    );
    for (const fmt of FORMATS) {
      const q = `SELECT i, strftime(t, '${fmt}'), strftime(d, '${fmt}') FROM f ORDER BY i`;
      const want = (await con.runAndReadAll(q)).getRows().map((r) => [Number(r[0]), r[1], r[2]]);
      const got = rowsOf(await DataFrame.sql(store, q));
      expect(got, fmt).toEqual(want);
    }
  });

  it('refuses codes it does not know and formats that are not literals', async () => {
    const store = new FakeCluster();
    await DataFrame.put(store, 'f', DataFrame.fromRows('d:d,s:S', [[0, '%Y']]));
    const cases: [string, RegExp][] = [
      ["SELECT strftime(d, '%k') FROM f", /^strftime: unknown format code %k \(codes: %Y /],
      ["SELECT strftime(d, '%-a') FROM f", /^strftime: unknown format code %-a/],
      ["SELECT strftime(d, 'x%') FROM f", /^strftime: unknown format code % /],
      ['SELECT strftime(d, s) FROM f', /^strftime: the format must be a string literal/],
      ["SELECT strftime(s, '%Y') FROM f", /^strftime: argument 1 must be a date or timestamp, not S/],
      [`SELECT strftime(d, '${'%Y'.repeat(501)}') FROM f`, /^strftime: a format is at most 1000 characters/],
      [
        "SELECT to_char(d, 'Month') FROM f",
        /^to_char: Month is not supported \(it pads the name to 9 characters: write FMMonth\)/,
      ],
      ["SELECT to_char(d, 'YYYY-Q') FROM f", /^to_char: Q is not supported/],
      ["SELECT to_char(d, 'DDth') FROM f", /^to_char: th is not supported/],
      ['SELECT to_char(d, s) FROM f', /^to_char takes a date or timestamp and a template string literal/],
    ];
    for (const [text, msg] of cases) {
      const e = await failure(DataFrame.sql(store, text));
      expect(e.code, text).toBe(ErrorCode.INVALID);
      expect(e.message, text).toMatch(msg);
    }
  });
});

describe('to_char', () => {
  it("reads PostgreSQL's template patterns as strftime codes", async () => {
    const store = new FakeCluster();
    // 2024-02-09T07:05:03.004005Z and its date.
    await DataFrame.put(
      store,
      'f',
      DataFrame.fromRows('t:T,d:d', [
        [1_707_462_303_004_005n, 19762],
        [null, null],
      ]),
    );
    const { rows } = await (async () => {
      const df = await DataFrame.sql(
        store,
        `SELECT to_char(t, 'YYYY-MM-DD HH24:MI:SS.US MS') AS a, to_char(t, 'YY DDD HH12 HH AM PM Mon Dy') AS b, ` +
          `to_char(t, 'FMDD FMMM FMHH24 FMHH12 FMMI FMSS FMDDD FMMonth FMDay') AS c, ` +
          `to_char(d, '"Week of" YYYY-MM-DD"T"HH24 "100%" \\\\ MM') AS e, to_char(d, 'YYYY-MM') AS g FROM f`,
      );
      return { rows: rowsOf(df) };
    })();
    expect(rows).toEqual([
      [
        '2024-02-09 07:05:03.004005 004',
        '24 040 07 07 AM AM Feb Fri',
        '9 2 7 7 5 3 40 February Friday',
        'Week of 2024-02-09T00 100% \\\\ 02',
        '2024-02',
      ],
      [null, null, null, null, null],
    ]);
  });
});
