// A node's top-k (ORDER BY ... LIMIT k; docs/dataframe.md "Sorting and top-k"): every matching row
// competes for this node's best offset + limit rows, kept in a bounded heap (sort.ts), and the client
// merges at most that many per node. What is read is chosen here: chunks in zone-map order, those that
// cannot reach the kept rows skipped, and the columns beyond the filter's and first key's read late.

import type { Field, Value } from '../schema.js';
import type { ChunkCols } from './eval.js';
import { onlyNotNull, type compileFilter } from './filter.js';
import { lateReads, type CheckedPlan } from './plan.js';
import { FirstKeyTop, TopK, compareValue, sortKey, type RowPlace, type SortKey } from './sort.js';
import type { FrameMeta } from '../meta.js';
import { bitGet, type Column } from '../column.js';
import { mapOrdered } from '../pool.js';
import { yieldIfDue, type ChunkLoader } from './chunk-scan.js';
import { valuesBytes } from './page.js';

type NumArray = Float64Array | Int32Array;

/** A node's best rows: [chunk, row, sort key values, output values], best first. */
type Ranked = [number, number, Value[], Value[]];

/**
 * The top-k of a checked row plan with an orderBy over `chunks` (all rows without a limit). `late`:
 * the loader reads per column (a node's chunks, not a join's), so the other columns may be read late.
 */
export async function runTopK(
  checked: CheckedPlan,
  select: ReturnType<typeof compileFilter> | undefined,
  derive: ((cols: ChunkCols, n: number) => ChunkCols) | undefined,
  load: ChunkLoader,
  rowsOf: (chunk: number) => number,
  read: readonly number[],
  concurrency: number,
  zones: FrameMeta['zones'],
  late: boolean,
  lastYield: { t: number },
  pageBytes = Number.POSITIVE_INFINITY,
  after?: RowPlace,
): Promise<{ ranked: Ranked[]; more?: number[] }> {
  const { plan, reads, fields } = checked;
  const index = (name: string): number => fields.findIndex((f) => f.name === name);
  const out = (plan.select ?? fields.map((f) => f.name)).map(index);
  const keys = plan.orderBy!.map(sortKey);
  const keyCols = keys.map((k) => index(k.col));
  const k = plan.limit === undefined ? Number.POSITIVE_INFINITY : plan.limit + (plan.offset ?? 0);
  // A filter that only drops the rows whose first key is null is left to the scan below.
  const skipNulls = plan.filter !== undefined && onlyNotNull(plan.filter, fields) === keyCols[0];
  const scan: TopKScan = { select, skipNulls, keyCol: keyCols[0]!, key: keys[0]!, k, offered: 0 };
  // With zone maps, the chunks whose best first key is best go first, and a chunk whose best is
  // worse than the worst kept row is answered without being read.
  const best = k < Number.POSITIVE_INFINITY ? zoneBest(zones, fields, keyCols[0]!, keys[0]!, rowsOf) : undefined;
  const order = best ? byZone(read, best, keys[0]!) : read;
  if (late && derive === undefined && k > 0 && k <= LATE_MAX_K && after === undefined) {
    const ranked = await lateTopK(checked, scan, keys, keyCols, out, load, rowsOf, order, best, concurrency, lastYield);
    if (ranked !== undefined) return { ranked };
  }
  const top = new TopK(k, keys, after);
  const beaten = (i: number): boolean => {
    const b = best?.(i);
    return b !== undefined && top.rejectsFirst(b);
  };
  const chunksOf = bestFirst(order, best !== undefined, concurrency, async (i) => {
    if (beaten(i)) return { i, cols: undefined };
    const cols = await load(i, reads);
    return { i, cols: derive ? derive(cols, rowsOf(i)) : cols };
  });
  // Paged (page.ts): the kept rows' size, estimated from the first row kept, is checked before each
  // chunk; past the page size, the rest of the chunks are left for the next page (which keeps its
  // own best rows: the merge ranks every page's rows together).
  let rowBytes = 0;
  let pos = 0;
  let more: number[] | undefined;
  for await (const { i, cols: got } of chunksOf) {
    if (top.size * rowBytes >= pageBytes) {
      more = order.slice(pos);
      break;
    }
    pos++;
    await yieldIfDue(lastYield);
    if (got === undefined || beaten(i)) continue;
    const cols = got;
    const kc = keyCols.map((c) => cols[c]!);
    const oc = out.map((c) => cols[c]!);
    scanTopK(scan, cols, rowsOf(i), top, (r) => {
      const kv = valuesAt(kc, r);
      if (top.admits(kv, i, r)) {
        const values = valuesAt(oc, r);
        if (rowBytes === 0) rowBytes = 12 + valuesBytes(kv) + valuesBytes(values);
        top.push({ keys: kv, chunk: i, row: r, values });
      }
    });
  }
  return { ranked: top.sorted().map((r) => [r.chunk, r.row, r.keys, r.values]), more };
}

