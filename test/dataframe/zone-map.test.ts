// Zone maps: the writer records per chunk and column min, max and null count; a filter skips the
// chunks that cannot match, says how many it skipped, and never changes an answer (random filters
// over random data with nulls, NaN and every type, against a row-by-row reference), locally and on a
// cluster.

import { describe, expect, it } from 'vitest';
import {
  DataFrame,
  and,
  col,
  eq,
  ge,
  gt,
  isIn,
  isNull,
  le,
  lt,
  ne,
  or,
  queryStats,
  type Expr,
  type Value,
} from '../../dataframe/index.js';
import { computeZone } from '../../dataframe/zone-map.js';
import { columnFromValues } from '../../dataframe/column-builder.js';
import {
  BigIntColumn,
  BoolColumn,
  DateColumn,
  DoubleColumn,
  IntColumn,
  StringColumn,
  TimestampColumn,
  bitGet,
  bitSet,
  bitmapBytes,
  type Column,
} from '../../dataframe/column.js';
import { MemoryStore } from '../support/memory-store.js';
import { FakeCluster } from './fake-cluster.js';
import { InstrumentedStore, rowsOf, seededRng } from './helpers.js';

describe('zone maps', () => {
  it('computes min, max and nulls per chunk, and no bounds over NaN or only nulls', () => {
    expect(computeZone(columnFromValues('D', [3, null, -1, 2]), 0, 4)).toEqual([-1, 3, 1]);
    expect(computeZone(columnFromValues('D', [3, Number.NaN, 1]), 0, 3)).toEqual([null, null, 0]);
    expect(computeZone(columnFromValues('S', ['b', null, 'a']), 0, 3)).toEqual(['a', 'b', 1]);
    expect(computeZone(columnFromValues('L', [5n, -(2n ** 63n)]), 0, 2)).toEqual([-(2n ** 63n), 5n, 0]);
    expect(computeZone(columnFromValues('I', [null, null]), 0, 2)).toEqual([null, null, 2]);
    expect(computeZone(columnFromValues('I', [1, 2, 3, 4]), 1, 3)).toEqual([2, 3, 0]);
  });

  it('int64 and timestamp bounds agree with bigint comparison near the sign and 32-bit word edges', () => {
    const rng = seededRng();
    const edges = [0n, -1n, 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, -(2n ** 32n), 2n ** 63n - 1n, -(2n ** 63n)];
    for (let round = 0; round < 200; round++) {
      const n = rng.int(1, 40);
      const vals = Array.from({ length: n }, () => {
        if (rng.bool(0.15)) return null;
        const e = rng.pick(edges) + BigInt(rng.int(-3, 3));
        return BigInt.asIntN(64, rng.bool(0.5) ? e : e * BigInt(rng.int(-1000, 1000)));
      });
      const a = rng.int(0, n - 1);
      const b = rng.int(a + 1, n);
      const live = vals
        .slice(a, b)
        .filter((v): v is bigint => v !== null)
        .sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      const want = [live[0] ?? null, live.at(-1) ?? null, b - a - live.length];
      const t = rng.pick(['L', 'T'] as const);
      expect(computeZone(columnFromValues(t, vals), a, b), `${t} ${vals.join(',')} rows ${a}-${b}`).toEqual(want);
    }
  });

  it('bounds of every type agree with a row-by-row reference, and 0 or -0 is the one met first', () => {
    // Null rows hold junk (as an Arrow buffer may), NaN and infinities appear, codes come in every
    // width, and ranges start and end anywhere: each kind of array has its own scan in computeZone.
    const rng = seededRng();
    /** The first non-null value sets min and max; a strictly smaller or greater one replaces it. */
    const reference = (c: Column, a: number, b: number): unknown[] => {
      let min: unknown = null;
      let max: unknown = null;
      let nulls = 0;
      let nan = false;
      for (let i = a; i < b; i++) {
        if (c.nulls && bitGet(c.nulls, i)) {
          nulls++;
          continue;
        }
        const v = c.type === 'S' ? (c as StringColumn).get(i) : (c.values as ArrayLike<unknown>)[i];
        if (typeof v === 'number' && Number.isNaN(v)) nan = true;
        else {
          if (min === null || (v as number) < (min as number)) min = v;
          if (max === null || (v as number) > (max as number)) max = v;
        }
      }
      if (nan || (typeof min === 'string' && ((min as string).length > 64 || (max as string).length > 64)))
        return [null, null, nulls];
      return [min, max, nulls];
    };
    const doubles = [0, -0, 1.5, -2.25, Number.NaN, Infinity, -Infinity, 1e300, -1e-300];
    const bigs = [
      0n,
      -1n,
      2n ** 32n,
      2n ** 32n + 1n,
      -(2n ** 32n),
      2n ** 63n - 1n,
      -(2n ** 63n),
      1_700_000_000_000_000n,
    ];
    const strs = ['', 'a', 'b', 'ab', 'é', 'x'.repeat(65), 'Z'];
    for (let round = 0; round < 400; round++) {
      const n = rng.int(1, 300);
      const pNull = rng.pick([0, 0, 0.1, 0.9, 1]);
      let nulls: Uint8Array | undefined;
      for (let i = 0; i < n; i++) if (rng.bool(pNull)) bitSet((nulls ??= new Uint8Array(bitmapBytes(n))), i);
      const t = rng.pick(['I', 'd', 'D', 'B', 'L', 'T', 'S', 'S'] as const);
      let c: Column;
      if (t === 'I' || t === 'd') {
        const v = Int32Array.from({ length: n }, () => rng.int(-2147483648, 2147483647) >> rng.int(0, 31));
        c = t === 'I' ? new IntColumn(v, n, nulls) : new DateColumn(v, n, nulls);
      } else if (t === 'D') {
        // Some chunks of signed zeros and one sign of other values: 0 or -0 is then a bound.
        const zeros = rng.bool(0.3)
          ? rng.pick([
              [0, -0, 0.5],
              [0, -0, -0.5],
            ])
          : undefined;
        const v = Float64Array.from({ length: n }, () =>
          zeros
            ? rng.pick(zeros)
            : rng.bool(0.3)
              ? rng.pick(doubles)
              : rng.bool(0.02)
                ? Number.NaN
                : rng.int(-1e6, 1e6) / 8,
        );
        c = new DoubleColumn(v, n, nulls);
      } else if (t === 'B')
        c = new BoolColumn(
          Uint8Array.from({ length: n }, () => rng.int(0, 1)),
          n,
          nulls,
        );
      else if (t === 'L' || t === 'T') {
        const hi = BigInt(rng.int(-3, 3)) << 32n;
        const v = BigInt64Array.from({ length: n }, () =>
          rng.bool(0.1)
            ? rng.pick(bigs)
            : BigInt.asIntN(64, hi + BigInt(rng.int(0, 0xffffffff)) + (rng.bool() ? 1n << 32n : 0n)),
        );
        c = t === 'L' ? new BigIntColumn(v, n, nulls) : new TimestampColumn(v, n, nulls);
      } else if (rng.bool()) {
        const dict = strs.slice(0, rng.int(1, strs.length));
        const codes = new (rng.pick([Uint8Array, Uint16Array, Uint32Array]))(n).map(() => rng.int(0, dict.length - 1));
        c = new StringColumn(undefined, n, nulls, { dict, codes });
      } else
        c = new StringColumn(
          Array.from({ length: n }, () => rng.pick(strs)),
          n,
          nulls,
        );
      const a = rng.bool() ? 0 : rng.int(0, n - 1);
      const b = rng.bool() ? n : rng.int(a, n);
      const got = computeZone(c, a, b);
      const want = reference(c, a, b);
      const where = `round ${round}: ${t}, rows ${a}-${b} of ${n}: got ${String(got)}, want ${String(want)}`;
      expect(got.length, where).toBe(3);
      for (let k = 0; k < 3; k++) expect(Object.is(got[k], want[k]), `${where} (item ${k})`).toBe(true);
    }
  });

  it('skips chunks of an ordered column without reading them, and says how many', async () => {
    const n = 2000;
    const t = Array.from({ length: n }, (_, r) => BigInt(r) * 1_000_000n); // one a second
    const x = Array.from({ length: n }, (_, r) => r % 7);
    const mem = new MemoryStore();
    await DataFrame.put(mem, 'ts', DataFrame.fromColumns({ t: { type: 'T', values: t }, x: new Int32Array(x) }), {
      chunkRows: 100,
    });
    const store = new InstrumentedStore(mem);
    const lf = await DataFrame.get(store, 'ts', { cacheBytes: 0 });
    const from = 1_750n * 1_000_000n;
    store.gets = 0;
    const got = await lf.filter(ge(col('t'), '1970-01-01T00:29:10Z')).agg({ x: 'sum', '*': 'count' });
    expect(got.row(0)).toEqual([x.slice(1750).reduce((a, b) => a + b, 0), 250]);
    expect(queryStats(got)).toEqual({ chunks: 20, chunksSkipped: 17 }); // chunks 0-16 end before 1750 s
    expect(from).toBe(1_750_000_000n);
    // Three chunks of two columns read, and nothing of the others.
    expect(store.gets).toBeLessThanOrEqual(3 * 2);
    const none = await lf.filter(lt(col('t'), -1)).collect();
    expect(none.nrows).toBe(0);
    expect(queryStats(none)?.chunksSkipped).toBe(20);
    const all = await lf.filter(ge(col('x'), 0)).count();
    expect(all).toBe(n);
  });

  it('never changes an answer: random filters on random frames, locally and on a cluster', async () => {
    const rng = seededRng();
    const n = 1500;
    const pick = <T>(xs: T[]): T => rng.pick(xs);
    // Clustered values, so that many chunks can be skipped and many cannot.
    const i = Array.from({ length: n }, (_, r) => (rng.bool(0.1) ? null : Math.floor(r / 50) + rng.int(-3, 3)));
    const d = Array.from({ length: n }, (_, r) =>
      rng.bool(0.1) ? null : rng.bool(0.01) ? Number.NaN : r / 10 + rng.int(0, 100) / 8,
    );
    const s = Array.from({ length: n }, (_, r) =>
      rng.bool(0.1) ? null : `k${String(Math.floor(r / 200)).padStart(2, '0')}`,
    );
    const l = Array.from({ length: n }, (_, r) => (rng.bool(0.1) ? null : BigInt(r) * 2n ** 40n - 2n ** 62n));
    const dt = Array.from({ length: n }, (_, r) => (r >= 1200 ? null : 19000 + Math.floor(r / 30)));
    const df = DataFrame.fromColumns({
      i: { type: 'I', values: i },
      d: { type: 'D', values: d },
      s: { type: 'S', values: s },
      l: { type: 'L', values: l },
      dt: { type: 'd', values: dt },
    });
    const cols = { i, d, s, l, dt } as Record<string, Value[]>;
    const leaf = (): [Expr, (r: number) => boolean | null] => {
      const c = pick(['i', 'd', 's', 'l', 'dt']);
      const vals = cols[c]!;
      const some = vals[rng.int(0, n - 1)];
      const y: Value = some ?? (c === 's' ? 'k03' : c === 'l' ? 0n : 5);
      const lit = (c === 'l' ? Number(y as bigint) : y) as number | string;
      const yv = c === 'l' ? BigInt(lit) : lit; // the int64 literal as compared (it is a multiple of 2^40)
      const op = pick(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in', 'null'] as const);
      const test = (v: Value): boolean | null => {
        if (v === null) return null;
        const a = v as number;
        const b = yv as number;
        // NaN equals NaN and is above every other number, as SQL compares it.
        const nanA = Number.isNaN(a);
        const nanB = Number.isNaN(b);
        switch (op) {
          case 'eq':
            return nanA || nanB ? nanA && nanB : a === b;
          case 'ne':
            return nanA || nanB ? !(nanA && nanB) : a !== b;
          case 'lt':
            return nanA ? false : nanB ? true : a < b;
          case 'le':
            return nanB ? true : nanA ? false : a <= b;
          case 'gt':
            return nanA ? !nanB : nanB ? false : a > b;
          case 'ge':
            return nanA ? true : nanB ? false : a >= b;
          default:
            return a === b;
        }
      };
      const f = { eq, ne, lt, le, gt, ge }[op as 'eq'];
      if (op === 'null') return [isNull(col(c)), (r) => vals[r] === null];
      // isIn matches as a Set does: NaN is in [NaN] (as eq finds it).
      if (op === 'in') return [isIn(col(c), [lit]), (r) => (vals[r] === null ? null : [yv].includes(vals[r] as never))];
      // lit <op> col keeps the rows where col <flipped op> lit: the reference tests the flipped op.
      if (rng.bool()) return [f(col(c), lit), (r) => test(vals[r]!)];
      const flip = { eq: 'eq', ne: 'ne', lt: 'gt', le: 'ge', gt: 'lt', ge: 'le' }[op as 'eq'] as typeof op;
      const g = { eq, ne, lt, le, gt, ge }[flip as 'eq'];
      return [g(lit, col(c)), (r) => test(vals[r]!)];
    };
    const tree = (depth: number): [Expr, (r: number) => boolean | null] => {
      if (depth === 0 || rng.bool(0.4)) return leaf();
      const parts = [tree(depth - 1), tree(depth - 1)];
      if (rng.bool()) {
        // Three-valued AND / OR.
        return [
          and(...parts.map((p) => p[0])),
          (r) => {
            const v = parts.map((p) => p[1](r));
            return v.includes(false) ? false : v.includes(null) ? null : true;
          },
        ];
      }
      return [
        or(...parts.map((p) => p[0])),
        (r) => {
          const v = parts.map((p) => p[1](r));
          return v.includes(true) ? true : v.includes(null) ? null : false;
        },
      ];
    };
    const local = new MemoryStore();
    await DataFrame.put(local, 'z', df, { chunkRows: 64 });
    const cluster = new FakeCluster(3, 16, 2);
    await DataFrame.put(cluster, 'z', df, { chunkRows: 64 });
    let skippedSome = 0;
    for (const store of [local, cluster]) {
      const lf = await DataFrame.get(store, 'z');
      for (let k = 0; k < 60; k++) {
        const [e, keep] = tree(2);
        const got = await lf.filter(e).select('i', 's').collect();
        const want: Value[][] = [];
        for (let r = 0; r < n; r++) if (keep(r) === true) want.push([i[r]!, s[r]!]);
        expect(
          rowsOf(got),
          JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? String(v) : v)),
        ).toEqual(want);
        if ((queryStats(got)?.chunksSkipped ?? 0) > 0) skippedSome++;
      }
    }
    expect(skippedSome).toBeGreaterThan(10);
  });
});
