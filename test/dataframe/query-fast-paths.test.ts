// The query kernels' fast paths against references computed here, row by row: the top-k's numeric
// first-key bound (NaN, nulls, ties, both directions, int and double keys), the broadcast join's
// dictionary path (a stored, dictionary-coded key column; right strings handed on as dictionaries,
// grouped on) and the KLL sketch's incremental bookkeeping and exact phase (the same sketch, item for
// item, as the textbook form that recomputes every capacity, after a Map of counts). Seeded; the seed
// is printed on failure.

import { describe, expect, it } from 'vitest';
import { DataFrame, and, col, gt, isNull, not } from '../../dataframe/index.js';
import { KllSketch } from '../../dataframe/query/sketch/kll.js';
import type { Rng } from '../../app/apps/random.js';
import { MemoryStore } from '../support/memory-store.js';
import { rowsOf, seededRng } from './helpers.js';
import { groupRows, joinRows, sortRows, type Row } from './verbs-reference.js';

/** A double's 64 bits as a map key: -0 is not 0, NaN is itself (as the sketch's exact table keys them). */
function bitsKey(x: number): string {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  return `${v.getUint32(0)}:${v.getUint32(4)}`;
}

/** Numeric order, NaN last and -0 before 0 (as a Float64Array sorts). */
const f64Order = (a: number, b: number): number =>
  a !== a ? (b !== b ? 0 : 1) : b !== b ? -1 : a - b || (a === 0 ? Math.sign(1 / a - 1 / b) : 0);

/**
 * KLL as the paper states it, every capacity recomputed when needed (the reference), after an exact
 * phase written the plain way: a Map of counts, up to 1024 distinct values, that becomes levels (each
 * value, in sorted order, at the levels of its count's set bits).
 */
class ReferenceKll {
  exact: Map<string, [number, number]> | undefined = new Map();
  levels: number[][] = [[]];
  rng = 0x2545f491;
  n = 0;
  cap(h: number): number {
    return Math.max(8, Math.ceil(200 * (2 / 3) ** (this.levels.length - 1 - h)));
  }
  sortedExact(): [number, number][] {
    return [...this.exact!.values()].sort((a, b) => f64Order(a[0], b[0]));
  }
  /** Adds c to x's exact count; false when x is new and 1024 values are counted already. */
  count(x: number, c: number): boolean {
    const e = this.exact!.get(bitsKey(x));
    if (e) e[1] += c;
    else if (this.exact!.size < 1024) this.exact!.set(bitsKey(x), [x, c]);
    else return false;
    return true;
  }
  pushWeighted(x: number, c: number): void {
    for (let h = 0; c > 0; h++, c = Math.floor(c / 2)) {
      if (c % 2 === 0) continue;
      while (this.levels.length <= h) this.levels.push([]);
      this.levels[h]!.push(x);
    }
  }
  toLevels(): void {
    if (!this.exact) return;
    const entries = this.sortedExact();
    this.exact = undefined;
    for (const [x, c] of entries) this.pushWeighted(x, c);
    this.compress();
  }
  add(x: number): void {
    if (this.exact) {
      if (this.count(x, 1)) {
        this.n++;
        return;
      }
      this.toLevels();
    }
    this.levels[0]!.push(x);
    this.n++;
    if (this.levels[0]!.length >= this.cap(0)) this.compress();
  }
  flip(): number {
    let x = this.rng;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.rng = x >>> 0;
    return x & 1;
  }
  compress(): void {
    const size = (): number => this.levels.reduce((a, l) => a + l.length, 0);
    const total = (): number => this.levels.reduce((a, _, h) => a + this.cap(h), 0);
    while (size() > total()) {
      let h = 0;
      while (this.levels[h]!.length < this.cap(h)) h++;
      if (h + 1 === this.levels.length) this.levels.push([]);
      const items = [...this.levels[h]!].sort(f64Order);
      const keep: number[] = [];
      let len = items.length;
      if (len % 2 === 1) keep.push(items[--len]!);
      for (let i = this.flip(); i < len; i += 2) this.levels[h + 1]!.push(items[i]!);
      this.levels[h] = keep;
    }
  }
  merge(o: ReferenceKll): void {
    if (o.exact) {
      let rest = o.sortedExact();
      if (this.exact) {
        const j = rest.findIndex(([x, c]) => !this.count(x, c));
        if (j < 0) {
          this.n += o.n;
          return;
        }
        rest = rest.slice(j);
        this.toLevels();
      }
      for (const [x, c] of rest) this.pushWeighted(x, c);
      this.n += o.n;
      this.compress();
      return;
    }
    this.toLevels();
    while (this.levels.length < o.levels.length) this.levels.push([]);
    o.levels.forEach((l, h) => this.levels[h]!.push(...l));
    this.n += o.n;
    this.compress();
  }
  toPlain(): unknown {
    if (!this.exact) return [this.n, this.levels];
    const e = this.sortedExact();
    return [this.n, [], e.map((x) => x[0]), e.map((x) => x[1])];
  }
}

