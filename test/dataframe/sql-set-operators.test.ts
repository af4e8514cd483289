// INTERSECT and EXCEPT, with and without ALL (dataframe/sql/pre-parse.ts writes them as UNIONs the
// parser reads and marks where they were; derived.ts runs them at the client over the branches
// gathered): checked against DuckDB on seeded random frames with repeated rows, nulls, -0 and NaN,
// in chains, parentheses, subqueries in FROM and WITH queries, over a MemoryStore, a FakeCluster and
// frames in memory. A failure prints the seed; EAU2_TEST_SEED=<seed> (and EAU2_TEST_QUERY=<n>) replays.

import { describe, expect, it, onTestFailed } from 'vitest';
import type { Rng } from '../../app/apps/random.js';
import { DataFrame, type Value } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { chainForm, duckDifferential, randomTables, SEED, sortedRows } from './duck-differential.js';

const QUERIES = 100;

const SCHEMAS = { a: 'k:I,s:S,v:D', b: 'k:I,s:S,v:D', c: 'k:I,s:S,v:D' } as const;
const ROWS = { a: 50, b: 40, c: 30 } as const;
const WORDS = ['x', 'y', 'z'];

/** A random cell: few values, so rows repeat within and across frames; a fifth null. */
function cell(rng: Rng, t: string): Value {
  if (rng.next() < 0.2) return null;
  if (t === 'I') return rng.int(0, 3);
  if (t === 'D') return [0, -0, 1.5, Number.NaN, 2][rng.int(0, 4)]!;
  return WORDS[rng.int(0, WORDS.length - 1)]!;
}

const OPS = ['INTERSECT', 'INTERSECT ALL', 'EXCEPT', 'EXCEPT ALL'] as const;

/** One random statement over frames a, b, c: a chain of one operator, maybe nested, maybe in FROM or WITH. */
function statement(rng: Rng): string {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)]!;
  const cols = pick(['k', 's', 'k, s', 'k, s, v', 'v', '*']);
  const branch = (f: string): string =>
    rng.next() < 0.3
      ? `SELECT ${cols} FROM ${f} WHERE k ${pick(['> 0', 'IS NOT NULL', '< 3'])}`
      : `SELECT ${cols} FROM ${f}`;
  const op = pick(OPS);
  const frames = ['a', 'b', 'c'].slice(0, rng.int(2, 3));
  let chain = frames.map(branch).join(` ${op} `);
  if (rng.next() < 0.25) {
    // A parenthesized chain of another operator as the last branch.
    const inner = pick(OPS);
    chain = `${branch('a')} ${op} (${branch('b')} ${inner} ${branch('c')})`;
  }
  return chainForm(rng, chain, cols);
}

const duck = duckDifferential('eau2-sql-set-ops-', (rng) => randomTables(rng, SCHEMAS, ROWS, cell));

describe('INTERSECT and EXCEPT, against DuckDB', () => {
  it(`gives DuckDB's rows to ${QUERIES} random statements`, async () => {
    onTestFailed(() =>
      console.error(`[sql-set-operators] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
    );
    const failures = await duck.run(QUERIES, statement, sortedRows);
    expect(failures.slice(0, 6).join('\n\n'), `${failures.length} of ${QUERIES} queries differ`).toBe('');
  });

  it('keeps the first branch’s row order and column names', async () => {
    const store = new MemoryStore();
    await DataFrame.put(
      store,
      'p',
      DataFrame.fromRows('x:I,y:S', [
        [3, 'c'],
        [1, 'a'],
        [3, 'c'],
        [2, 'b'],
      ]),
    );
    const df = await DataFrame.sql(store, "SELECT x AS first, y FROM p EXCEPT SELECT 2, 'b'");
    expect(df.fields.map((f) => f.name)).toEqual(['first', 'y']);
    expect([...df.rows()]).toEqual([
      [3, 'c'],
      [1, 'a'],
    ]);
  });

  it('refuses what it does not read as SQL does, pointing at it', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'p', DataFrame.fromRows('x:I', [[1], [2]]));
    const err = (sql: string) =>
      DataFrame.sql(store, sql).then(
        () => undefined,
        (e: Error) => e.message.split('\n')[0],
      );
    expect(await err('SELECT x FROM p INTERSECT SELECT x FROM p ORDER BY x')).toMatch(
      /^ORDER BY or LIMIT after an INTERSECT is not supported/,
    );
    expect(await err('SELECT x FROM p EXCEPT SELECT x, x FROM p')).toMatch(
      /^each EXCEPT branch needs 1 columns, as the first has: this one has 2/,
    );
    expect(await err("SELECT x FROM p INTERSECT SELECT 'a'")).toMatch(
      /^INTERSECT column 1 \(x\) is I in one branch and S/,
    );
  });
});
