// How SQL joins name and merge their columns (docs/dataframe.md "SQL", dataframe/sql/join-using.ts):
// JOIN ... USING merges each USING column into one (SELECT * shows it once; an unqualified reference
// reads the left side's value for INNER and LEFT, the right side's for RIGHT, COALESCE for FULL),
// `t.*` reads one frame's columns, and clashing names that are not merged get `_1`, `_2` in pairs and
// chains alike, as a table DuckDB creates from the result names them. Checked against DuckDB on
// seeded random frames with null and repeated keys, over a MemoryStore, a FakeCluster (the pair joins
// pushed to its nodes) and frames in memory. A failure prints the seed; EAU2_TEST_SEED=<seed> replays
// the run, EAU2_TEST_QUERY=<n> one query of it.

import type { DuckDBConnection } from '@duckdb/node-api';
import { beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { DataFrame, type Value } from '../../dataframe/index.js';
import type { KvStore } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckFixture, duckLoad } from './duck-fixture.js';
import { FakeCluster } from './fake-cluster.js';
import { failure } from './helpers.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);
const ONLY = process.env.EAU2_TEST_QUERY === undefined ? undefined : Number(process.env.EAU2_TEST_QUERY);
const QUERIES = 120;

// The USING columns lead each left frame in USING's order: there PostgreSQL's SELECT * (USING columns
// first) and DuckDB's (the left side's columns in place) agree, so DuckDB's answer is the oracle.
const SCHEMAS = {
  l: 'k:I,k2:S,a:I,s:S',
  r: 'k:I,k2:S,b:D,a:I',
  q: 'k:I,c:I,s:S',
} as const;
const ROWS = { l: 60, r: 40, q: 30 } as const;
const WORDS = ['x', 'y', 'z'];

/** A random cell: keys of a few values, repeated, a fifth of them null. */
function cell(rng: Rng, t: string): Value {
  if (rng.next() < 0.2) return null;
  if (t === 'I') return rng.int(0, 5);
  if (t === 'D') return rng.int(-80, 80) / 8;
  return WORDS[rng.int(0, WORDS.length - 1)]!;
}

const JOINS = ['JOIN', 'LEFT JOIN', 'RIGHT JOIN', 'FULL JOIN'] as const;

/** One random statement: a FROM with USING, and a SELECT list that reads merged and qualified columns. */
function statement(rng: Rng): { text: string; star: boolean } {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)]!;
  const form = rng.int(0, 3);
  let from: string;
  let merged: string[];
  let qualified: string[];
  if (form === 0) {
    from = `l ${pick(JOINS)} r USING (k)`;
    merged = ['k'];
    qualified = ['l.k', 'r.k', 'l.k2', 'r.k2', 'l.a', 'r.a', 'r.b', 's'];
  } else if (form === 1) {
    from = `l ${pick(JOINS)} r USING (k, k2)`;
    merged = ['k', 'k2'];
    qualified = ['l.k', 'r.k', 'r.k2', 'l.a', 'r.a', 'b'];
  } else if (form === 2) {
    // A later USING merges with the columns joined so far (not after a FULL JOIN's merge: refused).
    from = `l ${pick(JOINS.slice(0, 3))} r USING (k) ${pick(JOINS)} q USING (k)`;
    merged = ['k'];
    qualified = ['l.k', 'r.k', 'q.k', 'l.a', 'r.b', 'c', 'q.s', 'l.s'];
  } else {
    // USING a column of the first frame only, after an ON join (SELECT * would differ in order).
    from = `l ${pick(JOINS.slice(0, 3))} r ON l.k = r.k ${pick(JOINS)} q USING (s)`;
    merged = ['s'];
    qualified = ['l.k', 'r.k', 'q.k', 'l.s', 'q.s', 'c', 'b'];
  }
  const tested = pick(merged);
  const where =
    rng.next() < 0.4 ? ` WHERE ${tested} ${pick(['IS NULL', 'IS NOT NULL', tested === 'k' ? '> 2' : "= 'x'"])}` : '';
  if (form !== 3 && rng.next() < 0.35) return { text: `SELECT * FROM ${from}${where}`, star: true };
  if (rng.next() < 0.35) {
    const key = pick(merged);
    return {
      text: `SELECT ${key}, count(*) AS n, count(${pick(qualified)}) AS m FROM ${from}${where} GROUP BY ${key}`,
      star: false,
    };
  }
  const items = [...merged.filter(() => rng.next() < 0.8), ...qualified.filter(() => rng.next() < 0.4)];
  if (items.length === 0) items.push(merged[0]!);
  return { text: `SELECT ${items.join(', ')} FROM ${from}${where}`, star: false };
}

