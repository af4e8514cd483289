// The engine core: recovery, the write path (WAL + memtable, group commit), reads, iterators and
// snapshots. Flushes and compactions live in background.ts; this file owns the state they share.
// The public, argument-checking facade is engine.ts.

import { Eau2Error, ErrorCode, corruption } from '../util/errors.js';
import { compareBytes } from '../util/bytes.js';
import { joinPath } from '../vfs/vfs.js';
import { Kind } from '../format/internal-key.js';
import type { InternalIterator } from '../format/iterator.js';
import { decodeBatch, encodeBatchInto, encodedBatchSize, forEachEncoded, type Op } from '../batch/write-batch.js';
import { Memtable, type MemGetResult } from '../memtable/memtable.js';
import { LogWriter } from '../wal/log-writer.js';
import { readLog } from '../wal/log-reader.js';
import { BlockCache } from '../table/block-cache.js';
import { VersionSet } from '../version/version-set.js';
import { VersionEdit } from '../version/version-edit.js';
import type { Version } from '../version/version.js';
import { MergingIterator } from '../iter/merging-iterator.js';
import { LevelIterator } from '../iter/level-iterator.js';
import { DbIterator, type Bounds } from '../iter/db-iterator.js';
import { TableCache, logName } from './table-cache.js';
import { resolveOptions, type EngineOptions, type ResolvedOptions } from './options.js';
import { Background } from './background.js';
import { Counters } from './counters.js';

interface Writer {
  ops: Op[];
  sync: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Longest stretch the engine completes operations without letting the event loop turn. */
const YIELD_MS = 2;

/** File names an eau2 directory may hold; anything else means the directory is not ours. */
const OUR_FILES = /^(LOCK|CURRENT|CURRENT\.tmp|MANIFEST-\d+|\d+\.log|\d+\.sst)$/;

export class DbImpl {
  readonly opts: ResolvedOptions;
  readonly versions: VersionSet;
  readonly blockCache: BlockCache;
  readonly tables: TableCache;
  readonly counters = new Counters();
  readonly bg: Background;
  mem!: Memtable;
  /** Immutable memtables waiting for their flush, oldest first. */
  imms: Memtable[] = [];
  private log!: LogWriter;
  private writers: Writer[] = [];
  private commitScheduled = false;
  private committing = false;
  /** seq -> number of open snapshots (explicit and iterators') at that sequence. */
  private readonly snapshots = new Map<number, number>();
  private lock: { release(): Promise<void> } | undefined;
  closed = false;
  /** A failed WAL write or background job: the database refuses writes from then on. */
  bgError: Error | undefined;

  private constructor(
    readonly dir: string,
    opts: EngineOptions,
  ) {
    this.opts = resolveOptions(opts);
    this.blockCache = new BlockCache(this.opts.blockCacheBytes);
    this.versions = new VersionSet(this.opts.vfs, dir, {
      level1Bytes: this.opts.level1Bytes,
      levelMultiplier: this.opts.levelMultiplier,
      targetFileSize: this.opts.targetFileSize,
      maxManifestBytes: 4 * 1024 * 1024,
    });
    this.tables = new TableCache(this.opts.vfs, dir, this.blockCache);
    this.bg = new Background(this);
  }

  static async open(dir: string, opts: EngineOptions = {}): Promise<DbImpl> {
    const db = new DbImpl(dir, opts);
    await db.recover();
    return db;
  }

  // ---------------------------------------------------------------- recovery

