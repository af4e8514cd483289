// LazyFrame: a published frame version read from a store on demand. Opening one reads only the
// metadata record; chunks are fetched when touched, decoded, and kept in a cache bounded in bytes, and
// scans prefetch a bounded window of chunks without filling the cache, so a frame larger than memory
// can be read. It pins the version it opened: a concurrent republish never mixes two versions into
// one read, it makes later chunk reads fail with NOT_FOUND instead.

import type { KvStore, ReadOptions } from '../kv/index.js';
import { ArrayPool } from './array-pool.js';
import { ChunkCache } from './chunk-cache.js';
import { ChunkReader } from './chunk-reader.js';
import type { Column } from './column.js';
import { DataFrame } from './dataframe.js';
import { frameInfo, rowsInChunk, type FrameInfo, type FrameMeta } from './meta.js';
import { cachedColumns, isCachedMeta, keepColumns } from './meta-cache.js';
import { mapOrdered } from './pool.js';
import { DESCRIBE_SCHEMA, describeAggs, describeRows } from './query/describe.js';
import type { ExprLike } from './query/expr-base.js';
import { joinSource, type JoinOptions, type JoinRight } from './query/joined.js';
import { Query, type AggRequest } from './query/query.js';
import type { SortSpec } from './query/sort.js';
import { isTaskRunner } from '../kv/index.js';
import { shuffleJoin } from './query/shuffle.js';
import { QUERY_TASK, runDataframeTask, taskNodes } from './query/tasks.js';
import { prunable } from './query/client-prune.js';
import { columnIndex, schemaString, type Field, type Value } from './schema.js';
import { maybeAutoPreloadSql } from './sql-preload.js';

/**
 * How a lent scan reads by default: every value once, so an engine's block cache is left as it was
 * (a scan of a frame larger than the cache would otherwise evict all of it, and fill it with blocks
 * read once), and the engine reads each value into memory it reuses (KvStore ReadOptions.fillCache).
 */
const SCAN_READ = { fillCache: false } as const;
const CACHING_READ = { fillCache: true } as const;

export interface LazyFrameOptions {
  /** Bytes of decoded chunks kept for random access (default 64 MiB). */
  cacheBytes?: number;
  /** Chunk reads in flight during scans and loads (default 8). */
  concurrency?: number;
}

export class LazyFrame {
  readonly meta: FrameMeta;
  readonly cache: ChunkCache;
  private readonly reader: ChunkReader;
  private readonly inflight = new Map<string, Promise<Column>>();
  private readonly concurrency: number;

