// classic-level (LevelDB 1.x through N-API) behind the bench adapter. Default LevelDB settings
// (8 MiB block cache, 4 MiB write buffer, Snappy on), as a user would get them; our values are
// random bytes, so Snappy gains nothing and sizes compare honestly.

import { ClassicLevel } from 'classic-level';
import type { BenchDb, BenchOp, Bytes, EngineAdapter, OpenOptions } from './adapter.js';
import { packageVersion, unsupported } from './adapter.js';

type Db = ClassicLevel<Buffer, Buffer>;

/** Both ends of the whole key space for compactRange: our keys are ASCII digits. */
const LOWEST = Buffer.from([0]);
const HIGHEST = Buffer.alloc(32, 0xff);
const SCAN_BATCH = 1000;

const buf = (b: Bytes): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

class ClassicLevelDb implements BenchDb {
  constructor(private readonly db: Db) {}

  put(key: Bytes, value: Bytes, sync: boolean): Promise<void> {
    return sync ? this.db.put(buf(key), buf(value), { sync: true }) : this.db.put(buf(key), buf(value));
  }

  del(key: Bytes, sync: boolean): Promise<void> {
    return sync ? this.db.del(buf(key), { sync: true }) : this.db.del(buf(key));
  }

  batch(ops: BenchOp[], sync: boolean): Promise<void> {
    const mapped = ops.map((op) =>
      op.type === 'put'
        ? { type: 'put' as const, key: buf(op.key), value: buf(op.value) }
        : { type: 'del' as const, key: buf(op.key) },
    );
    return sync ? this.db.batch(mapped, { sync: true }) : this.db.batch(mapped);
  }

  get(key: Bytes): Promise<Bytes | undefined> {
    return this.db.get(buf(key));
  }

  getSync(key: Bytes): Bytes | undefined {
    return this.db.getSync(buf(key));
  }

  /** nextv() is classic-level's fastest public scan: one native call per SCAN_BATCH entries. */
  async scan(reverse: boolean, onEntry: (key: Bytes, value: Bytes) => void): Promise<number> {
    const it = this.db.iterator({ reverse });
    let n = 0;
    try {
      for (;;) {
        const entries = await it.nextv(SCAN_BATCH);
        if (entries.length === 0) break;
        for (const [k, v] of entries) onEntry(k, v);
        n += entries.length;
      }
    } finally {
      await it.close();
    }
    return n;
  }

  scanSync(): number {
    return unsupported('classic-level', 'a synchronous iterator');
  }

  async seek(key: Bytes): Promise<[Bytes, Bytes] | undefined> {
    const it = this.db.iterator({ gte: buf(key), limit: 1 });
    try {
      return await it.next();
    } finally {
      await it.close();
    }
  }

  seekSync(): [Bytes, Bytes] | undefined {
    return unsupported('classic-level', 'a synchronous seek');
  }

  compact(): Promise<void> {
    return this.db.compactRange(LOWEST, HIGHEST);
  }

  stats() {
    // LevelDB's own compaction table (MB written per level) goes into the JSON verbatim.
    return { raw: this.db.getProperty('leveldb.stats') };
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

export const classicLevelAdapter: EngineAdapter = {
  name: 'classic-level',
  capabilities: { asyncGet: true, syncGet: true, asyncScan: true, syncScan: false, compact: true, stats: false },
  async available() {
    return true;
  },
  async describe() {
    const version = packageVersion('classic-level');
    return `classic-level ${version} (LevelDB; defaults: 8 MiB cache, 4 MiB write buffer, snappy)`;
  },
  async open(dir: string, _opts: OpenOptions) {
    const db: Db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    return new ClassicLevelDb(db);
  },
};
