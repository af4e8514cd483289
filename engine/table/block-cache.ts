// The LRU cache of decoded blocks (block.ts) shared by every open table, bounded in bytes: each
// entry is charged its block's approximate memory. A Map keeps insertion order, so the least
// recently used entry is the first one and a hit moves its entry to the end: O(1) both ways.
//
// Keys are one number, (fileNumber mod 2^21) * 2^32 + offset, so a lookup hashes a number and builds
// no string. Two live files 2^21 numbers apart would share keys; each entry records its real file
// number and offset, and a mismatch is a miss, so a collision costs a reload, never a wrong block.

import type { Block } from './block.js';

const FILE_SPAN = 0x100000000; // 2^32: table offsets stay below 4 GiB (TableBuilder enforces it).
const FILE_MOD = 0x200000; // 2^21 file numbers * 2^32 offsets = 2^53 keys.
/** Bytes charged per entry on top of the block: the Map slot and the entry object. */
const ENTRY_OVERHEAD = 96;

export interface BlockCacheStats {
  hits: number;
  misses: number;
  /** Bytes charged for the entries held now. */
  bytes: number;
  capacity: number;
  entries: number;
  evictions: number;
}

interface Entry {
  fileNumber: number;
  offset: number;
  block: Block;
  charge: number;
}

function cacheKey(fileNumber: number, offset: number): number {
  return (fileNumber % FILE_MOD) * FILE_SPAN + offset;
}

export class BlockCache {
  private readonly map = new Map<number, Entry>();
  private readonly capacity: number;
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  /** `capacityBytes` 0 disables caching: get() always misses and set() keeps nothing. */
  constructor(capacityBytes: number) {
    if (!(capacityBytes >= 0) || !Number.isFinite(capacityBytes)) {
      throw new TypeError(`BlockCache capacity must be a finite number >= 0, got ${capacityBytes}`);
    }
    this.capacity = capacityBytes;
  }

  /** The cached block, made most recently used; undefined (a counted miss) if absent. */
  get(fileNumber: number, offset: number): Block | undefined {
    const key = cacheKey(fileNumber, offset);
    const map = this.map;
    const e = map.get(key);
    if (e === undefined || e.fileNumber !== fileNumber || e.offset !== offset) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Move to the most recent end. delete + set is the only way to reorder a Map.
    map.delete(key);
    map.set(key, e);
    return e.block;
  }

  /**
   * Inserts (or replaces) the block at (fileNumber, offset), then evicts least recently used
   * entries until the charged bytes fit. A block larger than the whole capacity is not kept.
   */
  set(fileNumber: number, offset: number, block: Block): void {
    const charge = block.charge + ENTRY_OVERHEAD;
    if (charge > this.capacity) return;
    const key = cacheKey(fileNumber, offset);
    const old = this.map.get(key);
    if (old !== undefined) {
      this.map.delete(key);
      this.bytes -= old.charge;
    }
    this.map.set(key, { fileNumber, offset, block, charge });
    this.bytes += charge;
    if (this.bytes > this.capacity) this.evict();
  }

  /** Drops every block of `fileNumber` (call when the table is deleted). O(entries): rare. */
  evictFile(fileNumber: number): void {
    for (const [key, e] of this.map) {
      if (e.fileNumber === fileNumber) {
        this.map.delete(key);
        this.bytes -= e.charge;
      }
    }
  }

  /** Drops everything; the counters are kept. */
  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }

  stats(): BlockCacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      bytes: this.bytes,
      capacity: this.capacity,
      entries: this.map.size,
      evictions: this.evictions,
    };
  }

  private evict(): void {
    for (const [key, e] of this.map) {
      if (this.bytes <= this.capacity) break;
      this.map.delete(key);
      this.bytes -= e.charge;
      this.evictions++;
    }
  }
}
