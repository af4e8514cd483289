// The engine core: recovery, the write path (WAL + memtable, group commit), reads, iterators and
// snapshots. Flushes and compactions live in background.ts; this file owns the state they share.
// The public, argument-checking facade is engine.ts.

import { Eau2Error, ErrorCode, corruption } from '../../kv/index.js';
import { compareBytes, copyBytes } from '../../kv/index.js';
import { joinPath } from '../vfs/vfs.js';
import { Kind } from '../format/internal-key.js';
import type { InternalIterator } from '../format/iterator.js';
import { decodeBatch, encodeBatchInto, encodedBatchSize, forEachEncoded, type Op } from '../batch/write-batch.js';
import { Memtable, SlabPool, type MemGetResult } from '../memtable/memtable.js';
import { LogWriter } from '../wal/log-writer.js';
import { LogReader, type LogRecord } from '../wal/log-reader.js';
import { BlockCache } from '../table/block-cache.js';
import { bloomHash } from '../table/bloom.js';
import { VersionSet } from '../version/version-set.js';
import { VersionEdit } from '../version/version-edit.js';
import type { Version } from '../version/version.js';
import { MergingIterator } from '../iter/merging-iterator.js';
import { LevelIterator } from '../iter/level-iterator.js';
import { DbIterator, type Bounds } from '../iter/db-iterator.js';
import { TableCache, logName } from './table-cache.js';
import { isExpired, type ExpiryCheck } from '../format/value-expiry.js';
import { resolveOptions, type EngineOptions, type ResolvedOptions } from './options.js';
import { Background, type BackgroundHost } from './background.js';
import { Counters } from './counters.js';
import { ErrorHandler, isNoSpace } from './error-handler.js';
import { Scrubber } from './scrub.js';

/**
 * The writes waiting for the next commit. They are one group commit (one log write, at most one
 * fdatasync) and succeed or fail together, so they share one promise: a promise, its resolving
 * functions and a writer record per write were garbage the scavenger paid for with c=64 writers.
 */
