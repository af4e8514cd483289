// Engine.stats(): a typed snapshot of the engine's shape and counters, cheap enough to poll.

import type { SlotArenaStats } from './table/slot-arena.js';
import type { DbImpl } from './db/db-impl.js';

export interface LevelStats {
  level: number;
  files: number;
  bytes: number;
  /**
   * Tables over the level-0 trigger (level 0) or bytes over the level's target (levels 1-5); 0 for the
   * last level. A compaction of the level is due at 1 or more; the worker takes the highest first.
   */
  compactionScore: number;
}

export interface EngineStats {
  levels: LevelStats[];
  /** Bytes in the active memtable plus immutable memtables waiting for flush. */
  memtableBytes: number;
  immutableMemtables: number;
  lastSequence: number;
  /** Key + value bytes written by the application. */
  userBytesWritten: number;
  walBytesWritten: number;
  walSyncs: number;
  /** Bytes of log records replayed when this instance opened. */
  walBytesRecovered: number;
  /**
   * 1 when this open's replay stopped at a gap: a later log's records that survived a power cut
   * while an earlier log's unsynced tail did not, dropped (docs/format.md, recovery).
   */
  walGapsRecovered: number;
  flushBytesWritten: number;
  compactionBytesRead: number;
  compactionBytesWritten: number;
  /** (WAL + flush + compaction bytes written) / user bytes written. */
  writeAmplification: number;
  flushes: number;
  compactions: number;
  trivialMoves: number;
  compactionMs: number;
  writes: number;
  writeGroups: number;
  gets: number;
  blockCache: {
    hits: number;
    misses: number;
    hitRate: number;
    bytes: number;
    capacity: number;
    entries: number;
    /** Memory blocks are read into, recycled as blocks leave the cache (engine/table/slot-arena.ts). */
    slots: SlotArenaStats;
  };
  stallMs: number;
  slowdowns: number;
  stops: number;
  /** Failed writes, flushes and compactions; each stopped writes (Engine.health). */
  backgroundErrors: number;
  /** Times writes resumed by themselves after a full disk. */
  autoRecoveries: number;
  scrub: {
    /** Bytes and tables the scrub (and verify) read back and found sound; passes finished. */
    bytesVerified: number;
    tablesVerified: number;
    passes: number;
    /** Tables found damaged and still in the database. */
    damagedTables: number;
  };
  /** Recoveries that dropped a WAL's tail at damage in its middle (walRecovery 'pointInTime'). */
  walDamageDropped: number;
  openSnapshots: number;
  liveBytes: number;
  /**
   * Keys in the database, estimated as RocksDB's estimate-num-keys does: memtable entries plus
   * each table's entries less twice its tombstones (a tombstone and the value it hides). Overwritten
   * keys not yet compacted count once per version, so this is an upper bound until compaction.
   */
  estimatedKeys: number;
}

export function collectStats(db: DbImpl): EngineStats {
  const c = db.counters;
  const v = db.versions.current;
  const levels = v.files.map((files, level) => ({
    level,
    files: files.length,
    bytes: files.reduce((n, f) => n + f.size, 0),
    compactionScore: db.versions.levelScore(v, level),
  }));
  const written = c.walBytes + c.flushBytes + c.compactionBytesWritten;
  const cache = db.blockCache.stats();
  const lookups = cache.hits + cache.misses;
  return {
    levels,
    memtableBytes: db.mem.approximateBytes() + db.imms.reduce((n, m) => n + m.approximateBytes(), 0),
    immutableMemtables: db.imms.length,
    lastSequence: db.versions.lastSequence,
    userBytesWritten: c.userBytes,
    walBytesWritten: c.walBytes,
    walSyncs: c.walSyncs,
    walBytesRecovered: c.walBytesRecovered,
    walGapsRecovered: c.walGapsRecovered,
    flushBytesWritten: c.flushBytes,
    compactionBytesRead: c.compactionBytesRead,
    compactionBytesWritten: c.compactionBytesWritten,
    writeAmplification: c.userBytes === 0 ? 0 : written / c.userBytes,
    flushes: c.flushes,
    compactions: c.compactions,
    trivialMoves: c.trivialMoves,
    compactionMs: Math.round(c.compactionMs),
    writes: c.writes,
    writeGroups: c.writeGroups,
    gets: c.gets,
    blockCache: {
      hits: cache.hits,
      misses: cache.misses,
      hitRate: lookups === 0 ? 0 : cache.hits / lookups,
      bytes: cache.bytes,
      capacity: cache.capacity,
      entries: cache.entries,
      slots: cache.slots,
    },
    stallMs: Math.round(c.stallMs),
    slowdowns: c.slowdowns,
    stops: c.stops,
    backgroundErrors: c.backgroundErrors,
    autoRecoveries: c.autoRecoveries,
    scrub: {
      bytesVerified: db.scrub.bytesVerified,
      tablesVerified: db.scrub.tablesVerified,
      passes: db.scrub.passes,
      damagedTables: db.scrub.list().length,
    },
    walDamageDropped: c.walDamageDropped,
    openSnapshots: db.snapshotCount(),
    liveBytes: levels.reduce((n, l) => n + l.bytes, 0),
    estimatedKeys: estimateKeys(db),
  };
}

function estimateKeys(db: DbImpl): number {
  let n = db.mem.count() + db.imms.reduce((k, m) => k + m.count(), 0);
  for (const files of db.versions.current.files)
    for (const f of files) {
      const p = db.tables.get(f.number).properties;
      n += p.entries - 2 * p.tombstones;
    }
  return Math.max(0, n);
}