  private async recover(): Promise<void> {
    const vfs = this.opts.vfs;
    const entries = await vfs.readdir(this.dir);
    const exists = entries.includes('CURRENT');
    if (!exists) {
      const foreign = entries.filter((n) => !OUR_FILES.test(n));
      if (foreign.length > 0) {
        throw new Eau2Error(
          ErrorCode.INVALID,
          `${this.dir} is not an eau2 database (it holds ${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''})`,
          { details: { dir: this.dir } },
        );
      }
      if (!this.opts.createIfMissing) {
        throw new Eau2Error(ErrorCode.NOT_FOUND, `${this.dir} does not exist (createIfMissing is false)`);
      }
      await vfs.mkdirp(this.dir);
    } else if (this.opts.errorIfExists) {
      throw new Eau2Error(ErrorCode.INVALID, `${this.dir} already exists (errorIfExists is set)`);
    }
    this.lock = await vfs.lock(joinPath(this.dir, 'LOCK'));
    try {
      await this.versions.recover();
      for (const level of this.versions.current.files) for (const f of level) await this.tables.open(f.number);
      const edit = new VersionEdit();
      await this.replayLogs(entries, edit);
      const logNumber = this.versions.newFileNumber();
      this.log = new LogWriter(await vfs.openWritable(joinPath(this.dir, logName(logNumber))));
      this.mem = new Memtable(logNumber);
      edit.logNumber = logNumber;
      await this.versions.logAndApply(edit);
      await vfs.syncDir(this.dir);
      await this.bg.deleteObsoleteFiles();
      this.bg.maybeSchedule();
    } catch (e) {
      await this.tables.closeAll().catch(() => undefined);
      await this.versions.close().catch(() => undefined);
      await this.lock.release();
      throw e;
    }
  }

