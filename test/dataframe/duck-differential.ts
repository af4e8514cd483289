// The differential SQL tests' common half: seeded random tables stored in a MemoryStore and a
// FakeCluster (pushed to its nodes) and given as frames in memory, loaded into DuckDB too, and a loop
// that runs random statements on all three and DuckDB and reports each that differs, with the seed
// and statement number that replay it (EAU2_TEST_SEED, EAU2_TEST_QUERY).

import type { DuckDBConnection } from '@duckdb/node-api';
import { beforeAll } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { DataFrame, type Value } from '../../dataframe/index.js';
import type { KvStore } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckFixture, duckLoad } from './duck-fixture.js';
import { FakeCluster } from './fake-cluster.js';

export const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);
const ONLY = process.env.EAU2_TEST_QUERY === undefined ? undefined : Number(process.env.EAU2_TEST_QUERY);

/** A statement for eau2, and DuckDB's text for the same answer when it must differ. */
export type Statement = string | { text: string; duck: string };

export interface Differential {
  /** The DuckDB connection, once the file's hooks have opened it. */
  con(): DuckDBConnection;
  /** Where eau2 runs each statement: a MemoryStore, a FakeCluster, and frames in memory. */
  readonly stores: readonly [string, KvStore][];
  /** The tables as frames in memory (SqlOptions.frames for the third store). */
  readonly given: Record<string, DataFrame>;
  /**
   * Runs `count` statements, each from `statement` on a generator seeded from SEED and its number,
   * on DuckDB and the three stores, and returns a report of each that differs (at most one per
   * statement), its rows compared as `rows` writes them (sorted texts).
   */
  run(
    count: number,
    statement: (rng: Rng) => Statement,
    rows: (names: string[], rows: unknown[][]) => string[],
  ): Promise<string[]>;
}

/** Tables `schemas` (name -> schema) of `sizes[name]` rows whose cells `cell` draws. */
export function randomTables(
  rng: Rng,
  schemas: Record<string, string>,
  sizes: Record<string, number>,
  cell: (rng: Rng, type: string) => Value,
): Record<string, DataFrame> {
  const out: Record<string, DataFrame> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    const types = schema.split(',').map((c) => c.split(':')[1]!);
    out[name] = DataFrame.fromRows(
      schema,
      Array.from({ length: sizes[name]! }, () => types.map((t) => cell(rng, t))),
    );
  }
  return out;
}

/**
 * Registers the file's hooks: a DuckDB connection, and the tables `tables` makes from a generator
 * seeded with SEED, stored in chunks of 5-30 rows.
 */
export function duckDifferential(prefix: string, tables: (rng: Rng) => Record<string, DataFrame>): Differential {
  let con: DuckDBConnection | undefined;
  duckFixture(prefix, (_, c) => {
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
    for (const [name, df] of Object.entries(tables(rng))) {
      for (const [, store] of stores.slice(0, 2)) await DataFrame.put(store, name, df, { chunkRows: rng.int(5, 30) });
      given[name] = df;
      await duckLoad(con!, name, df);
    }
  });
  return {
    con: () => con!,
    stores,
    given,
    async run(count, statement, rows) {
      const failures: string[] = [];
      for (let n = 0; n < count; n++) {
        if (ONLY !== undefined && n !== ONLY) continue;
        const st = statement(new Rng((SEED ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0));
        const [text, duck] = typeof st === 'string' ? [st, st] : [st.text, st.duck];
        const report = (what: string) =>
          failures.push(`seed ${SEED} query ${n} (EAU2_TEST_SEED=${SEED} EAU2_TEST_QUERY=${n}): ${what}\n  ${text}`);
        const r = await con!.runAndReadAll(duck);
        const want = rows(r.columnNames(), r.getRows());
        for (const [name, store] of stores) {
          let df: DataFrame;
          try {
            df = await DataFrame.sql(store, text, name === 'frames' ? { frames: given } : {});
          } catch (e) {
            report(`eau2 (${name}) failed: ${(e as Error).message.split('\n')[0]}`);
            break;
          }
          const got = rows(
            df.fields.map((f) => f.name),
            [...df.rows()],
          );
          const i = got.findIndex((x, k) => x !== want[k]);
          if (got.length !== want.length || i >= 0) {
            report(`${name}: ${got.length} rows, DuckDB ${want.length}; first difference ${got[i]} vs ${want[i]}`);
            break;
          }
        }
      }
      return failures;
    },
  };
}

/**
 * A set-operation chain as the statement itself, the rows of a subquery over it filtered on the
 * branches' columns `cols`, or a count over it as a WITH query (one of the three at random).
 */
export function chainForm(rng: Rng, chain: string, cols: string): string {
  const form = rng.int(0, 3);
  const outer =
    cols.includes('k') || cols === '*' ? 'k IS NULL OR k <> 2' : cols === 'v' ? 'v IS NOT NULL' : "s <> 'x'";
  if (form === 1) return `SELECT * FROM (${chain}) q WHERE ${outer}`;
  if (form === 2) return `WITH w AS (${chain}) SELECT count(*) AS n FROM w`;
  return chain;
}

const norm = (v: unknown): unknown =>
  typeof v === 'bigint' ? Number(v) : typeof v === 'number' && Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? 0 : v;

/** Rows as sorted texts, bigints as numbers, NaN as text and -0 as 0 (Differential.run's `rows`). */
export const sortedRows = (_: string[], rows: unknown[][]): string[] =>
  rows.map((r) => JSON.stringify(r.map(norm))).sort();
