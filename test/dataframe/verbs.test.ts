// The query verbs on a MemoryStore (queries run in-process through the same tasks the nodes run),
// each against a plain-JavaScript reference (verbs-suite.ts), plus the sketches' error bounds.

import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../support/memory-store.js';
import { HyperLogLog } from '../../dataframe/query/sketch/hll.js';
import { KllSketch } from '../../dataframe/query/sketch/kll.js';
import { seededRng } from './helpers.js';
import { rankError } from './verbs-reference.js';
import {
  checkAggregates,
  checkComputedColumns,
  checkDescribe,
  checkJoins,
  checkShuffleJoins,
  checkSortAndTopK,
  checkSql,
  shuffleLeftovers,
} from './verbs-suite.js';
import { Eau2Error, ErrorCode, type KeyLike, type ReadOptions } from '../../kv/index.js';
import { DataFrame, col, datePart } from '../../dataframe/index.js';
import { rowsOf } from './helpers.js';

describe('query verbs on a MemoryStore', () => {
  it('sorts on several keys (stable) and computes top-k with offset', () =>
    checkSortAndTopK(new MemoryStore(), seededRng(), 'sort'));
  it('computes std, var, count-distinct, quantiles, first/last, any/all per group', () =>
    checkAggregates(new MemoryStore(), seededRng(), 'aggs'));
  it('derives computed columns usable in filters, group keys and aggregates', () =>
    checkComputedColumns(new MemoryStore(), seededRng(), 'derive'));
  it('joins inner, left, semi and anti on one or two keys by broadcast', () =>
    checkJoins(new MemoryStore(), seededRng(), 'join'));
  it('joins by shuffle past the broadcast limit, and cleans up', () =>
    checkShuffleJoins(new MemoryStore(), seededRng(), 'shuffle'));
  it('deletes the shuffle pieces when a bucket join fails', async () => {
    const store = new MemoryStore();
    const rng = seededRng();
    const n = 500;
    const left = DataFrame.fromColumns({
      k: Array.from({ length: n }, () => rng.int(0, 50)),
      v: Array.from({ length: n }, (_, i) => i),
    });
    const right = DataFrame.fromColumns({
      k: Array.from({ length: 200 }, (_, i) => i % 60),
      w: Array.from({ length: 200 }, (_, i) => -i),
    });
    await DataFrame.put(store, 'fail-l', left, { chunkRows: 64 });
    await DataFrame.put(store, 'fail-r', right, { chunkRows: 64 });
    let injected = 0;
    // Reading a right-side piece fails once the scatters have written every piece.
    const failing = Object.assign(Object.create(store) as MemoryStore, {
      get: (key: KeyLike, opts?: ReadOptions) => {
        const k = typeof key === 'string' ? key : Buffer.from(key).toString();
        if (/^\u0000df\/t\/[0-9a-f]+\/r\//.test(k)) {
          injected++;
          return Promise.reject(new Eau2Error(ErrorCode.IO, 'injected read failure'));
        }
        return store.get(key, opts);
      },
    });
    const lf = await DataFrame.get(failing, 'fail-l');
    const rf = await DataFrame.get(failing, 'fail-r');
    const q = lf.join(rf, { on: 'k', broadcastLimitBytes: 16, buckets: 4 });
    expect(q.explain()).toMatch(/shuffle join/);
    await expect(q.count()).rejects.toThrow(/injected read failure/);
    expect(injected).toBeGreaterThan(0);
    expect(await shuffleLeftovers(store)).toBe(0);
    // The same join on the healthy store: every left row whose key is in 0..49 meets its right rows.
    const want = left
      .column('k', 'D')
      .values.reduce((s, k) => s + right.column('k', 'D').values.filter((x) => x === k).length, 0);
    expect(
      await (await DataFrame.get(store, 'fail-l'))
        .join(await DataFrame.get(store, 'fail-r'), { on: 'k', broadcastLimitBytes: 16, buckets: 4 })
        .count(),
    ).toBe(want);
    expect(await shuffleLeftovers(store)).toBe(0);
  });
  it('describes every column', () => checkDescribe(new MemoryStore(), seededRng(), 'describe'));
  it('runs SQL with GROUP BY, HAVING, ORDER BY, LIMIT and window functions', () =>
    checkSql(new MemoryStore(), seededRng(), 'flights'));

  it('extracts date parts from day and microsecond counts', async () => {
    // 2024-02-29 is day 19782; 1969-12-31T23:59:59Z is -1 s.
    const df = DataFrame.fromColumns({ day: [19782, 0, -1, null], us: [19782 * 86_400e6 + 3_723e6, 0, -1e6, null] });
    const q = df
      .withColumn('y', datePart('year', col('day'), 'days'))
      .withColumn('m', datePart('month', col('day'), 'days'))
      .withColumn('dd', datePart('day', col('day'), 'days'))
      .withColumn('dow', datePart('dayOfWeek', col('day'), 'days'))
      .withColumn('h', datePart('hour', col('us'), 'us'))
      .withColumn('mi', datePart('minute', col('us'), 'us'))
      .withColumn('yu', datePart('year', col('us'), 'us'));
    expect(rowsOf(await q.select('y', 'm', 'dd', 'dow', 'h', 'mi', 'yu').collect())).toEqual([
      [2024, 2, 29, 4, 1, 2, 2024],
      [1970, 1, 1, 4, 0, 0, 1970],
      [1969, 12, 31, 3, 23, 59, 1969],
      [null, null, null, null, null, null, null],
    ]);
    expect(() => df.withColumn('y', datePart('year', col('day'))).check()).toThrow(/needs a date or timestamp/);
  });
});

describe('sketches', () => {
  it('KLL quantiles stay within 1.65% rank error on 200k values merged from 4 sketches', () => {
    const rng = seededRng();
    const xs: number[] = [];
    const parts = [0, 1, 2, 3].map(() => new KllSketch());
    for (let i = 0; i < 200_000; i++) {
      const x = rng.int(0, 1_000_000) / 7;
      xs.push(x);
      parts[i % 4]!.add(x);
    }
    const s = KllSketch.fromPlain(parts[0]!.toPlain());
    for (const p of parts.slice(1)) s.merge(KllSketch.fromPlain(JSON.parse(JSON.stringify(p.toPlain()))));
    expect(s.n).toBe(200_000);
    for (const q of [0.01, 0.25, 0.5, 0.75, 0.99]) expect(rankError(xs, s.quantile(q)!, q)).toBeLessThanOrEqual(0.0165);
  });

  it('HyperLogLog estimates within 5% (3 standard errors) after merging', () => {
    for (const n of [10, 1000, 100_000]) {
      const a = new HyperLogLog();
      const b = new HyperLogLog();
      for (let i = 0; i < n; i++) (i % 2 ? a : b).add(i % 3 ? `v${i}` : i);
      a.merge(HyperLogLog.fromPlain(b.toPlain()));
      expect(Math.abs(a.estimate() - n) / n, `n=${n}`).toBeLessThan(0.05);
    }
  });

  it('refuses malformed sketches from the wire', () => {
    expect(() => HyperLogLog.fromPlain([64 * 4096])).toThrow(/bad HyperLogLog/);
    expect(() => KllSketch.fromPlain([1, ['x']])).toThrow(/bad KLL/);
  });
});