const norm = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v);
const key = (r: unknown[]): string => JSON.stringify(r.map(norm));
const sorted = (rows: unknown[][]): string[] => rows.map(key).sort();

let con: DuckDBConnection;
duckFixture('eau2-sql-using-', (_, c) => {
  con = c;
});
const stores: [string, KvStore][] = [
  ['memory', new MemoryStore()],
  ['cluster', new FakeCluster()],
  ['frames', new MemoryStore()],
];
const given: Record<string, DataFrame> = {};

beforeAll(async () => {
  const rng = new Rng(SEED);
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    const types = schema.split(',').map((c) => c.split(':')[1]!);
    const rows = Array.from({ length: ROWS[name as keyof typeof ROWS] }, () => types.map((t) => cell(rng, t)));
    const df = DataFrame.fromRows(schema, rows);
    for (const [, store] of stores.slice(0, 2)) await DataFrame.put(store, name, df, { chunkRows: rng.int(5, 25) });
    given[name] = df;
    await duckLoad(con, name, df);
  }
});

/** DuckDB's answer: its rows, and its column names as a table it creates from the result has them. */
async function duck(text: string): Promise<{ names: string[]; rows: unknown[][] }> {
  await con.run(`CREATE OR REPLACE TEMP TABLE answer AS ${text}`);
  const r = await con.runAndReadAll('SELECT * FROM answer');
  return { names: r.columnNames(), rows: r.getRows() };
}

