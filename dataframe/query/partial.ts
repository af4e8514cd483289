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
import type { SelectFn } from './filter.js';
import { FilterCache } from './filter-cache.js';
import { type ColumnarGroups, GroupAggregator, type Acc } from './group-agg.js';
import { lateReads, type CheckedPlan } from './plan.js';
import type { FrameMeta } from '../meta.js';
import { pruneChunks } from '../zone-map.js';
import { yieldIfDue, type ChunkLoader } from './chunk-scan.js';
import { runTopK } from './top-k.js';
import type { RowPlace } from './sort.js';
import { bodyBytes, valuesBytes } from './page.js';

export type { ChunkLoader };

export interface PartialResult {
  /** The chunk numbers this result covers (the merger checks each is covered exactly once). */
  chunks: number[];
  /** Aggregate queries: [group key values, one accumulator per aggregate]. */
  groups?: [Value[], Acc[]][];
  /** Aggregate queries, when the caller asked for them by column (PartialOptions.columnar): the same groups. */
  cgroups?: ColumnarGroups;
  /** Row queries: [chunk number, the chunk's matching rows as one body per output column]. */
  rows?: [number, ChunkBody[]][];
  /** Ordered row queries: [chunk, row, sort key values, output values] for this node's best rows. */
  ranked?: [number, number, Value[], Value[]][];
  /** How many of `chunks` the frame's zone maps showed the filter could not match; none was read. */
  skipped?: number;
  /**
   * A paged result (PartialOptions.pageBytes): the chunks given that it does not answer, which
   * `chunks` then leaves out; the caller asks for them again (page.ts).
   */
  more?: number[];
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
        // By width, not the codes' own constructor: codes decoded in place from a chunk's bytes may
        // be a Buffer, whose constructor called with a length is Node's deprecated Buffer(size).
        const w = d.codes.BYTES_PER_ELEMENT;
        const codes = w === 1 ? new Uint8Array(k) : w === 2 ? new Uint16Array(k) : new Uint32Array(k);
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
 * A filtered row query that reads the filter's columns of every chunk and the other columns only of
 * the chunks where rows match: `SELECT * ... WHERE code = 'X'` reads one column of a chunk without a
 * match, not all. A chunk's other columns are read as soon as its filter has run, while the next
 * chunks' filters run (up to `concurrency` chunks' reads pending). The same rows, in the same order,
 * as reading every column. Undefined when every column read is the filter's.
 */
async function lateRows(
  checked: CheckedPlan,
  select: SelectFn,
  out: readonly number[],
  limit: number,
  load: ChunkLoader,
  rowsOf: (chunk: number) => number,
  chunks: readonly number[],
  concurrency: number,
  lastYield: { t: number },
  pageBytes: number,
): Promise<{ rows: NonNullable<PartialResult['rows']>; more?: number[] } | undefined> {
  const split = lateReads(checked);
  if (split === undefined) return undefined;
  const { early, rest } = split;
  interface Matched {
    i: number;
    sel: Uint32Array;
    cols: ChunkCols;
    rest: Promise<ChunkCols>;
  }
  const pending: Matched[] = [];
  const rows: NonNullable<PartialResult['rows']> = [];
  let bytes = 0;
  const emit = async ({ i, sel, cols, rest: later }: Matched): Promise<void> => {
    const more = await later;
    const bodies = out.map((c) => columnToBody(gather((cols[c] ?? more[c])!, sel)));
    for (const b of bodies) bytes += bodyBytes(b);
    rows.push([i, bodies]);
  };
  let taken = 0;
  let pos = 0;
  let more: number[] | undefined;
  for await (const { i, cols } of mapOrdered(chunks, concurrency, async (i) => ({ i, cols: await load(i, early) }))) {
    if (taken >= limit) break; // later chunks cannot contribute to this node's first `limit` rows
    if (bytes >= pageBytes) {
      more = chunks.slice(pos);
      break;
    }
    pos++;
    await yieldIfDue(lastYield);
    let sel = select(cols, rowsOf(i));
    if (sel.length === 0) continue;
    if (taken + sel.length > limit) sel = sel.subarray(0, limit - taken);
    taken += sel.length;
    // The filter's selection lives in a buffer its next call reuses: copied.
    const m: Matched = { i, sel: sel.slice(), cols, rest: load(i, rest) };
    m.rest.catch(() => undefined); // awaited in emit; one failing after an earlier failure is not unhandled
    pending.push(m);
    while (pending.length > concurrency) await emit(pending.shift()!);
  }
  while (pending.length > 0) await emit(pending.shift()!);
  return { rows, more };
}

export interface PartialOptions {
  /**
   * A top-k reads its other columns only for the chunks holding a candidate (lateTopK): for loaders
   * whose reads are per column (a node's chunks); not for a join's, which joins per load.
   */
  late?: boolean;
  /**
   * Page size (page.ts): the result stops after the chunk that takes it past this many bytes
   * (estimated), and `more` lists the chunks left. Unbounded by default.
   */
  pageBytes?: number;
  /** Row queries: rows that earlier pages of this task returned (they count toward its limit). */
  taken?: number;
  /** Aggregate queries: the groups by column (`cgroups`), which a merger that asks for them reads. */
  columnar?: boolean;
  /**
   * Top-k: a row that earlier pages of this task beat k times (their k-th best): only better rows
   * can still be among the k best, so no other is kept.
   */
  after?: RowPlace;
}

/** This process's compiled filters, each lent to one evaluation at a time (filter-cache.ts). */
const filters = new FilterCache();

