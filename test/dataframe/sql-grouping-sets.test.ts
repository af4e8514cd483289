// GROUP BY ROLLUP, CUBE and GROUPING SETS, and grouping() (dataframe/sql/grouping-sets.ts): checked
// against DuckDB on seeded random frames with nulls and repeated keys, over a MemoryStore, a
// FakeCluster and frames in memory, with HAVING, ORDER BY, LIMIT and expressions of the keys; and
// the errors, pointing at what they refuse. A failure prints the seed; EAU2_TEST_SEED=<seed> (and
// EAU2_TEST_QUERY=<n>) replays.

import { describe, expect, it, onTestFailed } from 'vitest';
import type { Rng } from '../../app/apps/random.js';
import { DataFrame, type Value } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckDifferential, randomTables, SEED, type Statement } from './duck-differential.js';

const QUERIES = 80;

const SCHEMAS = { t: 'k:I,s:S,b:B,v:D,w:I', u: 'k:I,s:S,b:B,v:D,w:I' } as const;
const ROWS = { t: 60, u: 0 } as const;

/** Few values per column, so keys repeat; a fifth null; doubles in eighths, so sums are exact. */
function cell(rng: Rng, t: string): Value {
  if (rng.next() < 0.2) return null;
  if (t === 'I') return rng.int(0, 3);
  if (t === 'D') return rng.int(-16, 16) / 8;
  if (t === 'B') return rng.next() < 0.5;
  return ['x', 'y', 'z'][rng.int(0, 2)]!;
}

const KEYS = ['k', 's', 'b', 'k % 2'] as const;
const AGGS = [
  'count(*)',
  'sum(v)',
  'min(s)',
  'max(v)',
  'avg(w)',
  'median(v)',
  'count(DISTINCT s)',
  'count(v)',
] as const;

/** Whether the statement last made has an ORDER BY of every column (its rows' order is defined). */
let ordersAll = false;

/** One random statement: a grouping construct (maybe beside plain keys), its keys and aggregates. */
function statement(rng: Rng): Statement {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)]!;
  const some = <T>(xs: readonly T[], lo: number, hi: number): T[] => {
    const out = [...xs].sort(() => rng.next() - 0.5);
    return out.slice(0, rng.int(lo, Math.min(hi, xs.length)));
  };
  const keys = some(KEYS, 1, 3);
  const construct = (ks: readonly string[]): string => {
    const f = rng.int(0, 2);
    if (f === 0) return `ROLLUP (${ks.join(', ')})`;
    if (f === 1) return `CUBE (${ks.join(', ')})`;
    // Every key in some set (a key in none is not grouped by), the others any subsets, () included.
    const sets = [`(${ks.join(', ')})`];
    for (let n = rng.int(0, 3); n > 0; n--)
      sets.splice(rng.int(0, sets.length), 0, `(${some(ks, 0, ks.length).join(', ')})`);
    return `GROUPING SETS (${sets.join(', ')})`;
  };
  let groupBy: string;
  const form = rng.int(0, 3);
  if (form === 0 && keys.length > 1) groupBy = `${keys[0]}, ${construct(keys.slice(1))}`;
  else if (form === 1 && keys.length > 1) groupBy = `${construct(keys.slice(0, 1))}, ${construct(keys.slice(1))}`;
  else groupBy = construct(keys);
  const items: string[] = keys.map((k, i) => (k === 'k % 2' ? `k % 2 AS m${i}` : k));
  if (rng.next() < 0.3 && keys.includes('k')) items.push('k + 10 AS k10');
  for (const a of some(AGGS, 1, 3)) items.push(a);
  if (rng.next() < 0.6) items.push(`grouping(${some(keys, 1, keys.length).join(', ')})`);
  const where = rng.next() < 0.3 ? ` WHERE ${pick(['w > 0', 'v IS NOT NULL', "s <> 'z'"])}` : '';
  const having =
    rng.next() < 0.3
      ? ` HAVING ${pick(['count(*) > 2', `grouping(${keys[0]}) = 0`, 'sum(v) > 0 OR sum(v) IS NULL'])}`
      : '';
  const from = rng.next() < 0.1 ? 'u' : 't'; // an empty frame: only the grand total has a row
  // ORDER BY every column, by position, so a LIMIT cuts at a place both engines agree on.
  ordersAll = rng.next() < 0.4;
  const order = ordersAll
    ? ` ORDER BY ${items.map((_, i) => `${i + 1}${rng.next() < 0.3 ? ' DESC' : ''}`).join(', ')}${rng.next() < 0.5 ? ` LIMIT ${rng.int(1, 8)}` : ''}`
    : '';
  const text = `SELECT ${items.join(', ')} FROM ${from}${where} GROUP BY ${groupBy}${having}${order}`;
  // eau2's median is percentile_disc; DuckDB's interpolates.
  return { text, duck: text.replace('median(v)', 'quantile_disc(v, 0.5)') };
}

const norm = (v: unknown): unknown =>
  typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? Number(v.toPrecision(9)) : v;
/** Rows as text: in order where the last statement made orders every column, else sorted. */
const rows2text = (rows: unknown[][]): string[] => {
  const out = rows.map((r) => JSON.stringify(r.map(norm)));
  return ordersAll ? out : out.sort();
};

const duck = duckDifferential('eau2-sql-grouping-sets-', (rng) => randomTables(rng, SCHEMAS, ROWS, cell));

