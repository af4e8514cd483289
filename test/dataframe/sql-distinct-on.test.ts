// SELECT DISTINCT ON (...) ... ORDER BY ... and SELECT DISTINCT ... GROUP BY ... (dataframe/sql/
// distinct-on.ts): checked against DuckDB on seeded random frames with nulls and repeated keys, over
// a MemoryStore, a FakeCluster and frames in memory. SQL leaves open which row of a group DISTINCT
// ON keeps when the ORDER BY ties, so a statement either orders by a unique id last (every column
// determined) or selects only what is determined (the DISTINCT ON and ORDER BY expressions, whose
// values tied rows share). And PostgreSQL's errors, pointing at what they refuse. A failure prints
// the seed; EAU2_TEST_SEED=<seed> (and EAU2_TEST_QUERY=<n>) replays.

import { beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { Rng } from '../../app/apps/random.js';
import { DataFrame } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckDifferential, SEED } from './duck-differential.js';

const QUERIES = 80;

const ON = ['k', 's', 'k % 2', 'v > 0'] as const;
const COLS = ['id', 'k', 's', 'v', 'w'] as const;

/** Whether the statement last made orders its rows completely (compared in order, else sorted). */
let ordered = false;

function statement(rng: Rng): string {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)]!;
  const shuffled = <T>(xs: readonly T[]): T[] => [...xs].sort(() => rng.next() - 0.5);
  const dir = (): string => `${pick(['', ' DESC'])} NULLS ${pick(['FIRST', 'LAST'])}`;
  const where = rng.next() < 0.3 ? ` WHERE ${pick(['w > 0', 'v IS NOT NULL', "s <> 'z'", 'k IS NOT NULL'])}` : '';
  const limit = (): string =>
    rng.next() < 0.4 ? ` LIMIT ${rng.int(0, 5)}${rng.next() < 0.3 ? ` OFFSET ${rng.int(0, 3)}` : ''}` : '';
  const on = shuffled(ON).slice(0, rng.int(1, 2));
  const form = rng.int(0, 4);
  if (form === 0) {
    // Ordered down to the unique id: the row kept is determined, so any column may be selected.
    ordered = true;
    const extra = rng.next() < 0.5 ? [`${pick(COLS)}${dir()}`] : [];
    const order = [...shuffled(on).map((e) => `${e}${dir()}`), ...extra, `id${pick(['', ' DESC'])}`];
    const items: string[] = shuffled([
      ...new Set([...shuffled(COLS).slice(0, rng.int(1, 4)), ...(rng.next() < 0.5 ? on : [])]),
    ]);
    if (rng.next() < 0.2) items.push('v * 2 + w AS e');
    return `SELECT DISTINCT ON (${on.join(', ')}) ${items.join(', ')} FROM t${where} ORDER BY ${order.join(', ')}${limit()}`;
  }
  if (form === 1) {
    // Ties left open: only the DISTINCT ON and ORDER BY expressions are selected.
    ordered = true;
    const extra = rng.next() < 0.6 ? [pick(COLS.filter((c) => c !== 'id'))] : [];
    const order = [...shuffled(on), ...extra].map((e) => `${e}${dir()}`);
    const items = shuffled([...new Set([...on, ...extra])]);
    return `SELECT DISTINCT ON (${on.join(', ')}) ${items.join(', ')} FROM t${where} ORDER BY ${order.join(', ')}${limit()}`;
  }
  if (form === 2) {
    // No ORDER BY: any row of a group; the DISTINCT ON expressions alone are determined.
    ordered = false;
    return `SELECT DISTINCT ON (${on.join(', ')}) ${shuffled(on).join(', ')} FROM t${where}`;
  }
  if (form === 3) {
    // Over groups: (k, s) identifies a group, so ordering by both last determines the row kept.
    ordered = true;
    const agg = pick(['count(*)', 'sum(v)', 'max(w)', 'min(id)']);
    return `SELECT DISTINCT ON (k) k, s, ${agg} AS a FROM t${where} GROUP BY k, s ORDER BY k${dir()}, a${dir()}, s${dir()}${limit()}`;
  }
  // SELECT DISTINCT over groups.
  const items = shuffled(['k', 's', 'k % 2', 'count(*)', 'max(w)', 'v > 0']).slice(0, rng.int(1, 3));
  const by = items.some((i) => i === 'v > 0') ? 'k, s, v > 0' : 'k, s';
  ordered = rng.next() < 0.5;
  const order = ordered ? ` ORDER BY ${items.map((_, i) => `${i + 1}${dir()}`).join(', ')}${limit()}` : '';
  return `SELECT DISTINCT ${items.join(', ')} FROM t${where} GROUP BY ${by}${order}`;
}

