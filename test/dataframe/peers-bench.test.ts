// A smoke run of the side-by-side benchmark (bench/dataframe/peers.ts) on a small flights table,
// eau2 embedded beside DuckDB and Polars: every system runs every operation, and every answer equals
// DuckDB's (the median within the KLL sketch's documented rank error). Timings are not checked.

import { describe, expect, it } from 'vitest';
import { QUERIES, peersTable, runPeers } from '../../bench/dataframe/peers.js';

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
    // The reference itself answered something: 10 top-k rows, a group per origin seen.
    const duckTop = results.find((x) => x.system === 'DuckDB' && x.op === 'top-k');
    expect(duckTop?.answer?.length).toBe(10);
  }, 120_000);
});
