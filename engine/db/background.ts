// Background work of the engine: flushing immutable memtables to level-0 tables, leveled
// compaction, and deleting files no live Version needs. At most one flush and one compaction run at
// a time, both on the worker thread (building tables and merging never block the event loop) when
// the Vfs can be opened there (WorkerVfsSpec), else in this thread. Either way the job reads its
// inputs and writes its outputs itself, through the Vfs (compaction/table-files.ts).

import { joinPath, writeFileSynced } from '../vfs/vfs.js';
import type { Memtable } from '../memtable/memtable.js';
import { EntryBufferWriter, ENTRY_BUFFER_OVERHEAD, type FlushJob } from '../compaction/flush-job.js';
import type { CompactionInput } from '../compaction/compaction-job.js';
import { type FileMeta, makeFileMeta, NUM_LEVELS, VersionEdit } from '../version/version-edit.js';
import type { Compaction } from '../version/version-set.js';
import { CompactionRunner } from '../compaction/compaction-runner.js';
import { runFlush } from '../compaction/table-files.js';
import { tableName } from './table-cache.js';
import type { TableCache } from './table-cache.js';
import type { ResolvedOptions } from './options.js';
import type { Counters } from './counters.js';
import type { VersionSet } from '../version/version-set.js';

/**
 * What background work needs of the database (DbImpl implements it). Narrow on purpose: flushes
 * and compactions read the memtables and report failures through it, and never touch the write
 * path's state.
 */
export interface BackgroundHost {
  readonly dir: string;
  readonly opts: ResolvedOptions;
  readonly versions: VersionSet;
  readonly tables: TableCache;
  readonly counters: Counters;
  /** The memtable taking writes. */
  activeMemtable(): Memtable;
  /** Immutable memtables waiting for their flush, oldest first. */
  immutableMemtables(): readonly Memtable[];
  /** The oldest immutable memtable is in a table now (and named by the Version): drop it. */
  dropFlushedMemtable(): void;
  /** Makes the active memtable immutable and starts a new log (compactRange flushes with it). */
  switchMemtable(): Promise<void>;
  /** Numbers of retired logs whose background sync is still running: not obsolete yet. */
  readonly retiringLogs: ReadonlySet<number>;
  /** The oldest sequence some reader may still need. */
  smallestSnapshot(): number;
  /** The expiry check a compaction applies (undefined without valueExpiry). */
  expiryCheck(): import('../format/value-expiry.js').ExpiryCheck | undefined;
  /** The first failure of a write or background job, after which writes are refused. */
  backgroundError(): Error | undefined;
  /** Records a failure (the first one wins). */
  setBackgroundError(e: Error): void;
  /** A job met a CORRUPTION error: its table joins the damaged ones (scrub.ts), if it is a table's. */
  noteCorruption(e: unknown): void;
  /** Tables known damaged and still in the Version: compactions wait while there are any. */
  damagedTableCount(): number;
}
import { isEau2Error } from '../../kv/index.js';

/** Entries a flush copies out of the memtable between yields to the event loop (~1-2 ms of work). */
const FLUSH_YIELD_EVERY = 5000;

export class Background {
  private flushing = false;
  private compacting = false;
  private manual = false;
  private stopped = false;
  private waiters: Array<() => void> = [];
  private readonly runner: CompactionRunner;
  /** Table numbers written but not yet in a Version: never obsolete. */
  private readonly pendingOutputs = new Set<number>();
  private deleting: Promise<void> | null = null;

  constructor(private readonly db: BackgroundHost) {
    this.runner = new CompactionRunner(db.opts.compactionWorker, db.opts.vfs);
  }

  /** Starts the flush and compaction worker before its first job (CompactionRunner.warm). */
  warmWorker(): void {
    if (!this.stopped) this.runner.warm();
  }

  /** Flushes that copied their entries into a buffer the worker sent back (for tests). */
  get entryBuffersReused(): number {
    return this.runner.entryBuffersReused;
  }

  /** Whether the worker thread has been started (for tests). */
  get workerStarted(): boolean {
    return this.runner.started;
  }

