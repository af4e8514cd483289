// Engine options, each with its default and what it costs (LevelDB's include/leveldb/options.h is the
// model). Sizes are in bytes. README.md's option list repeats the defaults: change both together.

import type { ValueExpiry } from '../format/value-expiry.js';
import type { Vfs } from '../vfs/vfs.js';
import { nodeVfs } from '../vfs/node-vfs.js';

export interface EngineOptions {
  /**
   * Default 4 MiB. Size at which the memtable becomes immutable and is flushed to a level-0 table.
   * Larger: fewer, larger level-0 tables and less compaction work per byte written, but more memory
   * (the active memtable plus up to maxImmutableMemtables waiting, each this size plus a key filter
   * of 1/32 of it and up to one 1 MiB group commit past it, and up to 1.25x this + 1 MiB of a
   * flushed memtable's memory kept for the next ones) and a longer log to replay on open.
   */
  memtableBytes?: number;
  /**
   * Default 4 KiB. Target size of an SSTable data block (before its trailer). Larger: smaller index
   * blocks and better sequential scans, but a point read reads, checksums and caches a whole block
   * for one value.
   */
  blockSize?: number;
  /**
   * Default 256 MiB; 0 disables it. Capacity of the cache of raw, checksum-verified blocks
   * (second-chance eviction, block-cache.ts). The cache fills only as blocks are read. Large by
   * default because a block read from disk costs a pread and a CRC32C check in JavaScript (~3 us per
   * 4 KiB block): a database of a few million small entries then serves random reads from memory.
   * Lower it for small-memory embeddings.
   */
  blockCacheBytes?: number;
  /**
   * Default 10; 0 = no filter. Bloom filter bits per key of each table: 10 answers ~1% of reads of
   * absent keys with a block read. Costs that many bits of memory per key of every open table.
   */
  bloomBitsPerKey?: number;
  /**
   * Default 10 MiB. Size target of level 1; level n targets level1Bytes * levelMultiplier^(n-1), and a
   * level past its target is compacted into the next. Larger: fewer levels (fewer files a miss
   * checks), more bytes rewritten per level-0 compaction.
   */
  level1Bytes?: number;
  /**
   * Default 10. Growth factor between level size targets. Larger: fewer levels, but each byte is
   * rewritten up to ~this many times per level it moves down (write amplification).
   */
  levelMultiplier?: number;
  /**
   * Default 2 MiB. Size at which compaction starts a new output table. Larger: fewer files and
   * index/filter blocks to hold open; each compaction step rewrites more at once.
   */
  targetFileSize?: number;
  /**
   * Default 64 MiB. Largest value accepted by put/batch; larger ones fail with TOO_LARGE. A value is
   * held whole in the memtable, the WAL buffer and a data block of its own.
   */
  maxValueBytes?: number;
  /**
   * Default 8. Level-0 table count at which each write group is delayed by 1 ms, so compaction can
   * catch up before writes stop. Lower: smoother latency sooner, less write throughput in bursts.
   */
  l0SlowdownTrigger?: number;
  /**
   * Default 12; at least l0SlowdownTrigger. Level-0 table count at which writes wait for compaction.
   * Every level-0 table is checked by reads of keys in its range, so this bounds read cost.
   */
  l0StopTrigger?: number;
  /**
   * Default 2. Immutable memtables allowed to wait for their flush before writes stop. More: writes
   * ride out a slow flush longer, at memtableBytes of memory each.
   */
  maxImmutableMemtables?: number;
  /** Default true. Create the directory (and an empty database) if it does not exist. */
  createIfMissing?: boolean;
  /** Default false. Fail with INVALID if the database already exists. */
  errorIfExists?: boolean;
  /**
   * Default true. Run flushes and compactions on a worker thread, which reads and writes the table
   * files itself, so merging never blocks the event loop. Needs a Vfs a worker can open (its
   * workerSpec: node's filesystem has one); with any other Vfs, or false, the jobs run on the event
   * loop thread, which then stalls for the length of each merge step (milliseconds per output table).
   */
  compactionWorker?: boolean;
  /**
   * Default 0; none. Pace of the background scrub that re-reads every table and checks its
   * checksums (scrub.ts), in bytes per second: that much disk read bandwidth, spent all the time
   * (a pass, a pause of scrubIntervalMs, the next pass). Engine.verify() checks on demand.
   */
  scrubBytesPerSecond?: number;
  /**
   * Default 60000. The pause between two background scrub passes: on a small database, whose pass
   * takes milliseconds, damage done after a pass stays unfound (unless read) for up to this long.
   */
  scrubIntervalMs?: number;
  /**
   * Default strict. What recovery does with a WAL damaged in its middle (which no crash produces:
   * a bad disk, a stray write): 'strict' refuses to open (CORRUPTION); 'pointInTime' keeps the
   * records before the damage and drops the rest of that log and every later one (RocksDB's
   * kPointInTimeRecovery): acknowledged writes after the damage are lost here, and must come back
   * from elsewhere (a cluster node resyncs them from its replicas).
   */
  walRecovery?: 'strict' | 'pointInTime';
  /**
   * Default false. With an object, values follow the expiry convention of format/value-expiry.ts (docs/format.md 2.1):
   * a value whose first byte has bit 0x02 set carries its expiry time in bytes 1..8, and from that
   * time on reads as deleted (get, iterators) and is dropped by compaction. Costs one byte test per
   * value read. Leave it off when values are arbitrary bytes: a value that happens to start with
   * such a byte would vanish.
   */
  valueExpiry?: ValueExpiry | false;
  /**
   * Default node's filesystem (nodeVfs). All file I/O goes through it; tests pass MemVfs (power cuts)
   * or ErrorVfs (injected I/O errors).
   */
  vfs?: Vfs;
}

