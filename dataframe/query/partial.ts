// The "partial" half of query execution: a pure function of a checked plan and a set of chunks that
// returns mergeable plain data. It runs wherever the chunks are (a cluster node over the chunks it
// leads, or the client over a whole frame) and its result is what travels back: per-group accumulators
// (sum AND count for a mean, so partials combine exactly) or the matching rows of each chunk.

import { columnToBody, type ChunkBody } from '../chunk-codec.js';
import {
  BoolColumn,
  DoubleColumn,
  IntColumn,
  StringColumn,
  bitGet,
  bitSet,
  bitmapBytes,
  makeColumn,
  type Column,
} from '../column.js';
import { mapOrdered } from '../pool.js';
import type { Field, Value } from '../schema.js';
import { ColumnBuilder } from '../column-builder.js';
import type { ColumnType } from '../schema.js';
import type { Vec } from './expr-base.js';
import { compile, type ChunkCols, type VecFn } from './eval.js';
import { vecValue } from './expr-fns.js';
import { compileFilter, onlyNotNull } from './filter.js';
import { GroupAggregator, type Acc } from './group-agg.js';
import type { AggFn, CheckedPlan } from './plan.js';
import { TopK, sortKey } from './sort.js';
import type { FrameMeta } from '../meta.js';
import { pruneChunks } from '../zone-map.js';

export type { Acc };

export interface PartialResult {
  /** The chunk numbers this result covers (the merger checks each is covered exactly once). */
  chunks: number[];
  /** Aggregate queries: [group key values, one accumulator per aggregate]. */
  groups?: [Value[], Acc[]][];
  /** Row queries: [chunk number, the chunk's matching rows as one body per output column]. */
  rows?: [number, ChunkBody[]][];
  /** Ordered row queries: [chunk, row, sort key values, output values] for this node's best rows. */
  ranked?: [number, number, Value[], Value[]][];
  /** How many of `chunks` the frame's zone maps showed the filter could not match; none was read. */
  skipped?: number;
}

type NumArray = Float64Array | Int32Array;

export type ChunkLoader = (chunk: number, reads: readonly number[]) => Promise<ChunkCols>;

export function initAcc(fn: AggFn): Acc {
  return fn === 'count' ? 0 : fn === 'sum' || fn === 'mean' ? [0, 0] : null;
}

/** A vector as a column of type t (null slots hold the type's zero, as every column's do). */
function vecColumn(x: Vec, t: ColumnType, n: number): Column {
  const b = new ColumnBuilder(t, Math.max(1, n));
  const et = t;
  for (let i = 0; i < n; i++) b.push(vecValue(x, et, i));
  return b.finish();
}

/** Computes the derived columns of a plan on a chunk: the chunk's columns followed by them. */
function deriver(checked: CheckedPlan): ((cols: ChunkCols, n: number) => ChunkCols) | undefined {
  const derive = checked.plan.derive;
  if (!derive || derive.length === 0) return undefined;
  const base = checked.fields.length - derive.length;
  const fns: VecFn[] = derive.map((d, k) => compile(d.expr, checked.fields.slice(0, base + k)));
  return (cols, n) => {
    const all: (Column | undefined)[] = [...cols];
    all.length = base;
    fns.forEach((f, k) => all.push(vecColumn(f(all, n), checked.fields[base + k]!.type, n)));
    return all;
  };
}

