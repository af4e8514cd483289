// Grouped aggregation over chunks, the hot loop of most queries. Rows are first mapped to dense group
// numbers (one hash lookup per row), then each aggregate runs its own tight loop over typed
// accumulator arrays indexed by group number. Measured on 1M rows x 1,000 groups (sum, mean, count):
// about 4x faster than one closure call per row per aggregate with per-group JavaScript arrays, and
// far less garbage.

import { bitGet, type Column } from '../column.js';
import type { Value } from '../schema.js';
import type { ChunkCols } from './eval.js';
import type { Acc } from './partial.js';
import type { AggSpec } from './plan.js';

export class GroupAggregator {
  private readonly ids = new Map<unknown, number>();
  private readonly keys: Value[][] = [];
  private cap = 16;
  /** Per aggregate: count (count), running sum (sum, mean), non-null count (sum, mean). */
  private readonly num: Float64Array[];
  private readonly cnt: Float64Array[];
  /** Per aggregate: min or max so far (min, max), null when none. */
  private readonly ext: Value[][];

  constructor(
    private readonly aggs: readonly AggSpec[],
    /** Field indexes of the group columns. */
    private readonly groupCols: readonly number[],
    /** Field index of each aggregate's column (undefined for '*'). */
    private readonly aggCols: readonly (number | undefined)[],
  ) {
    this.num = aggs.map(() => new Float64Array(this.cap));
    this.cnt = aggs.map(() => new Float64Array(this.cap));
    this.ext = aggs.map(() => []);
  }

  get size(): number {
    return this.keys.length;
  }

  private newGroup(key: Value[]): number {
    const g = this.keys.length;
    if (g === this.cap) {
      this.cap *= 2;
      const grow = (a: Float64Array): Float64Array => {
        const b = new Float64Array(this.cap);
        b.set(a);
        return b;
      };
      for (let k = 0; k < this.aggs.length; k++) {
        this.num[k] = grow(this.num[k]!);
        this.cnt[k] = grow(this.cnt[k]!);
      }
    }
    this.keys.push(key);
    for (const e of this.ext) e.push(null);
    return g;
  }

  /** Group numbers of the rows `sel` (or 0..n-1) of a chunk. */
  private groupsOf(cols: ChunkCols, n: number, sel: Uint32Array | undefined): Int32Array {
    const m = sel ? sel.length : n;
    const gid = new Int32Array(m);
    const ids = this.ids;
    if (this.groupCols.length === 0) {
      if (m > 0 && this.keys.length === 0) this.newGroup([]);
      return gid; // all zeros: the single group
    }
    if (this.groupCols.length === 1) {
      const c = cols[this.groupCols[0]!]!;
      const dict = c.type === 'S' ? c.dictionary : undefined;
      if (dict) {
        // Each distinct string is looked up once per chunk; rows then cost two array reads.
        const codeGroup = new Int32Array(dict.dict.length).fill(-1);
        const nulls = c.nulls;
        let nullGroup = -1;
        for (let j = 0; j < m; j++) {
          const r = sel ? sel[j]! : j;
          if (nulls !== undefined && bitGet(nulls, r)) {
            if (nullGroup < 0) nullGroup = ids.get(null) ?? ids.set(null, this.newGroup([null])).get(null)!;
            gid[j] = nullGroup;
            continue;
          }
          const code = dict.codes[r]!;
          let g = codeGroup[code]!;
          if (g < 0) {
            const key = dict.dict[code]!;
            g = ids.get(key) ?? ids.set(key, this.newGroup([key])).get(key)!;
            codeGroup[code] = g;
          }
          gid[j] = g;
        }
        return gid;
      }
      const vals = c.values as ArrayLike<number | string>;
      const nulls = c.nulls;
      const isB = c.type === 'B';
      for (let j = 0; j < m; j++) {
        const r = sel ? sel[j]! : j;
        // Map keys: the value itself (null for a null; a bool column's 0/1 as false/true).
        const key: Value = nulls !== undefined && bitGet(nulls, r) ? null : isB ? vals[r] === 1 : vals[r]!;
        let g = ids.get(key);
        if (g === undefined) ids.set(key, (g = this.newGroup([key])));
        gid[j] = g;
      }
      return gid;
    }
    const kc = this.groupCols.map((i) => cols[i]!);
    for (let j = 0; j < m; j++) {
      const r = sel ? sel[j]! : j;
      const key = kc.map((c) => c.get(r));
      const text = JSON.stringify(key);
      let g = ids.get(text);
      if (g === undefined) ids.set(text, (g = this.newGroup(key)));
      gid[j] = g;
    }
    return gid;
  }