/** Row `r` of each column, in a fresh array (a loop, not a closure per row: rows offered are many). */
function valuesAt(cols: readonly Column[], r: number): Value[] {
  const v = new Array<Value>(cols.length);
  for (let c = 0; c < cols.length; c++) v[c] = cols[c]!.get(r);
  return v;
}

// The top-k's scan over a numeric first key (one function per array type, so each loop stays
// monomorphic): the first position p in [from, m) whose row (sel[p], or p) is not certainly worse than
// `bound`, the worst kept row's key: a null or NaN (the general comparison places those) or a value
// not beyond the bound (a tie may still win on a later key or an earlier position).

function nextCandidateF64(
  a: Float64Array,
  nulls: Uint8Array | undefined,
  sel: Uint32Array | undefined,
  from: number,
  m: number,
  bound: number,
  desc: boolean,
  skipNulls: boolean,
): number {
  if (skipNulls && nulls !== undefined && sel === undefined) {
    // `WHERE key IS NOT NULL` left to the scan: a null row is passed over, its bit read only when
    // its slot's value would make it a candidate.
    if (desc) {
      for (let p = from; p < m; p++) if (!(a[p]! < bound) && ((nulls[p >>> 3]! >>> (p & 7)) & 1) === 0) return p;
    } else {
      for (let p = from; p < m; p++) if (!(a[p]! > bound) && ((nulls[p >>> 3]! >>> (p & 7)) & 1) === 0) return p;
    }
    return m;
  }
  if (nulls === undefined) {
    // No null to look for (the column has none, or the filter proved it non-null): one comparison
    // per row, the direction and the selection decided once outside the loop.
    if (sel === undefined) {
      if (desc) {
        for (let p = from; p < m; p++) if (!(a[p]! < bound)) return p;
      } else {
        for (let p = from; p < m; p++) if (!(a[p]! > bound)) return p;
      }
    } else if (desc) {
      for (let p = from; p < m; p++) if (!(a[sel[p]!]! < bound)) return p;
    } else {
      for (let p = from; p < m; p++) if (!(a[sel[p]!]! > bound)) return p;
    }
    return m;
  }
  for (let p = from; p < m; p++) {
    const r = sel ? sel[p]! : p;
    if (((nulls[r >>> 3]! >>> (r & 7)) & 1) === 1) return p;
    const v = a[r]!;
    if (!(desc ? v < bound : v > bound)) return p;
  }
  return m;
}

function nextCandidateI32(
  a: Int32Array,
  nulls: Uint8Array | undefined,
  sel: Uint32Array | undefined,
  from: number,
  m: number,
  bound: number,
  desc: boolean,
  skipNulls: boolean,
): number {
  if (skipNulls && nulls !== undefined && sel === undefined) {
    // `WHERE key IS NOT NULL` left to the scan: a null row is passed over, its bit read only when
    // its slot's value would make it a candidate.
    if (desc) {
      for (let p = from; p < m; p++) if (!(a[p]! < bound) && ((nulls[p >>> 3]! >>> (p & 7)) & 1) === 0) return p;
    } else {
      for (let p = from; p < m; p++) if (!(a[p]! > bound) && ((nulls[p >>> 3]! >>> (p & 7)) & 1) === 0) return p;
    }
    return m;
  }
  if (nulls === undefined) {
    // No null to look for (the column has none, or the filter proved it non-null): one comparison
    // per row, the direction and the selection decided once outside the loop.
    if (sel === undefined) {
      if (desc) {
        for (let p = from; p < m; p++) if (!(a[p]! < bound)) return p;
      } else {
        for (let p = from; p < m; p++) if (!(a[p]! > bound)) return p;
      }
    } else if (desc) {
      for (let p = from; p < m; p++) if (!(a[sel[p]!]! < bound)) return p;
    } else {
      for (let p = from; p < m; p++) if (!(a[sel[p]!]! > bound)) return p;
    }
    return m;
  }
  for (let p = from; p < m; p++) {
    const r = sel ? sel[p]! : p;
    if (((nulls[r >>> 3]! >>> (r & 7)) & 1) === 1) return p;
    const v = a[r]!;
    if (!(desc ? v < bound : v > bound)) return p;
  }
  return m;
}

