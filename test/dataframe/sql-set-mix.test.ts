// Chains of set operations mixing operators, `a UNION b INTERSECT c EXCEPT ALL d`, `a UNION ALL b
// UNION c` (dataframe/sql/derived.ts): INTERSECT [ALL] binds tighter than UNION [ALL] and EXCEPT
// [ALL], which are taken from the left, as SQL, PostgreSQL and DuckDB read them. Checked against
// DuckDB on seeded random frames with repeated rows, nulls, -0 and NaN, with parentheses, in
// subqueries in FROM and WITH queries, over a MemoryStore, a FakeCluster and frames in memory; and
// against a fold written here over a few rows. A failure prints the seed; EAU2_TEST_SEED=<seed> (and
// EAU2_TEST_QUERY=<n>) replays.

import { describe, expect, it, onTestFailed } from 'vitest';
import type { Rng } from '../../app/apps/random.js';
import { DataFrame, type Value } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { chainForm, duckDifferential, randomTables, SEED, sortedRows } from './duck-differential.js';

const QUERIES = 100;

const SCHEMAS = { a: 'k:I,s:S,v:D', b: 'k:I,s:S,v:D', c: 'k:I,s:S,v:D', d: 'k:I,s:S,v:D' } as const;
const ROWS = { a: 50, b: 40, c: 30, d: 20 } as const;
const WORDS = ['x', 'y', 'z'];

/** A random cell: few values, so rows repeat within and across frames; a fifth null. */
function cell(rng: Rng, t: string): Value {
  if (rng.bool(0.2)) return null;
  if (t === 'I') return rng.int(0, 3);
  if (t === 'D') return rng.pick([0, -0, 1.5, Number.NaN, 2]);
  return rng.pick(WORDS);
}

const OPS = ['UNION', 'UNION ALL', 'INTERSECT', 'INTERSECT ALL', 'EXCEPT', 'EXCEPT ALL'] as const;

/** A chain of 3 to 5 branches over a..d with at least two operators, maybe a parenthesized part, in FROM or WITH. */
function statement(rng: Rng): string {
  const cols = rng.pick(['k', 's', 'k, s', 'k, s, v', 'v', '*']);
  const branch = (): string => {
    const f = rng.pick(['a', 'b', 'c', 'd']);
    return rng.bool(0.3)
      ? `SELECT ${cols} FROM ${f} WHERE k ${rng.pick(['> 0', 'IS NOT NULL', '< 3'])}`
      : `SELECT ${cols} FROM ${f}`;
  };
  const n = rng.int(3, 5);
  const ops = Array.from({ length: n - 1 }, () => rng.pick(OPS));
  if (ops.every((o) => o === ops[0])) ops[rng.int(0, ops.length - 1)] = rng.pick(OPS.filter((o) => o !== ops[0]));
  const parts = Array.from({ length: n }, branch);
  if (rng.bool(0.25)) {
    // A parenthesized chain as one branch.
    const at = rng.int(0, n - 1);
    parts[at] = `(${branch()} ${rng.pick(OPS)} ${branch()})`;
  }
  const chain = parts.reduce((acc, p, i) => `${acc} ${ops[i - 1]} ${p}`);
  return chainForm(rng, chain, cols);
}

const duck = duckDifferential('eau2-sql-set-mix-', (rng) => randomTables(rng, SCHEMAS, ROWS, cell));

describe('set operations mixed in one chain, against DuckDB', () => {
  it(`gives DuckDB's rows to ${QUERIES} random chains`, async () => {
    onTestFailed(() => console.error(`[sql-set-mix] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const failures = await duck.run(QUERIES, statement, sortedRows);
    expect(failures.slice(0, 6).join('\n\n'), `${failures.length} of ${QUERIES} queries differ`).toBe('');
  });
});

describe('set operations mixed in one chain', () => {
  const store = new MemoryStore();
  const frames = {
    p: DataFrame.fromRows('x:I', [[1], [1], [2], [3]]),
    q: DataFrame.fromRows('x:I', [[1], [3], [3]]),
  };
  const rows = async (sql: string): Promise<unknown[]> =>
    [...(await DataFrame.sql(store, sql, { frames })).rows()].map((r) => r[0]).sort();

  it.each([
    // INTERSECT first: 1 UNION (1 INTERSECT 2) keeps the 1; left to right would keep nothing.
    ['SELECT 1 UNION SELECT 1 INTERSECT SELECT 2', [1]],
    ['SELECT x FROM p EXCEPT SELECT x FROM q UNION SELECT x FROM q', [1, 2, 3]],
    ['SELECT x FROM p UNION SELECT x FROM q EXCEPT SELECT x FROM q', [2]],
    // UNION ALL then UNION: one of each row; UNION then UNION ALL: the last branch's rows kept.
    ['SELECT x FROM p UNION ALL SELECT x FROM q UNION SELECT 9', [1, 2, 3, 9]],
    ['SELECT x FROM p UNION SELECT x FROM q UNION ALL SELECT x FROM q', [1, 1, 2, 3, 3, 3]],
    ['SELECT x FROM p UNION ALL SELECT x FROM q INTERSECT ALL SELECT x FROM p', [1, 1, 1, 2, 3, 3]],
    ['SELECT x FROM p EXCEPT ALL SELECT x FROM q INTERSECT ALL SELECT x FROM q', [1, 2]],
    ['(SELECT x FROM p UNION SELECT x FROM q) INTERSECT SELECT 3', [3]],
    // A parenthesized branch inside a chain is one branch, not the start of a nested chain.
    ['SELECT 1 EXCEPT (SELECT 2) EXCEPT SELECT 1', []],
    ['SELECT x FROM p EXCEPT ALL (SELECT x FROM q) UNION ALL SELECT 7', [1, 2, 7]],
  ])('%s', async (sql, want) => {
    expect(await rows(sql)).toEqual(want);
  });

  it('refuses an ORDER BY after a mixed chain, naming its operators', async () => {
    const err = await DataFrame.sql(store, 'SELECT x FROM p UNION SELECT x FROM q INTERSECT SELECT 1 ORDER BY 1', {
      frames,
    }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      /^ORDER BY or LIMIT after a set operation is not supported: SELECT \* FROM \(\.\.\. UNION \.\.\. INTERSECT \.\.\.\) u/,
    );
  });
});
