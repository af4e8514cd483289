// A node that takes over a dead node's chunks scatters twice its share in one task, so a bucket's
// open piece can pass the 8,192 rows a piece holds in the middle of a chunk. The piece must be cut
// there: the bucket join refuses a larger piece (PROTOCOL "bad left piece"), which failed every
// shuffle join on a 3-node cluster with one node down and ~40,000 rows a survivor. Shown here
// in-process, where one scatter takes every chunk.

import { describe, expect, it } from 'vitest';
import { DataFrame } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { rowsOf, seededRng } from './helpers.js';

describe('shuffle pieces', () => {
  it('are cut at 8,192 rows inside a chunk, so a large scatter joins', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    // One key: every row in one bucket. Chunks of 5,000 rows: after two, the open piece holds 10,000.
    const n = 23_000;
    const x = Int32Array.from({ length: n }, () => rng.int(0, 1_000_000));
    await DataFrame.put(store, 'l', DataFrame.fromColumns({ k: new Int32Array(n).fill(7), x }), { chunkRows: 5000 });
    await DataFrame.put(store, 'r', DataFrame.fromColumns({ k: Int32Array.of(7, 7, 8), v: Int32Array.of(1, 2, 3) }), {
      chunkRows: 3,
    });
    const q = (await DataFrame.get(store, 'l')).join(await DataFrame.get(store, 'r'), {
      on: 'k',
      broadcastLimitBytes: 16,
      buckets: 2,
    });
    expect(q.explain()).toMatch(/shuffle join/);
    let sum = 0;
    for (const v of x) sum += v;
    // Each left row matches the two right rows with k = 7.
    expect(rowsOf(await q.agg({ '*': 'count', x: 'sum', v: 'sum' }))).toEqual([[2 * n, 2 * sum, 3 * n]]);
  });
});
