// A least-recently-used cache of decoded column chunks, bounded in bytes rather than entries, because
// chunks of a string column and of a bool column differ in size by an order of magnitude. This bound
// (plus the prefetch window) is what keeps a lazily read frame's memory flat whatever its size.

import type { Column } from './column.js';

export class ChunkCache {
  // A Map iterates in insertion order; re-inserting on a hit makes the first key the coldest.
  private readonly entries = new Map<string, Column>();
  private used = 0;
  hits = 0;
  misses = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 0)) throw new TypeError('cache capacity must be a number of bytes >= 0');
  }

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Column | undefined {
    const c = this.entries.get(key);
    if (c === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, c);
    return c;
  }

  /** Caches `col` unless it alone exceeds the capacity; evicts the coldest entries to make room. */
  set(key: string, col: Column): void {
    const size = col.byteSize;
    const old = this.entries.get(key);
    if (old) {
      this.used -= old.byteSize;
      this.entries.delete(key);
    }
    if (size > this.capacity) return;
    this.entries.set(key, col);
    this.used += size;
    for (const [k, c] of this.entries) {
      if (this.used <= this.capacity) break;
      this.entries.delete(k);
      this.used -= c.byteSize;
    }
  }

  clear(): void {
    this.entries.clear();
    this.used = 0;
  }
}
