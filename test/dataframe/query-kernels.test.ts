// The per-row kernels a warm query runs on the nodes, against the plain forms they replace: the
// group-by's dictionary kernel (every code array type, a selection or none, nulls or none) against
// grouping the strings themselves, and the KLL sketch's whole-column add against adding values one
// by one. Seeded; the seed is printed on failure.

import { describe, expect, it } from 'vitest';
import type { Rng } from '../../app/apps/random.js';
import {
  DoubleColumn,
  IntColumn,
  StringColumn,
  bitSet,
  bitmapBytes,
  makeColumn,
  type Column,
} from '../../dataframe/column.js';
import { GroupAggregator } from '../../dataframe/query/group-agg.js';
import { gather } from '../../dataframe/query/partial.js';
import { mergePartials } from '../../dataframe/query/merge.js';
import { checkPlan } from '../../dataframe/query/plan.js';
import { KllSketch } from '../../dataframe/query/sketch/kll.js';
import type { AggSpec } from '../../dataframe/query/plan.js';
import { seededRng } from './helpers.js';

/** A null bitmap with each of n rows null with probability p (undefined when p is 0). */
function nullBits(rng: Rng, n: number, p: number): Uint8Array | undefined {
  if (p === 0) return undefined;
  const bm = new Uint8Array(bitmapBytes(n));
  for (let r = 0; r < n; r++) if (rng.bool(p)) bitSet(bm, r);
  return bm;
}

/** An ascending random selection of rows of 0..n-1, or undefined (all rows). */
function selection(rng: Rng, n: number, p: number | undefined): Uint32Array | undefined {
  if (p === undefined) return undefined;
  const out: number[] = [];
  for (let r = 0; r < n; r++) if (rng.bool(p)) out.push(r);
  return Uint32Array.from(out);
}

const isNullAt = (nulls: Uint8Array | undefined, r: number): boolean =>
  nulls !== undefined && ((nulls[r >>> 3]! >>> (r & 7)) & 1) === 1;

