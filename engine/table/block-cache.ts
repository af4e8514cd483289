// The cache of raw blocks (block.ts) shared by every open table, bounded in bytes: each entry is
// charged its block's memory, and entries not used since they were last considered go first.
//
// Lookup is two Maps keyed by small integers (file number, then block offset), so both keys stay
// V8 small integers (no boxed-number hashing, no string building). Recency is an intrusive doubly
// linked list through the entries rather than a Map's insertion order: a hit then costs a few
// pointer writes instead of Map.delete + Map.set. Measured per hit on 5,000 cached blocks:
// one Map with numeric keys fileNumber * 2^32 + offset, reordered by delete + set: ~174 ns;
// two Maps with small-integer keys + list move: ~58 ns.
//
// Two cheaper hit paths on top (readrandom at 1M entries spent ~8% of getSync in the Map lookups and
// the relink):
//   - an owner may pass a slot array with set(): the cache stores the entry in owner[slot] and clears
//     it when the entry leaves, so the owner (TableReader, one slot per data block) finds a cached
//     block with one array load and reports the hit with touch();
//   - a hit only sets the entry's `referenced` flag; eviction is second-chance FIFO (the CLOCK
//     algorithm over the list): the oldest entry goes unless it was referenced since it was linked,
//     in which case it is cleared and relinked at the newest end and the next oldest is considered.
//     So a hit costs one store however the hits fall, where LRU's relink-per-hit (even limited to
//     blocks outside the newest quarter) measured 6.6% of a cached getSync profile at 1M
//     entries (its random hits fall mostly outside that quarter). A block read once and never again
//     (a scan) leaves before blocks that are read repeatedly.
//
// Memory: the cache also owns a SlotArena (slot-arena.ts). A table reader asks it for a slot to
// read a missed block into (acquireSlot) and hands the slot back with set(); when the entry leaves
// the cache its slot returns to the arena and its Block is marked `released`, so misses in the
// steady state allocate nothing.

import { type Block, OBJECT_OVERHEAD } from './block.js';
import { SLAB_BYTES, SlotArena, type SlotArenaStats } from './slot-arena.js';

/** Bytes charged per entry on top of the block: the Map slot and the entry object. */
export const ENTRY_OVERHEAD = 120;

/**
 * The largest block read into the cache's lend buffer (lendBuffer); a bigger block read without
 * caching gets memory of its own. The buffer grows to the largest block lent so far and is kept: a
 * few MiB at most, where a scan of 0.5 MB dataframe values allocated (and left to the garbage
 * collector) a fresh buffer per value.
 */
const LEND_MAX = 4 * 1024 * 1024;
const LEND_GRAIN = 64 * 1024;

export interface BlockCacheStats {
  hits: number;
  misses: number;
  /** Bytes charged for the entries held now. */
  bytes: number;
  capacity: number;
  entries: number;
  evictions: number;
  /** The slot arena's counters (memory blocks are read into; slot-arena.ts). */
  slots: SlotArenaStats;
}

/** Where an owner wants its entries (see set()). */
export type BlockSlots = (BlockCacheEntry | undefined)[];

export class BlockCacheEntry {
  fileNumber: number;
  offset: number;
  block: Block;
  charge: number;
  /** Used since it was linked at the newest end: spared (and cleared) by the next eviction pass. */
  referenced = false;
  owner: BlockSlots | undefined = undefined;
  slot = 0;
  /** The arena slot holding the block's bytes, returned to the arena when the entry leaves. */
  mem: Buffer | undefined = undefined;
  /** Towards the most recently used end (the sentinel's prev is the oldest entry). */
  newer: BlockCacheEntry;
  older: BlockCacheEntry;

  constructor(fileNumber: number, offset: number, block: Block, charge: number) {
    this.fileNumber = fileNumber;
    this.offset = offset;
    this.block = block;
    this.charge = charge;
    this.newer = this;
    this.older = this;
  }
}

export class BlockCache {
  private readonly files = new Map<number, Map<number, BlockCacheEntry>>();
  /** Sentinel of the circular recency list: head.older is the newest entry, head.newer the oldest. */
  private readonly head: BlockCacheEntry;
  private readonly capacity: number;
  private bytes = 0;
  private count = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private readonly arena: SlotArena;
  private lend: Buffer | undefined;

  /** `capacityBytes` 0 disables caching: get() always misses and set() keeps nothing. */
  constructor(capacityBytes: number) {
    if (!(capacityBytes >= 0) || !Number.isFinite(capacityBytes)) {
      throw new TypeError(`BlockCache capacity must be a finite number >= 0, got ${capacityBytes}`);
    }
    this.capacity = capacityBytes;
    // Carving may pass the capacity by one slab: a slot is taken before the entry it replaces leaves.
    this.arena = new SlotArena(capacityBytes === 0 ? 0 : capacityBytes + SLAB_BYTES);
    this.head = new BlockCacheEntry(-1, -1, undefined as unknown as Block, 0);
  }

  /** The cached block, made most recently used; undefined (a counted miss) if absent. */
  get(fileNumber: number, offset: number): Block | undefined {
    const e = this.files.get(fileNumber)?.get(offset);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    return this.touch(e);
  }

  /** Counts a hit on `e` (found through an owner's slots) and returns its block. */
  touch(e: BlockCacheEntry): Block {
    this.hits++;
    e.referenced = true;
    return e.block;
  }

  /** Counts a miss found through an owner's slots. */
  miss(): void {
    this.misses++;
  }