/** How a top-k scans a chunk: its filter, and its first key's column and direction. */
interface TopKScan {
  select: ReturnType<typeof compileFilter> | undefined;
  /** The filter only drops rows whose first key is null: the scan passes over those itself. */
  skipNulls: boolean;
  keyCol: number;
  key: SortKey;
  k: number;
  /** Rows the last chunk offered: many say the rows come in the key's order (see scanTopK). */
  offered: number;
}

/**
 * Calls `offer(row)` for each row of a chunk that passes the filter and is not certainly worse than
 * the worst row `top` keeps on the first key (`offer` decides the rest).
 */
function scanTopK(
  s: TopKScan,
  cols: ChunkCols,
  n: number,
  top: Pick<TopK, 'firstBound' | 'rejectsFirst'>,
  offer: (row: number) => void,
): void {
  const sel = s.select && !s.skipNulls ? s.select(cols, n) : undefined;
  const m = sel ? sel.length : n;
  const first = cols[s.keyCol]!;
  // A numeric first key is compared as a number straight from its array while the heap is full:
  // most rows of a top-k over many rows end there, one comparison each. An int64 key (L, T) is
  // compared by its values rounded to doubles (see TopK.firstBound).
  const fv =
    first.type === 'D' || first.type === 'I' || first.type === 'd'
      ? (first.values as NumArray)
      : first.type === 'L' || first.type === 'T'
        ? int64Doubles(first.values as BigInt64Array, n)
        : undefined;
  // Rows the filter kept are non-null in a column it proved non-null (`col IS NOT NULL`, or
  // compared with a literal): their null bits need no test.
  const fnulls = !s.skipNulls && s.select?.nonNull.has(s.keyCol) && sel !== undefined ? undefined : first.nulls;
  const desc = s.key.desc === true;
  // Rows in the key's order (a top-k of the latest rows of a frame written in time order) would each
  // beat the worst kept row and be offered: 62k allocations and heap updates for a chunk. So while
  // the heap is not full, or after a chunk that offered many rows, the chunk's own k-th best number
  // is found first (a heap of plain numbers): a row worse than it is beaten by k rows of its chunk.
  const local =
    fv !== undefined && (top.firstBound() === undefined || s.offered > 4 * s.k + 64)
      ? chunkKth(fv, fnulls, sel, m, s.k, desc, s.skipNulls)
      : undefined;
  const tighter = (b: number | undefined): number | undefined =>
    local === undefined || (b !== undefined && (desc ? b >= local : b <= local)) ? b : local;
  let bound = tighter(top.firstBound());
  let offered = 0;
  if (local !== undefined && kthCandCount <= m >>> 3) {
    // chunkKth listed the positions that can still be candidates (every other row has k rows of its
    // chunk better on the first key): those alone are tested, not the chunk's every row again. Not
    // when they are many (rows in the key's order all entered the heap): the tight skipping loop
    // below costs less per row than this one.
    const at = kthCands;
    const count = kthCandCount;
    for (let c = 0; c < count; c++) {
      const j = at[c]!;
      const r = sel ? sel[j]! : j;
      if (fnulls !== undefined && ((fnulls[r >>> 3]! >>> (r & 7)) & 1) === 1) {
        if (s.skipNulls) continue;
      } else {
        const v = fv![r]!;
        if (desc ? v < bound! : v > bound!) continue;
      }
      if (top.rejectsFirst(first.get(r))) continue;
      offered++;
      offer(r);
      bound = tighter(top.firstBound());
    }
    s.offered = offered;
    return;
  }
  for (let j = 0; j < m; j++) {
    if (fv !== undefined && bound !== undefined) {
      // Skips, in a tight loop, the rows certainly worse than the worst kept one.
      j =
        fv instanceof Float64Array
          ? nextCandidateF64(fv, fnulls, sel, j, m, bound, desc, s.skipNulls)
          : nextCandidateI32(fv, fnulls, sel, j, m, bound, desc, s.skipNulls);
      if (j === m) break;
    }
    const r = sel ? sel[j]! : j;
    if (s.skipNulls && fnulls !== undefined && bitGet(fnulls, r)) continue;
    if (top.rejectsFirst(first.get(r))) continue;
    offered++;
    offer(r);
    if (fv !== undefined) bound = tighter(top.firstBound());
  }
  s.offered = offered;
}