class Group {
  /** One write batch (one WAL record) per write, in arrival order: the first, then any others. */
  first: Op[] | null = null;
  rest: Op[][] | null = null;
  count = 0;
  sync = false;
  /** Key and value bytes of its writes, and what it may hold (groupLimit of the first write). */
  bytes = 0;
  limit = 0;
  /** The group queued after this one. */
  next: Group | null = null;
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (e: unknown) => void;
  constructor() {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

const RESOLVED = Promise.resolve();
const EMPTY_BUF = new Uint8Array(0);

/**
 * A group commit's size bound, LevelDB's (DBImpl::BuildBatchGroup): 1 MiB, or a small first write's
 * size plus 128 KiB so that small writes are not slowed by a large one joining them. A write that
 * would take a group past it starts the next group. The memtable is switched between groups, so
 * it ends at most one group past memtableBytes: unbounded, 8 concurrent dataframe row-chunks of
 * ~0.9 MB each formed one ~7 MB group and a 4 MiB memtable ended at ~7.2 MiB (3 memtables alive:
 * 21.4 MiB where 12 MiB was configured).
 */
const MAX_GROUP_BYTES = 1 << 20;
const SMALL_WRITE_BYTES = 128 * 1024;

function groupLimit(firstBytes: number): number {
  return firstBytes <= SMALL_WRITE_BYTES ? firstBytes + SMALL_WRITE_BYTES : MAX_GROUP_BYTES;
}

function opsBytes(ops: Op[]): number {
  let n = 0;
  for (let i = 0; i < ops.length; i++) n += ops[i]!.key.length + ops[i]!.value.length;
  return n;
}

/**
 * The WAL's encoding buffer is written out when a group commit would take it past this (log-writer.ts,
 * "Memory"): the buffer stays under 1 MiB and is reused, and groups of small writes are not affected.
 */
const WAL_SPILL_BYTES = 512 * 1024;

/** Longest stretch the engine completes operations without letting the event loop turn. */
const YIELD_MS = 2;

/** File names an eau2 directory may hold; anything else means the directory is not ours. */
const OUR_FILES = /^(LOCK|CURRENT|CURRENT\.tmp|MANIFEST-\d+|\d+\.log|\d+\.sst)$/;

export class DbImpl implements BackgroundHost {
  readonly opts: ResolvedOptions;
  readonly versions: VersionSet;
  readonly blockCache: BlockCache;
  readonly tables: TableCache;
  readonly counters = new Counters();
  readonly bg: Background;
  mem!: Memtable;
  /** Immutable memtables waiting for their flush, oldest first. */
  imms: Memtable[] = [];
  /**
   * Arena slabs of memtables no longer in use, for the next ones (memtable.ts), so writes are copied
   * into memory already paged in. One released memtable's slabs: memtableBytes, the group that took
   * it past that (up to 1 MiB) and the rounding of large records' buffers (up to 1/8).
   */
  readonly slabPool: SlabPool;
  private log!: LogWriter;
  /** Writes accepted and not yet committed, as groups linked oldest first; null when there are none. */
  private queued: Group | null = null;
  /** The newest queued group, the one new writes join (if they fit). */
  private queuedTail: Group | null = null;
  private commitScheduled = false;
  private committing = false;
  /** seq -> number of open snapshots (explicit and iterators') at that sequence. */
  private readonly snapshots = new Map<number, number>();
  private lock: { release(): Promise<void> } | undefined;
  closed = false;
  /**
   * A failed WAL write or background job: the database refuses writes while it is set. A full disk
   * clears it once a background retry succeeds (error-handler.ts); anything else until a restart.
   */
  bgError: Error | undefined;
  readonly errors = new ErrorHandler(this);
  readonly scrub = new Scrubber(this);
  /** The WAL was cut back after a failed append: the cut must be synced before writes resume. */
  private logCutUnsynced = false;

  activeMemtable(): Memtable {
    return this.mem;
  }

  immutableMemtables(): readonly Memtable[] {
    return this.imms;
  }

  /** The flushed memtable leaves; its slabs go back to the pool once no iterator holds it. */
  dropFlushedMemtable(): void {
    this.imms.shift()?.unref();
  }

  backgroundError(): Error | undefined {
    return this.bgError;
  }

  /** A flush or compaction failed (each counted); a full disk is recovered from (error-handler.ts). */
  setBackgroundError(e: Error): void {
    this.counters.backgroundErrors++;
    this.errors.onError(e, isNoSpace(e));
  }

  private constructor(
    readonly dir: string,
    opts: EngineOptions,
  ) {
    this.opts = resolveOptions(opts);
    this.slabPool = new SlabPool(Math.ceil(this.opts.memtableBytes * 1.25) + 1024 * 1024);
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
      this.log = new LogWriter(
        await vfs.openWritable(joinPath(this.dir, logName(logNumber))),
        0,
        undefined,
        WAL_SPILL_BYTES,
      );
      this.mem = new Memtable(logNumber, this.opts.memtableBytes, this.slabPool);
      edit.logNumber = logNumber;
      await this.versions.logAndApply(edit);
      await vfs.syncDir(this.dir);
      await this.bg.deleteObsoleteFiles();
      this.bg.maybeSchedule();
      this.scrub.start();
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
      const { records, damage } = await this.readWal(path);
      let mem = new Memtable(num, this.opts.memtableBytes, this.slabPool);
      let replayed = 0;
      for (const rec of records) {
        const batch = decodeBatch(rec.payload);
        if (typeof batch === 'string') throw corruption(path, rec.offset, batch);
        if (expected >= 0 && batch.firstSeq !== expected) {
          if (batch.firstSeq < expected)
            throw corruption(path, rec.offset, `batch sequence ${batch.firstSeq} repeats (expected ${expected})`);
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
          mem.unref();
          mem = new Memtable(num, this.opts.memtableBytes, this.slabPool);
        }
      }
      if (mem.count() > 0) {
        const meta = await this.bg.writeLevel0Table(mem, true);
        if (meta) edit.addFile(0, meta);
      }
      mem.unref();
      this.counters.walBytesRecovered += replayed;
      if (damage) {
        // walRecovery 'pointInTime': what follows the damage, here and in later logs, is dropped.
        gap = true;
        this.counters.walDamageDropped++;
        this.walDamage = damage.message;
      } else if (!gap && records.length === 0 && li < logs.length - 1) {
        gap = true;
        this.counters.walGapsRecovered++;
      }
    }
    this.versions.lastSequence = maxSeq;
  }

  /** The damage a 'pointInTime' recovery dropped a WAL's tail at (its CORRUPTION message). */
  walDamage: string | undefined;

  /**
   * A log's records. Damage in its middle (log-reader.ts: no crash produces it) is CORRUPTION, with
   * how to start anyway; with walRecovery 'pointInTime' the records before it are returned with it.
   */
  private async readWal(path: string): Promise<{ records: LogRecord[]; damage?: Eau2Error }> {
    const pointInTime = this.opts.walRecovery === 'pointInTime';
    const records: LogRecord[] = [];
    const file = await this.opts.vfs.openRandom(path);
    try {
      for await (const r of new LogReader(file, { path }).records()) records.push(r);
    } catch (e) {
      if (!(e instanceof Eau2Error) || e.code !== ErrorCode.CORRUPTION) throw e;
      if (pointInTime) return { records, damage: e };
      throw new Eau2Error(
        ErrorCode.CORRUPTION,
        `${e.message}. The write-ahead log is damaged in its middle, which no crash produces (a bad disk, a stray write). To open anyway, keeping the writes before the damage and dropping the rest: walRecovery 'pointInTime' (eau2 node --drop-damaged-wal-tail, which then resyncs the lost writes from the replicas)`,
        { cause: e, details: e.details },
      );
    } finally {
      await file.close();
    }
    return { records };
  }

  // ---------------------------------------------------------------- writes

  write(ops: Op[], sync: boolean): Promise<void> {
    if (this.closed) return Promise.reject(notOpen());
    if (this.bgError) return Promise.reject(this.errors.refusal());
    const bytes = opsBytes(ops);
    let g = this.queuedTail;
    if (g === null || g.bytes + bytes > g.limit) {
      const prev = g;
      g = this.queuedTail = new Group();
      g.limit = groupLimit(bytes);
      if (prev === null) this.queued = g;
      else prev.next = g;
      if (!this.commitScheduled && !this.committing) {
        this.commitScheduled = true;
        // Writers issued in the same turn of the event loop join one group (up to its size bound,
        // groupLimit): one WAL write and at most one fdatasync for all of them. (Not queueMicrotask: node wraps each callback in an
        // AsyncResource, an allocation per write in awaited loops.)
        void RESOLVED.then(this.runCommits);
      }
    }
    // Most groups hold one write (every awaited writer's does): no array for the batches then.
    if (g.first === null) g.first = ops;
    else (g.rest ??= []).push(ops);
    g.count++;
    g.bytes += bytes;
    if (sync) g.sync = true;
    return g.done;
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

  private readonly runCommits = (): void => {
    this.commitScheduled = false;
    if (this.committing) return;
    this.committing = true;
    this.continueCommits(false);
  };
  private readonly resumeCommits = (): void => this.continueCommits(false);
  private readonly resumeAfterRoom = (): void => this.continueCommits(true);

  /**
   * Commits queued groups until none is left or one has to wait (the event loop's turn, room in
   * the memtable, an fdatasync); the wait resumes here. Synchronous otherwise: an async loop and
   * an async commit per group cost two promises and their microtask hops per awaited write.
   * `roomMade`: makeRoomForWrite just finished for the queued group, which goes now (level 0 may
   * still be over the slowdown trigger: one delay per group, not one per check).
   */
  private continueCommits(roomMade: boolean): void {
    try {
      while (this.queued !== null) {
        if (!roomMade) {
          const y = this.maybeYield();
          if (y) return void y.then(this.resumeCommits);
          if (this.bgError) throw this.bgError;
          if (this.needsRoom()) return void this.makeRoomForWrite().then(this.resumeAfterRoom, this.failCommits);
        }
        roomMade = false;
        const group = this.queued;
        this.queued = group.next;
        if (this.queued === null) this.queuedTail = null;
        const synced = this.commitGroup(group);
        if (synced) return void synced.then(this.resumeCommits, this.failCommits);
      }
      this.committing = false;
    } catch (e) {
      this.failCommits(e);
    }
  }

  /**
   * A commit failed: the database refuses writes (error-handler.ts), and the queued ones, none of
   * them written, fail with it. Failures that reach here other than through commitGroup (opening a
   * new log, a refusal rethrown) left nothing behind.
   */
  private readonly failCommits = (e: unknown): void => {
    this.errors.onError(e, isNoSpace(e));
    const err = this.errors.refusal() ?? (e as Error);
    let g = this.queued;
    this.queued = null;
    this.queuedTail = null;
    for (; g !== null; g = g.next) g.reject(err);
    this.committing = false;
  };

  /** Where each batch of the group being committed was encoded (reused: one group at a time). */
  private readonly groupBufs: Uint8Array[] = [];
  private readonly groupStarts: number[] = [];

  /**
   * Writes the group's records to the log and applies them to the memtable. Returns a promise if
   * the group waits for an fdatasync first (it is applied when that settles), else undefined.
   * A failed log write or sync rejects the group and is thrown / rejected.
   */
  private commitGroup(group: Group): Promise<void> | undefined {
    let seq = this.versions.lastSequence + 1;
    // Each batch is encoded once, into the memtable's arena: the WAL copies it from there and the
    // memtable's entries point into it. (The memtable cannot switch until this group is applied:
    // switchMemtable waits for a group awaiting its sync.)
    const mem = this.mem;
    const bufs = this.groupBufs;
    const starts = this.groupStarts;
    const logStart = this.log.offset();
    try {
      for (let b = 0; b < group.count; b++) {
        const ops = b === 0 ? group.first! : group.rest![b - 1]!;
        const size = encodedBatchSize(ops);
        mem.reserve(size);
        const buf = mem.arenaBuffer;
        const start = mem.arenaOffset;
        encodeBatchInto(buf, start, seq, ops);
        this.log.addRecord(buf, start, start + size);
        // Indexed stores into arrays kept across groups (length = 0 would free their storage).
        bufs[b] = buf;
        starts[b] = start;
        seq += ops.length;
      }
      this.log.flushSync();
      this.counters.walBytes += this.log.offset() - logStart;
    } catch (e) {
      // What reached the log is unknown (a write may have stopped part way): cut it back to where
      // the group began, else refuse further writes rather than risk a hole or a half record.
      this.groupFailed(group, e, this.rewindLog(logStart, e));
      throw e;
    }
    if (!group.sync) {
      this.applyGroup(group, seq);
      return undefined;
    }
    const done = this.syncGroup().then(
      () => {
        this.groupSyncing = null;
        this.applyGroup(group, seq);
      },
      (e: unknown) => {
        this.groupSyncing = null;
        // The group's records are in the log, maybe even durable, and it is refused: take them out.
        this.groupFailed(group, e, this.rewindLog(logStart, e));
        throw e;
      },
    );
    this.groupSyncing = done.catch(() => undefined);
    return done;
  }

  private groupFailed(group: Group, e: unknown, rewound: boolean): void {
    this.errors.onError(e, rewound);
    group.reject(this.errors.refusal() ?? e);
  }

  /**
   * After a full disk failed a group's append or sync: cuts the log back to `to`, where the group
   * began, so no part of a refused write can be replayed and the log goes on without a torn record in
   * its middle. False (the failure is final) for other errors or if the cut fails.
   */
  private rewindLog(to: number, e: unknown): boolean {
    const file = this.log.file;
    if (!isNoSpace(e) || !file.truncateSync) return false;
    try {
      file.truncateSync(to);
    } catch {
      return false;
    }
    this.log = new LogWriter(file, to, undefined, WAL_SPILL_BYTES);
    this.logCutUnsynced = true;
    return true;
  }

  /** Free bytes on the database's filesystem, or undefined if the Vfs cannot tell. */
  async freeBytes(): Promise<number | undefined> {
    return this.opts.vfs.freeBytes ? this.opts.vfs.freeBytes(this.dir) : undefined;
  }

  /**
   * ErrorHandler's retry: syncs a cut WAL (until then a power cut could bring the refused records
   * back), then lets the background run again and waits for the memtables a failure held up to be
   * flushed. Failures go back through onError.
   */
  async resume(): Promise<void> {
    if (this.logCutUnsynced) {
      try {
        await this.log.sync();
      } catch (e) {
        // The sync failed after the cut: cut nothing more, the same retry comes again.
        if (!isNoSpace(e)) this.errors.onError(e, false);
        throw e;
      }
      this.logCutUnsynced = false;
    }
    this.bgError = undefined;
    this.bg.maybeSchedule();
    while (this.imms.length > 0 && !this.bgError && !this.closed) await this.bg.waitForProgress();
  }

  onRecovered(): void {
    this.counters.autoRecoveries++;
    this.bg.maybeSchedule();
  }

  /** Applies the group encoded at groupBufs/groupStarts, whose sequences end before `nextSeq`. */
  private applyGroup(group: Group, nextSeq: number): void {
    const bufs = this.groupBufs;
    const starts = this.groupStarts;
    for (let i = 0; i < group.count; i++) {
      forEachEncoded(bufs[i]!, this.applyEntry, starts[i]!);
      bufs[i] = EMPTY_BUF; // no slab of a flushed memtable kept alive from here
    }
    this.versions.lastSequence = nextSeq - 1;
    this.counters.writes += group.count;
    this.counters.writeGroups++;
    // The first memtable half full: a flush is coming, so its worker starts now rather than when
    // the flush is due (a dataframe import into a fresh engine otherwise waited for it, 0.4-0.6 s
    // under tsx on a loaded machine, with both immutable memtables full). Engines that never fill a
    // memtable, a CLI put or get, start no thread.
    if (!this.workerWarmed && this.mem.approximateBytes() >= this.opts.memtableBytes >>> 1) {
      this.workerWarmed = true;
      this.bg.warmWorker();
    }
    group.resolve();
  }
  private workerWarmed = false;

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

  private readonly applyEntry = (
    seq: number,
    kind: number,
    buf: Uint8Array,
    ko: number,
    kl: number,
    vo: number,
    vl: number,
  ): void => {
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
    this.mem = new Memtable(num, this.opts.memtableBytes, this.slabPool);
    this.log = new LogWriter(file, 0, undefined, WAL_SPILL_BYTES);
    this.retiringLogs.add(oldNumber);
    const earlier = this.retiredLogsSynced;
    this.retiredLogsSynced = (async () => {
      try {
        // The new log's directory entry must be durable before a synced write in it is acknowledged.
        await Promise.all([oldLog.sync().then(() => void this.counters.walSyncs++), this.opts.vfs.syncDir(this.dir)]);
        await oldLog.close();
      } catch (e) {
        // What of the old log is durable is unknown: refuse writes (a later sync would imply it)
        // until the memtable it holds is flushed (a full disk: ErrorHandler's retry does that).
        this.errors.onError(e, true);
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
  private lookup(key: Uint8Array, seq: number, fillCache: boolean): MemGetResult | undefined {
    const hash = bloomHash(key); // once for the memtables' key filters and every table's bloom filter
    let r = this.mem.get(key, seq, hash);
    if (r) return r;
    for (let i = this.imms.length - 1; i >= 0; i--) {
      r = this.imms[i]!.get(key, seq, hash);
      if (r) return r;
    }
    return this.lookupVersion(this.versions.current, key, seq, hash, fillCache);
  }

  private lookupVersion(
    v: Version,
    key: Uint8Array,
    seq: number,
    hash: number,
    fillCache: boolean,
  ): MemGetResult | undefined {
    const l0 = v.files[0]!;
    for (let i = l0.length - 1; i >= 0; i--) {
      const f = l0[i]!;
      if (compareOutside(key, f.smallestUser, f.largestUser)) continue;
      const r = this.tables.get(f.number).get(key, seq, hash, fillCache);
      if (r) return r;
    }
    for (let level = 1; level < v.files.length; level++) {
      const files = v.files[level]!;
      if (files.length === 0) continue;
      const idx = v.findFile(level, key);
      if (idx >= files.length) continue;
      const f = files[idx]!;
      if (compareOutside(key, f.smallestUser, f.largestUser)) continue;
      const r = this.tables.get(f.number).get(key, seq, hash, fillCache);
      if (r) return r;
    }
    return undefined;
  }

  getSync(key: Uint8Array, snapshotSeq?: number, fillCache = true): Uint8Array | undefined {
    const v = this.getView(key, snapshotSeq, fillCache);
    // A copy, not a view: a table's value lives in memory the block cache recycles (slot-arena.ts),
    // and a view of a memtable's arena would keep the whole arena alive.
    return v === undefined ? undefined : copyBytes(v);
  }

  /**
   * The value as a view of a cached block or a memtable's arena: valid only until the engine next
   * runs (a later read may recycle the block), so callers use it at once (Engine.getWith).
   * `fillCache` false: blocks not cached are read into memory the next read reuses, not cached.
   */
  getView(key: Uint8Array, snapshotSeq?: number, fillCache = true): Uint8Array | undefined {
    return this.getEntryView(key, snapshotSeq, fillCache)?.value;
  }

  /** getView with the sequence number of the write that stored the value. */
  getEntryView(
    key: Uint8Array,
    snapshotSeq?: number,
    fillCache = true,
  ): { value: Uint8Array; seq: number } | undefined {
    if (this.closed) throw notOpen();
    let r: MemGetResult | undefined;
    try {
      r = this.lookup(key, snapshotSeq ?? this.versions.lastSequence, fillCache);
    } catch (e) {
      this.noteCorruption(e);
      throw e;
    }
    this.counters.gets++;
    if (r === undefined || r.kind !== Kind.VALUE) return undefined;
    const e = this.opts.valueExpiry;
    if (e !== false && isExpired(e.keysBelow, (e.clock ?? Date.now)(), key, r.value)) return undefined;
    return r;
  }

  /** The expiry check compaction and iterators apply now, or undefined without valueExpiry. */
  expiryCheck(): ExpiryCheck | undefined {
    const e = this.opts.valueExpiry;
    if (e === false) return undefined;
    const out: ExpiryCheck = { now: (e.clock ?? Date.now)() };
    if (e.keysBelow !== undefined) out.keysBelow = e.keysBelow;
    return out;
  }

  damagedTableCount(): number {
    return this.scrub.list().length;
  }

  /** A read met a CORRUPTION error in a table: the scrub's list of damaged tables gets it too. */
  noteCorruption(e: unknown): void {
    if (!(e instanceof Eau2Error) || e.code !== ErrorCode.CORRUPTION) return;
    const file = String(e.details?.file ?? '');
    const m = /(\d+)\.sst$/.exec(file);
    if (!m) return;
    const number = Number(m[1]);
    this.versions.current.files.forEach((files, level) => {
      const f = files.find((x) => x.number === number);
      if (f) this.scrub.note(level, f, e);
    });
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
   * release() when done: it unpins the Version whose files the iterator reads. `fillCache` false:
   * the tables' blocks it reads from disk are not put into the block cache.
   */
  newIterator(
    seq: number,
    bounds: Bounds,
    reverse: boolean,
    fillCache = true,
  ): { it: DbIterator; release: () => void } {
    if (this.closed) throw notOpen();
    const v = this.versions.current;
    v.ref();
    const children: InternalIterator[] = [this.mem.iterator()];
    for (let i = this.imms.length - 1; i >= 0; i--) children.push(this.imms[i]!.iterator());
    const l0 = v.files[0]!;
    const topts = { fillCache };
    for (let i = l0.length - 1; i >= 0; i--) children.push(this.tables.get(l0[i]!.number).iterator(topts));
    for (let level = 1; level < v.files.length; level++) {
      const files = v.files[level]!;
      if (files.length > 0) children.push(new LevelIterator(files, (f) => this.tables.get(f.number).iterator(topts)));
    }
    const it = new DbIterator(new MergingIterator(children), seq, bounds, reverse, this.expiryCheck());
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
    while (this.committing || this.queued !== null || this.commitScheduled) {
      await new Promise((r) => setImmediate(r));
    }
    this.closed = true;
    this.errors.stop();
    await this.scrub.stop();
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
