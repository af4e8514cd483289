// The public face of the embedded engine: argument checking and conversion (strings are UTF-8),
// then calls into DbImpl. Bad arguments reject with TypeError (or TOO_LARGE) before anything is
// written, so they never change the database.

import { Eau2Error, ErrorCode } from '../kv/index.js';
import { copyBytes, utf8 } from '../kv/index.js';
import { Kind } from './format/internal-key.js';
import type { Op } from './batch/write-batch.js';
import { DbImpl, notOpen } from './db/db-impl.js';
import { MAX_KEY_BYTES, type EngineOptions } from './db/options.js';
import type { Bounds, DbIterator } from './iter/db-iterator.js';
import type {
  BatchOp,
  KeyLike,
  KvIterator,
  KvStore,
  Range,
  ReadOptions,
  ValueLike,
  WriteOptions,
} from '../kv/index.js';
import type { EngineHealth } from './db/error-handler.js';
import type { DamagedTable } from './db/scrub.js';
import { collectStats, type EngineStats } from './stats.js';

export interface IteratorOptions extends Range {
  /** Read the state as of this snapshot instead of as of the iterator's creation. */
  snapshot?: Snapshot;
  /** Put the blocks read from disk into the block cache (default true; see ReadOptions.fillCache). */
  fillCache?: boolean;
}

export interface GetOptions extends ReadOptions {
  snapshot?: Snapshot;
}

/** A consistent point-in-time view. Holds old versions from compaction until released. */
export class Snapshot {
  private released = false;
  /** @internal */
  constructor(
    /** @internal */ readonly seq: number,
    private readonly owner: Engine,
  ) {}
  /** @internal */
  belongsTo(e: Engine): boolean {
    return this.owner === e && !this.released;
  }
  release(): void {
    if (this.released) return;
    this.released = true;
    this.owner._releaseSnapshot(this.seq);
  }
}

function toBytes(x: unknown, what: string): Uint8Array {
  if (typeof x === 'string') return utf8(x);
  if (x instanceof Uint8Array) return x;
  throw new TypeError(`${what} must be a Uint8Array, Buffer or string, got ${x === null ? 'null' : typeof x}`);
}

const EMPTY = new Uint8Array(0);
const RESOLVED = Promise.resolve();

/** opts.fillCache, default true; anything but a boolean is a TypeError. */
function fillCache(opts: { fillCache?: boolean } | undefined): boolean {
  const f = opts?.fillCache;
  if (f === undefined) return true;
  if (typeof f !== 'boolean') throw new TypeError(`fillCache must be a boolean, got ${typeof f}`);
  return f;
}

function toKey(x: unknown): Uint8Array {
  const k = toBytes(x, 'key');
  if (k.length > MAX_KEY_BYTES) {
    throw new Eau2Error(ErrorCode.TOO_LARGE, `key of ${k.length} bytes exceeds the limit of ${MAX_KEY_BYTES} bytes`);
  }
  return k;
}

export class Engine implements KvStore {
  private readonly iterators = new Set<EngineRangeIterator>();

  private constructor(
    /** @internal */ readonly db: DbImpl,
    readonly location: string,
  ) {}

  /** Creates or opens the database in `dir`. */
  static async open(dir: string, options: EngineOptions = {}): Promise<Engine> {
    if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('dir must be a non-empty string');
    return new Engine(await DbImpl.open(dir, options), dir);
  }

  get isOpen(): boolean {
    return !this.db.closed;
  }

  private value(x: unknown): Uint8Array {
    const v = toBytes(x, 'value');
    if (v.length > this.db.opts.maxValueBytes) {
      throw new Eau2Error(
        ErrorCode.TOO_LARGE,
        `value of ${v.length} bytes exceeds the limit of ${this.db.opts.maxValueBytes} bytes`,
      );
    }
    return v;
  }

  private checkOpen(): void {
    if (this.db.closed) throw notOpen();
  }

