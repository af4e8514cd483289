// Memory the block cache recycles: data blocks read from disk land in slots carved from 1 MiB slabs,
// and a slot goes back on a free list when its block leaves the cache, so a cache miss in the steady
// state allocates nothing.
//
// Why: a fresh 4 KiB Buffer per miss costs more than the read itself. Measured on this machine
// (fs.readSync of 4,200 bytes at random offsets of a 2 MiB table in the page cache, 300k reads):
// into one reused buffer 3.5-4.8 us wall, 1.3-1.4 us CPU; into a fresh Buffer each time 8.7-11.8 us
// wall, 3.5-3.8 us CPU (the kernel's time doubles: new memory is faulted in page by page). Each fresh
// buffer is also off-heap memory that V8 counts towards forcing a garbage collection: at 10M entries,
// 23 of 49 collections during 200k getSync calls were forced by it.
//
// Slots come in size classes of GRAIN bytes (a 4,150-byte block takes a 4,608-byte slot), up to
// MAX_SLOT; bigger blocks are not given slots. Carving stops at `limitBytes`; past it a request is
// served from a free slot of its class or of one a little larger, or not at all (the caller then
// allocates as before). A recycled slot may still be referenced by whoever held its old block:
// the cache marks such a block `released` (block.ts), and holders check that before touching its
// bytes (table-iterator.ts) or copy what they need before the next block is read (getSync).

export const SLAB_BYTES = 1 << 20;
export const GRAIN = 512;
export const MAX_SLOT = 64 * 1024;
/** How many larger classes a request may borrow a free slot from once carving has stopped. */
const BORROW_CLASSES = 2;

export interface SlotArenaStats {
  /** Bytes carved from slabs so far (never returned to the allocator). */
  carvedBytes: number;
  /** Bytes of slots on the free lists. */
  freeBytes: number;
  /** Requests served from a free list. */
  reused: number;
  /** Requests refused (too big, or carving stopped and no free slot fits). */
  refused: number;
}

export class SlotArena {
  private readonly free: Buffer[][] = [];
  private slab: Buffer | undefined;
  private slabUsed = 0;
  private carved = 0;
  private freeBytes = 0;
  private reused = 0;
  private refused = 0;

  constructor(private readonly limitBytes: number) {}

  /** The slot size a request of `n` bytes gets, or 0 if it gets none. */
  static slotSize(n: number): number {
    if (n <= 0 || n > MAX_SLOT) return 0;
    return Math.ceil(n / GRAIN) * GRAIN;
  }

  /**
   * A slot of at least `n` bytes (its length is its class size), or undefined: the caller then
   * allocates the memory itself. The slot's bytes are whatever its last user left.
   */
  acquire(n: number): Buffer | undefined {
    const size = SlotArena.slotSize(n);
    if (size === 0) {
      this.refused++;
      return undefined;
    }
    const c = size / GRAIN;
    const list = this.free[c];
    if (list !== undefined && list.length > 0) return this.take(list);
    if (this.carved + size <= this.limitBytes) return this.carve(size);
    for (let k = c + 1; k <= c + BORROW_CLASSES; k++) {
      const l = this.free[k];
      if (l !== undefined && l.length > 0) return this.take(l);
    }
    this.refused++;
    return undefined;
  }

  /** Puts `slot` (as acquire() returned it) back on its free list. */
  release(slot: Buffer): void {
    const c = slot.length / GRAIN;
    (this.free[c] ??= []).push(slot);
    this.freeBytes += slot.length;
  }

  stats(): SlotArenaStats {
    return { carvedBytes: this.carved, freeBytes: this.freeBytes, reused: this.reused, refused: this.refused };
  }

  private take(list: Buffer[]): Buffer {
    const s = list.pop()!;
    this.freeBytes -= s.length;
    this.reused++;
    return s;
  }

  private carve(size: number): Buffer {
    if (this.slab === undefined || SLAB_BYTES - this.slabUsed < size) {
      // The tail of the old slab (under MAX_SLOT) is left unused.
      this.slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.slabUsed = 0;
    }
    const s = this.slab.subarray(this.slabUsed, this.slabUsed + size);
    this.slabUsed += size;
    this.carved += size;
    return s;
  }
}
