// A least-recently-used map bounded in bytes rather than entries: what the node's chunk cache
// (chunk-cache.ts) and its prepared join right sides (query/join-cache.ts) keep, whose entries
// differ in size by orders of magnitude.

export class ByteLru<V> {
  // A Map iterates in insertion order; re-inserting on a hit makes the first key the coldest.
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private used = 0;

  constructor(
    readonly capacity: number,
    /** The largest entry kept; a larger one is not cached (by default the whole capacity). */
    private readonly maxEntryBytes = capacity,
  ) {
    if (!(capacity >= 0)) throw new TypeError('cache capacity must be a number of bytes >= 0');
  }

  /** Bytes the entries take, as given to put(). */
  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value under `key`, which becomes the most recently used; undefined if none. */
  lookup(key: string): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  /**
   * Keeps `value` (taking `bytes`) under `key`, replacing what was there, unless it is larger than
   * the largest entry kept; evicts the coldest entries to make room.
   */
  put(key: string, value: V, bytes: number): void {
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.used -= old.bytes;
      this.entries.delete(key);
    }
    if (bytes > this.maxEntryBytes || bytes > this.capacity) return;
    this.entries.set(key, { value, bytes });
    this.used += bytes;
    for (const [k, e] of this.entries) {
      if (this.used <= this.capacity) break;
      this.entries.delete(k);
      this.used -= e.bytes;
    }
  }

  clear(): void {
    this.entries.clear();
    this.used = 0;
  }
}
