// NATURAL [INNER | LEFT | RIGHT | FULL] JOIN (the parser refuses the word: pre-parse.ts blanks it out
// and marks the join, join-using.ts gives it USING of the columns both sides have): checked against
// DuckDB on seeded random frames with null and repeated keys, pairs and chains, over a MemoryStore, a
// FakeCluster and frames in memory. Columns are compared by name (DuckDB keeps the left side's order
// where eau2 puts the merged columns first, as PostgreSQL does: docs "SQL").
// A failure prints the seed; EAU2_TEST_SEED=<seed> (and EAU2_TEST_QUERY=<n>) replays.

import { describe, expect, it, onTestFailed } from 'vitest';
import type { Rng } from '../../app/apps/random.js';
import { DataFrame, type Value } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckDifferential, randomTables, SEED, type Statement } from './duck-differential.js';

const QUERIES = 80;

// l and r share k and s; q shares s with both and b with r; z shares nothing.
const SCHEMAS = { l: 'k:I,s:S,a:I', r: 'k:I,s:S,b:D', q: 's:S,c:I,b:D', z: 'z:I' } as const;
const ROWS = { l: 40, r: 30, q: 20, z: 3 } as const;
const WORDS = ['x', 'y', 'z'];

function cell(rng: Rng, t: string): Value {
  if (rng.next() < 0.2) return null;
  if (t === 'I') return rng.int(0, 4);
  if (t === 'D') return rng.int(0, 3) / 2;
  return WORDS[rng.int(0, WORDS.length - 1)]!;
}

const KINDS = ['NATURAL JOIN', 'NATURAL INNER JOIN', 'NATURAL LEFT JOIN', 'NATURAL RIGHT JOIN', 'NATURAL FULL JOIN'];

/** A statement, and DuckDB's text for it (DuckDB refuses a NATURAL JOIN with no column in common,
 * which SQL and PostgreSQL read as a CROSS JOIN). */
function statement(rng: Rng): Statement {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)]!;
  const form = rng.int(0, 4);
  if (form === 0) {
    const where = rng.next() < 0.5 ? ' WHERE a > 1' : '';
    return { text: `SELECT * FROM l NATURAL JOIN z${where}`, duck: `SELECT * FROM l CROSS JOIN z${where}` };
  }
  // A FULL JOIN's merged column cannot be a later join's key (docs "SQL"): FULL only last.
  if (form === 1) return `SELECT * FROM l ${pick(KINDS.slice(0, 4))} r ${pick(KINDS)} q`;
  const where = rng.next() < 0.4 ? ` WHERE ${pick(['k IS NULL', 'k > 1', "s = 'x'", 'b IS NOT NULL'])}` : '';
  const cols = rng.next() < 0.5 ? '*' : pick(['k, s', 's, a, b', 'k, count(*) AS n']);
  const group = cols.includes('count') ? ' GROUP BY k' : '';
  const right = rng.next() < 0.3 ? '(SELECT * FROM r) r' : 'r';
  return `SELECT ${cols} FROM l ${pick(KINDS)} ${right}${where}${group}`;
}

const norm = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v);
/** Rows as text, each cell with its column's name, columns in name order. */
const byName = (names: string[], rows: unknown[][]): string[] =>
  rows
    .map((r) =>
      JSON.stringify(
        names.map((n, i) => [n, norm(r[i])] as const).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0)),
      ),
    )
    .sort();

const duck = duckDifferential('eau2-sql-natural-', (rng) => randomTables(rng, SCHEMAS, ROWS, cell));

describe('NATURAL JOIN, against DuckDB', () => {
  it(`gives DuckDB's rows to ${QUERIES} random natural joins, pairs and chains`, async () => {
    onTestFailed(() =>
      console.error(`[sql-natural-join] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`),
    );
    const failures = await duck.run(QUERIES, statement, byName);
    expect(failures.slice(0, 6).join('\n\n'), `${failures.length} of ${QUERIES} queries differ`).toBe('');
  });

  it('shows the common columns once, first, and refuses what it cannot read', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'p', DataFrame.fromRows('x:I,k:I', [[1, 1]]));
    await DataFrame.put(store, 'o', DataFrame.fromRows('k:I,y:S', [[1, 'a']]));
    await DataFrame.put(store, 'n', DataFrame.fromRows('w:I', [[5]]));
    const df = await DataFrame.sql(store, 'SELECT * FROM p NATURAL JOIN o');
    expect(df.fields.map((f) => f.name)).toEqual(['k', 'x', 'y']);
    expect([...df.rows()]).toEqual([[1, 1, 'a']]);
    const err = (sql: string) =>
      DataFrame.sql(store, sql).then(
        () => undefined,
        (e: Error) => e.message.split('\n')[0],
      );
    expect(await err('SELECT * FROM p NATURAL JOIN o ON p.k = o.k')).toMatch(/^a NATURAL JOIN takes no ON or USING/);
    expect(await err('SELECT * FROM p NATURAL LEFT JOIN n')).toMatch(
      /^a NATURAL LEFT JOIN of frames with no column name in common: write ON/,
    );
    expect(await err('SELECT * FROM n, p NATURAL JOIN o')).toMatch(/^NATURAL JOIN beside a comma join: write ON/);
  });
});
