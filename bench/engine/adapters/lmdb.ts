// lmdb (lmdb-js) behind the bench adapter. lmdb's reads are synchronous by design (a B+tree in a
// memory map), so it offers no async get or async iterator: those rows say n/a rather than timing
// a Promise wrapped around a synchronous call. Durability is an open-time setting in lmdb: for
// non-synced workloads we open with noSync (like LevelDB's default unsynced writes, the data is
// in the OS page cache when a write resolves); for synced ones we keep lmdb's defaults and wait
// for `flushed`, which resolves once the commit is on disk.

import { open, type Database, type RootDatabase } from 'lmdb';
import type { BenchDb, BenchOp, Bytes, EngineAdapter, OpenOptions } from './adapter.js';
import { packageVersion, unsupported } from './adapter.js';

type Db = RootDatabase<Buffer, Buffer> & Database<Buffer, Buffer>;

class LmdbDb implements BenchDb {
  constructor(
    private readonly db: Db,
    private readonly durable: boolean,
  ) {}

  async put(key: Bytes, value: Bytes, sync: boolean): Promise<void> {
    await this.db.put(key as Buffer, value as Buffer);
    if (sync && this.durable) await this.db.flushed;
  }

  async del(key: Bytes, sync: boolean): Promise<void> {
    await this.db.remove(key as Buffer);
    if (sync && this.durable) await this.db.flushed;
  }

  /** One async transaction: atomic, and lmdb-js runs its callback in a single commit. */
  async batch(ops: BenchOp[], sync: boolean): Promise<void> {
    await this.db.transaction(() => {
      for (const op of ops) {
        if (op.type === 'put') void this.db.put(op.key as Buffer, op.value as Buffer);
        else void this.db.remove(op.key as Buffer);
      }
    });
    if (sync && this.durable) await this.db.flushed;
  }

  get(): Promise<Bytes | undefined> {
    return unsupported('lmdb', 'an asynchronous get');
  }

  getSync(key: Bytes): Bytes | undefined {
    return this.db.get(key as Buffer);
  }

  scan(): Promise<number> {
    return unsupported('lmdb', 'an asynchronous iterator');
  }

  scanSync(reverse: boolean, onEntry: (key: Bytes, value: Bytes) => void): number {
    let n = 0;
    for (const { key, value } of this.db.getRange({ reverse })) {
      onEntry(key, value);
      n++;
    }
    return n;
  }

  seek(): Promise<[Bytes, Bytes] | undefined> {
    return unsupported('lmdb', 'an asynchronous seek');
  }

  seekSync(key: Bytes): [Bytes, Bytes] | undefined {
    for (const { key: k, value } of this.db.getRange({ start: key as Buffer, limit: 1 })) return [k, value];
    return undefined;
  }

  compact(): Promise<void> {
    return unsupported('lmdb', 'an in-place compaction');
  }

  stats() {
    return { raw: this.db.getStats() };
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

export const lmdbAdapter: EngineAdapter = {
  name: 'lmdb',
  capabilities: { asyncGet: false, syncGet: true, asyncScan: false, syncScan: true, compact: false, stats: false },
  async available() {
    return true;
  },
  async describe() {
    const version = packageVersion('lmdb');
    return `lmdb ${version} (lmdb-js; binary keys/values, no compression; noSync unless the workload syncs)`;
  },
  async open(dir: string, opts: OpenOptions) {
    const db = open<Buffer, Buffer>({
      path: dir,
      keyEncoding: 'binary',
      encoding: 'binary',
      compression: false,
      noSync: !opts.syncWrites,
    }) as Db;
    return new LmdbDb(db, opts.syncWrites);
  },
};