let doubles = new Float64Array(0);
const HI = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1 ? 1 : 0;

/**
 * An int64 column's first n values, each rounded to the nearest double, in an array shared by every
 * scan (a scan is synchronous) up to 1 Mi rows: read from the values' 32-bit halves, since reading a
 * BigInt64Array element makes a bigint. The rounding keeps order (x < y gives rounded x <= rounded y).
 */
function int64Doubles(a: BigInt64Array, n: number): Float64Array {
  let out: Float64Array;
  if (n > 1 << 20) out = new Float64Array(n);
  else {
    if (doubles.length < n) doubles = new Float64Array(Math.min(1 << 20, Math.max(n, 2 * doubles.length)));
    out = doubles.subarray(0, n);
  }
  const w = new Int32Array(a.buffer, a.byteOffset, 2 * n);
  for (let i = 0; i < n; i++) out[i] = w[2 * i + HI]! * 4294967296 + (w[2 * i + 1 - HI]! >>> 0);
  return out;
}

/** Adds v to the min-heap h[0..size), which has room for it. */
function heapAdd(h: Float64Array, size: number, v: number): void {
  let i = size;
  while (i > 0) {
    const up = (i - 1) >> 1;
    if (h[up]! <= v) break;
    h[i] = h[up]!;
    i = up;
  }
  h[i] = v;
}

/** Replaces the least of the full min-heap h[0..k) by v (greater than it). */
function heapReplaceRoot(h: Float64Array, k: number, v: number): void {
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= k) break;
    const c = l + 1 < k && h[l + 1]! < h[l]! ? l + 1 : l;
    if (h[c]! >= v) break;
    h[i] = h[c]!;
    i = c;
  }
  h[i] = v;
}

/** chunkKth's list of positions (shared: a scan is synchronous) and how many its last call wrote. */
let kthCands = new Uint32Array(0);
let kthCandCount = 0;

/**
 * The k-th best number among a chunk's rows (those of `sel`, if given) that are neither null nor
 * NaN, by `desc`; undefined when there are fewer than k. A min-heap (max-heap ascending) of the k best.
 * Lists in kthCands the positions not certainly worse than it: each row that entered the heap or tied
 * its least, each NaN and (unless `skipNulls`) each null row. Any other row was worse than the heap's
 * least when read, so worse than the k-th best: k rows of the chunk beat it. The positions ascend;
 * kthCandCount is their number while at most m / 8, else m / 8 + 1 (the list then incomplete).
 */