  /**
   * A slot of at least `n` bytes to read a block into, or undefined (allocate as usual). A block
   * read into it must be passed to set() with the slot (or the slot to giveBack()), and must be
   * opened with the slot's length as its held bytes, which is what set() charges.
   */
  acquireSlot(n: number): Buffer | undefined {
    const size = SlotArena.slotSize(n);
    if (size === 0 || size + OBJECT_OVERHEAD + ENTRY_OVERHEAD > this.capacity) return undefined;
    return this.arena.acquire(n);
  }

  /**
   * Memory of at least `n` bytes to read a block into that is used at once and not cached (a get
   * with fillCache false), or undefined when `n` is over LEND_MAX (allocate as usual). It is the
   * same memory every time: what was read into it is valid only until the next call, so a block
   * read into it must not outlive the synchronous read that asked for it (an iterator's blocks must
   * not be read into it). Never a cache slot: cached blocks are not disturbed.
   */
  lendBuffer(n: number): Buffer | undefined {
    if (n > LEND_MAX) return undefined;
    let b = this.lend;
    if (b === undefined || b.length < n) {
      // Rounded up to 64 KiB: a scan's value sizes vary a little from one chunk to the next.
      b = this.lend = Buffer.allocUnsafeSlow(Math.min(LEND_MAX, Math.ceil(n / LEND_GRAIN) * LEND_GRAIN));
    }
    return b;
  }

  /** Returns a slot from acquireSlot() that did not end up in the cache (its block failed to read). */
  giveBack(mem: Buffer): void {
    this.arena.release(mem);
  }

  /**
   * Inserts (or replaces) the block at (fileNumber, offset), then evicts least recently used
   * entries until the charged bytes fit. A block larger than the whole capacity is not kept.
   * With `owner`, the entry is also stored in owner[slot] for as long as it is cached.
   * With `mem` (from acquireSlot, holding the block's bytes), the slot returns to the arena when
   * the entry leaves and the block is marked released; REQUIRES that the block fits the capacity
   * (acquireSlot checked it).
   */
  set(fileNumber: number, offset: number, block: Block, owner?: BlockSlots, slot = 0, mem?: Buffer): void {
    const charge = block.charge + ENTRY_OVERHEAD;
    if (charge > this.capacity) {
      if (mem !== undefined) throw new Error('BlockCache.set: a slot-backed block must fit the cache');
      return;
    }
    let blocks = this.files.get(fileNumber);
    if (blocks === undefined) {
      blocks = new Map();
      this.files.set(fileNumber, blocks);
    }
    const old = blocks.get(offset);
    if (old !== undefined) {
      // Replaced in place: the map entry is overwritten below, so the file's map must stay.
      unlink(old);
      this.release(old);
      this.bytes -= old.charge;
      this.count--;
    }
    const e = new BlockCacheEntry(fileNumber, offset, block, charge);
    blocks.set(offset, e);
    pushNewest(this.head, e);
    if (owner !== undefined) {
      e.owner = owner;
      e.slot = slot;
      owner[slot] = e;
    }
    e.mem = mem;
    this.bytes += charge;
    this.count++;
    while (this.bytes > this.capacity) {
      // The entry just set is never the victim (it fits alone, so another entry is in the list).
      let victim = this.head.newer;
      if (victim === e) victim = e.newer;
      if (victim.referenced) {
        victim.referenced = false;
        unlink(victim);
        pushNewest(this.head, victim);
        continue;
      }
      this.remove(victim, this.files.get(victim.fileNumber)!);
      this.evictions++;
    }
  }

  /** Drops every block of `fileNumber` (call when the table is deleted). */
  evictFile(fileNumber: number): void {
    const blocks = this.files.get(fileNumber);
    if (blocks === undefined) return;
    for (const e of blocks.values()) {
      unlink(e);
      this.release(e);
      this.bytes -= e.charge;
      this.count--;
    }
    this.files.delete(fileNumber);
  }

  /** Drops everything; the counters are kept. */
  clear(): void {
    for (const blocks of this.files.values()) for (const e of blocks.values()) this.release(e);
    this.files.clear();
    this.head.newer = this.head;
    this.head.older = this.head;
    this.bytes = 0;
    this.count = 0;
  }

  stats(): BlockCacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      bytes: this.bytes,
      capacity: this.capacity,
      entries: this.count,
      evictions: this.evictions,
      slots: this.arena.stats(),
    };
  }

  /** Clears the owner's slot if it still holds `e`, and returns e's memory to the arena. */
  private release(e: BlockCacheEntry): void {
    const owner = e.owner;
    if (owner !== undefined && owner[e.slot] === e) owner[e.slot] = undefined;
    e.owner = undefined;
    const mem = e.mem;
    if (mem !== undefined) {
      e.block.released = true;
      e.mem = undefined;
      this.arena.release(mem);
    }
  }

  private remove(e: BlockCacheEntry, blocks: Map<number, BlockCacheEntry>): void {
    unlink(e);
    this.release(e);
    blocks.delete(e.offset);
    if (blocks.size === 0) this.files.delete(e.fileNumber);
    this.bytes -= e.charge;
    this.count--;
  }
}

function unlink(e: BlockCacheEntry): void {
  e.older.newer = e.newer;
  e.newer.older = e.older;
}

function pushNewest(head: BlockCacheEntry, e: BlockCacheEntry): void {
  const newest = head.older;
  e.older = newest;
  e.newer = head;
  newest.newer = e;
  head.older = e;
}