export type ResolvedOptions = Required<EngineOptions>;

export const MAX_KEY_BYTES = 65536;

export function resolveOptions(o: EngineOptions = {}): ResolvedOptions {
  if (o === null || typeof o !== 'object') throw new TypeError('options must be an object');
  const r: ResolvedOptions = {
    memtableBytes: o.memtableBytes ?? 4 * 1024 * 1024,
    blockSize: o.blockSize ?? 4096,
    blockCacheBytes: o.blockCacheBytes ?? 256 * 1024 * 1024,
    bloomBitsPerKey: o.bloomBitsPerKey ?? 10,
    level1Bytes: o.level1Bytes ?? 10 * 1024 * 1024,
    levelMultiplier: o.levelMultiplier ?? 10,
    targetFileSize: o.targetFileSize ?? 2 * 1024 * 1024,
    maxValueBytes: o.maxValueBytes ?? 64 * 1024 * 1024,
    l0SlowdownTrigger: o.l0SlowdownTrigger ?? 8,
    l0StopTrigger: o.l0StopTrigger ?? 12,
    maxImmutableMemtables: o.maxImmutableMemtables ?? 2,
    createIfMissing: o.createIfMissing ?? true,
    errorIfExists: o.errorIfExists ?? false,
    compactionWorker: o.compactionWorker ?? true,
    scrubBytesPerSecond: o.scrubBytesPerSecond ?? 0,
    scrubIntervalMs: o.scrubIntervalMs ?? 60_000,
    walRecovery: o.walRecovery ?? 'strict',
    valueExpiry: o.valueExpiry ?? false,
    vfs: o.vfs ?? nodeVfs,
  };
  const positive: Array<keyof ResolvedOptions> = [
    'memtableBytes',
    'blockSize',
    'level1Bytes',
    'levelMultiplier',
    'targetFileSize',
    'maxValueBytes',
    'l0SlowdownTrigger',
    'l0StopTrigger',
    'maxImmutableMemtables',
  ];
  for (const k of positive) {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      throw new TypeError(`option ${k} must be a positive number`);
  }
  if (r.valueExpiry !== false) {
    const e = r.valueExpiry;
    if (e === null || typeof e !== 'object') throw new TypeError('option valueExpiry must be an object or false');
    if (e.keysBelow !== undefined && !(e.keysBelow instanceof Uint8Array))
      throw new TypeError('option valueExpiry.keysBelow must be a Uint8Array');
    if (e.clock !== undefined && typeof e.clock !== 'function')
      throw new TypeError('option valueExpiry.clock must be a function');
  }
  if (r.walRecovery !== 'strict' && r.walRecovery !== 'pointInTime')
    throw new TypeError("option walRecovery must be 'strict' or 'pointInTime'");
  for (const k of ['blockCacheBytes', 'bloomBitsPerKey', 'scrubBytesPerSecond', 'scrubIntervalMs'] as const) {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new TypeError(`option ${k} must be a non-negative number`);
  }
  if (r.l0StopTrigger < r.l0SlowdownTrigger) throw new TypeError('l0StopTrigger must be >= l0SlowdownTrigger');
  return r;
}
