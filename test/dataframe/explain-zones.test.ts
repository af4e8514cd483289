// explain() and SQL's EXPLAIN show zone-map pruning: per top-level AND term whether it can skip
// chunks and how many it skips by the metadata, the whole filter's estimate before running, and,
// with EXPLAIN ANALYZE / explainAnalyze(), the chunks the run skipped. Expected counts are computed
// here from the data itself (a chunk is skippable exactly when no row can satisfy the term).

import { describe, expect, it } from 'vitest';
import { DataFrame, and, col, eq, gt, isNull, lower, lt, or, queryStats } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { seededRng } from './helpers.js';

const CHUNK = 100;

async function setup(): Promise<{ store: MemoryStore; x: number[]; city: (string | null)[]; n: number }> {
  const rng = seededRng();
  const n = 2000 + rng.int(0, 400);
  // x ascends (as time does), so a range filter skips whole chunks; city is unsorted.
  const x = Array.from({ length: n }, (_, i) => i * 10 + rng.int(0, 9));
  const city = Array.from({ length: n }, () => (rng.bool(0.05) ? null : rng.pick(['Boston', 'Paris', 'Lima'])));
  const store = new MemoryStore();
  await DataFrame.put(store, 'ev', DataFrame.fromColumns({ x, city: { type: 'S', values: city } }), {
    chunkRows: CHUNK,
  });
  return { store, x, city, n };
}

/** Chunks in which no row satisfies `pred` (what zone maps may skip for a range term on sorted x). */
function chunksWithout(n: number, pred: (i: number) => boolean): number {
  let k = 0;
  for (let c = 0; c * CHUNK < n; c++) {
    let any = false;
    for (let i = c * CHUNK; i < Math.min(n, (c + 1) * CHUNK); i++) any ||= pred(i);
    if (!any) k++;
  }
  return k;
}

describe('explain shows zone-map pruning', () => {
  it('per term, the estimate before running, and what the run skipped', async () => {
    const { store, x, city, n } = await setup();
    const nchunks = Math.ceil(n / CHUNK);
    const lf = await DataFrame.get(store, 'ev');
    const k = x[Math.floor(n * 0.7)]!;
    const q = lf.filter(and(gt(col('x'), k), eq(lower(col('city')), 'paris')));
    const skips = chunksWithout(n, (i) => x[i]! > k);
    expect(skips).toBeGreaterThan(0);
    const text = q.explain();
    expect(text).toContain(`(x > ${k}): can skip chunks; skips ${skips} of ${nchunks} by the metadata`);
    expect(text).toContain("(lower(city) = 'paris'): cannot skip chunks (not a stored column compared with a literal)");
    expect(text).toContain(`chunks skipped: ${skips} of ${nchunks} (estimate from the metadata, before running)`);

    const analyzed = await q.explainAnalyze();
    expect(analyzed).toContain(`ran: chunks skipped: ${skips} of ${nchunks} (while running)`);
    const rows = await q.collect();
    expect(queryStats(rows)).toEqual({ chunks: nchunks, chunksSkipped: skips });
    const want = x.filter((v, i) => v > k && city[i] === 'Paris').length;
    expect(rows.nrows).toBe(want);
    expect(analyzed).toContain(`result ${want} rows`);

    // An OR skips a chunk only when both sides do; IS NULL skips chunks without nulls.
    const k2 = x[Math.floor(n * 0.2)]!;
    const both = chunksWithout(n, (i) => x[i]! < k2 || x[i]! > k);
    const orText = lf
      .filter(isNull(col('city')))
      .filter(or(gt(col('x'), k), lt(col('x'), k2)))
      .explain();
    expect(orText).toContain(`skips ${both} of ${nchunks} by the metadata`);
    const noNulls = chunksWithout(n, (i) => city[i] === null);
    expect(orText).toContain(`city IS NULL: can skip chunks; skips ${noNulls} of ${nchunks}`);
    // The whole filter skips a chunk when either term does (zones know each column apart).
    let all = 0;
    for (let c = 0; c * CHUNK < n; c++) {
      const rows = Array.from({ length: Math.min(n, (c + 1) * CHUNK) - c * CHUNK }, (_, j) => c * CHUNK + j);
      if (!rows.some((i) => city[i] === null) || !rows.some((i) => x[i]! < k2 || x[i]! > k)) all++;
    }
    expect(orText).toContain(`chunks skipped: ${all} of ${nchunks} (estimate`);
  });

  it('SQL EXPLAIN and EXPLAIN ANALYZE', async () => {
    const { store, x, n } = await setup();
    const nchunks = Math.ceil(n / CHUNK);
    const k = x[Math.floor(n / 2)]!;
    const skips = chunksWithout(n, (i) => x[i]! <= k);
    const sql = `SELECT city, count(*) FROM ev WHERE x <= ${k} AND x + 1 > 0 GROUP BY city`;
    const text = async (q: string): Promise<string> => {
      const f = await DataFrame.sql(store, q);
      return Array.from({ length: f.nrows }, (_, i) => f.get('plan', i)).join('\n');
    };
    const ex = await text(`EXPLAIN ${sql}`);
    expect(ex).toContain(`(x <= ${k}): can skip chunks; skips ${skips} of ${nchunks} by the metadata`);
    expect(ex).toMatch(/\(\(x \+ 1\) > 0\): cannot skip chunks \(not a stored column compared with a literal\)/);
    expect(ex).not.toContain('ran:');
    const an = await text(`EXPLAIN ANALYZE ${sql}`);
    expect(an).toContain(`chunks skipped: ${skips} of ${nchunks} (estimate`);
    expect(an).toContain(`ran: chunks skipped: ${skips} of ${nchunks} (while running)`);
  });

  it('an in-memory frame (no metadata) has no zone lines', () => {
    const df = DataFrame.fromColumns({ x: [1, 2, 3] });
    expect(df.filter(gt(col('x'), 1)).explain()).not.toContain('zone maps');
  });
});
