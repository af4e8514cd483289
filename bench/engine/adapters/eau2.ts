// eau2's own engine behind the bench adapter, with default EngineOptions. The engine is loaded with
// a dynamic import at run time, so an engine that fails to load (mid-rewrite, say) makes only the
// eau2 rows "not run" instead of breaking the benchmark for the other engines.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BenchDb, BenchOp, Bytes, EngineAdapter, EngineStats, OpenOptions } from './adapter.js';

// Types only: erased at run time, so the engine is still loaded lazily by load() below.
type Eau2Module = typeof import('../../../engine/index.js');
type Eau2Engine = Awaited<ReturnType<Eau2Module['Engine']['open']>>;
type Eau2Stats = ReturnType<Eau2Engine['stats']>;

const ENGINE_TS = fileURLToPath(new URL('../../../engine/index.ts', import.meta.url));
// A variable specifier: the import is resolved at run time only, so a missing or broken engine
// fails the eau2 rows (available() says no) instead of the whole harness.
const ENGINE_SPECIFIER: string = '../../../engine/index.js';

const SCAN_BATCH = 1000;

let loaded: Promise<Eau2Module> | undefined;
function load(): Promise<Eau2Module> {
  loaded ??= import(ENGINE_SPECIFIER) as Promise<Eau2Module>;
  return loaded;
}

class Eau2Db implements BenchDb {
  constructor(private readonly db: Eau2Engine) {}

  put(key: Bytes, value: Bytes, sync: boolean): Promise<void> {
    return this.db.put(key, value, sync ? { sync: true } : undefined);
  }

  del(key: Bytes, sync: boolean): Promise<void> {
    return this.db.del(key, sync ? { sync: true } : undefined);
  }

  batch(ops: BenchOp[], sync: boolean): Promise<void> {
    return this.db.batch(ops, sync ? { sync: true } : undefined);
  }

  get(key: Bytes): Promise<Bytes | undefined> {
    return this.db.get(key);
  }

  getSync(key: Bytes): Bytes | undefined {
    return this.db.getSync(key);
  }

  /** Like classic-level's, through nextv(): the engine's batch API is its fastest public scan. */
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
    throw new Error('eau2 does not offer a synchronous iterator');
  }

  async seek(key: Bytes): Promise<[Bytes, Bytes] | undefined> {
    const it = this.db.iterator({ gte: key, limit: 1 });
    try {
      return await it.next();
    } finally {
      await it.close();
    }
  }

  seekSync(): [Bytes, Bytes] | undefined {
    throw new Error('eau2 does not offer a synchronous seek');
  }

  compact(): Promise<void> {
    return this.db.compactRange();
  }

  stats(): EngineStats {
    return extractStats(this.db.stats());
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/** eau2's counters in the adapter's terms: bytes written = WAL + flush + compaction. */
function extractStats(raw: Eau2Stats): EngineStats {
  return {
    engineBytesWritten: raw.walBytesWritten + raw.flushBytesWritten + raw.compactionBytesWritten,
    writeAmplification: raw.writeAmplification,
    raw,
  };
}

export const eau2Adapter: EngineAdapter = {
  name: 'eau2',
  capabilities: { asyncGet: true, syncGet: true, asyncScan: true, syncScan: false, compact: true, stats: true },
  async available() {
    if (!existsSync(ENGINE_TS)) return false;
    try {
      const mod = await load();
      return typeof mod.Engine?.open === 'function';
    } catch {
      return false;
    }
  },
  async describe() {
    return 'eau2 engine (this repository, default options)';
  },
  async open(dir: string, _opts: OpenOptions) {
    const mod = await load();
    return new Eau2Db(await mod.Engine.open(dir));
  },
};
