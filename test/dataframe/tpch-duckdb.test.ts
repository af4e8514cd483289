// The 22 TPC-H queries over small TPC-H tables generated from a seed (bench/dataframe/tpch-data.ts; the
// seed is printed on failure, EAU2_SEED replays it), eau2 against DuckDB. What must hold: each query eau2 runs answers as DuckDB does (doubles to a relative 1e-9,
// as sums in another order differ in their last bits), in process and pushed to the nodes of a
// FakeCluster; each query eau2 cannot run is refused with the clear error listed below, so that a
// query that starts to run, or fails another way, fails this test until the list says so.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { chooseSeed } from '../../app/apps/random.js';
import { DataFrame, importCsv } from '../../dataframe/index.js';
import type { KvStore } from '../../kv/index.js';
import { Eau2Error } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckFixture } from './duck-fixture.js';
import { FakeCluster } from './fake-cluster.js';
import { TPCH_QUERIES, TPCH_TABLES, duckCell, isoRows, sameRow, writeTpch } from '../../bench/dataframe/tpch-data.js';
import { rowsOf } from './helpers.js';

/** The queries eau2 refuses, and what it says (docs/dataframe.md "SQL" lists what it does not read). */
const REFUSED: Record<number, RegExp> = {};

const SEED = chooseSeed();
let con: DuckDBConnection;
let dir: string;
duckFixture('eau2-tpch-duck-', (_d, c) => void (con = c));
const stores: [string, KvStore][] = [
  ['in process', new MemoryStore()],
  ['on a cluster', new FakeCluster(3, 16, 2)],
];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-tpch-'));
  await writeTpch(dir, SEED);
  for (const [t, cols] of Object.entries(TPCH_TABLES)) {
    const file = join(dir, `${t}.csv`);
    await con.run(`CREATE TABLE ${t} (${cols.map(([n, ty]) => `${n} ${ty}`).join(', ')})`);
    await con.run(`COPY ${t} FROM '${file}' (HEADER)`);
    for (const [, store] of stores) await importCsv(store, t, file, { chunkRows: 5000 });
  }
}, 120_000);
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('TPC-H queries against DuckDB', () => {
  for (const [n, sql] of Object.entries(TPCH_QUERIES)) {
    it(`Q${n}`, async () => {
      onTestFailed(() => console.error(`[tpch] failed with seed ${SEED}: replay with EAU2_SEED=${SEED}`));
      const want = (await con.runAndReadAll(sql)).getRows().map((r) => r.map(duckCell));
      for (const [where, store] of stores) {
        const refused = REFUSED[Number(n)];
        if (refused) {
          const e = await DataFrame.sql(store, sql).catch((x: unknown) => x);
          expect(e, `Q${n} ${where}`).toBeInstanceOf(Eau2Error);
          expect((e as Error).message, `Q${n} ${where}`).toMatch(refused);
          continue;
        }
        const rows = isoRows(await DataFrame.sql(store, sql));
        expect(rows.length, `Q${n} ${where}: rows`).toBe(want.length);
        rows.forEach((r, i) => {
          if (!sameRow(r, want[i]!)) expect(r, `Q${n} ${where}: row ${i}`).toEqual(want[i]);
        });
      }
    }, 60_000);
  }
});

describe('a join condition written in every branch of an OR', () => {
  it('joins on it, as DuckDB answers, nulls included', async () => {
    const store = new MemoryStore();
    await DataFrame.put(
      store,
      'a',
      DataFrame.fromColumns({
        k: { type: 'I', values: [1, 2, 3, null, 2] },
        x: { type: 'I', values: [5, null, 0, 7, 2] },
      }),
    );
    await DataFrame.put(
      store,
      'b',
      DataFrame.fromColumns({ k: { type: 'I', values: [2, 3, null, 1] }, y: { type: 'I', values: [null, 4, 1, 9] } }),
    );
    await con.run(
      'CREATE TABLE a (k INTEGER, x INTEGER); INSERT INTO a VALUES (1, 5), (2, NULL), (3, 0), (NULL, 7), (2, 2)',
    );
    await con.run('CREATE TABLE b (k INTEGER, y INTEGER); INSERT INTO b VALUES (2, NULL), (3, 4), (NULL, 1), (1, 9)');
    for (const where of [
      '(a.k = b.k AND x > 1) OR (a.k = b.k AND y IS NULL)',
      '(a.k = b.k AND x > 1) OR (b.k = a.k AND y > 3)',
      '(a.k = b.k AND x > 1) OR (a.k = b.k)',
      '(a.k = b.k AND x > 1) OR (a.k = b.k AND y > 3) OR (a.k = b.k AND x IS NULL)',
    ]) {
      const sql = `SELECT a.k, x, y FROM a, b WHERE ${where} ORDER BY a.k, x, y`;
      const want = (await con.runAndReadAll(sql)).getRows().map((r) => r.map(duckCell));
      expect(rowsOf(await DataFrame.sql(store, sql)), where).toEqual(want);
    }
  });
});
