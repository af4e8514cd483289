// LIMIT 0 answers with the columns and no rows, and no node reads a chunk for it: tools ask
// `SELECT * FROM t LIMIT 0` to learn a table's columns, and `ORDER BY x LIMIT 0` made every node scan
// every chunk for its best 0 rows.

import { describe, expect, it } from 'vitest';
import { DataFrame } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { FakeCluster } from './fake-cluster.js';

const ROWS = 40_000;

function frame(): DataFrame {
  const id = Int32Array.from({ length: ROWS }, (_, i) => i);
  const x = Float64Array.from({ length: ROWS }, (_, i) => (i * 7919) % 1000);
  const s = Array.from({ length: ROWS }, (_, i) => `s${i % 17}`);
  return DataFrame.fromColumns({ id, x, s });
}

/** Gets from every MemoryStore behind `store` so far. */
const gets = (stores: MemoryStore[]): number => stores.reduce((n, m) => n + m.stats.gets, 0);

describe.each([
  ['an engine-like store', () => ({ store: new MemoryStore() })],
  ['a cluster', () => ({ store: new FakeCluster(3, 16, 2) })],
])('LIMIT 0 on %s', (_, make) => {
  it.each([
    ['SELECT * FROM t LIMIT 0', ['id', 'x', 's']],
    ['SELECT s, x FROM t WHERE x > 5 LIMIT 0', ['s', 'x']],
    ['SELECT * FROM t ORDER BY x DESC LIMIT 0', ['id', 'x', 's']],
    ['SELECT id FROM t ORDER BY x, id LIMIT 0 OFFSET 5', ['id']],
  ])('%s has the columns, no rows, and reads no chunk', async (sql, names) => {
    const { store } = make();
    await DataFrame.put(store, 't', frame(), { chunkRows: 4096 });
    const stores = store instanceof FakeCluster ? store.nodes : [store];
    // Planned once, so that the metadata is cached: what follows reads only chunks.
    await DataFrame.sql(store, 'SELECT * FROM t LIMIT 1');
    const before = gets(stores);
    const df = await DataFrame.sql(store, sql);
    expect(df.nrows).toBe(0);
    expect(df.fields.map((f) => f.name)).toEqual(names);
    // The version check reads the metadata record once; no chunk is read.
    expect(gets(stores) - before).toBeLessThanOrEqual(1);
    // The same statement with LIMIT 1 does read chunks (so the count above can see them).
    const one = gets(stores);
    expect((await DataFrame.sql(store, sql.replace('LIMIT 0', 'LIMIT 1'))).nrows).toBe(1);
    expect(gets(stores) - one).toBeGreaterThan(1);
  });
});