describe('query kernels', () => {
  it('group-by over a dictionary column equals grouping its strings, for every code array type', () => {
    const rng = seededRng();
    // count(*), sum and mean: the group numbers, then a loop per aggregate; count(*) and one mean
    // (with count(v), which counts the rows while v has no null): the one-pass loop (fusedSum) while
    // v has no null in a chunk's rows; counts alone (count(*), and count(v) while v has no null):
    // the rows counted per code (countRows).
    const aggSets: AggSpec[][] = [
      [{ col: '*', fn: 'count', as: 'n' }],
      [
        { col: '*', fn: 'count', as: 'n' },
        { col: 'v', fn: 'count', as: 'c' },
      ],
      [
        { col: '*', fn: 'count', as: 'n' },
        { col: 'v', fn: 'sum', as: 's' },
        { col: 'v', fn: 'mean', as: 'm' },
      ],
      [
        { col: '*', fn: 'count', as: 'n' },
        { col: 'v', fn: 'count', as: 'c' },
        { col: 'v', fn: 'mean', as: 'm' },
      ],
    ];
    // 40 codes as Uint8Array, 300 as Uint16Array, 300 as Uint32Array (the code types a decoded
    // dictionary chunk may have); the same strings as plain values for the reference.
    for (const aggs of aggSets)
      for (const Codes of [Uint8Array, Uint16Array, Uint32Array])
        for (const dictSize of [1, 40, 300])
          for (const pNull of [0, 0.05])
            for (const pValueNull of [0, 0.02])
              for (const pSel of [undefined, 0.4]) {
                const what = `${aggs.map((a) => a.fn)} ${Codes.name} dict ${dictSize} nulls ${pNull}/${pValueNull} sel ${pSel}`;
                const dict = Array.from({ length: dictSize }, (_, i) => `k${(i * 7919) % 1000}`);
                const agg = new GroupAggregator(aggs, [0], [undefined, 1, 1]);
                const ref = new GroupAggregator(aggs, [0], [undefined, 1, 1]);
                for (let chunk = 0; chunk < 3; chunk++) {
                  // The middle chunk sometimes empty.
                  const n = chunk === 1 && rng.bool(0.3) ? 0 : rng.int(0, 3000);
                  const codes = new Codes(n);
                  // Skewed: later codes are rarer, and some never show in a chunk (no group for them).
                  for (let r = 0; r < n; r++) codes[r] = Math.floor(dictSize * rng.next() ** 2);
                  const nulls = nullBits(rng, n, pNull);
                  const v = new Float64Array(n);
                  for (let r = 0; r < n; r++) v[r] = rng.int(-50, 50) / 4;
                  // Values with nulls in the last chunk only: the chunks before run the one-pass loop.
                  const vals = new DoubleColumn(v, n, chunk === 2 ? nullBits(rng, n, pValueNull) : undefined);
                  const coded = new StringColumn(undefined, n, nulls, { dict, codes });
                  const plain = new StringColumn(
                    Array.from(codes, (c) => dict[c]!),
                    n,
                    nulls,
                  );
                  const sel = selection(rng, n, pSel);
                  agg.addChunk([coded, vals], n, sel, chunk);
                  ref.addChunk([plain, vals], n, sel, chunk);
                }
                // Groups numbered alike (in the order their first rows come), each with equal
                // counts and sums (quarters: exact in any order of addition).
                expect(agg.result(), what).toEqual(ref.result());
              }
  });

  it('aggregators fed chunk by chunk in turn answer as plain loops do (group numbers are shared scratch)', () => {
    const rng = seededRng();
    // min/max go through the group numbers (not the one-pass loops): one aggregator grouped by a
    // dictionary key with nulls, one by an int column, one ungrouped, fed each chunk in turn.
    const aggs: AggSpec[] = [
      { col: 'v', fn: 'min', as: 'lo' },
      { col: 'v', fn: 'max', as: 'hi' },
      { col: '*', fn: 'count', as: 'n' },
    ];
    const dict = Array.from({ length: 50 }, (_, i) => `k${i}`);
    const chunks = Array.from({ length: 6 }, () => {
      const n = rng.int(0, 5000);
      const codes = new Uint8Array(n);
      for (let r = 0; r < n; r++) codes[r] = rng.int(0, dict.length - 1);
      const v = new Float64Array(n);
      for (let r = 0; r < n; r++) v[r] = rng.int(-1000, 1000);
      const ints = new Int32Array(n);
      for (let r = 0; r < n; r++) ints[r] = rng.int(0, 7);
      const keyNulls = nullBits(rng, n, 0.05);
      const vNulls = nullBits(rng, n, 0.05);
      return {
        n,
        cols: [
          new StringColumn(undefined, n, keyNulls, { dict, codes }),
          new DoubleColumn(v, n, vNulls),
          new IntColumn(ints, n, undefined),
        ] as Column[],
        sel: selection(rng, n, rng.bool(0.5) ? 0.6 : undefined),
        key: [(r: number) => (isNullAt(keyNulls, r) ? null : dict[codes[r]!]!), (r: number) => ints[r]!, () => 0],
        value: (r: number) => (isNullAt(vNulls, r) ? null : v[r]!),
      };
    });
    const groupings = [[0], [2], []];
    const aggregators = groupings.map((g) => new GroupAggregator(aggs, g, [1, 1, undefined]));
    chunks.forEach((c, i) => {
      for (const a of aggregators) a.addChunk(c.cols, c.n, c.sel, i);
    });
    groupings.forEach((g, k) => {
      const want = new Map<unknown, [number | null, number | null, number]>();
      for (const c of chunks)
        for (let j = 0; j < (c.sel ? c.sel.length : c.n); j++) {
          const r = c.sel ? c.sel[j]! : j;
          const key = c.key[k]!(r);
          const acc = want.get(key) ?? [null, null, 0];
          const x = c.value(r);
          if (x !== null) {
            acc[0] = acc[0] === null ? x : Math.min(acc[0], x);
            acc[1] = acc[1] === null ? x : Math.max(acc[1], x);
          }
          acc[2]++;
          want.set(key, acc);
        }
      const got = new Map(aggregators[k]!.result().map(([key, accs]) => [g.length ? key[0] : 0, accs]));
      expect(got, `aggregator ${k}`).toEqual(want);
    });
  });

  it('KLL addColumn keeps the same sketch as adding each value, across the exact phase and beyond', () => {
    const rng = seededRng();
    for (const kind of ['f64', 'i32'] as const)
      for (const mode of ['narrow', 'wide', 'odd', 'strided', 'no NaN'] as const)
        for (const pNull of [0, 0.1])
          for (const pSel of [undefined, 0.5]) {
            const what = `${kind} ${mode} nulls ${pNull} sel ${pSel}`;
            // narrow: 301 integers (the exact phase lasts); wide: ~2,000 (it ends mid-column);
            // odd: zeros, -0, NaN, fractions and integers past int32 beside small integers;
            // strided: multiples of 1,024 (the same low bits: hashes that keep them collide); no
            // NaN: odd's values without NaN (-0 and 0 sorted apart by the values' own sort).
            const value = (): number =>
              mode === 'narrow'
                ? rng.int(-10, 290)
                : mode === 'strided'
                  ? rng.int(-150, 150) * 1024
                  : mode === 'no NaN'
                    ? rng.pick([0, -0, 0.5, -2.25, 2 ** 31, -(2 ** 40), rng.int(-5, 5)])
                    : mode === 'wide'
                      ? rng.int(-1000, 1000)
                      : kind === 'i32'
                        ? rng.pick([0, -1, 1, 2 ** 31 - 1, -(2 ** 31), rng.int(-5, 5)])
                        : rng.pick([0, -0, Number.NaN, 0.5, -2.25, 2 ** 31, -(2 ** 40), 2 ** 31 - 1, rng.int(-5, 5)]);
            const one = new KllSketch();
            const col = new KllSketch();
            // Each value's count, for the exact phase's answer: -0 apart from 0, NaN as one value.
            const counted = new Map<string, [number, number]>();
            for (let chunk = 0; chunk < 5; chunk++) {
              // Wide columns long enough to pass 1,024 distinct values whatever the draws (at least
              // 3,000 values of 2,001 kinds: ~1,550 distinct, 30 standard deviations above 1,024);
              // the third chunk is empty.
              const n = chunk === 2 ? 0 : mode === 'wide' ? rng.int(1500, 5000) : rng.int(0, 5000);
              const a = kind === 'f64' ? new Float64Array(n) : new Int32Array(n);
              for (let r = 0; r < n; r++) a[r] = value();
              const nulls = nullBits(rng, n, pNull);
              const sel = selection(rng, n, pSel);
              const m = sel ? sel.length : n;
              for (let j = 0; j < m; j++) {
                const r = sel ? sel[j]! : j;
                if (isNullAt(nulls, r)) continue;
                one.add(a[r]!);
                const x = a[r]!;
                const key = Object.is(x, -0) ? '-0' : String(x);
                counted.set(key, [x, (counted.get(key)?.[1] ?? 0) + 1]);
              }
              col.addColumn(a, nulls, sel, m);
            }
            if (mode !== 'wide') {
              const ref = [...counted.values()].sort((p, q) => {
                const t = Float64Array.of(p[0], q[0]).sort();
                return Object.is(t[0], p[0]) && !Object.is(p[0], q[0]) ? -1 : 1;
              });
              const total = ref.reduce((t, [, c]) => t + c, 0);
              expect(col.toPlain(), what).toEqual([total, [], ref.map(([x]) => x), ref.map(([, c]) => c)]);
            }
            expect(col.n, what).toBe(one.n);
            expect(col.isExact, what).toBe(one.isExact);
            expect(col.toPlain(), what).toEqual(one.toPlain());
            if (mode !== 'wide') expect(col.isExact, what).toBe(true);
            if (mode === 'wide') expect(col.isExact, what).toBe(false);
          }
  });

  it('KLL addColumn respects the query budget for its exact table', () => {
    // 64 slots: the table grows to 32 then 64 and stops (33 distinct values need 128), so the
    // 33rd distinct value, met mid-column, turns the sketch into levels, as add() does.
    const mk = () => {
      let left = 64;
      return { takeSlots: (n: number) => (n <= left ? ((left -= n), true) : false) };
    };
    const a = Int32Array.from({ length: 200 }, (_, i) => i % 40);
    const col = new KllSketch(mk());
    col.addColumn(a, undefined, undefined, a.length);
    const one = new KllSketch(mk());
    for (const x of a) one.add(x);
    expect(col.isExact).toBe(false);
    expect(col.toPlain()).toEqual(one.toPlain());
    expect(col.quantile(0.5)).toBe(one.quantile(0.5));
  });

  it('a median over an int and a double column with nulls equals the sorted values', () => {
    const rng = seededRng();
    const n = 20_000;
    const iv = new Int32Array(n);
    const dv = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      iv[r] = rng.int(-100, 100);
      dv[r] = rng.int(-400, 400) / 4;
    }
    const nulls = nullBits(rng, n, 0.1);
    const cols: Column[] = [new IntColumn(iv, n, nulls), new DoubleColumn(dv, n, nulls)];
    const agg = new GroupAggregator(
      [
        { col: 'i', fn: 'median', as: 'mi' },
        { col: 'd', fn: 'median', as: 'md' },
      ],
      [],
      [0, 1],
    );
    const sel = selection(rng, n, 0.7)!;
    agg.addChunk(cols, n, sel, 0);
    const accs = agg.result()[0]![1];
    const kept = [...sel].filter((r) => !isNullAt(nulls, r));
    for (const [k, src] of [iv, dv].entries()) {
      const xs = Float64Array.from(kept, (r) => src[r]!).sort();
      const s = KllSketch.fromPlain(accs[k]);
      expect(s.quantile(0.5)).toBe(xs[Math.ceil(0.5 * xs.length) - 1]);
    }
  });

  it('the merge combines every group of every partial: counts, double and int64 sums, means, min, median', () => {
    const rng = seededRng();
    const fields = [
      { name: 'k', type: 'S' as const },
      { name: 'd', type: 'D' as const },
      { name: 'l', type: 'L' as const },
    ];
    const aggs: AggSpec[] = [
      { col: '*', fn: 'count', as: 'n' },
      { col: 'd', fn: 'sum', as: 'sd' },
      { col: 'd', fn: 'mean', as: 'md' },
      { col: 'l', fn: 'sum', as: 'sl' },
      { col: 'd', fn: 'min', as: 'mn' },
      { col: 'd', fn: 'median', as: 'med' },
    ];
    const checked = checkPlan({ groupBy: ['k'], aggs }, fields);
    // Per group, every row's values, to compute the expected answer row by row.
    const rows = new Map<string, { d: number; l: bigint }[]>();
    const sums = new Map<string, bigint>();
    const LIMIT = 2n ** 62n;
    const partials = [0, 1, 2].map((p) => {
      const agg = new GroupAggregator(aggs, [0], [undefined, 1, 1, 2, 1, 1]);
      const n = rng.int(0, 400);
      const k = Array.from({ length: n }, () => `g${rng.int(0, 30)}`);
      const d = Float64Array.from({ length: n }, () => rng.int(-100, 100) / 4);
      // int64 values beyond a double's exact range: their sums travel as decimal text. A value that
      // would take its group's sum past 2^62 is negated, so every group's sum stays an int64 (the
      // merge rightly refuses one that does not).
      const l = BigInt64Array.from({ length: n }, (_, r) => {
        const v = BigInt(rng.int(-1000, 1000)) * 2n ** 50n + BigInt(rng.int(0, 9));
        const s = sums.get(k[r]!) ?? 0n;
        const x = s + v > LIMIT || s + v < -LIMIT ? -v : v;
        sums.set(k[r]!, s + x);
        return x;
      });
      for (let r = 0; r < n; r++) {
        const list = rows.get(k[r]!) ?? [];
        list.push({ d: d[r]!, l: l[r]! });
        rows.set(k[r]!, list);
      }
      const cols: Column[] = [
        new StringColumn(k, n, undefined),
        new DoubleColumn(d, n, undefined),
        makeColumn('L', l, n, undefined),
      ];
      agg.addChunk(cols, n, undefined, p);
      // Through the wire's plain form, as partials from nodes arrive.
      return structuredClone({ chunks: [p], groups: agg.result() });
    });
    const df = mergePartials(checked, partials, 3);
    const keys = [...rows.keys()].sort();
    expect(df.nrows).toBe(keys.length);
    keys.forEach((key, i) => {
      const list = rows.get(key)!;
      const ds = list.map((x) => x.d);
      const sum = ds.reduce((a, b) => a + b, 0);
      const sorted = Float64Array.from(ds).sort();
      const got = df.row(i);
      expect(got[0], key).toBe(key);
      expect(got[1], key).toBe(list.length);
      expect(got[2], key).toBeCloseTo(sum, 9);
      expect(got[3], key).toBeCloseTo(sum / list.length, 9);
      expect(got[4], key).toBe(list.reduce((a, x) => a + x.l, 0n));
      expect(got[5], key).toBe(Math.min(...ds));
      expect(got[6], key).toBe(sorted[Math.ceil(0.5 * sorted.length) - 1]);
    });
  });
});

