// A filtered row query on a node reads the filter's columns of every chunk and its other columns only
// of the chunks where rows match (partial.ts, lateRows). Checked against the rows filtered here one
// by one, over seeded random frames, filters, selections, limits and offsets, and by counting the
// store's reads. Seeded; the seed is printed on failure.

import { describe, expect, it } from 'vitest';
import { DataFrame, and, col, eq, ge, gt, isNull, lt, ne, not, type Expr, type Value } from '../../dataframe/index.js';
import type { Rng } from '../../app/apps/random.js';
import { MemoryStore } from '../support/memory-store.js';
import { InstrumentedStore, rowsOf, seededRng } from './helpers.js';

const NAMES = ['id', 'n', 'd', 's', 'big', 'flag'] as const;

function randomFrame(rng: Rng, rows: number): DataFrame {
  const maybe = <T>(v: T): T | null => (rng.bool(0.1) ? null : v);
  return DataFrame.fromColumns({
    id: Int32Array.from({ length: rows }, (_, i) => i),
    n: { type: 'I', values: Array.from({ length: rows }, () => maybe(rng.int(-50, 50))) },
    d: { type: 'D', values: Array.from({ length: rows }, () => maybe(rng.int(-400, 400) / 8)) },
    s: { type: 'S', values: Array.from({ length: rows }, () => maybe(rng.pick(['ab', 'cd', 'ef', 'gh', 'ij']))) },
    big: { type: 'L', values: Array.from({ length: rows }, () => maybe(BigInt(rng.int(-9, 9)) * 2n ** 40n)) },
    flag: { type: 'B', values: Array.from({ length: rows }, () => maybe(rng.bool())) },
  });
}

/** A filter term and its row-by-row meaning (a comparison with null keeps no row). */
type Term = [Expr, (r: readonly Value[]) => boolean];

function randomTerm(rng: Rng): Term {
  const c = rng.int(1, 5);
  const v = (r: readonly Value[]): Value => r[c]!;
  switch (rng.int(0, 5)) {
    case 0:
      return [isNull(col(NAMES[c]!)), (r) => v(r) === null];
    case 1:
      return [not(isNull(col(NAMES[c]!))), (r) => v(r) !== null];
    default:
      break;
  }
  switch (NAMES[c]) {
    case 'n': {
      const x = rng.int(-50, 50);
      return [gt(col('n'), x), (r) => v(r) !== null && (v(r) as number) > x];
    }
    case 'd': {
      const x = rng.int(-400, 400) / 8;
      return [lt(col('d'), x), (r) => v(r) !== null && (v(r) as number) < x];
    }
    case 's': {
      const x = rng.pick(['ab', 'cd', 'zz']);
      return [eq(col('s'), x), (r) => v(r) === x];
    }
    case 'big': {
      const x = rng.int(-9, 9);
      return [ge(col('big'), x * 2 ** 40), (r) => v(r) !== null && (v(r) as bigint) >= BigInt(x) * 2n ** 40n];
    }
    default: {
      const x = rng.bool();
      return [ne(col('flag'), x), (r) => v(r) !== null && v(r) !== x];
    }
  }
}