/** Rows `idx` of a column, as a new column. */
export function gather(c: Column, idx: Uint32Array): Column {
  const k = idx.length;
  let nulls: Uint8Array | undefined;
  if (c.nulls) {
    const bm = new Uint8Array(bitmapBytes(k));
    let any = false;
    for (let j = 0; j < k; j++) if (bitGet(c.nulls, idx[j]!)) bitSet(bm, j), (any = true);
    if (any) nulls = bm;
  }
  switch (c.type) {
    case 'I': {
      const out = new Int32Array(k);
      for (let j = 0; j < k; j++) out[j] = c.values[idx[j]!]!;
      return new IntColumn(out, k, nulls);
    }
    case 'D': {
      const out = new Float64Array(k);
      for (let j = 0; j < k; j++) out[j] = c.values[idx[j]!]!;
      return new DoubleColumn(out, k, nulls);
    }
    case 'B': {
      const out = new Uint8Array(k);
      for (let j = 0; j < k; j++) out[j] = c.values[idx[j]!]!;
      return new BoolColumn(out, k, nulls);
    }
    case 'S': {
      const d = c.dictionary;
      if (d) {
        // Stays a dictionary: asking a (possibly cached) chunk for its values would build, and keep,
        // an array of row pointers, and a group-by on the result would hash every row.
        const codes = new (d.codes.constructor as Uint32ArrayConstructor)(k);
        for (let j = 0; j < k; j++) codes[j] = d.codes[idx[j]!]!;
        return new StringColumn(undefined, k, nulls, { dict: d.dict, codes });
      }
      const out = new Array<string>(k);
      for (let j = 0; j < k; j++) out[j] = c.values[idx[j]!]!;
      return new StringColumn(out, k, nulls);
    }
    case 'L':
    case 'T': {
      const out = new BigInt64Array(k);
      for (let j = 0; j < k; j++) out[j] = c.values[idx[j]!]!;
      return makeColumn(c.type, out, k, nulls);
    }
    case 'd': {
      const out = new Int32Array(k);
      for (let j = 0; j < k; j++) out[j] = c.values[idx[j]!]!;
      return makeColumn('d', out, k, nulls);
    }
  }
}

/**
 * Longest the evaluator computes before letting the event loop run. Chunks served from a node's cache
 * never wait for I/O, so without this a query holds its node's loop for its whole run (10M rows: ~1 s
 * on a loaded machine) and every request to that node waits: measured, a query on one node waited
 * ~600 ms for another node, busy with its own share, to answer the one metadata read it needed.
 */
const YIELD_EVERY_MS = 8;

