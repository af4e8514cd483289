// Streaming, versioned publication of a frame. Rows or column batches are cut into row-chunks as they
// arrive and written under a fresh version while earlier chunks are still in flight (bounded), so a
// frame far larger than memory can be stored. Nothing is visible until close() writes the metadata
// record; a failure before that deletes what was written. DataFrame.put is this writer fed one frame.

import type { BatchOp, KvStore } from '../kv/index.js';
import { Eau2Error, ErrorCode, isEau2Error, partitionLeadersOf } from '../kv/index.js';
import { encodeChunk } from './chunk-codec.js';
import { ColumnBuilder } from './column-builder.js';
import type { Column } from './column.js';
import { toColumn, type ColumnInput } from './column-input.js';
import { MAX_CHUNKS, MAX_COLUMNS, checkName, chunkKey, makeVersion, metaKey, versionCounter } from './layout.js';
import { encodeMeta, type FrameMeta } from './meta.js';
import { SlotPlanner } from './placement.js';
import { maybeAutoPreloadSql } from './sql-preload.js';
import { Limiter } from './pool.js';
import { describeValue, parseSchema, valueFits, type Field, type SchemaSpec, type Value } from './schema.js';
import { deleteVersion, nextVersionCounter, readMeta, sweepVersions } from './storage.js';
import { computeZone, type Zone } from './zone-map.js';

export const DEFAULT_CHUNK_ROWS = 65_536;
const DEFAULT_CONCURRENCY = 8;

/**
 * Attempts of one chunk batch or of the metadata put before a writer gives up on answers of
 * UNKNOWN_OUTCOME (a cluster leader that lost its leadership before its followers acknowledged the
 * write, or a request that timed out: docs/api.md). A client's arbitrary put must not be repeated
 * after such an answer (the first attempt may land after a later write), but the writer's may: a
 * chunk key belongs to this writer's unpublished version alone, and the metadata put repeats the
 * republished-version check first, so a repeat writes the same bytes over themselves.
 */
const AMBIGUOUS_ATTEMPTS = 5;

/** Runs `write`, again (after a short pause) while it fails with UNKNOWN_OUTCOME, at most AMBIGUOUS_ATTEMPTS times. */
async function repeatAmbiguous(write: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (e) {
      if (attempt >= AMBIGUOUS_ATTEMPTS || !isEau2Error(e, ErrorCode.UNKNOWN_OUTCOME)) throw e;
      await new Promise((r) => setTimeout(r, Math.min(1000, 100 * 2 ** (attempt - 1))));
    }
  }
}

export interface WriterOptions {
  /** Rows per chunk (default 65,536). */
  chunkRows?: number;
  /** Row-chunks written in parallel; bounds the writer's memory to about this many chunks. */
  concurrency?: number;
  /** fdatasync each chunk batch and the metadata record. */
  sync?: boolean;
  /**
   * Cluster only: replicas that must hold each chunk batch and the metadata record before the writer
   * goes on (docs/api.md `w`). Default `'all'`: a published frame's chunks are on every in-sync
   * replica, so a failover cannot lose one (with `w: 1`, chunks a leader acknowledged just before it
   * was deposed are lost with it, and the frame then fails with NOT_FOUND where they were).
   */
  w?: number | 'all';
}

/** Anything appendColumns accepts: a frame-like object of columns, or columns by name. */
export interface ColumnsLike {
  readonly columnNames: readonly string[];
  column(name: string): Column;
}