  /** Replays WAL files not yet covered by tables; their contents become level-0 tables. */
  private async replayLogs(entries: string[], edit: VersionEdit): Promise<void> {
    for (const name of entries) {
      const m = /^(\d+)\.(log|sst)$/.exec(name);
      if (m) this.versions.markFileNumberUsed(Number(m[1]));
    }
    const logs = entries
      .map((n) => /^(\d+)\.log$/.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .filter((n) => n >= this.versions.logNumber)
      .sort((a, b) => a - b);
    let maxSeq = this.versions.lastSequence;
    // The sequence the history continues with: every write group takes the next sequences, so a
    // record starting past it means an earlier log lost its unsynced tail in a power cut while a
    // later log's records survived. Nothing from there on was acknowledged as synced (a synced
    // write waits for every earlier log's sync), and keeping it would leave a hole: stop there.
    // A log followed by another one was retired by a memtable switch, and a switch happens only
    // with entries in the memtable: such a log that replays no record lost all of it (it was never
    // synced), so it is a gap too, before any record tells which sequence to expect.
    let expected = -1;
    let gap = false;
    for (const [li, num] of logs.entries()) {
      if (gap) break;
      const path = joinPath(this.dir, logName(num));
      const { records } = await readLog(this.opts.vfs, path);
      let mem = new Memtable(num);
      let replayed = 0;
      for (const rec of records) {
        const batch = decodeBatch(rec.payload);
        if (typeof batch === 'string') throw corruption(path, rec.offset, batch);
        if (expected >= 0 && batch.firstSeq !== expected) {
          if (batch.firstSeq < expected) throw corruption(path, rec.offset, `batch sequence ${batch.firstSeq} repeats (expected ${expected})`);
          gap = true;
          this.counters.walGapsRecovered++;
          break;
        }
        expected = batch.firstSeq + batch.ops.length;
        replayed += rec.payload.length;
        batch.ops.forEach((op, i) => mem.add(batch.firstSeq + i, op.kind, op.key, op.value));
        maxSeq = Math.max(maxSeq, batch.firstSeq + batch.ops.length - 1);
        if (mem.approximateBytes() >= this.opts.memtableBytes) {
          const meta = await this.bg.writeLevel0Table(mem, true);
          if (meta) edit.addFile(0, meta);
          mem = new Memtable(num);
        }
      }
      if (mem.count() > 0) {
        const meta = await this.bg.writeLevel0Table(mem, true);
        if (meta) edit.addFile(0, meta);
      }
      this.counters.walBytesRecovered += replayed;
      if (!gap && records.length === 0 && li < logs.length - 1) {
        gap = true;
        this.counters.walGapsRecovered++;
      }
    }
    this.versions.lastSequence = maxSeq;
  }

  // ---------------------------------------------------------------- writes

  write(ops: Op[], sync: boolean): Promise<void> {
    if (this.closed) return Promise.reject(notOpen());
    if (this.bgError) return Promise.reject(this.bgError);
    return new Promise((resolve, reject) => {
      this.writers.push({ ops, sync, resolve, reject });
      if (!this.commitScheduled && !this.committing) {
        this.commitScheduled = true;
        // Writers issued in the same turn of the event loop join one group: one WAL write and at
        // most one fdatasync for all of them.
        queueMicrotask(() => void this.commitLoop());
      }
    });
  }

  /**
   * Writes and cached reads complete in microtasks, so a caller awaiting them in a loop would never
   * let the event loop turn: timers, socket reads and the background flush's own I/O would starve.
   * Every YIELD_MS the engine answers through setImmediate instead, so the loop turns at least that
   * often (measured: event-loop lag p99 from ~500 ms to ~2 ms during fillrandom).
   */
  maybeYield(): Promise<void> | undefined {
    // Until the loop has turned, every caller waits on the same turn: with many operations in
    // flight, parking only the one that noticed would let the others chain microtasks on (measured:
    // 64 concurrent get loops held the event loop for ~150 ms).
    if (this.pendingYield) return this.pendingYield;
    if (performance.now() - this.lastYield < YIELD_MS) return undefined;
    this.pendingYield = new Promise((r) =>
      setImmediate(() => {
        this.pendingYield = undefined;
        this.lastYield = performance.now();
        r();
      }),
    );
    return this.pendingYield;
  }
  private lastYield = 0;
  private pendingYield: Promise<void> | undefined;

  private async commitLoop(): Promise<void> {
    this.commitScheduled = false;
    if (this.committing) return;
    this.committing = true;
    try {
      while (this.writers.length > 0) {
        const y = this.maybeYield();
        if (y) await y;
        if (this.bgError) throw this.bgError;
        if (this.needsRoom()) await this.makeRoomForWrite();
        const group = this.writers;
        this.writers = [];
        await this.commitGroup(group);
      }
    } catch (e) {
      const err = e as Error;
      if (!this.bgError) this.bgError = err;
      for (const w of this.writers) w.reject(err);
      this.writers = [];
    } finally {
      this.committing = false;
    }
  }

  private async commitGroup(group: Writer[]): Promise<void> {
    let seq = this.versions.lastSequence + 1;
    let sync = false;
    // Each batch is encoded once, into the memtable's arena: the WAL copies it from there and the
    // memtable's entries point into it. (The memtable cannot switch until this group is applied:
    // switchMemtable waits for a group awaiting its sync.)
    const mem = this.mem;
    const starts: number[] = [];
    const bufs: Uint8Array[] = [];
    const logStart = this.log.offset();
    for (const w of group) {
      const size = encodedBatchSize(w.ops);
      mem.reserve(size);
      const buf = mem.arenaBuffer;
      const start = mem.arenaOffset;
      encodeBatchInto(buf, start, seq, w.ops);
      this.log.addRecord(buf.subarray(start, start + size));
      bufs.push(buf);
      starts.push(start);
      seq += w.ops.length;
      if (w.sync) sync = true;
    }
    try {
      this.log.flushSync();
      this.counters.walBytes += this.log.offset() - logStart;
      if (sync) {
        const synced = this.syncGroup();
        this.groupSyncing = synced.catch(() => undefined);
        try {
          await synced;
        } finally {
          this.groupSyncing = null;
        }
      }
    } catch (e) {
      // What reached the log is unknown: refuse further writes rather than risk a hole.
      this.bgError = e as Error;
      for (const w of group) w.reject(e);
      throw e;
    }
    for (let i = 0; i < bufs.length; i++) forEachEncoded(bufs[i]!, this.applyEntry, starts[i]!);
    this.versions.lastSequence = seq - 1;
    this.counters.writes += group.length;
    this.counters.writeGroups++;
    for (const w of group) w.resolve();
  }

  private async syncGroup(): Promise<void> {
    await this.log.sync();
    this.counters.walSyncs++;
    // Earlier logs must be durable too before a synced write is acknowledged (no holes).
    await this.retiredLogsSynced;
    if (this.bgError) throw this.bgError;
  }

  /**
   * A group written to the log and waiting for its sync before it is applied to the memtable. A
   * switch must not happen meanwhile: the group's entries would land in the new memtable while its
   * records sit in the old log, which the old memtable's flush makes obsolete.
   */
  private groupSyncing: Promise<void> | null = null;

  private readonly applyEntry = (seq: number, kind: number, buf: Uint8Array, ko: number, kl: number, vo: number, vl: number): void => {
    this.mem.addAt(seq, kind, buf, ko, kl, vo, vl);
    this.counters.userBytes += kl + vl;
  };

  private needsRoom(): boolean {
    return (
      this.mem.approximateBytes() >= this.opts.memtableBytes ||
      this.versions.current.numFiles(0) >= this.opts.l0SlowdownTrigger
    );
  }

  private async makeRoomForWrite(): Promise<void> {
    let delayed = false;
    for (;;) {
      if (this.bgError) throw this.bgError;
      const l0 = this.versions.current.numFiles(0);
      if (!delayed && l0 >= this.opts.l0SlowdownTrigger) {
        // Level 0 is backing up: give compaction a millisecond per write group rather than
        // letting writers run into the hard stop.
        const t = performance.now();
        await new Promise((r) => setTimeout(r, 1));
        this.counters.stallMs += performance.now() - t;
        this.counters.slowdowns++;
        delayed = true;
      } else if (this.mem.approximateBytes() < this.opts.memtableBytes) {
        return;
      } else if (this.imms.length >= this.opts.maxImmutableMemtables || l0 >= this.opts.l0StopTrigger) {
        const t = performance.now();
        this.counters.stops++;
        await this.bg.waitForProgress();
        this.counters.stallMs += performance.now() - t;
      } else {
        await this.switchMemtable();
      }
    }
  }

  /**
   * Makes the memtable immutable, starts a new WAL for the next one, and schedules the flush.
   *
   * The old log's unsynced tail is fdatasynced in the background: writers go on in the new log
   * meanwhile (waiting for that sync held every writer for tens of milliseconds per switch). Two
   * rules keep the history free of holes: a synced write in a later log is acknowledged only once
   * every earlier log is synced (commitGroup waits on retiredLogsSynced), and recovery stops at the
   * first gap in the sequence numbers across logs (a later log's records survived a power cut, an
   * earlier log's unsynced tail did not): what follows a gap was never acknowledged as synced.
   */
  async switchMemtable(): Promise<void> {
    const num = this.versions.newFileNumber();
    const file = await this.opts.vfs.openWritable(joinPath(this.dir, logName(num)));
    // compactRange switches from outside the commit loop; the swap below is synchronous.
    while (this.groupSyncing) await this.groupSyncing;
    const oldLog = this.log;
    const oldNumber = this.mem.logNumber;
    this.imms.push(this.mem);
    this.mem = new Memtable(num);
    this.log = new LogWriter(file);
    this.retiringLogs.add(oldNumber);
    const earlier = this.retiredLogsSynced;
    this.retiredLogsSynced = (async () => {
      try {
        // The new log's directory entry must be durable before a synced write in it is acknowledged.
        await Promise.all([
          oldLog.sync().then(() => void this.counters.walSyncs++),
          this.opts.vfs.syncDir(this.dir),
        ]);
        await oldLog.close();
      } catch (e) {
        // What of the old log is durable is unknown: refuse writes (a later sync would imply it).
        if (!this.bgError) this.bgError = e as Error;
        await oldLog.close().catch(() => undefined);
      }
      await earlier;
      this.retiringLogs.delete(oldNumber);
    })();
    this.bg.maybeSchedule();
  }

  /** Settles (never rejects; failures land in bgError) when every retired log is synced and closed. */
  private retiredLogsSynced: Promise<void> = Promise.resolve();
  /** Numbers of retired logs whose background sync is still running: not obsolete yet. */
  readonly retiringLogs = new Set<number>();

  // ---------------------------------------------------------------- reads

  /** The newest visible version of `key` at `seq`, from memtables then tables. */
  private lookup(key: Uint8Array, seq: number): MemGetResult | undefined {
    let r = this.mem.get(key, seq);
    if (r) return r;
    for (let i = this.imms.length - 1; i >= 0; i--) {
      r = this.imms[i]!.get(key, seq);
      if (r) return r;
    }
    return this.lookupVersion(this.versions.current, key, seq);
  }

  private lookupVersion(v: Version, key: Uint8Array, seq: number): MemGetResult | undefined {
    const l0 = v.files[0]!;
    for (let i = l0.length - 1; i >= 0; i--) {
      const f = l0[i]!;
      if (compareOutside(key, f.smallestUser, f.largestUser)) continue;
      const r = this.tables.get(f.number).get(key, seq);
      if (r) return r;
    }
    for (let level = 1; level < v.files.length; level++) {
      const files = v.files[level]!;
      if (files.length === 0) continue;
      const idx = v.findFile(level, key);
      if (idx >= files.length) continue;
      const f = files[idx]!;
      if (compareOutside(key, f.smallestUser, f.largestUser)) continue;
      const r = this.tables.get(f.number).get(key, seq);
      if (r) return r;
    }
    return undefined;
  }

  getSync(key: Uint8Array, snapshotSeq?: number): Uint8Array | undefined {
    if (this.closed) throw notOpen();
    const r = this.lookup(key, snapshotSeq ?? this.versions.lastSequence);
    this.counters.gets++;
    if (r === undefined || r.kind !== Kind.VALUE) return undefined;
    return r.value.slice();
  }

  // ---------------------------------------------------------------- snapshots and iterators

  acquireSnapshot(seq = this.versions.lastSequence): number {
    this.snapshots.set(seq, (this.snapshots.get(seq) ?? 0) + 1);
    return seq;
  }

  releaseSnapshot(seq: number): void {
    const n = this.snapshots.get(seq);
    if (n === undefined) return;
    if (n <= 1) this.snapshots.delete(seq);
    else this.snapshots.set(seq, n - 1);
  }

  /** The oldest sequence some reader may still need; compaction keeps what it can see. */
  smallestSnapshot(): number {
    let min = this.versions.lastSequence;
    for (const s of this.snapshots.keys()) if (s < min) min = s;
    return min;
  }

  snapshotCount(): number {
    let n = 0;
    for (const c of this.snapshots.values()) n += c;
    return n;
  }

  /**
   * A positioned-on-demand iterator over the state at `seq`. The caller must call the returned
   * release() when done: it unpins the Version whose files the iterator reads.
   */
  newIterator(seq: number, bounds: Bounds, reverse: boolean): { it: DbIterator; release: () => void } {
    if (this.closed) throw notOpen();
    const v = this.versions.current;
    v.ref();
    const children: InternalIterator[] = [this.mem.iterator()];
    for (let i = this.imms.length - 1; i >= 0; i--) children.push(this.imms[i]!.iterator());
    const l0 = v.files[0]!;
    for (let i = l0.length - 1; i >= 0; i--) children.push(this.tables.get(l0[i]!.number).iterator());
    for (let level = 1; level < v.files.length; level++) {
      const files = v.files[level]!;
      if (files.length > 0) children.push(new LevelIterator(files, (f) => this.tables.get(f.number).iterator()));
    }
    const it = new DbIterator(new MergingIterator(children), seq, bounds, reverse);
    let released = false;
    return {
      it,
      release: () => {
        if (released) return;
        released = true;
        it.close();
        this.versions.unref(v);
      },
    };
  }

  // ---------------------------------------------------------------- shutdown

  async close(): Promise<void> {
    if (this.closed) return;
    // Let queued writes finish first: they were accepted before close() was called.
    while (this.committing || this.writers.length > 0 || this.commitScheduled) {
      await new Promise((r) => setImmediate(r));
    }
    this.closed = true;
    await this.bg.stop();
    await this.retiredLogsSynced;
    try {
      if (!this.bgError) await this.log.sync();
    } finally {
      await this.log.close().catch(() => undefined);
      await this.tables.closeAll();
      await this.versions.close();
      await this.lock?.release();
    }
  }
}

function compareOutside(key: Uint8Array, lo: Uint8Array, hi: Uint8Array): boolean {
  return compareBytes(key, lo) < 0 || compareBytes(key, hi) > 0;
}

export function notOpen(): Eau2Error {
  return new Eau2Error(ErrorCode.NOT_OPEN, 'database is not open');
}
