// Engine options and their defaults. Sizes are in bytes.

import type { Vfs } from '../vfs/vfs.js';
import { nodeVfs } from '../vfs/node-vfs.js';

export interface EngineOptions {
  /** Memtable size at which it becomes immutable and is flushed to a level-0 table. */
  memtableBytes?: number;
  /** Target size of an SSTable data block. */
  blockSize?: number;
  /**
   * Capacity of the cache of raw, checksum-verified blocks (second-chance eviction, block-cache.ts);
   * 0 disables it. The cache fills only as blocks are read. 256 MiB by default because a block read
   * from disk costs a pread and a CRC32C check in JavaScript (~3 us per 4 KiB block): a database of a
   * few million small entries then serves random reads from memory. Lower it for small-memory
   * embeddings.
   */
  blockCacheBytes?: number;
  /** Bloom filter bits per key (0 = no filter). */
  bloomBitsPerKey?: number;
  /** Size target of level 1; level n targets level1Bytes * levelMultiplier^(n-1). */
  level1Bytes?: number;
  levelMultiplier?: number;
  /** Size at which compaction starts a new output table. */
  targetFileSize?: number;
  /** Largest value accepted by put/batch; larger ones fail with TOO_LARGE. */
  maxValueBytes?: number;
  /** Level-0 table counts at which writes are slowed (1 ms per write group) and stopped. */
  l0SlowdownTrigger?: number;
  l0StopTrigger?: number;
  /** Immutable memtables allowed to wait for their flush before writes stop. */
  maxImmutableMemtables?: number;
  /** Create the directory if it does not exist (default true). */
  createIfMissing?: boolean;
  /** Fail if the database already exists (default false). */
  errorIfExists?: boolean;
  /** Run compactions on a worker thread (default true). */
  compactionWorker?: boolean;
  /** Filesystem; tests pass MemVfs or ErrorVfs. */
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
  for (const k of ['blockCacheBytes', 'bloomBitsPerKey'] as const) {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new TypeError(`option ${k} must be a non-negative number`);
  }
  if (r.l0StopTrigger < r.l0SlowdownTrigger) throw new TypeError('l0StopTrigger must be >= l0SlowdownTrigger');
  return r;
}