export class DataFrameWriter {
  private readonly builders: ColumnBuilder[];
  private readonly limiter: Limiter;
  /**
   * Encode buffers of stored chunks, by column, for later chunks to be encoded into: storing a frame
   * then allocates at most `concurrency` buffers per column instead of one per chunk, which V8 freed
   * only at its next full collection (docs/dataframe.md "Client memory").
   */
  private readonly spare: Uint8Array[][];
  /** On a store that shows its topology: the key slot of each row-chunk, balanced over the leaders. */
  private readonly planner: SlotPlanner | undefined;
  private readonly slots: number[] = [];
  /** Per row-chunk, per column: the zone map entry published with the metadata. */
  private readonly zones: Zone[][] = [];
  private chunks = 0;
  private rows = 0;
  /** 'broken': an appendColumnwise fill threw, leaving the columns out of step; only abort() is left. */
  private state: 'open' | 'closing' | 'closed' | 'aborted' | 'broken' = 'open';
  /** close()'s publish while it runs; abort() waits for it. */
  private closing: Promise<FrameMeta> | undefined;
  private abortRequested = false;
  /** The metadata put has been sent: an abort() can no longer stop the publish. */
  private metaSent = false;
  /** A metadata put was answered UNKNOWN_OUTCOME: the version may be published. */
  private metaMaybePublished = false;
  /** Set if removing older versions after a successful publish failed; the publish still stands. */
  cleanupError: unknown;

  private constructor(
    private readonly store: KvStore,
    readonly name: string,
    readonly fields: readonly Field[],
    readonly version: string,
    readonly chunkRows: number,
    private readonly concurrency: number,
    private readonly writeOpts: { sync: boolean; w: number | 'all' },
  ) {
    this.builders = fields.map(
      (f) => new ColumnBuilder(f.type, Math.min(chunkRows, 4096), f.name, { dictionary: true }),
    );
    this.limiter = new Limiter(concurrency);
    this.spare = fields.map(() => []);
    const leaders = partitionLeadersOf(store);
    this.planner = leaders && new SlotPlanner(name, version, leaders);
  }

  static async open(
    store: KvStore,
    name: string,
    schema: SchemaSpec,
    opts: WriterOptions = {},
  ): Promise<DataFrameWriter> {
    checkName(name);
    const fields = parseSchema(schema);
    maybeAutoPreloadSql();
    if (fields.length === 0 || fields.length > MAX_COLUMNS)
      throw new TypeError(`a frame has 1 to ${MAX_COLUMNS} columns`);
    const chunkRows = opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
    if (!Number.isInteger(chunkRows) || chunkRows < 1 || chunkRows > 1 << 24) {
      throw new TypeError('chunkRows must be an integer between 1 and 16,777,216');
    }
    const concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError('concurrency must be an integer >= 1');
    const version = makeVersion(await nextVersionCounter(store, name));
    const w = opts.w ?? 'all';
    if (w !== 'all' && (!Number.isInteger(w) || w < 1)) throw new TypeError("w must be an integer >= 1 or 'all'");
    return new DataFrameWriter(store, name, fields, version, chunkRows, concurrency, { sync: opts.sync ?? false, w });
  }

  /** Rows appended so far. */
  get nrows(): number {
    return this.rows;
  }

  private checkOpen(): void {
    if (this.state !== 'open') throw new TypeError(`writer for ${JSON.stringify(this.name)} is ${this.state}`);
  }

  /**
   * Appends one row, by position or by column name. Returns a promise only when the chunk this row
   * completed has to wait for a write slot: await it (or every call) to keep memory bounded.
   */
  append(row: readonly Value[] | Readonly<Record<string, Value>>): void | Promise<void> {
    this.checkOpen();
    const fs = this.fields;
    const vals: readonly Value[] = Array.isArray(row) ? row : this.objectRow(row as Readonly<Record<string, Value>>);
    if (vals.length !== fs.length)
      throw new TypeError(`row has ${vals.length} values, the frame has ${fs.length} columns`);
    // Check every value before pushing any, so a bad row leaves the builders aligned.
    for (let c = 0; c < fs.length; c++) {
      if (!valueFits(fs[c]!.type, vals[c])) {
        throw new TypeError(
          `row ${this.rows}, column ${JSON.stringify(fs[c]!.name)} (${fs[c]!.type}): cannot store ${describeValue(vals[c])}`,
        );
      }
    }
    return this.pushRow(vals);
  }

