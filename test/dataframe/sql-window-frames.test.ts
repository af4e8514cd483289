// Window frames, `sum|count|avg|min|max|first_value|last_value(x) OVER (... ROWS|RANGE BETWEEN a AND b)` (pre-parse.ts blanks the
// clause out for the parser and marks the OVER; window.ts sums each row's frame): checked against
// DuckDB on seeded random frames with nulls and ties in the partition keys, over a MemoryStore, a
// FakeCluster and frames in memory, and `df.window` with a frame against a plain loop. Rows are ordered
// by a unique key inside each window, so that ROWS frames do not depend on how ties are broken.
// A failure prints the seed; EAU2_TEST_SEED=<seed> (and EAU2_TEST_QUERY=<n>) replays.

import { describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { DataFrame } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckDifferential, SEED } from './duck-differential.js';

const QUERIES = 80;
const ROWS = 90;

const BOUNDS_START = ['UNBOUNDED PRECEDING', '3 PRECEDING', '1 PRECEDING', 'CURRENT ROW', '0 PRECEDING', '2 FOLLOWING'];
const BOUNDS_END = ['UNBOUNDED FOLLOWING', '2 FOLLOWING', '0 FOLLOWING', 'CURRENT ROW', '1 PRECEDING', '4 PRECEDING'];

/** A bound's rows from the current row, to keep to frames SQL accepts. */
const offset = (b: string): number =>
  b.startsWith('UNBOUNDED')
    ? b.endsWith('PRECEDING')
      ? -Infinity
      : Infinity
    : b === 'CURRENT ROW'
      ? 0
      : (b.endsWith('PRECEDING') ? -1 : 1) * Number(b.split(' ')[0]);

function statement(rng: Rng): string {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)]!;
  let frame: string;
  for (;;) {
    const s = pick(BOUNDS_START);
    const e = pick(BOUNDS_END);
    const [a, b] = [offset(s), offset(e)];
    if ((a === 0 && b < 0) || (a > 0 && b <= 0)) continue;
    // An empty frame such as `1 PRECEDING AND 4 PRECEDING`: eau2 counts 0 rows, as PostgreSQL does,
    // where DuckDB 1.5 counts -2 (its count(*) is the frame's end minus its start): tested below.
    if (a > b) continue;
    const range = rng.next() < 0.3 && [a, b].every((x) => x === 0 || !Number.isFinite(x));
    frame = rng.next() < 0.2 && b === 0 && !range ? `ROWS ${s}` : `${range ? 'RANGE' : 'ROWS'} BETWEEN ${s} AND ${e}`;
    if (range) {
      // RANGE's CURRENT ROW takes the row's peers: order by the tied key alone.
      const part = rng.next() < 0.5 ? 'PARTITION BY g ' : '';
      // min and max only: a first or last value among tied rows depends on how ties are broken.
      const fn = pick(['sum(x)', 'count(x)', 'avg(x)', 'count(*)', 'min(x)', 'max(g)']);
      return `SELECT id, ${fn} OVER (${part}ORDER BY k ${frame}) AS w FROM t`;
    }
    break;
  }
  const part = rng.next() < 0.6 ? `PARTITION BY ${pick(['g', 'k', 'g, k'])} ` : '';
  const order = pick(['id', 'id DESC', 'k, id', 'x, id']);
  const fn = pick([
    'sum(x)',
    'count(x)',
    'avg(x)',
    'count(*)',
    'sum(i)',
    'min(x)',
    'max(x)',
    'min(g)',
    'max(i)',
    'first_value(x)',
    'last_value(g)',
  ]);
  const where = rng.next() < 0.3 ? ' WHERE g IS NOT NULL' : '';
  return `SELECT id, ${fn} OVER (${part}ORDER BY ${order} ${frame}) AS w FROM t${where}`;
}

const norm = (v: unknown): unknown =>
  typeof v === 'bigint' ? Number(v) : typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(12)) : v;
const sorted = (rows: unknown[][]): string[] => rows.map((r) => JSON.stringify(r.map(norm))).sort();

const duck = duckDifferential('eau2-sql-frames-', (rng) => ({
  t: DataFrame.fromRows(
    'id:I,g:S,k:I,x:D,i:I',
    Array.from({ length: ROWS }, (_, id) => [
      id,
      rng.next() < 0.15 ? null : ['a', 'b', 'c'][rng.int(0, 2)]!,
      rng.next() < 0.15 ? null : rng.int(0, 5),
      rng.next() < 0.2 ? null : rng.int(-40, 40) / 4,
      rng.next() < 0.2 ? null : rng.int(-9, 9),
    ]),
  ),
}));