describe('SQL USING and the names of joined columns, against DuckDB', () => {
  it(`gives DuckDB's rows and names to ${QUERIES} random USING joins, pairs and chains`, async () => {
    onTestFailed(() => console.error(`[sql-using] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const failures: string[] = [];
    for (let n = 0; n < QUERIES; n++) {
      if (ONLY !== undefined && n !== ONLY) continue;
      const st = statement(new Rng((SEED ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0));
      const report = (what: string) =>
        failures.push(`seed ${SEED} query ${n} (EAU2_TEST_SEED=${SEED} EAU2_TEST_QUERY=${n}): ${what}\n  ${st.text}`);
      const want = await duck(st.text);
      for (const [name, store] of stores) {
        let df: DataFrame;
        try {
          df = await DataFrame.sql(store, st.text, name === 'frames' ? { frames: given } : {});
        } catch (e) {
          report(`eau2 (${name}) failed: ${(e as Error).message.split('\n')[0]}`);
          break;
        }
        const names = df.fields.map((f) => f.name);
        if (key(names) !== key(want.names)) {
          report(`${name}: columns ${names.join(',')}, DuckDB ${want.names.join(',')}`);
          break;
        }
        const got = sorted([...df.rows()]);
        const exp = sorted(want.rows);
        const i = got.findIndex((r, k) => r !== exp[k]);
        if (got.length !== exp.length || i >= 0) {
          report(`${name}: ${got.length} rows, DuckDB ${exp.length}; first difference ${got[i]} vs ${exp[i]}`);
          break;
        }
      }
    }
    expect(failures.slice(0, 6).join('\n\n'), `${failures.length} of ${QUERIES} queries differ`).toBe('');
  });

  it('merges a USING column into one, first, whose unqualified name reads the merged value', async () => {
    const store = new MemoryStore();
    await DataFrame.put(
      store,
      'p',
      DataFrame.fromRows('a:I,k:I', [
        [1, 1],
        [2, 2],
        [3, null],
      ]),
    );
    await DataFrame.put(
      store,
      'o',
      DataFrame.fromRows('k:I,b:I', [
        [2, 20],
        [4, 40],
        [null, 50],
      ]),
    );
    const run = async (text: string) => {
      const df = await DataFrame.sql(store, text);
      return { names: df.fields.map((f) => f.name), rows: [...df.rows()] };
    };
    // PostgreSQL's order: the USING columns, then the left's others, then the right's (DuckDB keeps
    // the left's columns in place: a, k, b).
    expect(await run('SELECT * FROM p JOIN o USING (k)')).toEqual({ names: ['k', 'a', 'b'], rows: [[2, 2, 20]] });
    expect((await run('SELECT * FROM p FULL JOIN o USING (k) ORDER BY b NULLS FIRST, a')).rows).toEqual([
      [1, 1, null],
      [null, 3, null],
      [2, 2, 20],
      [4, null, 40],
      [null, null, 50],
    ]);
    expect((await run('SELECT k FROM p RIGHT JOIN o USING (k) ORDER BY b')).rows).toEqual([[2], [4], [null]]);
    expect((await run('SELECT k, p.k, o.k FROM p LEFT JOIN o USING (k) ORDER BY a')).rows).toEqual([
      [1, 1, null],
      [2, 2, 2],
      [null, null, null],
    ]);
    expect((await run('SELECT count(*) FROM p FULL JOIN o USING (k) WHERE k IS NULL')).rows).toEqual([[2]]);
  });

  it('names clashing columns _1, _2 in pairs and chains, as DuckDB names a table made from the result', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'p', DataFrame.fromRows('a:I,k:I', [[1, 1]]));
    await DataFrame.put(store, 'o', DataFrame.fromRows('k:I,k_1:I', [[1, 5]]));
    await DataFrame.put(store, 'm', DataFrame.fromRows('k:I,a:I', [[1, 7]]));
    for (const [name, df] of [
      ['p', 'a:I,k:I'],
      ['o', 'k:I,k_1:I'],
      ['m', 'k:I,a:I'],
    ] as const)
      await duckLoad(con, name, DataFrame.fromRows(df, []));
    for (const text of [
      'SELECT * FROM p JOIN m ON p.k = m.k',
      'SELECT * FROM p JOIN m ON p.k = m.k JOIN o ON o.k = p.k',
      'SELECT * FROM p RIGHT JOIN m ON p.k = m.k',
      'SELECT * FROM p FULL JOIN m ON p.k = m.k',
      'SELECT * FROM p, m WHERE p.k = m.k',
      'SELECT * FROM p JOIN o ON p.k = o.k',
      'SELECT m.*, p.* FROM p JOIN m ON p.k = m.k JOIN o ON o.k = p.k',
      'SELECT p.k, m.k, o.k FROM p JOIN m USING (k) JOIN o USING (k)',
      'SELECT k, k, k_1 FROM o',
    ]) {
      const df = await DataFrame.sql(store, text);
      expect(
        df.fields.map((f) => f.name),
        text,
      ).toEqual((await duck(text)).names);
    }
  });

  it('refuses USING it cannot merge, naming the column', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'p', DataFrame.fromRows('a:I,k:I', [[1, 1]]));
    await DataFrame.put(store, 'o', DataFrame.fromRows('k:S,b:I', [['1', 2]]));
    await DataFrame.put(store, 'm', DataFrame.fromRows('k:I,a:I', [[1, 7]]));
    for (const [text, why] of [
      ['SELECT * FROM p JOIN m USING (b)', /USING column b is not in both sides of the join/],
      ['SELECT * FROM p JOIN o USING (k)', /USING column k is of type I on the left and S on the right/],
      ['SELECT * FROM p JOIN m USING (k, k)', /USING names column k twice/],
      [
        'SELECT * FROM p JOIN m ON p.k = m.k JOIN m m2 USING (a)',
        /USING column a is in more than one frame on its left/,
      ],
      ['SELECT * FROM p FULL JOIN m USING (k) JOIN m m2 USING (k)', /merged by a FULL JOIN before it/],
      ['SELECT * FROM p, m JOIN m m2 USING (k)', /USING beside a comma join/],
      ['SELECT a FROM p JOIN m USING (k)', /column a is ambiguous/],
      ['SELECT z.* FROM p JOIN m USING (k)', /no frame or alias named z in FROM/],
    ] as const) {
      const e = await failure(DataFrame.sql(store, text));
      expect(e.message, text).toMatch(why);
    }
  });
});
