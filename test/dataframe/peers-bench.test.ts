// A smoke run of the side-by-side benchmark (bench/dataframe/peers.ts) on a small flights table,
// eau2 embedded beside DuckDB and Polars: every system runs every operation, and every answer equals
// DuckDB's (the median within the KLL sketch's documented rank error). Timings are not checked.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DUCK_FILE, QUERIES, peersTable, runPeers } from '../../bench/dataframe/peers.js';

describe('bench:dataframe --peers (smoke)', () => {
  it('eau2, DuckDB and Polars give the same answers on a 3,000-row flights table', async () => {
    const { results } = await runPeers({ rows: 3000, runs: 1, cluster: false, polars: true, seed: 5, log: () => {} });
    const table = peersTable(results);
    for (const system of ['DuckDB', 'eau2 embedded', 'Polars']) {
      for (const op of ['load CSV', 'load Parquet', ...Object.keys(QUERIES)]) {
        const r = results.find((x) => x.system === system && x.op === op);
        expect(r?.note, `${system} ${op}\n${table}`).toBeUndefined();
        expect(r?.ms.length, `${system} ${op}`).toBe(1);
        if (system !== 'DuckDB' && op in QUERIES)
          expect(r?.same, `${system} ${op}: ${JSON.stringify(r?.answer)}\n${table}`).toBe(true);
      }
    }
    // DuckDB opened on its database file answers each query once, as in memory.
    for (const op of Object.keys(QUERIES)) {
      const r = results.find((x) => x.system === DUCK_FILE && x.op === op);
      expect(r?.ms.length, `${DUCK_FILE} ${op}`).toBe(1);
      expect(r?.same, `${DUCK_FILE} ${op}`).toBe(true);
      expect(r?.answer, `${DUCK_FILE} ${op}`).toEqual(
        results.find((x) => x.system === 'DuckDB' && x.op === op)?.answer,
      );
    }
    // The reference itself answered something: 10 top-k rows, a group per origin seen.
    const duckTop = results.find((x) => x.system === 'DuckDB' && x.op === 'top-k');
    expect(duckTop?.answer?.length).toBe(10);
  }, 120_000);

  it("--queries-only: the stored frame and the cached Parquet file give DuckDB's answers, twice", async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'eau2-peers-test-'));
    try {
      for (const round of [1, 2]) {
        const opts = { rows: 2000, runs: 1, cluster: false, polars: false, seed: 9, queriesOnly: true, cacheDir };
        const { results } = await runPeers({ ...opts, log: () => {} });
        const table = peersTable(results);
        // No load is timed; every query answered as DuckDB did (the second round from the cache).
        expect(
          results.filter((r) => r.op.startsWith('load')),
          table,
        ).toEqual([]);
        for (const op of Object.keys(QUERIES)) {
          const r = results.find((x) => x.system === 'eau2 embedded' && x.op === op);
          expect(r?.same, `round ${round} ${op}: ${JSON.stringify(r?.answer)}\n${table}`).toBe(true);
        }
        expect((await readdir(join(cacheDir, 'rows2000-seed9-v1'))).sort()).toEqual([
          'airports.csv',
          'flights.duck.parquet',
        ]);
      }
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  }, 120_000);
});
