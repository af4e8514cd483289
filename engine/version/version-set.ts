// The VersionSet owns the manifest: it recovers the current Version from CURRENT + MANIFEST-*, logs
// every change as a VersionEdit before installing it, allocates file numbers, and decides which
// level to compact next. Manifest rules (docs/format.md §6): a new manifest is fully written and
// fsynced before CURRENT names it (write CURRENT.tmp, fsync, rename, fsync the directory).

import { Eau2Error, ErrorCode, corruption } from '../../kv/index.js';
import { compareBytes, fromUtf8, utf8 } from '../../kv/index.js';
import { joinPath, writeFileSynced, type Vfs, type WritableFile } from '../vfs/vfs.js';
import { LogWriter } from '../wal/log-writer.js';
import { readLog } from '../wal/log-reader.js';
import { DB_FORMAT_VERSION, type FileMeta, NUM_LEVELS, VersionEdit } from './version-edit.js';
import { Version } from './version.js';

const L0_COMPACTION_TRIGGER = 4;

function manifestName(n: number): string {
  return `MANIFEST-${String(n).padStart(6, '0')}`;
}

export interface Compaction {
  level: number;
  /** inputs[0] from `level`, inputs[1] from `level + 1`. */
  inputs: [FileMeta[], FileMeta[]];
  /** True iff no deeper level holds data in the compaction's key range: tombstones can go. */
  bottommost: boolean;
  trivialMove: boolean;
}

export interface VersionSetOptions {
  level1Bytes: number;
  levelMultiplier: number;
  targetFileSize: number;
  /** Roll the manifest over to a fresh snapshot once it grows past this. */
  maxManifestBytes: number;
}

export class VersionSet {
  current: Version = new Version();
  nextFileNumber = 2;
  lastSequence = 0;
  /** WAL files numbered below this hold nothing that is not already in a table. */
  logNumber = 0;
  manifestNumber = 0;
  private compactPointers: Array<Uint8Array | undefined> = new Array(NUM_LEVELS).fill(undefined);
  private manifest: LogWriter | undefined;
  private manifestFile: WritableFile | undefined;
  private readonly live = new Set<Version>();
  private chain: Promise<void> = Promise.resolve();
  bytesWritten = 0;

  constructor(
    private readonly vfs: Vfs,
    private readonly dir: string,
    private readonly opts: VersionSetOptions,
  ) {}

  newFileNumber(): number {
    return this.nextFileNumber++;
  }

  /**
   * Recovery: a file found on disk may carry a number handed out after the manifest last recorded
   * nextFileNumber (a log started by a memtable switch, an output of an interrupted flush). New
   * files must never reuse it: opening a new log under the number of an old one would truncate it.
   */
  markFileNumberUsed(n: number): void {
    if (n >= this.nextFileNumber) this.nextFileNumber = n + 1;
  }

  maxBytesForLevel(level: number): number {
    return this.opts.level1Bytes * this.opts.levelMultiplier ** Math.max(0, level - 1);
  }

  /**
   * Loads the current Version from CURRENT and its manifest. Returns false if the directory holds
   * no database (no CURRENT). Throws CORRUPTION if the manifest is damaged, INVALID if it declares a
   * newer format.
   */
  async recover(): Promise<boolean> {
    const currentPath = joinPath(this.dir, 'CURRENT');
    if (!(await this.vfs.exists(currentPath))) return false;
    const text = fromUtf8(await this.vfs.readFile(currentPath));
    const m = /^MANIFEST-(\d+)\n$/.exec(text);
    if (!m) throw corruption(currentPath, 0, 'CURRENT does not name a manifest');
    const manifestPath = joinPath(this.dir, `MANIFEST-${m[1]}`);
    if (!(await this.vfs.exists(manifestPath))) {
      throw corruption(manifestPath, 0, 'CURRENT names a manifest that does not exist');
    }
    const { records } = await readLog(this.vfs, manifestPath);
    let version = new Version();
    let sawFormat = false;
    for (const rec of records) {
      const edit = VersionEdit.decode(rec.payload);
      if (typeof edit === 'string') throw corruption(manifestPath, rec.offset, edit);
      if (edit.formatVersion !== undefined) {
        if (edit.formatVersion > DB_FORMAT_VERSION) {
          throw new Eau2Error(
            ErrorCode.INVALID,
            `${manifestPath}: database format version ${edit.formatVersion} is newer than this eau2 supports (${DB_FORMAT_VERSION})`,
            { details: { file: manifestPath } },
          );
        }
        sawFormat = true;
      }
      version = version.apply(edit);
      if (edit.logNumber !== undefined) this.logNumber = edit.logNumber;
      if (edit.nextFileNumber !== undefined) this.nextFileNumber = edit.nextFileNumber;
      if (edit.lastSequence !== undefined) this.lastSequence = edit.lastSequence;
      for (const [level, key] of edit.compactPointers) this.compactPointers[level] = key;
    }
    if (!sawFormat) throw corruption(manifestPath, 0, 'manifest has no format version record');
    const defect = version.check();
    if (defect) throw corruption(manifestPath, 0, defect);
    this.manifestNumber = Number(m[1]);
    this.nextFileNumber = Math.max(this.nextFileNumber, this.manifestNumber + 1);
    this.install(version);
    return true;
  }