describe('gather', () => {
  it("keeps a dictionary's code width without calling a Buffer's constructor", () => {
    // Codes decoded in place from a chunk's bytes may be a Buffer: Buffer(size) is deprecated (DEP0005).
    const warnings: string[] = [];
    const emit = process.emitWarning;
    process.emitWarning = ((w: string | Error, ...rest: unknown[]) => {
      warnings.push(String((rest[1] as string | undefined) ?? (rest[0] as { code?: string } | undefined)?.code ?? w));
    }) as typeof process.emitWarning;
    try {
      for (const codes of [Buffer.from([1, 0, 1, 2]), Uint16Array.of(1, 0, 1, 2), Uint32Array.of(1, 0, 1, 2)]) {
        const col = new StringColumn(undefined, 4, undefined, { dict: ['a', 'b', 'c'], codes });
        const out = gather(col, Uint32Array.of(3, 0, 2));
        expect([out.get(0), out.get(1), out.get(2)]).toEqual(['c', 'b', 'b']);
        const got = (out as StringColumn).dictionary!.codes;
        expect(Buffer.isBuffer(got)).toBe(false);
        expect(got.BYTES_PER_ELEMENT).toBe(codes.BYTES_PER_ELEMENT);
      }
    } finally {
      process.emitWarning = emit;
    }
    expect(warnings).toEqual([]);
  });
});