  /** Resolves when a flush or compaction finishes (or at once if nothing is running). */
  waitForProgress(): Promise<void> {
    if (!this.flushing && !this.compacting) {
      this.maybeSchedule();
      if (!this.flushing && !this.compacting) return new Promise((r) => setImmediate(r));
    }
    return new Promise((r) => this.waiters.push(r));
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /**
   * A job failed. A full disk is recovered from (error-handler.ts, through setBackgroundError) when
   * the job left nothing behind: flushes and compactions remove their partial outputs themselves
   * (abandonOutputs), and a failed manifest write is replaced by a fresh manifest at the next edit
   * (version-set.ts).
   */
  private fail(e: unknown): void {
    // A compaction that read a damaged table: the table is reported (damagedTables) and compactions
    // wait until it is dropped (maybeSchedule), rather than refusing every write from now on.
    if (isEau2Error(e, 'CORRUPTION') && /\d+\.sst$/.test(String(e.details?.file ?? ''))) {
      this.db.noteCorruption(e);
      if (this.db.damagedTableCount() > 0) return;
    }
    this.db.setBackgroundError(e as Error);
  }

  /**
   * Table numbers whose files may be named by a manifest record that failed part way: kept (listed
   * as pending) until a manifest written after that failure is in place.
   */
  private heldForManifest: number[] = [];

  /**
   * A flush or compaction failed: removes the files it wrote, unless its manifest edit may have
   * reached the disk (then a recovery from that manifest would need them: they are kept until a
   * fresh manifest replaces it).
   */
  private async abandonOutputs(numbers: number[], editMayExist: boolean): Promise<void> {
    if (editMayExist) {
      this.heldForManifest.push(...numbers);
      return;
    }
    for (const n of numbers) {
      await this.db.tables.evict(n).catch(() => undefined);
      await this.db.opts.vfs.unlink(joinPath(this.db.dir, tableName(n))).catch(() => undefined);
      this.pendingOutputs.delete(n);
    }
  }

  /** A manifest edit succeeded: a failed one before it no longer matters (version-set.ts rolled it over). */
  private releaseHeld(): void {
    for (const n of this.heldForManifest) this.pendingOutputs.delete(n);
    this.heldForManifest = [];
  }

  maybeSchedule(): void {
    if (this.stopped || this.db.backgroundError()) return;
    if (!this.flushing && this.db.immutableMemtables().length > 0) {
      this.flushing = true;
      this.flushOldest()
        .catch((e) => this.fail(e))
        .finally(() => {
          this.flushing = false;
          this.notify();
          this.maybeSchedule();
        });
    }
    if (!this.compacting && !this.manual && this.db.damagedTableCount() === 0) {
      const c = this.db.versions.pickCompaction();
      if (c) {
        this.compacting = true;
        this.runCompaction(c)
          .catch((e) => this.fail(e))
          .finally(() => {
            this.compacting = false;
            this.notify();
            this.maybeSchedule();
          });
      }
    }
  }

  // ---------------------------------------------------------------- flush

  private async flushOldest(): Promise<void> {
    const db = this.db;
    const imms = db.immutableMemtables();
    const imm = imms[0]!;
    const edit = new VersionEdit();
    const meta = await this.writeLevel0Table(imm);
    if (meta) edit.addFile(this.levelForFlush(meta), meta);
    edit.logNumber = imms[1]?.logNumber ?? db.activeMemtable().logNumber;
    try {
      await db.versions.logAndApply(edit);
    } catch (e) {
      if (meta) await this.abandonOutputs([meta.number], true);
      throw e;
    }
    this.releaseHeld();
    if (meta) this.pendingOutputs.delete(meta.number);
    db.dropFlushedMemtable();
    db.counters.flushes++;
    this.sweepInBackground();
  }

  /**
   * Pushes a flushed table below level 0 when nothing there overlaps it (LevelDB does the same):
   * sequential loads then skip rewriting every table once per level.
   */
  private levelForFlush(meta: FileMeta): number {
    const v = this.db.versions.current;
    let level = 0;
    if (v.overlapping(0, meta.smallestUser, meta.largestUser).length > 0) return 0;
    while (level < 2) {
      if (v.overlapping(level + 1, meta.smallestUser, meta.largestUser).length > 0) break;
      let grand = 0;
      for (const f of v.overlapping(level + 2, meta.smallestUser, meta.largestUser)) grand += f.size;
      if (grand > 10 * this.db.opts.targetFileSize) break;
      level++;
    }
    return level;
  }

  /**
   * Writes a memtable out as a table (fsynced, reader opened). Returns undefined if it is empty.
   * `inline` builds it on this thread: recovery does, as nothing else waits on the event loop then
   * and starting the worker for it (a second or more under tsx) would slow every open.
   */
  async writeLevel0Table(mem: Memtable, inline = false): Promise<FileMeta | undefined> {
    const db = this.db;
    if (mem.count() === 0) return undefined;
    const number = db.versions.newFileNumber();
    this.pendingOutputs.add(number);
    // The memtable is immutable here, so copying it out across event-loop turns sees one state.
    const capacity = mem.payloadBytes() + mem.count() * ENTRY_BUFFER_OVERHEAD;
    // A buffer for the worker is allocated with room to spare, so that when it comes back it fits
    // the next flushes too (their sizes vary with the writes that filled the memtable).
    const reuse =
      inline || !this.runner.useWorker
        ? undefined
        : (this.runner.takeEntryBuffer(capacity) ?? new ArrayBuffer(capacity + (capacity >>> 3)));
    const w = new EntryBufferWriter(capacity, reuse);
    const it = mem.iterator();
    let n = 0;
    for (it.seekToFirst(); it.valid(); it.next()) {
      const i = it.index();
      const buf = mem.bufferAt(i);
      w.addAt(
        mem.seqAt(i),
        mem.kindAt(i),
        buf,
        mem.keyOffsetAt(i),
        mem.keyLengthAt(i),
        buf,
        mem.valueOffsetAt(i),
        mem.valueLengthAt(i),
      );
      if (++n % FLUSH_YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
    }
    it.close();
    const job: FlushJob = {
      entries: w.finish(),
      count: w.count,
      blockSize: db.opts.blockSize,
      bitsPerKey: db.opts.bloomBitsPerKey,
      path: joinPath(db.dir, tableName(number)),
    };
    let result: Awaited<ReturnType<typeof runFlush>>;
    try {
      result = inline ? await runFlush(job, db.opts.vfs) : await this.runner.flush(job);
      // The manifest will name this file: its directory entry must be durable first.
      await db.opts.vfs.syncDir(db.dir);
      await db.tables.open(number);
    } catch (e) {
      await this.abandonOutputs([number], false);
      throw e;
    }
    db.counters.flushBytes += result.size;
    return makeFileMeta(number, result.size, result.smallest, result.largest);
  }

  private writeTableFile(number: number, bytes: Uint8Array): Promise<void> {
    return writeFileSynced(this.db.opts.vfs, joinPath(this.db.dir, tableName(number)), bytes);
  }

  // ---------------------------------------------------------------- compaction

  private async runCompaction(c: Compaction): Promise<void> {
    const db = this.db;
    const edit = new VersionEdit();
    db.versions.notePointer(edit, c);
    if (c.trivialMove) {
      const f = c.inputs[0][0]!;
      edit.deleteFile(c.level, f.number);
      edit.addFile(c.level + 1, f);
      await db.versions.logAndApply(edit);
      db.counters.trivialMoves++;
      return;
    }
    const t0 = performance.now();
    const vfs = db.opts.vfs;
    const all = [...c.inputs[0], ...c.inputs[1]];
    const inputs: CompactionInput[] = [];
    const reserved: number[] = [];
    // The job names its outputs: reserve numbers for them (listed as pending before any file
    // exists). Outputs are cut at the target size and hold a subset of the inputs' entries, so
    // this is enough; any output beyond it comes back as bytes and is written here.
    let total = 0;
    for (const f of all) {
      inputs.push({ number: f.number, path: joinPath(db.dir, tableName(f.number)) });
      total += f.size;
    }
    const want = Math.ceil(total / db.opts.targetFileSize) + 2;
    for (let i = 0; i < want; i++) {
      const n = db.versions.newFileNumber();
      this.pendingOutputs.add(n);
      reserved.push(n);
    }
    const files = { dir: db.dir, outputNumbers: reserved.slice() };
    let editMayExist = false;
    let result: Awaited<ReturnType<CompactionRunner['run']>>;
    const expiry = db.expiryCheck();
    try {
      result = await this.runner.run({
        inputs,
        smallestSnapshot: db.smallestSnapshot(),
        bottommost: c.bottommost,
        targetFileSize: db.opts.targetFileSize,
        blockSize: db.opts.blockSize,
        bitsPerKey: db.opts.bloomBitsPerKey,
        ...(expiry ? { expiry } : {}),
        files,
      });
      const outputs: FileMeta[] = [];
      for (const out of result.outputs) {
        let number = out.number;
        if (number === undefined) {
          number = db.versions.newFileNumber();
          this.pendingOutputs.add(number);
          reserved.push(number);
          await this.writeTableFile(number, out.bytes!);
        }
        await db.tables.open(number);
        outputs.push(makeFileMeta(number, out.size, out.smallest, out.largest));
        db.counters.compactionBytesWritten += out.size;
      }
      if (outputs.length > 0) await vfs.syncDir(db.dir);
      c.inputs[0].forEach((f) => edit.deleteFile(c.level, f.number));
      c.inputs[1].forEach((f) => edit.deleteFile(c.level + 1, f.number));
      outputs.forEach((f) => edit.addFile(c.level + 1, f));
      editMayExist = true;
      await db.versions.logAndApply(edit);
    } catch (e) {
      // Reserved numbers the job did not use have no file: unlinking them is harmless.
      await this.abandonOutputs(reserved, editMayExist);
      throw e;
    }
    this.releaseHeld();
    for (const n of reserved) this.pendingOutputs.delete(n);
    db.counters.compactions++;
    db.counters.compactionBytesRead += result.bytesRead;
    db.counters.compactionMs += performance.now() - t0;
    this.sweepInBackground();
  }

  /**
   * Compacts every level's files overlapping [begin, end] down to the deepest level that holds
   * any, dropping overwritten versions and (at the bottom) tombstones no snapshot needs.
   */
  async compactRange(begin?: Uint8Array, end?: Uint8Array): Promise<void> {
    const db = this.db;
    if (db.activeMemtable().count() > 0) await db.switchMemtable();
    while (db.immutableMemtables().length > 0) {
      const err = db.backgroundError();
      if (err) throw err;
      await this.waitForProgress();
    }
    this.manual = true;
    try {
      while (this.compacting) await this.waitForProgress();
      const err = db.backgroundError();
      if (err) throw err;
      let deepest = 0;
      for (let level = 0; level < NUM_LEVELS; level++) {
        if (db.versions.current.overlapping(level, begin, end).length > 0) deepest = level;
      }
      // The deepest level is rewritten one level down too, so tombstones and overwritten versions
      // sitting in it are reclaimed as well.
      for (let level = 0; level <= Math.min(deepest, NUM_LEVELS - 2); level++) {
        for (;;) {
          const c = this.limitManual(db.versions.compactionForRange(level, begin, end));
          if (!c) break;
          this.compacting = true;
          try {
            await this.runCompaction(c);
          } catch (e) {
            // As for a compaction of its own: what it left behind is unknown, so writes stop.
            this.fail(e);
            throw e;
          } finally {
            this.compacting = false;
            this.notify();
          }
        }
      }
      // Callers measure the space a compaction frees: let its sweep finish.
      await this.deleting;
    } finally {
      this.manual = false;
      this.maybeSchedule();
    }
  }

  /** Keeps one manual compaction's inputs (held in memory by the worker) to a bounded size. */
  private limitManual(c: Compaction | undefined): Compaction | undefined {
    if (!c || c.level === 0) return c;
    const limit = 25 * this.db.opts.targetFileSize;
    let total = 0;
    const keep: FileMeta[] = [];
    for (const f of c.inputs[0]) {
      if (keep.length > 0 && total + f.size > limit) break;
      keep.push(f);
      total += f.size;
    }
    if (keep.length === c.inputs[0].length) return c;
    const c2 = this.db.versions.compactionForRange(c.level, keep[0]!.smallestUser, keep[keep.length - 1]!.largestUser);
    return c2;
  }

  /**
   * Takes table `number` out of the Version (its file is deleted with the next sweep) and returns
   * where it was, or undefined if no such table is in the Version. Its entries are gone: older
   * versions of its keys in deeper levels show again, so the caller rewrites its key range from a
   * copy (a replica). Waits for a running compaction, and holds new ones, as compactRange does.
   */
  async dropTable(number: number): Promise<{ level: number; meta: FileMeta } | undefined> {
    const db = this.db;
    this.manual = true;
    try {
      while (this.compacting) await this.waitForProgress();
      const v = db.versions.current;
      for (let level = 0; level < v.files.length; level++) {
        const meta = v.files[level]!.find((f) => f.number === number);
        if (!meta) continue;
        const edit = new VersionEdit();
        edit.deleteFile(level, number);
        await db.versions.logAndApply(edit);
        this.sweepInBackground();
        return { level, meta };
      }
      return undefined;
    } finally {
      this.manual = false;
      this.maybeSchedule();
    }
  }

  // ---------------------------------------------------------------- obsolete files

  /**
   * Sweeps without holding up the next flush or compaction: the worker would sit idle ~20% of a 500k
   * overwrite if each job's readdir and unlinks ran before the next job was scheduled. Safe to
   * overlap: a sweep spares every file in a live Version or listed in pendingOutputs, and a running
   * job's inputs stay in the current Version until its own edit is applied.
   */
  private sweepInBackground(): void {
    this.deleteObsoleteFiles().catch((e) => this.fail(e));
  }

  deleteObsoleteFiles(): Promise<void> {
    // One sweep at a time; a sweep requested meanwhile runs after it.
    const run = (this.deleting ?? Promise.resolve()).then(() => this.sweep());
    this.deleting = run.catch(() => undefined);
    return run;
  }

  private async sweep(): Promise<void> {
    const db = this.db;
    const vfs = db.opts.vfs;
    // List first, then decide: a table created while readdir is pending is then either absent from
    // the listing or already in pendingOutputs (numbers are added there before files are created).
    const names = await vfs.readdir(db.dir);
    const live = db.versions.liveFiles();
    for (const n of this.pendingOutputs) live.add(n);
    const logsInUse = new Set<number>(db.immutableMemtables().map((m) => m.logNumber));
    logsInUse.add(db.activeMemtable().logNumber);
    for (const n of db.retiringLogs) logsInUse.add(n);
    for (const name of names) {
      let m: RegExpExecArray | null;
      let obsolete = false;
      let table = -1;
      if ((m = /^(\d+)\.log$/.exec(name))) {
        const n = Number(m[1]);
        obsolete = n < db.versions.logNumber && !logsInUse.has(n);
      } else if ((m = /^(\d+)\.sst$/.exec(name))) {
        table = Number(m[1]);
        obsolete = !live.has(table);
      } else if ((m = /^MANIFEST-(\d+)$/.exec(name))) {
        obsolete = Number(m[1]) < db.versions.manifestNumber;
      }
      if (!obsolete) continue;
      if (table >= 0) await db.tables.evict(table);
      await vfs.unlink(joinPath(db.dir, name));
    }
  }

  // ---------------------------------------------------------------- shutdown

  async stop(): Promise<void> {
    this.stopped = true;
    while (this.flushing || this.compacting) await new Promise<void>((r) => this.waiters.push(r));
    await this.deleting;
    await this.runner.close();
  }
}