/** id (frame order), d (D: ties, nulls, NaN, infinities) and i (I: ties, nulls). */
function numericFrame(rng: Rng, n: number): DataFrame {
  const d: (number | null)[] = [];
  const i: (number | null)[] = [];
  const id = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    id[r] = r;
    const u = rng.next();
    // Few distinct values (many ties), some nulls, a few NaN and infinities.
    d.push(u < 0.08 ? null : u < 0.1 ? Number.NaN : u < 0.11 ? -Infinity : u < 0.12 ? Infinity : rng.int(-40, 40) / 2);
    i.push(rng.bool(0.1) ? null : rng.int(-50, 50));
  }
  return DataFrame.fromColumns({ id, d: { type: 'D', values: d }, i: { type: 'I', values: i } });
}

/**
 * The row with two sort keys appended for column c: its value with NaN as +Infinity, then 1 for NaN
 * (else 0), so NaN sorts above every number, +Infinity included.
 */
function withNaNKey(r: Row, c: number): Row {
  const v = r[c] ?? null;
  const nan = typeof v === 'number' && Number.isNaN(v);
  return [...r, nan ? Number.POSITIVE_INFINITY : v, nan ? 1 : 0];
}

/** Orders as eau2 does: the reference's order, with NaN above every number. */
function sortWithNaN(rows: Row[], c: number, desc: boolean, nullsFirst: boolean): Row[] {
  const keyed = rows.map((r) => withNaNKey(r, c));
  const k = rows[0]!.length;
  return sortRows(keyed, [
    [k, desc, nullsFirst],
    [k + 1, desc, nullsFirst],
  ]).map((r) => r.slice(0, k));
}