  /**
   * append() of a row of values the caller made to fit their columns (the CSV importer's converters,
   * which a test holds to valueFits): the same rows without the per-value type check.
   * @internal
   */
  appendFitted(row: readonly Value[]): void | Promise<void> {
    this.checkOpen();
    if (row.length !== this.builders.length)
      throw new TypeError(`row has ${row.length} values, the frame has ${this.builders.length} columns`);
    return this.pushRow(row);
  }

  /**
   * Appends `count` rows column by column: `fill(builders, from, to)` pushes rows [from, to) of the
   * caller's batch into every column's builder, each a value that fits (as appendFitted's), and
   * throws, having pushed anything or nothing, if it cannot. The batch is given in pieces that end
   * where a chunk fills, and each full chunk is written before the next piece is filled. A fill that
   * throws leaves the writer unusable (its builders out of step): abort() it. Returns a promise only
   * when a chunk had to wait for a write slot.
   * @internal
   */
  appendColumnwise(
    count: number,
    fill: (builders: readonly ColumnBuilder[], from: number, to: number) => void,
  ): void | Promise<void> {
    this.checkOpen();
    return this.fillFrom(count, fill, 0);
  }

  private fillFrom(
    count: number,
    fill: (builders: readonly ColumnBuilder[], from: number, to: number) => void,
    from: number,
  ): void | Promise<void> {
    const b = this.builders;
    while (from < count) {
      const have = b[0]!.length;
      const to = Math.min(count, from + this.chunkRows - have);
      try {
        fill(b, from, to);
        // A fill that returned without pushing exactly its rows into every column would store
        // columns out of step: refused, as a throw is.
        for (let c = 0; c < b.length; c++)
          if (b[c]!.length !== have + to - from)
            throw new TypeError(
              `column ${JSON.stringify(this.fields[c]!.name)} was given ${b[c]!.length - have} rows of ${to - from}`,
            );
      } catch (e) {
        this.state = 'broken';
        throw e;
      }
      this.rows += to - from;
      from = to;
      if (b[0]!.length >= this.chunkRows) {
        const wait = this.flush();
        if (wait) return wait.then(() => this.fillFrom(count, fill, from));
      }
    }
  }

  /** Pushes a row whose values fit their columns; flushes the chunk it completes. */
  private pushRow(vals: readonly Value[]): void | Promise<void> {
    const b = this.builders;
    for (let c = 0; c < b.length; c++) b[c]!.pushFitted(vals[c]);
    this.rows++;
    if (b[0]!.length >= this.chunkRows) return this.flush();
  }

  /**
   * A row given by column name: a missing column is null; a name the frame does not have is a
   * TypeError (a misspelt column would otherwise lose its value without a word).
   */
  private objectRow(row: Readonly<Record<string, Value>>): Value[] {
    const fs = this.fields;
    let known = 0;
    const vals = fs.map((f) => {
      if (!Object.hasOwn(row, f.name)) return null;
      known++;
      return row[f.name] ?? null;
    });
    if (Object.keys(row).length !== known) this.refuseUnknown(Object.keys(row), 'row');
    return vals;
  }

  private refuseUnknown(names: readonly string[], what: string): void {
    const unknown = names.find((n) => !this.fields.some((f) => f.name === n));
    if (unknown !== undefined) {
      throw new TypeError(
        `${what} has a column ${JSON.stringify(unknown)} the frame does not have (columns: ${this.fields.map((f) => f.name).join(', ')})`,
      );
    }
  }

