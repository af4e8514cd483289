// A least-recently-used cache of decoded column chunks, bounded in bytes rather than entries, because
// chunks of a string column and of a bool column differ in size by an order of magnitude. This bound
// (plus the prefetch window) is what keeps a lazily read frame's memory flat whatever its size.

import { ByteLru } from './byte-lru.js';
import type { Column } from './column.js';

export class ChunkCache extends ByteLru<Column> {
  hits = 0;
  misses = 0;

  get(key: string): Column | undefined {
    const c = this.lookup(key);
    if (c === undefined) this.misses++;
    else this.hits++;
    return c;
  }

  /** Caches `col` unless it alone exceeds the capacity; evicts the coldest entries to make room. */
  set(key: string, col: Column): void {
    this.put(key, col, col.byteSize);
  }
}