  constructor(
    readonly store: KvStore,
    meta: FrameMeta,
    opts: LazyFrameOptions = {},
  ) {
    this.meta = meta;
    maybeAutoPreloadSql();
    this.cache = new ChunkCache(opts.cacheBytes ?? 64 * 1024 * 1024);
    this.concurrency = opts.concurrency ?? 8;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1)
      throw new TypeError('concurrency must be an integer >= 1');
    this.reader = new ChunkReader(store, meta);
  }

  get name(): string {
    return this.meta.name;
  }
  get version(): string {
    return this.meta.version;
  }
  get fields(): readonly Field[] {
    return this.meta.fields;
  }
  get schema(): string {
    return schemaString(this.meta.fields);
  }
  get nrows(): number {
    return this.meta.nrows;
  }
  get ncols(): number {
    return this.meta.fields.length;
  }
  get columnNames(): string[] {
    return this.meta.fields.map((f) => f.name);
  }
  get chunkRows(): number {
    return this.meta.chunkRows;
  }
  get nchunks(): number {
    return this.meta.nchunks;
  }
  info(): FrameInfo {
    return frameInfo(this.meta);
  }

  /** One column of one chunk, through the cache (`cache: false` for scans: use it, don't fill it). */
  async chunkColumn(chunk: number, col: number, cache = true): Promise<Column> {
    const key = `${chunk}/${col}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    let p = this.inflight.get(key);
    if (!p) {
      p = this.reader.read(chunk, col).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    const c = await p;
    if (cache) this.cache.set(key, c);
    return c;
  }

  private colIndexes(columns?: readonly (string | number)[]): number[] {
    return columns === undefined ? this.fields.map((_, i) => i) : columns.map((c) => columnIndex(this.fields, c));
  }

  private async loadChunk(i: number, cols: readonly number[], cache: boolean): Promise<DataFrame> {
    const got = await Promise.all(cols.map((c) => this.chunkColumn(i, c, cache)));
    return DataFrame.fromFields(
      cols.map((c) => this.fields[c]!),
      got,
    );
  }

  /** Chunk i as an in-memory frame (optionally only some columns). */
  chunk(i: number, columns?: readonly (string | number)[]): Promise<DataFrame> {
    return this.loadChunk(i, this.colIndexes(columns), true);
  }

  /**
   * Every chunk in order, prefetching `concurrency` chunks ahead; memory stays bounded. With `lend`,
   * each chunk is lent: its arrays are reused for a later chunk as soon as the consumer asks for the
   * next one, so the caller must be done with it (or copy what it keeps) by then. A lent scan
   * allocates arrays for about `concurrency + 1` chunks in all instead of one set per chunk, and
   * only borrows the stored values it decodes (KvStore.getWith): a store that lends them from
   * memory it reuses (Engine, ClusterClient) allocates nothing per value either. A lent scan reads
   * with fillCache false unless told otherwise: an engine's block cache is neither filled nor
   * emptied by it (`fillCache: true` for a frame that fits the cache and is about to be read again).
   */
  chunks(
    opts: {
      columns?: readonly (string | number)[];
      from?: number;
      to?: number;
      lend?: boolean;
      fillCache?: boolean;
    } = {},
  ): AsyncGenerator<DataFrame> {
    const cols = this.colIndexes(opts.columns);
    const from = Math.max(0, opts.from ?? 0);
    const to = Math.min(this.nchunks, opts.to ?? this.nchunks);
    const idx = Array.from({ length: Math.max(0, to - from) }, (_, k) => from + k);
    return opts.lend
      ? this.lentChunks(idx, cols, opts.fillCache === true ? CACHING_READ : SCAN_READ)
      : mapOrdered(idx, this.concurrency, (i) => this.loadChunk(i, cols, false));
  }

  private async *lentChunks(
    idx: readonly number[],
    cols: readonly number[],
    read: ReadOptions,
  ): AsyncGenerator<DataFrame> {
    const pool = new ArrayPool();
    const load = async (i: number): Promise<{ df: DataFrame; taken: ArrayBuffer[] }> => {
      const arena = pool.arena();
      // A cached column is shared, not the pool's: it is used as it is and never given back.
      const got = await Promise.all(
        cols.map((c) => this.cache.get(`${i}/${c}`) ?? this.reader.read(i, c, arena, read)),
      );
      return {
        df: DataFrame.fromFields(
          cols.map((c) => this.fields[c]!),
          got,
        ),
        taken: arena.taken,
      };
    };
    const it = mapOrdered(idx, this.concurrency, load);
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value.df;
        // The consumer asked for the next chunk: it is done with this one.
        pool.give(r.value.taken);
      }
    } finally {
      await it.return(undefined);
    }
  }

  /** Every row as an array of values, read through a lent scan (the values are copied out). */
  async *rows(): AsyncGenerator<Value[]> {
    for await (const c of this.chunks({ lend: true })) yield* c.rows();
  }

  [Symbol.asyncIterator](): AsyncGenerator<Value[]> {
    return this.rows();
  }

  private checkRow(row: number): void {
    if (!Number.isInteger(row) || row < 0 || row >= this.nrows)
      throw new RangeError(`row ${row} out of range (0..${this.nrows - 1})`);
  }

  /** One cell; its chunk is fetched (and cached) if needed. */
  async get(col: string | number, row: number): Promise<Value> {
    this.checkRow(row);
    const c = columnIndex(this.fields, col);
    const chunk = Math.floor(row / this.chunkRows);
    return (await this.chunkColumn(chunk, c)).get(row - chunk * this.chunkRows);
  }

  /** Rows [offset, offset + limit) as an in-memory frame. */
  async slice(offset: number, limit: number, columns?: readonly (string | number)[]): Promise<DataFrame> {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(limit) || limit < 0) {
      throw new RangeError('offset and limit must be integers >= 0');
    }
    const cols = this.colIndexes(columns);
    const start = Math.min(offset, this.nrows);
    const end = Math.min(this.nrows, start + limit);
    const first = Math.floor(start / this.chunkRows);
    const last = end === start ? first : Math.ceil(end / this.chunkRows);
    const parts: DataFrame[] = [];
    for await (const c of this.chunks({ columns: cols, from: first, to: last })) parts.push(c);
    const whole = DataFrame.concat(
      parts,
      cols.map((c) => this.fields[c]!),
    );
    return whole.slice(start - first * this.chunkRows, end - first * this.chunkRows);
  }

  /** The whole frame in memory: only for frames that fit. */
  async load(columns?: readonly (string | number)[]): Promise<DataFrame> {
    const cols = this.colIndexes(columns);
    const parts: DataFrame[] = [];
    for await (const c of this.chunks({ columns: cols })) parts.push(c);
    return DataFrame.concat(
      parts,
      cols.map((c) => this.fields[c]!),
    );
  }

  /** Rows in chunk i. */
  rowsInChunk(i: number): number {
    return rowsInChunk(this.meta, i);
  }

  // ---- queries: pushed to the nodes through runTask when the store can, else run locally ----

  query(): Query {
    return new Query({
      fields: this.fields,
      nchunks: this.nchunks,
      execute: (checked, opts) => {
        const pruned = isTaskRunner(this.store) ? prunable(checked, this.meta) : undefined;
        return runDataframeTask(
          this.store,
          QUERY_TASK,
          this.meta,
          { plan: checked.plan },
          opts?.versionCheck,
          opts?.maxGroups,
          pruned && { checked, chunks: pruned },
        );
      },
      describe: () => this.where(),
      zones: () => ({ fields: this.fields, zones: this.meta.zones, rowsOf: (i) => rowsInChunk(this.meta, i) }),
    });
  }

  private where(): string {
    return isTaskRunner(this.store)
      ? `on the nodes holding ${this.name}, ${this.nchunks} chunks`
      : `in-process over ${this.name}, ${this.nchunks} chunks`;
  }

  /** Row queries in order ('x', '-x' for descending, or { col, desc, nulls }); with limit(), a top-k. */
  orderBy(...keys: (SortSpec | readonly SortSpec[])[]): Query {
    return this.query().orderBy(...keys);
  }
  withColumn(name: string, expr: ExprLike): Query {
    return this.query().withColumn(name, expr);
  }
  derive(cols: Readonly<Record<string, ExprLike>>): Query {
    return this.query().derive(cols);
  }

  /**
   * Joins another frame (stored or in memory) to this one: a Query over this frame's columns and
   * then (inner, left) the right's. The right side is broadcast to the nodes (docs/dataframe.md "Joins").
   */
  join(right: LazyFrame | DataFrame, opts: JoinOptions): Query {
    return new Query(
      joinSource(
        {
          fields: this.fields,
          nchunks: this.nchunks,
          runJoin: (checked, join, opts) =>
            runDataframeTask(
              this.store,
              QUERY_TASK,
              this.meta,
              { plan: checked.plan, join },
              opts?.versionCheck,
              opts?.maxGroups,
            ),
          where: () => this.where(),
          shuffle: (checked, right, spec) => shuffleJoin(this.store, this.meta, right, spec, checked),
          nodes: () => Math.max(1, taskNodes(this.store).length),
        },
        joinRight(right),
        opts,
      ),
    );
  }

  /** Per column: count, nulls, distinct estimate, min, max, mean, std, quartiles (one pass). */
  async describe(): Promise<DataFrame> {
    const r = await this.query().run({ aggs: describeAggs(this.fields) });
    return DataFrame.fromRows(DESCRIBE_SCHEMA, describeRows(this.fields, r));
  }
  filter(expr: ExprLike): Query {
    return this.query().filter(expr);
  }
  select(...cols: (string | readonly string[])[]): Query {
    return this.query().select(...cols);
  }
  groupBy(...cols: (string | readonly string[])[]): Query {
    return this.query().groupBy(...cols);
  }
  agg(spec: AggRequest): Promise<DataFrame> {
    return this.query().agg(spec);
  }
  count(): Promise<number> {
    return this.query().count();
  }
  sum(col: string): Promise<number | null> {
    return this.query().sum(col);
  }
  mean(col: string): Promise<number | null> {
    return this.query().mean(col);
  }
  min(col: string): Promise<Value> {
    return this.query().min(col);
  }
  max(col: string): Promise<Value> {
    return this.query().max(col);
  }
}

/**
 * Bytes per value a stored frame's column is assumed to take in memory, to choose a join's strategy
 * before reading it: the array element (a string: a JavaScript string of about 16 characters and its
 * array slot), plus a null bit rounded up.
 */
const EST_BYTES: Readonly<Record<string, number>> = { I: 4, D: 8, B: 1, S: 48 };

/** A frame as the right side of a join. */
export function joinRight(f: LazyFrame | DataFrame): JoinRight {
  if (f instanceof LazyFrame)
    return {
      fields: f.fields,
      name: f.name,
      nrows: f.nrows,
      meta: f.meta,
      estimatedBytes: (cols) => f.nrows * cols.reduce((s, i) => s + (EST_BYTES[f.fields[i]!.type] ?? 8) + 1, 0),
      async columns(limitBytes, cols) {
        // A frame DataFrame.sql opened from its metadata cache: its columns may be kept beside it (the
        // query checks the version is still the published one, meta-cache.ts).
        const cached = isCachedMeta(f.meta);
        const kept = cached ? cachedColumns(f.store, f.meta) : undefined;
        const out = new Array<Column | undefined>(f.fields.length);
        let bytes = 0;
        const missing: number[] = [];
        for (const i of cols) {
          const c = kept?.[i];
          if (c === undefined) missing.push(i);
          else bytes += c.byteSize;
          out[i] = c;
        }
        if (bytes > limitBytes) return undefined;
        if (missing.length === 0) return out;
        // Chunk by chunk, stopping as soon as the limit is passed: never the whole of a large frame.
        const parts: DataFrame[] = [];
        for await (const c of f.chunks({ columns: missing })) {
          bytes += c.columns.reduce((s, x) => s + x.byteSize, 0);
          if (bytes > limitBytes) return undefined;
          parts.push(c);
        }
        const read = DataFrame.concat(
          parts,
          missing.map((i) => f.fields[i]!),
        ).columns;
        missing.forEach((i, k) => {
          out[i] = read[k];
        });
        if (cached) keepColumns(f.store, f.meta, out);
        return out;
      },
    };
  return {
    fields: f.fields,
    nrows: f.nrows,
    estimatedBytes: (cols) => cols.reduce((s, i) => s + f.columns[i]!.byteSize, 0),
    columns: async (limitBytes, cols) => {
      let bytes = 0;
      const out = new Array<Column | undefined>(f.fields.length);
      for (const i of cols) {
        out[i] = f.columns[i];
        bytes += f.columns[i]!.byteSize;
      }
      return bytes > limitBytes ? undefined : out;
    },
  };
}