describe('late rows', () => {
  it('equal the rows filtered one by one, for random filters, selections, limits and offsets', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    for (let f = 0; f < 4; f++) {
      const df = randomFrame(rng, rng.int(800, 2500));
      await DataFrame.put(store, 'f', df, { chunkRows: rng.pick([64, 200, 1000]) });
      const lf = await DataFrame.get(store, 'f');
      const all = rowsOf(df);
      for (let q = 0; q < 25; q++) {
        const terms = Array.from({ length: rng.int(1, 2) }, () => randomTerm(rng));
        const filter = terms.length === 1 ? terms[0]![0] : and(...terms.map((t) => t[0]));
        const cols = NAMES.filter(() => rng.bool(0.6));
        const picked = cols.length === 0 ? ['id'] : cols;
        const at = picked.map((n) => NAMES.indexOf(n as (typeof NAMES)[number]));
        const limit = rng.bool(0.5) ? rng.int(0, 40) : undefined;
        const offset = limit !== undefined && rng.bool(0.3) ? rng.int(0, 5) : 0;
        let want = all.filter((r) => terms.every(([, keep]) => keep(r))).map((r) => at.map((c) => r[c]!));
        want = want.slice(offset, limit === undefined ? undefined : offset + limit);
        let query = lf.filter(filter).select(...picked);
        if (offset) query = query.offset(offset);
        if (limit !== undefined) query = query.limit(limit);
        const got = rowsOf(await query.collect());
        expect(
          got,
          `frame ${f} query ${q}: ${JSON.stringify(filter)} select ${picked} limit ${limit} offset ${offset}`,
        ).toEqual(want);
      }
    }
  });

  it("reads the other columns only of chunks with a match, and stops at the limit's chunk", async () => {
    const rng = seededRng();
    const n = 16 * 500;
    // Code 'hit' in chunks 3 and 11 only; the other four columns are payload.
    const code = Array.from({ length: n }, (_, i) => (Math.floor(i / 500) % 8 === 3 && i % 97 === 0 ? 'hit' : 'miss'));
    const df = DataFrame.fromColumns({
      code,
      id: Int32Array.from({ length: n }, (_, i) => i),
      a: Float64Array.from({ length: n }, () => rng.int(0, 1000)),
      b: Array.from({ length: n }, () => rng.word(4)),
      c: Float64Array.from({ length: n }, () => rng.next()),
    });
    const inner = new MemoryStore();
    await DataFrame.put(inner, 'f', df, { chunkRows: 500 });
    const store = new InstrumentedStore(inner);
    const lf = await DataFrame.get(store, 'f');
    const all = rowsOf(df);
    store.gets = 0;
    const got = rowsOf(await lf.filter(eq(col('code'), 'hit')).collect());
    expect(got).toEqual(all.filter((r) => r[0] === 'hit'));
    // 16 code chunks, the four other columns of the 2 chunks with a match, the version check's read.
    expect(store.gets).toBeLessThanOrEqual(16 + 2 * 4 + 1);
    // Reading every column would be 16 x 5.
    store.gets = 0;
    const first = rowsOf(
      await lf
        .filter(eq(col('code'), 'miss'))
        .limit(3)
        .collect(),
    );
    expect(first).toEqual(all.filter((r) => r[0] === 'miss').slice(0, 3));
    // The limit is met in chunk 0: its code column and the next four's (reads kept in flight), its
    // other four columns, the version check's read.
    expect(store.gets).toBeLessThanOrEqual(5 + 4 + 1);
  });

  it('explain says a filtered row query reads its other columns late; joins and unfiltered reads, whole', async () => {
    const store = new MemoryStore();
    const df = DataFrame.fromColumns({
      id: Int32Array.from([1, 2, 3]),
      x: Float64Array.from([1, 2, 3]),
      s: ['a', 'b', 'c'],
    });
    await DataFrame.put(store, 'f', df);
    const lf = await DataFrame.get(store, 'f');
    const lines = lf
      .filter(gt(col('x'), 1))
      .select('id', 's', 'x')
      .explain()
      .split('\n');
    expect(lines.slice(1, 3)).toEqual([
      '  read columns: x of every chunk',
      '  then id, s of the chunks where rows match',
    ]);
    expect(
      lf
        .filter(gt(col('x'), 1))
        .select('x')
        .explain()
        .split('\n')[1],
    ).toBe('  read columns: x');
    expect(lf.query().explain().split('\n')[1]).toBe('  read columns: id, x, s');
    expect(
      df
        .filter(gt(col('x'), 1))
        .explain()
        .split('\n')[1],
    ).toBe('  read columns: id, x, s');
  });
});
