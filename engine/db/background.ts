// Background work of the engine: flushing immutable memtables to level-0 tables, leveled
// compaction (merging on a worker thread), and deleting files no live Version needs. At most one
// flush and one compaction run at a time; writers wait on waitForProgress() when they must stall.

import { joinPath } from '../vfs/vfs.js';
import { encodeInternalKey } from '../format/internal-key.js';
import type { Memtable } from '../memtable/memtable.js';
import { TableBuilder } from '../table/table-builder.js';
import { type FileMeta, makeFileMeta, NUM_LEVELS, VersionEdit } from '../version/version-edit.js';
import type { Compaction } from '../version/version-set.js';
import { CompactionRunner } from '../compaction/compaction-runner.js';
import { tableName } from './table-cache.js';
import type { DbImpl } from './db-impl.js';

/** Entries a flush adds between yields to the event loop (~1-2 ms of work). */
const FLUSH_YIELD_EVERY = 2000;

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

  constructor(private readonly db: DbImpl) {
    this.runner = new CompactionRunner(db.opts.compactionWorker);
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

  private fail(e: unknown): void {
    if (!this.db.bgError) this.db.bgError = e as Error;
  }

  maybeSchedule(): void {
    if (this.stopped || this.db.bgError) return;
    if (!this.flushing && this.db.imms.length > 0) {
      this.flushing = true;
      this.flushOldest()
        .catch((e) => this.fail(e))
        .finally(() => {
          this.flushing = false;
          this.notify();
          this.maybeSchedule();
        });
    }
    if (!this.compacting && !this.manual) {
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
    const imm = db.imms[0]!;
    const edit = new VersionEdit();
    const meta = await this.writeLevel0Table(imm);
    if (meta) edit.addFile(this.levelForFlush(meta), meta);
    edit.logNumber = db.imms[1]?.logNumber ?? db.mem.logNumber;
    await db.versions.logAndApply(edit);
    if (meta) this.pendingOutputs.delete(meta.number);
    db.imms.shift();
    db.counters.flushes++;
    await this.deleteObsoleteFiles();
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

  /** Writes a memtable out as a table (fsynced, reader opened). Returns undefined if it is empty. */
  async writeLevel0Table(mem: Memtable): Promise<FileMeta | undefined> {
    const db = this.db;
    if (mem.count() === 0) return undefined;
    const number = db.versions.newFileNumber();
    this.pendingOutputs.add(number);
    const builder = new TableBuilder({ blockSize: db.opts.blockSize, bitsPerKey: db.opts.bloomBitsPerKey });
    const it = mem.iterator();
    let smallest: Uint8Array | undefined;
    let lastKey: Uint8Array = new Uint8Array(0);
    let lastSeq = 0;
    let lastKind = 0;
    let n = 0;
    for (it.seekToFirst(); it.valid(); it.next()) {
      if (smallest === undefined) smallest = encodeInternalKey(it.key(), it.seq(), it.kind());
      lastKey = it.key();
      lastSeq = it.seq();
      lastKind = it.kind();
      builder.add(lastKey, lastSeq, lastKind, it.value());
      if (++n % FLUSH_YIELD_EVERY === 0) await new Promise((r) => setImmediate(r));
    }
    it.close();
    const bytes = builder.finish();
    await this.writeTableFile(number, bytes);
    // The manifest will name this file: its directory entry must be durable first.
    await db.opts.vfs.syncDir(db.dir);
    await db.tables.open(number);
    db.counters.flushBytes += bytes.length;
    return makeFileMeta(number, bytes.length, smallest!, encodeInternalKey(lastKey, lastSeq, lastKind));
  }

  private async writeTableFile(number: number, bytes: Uint8Array): Promise<void> {
    const vfs = this.db.opts.vfs;
    const file = await vfs.openWritable(joinPath(this.db.dir, tableName(number)));
    try {
      await file.append(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
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
    const inputs = [];
    for (const f of all) {
      const path = joinPath(db.dir, tableName(f.number));
      inputs.push({ number: f.number, path, bytes: await vfs.readFile(path) });
    }
    const result = await this.runner.run({
      inputs,
      smallestSnapshot: db.smallestSnapshot(),
      bottommost: c.bottommost,
      targetFileSize: db.opts.targetFileSize,
      blockSize: db.opts.blockSize,
      bitsPerKey: db.opts.bloomBitsPerKey,
    });
    const outputs: FileMeta[] = [];
    for (const out of result.outputs) {
      const number = db.versions.newFileNumber();
      this.pendingOutputs.add(number);
      await this.writeTableFile(number, out.bytes);
      await db.tables.open(number);
      outputs.push(makeFileMeta(number, out.bytes.length, out.smallest, out.largest));
      db.counters.compactionBytesWritten += out.bytes.length;
    }
    if (outputs.length > 0) await vfs.syncDir(db.dir);
    c.inputs[0].forEach((f) => edit.deleteFile(c.level, f.number));
    c.inputs[1].forEach((f) => edit.deleteFile(c.level + 1, f.number));
    outputs.forEach((f) => edit.addFile(c.level + 1, f));
    await db.versions.logAndApply(edit);
    for (const f of outputs) this.pendingOutputs.delete(f.number);
    db.counters.compactions++;
    db.counters.compactionBytesRead += result.bytesRead;
    db.counters.compactionMs += performance.now() - t0;
    await this.deleteObsoleteFiles();
  }

  /**
   * Compacts every level's files overlapping [begin, end] down to the deepest level that holds
   * any, dropping overwritten versions and (at the bottom) tombstones no snapshot needs.
   */
  async compactRange(begin?: Uint8Array, end?: Uint8Array): Promise<void> {
    const db = this.db;
    if (db.mem.count() > 0) await db.switchMemtable();
    while (db.imms.length > 0) {
      if (db.bgError) throw db.bgError;
      await this.waitForProgress();
    }
    this.manual = true;
    try {
      while (this.compacting) await this.waitForProgress();
      if (db.bgError) throw db.bgError;
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
          } finally {
            this.compacting = false;
            this.notify();
          }
        }
      }
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
    const c2 = this.db.versions.compactionForRange(
      c.level,
      keep[0]!.smallestUser,
      keep[keep.length - 1]!.largestUser,
    );
    return c2;
  }

  // ---------------------------------------------------------------- obsolete files

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
    const logsInUse = new Set<number>(db.imms.map((m) => m.logNumber));
    if (db.mem) logsInUse.add(db.mem.logNumber);
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
