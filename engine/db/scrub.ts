// The scrub: re-reads every table of the current Version from the file and checks every block's
// checksum and structure, so that damage (a flipped bit, a stray write) is found before a read needs
// the block (Cassandra's scrub and RocksDB's VerifyChecksum are the models). Reads go around the
// block cache: a cached copy was checked when it was read, the disk may have changed since.
//
// In the background it runs at `scrubBytesPerSecond` (pass after pass, `scrubIntervalMs` between), so
// its reads stay a bounded share of the disk; Engine.verify() runs one pass now, as fast as asked.
// A damaged table is reported (damagedTables(), stats) until it leaves the Version: compacted away,
// or dropped by its owner after rewriting its key range from a replica (Engine.dropTable).

import { isEau2Error } from '../../kv/index.js';
import type { FileMeta } from '../version/version-edit.js';
import type { VersionSet } from '../version/version-set.js';
import type { ResolvedOptions } from './options.js';
import type { TableCache } from './table-cache.js';

/** What the scrub needs of the database (DbImpl implements it), so the two don't import each other. */
export interface ScrubHost {
  readonly opts: ResolvedOptions;
  readonly versions: VersionSet;
  readonly tables: TableCache;
  readonly closed: boolean;
}

export interface DamagedTable {
  /** The table's file number (its file is `<number>.sst`). */
  file: number;
  level: number;
  /** The range of user keys the table holds, as its metadata says. */
  smallest: Uint8Array;
  largest: Uint8Array;
  /** Byte offset of the damaged block (as in the CORRUPTION error's details) and the error's message. */
  offset: number;
  reason: string;
  /** Date.now() when it was found. */
  foundAt: number;
}

export class Scrubber {
  private readonly damaged = new Map<number, DamagedTable>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private pass: Promise<void> | undefined;
  bytesVerified = 0;
  passes = 0;
  tablesVerified = 0;

  constructor(private readonly db: ScrubHost) {}

  /** Starts the background passes when a pace is configured. */
  start(): void {
    if (this.db.opts.scrubBytesPerSecond > 0) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pass = this.verifyAll(this.db.opts.scrubBytesPerSecond)
        .catch(() => undefined)
        .then(() => {
          this.pass = undefined;
          this.schedule(this.db.opts.scrubIntervalMs);
        });
    }, ms);
    this.timer.unref();
  }

  /**
   * One pass over every table of the current Version at `bytesPerSecond` (Infinity: no pacing).
   * Resolves with the damaged tables (found now or before, still in the Version).
   */
  async verifyAll(bytesPerSecond = Number.POSITIVE_INFINITY): Promise<DamagedTable[]> {
    const start = performance.now();
    let bytes = 0;
    const v = this.db.versions.current;
    const tables: Array<[number, FileMeta]> = [];
    v.files.forEach((files, level) => {
      for (const f of files) tables.push([level, f]);
    });
    for (const [level, f] of tables) {
      if (this.stopped || this.db.closed) break;
      if (this.damaged.has(f.number)) continue;
      bytes += await this.verifyTable(
        level,
        f,
        async () => {
          if (!Number.isFinite(bytesPerSecond)) return;
          // Ahead of the pace: wait until the bytes read so far are due.
          const due = (bytes * 1000) / bytesPerSecond - (performance.now() - start);
          if (due > 1) await new Promise((r) => setTimeout(r, due).unref());
        },
        (n) => {
          bytes += n;
        },
      );
    }
    this.passes++;
    return this.list();
  }

  /** Checks one table block by block; returns the bytes read outside `onBytes`. */
  private async verifyTable(
    level: number,
    f: FileMeta,
    pace: () => Promise<void>,
    onBytes: (n: number) => void,
  ): Promise<number> {
    const db = this.db;
    // Pinned while it is read, so a compaction finishing meanwhile cannot delete the file under it;
    // a table already gone from the current Version is skipped.
    const v = db.versions.current;
    if (!v.files[level]?.some((x) => x.number === f.number)) return 0;
    v.ref();
    try {
      const t = db.tables.get(f.number);
      let meta = 0;
      try {
        meta = t.verifyMeta();
        const blocks = t.index.count;
        for (let bi = 0; bi < blocks; bi++) {
          if (this.stopped || db.closed) return meta;
          const n = await t.verifyBlock(bi);
          this.bytesVerified += n;
          onBytes(n);
          await pace();
        }
        this.bytesVerified += meta;
        this.tablesVerified++;
      } catch (e) {
        if (!isEau2Error(e, 'CORRUPTION')) throw e;
        this.note(level, f, e);
      }
      return meta;
    } finally {
      db.versions.unref(v);
    }
  }

  /** Records a table found damaged (by the scrub, or by a read that met a CORRUPTION error). */
  note(level: number, f: FileMeta, e: Error): void {
    if (this.damaged.has(f.number)) return;
    const offset = Number((e as { details?: { offset?: unknown } }).details?.offset ?? -1);
    this.damaged.set(f.number, {
      file: f.number,
      level,
      smallest: f.smallestUser,
      largest: f.largestUser,
      offset,
      reason: e.message,
      foundAt: Date.now(),
    });
  }

  /** Damaged tables still in the current Version (one compacted away or dropped is forgotten). */
  list(): DamagedTable[] {
    const live = new Set<number>();
    this.db.versions.current.allFileNumbers(live);
    for (const n of this.damaged.keys()) if (!live.has(n)) this.damaged.delete(n);
    return [...this.damaged.values()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.pass;
  }
}