  /** Appends equal-length columns covering every field (by name); full chunks are written without copying. */
  async appendColumns(batch: ColumnsLike | Readonly<Record<string, ColumnInput>>): Promise<void> {
    this.checkOpen();
    const frameLike = 'columnNames' in batch && typeof (batch as ColumnsLike).column === 'function';
    this.refuseUnknown(frameLike ? (batch as ColumnsLike).columnNames : Object.keys(batch), 'column batch');
    const get = (n: string): ColumnInput | undefined =>
      'columnNames' in batch && typeof (batch as ColumnsLike).column === 'function'
        ? (batch as ColumnsLike).columnNames.includes(n)
          ? (batch as ColumnsLike).column(n)
          : undefined
        : (batch as Record<string, ColumnInput>)[n];
    const cols = this.fields.map((f) => {
      const input = get(f.name);
      if (input === undefined) throw new TypeError(`column batch lacks column ${JSON.stringify(f.name)}`);
      return toColumn(input, f.name, f.type);
    });
    const n = cols[0]?.length ?? 0;
    for (let c = 0; c < cols.length; c++) {
      if (cols[c]!.length !== n) {
        throw new TypeError(
          `columns differ in length: ${this.fields[0]!.name} has ${n}, ${this.fields[c]!.name} has ${cols[c]!.length}`,
        );
      }
    }
    let pos = 0;
    while (pos < n) {
      const have = this.builders[0]!.length;
      if (have === 0 && n - pos >= this.chunkRows) {
        const end = pos + this.chunkRows;
        this.rows += this.chunkRows;
        await this.flushColumns(cols, pos, end);
        pos = end;
        continue;
      }
      const k = Math.min(this.chunkRows - have, n - pos);
      for (let c = 0; c < cols.length; c++) this.builders[c]!.appendColumn(cols[c]!, pos, pos + k);
      this.rows += k;
      pos += k;
      if (this.builders[0]!.length >= this.chunkRows) await this.flush();
    }
  }

  private flush(): void | Promise<void> {
    // The builders' own memory, encoded by flushColumns before it returns, then reused for the next
    // chunk: a copy of every full chunk's columns into fresh memory was a tenth of an import's CPU
    // (page faults on first touch).
    const cols = this.builders.map((b) => b.view());
    try {
      return this.flushColumns(cols, 0, cols[0]!.length);
    } finally {
      for (const b of this.builders) b.reset();
    }
  }

  /**
   * Writes rows [start, end) of `cols` as the next chunk. They are encoded before this returns, not
   * when a write slot frees: the columns may be the builders' memory, which the next rows overwrite.
   */
  private flushColumns(cols: Column[], start: number, end: number): void | Promise<void> {
    if (this.chunks >= MAX_CHUNKS) throw new TypeError('frame has too many chunks; raise chunkRows');
    this.limiter.check();
    const slot = this.planner ? this.planner.next() : this.chunks;
    if (this.planner) this.slots.push(slot);
    const zones = cols.map((c) => computeZone(c, start, end));
    this.zones.push(zones);
    this.chunks++;
    const used: (Uint8Array | undefined)[] = [];
    // The zone's min and max pick a numeric chunk's encoding (chunk-codec.ts) without another pass.
    const ops = cols.map((c, i) => ({
      type: 'put' as const,
      key: chunkKey(this.name, this.version, slot, i),
      value: encodeChunk(c, (size) => this.encodeBuffer(i, size, used), start, end, { zone: zones[i] }),
    }));
    const task = (): Promise<void> => this.writeChunk(ops, used);
    if (this.limiter.active < this.concurrency) {
      this.limiter.start(task);
      return;
    }
    return this.limiter.acquire().then(() => this.limiter.start(task));
  }

  private async writeChunk(ops: BatchOp[], used: (Uint8Array | undefined)[]): Promise<void> {
    await repeatAmbiguous(() => this.store.batch(ops, this.writeOpts));
    // Only now is a buffer ours again: ClusterClient sends values of 32 KiB or more without copying
    // them until the batch settles (docs/api.md). A failed batch's buffers are dropped, not reused: a
    // request that timed out may still have its bytes queued in a socket.
    for (let i = 0; i < used.length; i++) if (used[i]) this.spare[i]!.push(used[i]!);
  }

