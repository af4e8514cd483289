// The KLL sketch's whole-column add (a median's or an ungrouped quantile's counting on a node), whose
// exact phase counts a chunk's integers in a dense array by value before its table, against adding
// the same values one by one: the same sketch value for value (its exact counts, then its levels),
// the same count of values and the same slots taken from the query's budget, on columns of doubles
// and int32s with nulls, selections, -0, NaN, fractions, integers past int32, spans at and past the
// dense window, more distinct values than the table keeps, budgets that refuse its growth, and null
// rows holding values the dense count cannot take.
// Seeded: a failure prints the seed; EAU2_TEST_SEED=<seed> replays it.

import { describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { bitSet, bitmapBytes } from '../../dataframe/column.js';
import { type ExactBudget, KllSketch } from '../../dataframe/query/sketch/kll.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);

/** A budget of `left` slots that records what it lent; a refusal takes nothing. */
function budget(left: number): ExactBudget & { taken: number } {
  return {
    taken: 0,
    takeSlots(n: number): boolean {
      if (n > left) return false;
      left -= n;
      this.taken += n;
      return true;
    },
  };
}

const isNullAt = (nulls: Uint8Array | undefined, r: number): boolean =>
  nulls !== undefined && ((nulls[r >>> 3]! >>> (r & 7)) & 1) === 1;

/** A double's 64 bits as a map key: -0 is not 0, NaN is itself (as the sketch's table keys them). */
const bitsOf = (x: number): string => {
  const f = Float64Array.of(x);
  const u = new Uint32Array(f.buffer);
  return `${u[0]}:${u[1]}`;
};

type Mode =
  | 'narrow'
  | 'no +0'
  | 'half window'
  | 'window'
  | 'past window'
  | 'distinct'
  | 'odd'
  | 'extremes'
  | 'fractions';

/** A chunk's value draw: the modes are the shapes the dense path takes, splits or refuses. */
function drawer(rng: Rng, mode: Mode, kind: 'f64' | 'i32'): () => number {
  // A chunk's own offset, so chunks of one column do not all share a window.
  const at = rng.int(-3000, 3000);
  switch (mode) {
    case 'narrow': // delays in whole minutes: a few hundred values, -0 among them for doubles
      return () => (kind === 'f64' && rng.bool(0.01) ? -0 : Math.round(-10 + rng.next() ** 3 * 300));
    case 'no +0': {
      // -0 and 1..2^p - 1 (2^p values: the table exactly half full), no +0 (-0 is a value of its own)
      const top = rng.pick([15, 31, 63, 127, 255, 511, 1023]);
      return () => (kind === 'f64' && rng.bool(0.05) ? -0 : rng.int(1, top));
    }
    case 'half window': // a span of 4,096 (half the window): fits wherever the first value falls
      return () => at + rng.pick([0, 4096, rng.int(0, 4096)]);
    case 'window': // a span of the whole window: fits or splits, by the first value
      return () => at + rng.pick([0, 8191, 8192, rng.int(0, 8192)]);
    case 'past window': // mostly narrow, now and then far off (the dense run stops there)
      return () => (rng.bool(0.001) ? rng.pick([at + 10_000, at - 10_000]) : at + rng.int(0, 40));
    case 'distinct': // ~2,000 distinct values within the window: past the table's 1,024
      return () => at + rng.int(0, 2000);
    case 'odd': // mostly small integers, now and then a value the dense run cannot take
      return () =>
        rng.bool(0.002)
          ? kind === 'f64'
            ? rng.pick([Number.NaN, 0.5, -2.25, 2 ** 31, -(2 ** 40), -0])
            : rng.pick([2 ** 31 - 1, -(2 ** 31)])
          : rng.int(-5, 5);
    case 'extremes': // the int32 range's ends beside each other (no window wraps around)
      return () => rng.pick([2 ** 31 - 1, -(2 ** 31), 2 ** 31 - 2, -(2 ** 31) + 1, rng.int(-3, 3)]);
    case 'fractions':
      return () => rng.int(-100, 100) / 4;
  }
}

describe('median kernels', () => {
  it('the dense count keeps the same sketch as adding each value, through every shape of column', () => {
    onTestFailed(() => console.error(`[kernels-median] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const rng = new Rng(SEED);
    const modes: Mode[] = [
      'narrow',
      'no +0',
      'half window',
      'window',
      'past window',
      'distinct',
      'odd',
      'extremes',
      'fractions',
    ];
    for (const kind of ['f64', 'i32'] as const)
      for (const mode of modes)
        for (const pNull of [0, 0.02, 0.5])
          for (const sel of [false, true])
            for (const slots of [Number.POSITIVE_INFINITY, rng.int(16, 2048)]) {
              const what = `seed ${SEED}: ${kind} ${mode} nulls ${pNull} sel ${sel} slots ${slots}`;
              const [bo, bc] = [budget(slots), budget(slots)];
              const one = new KllSketch(bo);
              const col = new KllSketch(bc);
              const counted = new Map<string, [number, number]>();
              for (let chunk = 0; chunk < 4; chunk++) {
                // Chunks long enough for the dense path (at least 4,096 positions), one short and
                // one empty; each its own offset.
                const n = chunk === 1 ? 0 : chunk === 2 ? rng.int(1, 3000) : rng.int(8200, 20000);
                const value = drawer(rng, mode, kind);
                const a = kind === 'f64' ? new Float64Array(n) : new Int32Array(n);
                const nulls = pNull > 0 ? new Uint8Array(bitmapBytes(n)) : undefined;
                for (let r = 0; r < n; r++) {
                  a[r] = value();
                  if (!nulls || !rng.bool(pNull)) continue;
                  bitSet(nulls, r);
                  // What a null row holds is not a value: now and then one the dense run cannot take.
                  if (rng.bool(0.1)) a[r] = kind === 'f64' ? rng.pick([Number.NaN, 0.5, -0, 1e9]) : 2 ** 31 - 1;
                }
                let s: Uint32Array | undefined;
                if (sel) {
                  const rows: number[] = [];
                  for (let r = 0; r < n; r++) if (rng.bool(0.8)) rows.push(r);
                  s = Uint32Array.from(rows);
                }
                const m = s ? s.length : n;
                for (let j = 0; j < m; j++) {
                  const r = s ? s[j]! : j;
                  if (isNullAt(nulls, r)) continue;
                  const x = a[r]!;
                  one.add(x);
                  counted.set(bitsOf(x), [x, (counted.get(bitsOf(x))?.[1] ?? 0) + 1]);
                }
                col.addColumn(a, nulls, s, m);
                expect(col.n, `${what} chunk ${chunk}`).toBe(one.n);
                expect(col.isExact, `${what} chunk ${chunk}`).toBe(one.isExact);
                expect(col.toPlain(), `${what} chunk ${chunk}`).toEqual(one.toPlain());
                expect(bc.taken, `${what} chunk ${chunk}: slots`).toBe(bo.taken);
              }
              if (col.isExact) {
                // While exact, the counts are those of a plain map (Float64Array's order: -0 before
                // 0, NaN last).
                const ref = [...counted.values()].sort((p, q) => {
                  const t = Float64Array.of(p[0], q[0]).sort();
                  return Object.is(t[0], p[0]) && !Object.is(p[0], q[0]) ? -1 : 1;
                });
                expect(col.toPlain(), what).toEqual([col.n, [], ref.map(([x]) => x), ref.map(([, c]) => c)]);
              }
              if (mode === 'distinct') expect(col.isExact, what).toBe(false);
              if (mode === 'narrow' && slots === Number.POSITIVE_INFINITY) expect(col.isExact, what).toBe(true);
              expect(col.quantile(0.5), what).toBe(one.quantile(0.5));
            }
  });

  it('a chunk whose new values need more slots than the budget lends ends the exact phase where add() does', () => {
    // 301 delays need 1,024 slots; a budget of 300 lends the table its first 16 and then 16 + 32 +
    // 64 + 128 (256 slots: 128 values) and refuses the next 256, so the column's 129th distinct
    // value, wherever it falls, turns the sketch into levels.
    const rng = new Rng(SEED);
    onTestFailed(() => console.error(`[kernels-median] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const a = Float64Array.from({ length: 10_000 }, () => Math.round(-10 + rng.next() ** 3 * 300));
    const [bo, bc] = [budget(300), budget(300)];
    const one = new KllSketch(bo);
    for (const x of a) one.add(x);
    const col = new KllSketch(bc);
    col.addColumn(a, undefined, undefined, a.length);
    expect(col.isExact).toBe(false);
    expect(bc.taken).toBe(256);
    expect(bc.taken).toBe(bo.taken);
    expect(col.toPlain()).toEqual(one.toPlain());
  });

  it('partials read from the wire and merged ask the budget for what tables grown value by value would', () => {
    // A merge grows its table to the final size at once; the budget must see the requests of a
    // table grown value by value (16 slots, then each doubling when a new value would pass half
    // full), and a refused one must end that table's exact phase.
    onTestFailed(() => console.error(`[kernels-median] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const rng = new Rng(SEED);
    const key = (x: number): string => (Object.is(x, -0) ? '-0' : String(x));
    for (let round = 0; round < 60; round++) {
      const spread = rng.pick([20, 300, 700, 1500]);
      const parts = [0, 1, 2].map(() => new KllSketch());
      const sets = [0, 1, 2].map(() => new Set<string>());
      const xs: number[] = [];
      for (let i = 0; i < 5000; i++) {
        const x = rng.bool(0.01) ? -0 : rng.int(0, spread);
        const p = rng.int(0, 2);
        xs.push(x);
        parts[p]!.add(x);
        sets[p]!.add(key(x));
      }
      const slots = rng.pick([Number.POSITIVE_INFINITY, rng.int(16, 6000)]);
      const what = `seed ${SEED} round ${round}: spread ${spread} slots ${slots}`;
      // The model: each table's requests, in the order the merge makes them.
      let left = slots;
      let asked = 0;
      const req = (n: number): boolean => (n <= left ? ((left -= n), (asked += n), true) : false);
      type Table = { len: number; held: Set<string> } | undefined;
      const grow = (t: Table, values: Set<string>): Table => {
        for (const v of values) {
          if (!t) return undefined;
          if (t.held.has(v)) continue;
          if (t.held.size >= 1024) return undefined;
          if (2 * (t.held.size + 1) > t.len) {
            if (!req(t.len)) return undefined;
            t.len *= 2;
          }
          t.held.add(v);
        }
        return t;
      };
      // A partial past 1,024 values comes as levels and is read without a table.
      const read = (set: Set<string>): Table =>
        set.size <= 1024 && req(16) ? grow({ len: 16, held: new Set() }, set) : undefined;
      let model = read(sets[0]!);
      for (const set of sets.slice(1)) {
        const t = read(set);
        model = t ? grow(model, t.held) : undefined;
      }
      const b = budget(slots);
      const merged = KllSketch.fromPlain(structuredClone(parts[0]!.toPlain()), b);
      for (const p of parts.slice(1)) merged.merge(KllSketch.fromPlain(structuredClone(p.toPlain()), b));
      expect(merged.n, what).toBe(xs.length);
      expect(b.taken, what).toBe(asked);
      expect(merged.isExact, what).toBe(model !== undefined);
      if (merged.isExact) {
        const added = new KllSketch();
        for (const x of xs) added.add(x);
        expect(merged.toPlain(), what).toEqual(added.toPlain());
      }
    }
  });
});