  /**
   * Writes `edit` to the manifest (fsynced) and installs the resulting Version. Calls are
   * serialized, so flushes and compactions can log concurrently.
   */
  logAndApply(edit: VersionEdit): Promise<void> {
    const run = this.chain.then(() => this.doLogAndApply(edit));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async doLogAndApply(edit: VersionEdit): Promise<void> {
    if (edit.logNumber === undefined) edit.logNumber = this.logNumber;
    edit.nextFileNumber = this.nextFileNumber;
    edit.lastSequence = this.lastSequence;
    const next = this.current.apply(edit);
    const defect = next.check();
    if (defect) throw new Eau2Error(ErrorCode.CORRUPTION, `refusing to install an invalid version: ${defect}`);
    if (
      !this.manifest ||
      this.manifestFailed ||
      (this.manifestFile && this.manifestFile.size() > this.opts.maxManifestBytes)
    ) {
      // A fresh manifest starts with a snapshot of the state the edit produces.
      this.logNumber = edit.logNumber;
      await this.writeNewManifest(next);
    } else {
      const rec = edit.encode();
      try {
        this.manifest.addRecord(rec);
        await this.manifest.flush();
        await this.manifest.sync();
      } catch (e) {
        // The manifest may now end in part of this record (a full disk): nothing more goes after it.
        // The next edit starts a fresh manifest; CURRENT names this one until that is in place, and
        // a torn last record is where recovery stops reading it.
        this.manifestFailed = true;
        throw e;
      }
      this.bytesWritten += rec.length;
    }
    this.logNumber = edit.logNumber;
    for (const [level, key] of edit.compactPointers) this.compactPointers[level] = key;
    this.install(next);
  }

  private async writeNewManifest(v: Version): Promise<void> {
    const number = this.newFileNumber();
    const path = joinPath(this.dir, manifestName(number));
    const file = await this.vfs.openWritable(path);
    const writer = new LogWriter(file);
    const snap = new VersionEdit();
    snap.formatVersion = DB_FORMAT_VERSION;
    snap.logNumber = this.logNumber;
    snap.nextFileNumber = this.nextFileNumber;
    snap.lastSequence = this.lastSequence;
    this.compactPointers.forEach((k, level) => {
      if (k) snap.compactPointers.push([level, k]);
    });
    v.files.forEach((files, level) => files.forEach((f) => snap.addFile(level, f)));
    const rec = snap.encode();
    writer.addRecord(rec);
    await writer.flush();
    await writer.sync();
    this.bytesWritten += rec.length;
    await this.setCurrent(number);
    const old = this.manifest;
    this.manifest = writer;
    this.manifestFile = file;
    this.manifestNumber = number;
    this.manifestFailed = false;
    if (old) await old.close().catch(() => undefined);
  }

  /** An append to the manifest failed: the next edit goes into a fresh one (doLogAndApply). */
  private manifestFailed = false;

  private async setCurrent(manifestNumber: number): Promise<void> {
    const tmp = joinPath(this.dir, 'CURRENT.tmp');
    await writeFileSynced(this.vfs, tmp, utf8(`${manifestName(manifestNumber)}\n`));
    await this.vfs.rename(tmp, joinPath(this.dir, 'CURRENT'));
    await this.vfs.syncDir(this.dir);
  }

  /** Creates the first manifest of a new database, or rolls a recovered one over. */
  async openManifest(): Promise<void> {
    await this.writeNewManifest(this.current);
  }

  private install(v: Version): void {
    this.score(v);
    const old = this.current;
    v.ref();
    this.live.add(v);
    this.current = v;
    this.unref(old);
  }

  unref(v: Version): void {
    if (--v.refs <= 0) this.live.delete(v);
  }

  /** Every table file some live Version still lists. */
  liveFiles(): Set<number> {
    const s = new Set<number>();
    for (const v of this.live) v.allFileNumbers(s);
    this.current.allFileNumbers(s);
    return s;
  }

  /**
   * How far level `level` of `v` is past the point where it is compacted: level 0 by table count
   * (L0_COMPACTION_TRIGGER), the middle levels by bytes over maxBytesForLevel; the last level is never
   * compacted further (0). 1 or more means a compaction of that level is due.
   */
  levelScore(v: Version, level: number): number {
    if (level === 0) return v.numFiles(0) / L0_COMPACTION_TRIGGER;
    if (level >= NUM_LEVELS - 1) return 0;
    return v.levelBytes(level) / this.maxBytesForLevel(level);
  }

  private score(v: Version): void {
    let bestLevel = 0;
    let best = this.levelScore(v, 0);
    for (let level = 1; level < NUM_LEVELS - 1; level++) {
      const s = this.levelScore(v, level);
      if (s > best) {
        best = s;
        bestLevel = level;
      }
    }
    v.compactionLevel = bestLevel;
    v.compactionScore = best;
  }

  /** The next compaction the current Version needs, or undefined. */
  pickCompaction(): Compaction | undefined {
    const v = this.current;
    if (v.compactionScore < 1) return undefined;
    const level = v.compactionLevel;
    let inputs0: FileMeta[];
    if (level === 0) {
      inputs0 = v.files[0]!.slice();
    } else {
      const files = v.files[level]!;
      const ptr = this.compactPointers[level];
      const pick = files.find((f) => ptr === undefined || compareBytes(f.largestUser, ptr) > 0) ?? files[0];
      if (!pick) return undefined;
      inputs0 = [pick];
    }
    return this.setupCompaction(level, inputs0);
  }

  /** A compaction of `level`'s files overlapping [begin, end] into level + 1 (for compactRange). */
  compactionForRange(
    level: number,
    begin: Uint8Array | undefined,
    end: Uint8Array | undefined,
  ): Compaction | undefined {
    const inputs0 = this.current.overlapping(level, begin, end);
    if (inputs0.length === 0) return undefined;
    const c = this.setupCompaction(level, inputs0);
    if (c) c.trivialMove = false;
    return c;
  }

  private setupCompaction(level: number, inputs0: FileMeta[]): Compaction | undefined {
    const v = this.current;
    let lo = inputs0[0]!.smallestUser;
    let hi = inputs0[0]!.largestUser;
    for (const f of inputs0) {
      if (compareBytes(f.smallestUser, lo) < 0) lo = f.smallestUser;
      if (compareBytes(f.largestUser, hi) > 0) hi = f.largestUser;
    }
    if (level === 0) {
      inputs0 = v.overlapping(0, lo, hi);
      for (const f of inputs0) {
        if (compareBytes(f.smallestUser, lo) < 0) lo = f.smallestUser;
        if (compareBytes(f.largestUser, hi) > 0) hi = f.largestUser;
      }
    }
    const inputs1 = v.overlapping(level + 1, lo, hi);
    let bottommost = true;
    let grandparentBytes = 0;
    for (let l = level + 2; l < NUM_LEVELS; l++) {
      const over = v.overlapping(l, lo, hi);
      if (over.length > 0) bottommost = false;
      if (l === level + 2) for (const f of over) grandparentBytes += f.size;
    }
    const trivialMove =
      inputs0.length === 1 && inputs1.length === 0 && grandparentBytes <= 10 * this.opts.targetFileSize;
    return { level, inputs: [inputs0, inputs1], bottommost, trivialMove };
  }

  /** Remembers where a level's round-robin compaction got to. */
  notePointer(edit: VersionEdit, c: Compaction): void {
    if (c.level === 0) return;
    let hi = c.inputs[0][0]!.largest;
    for (const f of c.inputs[0]) if (compareBytes(f.largest, hi) > 0) hi = f.largest;
    edit.compactPointers.push([c.level, hi.subarray(0, hi.length - 8).slice()]);
  }

  async close(): Promise<void> {
    await this.chain;
    if (this.manifest) await this.manifest.close();
    this.manifest = undefined;
  }
}