  /** `size` bytes for column `col`'s encoded chunk: a settled chunk's buffer if one is large enough. */
  private encodeBuffer(col: number, size: number, used: (Uint8Array | undefined)[]): Uint8Array {
    let b = this.spare[col]!.pop();
    // Dictionary chunks vary in size from chunk to chunk: leave room so that one buffer fits them all.
    if (!b || b.length < size) b = new Uint8Array(size + (size >>> 4));
    used[col] = b;
    return b.subarray(0, size);
  }

  /** Writes the last chunk, waits for all chunks, publishes the version and removes older ones. */
  close(): Promise<FrameMeta> {
    try {
      this.checkOpen();
    } catch (e) {
      return Promise.reject(e);
    }
    this.state = 'closing';
    this.closing = this.publish();
    return this.closing;
  }

  private async publish(): Promise<FrameMeta> {
    try {
      if (this.builders[0]!.length > 0) await this.flush();
      await this.limiter.drain();
      const meta: FrameMeta = Object.freeze({
        name: this.name,
        version: this.version,
        fields: this.fields,
        nrows: this.rows,
        chunkRows: this.chunkRows,
        nchunks: this.chunks,
        created: Date.now(),
        ...(this.planner ? { slots: Object.freeze(this.slots.slice()) } : {}),
        zones: this.zones,
      });
      const encoded = encodeMeta(meta);
      await repeatAmbiguous(async () => {
        const cur = await readMeta(this.store, this.name);
        if (cur && versionCounter(cur.version) > versionCounter(this.version)) {
          throw new Eau2Error(
            ErrorCode.INVALID,
            `frame ${JSON.stringify(this.name)} was republished (version ${cur.version}) while this writer ran; this write is discarded`,
          );
        }
        // The last moment an abort() can stop the publish: once the metadata is being written, it can't.
        if (this.abortRequested && !this.metaSent)
          throw new Eau2Error(
            ErrorCode.INVALID,
            `writer for ${JSON.stringify(this.name)} was aborted before it published`,
          );
        this.metaSent = true;
        try {
          await this.store.put(metaKey(this.name), encoded, this.writeOpts);
        } catch (e) {
          // Any other failure of the put means it was not applied (docs/api.md).
          this.metaMaybePublished ||= isEau2Error(e, ErrorCode.UNKNOWN_OUTCOME);
          throw e;
        }
      });
      this.state = 'closed';
      try {
        await sweepVersions(this.store, this.name, versionCounter(this.version), this.concurrency);
      } catch (e) {
        this.cleanupError = e;
      }
      return meta;
    } catch (e) {
      // A metadata put whose outcome stayed unknown may have published this version: its chunks
      // stay (a later publish of the name sweeps them if it did not).
      if (this.state !== 'closed' && !this.metaMaybePublished) await this.discard();
      throw e;
    }
  }

  /**
   * Drops everything written so far and publishes nothing; resolves true once it is gone. During a
   * close() it stops the publish if the metadata is not being written yet (close() then rejects
   * with INVALID) and waits for close() to settle; it resolves false, leaving the frame, when
   * close() had already published it, does so meanwhile, or may have (its metadata put was answered
   * UNKNOWN_OUTCOME every time).
   */
  async abort(): Promise<boolean> {
    if (this.state === 'closed') return false;
    if (this.state === 'closing') {
      this.abortRequested = true;
      await this.closing!.catch(() => undefined);
      return !this.published();
    }
    if (this.state !== 'aborted') await this.discard();
    return true;
  }

  private published(): boolean {
    return this.state === 'closed' || this.metaMaybePublished;
  }

  private async discard(): Promise<void> {
    this.state = 'aborted';
    await this.limiter.drain().catch(() => undefined);
    // Best effort: if the store is failing, the next publish of this name sweeps these chunks.
    await deleteVersion(this.store, this.name, this.version, this.concurrency).catch(() => undefined);
  }
}