function chunkKth(
  a: Float64Array | Int32Array,
  nulls: Uint8Array | undefined,
  sel: Uint32Array | undefined,
  m: number,
  k: number,
  desc: boolean,
  skipNulls: boolean,
): number | undefined {
  if (k > m) return undefined;
  if (kthCands.length < m) kthCands = new Uint32Array(Math.max(m, 2 * kthCands.length));
  const cands = kthCands;
  let c = 0;
  // Past m / 8 positions the list is not used (scanTopK), so none is written after that.
  const cap = m >>> 3;
  // Kept negated when ascending, so that the root is always the least kept.
  const h = new Float64Array(k);
  const sign = desc ? 1 : -1;
  let size = 0;
  // Rows in the key's order (a frame written in time order, read for its latest rows) would each
  // beat the least kept and sift through the heap, a mispredicted branch a level. When five rows
  // spread over the chunk get better towards its end (1 chunk in 120 of unordered values), it is
  // read from the end: most rows then lose to the least kept at one comparison. The list is then
  // written backwards, and turned around at the end.
  let rev = true;
  for (let q = 0, prev = Number.NaN; q <= 4 && rev; q++) {
    const p = Math.min(m - 1, (q * m) >>> 2);
    const x = sign * a[sel ? sel[p]! : p]!;
    rev = q === 0 || x > prev;
    prev = x;
  }
  // One pair of loops per direction, each as tight as the other.
  let p: number;
  if (!rev) {
    p = 0;
    for (; p < m && c <= cap; p++) {
      const r = sel ? sel[p]! : p;
      const x = a[r]!;
      if (nulls !== undefined && ((nulls[r >>> 3]! >>> (r & 7)) & 1) === 1) {
        if (!skipNulls) cands[c++] = p;
        continue;
      }
      if (x !== x) {
        cands[c++] = p;
        continue;
      }
      const v = sign * x;
      if (size < k) {
        cands[c++] = p;
        heapAdd(h, size++, v);
      } else if (v >= h[0]!) {
        cands[c++] = p;
        if (v !== h[0]!) heapReplaceRoot(h, k, v);
      }
    }
    // The list is past its use: the rest of the rows only go through the heap.
    for (; p < m; p++) {
      const r = sel ? sel[p]! : p;
      const x = a[r]!;
      if (x !== x || (nulls !== undefined && ((nulls[r >>> 3]! >>> (r & 7)) & 1) === 1)) continue;
      const v = sign * x;
      if (size < k) heapAdd(h, size++, v);
      else if (v > h[0]!) heapReplaceRoot(h, k, v);
    }
  } else {
    p = m - 1;
    for (; p >= 0 && c <= cap; p--) {
      const r = sel ? sel[p]! : p;
      const x = a[r]!;
      if (nulls !== undefined && ((nulls[r >>> 3]! >>> (r & 7)) & 1) === 1) {
        if (!skipNulls) cands[c++] = p;
        continue;
      }
      if (x !== x) {
        cands[c++] = p;
        continue;
      }
      const v = sign * x;
      if (size < k) {
        cands[c++] = p;
        heapAdd(h, size++, v);
      } else if (v >= h[0]!) {
        cands[c++] = p;
        if (v !== h[0]!) heapReplaceRoot(h, k, v);
      }
    }
    // As above: the rest of the rows only go through the heap.
    for (; p >= 0; p--) {
      const r = sel ? sel[p]! : p;
      const x = a[r]!;
      if (x !== x || (nulls !== undefined && ((nulls[r >>> 3]! >>> (r & 7)) & 1) === 1)) continue;
      const v = sign * x;
      if (size < k) heapAdd(h, size++, v);
      else if (v > h[0]!) heapReplaceRoot(h, k, v);
    }
  }
  if (rev && c <= cap) cands.subarray(0, c).reverse();
  kthCandCount = c;
  return size < k ? undefined : sign * h[0]! + 0;
}

/**
 * A top-k that reads only the filter's and the first key's columns of every chunk, then the other
 * columns of the chunks holding a candidate (FirstKeyTop: the best k on the first key and the rows
 * tied with the k-th): for `ORDER BY x LIMIT 10`, x and at most a few chunks of the rest, not every
 * column of every chunk. The same rows as a plain top-k (the candidates are a superset of its
 * answer, ranked by the same TopK). Undefined when it does not apply: every column read is already
 * the filter's or the first key's, or more rows tie than FirstKeyTop keeps.
 */