const norm = (v: unknown): unknown =>
  typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? Number(v.toPrecision(9)) : v;
const rows2text = (rows: unknown[][]): string[] => {
  const out = rows.map((r) => JSON.stringify(r.map(norm)));
  return ordered ? out : out.sort();
};

const duck = duckDifferential('eau2-sql-distinct-on-', (rng) => ({
  t: DataFrame.fromRows(
    'id:I,k:I,s:S,v:D,w:I',
    Array.from({ length: 60 }, (_, id) => {
      const cell = <T>(x: T): T | null => (rng.next() < 0.2 ? null : x);
      return [
        id,
        cell(rng.int(0, 4)),
        cell(['x', 'y', 'z'][rng.int(0, 2)]!),
        cell(rng.int(-16, 16) / 8),
        cell(rng.int(0, 3)),
      ];
    }),
  ),
}));

describe('DISTINCT ON and DISTINCT over groups, against DuckDB', () => {
  it(`gives DuckDB's rows to ${QUERIES} random statements`, async () => {
    onTestFailed(() => console.error(`[sql-distinct-on] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const failures = await duck.run(QUERIES, statement, (_, rows) => rows2text(rows));
    expect(failures.slice(0, 6).join('\n\n'), `${failures.length} of ${QUERIES} queries differ`).toBe('');
  });
});

describe('DISTINCT ON', () => {
  const frame = DataFrame.fromRows('a:I,b:S,x:D', [
    [1, 'u', 1],
    [1, 'v', 2],
    [2, 'u', 4],
    [null, 'u', 5],
    [null, 'w', 0],
    [2, 'w', -0],
  ]);
  const store = new MemoryStore();
  beforeAll(() => DataFrame.put(store, 'p', frame));
  const sql = (text: string): Promise<DataFrame> => DataFrame.sql(store, text);
  /** The error's first line and the text under its caret. */
  const refused = async (text: string): Promise<{ message: string; at: string }> => {
    const e = await sql(text).then(
      () => {
        throw new Error('not refused');
      },
      (x: Error) => x,
    );
    const lines = e.message.split('\n');
    const caret = lines[lines.length - 1]!;
    const start = caret.indexOf('^') - 2;
    return { message: lines[0]!, at: text.slice(start, start + caret.trimEnd().length - caret.indexOf('^')) };
  };

  it('keeps the first row of each group in the ORDER BY’s order, nulls one group', async () => {
    const df = await sql('SELECT DISTINCT ON (a) a, b, x FROM p ORDER BY a NULLS FIRST, x DESC');
    expect([...df.rows()]).toEqual([
      [null, 'u', 5],
      [1, 'v', 2],
      [2, 'u', 4],
    ]);
    // By position and by output name; LIMIT and OFFSET count the rows kept.
    const named = await sql('SELECT DISTINCT ON (1) b AS name, x FROM p ORDER BY name, x LIMIT 2 OFFSET 1');
    expect([...named.rows()]).toEqual([
      ['v', 2],
      ['w', 0], // 0 and -0 tie: the first in the frame's order
    ]);
  });

  it('refuses an ORDER BY that does not start with the DISTINCT ON expressions, pointing at the one left out', async () => {
    expect(await refused('SELECT DISTINCT ON (a, b) a, b, x FROM p ORDER BY a, x')).toEqual({
      message: expect.stringMatching(/^SELECT DISTINCT ON expressions must match initial ORDER BY expressions/),
      at: 'b',
    });
    // The DISTINCT ON expressions in another order, and fewer ORDER BY items, are allowed.
    expect((await sql('SELECT DISTINCT ON (a, b) a, b FROM p ORDER BY b, a')).nrows).toBe(6);
    expect((await sql('SELECT DISTINCT ON (a, b) a, b FROM p ORDER BY b')).nrows).toBe(6);
    expect(await refused('SELECT DISTINCT ON (4) a, b FROM p')).toEqual({
      message: expect.stringMatching(/^ORDER BY\/DISTINCT ON position 4 is not in the SELECT list/),
      at: '4',
    });
  });

  it('runs SELECT DISTINCT over groups, its ORDER BY naming output columns', async () => {
    const df = await sql('SELECT DISTINCT b, count(*) AS n FROM p GROUP BY a, b ORDER BY n DESC, b');
    expect([...df.rows()]).toEqual([
      ['u', 1],
      ['v', 1],
      ['w', 1],
    ]);
    expect(await refused('SELECT DISTINCT b FROM p GROUP BY a, b ORDER BY a')).toEqual({
      message: expect.stringMatching(/^for SELECT DISTINCT, ORDER BY expressions must appear in select list/),
      at: 'a',
    });
  });
});