describe('query fast paths', () => {
  it('top-k on a numeric first key equals a full sort, with NaN, nulls and ties', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    const df = numericFrame(rng, 5000);
    await DataFrame.put(store, 'num', df, { chunkRows: 256 });
    const lf = await DataFrame.get(store, 'num');
    const rows = rowsOf(df);
    for (const [c, name] of [
      [1, 'd'],
      [2, 'i'],
    ] as const) {
      for (const desc of [true, false]) {
        for (const nulls of ['first', 'last'] as const) {
          for (const k of [1, 7, 60]) {
            const want = sortWithNaN(rows, c, desc, nulls === 'first').slice(0, k);
            const got = rowsOf(await lf.orderBy({ col: name, desc, nulls }).limit(k).collect());
            expect(got, `${name} desc=${desc} nulls=${nulls} k=${k}`).toEqual(want);
          }
        }
      }
    }
    // With a filter, and a second key breaking ties.
    const f = rows.filter((r) => r[2] !== null && (r[2] as number) > 0);
    const want = sortRows(
      f.map((r) => withNaNKey(r, 1)),
      [
        [3, true, false],
        [4, true, false],
        [2, false, false],
      ],
    )
      .slice(0, 25)
      .map((r) => [r[0], r[2]]);
    const got = rowsOf(
      await lf
        .filter(gt(col('i'), 0))
        .select('id', 'i')
        .orderBy({ col: 'd', desc: true }, 'i')
        .limit(25)
        .collect(),
    );
    // NaN rows are first in descending order; among equal keys, frame order.
    expect(got).toEqual(want);
    // Ties on a numeric first key broken by a second one: a row equal to the bound may still enter.
    for (const desc of [true, false]) {
      const want2 = sortRows(
        rows.map((r) => withNaNKey(r, 1)),
        [
          [2, desc, false],
          [3, false, false],
          [4, false, false],
        ],
      )
        .slice(0, 40)
        .map((r) => r.slice(0, 3));
      const got2 = rowsOf(await lf.orderBy({ col: 'i', desc }, 'd').limit(40).collect());
      expect(got2, `i desc=${desc}, d`).toEqual(want2);
    }
    // A filter that proves the first key non-null (IS NOT NULL, or compared with a literal): the scan
    // skips its null test; ties at the bound (many equal values) and NaN must still be weighed.
    for (const [label, filter, keep] of [
      ['d IS NOT NULL', not(isNull(col('d'))), (r: Row) => r[1] !== null],
      ['i IS NOT NULL', not(isNull(col('i'))), (r: Row) => r[2] !== null],
      // NaN is above every number, so NaN > -3 (as SQL compares it).
      ['d > -3', gt(col('d'), -3), (r: Row) => r[1] !== null && !((r[1] as number) <= -3)],
    ] as const) {
      for (const [c, name, other] of [
        [1, 'd', 'i'],
        [2, 'i', 'd'],
      ] as const) {
        for (const desc of [true, false]) {
          // Both keys with NaN above every number: [..., first, first is NaN, second, second is NaN].
          const o = c === 1 ? 2 : 1;
          const want3 = sortRows(
            rows.filter(keep).map((r) => [...withNaNKey(r, c), ...withNaNKey(r, o).slice(3)]),
            [
              [3, desc, false],
              [4, desc, false],
              [5, false, false],
              [6, false, false],
              [0, false, false],
            ],
          )
            .slice(0, 30)
            .map((r) => r.slice(0, 3));
          const got3 = rowsOf(await lf.filter(filter).orderBy({ col: name, desc }, other, 'id').limit(30).collect());
          expect(got3, `${label}: ${name} desc=${desc}, ${other}, id`).toEqual(want3);
        }
      }
    }
  });

  it('top-k under `key IS NOT NULL` (the scan skips the null rows itself) equals filtering then sorting', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    const df = numericFrame(rng, 3000);
    await DataFrame.put(store, 'num', df, { chunkRows: 256 });
    const lf = await DataFrame.get(store, 'num');
    const rows = rowsOf(df);
    for (const [c, name, other] of [
      [1, 'd', 'i'],
      [2, 'i', 'd'],
    ] as const) {
      const kept = rows.filter((r) => r[c] !== null);
      // One term, the same term twice (both skipped by the scan), and a second column's test beside
      // it (a filter the scan cannot take: listed first, as before).
      for (const [label, filter, keep] of [
        [`${name} IS NOT NULL`, not(isNull(col(name))), (r: Row) => r[c] !== null],
        [`twice`, and(not(isNull(col(name))), not(isNull(col(name)))), (r: Row) => r[c] !== null],
        [
          `and ${other}`,
          and(not(isNull(col(name))), not(isNull(col(other)))),
          (r: Row) => r[1] !== null && r[2] !== null,
        ],
      ] as const) {
        for (const desc of [true, false]) {
          for (const nulls of ['first', 'last'] as const) {
            // Past the rows kept too: every kept row, and never a null one, even with nulls first.
            for (const k of [1, 40, kept.length + 10]) {
              const want = sortWithNaN(rows.filter(keep), c, desc, nulls === 'first').slice(0, k);
              const got = rowsOf(await lf.filter(filter).orderBy({ col: name, desc, nulls }).limit(k).collect());
              expect(got, `${label} desc=${desc} nulls ${nulls} k=${k}`).toEqual(want);
            }
          }
        }
      }
    }
  });

  it('broadcast join with a dictionary-coded key equals a nested-loop join, grouped on a right string', async () => {
    const rng = seededRng();
    const store = new MemoryStore();
    const codes = Array.from({ length: 40 }, (_, k) => `c${k}`);
    const n = 6000;
    const key: (string | null)[] = [];
    const v: (number | null)[] = [];
    for (let r = 0; r < n; r++) {
      key.push(rng.bool(0.05) ? null : codes[rng.skewed(codes.length)]!);
      v.push(rng.bool(0.1) ? null : rng.int(0, 100));
    }
    const left = DataFrame.fromColumns({ key: { type: 'S', values: key }, v: { type: 'I', values: v } });
    // The right side: most codes once, some twice (duplicate matches), some missing; a null key, and
    // a string column with nulls.
    const rightRows: Row[] = [];
    for (const c of codes) {
      const copies = rng.bool(0.2) ? 0 : rng.bool(0.2) ? 2 : 1;
      for (let j = 0; j < copies; j++)
        rightRows.push([c, rng.bool(0.15) ? null : rng.pick(['north', 'south', 'east'])]);
    }
    rightRows.push([null, 'nowhere']);
    const right = DataFrame.fromRows('code:S,region:S', rightRows);
    await DataFrame.put(store, 'l', left, { chunkRows: 500 });
    await DataFrame.put(store, 'r', right, { chunkRows: 16 });
    const lf = await DataFrame.get(store, 'l');
    const rf = await DataFrame.get(store, 'r');
    const lrows = rowsOf(left);
    for (const how of ['inner', 'left', 'semi', 'anti'] as const) {
      const got = rowsOf(await lf.join(rf, { on: [['key', 'code']], how }).collect());
      expect(got, how).toEqual(joinRows(lrows, rightRows, [[0, 0]], how));
    }
    for (const how of ['inner', 'left'] as const) {
      const ref = joinRows(lrows, rightRows, [[0, 0]], how);
      const want = [...groupRows(ref, (r) => [r[3]!]).entries()]
        .map(([k, g]) => [
          JSON.parse(k)[0],
          g.length,
          g.every((r) => r[1] === null) ? null : g.reduce((a, r) => a + ((r[1] as number) ?? 0), 0),
        ])
        .sort((a, b) => (a[0] === null ? -1 : b[0] === null ? 1 : a[0] < b[0] ? -1 : 1));
      const got = rowsOf(
        await lf
          .join(rf, { on: [['key', 'code']], how })
          .groupBy('region')
          .agg({ '*': 'count', v: 'sum' }),
      );
      expect(got, how).toEqual(want);
    }
    // SQL's spelling of the same, as the benchmark runs it.
    const sql = await DataFrame.sql(
      store,
      'SELECT r.region, count(*) AS n FROM l JOIN r ON l.key = r.code GROUP BY r.region ORDER BY r.region',
    );
    const ref = joinRows(lrows, rightRows, [[0, 0]], 'inner');
    const want = [...groupRows(ref, (r) => [r[3]!]).entries()]
      .map(([k, g]) => [JSON.parse(k)[0], g.length])
      .sort((a, b) => (a[0] === null ? 1 : b[0] === null ? -1 : a[0] < b[0] ? -1 : 1));
    expect(rowsOf(sql)).toEqual(want);
  });

  it('KLL keeps the same sketch as the textbook form, through adds, merges and the wire', () => {
    const rng = seededRng();
    // wide: ~4,000 distinct values (the exact phase ends early); narrow: 301 (it never ends); mixed:
    // one sketch wide, two narrow (exact partials merged into one with levels, and the reverse).
    for (const mode of ['wide', 'narrow', 'mixed'] as const)
      for (const n of [0, 5, 700, 20_000, 150_000]) {
        const parts = [0, 1, 2].map(() => [new KllSketch(), new ReferenceKll()] as const);
        for (let i = 0; i < n; i++) {
          const p = rng.int(0, 2);
          const wide = mode === 'wide' || (mode === 'mixed' && p === 1);
          const x = rng.bool(0.01)
            ? Number.NaN
            : rng.bool(0.01)
              ? -0
              : wide
                ? rng.int(-1000, 1000) / (rng.bool(0.5) ? 1 : 7)
                : rng.int(-10, 290);
          const [s, r] = parts[p]!;
          s.add(x);
          r.add(x);
        }
        const what = `${mode} n=${n}`;
        for (const [s, r] of parts) expect(s.toPlain(), what).toEqual(r.toPlain());
        if (mode === 'narrow')
          expect(
            parts.every(([s]) => s.isExact),
            what,
          ).toBe(true);
        // structuredClone, as msgpack on the wire, keeps NaN (JSON would not).
        const merged = KllSketch.fromPlain(structuredClone(parts[0]![0].toPlain()));
        // A sketch read from the wire starts its coin flips from the seed again.
        const fresh = (r: ReferenceKll): ReferenceKll => {
          const c = new ReferenceKll();
          c.n = r.n;
          c.levels = r.levels.map((l) => [...l]);
          c.exact = r.exact && new Map([...r.exact].map(([k, e]) => [k, [...e] as [number, number]]));
          return c;
        };
        const mref = fresh(parts[0]![1]);
        for (const [s, r] of parts.slice(1)) {
          merged.merge(KllSketch.fromPlain(structuredClone(s.toPlain())));
          mref.merge(fresh(r));
        }
        expect(merged.toPlain(), `merged ${what}`).toEqual(mref.toPlain());
        // And it goes on adding after a merge exactly as the reference does.
        for (let i = 0; i < 3000; i++) {
          const x = rng.int(0, 50);
          merged.add(x);
          mref.add(x);
        }
        expect(merged.toPlain(), `after merge ${what}`).toEqual(mref.toPlain());
      }
  });

  it('KLL is exact while it counts values, and the exact table is bounded by the query budget', () => {
    const rng = seededRng();
    const xs: number[] = [];
    const parts = [0, 1, 2].map(() => new KllSketch());
    for (let i = 0; i < 60_000; i++) {
      const x = rng.bool(0.001) ? -0 : rng.int(-30, 600);
      xs.push(x);
      parts[rng.int(0, 2)]!.add(x);
    }
    const s = KllSketch.fromPlain(structuredClone(parts[0]!.toPlain()));
    for (const p of parts.slice(1)) s.merge(KllSketch.fromPlain(structuredClone(p.toPlain())));
    expect(s.isExact).toBe(true);
    const sorted = Float64Array.from(xs).sort();
    for (const q of [0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999, 1])
      expect(Object.is(s.quantile(q), sorted[Math.max(1, Math.ceil(q * xs.length)) - 1]), `q=${q}`).toBe(true);
    // A budget that lends no slots: every sketch holds levels from the start, within the KLL bound.
    const none = { takeSlots: () => false };
    const k = new KllSketch(none);
    for (const x of xs) k.add(x);
    expect(k.isExact).toBe(false);
    expect(KllSketch.fromPlain(structuredClone(parts[1]!.toPlain()), none).isExact).toBe(false);
    // A budget of 64 slots: the first sketch's table grows to 32 then 64 slots and stops there
    // (33 distinct values would need 128), so it turns into levels; a second gets no table.
    let left = 64;
    const some = { takeSlots: (n: number) => (n <= left ? ((left -= n), true) : false) };
    const a = new KllSketch(some);
    for (let v = 0; v < 32; v++) a.add(v);
    expect(a.isExact).toBe(true);
    a.add(32);
    expect(a.isExact).toBe(false);
    expect(new KllSketch(some).isExact).toBe(false);
    expect(a.quantile(0.5)).toBe(16);
  });

  it('KLL refuses malformed exact counts from the wire', () => {
    for (const bad of [
      [3, [], [1, 2], [1, 1]], // counts sum to 2, not 3
      [2, [[1]], [1], [2]], // levels beside counts
      [2, [], [1], [2, 3]], // lengths differ
      [2, [], ['x'], [2]],
      [2, [], [1], [0.5]],
      [1025, [], Array.from({ length: 1025 }, (_, i) => i), Array(1025).fill(1)],
    ])
      expect(() => KllSketch.fromPlain(bad), JSON.stringify(bad).slice(0, 40)).toThrow(/bad KLL/);
  });
});