describe('grouping sets, against DuckDB', () => {
  it(`gives DuckDB's rows to ${QUERIES} random statements`, async () => {
    onTestFailed(() =>
      console.error(`[sql-grouping-sets] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
    );
    const failures = await duck.run(QUERIES, statement, (_, rows) => rows2text(rows));
    expect(failures.slice(0, 6).join('\n\n'), `${failures.length} of ${QUERIES} queries differ`).toBe('');
  });
});

describe('grouping sets', () => {
  const frame = DataFrame.fromRows('a:I,b:S,c:I,d:I,e:I,f:I,g:I,x:D', [
    [1, '()', 1, 1, 1, 1, 1, 1.5],
    [1, 'q', 2, 1, 1, 1, 1, 2],
    [2, '()', 1, 1, 1, 1, 1, 4],
  ]);
  /** The statement's rows, over a stored frame `p`. */
  const rows = async (sql: string): Promise<unknown[][]> => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'p', frame);
    return [...(await DataFrame.sql(store, sql)).rows()];
  };
  /** The error's first line and the caret's span in the statement. */
  const refused = async (sql: string): Promise<{ message: string; at: string }> => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'p', frame);
    const e = await DataFrame.sql(store, sql).then(
      () => {
        throw new Error('not refused');
      },
      (x: Error & { details?: { offset?: number } }) => x,
    );
    const lines = e.message.split('\n');
    const caret = lines[lines.length - 1]!;
    const start = caret.indexOf('^') - 2; // the statement's line is indented by two spaces
    return { message: lines[0]!, at: sql.slice(start, start + caret.trimEnd().length - caret.indexOf('^')) };
  };

  it('reads () inside GROUPING SETS as the grand total, not inside strings and comments', async () => {
    expect(
      await rows(
        "SELECT b, count(*) AS n FROM p WHERE b <> '() x' /* GROUPING SETS (()) */ GROUP BY GROUPING  SETS ( ( b ) , ( ) ) ORDER BY b NULLS FIRST",
      ),
    ).toEqual([
      [null, 3],
      ['()', 2],
      ['q', 1],
    ]);
  });

  it('gives grouping() as the bit mask of rolled-up keys, the first argument highest', async () => {
    expect(
      await rows(
        'SELECT a, c, grouping(a, c) AS g, grouping(c, a) AS h FROM p GROUP BY ROLLUP (a, c) ORDER BY g, a, c',
      ),
    ).toEqual([
      [1, 1, 0, 0],
      [1, 2, 0, 0],
      [2, 1, 0, 0],
      [1, null, 1, 2],
      [2, null, 1, 2],
      [null, null, 3, 3],
    ]);
    // Over a plain GROUP BY every key is grouped: 0.
    expect(await rows('SELECT a, grouping(a) FROM p GROUP BY a ORDER BY a')).toEqual([
      [1, 0],
      [2, 0],
    ]);
  });

  it('keeps a set listed twice twice, as PostgreSQL and DuckDB do', async () => {
    expect(await rows('SELECT a, count(*) FROM p GROUP BY GROUPING SETS ((a), (a)) ORDER BY a')).toEqual([
      [1, 2],
      [1, 2],
      [2, 1],
      [2, 1],
    ]);
  });

  it('runs one pass per set, and EXPLAIN lists the sets', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'p', frame);
    const plan = await DataFrame.sql(store, 'EXPLAIN SELECT a, b, sum(x) FROM p GROUP BY ROLLUP (a, b)');
    expect([...plan.rows()].join('\n')).toContain(
      'stage 1 runs once per grouping set, the results stacked: (a, b), (a), ()',
    );
  });

  it('refuses more than 64 grouping sets, pointing at the item that makes them', async () => {
    expect(await refused('SELECT count(*) FROM p GROUP BY CUBE (a, b, c, d, e, f, g)')).toEqual({
      message: expect.stringMatching(
        /^GROUP BY makes 128 grouping sets, more than 64 \(each is a pass over the rows\)/,
      ),
      at: 'CUBE (a, b, c, d, e, f, g)',
    });
    expect(await refused('SELECT count(*) FROM p GROUP BY CUBE (a, b, c), CUBE (d, e, f), ROLLUP (g)')).toEqual({
      message: expect.stringMatching(/^GROUP BY makes 128 grouping sets/),
      at: 'ROLLUP (g)',
    });
    // 64 is allowed.
    const ids = await rows('SELECT grouping(a, b, c, d, e, f) FROM p GROUP BY CUBE (a, b, c, d, e, f)');
    expect(new Set(ids.map((r) => r[0])).size).toBe(64);
  });

  it('keeps error positions after the rewritten GROUPING SETS', async () => {
    expect(await refused('SELECT a, sum(x) FROM p GROUP BY GROUPING SETS ((a), ()) HAVING zz > 1')).toEqual({
      message: expect.stringMatching(/^no column named zz/),
      at: 'zz',
    });
  });

  it('refuses grouping() of what is no group key, and a hand-written grouping_sets()', async () => {
    expect(await refused('SELECT a, grouping(a, x) FROM p GROUP BY ROLLUP (a)')).toEqual({
      message: expect.stringMatching(
        /^arguments to GROUPING must be grouping expressions of the associated query level/,
      ),
      at: 'x',
    });
    expect((await refused('SELECT a FROM p GROUP BY grouping_sets(a)')).message).toMatch(
      /unknown function grouping_sets\(\)/,
    );
    expect(await refused('SELECT a FROM p WHERE grouping(a) = 0 GROUP BY ROLLUP (a)')).toEqual({
      message: expect.stringMatching(/^grouping\(\) is only allowed in the SELECT list, HAVING and ORDER BY/),
      at: 'grouping(a)',
    });
    expect(await refused('SELECT a FROM p GROUP BY ROLLUP ()')).toEqual({
      message: expect.stringMatching(/^ROLLUP needs at least one element/),
      at: 'ROLLUP ()',
    });
  });
});