describe('window frames, against DuckDB', () => {
  it(`gives DuckDB's values to ${QUERIES} random framed windows`, async () => {
    onTestFailed(() =>
      console.error(`[sql-window-frames] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
    );
    const failures = await duck.run(QUERIES, statement, (_, rows) => sorted(rows));
    expect(failures.slice(0, 6).join('\n\n'), `${failures.length} of ${QUERIES} queries differ`).toBe('');
  });

  it('takes a frame in df.window, as a plain loop over the rows computes it', () => {
    const rng = new Rng(SEED ^ 0x51f);
    const n = 300;
    const x = Array.from({ length: n }, () => (rng.next() < 0.2 ? null : rng.int(-100, 100) / 8));
    const df = DataFrame.fromRows(
      'id:I,x:D',
      x.map((v, i) => [i, v]),
    );
    for (const [start, end] of [
      [-5, 2],
      [-Infinity, -1],
      [1, Infinity],
      [-3, -3],
    ] as const) {
      const out = df.window([
        { fn: 'sum', col: 'x', partitionBy: [], orderBy: [{ col: 'id' }], frame: { rows: true, start, end }, as: 's' },
      ]);
      const got = [...out.rows()].map((r) => r[2]);
      const want = x.map((_, k) => {
        let s: number | null = null;
        for (let i = Math.max(0, k + start); i <= Math.min(n - 1, k + end); i++)
          if (x[i] !== null) s = (s ?? 0) + x[i]!;
        return s;
      });
      expect(got, `frame ${start}..${end}`).toEqual(want);
    }
  });

  it('gives min, max, first_value, last_value and the rank-like functions their default frames, as DuckDB does', async () => {
    for (const text of [
      'SELECT id, min(x) OVER (PARTITION BY g) AS a, max(g) OVER (ORDER BY k) AS b FROM t',
      'SELECT id, first_value(x) OVER (ORDER BY id DESC) AS a, last_value(i) OVER (PARTITION BY g ORDER BY id) AS b FROM t',
      'SELECT id, max(x) OVER (PARTITION BY k ORDER BY i, id) AS a, min(i) OVER () AS b FROM t',
      // Rank-like functions, which take no frame: ties share percent_rank and cume_dist.
      'SELECT id, percent_rank() OVER (ORDER BY k) AS a, cume_dist() OVER (PARTITION BY g ORDER BY k DESC) AS b FROM t',
      'SELECT id, ntile(4) OVER (PARTITION BY g ORDER BY id) AS a, ntile(1) OVER (ORDER BY id) AS b, ntile(200) OVER (PARTITION BY k ORDER BY id DESC) AS c FROM t',
      'SELECT id, ntile(7) OVER (ORDER BY x, id) AS a, percent_rank() OVER (PARTITION BY i ORDER BY id) AS b FROM t WHERE id < 40',
    ]) {
      const want = sorted((await duck.con().runAndReadAll(text)).getRows());
      for (const [name, store] of duck.stores) {
        const df = await DataFrame.sql(store, text, name === 'frames' ? { frames: duck.given } : {});
        expect(sorted([...df.rows()]), `${name}: ${text}`).toEqual(want);
      }
    }
  });

  it('counts no row in an empty frame', async () => {
    const store = new MemoryStore();
    await DataFrame.put(
      store,
      'p',
      DataFrame.fromRows('id:I,x:D', [
        [1, 1],
        [2, 2],
        [3, 3],
      ]),
    );
    const df = await DataFrame.sql(
      store,
      'SELECT id, count(*) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 4 PRECEDING) AS n, sum(x) OVER (ORDER BY id ROWS BETWEEN 2 FOLLOWING AND 1 FOLLOWING) AS s FROM p',
    );
    expect([...df.rows()]).toEqual([
      [1, 0, null],
      [2, 0, null],
      [3, 0, null],
    ]);
  });

  it('refuses frames SQL refuses, pointing at the frame', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'p', DataFrame.fromRows('id:I,x:D', [[1, 1]]));
    const err = (sql: string) =>
      DataFrame.sql(store, sql).then(
        () => undefined,
        (e: Error) => e.message,
      );
    const msg = await err('SELECT sum(x) OVER (ORDER BY id ROWS BETWEEN CURRENT ROW AND 1 PRECEDING) FROM p');
    expect(msg).toMatch(/^a window frame starting at the current row cannot end before it \(line 1, column 33\)/);
    expect(await err('SELECT sum(x) OVER (ORDER BY id RANGE BETWEEN 2 PRECEDING AND CURRENT ROW) FROM p')).toMatch(
      /^a RANGE frame with an offset is not supported: use ROWS/,
    );
    expect(await err('SELECT sum(x) OVER (ORDER BY id ROWS BETWEEN 1 FOLLOWING AND CURRENT ROW) FROM p')).toMatch(
      /^a window frame starting after the current row cannot end at or before it/,
    );
    expect(
      await err('SELECT sum(x) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED FOLLOWING AND CURRENT ROW) FROM p'),
    ).toMatch(/^a window frame cannot start at UNBOUNDED FOLLOWING/);
  });
});