function yieldIfDue(last: { t: number }): Promise<void> | undefined {
  const now = performance.now();
  if (now - last.t < YIELD_EVERY_MS) return undefined;
  return new Promise<void>((r) =>
    setImmediate(() => {
      last.t = performance.now();
      r();
    }),
  );
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

/** Evaluates `checked` over `chunks`, loading up to `concurrency` chunks ahead of the computation. */
export async function runPartial(
  checked: CheckedPlan,
  fields: readonly Field[],
  load: ChunkLoader,
  rowsOf: (chunk: number) => number,
  chunks: readonly number[],
  concurrency = 4,
  zones?: FrameMeta['zones'],
): Promise<PartialResult> {
  const { plan, reads } = checked;
  if (checked.fields.length < fields.length) throw new TypeError('plan checked against other fields');
  fields = checked.fields;
  const select = plan.filter ? compileFilter(plan.filter, fields) : undefined;
  const index = (name: string): number => fields.findIndex((f) => f.name === name);
  // Every chunk given is answered (the merge checks coverage), but those whose zone maps rule the
  // filter out are answered without being read.
  const result: PartialResult = { chunks: [...chunks] };
  const read = pruneChunks(plan.filter, fields, zones, chunks, rowsOf);
  if (read.length < chunks.length) result.skipped = chunks.length - read.length;
  const derive = deriver(checked);
  const loaded = mapOrdered(read, concurrency, async (i) => {
    const cols = await load(i, reads);
    return { i, cols: derive ? derive(cols, rowsOf(i)) : cols };
  });
  const lastYield = { t: performance.now() };

  if (plan.aggs === undefined && plan.orderBy) {
    // Top-k: every matching row competes for this node's best offset + limit (all rows without a limit).
    const out = (plan.select ?? fields.map((f) => f.name)).map(index);
    const keys = plan.orderBy.map(sortKey);
    const keyCols = keys.map((k) => index(k.col));
    const k = plan.limit === undefined ? Number.POSITIVE_INFINITY : plan.limit + (plan.offset ?? 0);
    const top = new TopK(k, keys);
    // A filter that only drops the rows whose first key is null is left to the scan below.
    const skipNulls = plan.filter !== undefined && onlyNotNull(plan.filter, fields) === keyCols[0];
    for await (const { i, cols } of loaded) {
      await yieldIfDue(lastYield);
      const n = rowsOf(i);
      const sel = select && !skipNulls ? select(cols, n) : undefined;
      const m = sel ? sel.length : n;
      const kc = keyCols.map((c) => cols[c]!);
      const oc = out.map((c) => cols[c]!);
      const first = kc[0]!;
      // A numeric first key is compared as a number straight from its array while the heap is full:
      // most rows of a top-k over many rows end there, one comparison each.
      const fv =
        first.type === 'D' || first.type === 'I' || first.type === 'd' ? (first.values as NumArray) : undefined;
      // Rows the filter kept are non-null in a column it proved non-null (`col IS NOT NULL`, or
      // compared with a literal): their null bits need no test.
      const fnulls = !skipNulls && select?.nonNull.has(keyCols[0]!) && sel !== undefined ? undefined : first.nulls;
      const desc = keys[0]!.desc === true;
      let bound = top.firstBound();
      for (let j = 0; j < m; j++) {
        if (fv !== undefined && bound !== undefined) {
          // Skips, in a tight loop, the rows certainly worse than the worst kept one.
          j =
            fv instanceof Float64Array
              ? nextCandidateF64(fv, fnulls, sel, j, m, bound, desc, skipNulls)
              : nextCandidateI32(fv, fnulls, sel, j, m, bound, desc, skipNulls);
          if (j === m) break;
        }
        const r = sel ? sel[j]! : j;
        if (skipNulls && fnulls !== undefined && bitGet(fnulls, r)) continue;
        if (top.rejectsFirst(first.get(r))) continue;
        const kv = kc.map((c) => c.get(r));
        if (!top.admits(kv, i, r)) continue;
        top.push({ keys: kv, chunk: i, row: r, values: oc.map((c) => c.get(r)) });
        if (fv !== undefined) bound = top.firstBound();
      }
    }
    result.ranked = top.sorted().map((r) => [r.chunk, r.row, r.keys, r.values]);
    return result;
  }

  if (plan.aggs === undefined) {
    const out = (plan.select ?? fields.map((f) => f.name)).map(index);
    const limit = plan.limit === undefined ? Number.POSITIVE_INFINITY : plan.limit + (plan.offset ?? 0);
    let taken = 0;
    result.rows = [];
    for await (const { i, cols } of loaded) {
      if (taken >= limit) break; // later chunks cannot contribute to this node's first `limit` rows
      // Before any `continue`: a filter that rejects whole cached chunks must let the loop turn too.
      await yieldIfDue(lastYield);
      const n = rowsOf(i);
      let sel = select ? select(cols, n) : undefined;
      const count = sel ? sel.length : n;
      if (count === 0) continue;
      if (taken + count > limit) sel = (sel ?? Uint32Array.from({ length: n }, (_, j) => j)).subarray(0, limit - taken);
      taken += sel ? sel.length : n;
      result.rows.push([i, out.map((c) => columnToBody(sel ? gather(cols[c]!, sel) : cols[c]!))]);
    }
    return result;
  }

  const agg = new GroupAggregator(
    plan.aggs,
    (plan.groupBy ?? []).map(index),
    plan.aggs.map((a) => (a.col === '*' ? undefined : index(a.col))),
  );
  for await (const { i, cols } of loaded) {
    const n = rowsOf(i);
    agg.addChunk(cols, n, select ? select(cols, n) : undefined, i, select?.nonNull);
    await yieldIfDue(lastYield);
  }
  result.groups = agg.result();
  return result;
}