/** Evaluates `checked` over `chunks`, loading up to `concurrency` chunks ahead of the computation. */
export async function runPartial(
  checked: CheckedPlan,
  fields: readonly Field[],
  load: ChunkLoader,
  rowsOf: (chunk: number) => number,
  chunks: readonly number[],
  concurrency = 4,
  zones?: FrameMeta['zones'],
  opts: PartialOptions = {},
): Promise<PartialResult> {
  if (checked.fields.length < fields.length) throw new TypeError('plan checked against other fields');
  const filter = checked.plan.filter;
  const lease = filter === undefined ? undefined : filters.take(filter, checked.fields);
  try {
    return await evaluate(checked, lease?.select, load, rowsOf, chunks, concurrency, zones, opts);
  } finally {
    // Every selection of this evaluation has been used (row chunks gathered, groups counted).
    lease?.give();
  }
}

async function evaluate(
  checked: CheckedPlan,
  select: SelectFn | undefined,
  load: ChunkLoader,
  rowsOf: (chunk: number) => number,
  chunks: readonly number[],
  concurrency: number,
  zones: FrameMeta['zones'] | undefined,
  opts: PartialOptions,
): Promise<PartialResult> {
  const { plan, reads } = checked;
  const fields = checked.fields;
  const index = (name: string): number => fields.findIndex((f) => f.name === name);
  // Every chunk given is answered (the merge checks coverage), but those whose zone maps rule the
  // filter out are answered without being read.
  const result: PartialResult = { chunks: [...chunks] };
  if (plan.aggs === undefined && plan.limit === 0) {
    // LIMIT 0 (a tool asking for the columns only): no row can be returned, so no chunk is read.
    if (plan.orderBy) result.ranked = [];
    else result.rows = [];
    return result;
  }
  const read = pruneChunks(plan.filter, fields, zones, chunks, rowsOf);
  if (read.length < chunks.length) result.skipped = chunks.length - read.length;
  const derive = deriver(checked);
  const loaded = mapOrdered(read, concurrency, async (i) => {
    const cols = await load(i, reads);
    return { i, cols: derive ? derive(cols, rowsOf(i)) : cols };
  });
  const lastYield = { t: performance.now() };
  const pageBytes = opts.pageBytes ?? Number.POSITIVE_INFINITY;
  // A page that leaves chunks for later answers only the others.
  const paged = (more: number[] | undefined): PartialResult => {
    if (more === undefined || more.length === 0) return result;
    const left = new Set(more);
    result.chunks = result.chunks.filter((c) => !left.has(c));
    result.more = more;
    return result;
  };

  if (plan.aggs === undefined && plan.orderBy) {
    const top = await runTopK(
      checked,
      select,
      derive,
      load,
      rowsOf,
      read,
      concurrency,
      zones,
      opts.late === true,
      lastYield,
      pageBytes,
      opts.after,
    );
    result.ranked = top.ranked;
    return paged(top.more);
  }

  if (plan.aggs === undefined) {
    const out = (plan.select ?? fields.map((f) => f.name)).map(index);
    const limit =
      (plan.limit === undefined ? Number.POSITIVE_INFINITY : plan.limit + (plan.offset ?? 0)) - (opts.taken ?? 0);
    if (opts.late && derive === undefined && select !== undefined) {
      const late = await lateRows(checked, select, out, limit, load, rowsOf, read, concurrency, lastYield, pageBytes);
      if (late !== undefined) {
        result.rows = late.rows;
        return paged(late.more);
      }
    }
    let taken = 0;
    let bytes = 0;
    let pos = 0;
    result.rows = [];
    for await (const { i, cols } of loaded) {
      if (taken >= limit) break; // later chunks cannot contribute to this node's first `limit` rows
      if (bytes >= pageBytes) return paged(read.slice(pos));
      pos++;
      // Before any `continue`: a filter that rejects whole cached chunks must let the loop turn too.
      await yieldIfDue(lastYield);
      const n = rowsOf(i);
      let sel = select ? select(cols, n) : undefined;
      const count = sel ? sel.length : n;
      if (count === 0) continue;
      if (taken + count > limit) sel = (sel ?? Uint32Array.from({ length: n }, (_, j) => j)).subarray(0, limit - taken);
      taken += sel ? sel.length : n;
      const bodies = out.map((c) => columnToBody(sel ? gather(cols[c]!, sel) : cols[c]!));
      for (const b of bodies) bytes += bodyBytes(b);
      result.rows.push([i, bodies]);
    }
    return result;
  }

  const agg = new GroupAggregator(
    plan.aggs,
    (plan.groupBy ?? []).map(index),
    plan.aggs.map((a) => (a.col === '*' ? undefined : index(a.col))),
  );
  // A group's accumulators estimated as plain numbers, its keys by their values (page.ts), each
  // group's once: a generic aggregate's state (a sketch, a distinct set) may be larger, which the
  // reply's frame limit still catches.
  const accBytes = 16 + 18 * plan.aggs.length;
  let counted = 0;
  let bytes = 0;
  let pos = 0;
  for await (const { i, cols } of loaded) {
    if (pageBytes < Number.POSITIVE_INFINITY)
      for (; counted < agg.size; counted++) bytes += accBytes + valuesBytes(agg.keyOf(counted));
    if (bytes >= pageBytes) {
      groupsOut(result, agg, opts.columnar);
      return paged(read.slice(pos));
    }
    pos++;
    const n = rowsOf(i);
    agg.addChunk(cols, n, select ? select(cols, n) : undefined, i, select?.nonNull);
    await yieldIfDue(lastYield);
  }
  groupsOut(result, agg, opts.columnar);
  return result;
}

function groupsOut(result: PartialResult, agg: GroupAggregator, columnar: boolean | undefined): void {
  if (columnar) result.cgroups = agg.columnar();
  else result.groups = agg.result();
}