  // put, del and batch are not async functions: an async wrapper returning the write's promise
  // costs another promise and two microtask hops per write. Argument errors still reject.
  put(key: KeyLike, value: ValueLike, opts?: WriteOptions): Promise<void> {
    try {
      const op: Op = { kind: Kind.VALUE, key: toKey(key), value: this.value(value) };
      this.checkOpen();
      return this.db.write([op], opts?.sync === true);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  del(key: KeyLike, opts?: WriteOptions): Promise<void> {
    try {
      const op: Op = { kind: Kind.DELETE, key: toKey(key), value: EMPTY };
      this.checkOpen();
      return this.db.write([op], opts?.sync === true);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Applies all operations atomically: after a crash, all of them or none are present. */
  batch(ops: BatchOp[], opts?: WriteOptions): Promise<void> {
    try {
      if (!Array.isArray(ops)) throw new TypeError('batch operations must be an array');
      const out: Op[] = ops.map((op, i) => {
        if (op === null || typeof op !== 'object') throw new TypeError(`batch operation ${i} must be an object`);
        if (op.type === 'put') return { kind: Kind.VALUE, key: toKey(op.key), value: this.value(op.value) };
        if (op.type === 'del') return { kind: Kind.DELETE, key: toKey(op.key), value: EMPTY };
        throw new TypeError(`batch operation ${i} has unknown type ${String((op as { type?: unknown }).type)}`);
      });
      this.checkOpen();
      if (out.length === 0) return RESOLVED;
      return this.db.write(out, opts?.sync === true);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The value of `key`, or undefined if it is missing. Served without asynchronous I/O. */
  async get(key: KeyLike, opts?: GetOptions): Promise<Uint8Array | undefined> {
    const v = this.getSync(key, opts);
    const y = this.db.maybeYield();
    if (y) await y;
    return v;
  }

  /**
   * Calls `use` with the value of `key` as a view lent for that synchronous call only (a cached
   * block or the memtable's memory, not copied), and resolves with what it returns; undefined,
   * without calling `use`, if the key is missing. `use` must copy what it keeps, must not modify
   * the view and must not call the engine (KvStore.getWith).
   */
  async getWith<T>(key: KeyLike, use: (value: Uint8Array) => T, opts?: GetOptions): Promise<T | undefined> {
    const v = this.db.getView(toKey(key), this.snapshotSeq(opts?.snapshot), fillCache(opts));
    const out = v === undefined ? undefined : use(v);
    const y = this.db.maybeYield();
    if (y) await y;
    return out;
  }

  /**
   * The value of `key` (a copy) and the sequence number of the write that stored it: it differs for
   * every write of the key to this database, so it can stand for a version (an HTTP ETag).
   */
  getVersionSync(key: KeyLike): { value: Uint8Array; seq: number } | undefined {
    const r = this.db.getEntryView(toKey(key));
    return r === undefined ? undefined : { value: copyBytes(r.value), seq: r.seq };
  }

  getSync(key: KeyLike, opts?: GetOptions): Uint8Array | undefined {
    const k = toKey(key);
    return this.db.getSync(k, this.snapshotSeq(opts?.snapshot), fillCache(opts));
  }

  private snapshotSeq(s: Snapshot | undefined): number | undefined {
    if (s === undefined) return undefined;
    if (!(s instanceof Snapshot) || !s.belongsTo(this)) {
      throw new TypeError('snapshot must be an unreleased snapshot of this database');
    }
    return s.seq;
  }

  /** A point-in-time view for get/iterator; call release() when done. */
  snapshot(): Snapshot {
    this.checkOpen();
    return new Snapshot(this.db.acquireSnapshot(), this);
  }

  /** @internal */
  _releaseSnapshot(seq: number): void {
    this.db.releaseSnapshot(seq);
  }

  /** Sorted entries within the range; see IteratorOptions. Close it if you stop early. */
  iterator(opts: IteratorOptions = {}): EngineRangeIterator {
    if (opts === null || typeof opts !== 'object') throw new TypeError('iterator options must be an object');
    this.checkOpen();
    const bounds: Bounds = {};
    if (opts.gte !== undefined) bounds.lower = toKey(opts.gte);
    if (opts.gt !== undefined) {
      bounds.lower = toKey(opts.gt);
      bounds.lowerExclusive = true;
    }
    if (opts.lte !== undefined) bounds.upper = toKey(opts.lte);
    if (opts.lt !== undefined) {
      bounds.upper = toKey(opts.lt);
      bounds.upperExclusive = true;
    }
    const limit = opts.limit === undefined || opts.limit === null || opts.limit < 0 ? Infinity : opts.limit;
    if (typeof limit !== 'number' || Number.isNaN(limit)) throw new TypeError('limit must be a number');
    const explicit = this.snapshotSeq(opts.snapshot);
    const seq = explicit ?? this.db.acquireSnapshot();
    let opened: ReturnType<DbImpl['newIterator']>;
    try {
      opened = this.db.newIterator(seq, bounds, opts.reverse === true, fillCache(opts));
    } catch (e) {
      if (explicit === undefined) this.db.releaseSnapshot(seq);
      this.db.noteCorruption(e);
      throw e;
    }
    const { it, release } = opened;
    const iter = new EngineRangeIterator(
      it,
      limit,
      () => {
        release();
        if (explicit === undefined) this.db.releaseSnapshot(seq);
        this.iterators.delete(iter);
      },
      (e) => this.db.noteCorruption(e),
    );
    this.iterators.add(iter);
    return iter;
  }

  scan(range: Range = {}, opts?: ReadOptions): KvIterator {
    return opts?.fillCache === undefined
      ? this.iterator(range)
      : this.iterator({ ...range, fillCache: opts.fillCache });
  }

  /** Compacts the key range [start, end] (all keys if omitted) down to one level. */
  async compactRange(start?: KeyLike, end?: KeyLike): Promise<void> {
    const s = start === undefined ? undefined : toKey(start);
    const e = end === undefined ? undefined : toKey(end);
    this.checkOpen();
    await this.db.bg.compactRange(s, e);
  }

  stats(): EngineStats {
    return collectStats(this.db);
  }

  /**
   * `ok`; `degraded` while writes are refused after a full disk and a background retry will resume
   * them once there is room; `failed` after any other write or background failure (writes stay
   * refused until the database is reopened). Reads are served in every state.
   */
  health(): EngineHealth {
    return this.db.errors.health();
  }

  /**
   * Re-reads every table from disk now and checks every block's checksum (the background scrub does
   * the same at the `scrubBytesPerSecond` pace). `bytesPerSecond` paces it (default: no pacing).
   * Resolves with the damaged tables, as damagedTables() does.
   */
  async verify(opts: { bytesPerSecond?: number } = {}): Promise<DamagedTable[]> {
    const rate = opts.bytesPerSecond ?? Number.POSITIVE_INFINITY;
    if (typeof rate !== 'number' || !(rate > 0)) throw new TypeError('bytesPerSecond must be a positive number');
    this.checkOpen();
    return this.db.scrub.verifyAll(rate);
  }

  /** Tables the scrub, verify() or a read found damaged, while they are still in the database. */
  damagedTables(): DamagedTable[] {
    return this.db.scrub.list();
  }

  /**
   * Removes table `file` (a number from damagedTables()) from the database and returns the key range
   * it held, or undefined if there is no such table. Its entries are lost, and older versions of its
   * keys in other tables can show again: rewrite that range from a good copy (a cluster node does,
   * from a replica) before trusting it.
   */
  async dropTable(file: number): Promise<{ smallest: Uint8Array; largest: Uint8Array } | undefined> {
    if (!Number.isInteger(file) || file < 0) throw new TypeError('file must be a table number');
    this.checkOpen();
    const r = await this.db.bg.dropTable(file);
    return r && { smallest: copyBytes(r.meta.smallestUser), largest: copyBytes(r.meta.largestUser) };
  }

  async close(): Promise<void> {
    for (const it of [...this.iterators]) await it.close();
    await this.db.close();
  }
}

/** Entries fetched per refill; between refills the iterator yields to the event loop. */
const BATCH_ENTRIES = 1000;
const BATCH_BYTES = 1 << 20;

/**
 * An iterator over a range of the engine as of one snapshot (Engine.iterator): entries are fetched
 * in batches that yield to the event loop between them. Published as `EngineIterator` too.
 */
export class EngineRangeIterator implements KvIterator {
  private buf: Array<[Uint8Array, Uint8Array]> = [];
  private pos = 0;
  private done = false;
  private closed = false;
  private returned = 0;
  private refills = 0;

  /** @internal */
  constructor(
    private readonly it: DbIterator,
    private readonly limit: number,
    private readonly onClose: () => void,
    /**
     * Told of every error a read of the tables throws: a CORRUPTION error joins the damaged tables
     * (damagedTables()), as a point read's does, so a scan that meets damage gets it repaired too.
     */
    private readonly onError: (e: unknown) => void = () => {},
  ) {}

  private fill(): void {
    try {
      this.fillBuffer();
    } catch (e) {
      this.onError(e);
      throw e;
    }
  }

  private fillBuffer(): void {
    this.buf = [];
    this.pos = 0;
    let bytes = 0;
    while (this.buf.length < BATCH_ENTRIES && bytes < BATCH_BYTES && this.returned + this.buf.length < this.limit) {
      const e = this.it.next();
      if (!e) {
        this.done = true;
        break;
      }
      this.buf.push(e);
      bytes += e[0].length + e[1].length;
    }
    if (this.returned + this.buf.length >= this.limit) this.done = true;
  }

  /** The next entry, or undefined at the end. */
  async next(): Promise<[Uint8Array, Uint8Array] | undefined> {
    if (this.closed) throw new Eau2Error(ErrorCode.NOT_OPEN, 'iterator is closed');
    if (this.pos >= this.buf.length) {
      if (this.done) return undefined;
      if (this.refills++ > 0) await new Promise((r) => setImmediate(r));
      if (this.closed) throw new Eau2Error(ErrorCode.NOT_OPEN, 'iterator is closed');
      this.fill();
      if (this.buf.length === 0) return undefined;
    }
    this.returned++;
    return this.buf[this.pos++];
  }

  /** Up to `n` entries at once. */
  async nextv(n: number): Promise<Array<[Uint8Array, Uint8Array]>> {
    const out: Array<[Uint8Array, Uint8Array]> = [];
    while (out.length < n) {
      const e = await this.next();
      if (!e) break;
      out.push(e);
    }
    return out;
  }

  /** Repositions at the first key >= target (<= target when reverse), within the range. */
  seek(target: KeyLike): void {
    if (this.closed) throw new Eau2Error(ErrorCode.NOT_OPEN, 'iterator is closed');
    try {
      this.it.seek(toKey(target));
    } catch (e) {
      this.onError(e);
      throw e;
    }
    this.buf = [];
    this.pos = 0;
    this.done = this.returned >= this.limit;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.buf = [];
    this.onClose();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<[Uint8Array, Uint8Array]> {
    try {
      for (;;) {
        const e = await this.next();
        if (!e) return;
        yield e;
      }
    } finally {
      await this.close();
    }
  }
}