async function lateTopK(
  checked: CheckedPlan,
  scan: TopKScan,
  keys: readonly SortKey[],
  keyCols: readonly number[],
  out: readonly number[],
  load: ChunkLoader,
  rowsOf: (chunk: number) => number,
  chunks: readonly number[],
  best: ((chunk: number) => Value | undefined) | undefined,
  concurrency: number,
  lastYield: { t: number },
): Promise<Ranked[] | undefined> {
  const k = scan.k;
  const { fields } = checked;
  const split = lateReads(checked);
  if (split === undefined) return undefined;
  const { early, rest } = split;
  const at = new Map(early.map((c, j) => [c, j]));
  const cands = new FirstKeyTop(k, keys[0]!, Math.max(4 * k, MIN_KEPT_TIES));
  const beaten = (i: number): boolean => {
    const b = best?.(i);
    return b !== undefined && cands.rejectsFirst(b);
  };
  const firsts = bestFirst(chunks, best !== undefined, concurrency, async (i) => ({
    i,
    cols: beaten(i) ? undefined : await load(i, early),
  }));
  for await (const { i, cols: got } of firsts) {
    await yieldIfDue(lastYield);
    if (got === undefined || beaten(i)) continue;
    const cols = got;
    const first = cols[scan.keyCol]!;
    const ec = early.map((c) => cols[c]!);
    scanTopK(scan, cols, rowsOf(i), cands, (r) =>
      cands.push({ keys: [first.get(r)], chunk: i, row: r, values: valuesAt(ec, r) }),
    );
  }
  if (cands.overflow) return undefined;
  const list = cands.candidates();
  const top = new TopK(k, keys);
  const held = [...new Set(list.map((r) => r.chunk))];
  let x = 0;
  for await (const { i, cols } of mapOrdered(held, concurrency, async (i) => ({ i, cols: await load(i, rest) }))) {
    await yieldIfDue(lastYield);
    // Per field, the column to read a candidate's value from, or its place among the early values.
    const from = fields.map((_, c) => at.get(c) ?? cols[c]);
    const pick = (fs: readonly number[], row: number, values: readonly Value[]): Value[] => {
      const v = new Array<Value>(fs.length);
      for (let f = 0; f < fs.length; f++) {
        const src = from[fs[f]!]!;
        v[f] = typeof src === 'number' ? values[src]! : src.get(row);
      }
      return v;
    };
    for (; x < list.length && list[x]!.chunk === i; x++) {
      const { row, values } = list[x]!;
      const kv = pick(keyCols, row, values);
      if (top.admits(kv, i, row)) top.push({ keys: kv, chunk: i, row, values: pick(out, row, values) });
    }
  }
  return top.sorted().map((r) => [r.chunk, r.row, r.keys, r.values]);
}

/**
 * Per chunk, the best first-key value its zone map allows (the least ascending, the greatest
 * descending; null where a null may come first, or the chunk holds only nulls), undefined where the
 * zone says nothing (no zones, a computed or boolean column, NaN, long strings). Undefined when no
 * chunk can be told.
 */
function zoneBest(
  zones: FrameMeta['zones'],
  fields: readonly Field[],
  col: number,
  key: SortKey,
  rowsOf: (chunk: number) => number,
): ((chunk: number) => Value | undefined) | undefined {
  const t = fields[col]!.type;
  if (zones === undefined || t === 'B') return undefined;
  return (i) => {
    const z = zones[i]?.[col];
    if (z === undefined) return undefined;
    const [min, max, nulls] = z;
    if (nulls > 0 && key.nulls === 'first') return null;
    if (min === null || max === null) return nulls === rowsOf(i) ? null : undefined;
    return key.desc ? max : min;
  };
}

/**
 * mapOrdered over chunks in zone order, the first one alone: the rows it keeps decide which of the
 * next chunks need reading at all, so none is read ahead of it. (Without zones, every chunk is read.)
 */
async function* bestFirst<R>(
  chunks: readonly number[],
  byZone: boolean,
  concurrency: number,
  fn: (chunk: number) => Promise<R>,
): AsyncGenerator<R> {
  if (!byZone || chunks.length === 0) {
    yield* mapOrdered(chunks, concurrency, fn);
    return;
  }
  yield await fn(chunks[0]!);
  yield* mapOrdered(chunks.slice(1), concurrency, fn);
}

/** `chunks`, those whose zone says nothing first, then best zone first (ties in frame order). */
function byZone(chunks: readonly number[], best: (chunk: number) => Value | undefined, key: SortKey): number[] {
  const known = chunks.filter((i) => best(i) !== undefined);
  const unknown = chunks.filter((i) => best(i) === undefined);
  return [...unknown, ...known.sort((a, b) => compareValue(best(a)!, best(b)!, key) || a - b)];
}

/**
 * The largest k a top-k reads its other columns late for: its answer is one reply of k rows, which
 * a larger k's plain path pages (page.ts); the late reads pay off for small k.
 */
const LATE_MAX_K = 4096;

/** Tied rows a late top-k keeps at least (4k for a larger k) before it reads every column instead. */
const MIN_KEPT_TIES = 16_384;