  addChunk(cols: ChunkCols, n: number, sel: Uint32Array | undefined): void {
    const gid = this.groupsOf(cols, n, sel);
    const m = gid.length;
    for (let k = 0; k < this.aggs.length; k++) {
      const fn = this.aggs[k]!.fn;
      const ci = this.aggCols[k];
      const cnt = this.cnt[k]!;
      if (ci === undefined) {
        for (let j = 0; j < m; j++) cnt[gid[j]!]!++;
        continue;
      }
      const c: Column = cols[ci]!;
      const nulls = c.nulls;
      if (fn === 'count') {
        for (let j = 0; j < m; j++) if (!nulls || !bitGet(nulls, sel ? sel[j]! : j)) cnt[gid[j]!]!++;
      } else if (fn === 'sum' || fn === 'mean') {
        const vals = c.values as ArrayLike<number>;
        const num = this.num[k]!;
        if (!nulls && vals instanceof Float64Array) sumF64(vals, gid, sel, num, cnt);
        else if (!nulls && vals instanceof Int32Array) sumI32(vals, gid, sel, num, cnt);
        else {
          for (let j = 0; j < m; j++) {
            const r = sel ? sel[j]! : j;
            if (nulls && bitGet(nulls, r)) continue;
            num[gid[j]!]! += vals[r]!;
            cnt[gid[j]!]!++;
          }
        }
      } else {
        const ext = this.ext[k]!;
        const vals = c.values as ArrayLike<number | string>;
        const isB = c.type === 'B';
        const min = fn === 'min';
        for (let j = 0; j < m; j++) {
          const r = sel ? sel[j]! : j;
          if (nulls && bitGet(nulls, r)) continue;
          const v: Value = isB ? vals[r] === 1 : vals[r]!;
          const cur = ext[gid[j]!]!;
          if (cur === null || (min ? v < cur : v > cur)) ext[gid[j]!] = v;
        }
      }
    }
  }

  /** The partial result: [key values, one accumulator per aggregate] per group. */
  result(): [Value[], Acc[]][] {
    return this.keys.map((key, g) => [
      key,
      this.aggs.map((a, k): Acc => {
        if (a.fn === 'count') return this.cnt[k]![g]!;
        if (a.fn === 'sum' || a.fn === 'mean') return [this.num[k]![g]!, this.cnt[k]![g]!];
        return this.ext[k]![g]!;
      }),
    ]);
  }
}

// Sums without nulls, one function per array type: a loop that sees both Int32Array and Float64Array
// values goes polymorphic in V8 (the reason eval.ts repeats its comparison loops too).
function sumF64(vals: Float64Array, gid: Int32Array, sel: Uint32Array | undefined, num: Float64Array, cnt: Float64Array): void {
  const m = gid.length;
  if (sel) {
    for (let j = 0; j < m; j++) {
      const g = gid[j]!;
      num[g]! += vals[sel[j]!]!;
      cnt[g]!++;
    }
  } else {
    for (let j = 0; j < m; j++) {
      const g = gid[j]!;
      num[g]! += vals[j]!;
      cnt[g]!++;
    }
  }
}

function sumI32(vals: Int32Array, gid: Int32Array, sel: Uint32Array | undefined, num: Float64Array, cnt: Float64Array): void {
  const m = gid.length;
  if (sel) {
    for (let j = 0; j < m; j++) {
      const g = gid[j]!;
      num[g]! += vals[sel[j]!]!;
      cnt[g]!++;
    }
  } else {
    for (let j = 0; j < m; j++) {
      const g = gid[j]!;
      num[g]! += vals[j]!;
      cnt[g]!++;
    }
  }
}
