// The memtable: recent writes, sorted in internal-key order. Entries sit in typed-array columns;
// their order is kept in leaves (sorted runs of entry indices) indexed by functional-red-black-tree.
//
// Why leaves. Keyed by entry, the persistent tree path-copies ~20-25 nodes per insert (~1.4 KB of
// garbage; a 64 MiB memtable of 1 KB values holds ~64k entries), and the deepest copies live long
// enough to be promoted (measured ~860 bytes per write: the old generation churned into a
// mark-compact about every second under a replicated write load, bench/cluster/README.md). Keyed
// by leaf, as a B+-tree's interior: an insert finds its leaf through the tree, binary-searches it and shifts the
// leaf's Int32Array in place; only a split (a full leaf of LEAF_CAPACITY) inserts one new leaf into
// the tree, about once per LEAF_CAPACITY / 2 inserts. Leaves are also linked in order (prev/next),
// so iteration walks leaves without tree iterators. Leaves never merge or go away (entries are
// never removed), and a split keeps the left half in the old leaf object, so a leaf's first entry
// never changes, except the first leaf's (an entry below all others). The tree holds every leaf but
// the first, keyed by its first entry's index (a number, so a walk reads the entry columns straight
// from the node, not through leaf objects and their arrays); a walk that finds no key at or below
// its target lands in the first leaf.
//
// How iterators see a frozen view. LevelDB's skiplist memtable and Pebble's arenaskl let readers run
// beside inserts because a node, once linked, is never moved or freed: a reader's position is a
// node, and a newly linked node is either seen whole or not at all. Pebble then hides entries newer
// than a reader's sequence number above the memtable. The same two ideas here, in one thread:
// - Entries are append-only and their indices only grow, so the view an iterator was created on is
//   exactly the entries with index < `limit` (the entry count when it started); it steps over the
//   rest. Sequence numbers are unique, so no later entry equals a visible one.
// - An iterator's position is its entry (an index that never changes), not a slot. The slot (leaf,
//   pos) is a cache, valid while the leaf's version is the one seen there; a leaf's version moves
//   whenever its entries shift (an insert before its end, a split). A stale slot is found again by
//   a binary search in the same leaf, or through the tree when a split moved the entry right.
// That is the snapshot a persistent tree's saved root gives, at the cost of a binary search when
// the iterator's leaf changed under it rather than a new tree path per insert.
//
// Arena slabs are reused. A fresh slab costs a page fault per 4 KiB on first touch and, as external
// memory, drives V8 to mark-compacts (bench/engine/large-writes.ts, 512 KiB values: with the reuse
// below and the flush's block buffer handed on, page faults 176 -> 114 per stored MB and
// mark-compacts 10 -> 3 per 128 MB). So a memtable is reference counted (the engine's one
// reference while it is active or immutable, one per open MemtableIterator), and when the count
// reaches zero its slabs go to the engine's SlabPool, from which later memtables take them. Every
// view of a slab is held by one of those references or lent for one synchronous call (get, getWith,
// a flush copying entries out): an iterator keeps its memtable's slabs, so its frozen view stays
// intact until it is closed. An iterator never closed only keeps its slabs out of the pool (the
// garbage collector frees them with it); the engine's get returns copies.

import createTree from 'functional-red-black-tree';
import { compareBytes } from '../../kv/index.js';
import { Kind } from '../format/internal-key.js';
import type { InternalIterator } from '../format/iterator.js';
import { bloomHash, bloomHashRange } from '../table/bloom.js';
import { KeyFilter } from '../util/key-filter.js';
import { INVARIANTS, invariantViolated } from '../util/invariants.js';

/**
 * Entries live in typed-array columns, not in objects: an entry is its index (a small integer), and
 * its fields sit at meta[index * STRIDE ..] and seqs[index]. No object lives per entry: an object
 * per entry (12 fields, ~120 bytes) survived the young generation until the flush, every scavenge
 * copied it and every mark-compact traced it, and those pauses were most of fillrandom's event-loop
 * lag. The columns are append-only, so an entry an iterator sees never changes.
 *
 * meta per entry: slab | key offset | key length | value offset | value length | kind | w0..w3.
 * The key is slabs[slab][ko, ko + kl), the value slabs[slab][vo, vo + vl). w0..w3 are the key's
 * first 16 bytes as big-endian 32-bit words (zero-padded) with the sign bit flipped, so signed
 * comparison of the int32s is unsigned order of the bytes: most comparisons are on numbers and
 * never touch the key's bytes (measured 160k -> 1M+ gets/s on 35k zero-padded 16-byte keys).
 *
 * Entry 0 is scratch for the key being searched for (get, seek), whose bytes are slabs[0].
 */
const STRIDE = 10;
const M_SLAB = 0;
const M_KO = 1;
const M_KL = 2;
const M_VO = 3;
const M_VL = 4;
const M_KIND = 5;
const M_W0 = 6;
const SEARCH = 0;
const FIRST_CAPACITY = 1024;

/**
 * Entries per leaf. An insert costs a tree walk of log2(leaves) comparisons, a binary search of
 * log2(LEAF_CAPACITY) and a shift of ~LEAF_CAPACITY / 4 slots on average; a split, one tree insert
 * per LEAF_CAPACITY / 2 inserts or more. 32, 64 and 128 measured alike (the memtable alone, 200k
 * adds of 100-byte values: 1.4-3.0 us per add at load average 12-14, noise bigger than the gaps).
 */
const LEAF_CAPACITY = 64;

/** Most leaves per block of slots (newLeaf): 64 KiB of slots. */
const LEAF_BLOCK = 256;

/** A sorted run of entry indices: see the file's header. */
class Leaf {
  /** A view of LEAF_CAPACITY slots in a memtable's shared block (see newLeaf). */
  constructor(readonly items: Int32Array) {}
  /** Entries in items[0, n); never 0 once the leaf is in the tree. */
  n = 0;
  /** Moves whenever entries already here change slot (an insert before the end, a split). */
  version = 0;
  prev: Leaf | null = null;
  next: Leaf | null = null;
}

function word(k: Uint8Array, ko: number, n: number, i: number): number {
  return (
    (((i < n ? k[ko + i]! : 0) << 24) |
      ((i + 1 < n ? k[ko + i + 1]! : 0) << 16) |
      ((i + 2 < n ? k[ko + i + 2]! : 0) << 8) |
      (i + 3 < n ? k[ko + i + 3]! : 0)) ^
    0x80000000
  );
}

const EMPTY = new Uint8Array(0);

/**
 * The size of a large record's own buffer when it may be reused: n rounded up to an eighth of its
 * power of two (at least 64 KiB), so that records a few bytes longer than the last ones (one more
 * digit in a key) still fit the buffers those leave in the pool. At most 1/8 more than n.
 */
function largeSlabSize(n: number): number {
  const step = Math.max(64 * 1024, 2 ** Math.floor(Math.log2(n)) / 8);
  return Math.ceil(n / step) * step;
}

/** The arena's first slab; each next one doubles, up to ARENA_MAX_SLAB. */
const ARENA_FIRST_SLAB = 16 * 1024;
const ARENA_MAX_SLAB = 1024 * 1024;

/**
 * Per-entry bookkeeping charged to the memtable besides key and value bytes: the columns (48 bytes),
 * a leaf slot (4 bytes, leaves ~3/4 full) and a share of the leaves and the tree, rounded up.
 */
const ENTRY_OVERHEAD = 64;
/** The key filter's sizing when the engine does not say (its default memtableBytes). */
const DEFAULT_BUDGET = 4 * 1024 * 1024;

/**
 * Slabs of released memtables, for the next memtables' arenas (see the file's header). Holds at most
 * `limitBytes`, the newest slabs; older ones are left to the garbage collector. A slab's old bytes
 * are not cleared: a memtable only ever points at bytes written into it after it took the slab.
 */
export class SlabPool {
  private readonly free: Uint8Array[] = [];
  private bytes = 0;
  /** Slabs handed out again (tests, measurements). */
  reused = 0;
  constructor(readonly limitBytes: number) {}

  /** The smallest free slab of min to max bytes, taken out of the pool; undefined if none. */
  take(min: number, max: number): Uint8Array | undefined {
    const f = this.free;
    let best = -1;
    for (let i = 0; i < f.length; i++) {
      const n = f[i]!.length;
      if (n >= min && n <= max && (best < 0 || n < f[best]!.length)) best = i;
    }
    if (best < 0) return undefined;
    const b = f[best]!;
    f[best] = f[f.length - 1]!;
    f.pop();
    this.bytes -= b.length;
    this.reused++;
    return b;
  }

  /** Keeps `b` for reuse, dropping the oldest slabs held if it would exceed the limit. */
  give(b: Uint8Array): void {
    if (b.length > this.limitBytes) return;
    const f = this.free;
    // The newest slabs are the likeliest to fit the next writes (their sizes follow the workload).
    while (this.bytes + b.length > this.limitBytes) this.bytes -= f.shift()!.length;
    f.push(b);
    this.bytes += b.length;
  }

  /** Bytes held for reuse. */
  heldBytes(): number {
    return this.bytes;
  }
}

export interface MemGetResult {
  kind: number;
  value: Uint8Array;
  seq: number;
}

export class Memtable {
  private meta = new Int32Array(FIRST_CAPACITY * STRIDE);
  private seqs = new Float64Array(FIRST_CAPACITY);
  /** Next free entry index (entry 0 is the search scratch). */
  private next = 1;
  /** Buffers entries point into: slabs[0] is the search key; then the arena's slabs, in order. */
  private readonly slabs: Uint8Array[] = [EMPTY];
  /** Internal-key order of entries a and b: user key ascending, then sequence and kind descending. */
  private readonly compare = (a: number, b: number): number => {
    const c = this.compareUser(a, b);
    if (c !== 0) return c;
    const m = this.meta;
    const sa = this.seqs[a]!;
    const sb = this.seqs[b]!;
    if (sa !== sb) return sa > sb ? -1 : 1;
    return m[b * STRIDE + M_KIND]! - m[a * STRIDE + M_KIND]!;
  };
  /** Every leaf but the first, keyed by its first entry. */
  private tree: createTree.Tree<number, Leaf> = createTree(this.compare);
  /** The first and last leaves of the chain, null while the memtable is empty. */
  private first: Leaf | null = null;
  private last: Leaf | null = null;
  private payload = 0;
  /**
   * The arena: encoded write batches live in a few large slabs rather than one buffer each, and
   * entries point into them. A buffer per write survived with its entries, and thousands of small
   * ArrayBuffers made every scavenge and mark-compact slower (fillrandom loop lag).
   */
  private slab: Uint8Array = EMPTY;
  private slabUsed = 0;
  /** Index in slabs of arenaBuffer. */
  private arenaSlab = 0;
  /** The WAL file that holds this memtable's writes; obsolete once the memtable is flushed. */
  readonly logNumber: number;
  /** Every key added, by bloomHash: a get for a key not here skips the tree walk (key-filter.ts). */
  private readonly filter: KeyFilter;

  /** References: the owner's (from construction) and each open iterator's; see the file's header. */
  private refs = 1;
  private readonly pool: SlabPool | undefined;

  /**
   * `budgetBytes`: the memtable size the engine switches at, which sizes the key filter. `pool`: where
   * the arena takes slabs from and returns them to once the last reference is dropped.
   */
  constructor(logNumber: number, budgetBytes = DEFAULT_BUDGET, pool?: SlabPool) {
    this.logNumber = logNumber;
    this.filter = new KeyFilter(budgetBytes);
    this.pool = pool;
  }

  /** Takes a reference (MemtableIterator does). */
  ref(): void {
    if (INVARIANTS && this.refs <= 0) invariantViolated('Memtable.ref() after its last reference was dropped');
    this.refs++;
  }

  /**
   * Drops a reference; the last one gives the arena's slabs to the pool. Nothing may use the memtable
   * or a view of its bytes after dropping its last reference.
   */
  unref(): void {
    if (INVARIANTS && this.refs <= 0) invariantViolated('Memtable.unref() below zero');
    if (--this.refs > 0) return;
    const pool = this.pool;
    // slabs[0] is the search key, not the arena's.
    if (pool !== undefined) for (let i = 1; i < this.slabs.length; i++) pool.give(this.slabs[i]!);
    this.slabs.length = 1;
    this.slab = EMPTY;
    this.slabUsed = 0;
    this.arenaBuffer = EMPTY;
  }

  /** References held (tests). */
  refCount(): number {
    return this.refs;
  }

  /**
   * User-key order of the entries at meta offsets ia and ib once their first 16 bytes (the words)
   * are equal: shorter first, unless both are longer than 16 bytes and differ after them.
   */
  private compareTail(ia: number, ib: number): number {
    const m = this.meta;
    const la = m[ia + M_KL]!;
    const lb = m[ib + M_KL]!;
    // Equal words: the first min(la, lb, 16) bytes are equal and any padding is zeros, so up to 16
    // bytes the shorter key sorts first.
    if (la <= 16 || lb <= 16) return la - lb;
    const ka = m[ia + M_KO]!;
    const kb = m[ib + M_KO]!;
    return compareBytes(this.slabs[m[ia + M_SLAB]!]!, this.slabs[m[ib + M_SLAB]!]!, ka + 16, ka + la, kb + 16, kb + lb);
  }

  /** REQUIRES: (key, seq) not already present (sequences are unique). Copies key and value. */
  add(seq: number, kind: number, key: Uint8Array, value: Uint8Array): void {
    this.reserve(key.length + value.length);
    const buf = this.arenaBuffer;
    const off = this.arenaOffset;
    buf.set(key, off);
    buf.set(value, off + key.length);
    this.addAt(seq, kind, buf, off, key.length, off + key.length, value.length);
  }

  /**
   * Adds the entry whose key is buf[ko, ko + kl) and value buf[vo, vo + vl), where buf is an
   * arenaBuffer this memtable handed out (reserve). REQUIRES: as add().
   */
  addAt(seq: number, kind: number, buf: Uint8Array, ko: number, kl: number, vo: number, vl: number): void {
    const slab = this.slabIndexOf(buf);
    const i = this.next++;
    if (i === this.seqs.length) this.grow();
    const m = this.meta;
    const o = i * STRIDE;
    m[o + M_SLAB] = slab;
    m[o + M_KO] = ko;
    m[o + M_KL] = kl;
    m[o + M_VO] = vo;
    m[o + M_VL] = vl;
    m[o + M_KIND] = kind;
    this.setWords(o, buf, ko, kl);
    this.seqs[i] = seq;
    this.filter.add(bloomHashRange(buf, ko, ko + kl));
    this.insert(i);
    this.payload += kl + vl;
  }

  /** Puts entry i in its leaf, splitting the leaf if full. */
  private insert(i: number): void {
    let leaf = this.leafOf(i);
    if (leaf === null) {
      leaf = this.newLeaf();
      leaf.items[0] = i;
      leaf.n = 1;
      this.first = leaf;
      this.last = leaf;
      return;
    }
    let pos = this.lowerBound(leaf, i);
    if (leaf.n === LEAF_CAPACITY) {
      const right = this.newLeaf();
      if (pos === LEAF_CAPACITY) {
        // Appending to a full leaf (ascending keys): start the next leaf rather than leave two half
        // full ones behind, so a sequential fill packs its leaves.
        right.items[0] = i;
        right.n = 1;
        this.link(leaf, right);
        return;
      }
      const half = LEAF_CAPACITY >>> 1;
      right.items.set(leaf.items.subarray(half));
      right.n = LEAF_CAPACITY - half;
      leaf.n = half;
      leaf.version++;
      this.link(leaf, right);
      if (pos > half) {
        leaf = right;
        pos -= half;
      }
    }
    const items = leaf.items;
    if (pos < leaf.n) {
      items.copyWithin(pos + 1, pos, leaf.n);
      leaf.version++;
    }
    items[pos] = i;
    leaf.n++;
  }

  /**
   * A leaf whose slots are a view into a block shared with other leaves: an Int32Array of its own
   * per leaf cost ~13 us (a backing store outside the heap each; --cpu-prof of write-path.ts).
   * Blocks double from 4 leaves up to LEAF_BLOCK, so a small memtable keeps small ones.
   */
  private newLeaf(): Leaf {
    if (this.leafSlotsUsed === this.leafSlots.length) {
      const leaves = Math.min(LEAF_BLOCK, Math.max(4, (2 * this.leafSlots.length) / LEAF_CAPACITY));
      this.leafSlots = new Int32Array(LEAF_CAPACITY * leaves);
      this.leafSlotsUsed = 0;
    }
    const at = this.leafSlotsUsed;
    this.leafSlotsUsed += LEAF_CAPACITY;
    return new Leaf(this.leafSlots.subarray(at, at + LEAF_CAPACITY));
  }
  private leafSlots = new Int32Array(0);
  private leafSlotsUsed = 0;

  /** Puts `right`, holding entries after `leaf`'s and before its successor's, after `leaf`. */
  private link(leaf: Leaf, right: Leaf): void {
    right.prev = leaf;
    right.next = leaf.next;
    if (leaf.next === null) this.last = right;
    else leaf.next.prev = right;
    leaf.next = right;
    this.tree = this.tree.insert(right.items[0]!, right);
  }

  /**
   * @internal The leaf entry i belongs in: the last one whose key sorts at or before it, or the
   * first leaf if none does (null only while empty).
   */
  leafOf(i: number): Leaf | null {
    let node = this.tree.root;
    let found = this.first;
    while (node !== null) {
      if (this.compare(node.key, i) <= 0) {
        found = node.value;
        node = node.right;
      } else {
        node = node.left;
      }
    }
    return found;
  }

  /** @internal The first slot of `leaf` whose entry sorts at or after entry i. */
  lowerBound(leaf: Leaf, i: number): number {
    const items = leaf.items;
    let lo = 0;
    let hi = leaf.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(items[mid]!, i) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** @internal The first slot of `leaf` whose entry sorts after entry i. */
  upperBound(leaf: Leaf, i: number): number {
    const items = leaf.items;
    let lo = 0;
    let hi = leaf.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(items[mid]!, i) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** @internal The first and last leaves (null while empty), for MemtableIterator. */
  firstLeaf(): Leaf | null {
    return this.first;
  }
  lastLeaf(): Leaf | null {
    return this.last;
  }

  /** @internal Internal-key order of entries a and b, for MemtableIterator. */
  compareEntries(a: number, b: number): number {
    return this.compare(a, b);
  }

  private setWords(o: number, k: Uint8Array, ko: number, kl: number): void {
    const m = this.meta;
    m[o + M_W0] = word(k, ko, kl, 0);
    m[o + M_W0 + 1] = word(k, ko, kl, 4);
    m[o + M_W0 + 2] = word(k, ko, kl, 8);
    m[o + M_W0 + 3] = word(k, ko, kl, 12);
  }

  private slabIndexOf(buf: Uint8Array): number {
    if (buf === this.slabs[this.arenaSlab]) return this.arenaSlab;
    // A group of writes may span a slab change: an earlier slab, found near the end.
    for (let s = this.slabs.length - 1; s > 0; s--) if (this.slabs[s] === buf) return s;
    throw new TypeError("Memtable.addAt: buffer is not one of this memtable's arena buffers");
  }

  private grow(): void {
    const meta = new Int32Array(this.meta.length * 2);
    meta.set(this.meta);
    const seqs = new Float64Array(this.seqs.length * 2);
    seqs.set(this.seqs);
    this.meta = meta;
    this.seqs = seqs;
  }

  /** Makes entry 0 the search key (key, seq, kind). Synchronous users only: it is shared. */
  private setSearch(key: Uint8Array, seq: number, kind: number): number {
    this.slabs[SEARCH] = key;
    const m = this.meta;
    m[M_SLAB] = SEARCH;
    m[M_KO] = 0;
    m[M_KL] = key.length;
    m[M_KIND] = kind;
    this.setWords(0, key, 0, key.length);
    this.seqs[SEARCH] = seq;
    return SEARCH;
  }

  /**
   * Room for `n` bytes that entries added later may point into: writes them at arenaOffset of
   * arenaBuffer (both set by this call). The bytes must not change once entries point at them.
   */
  reserve(n: number): void {
    if (this.slabUsed + n > this.slab.length) {
      if (n > ARENA_MAX_SLAB / 4) {
        // A large record gets a buffer of its own (a pooled one up to twice its size); the current
        // slab stays open for small ones.
        this.arenaBuffer = this.pool?.take(n, 2 * n) ?? new Uint8Array(this.pool ? largeSlabSize(n) : n);
        this.arenaOffset = 0;
        this.slabs.push(this.arenaBuffer);
        this.arenaSlab = this.slabs.length - 1;
        return;
      }
      let size = Math.max(ARENA_FIRST_SLAB, this.slab.length * 2);
      while (size < n) size *= 2;
      size = Math.min(ARENA_MAX_SLAB, size);
      this.slab = this.pool?.take(size, size) ?? new Uint8Array(size);
      this.slabUsed = 0;
      this.slabs.push(this.slab);
      this.currentSlab = this.slabs.length - 1;
    }
    this.arenaBuffer = this.slab;
    this.arenaSlab = this.currentSlab;
    this.arenaOffset = this.slabUsed;
    this.slabUsed += n;
  }
  arenaBuffer: Uint8Array = this.slab;
  arenaOffset = 0;
  /** Index in slabs of `slab`. */
  private currentSlab = 0;

  /** Sum of the key and value lengths of every entry. */
  payloadBytes(): number {
    return this.payload;
  }

  approximateBytes(): number {
    return this.payload + (this.next - 1) * ENTRY_OVERHEAD;
  }

  count(): number {
    return this.next - 1;
  }

  /** Leaves: count() / leafCount() is their mean fill (tests, measurements). */
  leafCount(): number {
    return this.first === null ? 0 : this.tree.length + 1;
  }

  /**
   * The newest version of `key` with sequence <= `seq`, or undefined if none is here.
   * Walks the tree and the leaf by hand rather than through tree.ge() so a lookup allocates nothing,
   * and only if the key filter says the key may be here. `hash`: bloomHash(key), computed once per
   * lookup.
   */
  get(key: Uint8Array, seq: number, hash = bloomHash(key)): MemGetResult | undefined {
    if (!this.filter.mayContain(hash)) return undefined;
    this.setSearch(key, seq, Kind.VALUE);
    // The answer is the first entry not before the target: in the last leaf whose key is before
    // it (the first leaf if none is), or else first in the next leaf.
    let node = this.tree.root;
    let leaf = this.first;
    while (node !== null) {
      if (this.before(node.key, seq)) {
        leaf = node.value;
        node = node.right;
      } else {
        node = node.left;
      }
    }
    if (leaf === null) return undefined;
    const items = leaf.items;
    let lo = 0;
    let hi = leaf.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.before(items[mid]!, seq)) lo = mid + 1;
      else hi = mid;
    }
    let best: number;
    if (lo < leaf.n) best = items[lo]!;
    else if (leaf.next !== null) best = leaf.next.items[0]!;
    else return undefined;
    if (this.compareUser(best, SEARCH) !== 0) return undefined;
    const m = this.meta;
    const o = best * STRIDE;
    const vo = m[o + M_VO]!;
    return {
      kind: m[o + M_KIND]!,
      value: this.slabs[m[o + M_SLAB]!]!.subarray(vo, vo + m[o + M_VL]!),
      seq: this.seqs[best]!,
    };
  }

  /** Whether entry i sorts before the search key's newest version at or below `seq`. */
  private before(i: number, seq: number): boolean {
    const c = this.compareUser(i, SEARCH);
    return c < 0 || (c === 0 && this.seqs[i]! > seq);
  }

  /** User-key order of entries a and b. */
  private compareUser(a: number, b: number): number {
    const m = this.meta;
    const ia = a * STRIDE;
    const ib = b * STRIDE;
    for (let w = M_W0; w < M_W0 + 4; w++) {
      const x = m[ia + w]!;
      const y = m[ib + w]!;
      if (x !== y) return x < y ? -1 : 1;
    }
    return this.compareTail(ia, ib);
  }

  /**
   * An iterator over the entries here now; entries added later stay out of its view. It holds a
   * reference to the memtable until closed.
   */
  iterator(): MemtableIterator {
    this.ref();
    return new MemtableIterator(this, this.next);
  }

  /**
   * @internal Makes the search entry (key, seq, kind) and returns its index, for MemtableIterator's
   * seeks. Synchronous users only: it is shared.
   */
  search(key: Uint8Array, seq: number, kind: number): number {
    return this.setSearch(key, seq, kind);
  }

  // Entry i's fields, for iterators and for copying entries out (flushes).
  seqAt(i: number): number {
    return this.seqs[i]!;
  }
  kindAt(i: number): number {
    return this.meta[i * STRIDE + M_KIND]!;
  }
  /** The buffer holding entry i's key and value. */
  bufferAt(i: number): Uint8Array {
    return this.slabs[this.meta[i * STRIDE + M_SLAB]!]!;
  }
  keyOffsetAt(i: number): number {
    return this.meta[i * STRIDE + M_KO]!;
  }
  keyLengthAt(i: number): number {
    return this.meta[i * STRIDE + M_KL]!;
  }
  valueOffsetAt(i: number): number {
    return this.meta[i * STRIDE + M_VO]!;
  }
  valueLengthAt(i: number): number {
    return this.meta[i * STRIDE + M_VL]!;
  }
}

/**
 * Iterates the entries with index < `limit` (those present when it was made) in internal-key order,
 * while later entries arrive: see the file's header. Its position is `cur`; (leaf, pos) caches the
 * slot, valid while leaf.version === version.
 */
export class MemtableIterator implements InternalIterator {
  private cur = -1;
  private leaf: Leaf | null = null;
  private pos = 0;
  private version = 0;
  /** Views of the current entry's key and value, made on first use (callers ask repeatedly). */
  private curKey: Uint8Array | null = null;
  private curValue: Uint8Array | null = null;
  private closed = false;
  /** REQUIRES: the caller took a reference to `mem` for it (Memtable.iterator); close() drops it. */
  constructor(
    private readonly mem: Memtable,
    private readonly limit: number,
  ) {}

  /** Lands on the first visible entry at or after slot pos of leaf, or becomes invalid. */
  private forward(leaf: Leaf | null, pos: number): void {
    this.curKey = null;
    this.curValue = null;
    const limit = this.limit;
    for (; leaf !== null; leaf = leaf.next, pos = 0) {
      const items = leaf.items;
      for (const n = leaf.n; pos < n; pos++) {
        const i = items[pos]!;
        if (i < limit) {
          this.at(leaf, pos, i);
          return;
        }
      }
    }
    this.invalidate();
  }

  /** Lands on the last visible entry at or before slot pos of leaf, or becomes invalid. */
  private backward(leaf: Leaf | null, pos: number): void {
    this.curKey = null;
    this.curValue = null;
    const limit = this.limit;
    while (leaf !== null) {
      const items = leaf.items;
      for (; pos >= 0; pos--) {
        const i = items[pos]!;
        if (i < limit) {
          this.at(leaf, pos, i);
          return;
        }
      }
      leaf = leaf.prev;
      if (leaf !== null) pos = leaf.n - 1;
    }
    this.invalidate();
  }

  private at(leaf: Leaf, pos: number, i: number): void {
    this.leaf = leaf;
    this.pos = pos;
    this.version = leaf.version;
    this.cur = i;
  }

  private invalidate(): void {
    this.cur = -1;
    this.leaf = null;
    this.curKey = null;
    this.curValue = null;
  }

  /** Finds the current entry's slot again if its leaf changed since the iterator looked. */
  private sync(): void {
    let leaf = this.leaf!;
    if (leaf.version === this.version) return;
    const mem = this.mem;
    const cur = this.cur;
    // A split moves a leaf's upper half right and keeps the rest: past the leaf's last entry, the
    // current one went to a leaf the tree finds.
    if (mem.compareEntries(cur, leaf.items[leaf.n - 1]!) > 0) leaf = mem.leafOf(cur)!;
    const pos = mem.lowerBound(leaf, cur);
    if (INVARIANTS && leaf.items[pos] !== cur) invariantViolated('MemtableIterator lost its entry');
    this.at(leaf, pos, cur);
  }

  valid(): boolean {
    return this.cur >= 0;
  }
  seekToFirst(): void {
    if (INVARIANTS && this.closed) invariantViolated('MemtableIterator used after close()');
    this.forward(this.mem.firstLeaf(), 0);
  }
  seekToLast(): void {
    if (INVARIANTS && this.closed) invariantViolated('MemtableIterator used after close()');
    const last = this.mem.lastLeaf();
    this.backward(last, last === null ? -1 : last.n - 1);
  }
  /** To the first entry at or after (userKey, seq) in internal-key order. */
  seek(userKey: Uint8Array, seq: number): void {
    if (INVARIANTS && this.closed) invariantViolated('MemtableIterator used after close()');
    const mem = this.mem;
    const s = mem.search(userKey, seq, Kind.VALUE);
    const leaf = mem.leafOf(s);
    this.forward(leaf, leaf === null ? 0 : mem.lowerBound(leaf, s));
  }
  /** To the last entry at or before (userKey, seq) in internal-key order. */
  seekForPrev(userKey: Uint8Array, seq: number): void {
    if (INVARIANTS && this.closed) invariantViolated('MemtableIterator used after close()');
    const mem = this.mem;
    const s = mem.search(userKey, seq, Kind.DELETE);
    const leaf = mem.leafOf(s);
    // -1 when the whole first leaf sorts after it. (The search entry may equal a stored tombstone.)
    this.backward(leaf, leaf === null ? -1 : mem.upperBound(leaf, s) - 1);
  }
  /** Stays invalid if invalid (as past either end). */
  next(): void {
    if (this.cur < 0) return;
    this.sync();
    this.forward(this.leaf, this.pos + 1);
  }
  /** Stays invalid if invalid. */
  prev(): void {
    if (this.cur < 0) return;
    this.sync();
    this.backward(this.leaf, this.pos - 1);
  }
  /** The current entry's index, for reading it through the Memtable's *At accessors (flushes). */
  index(): number {
    return this.cur;
  }
  key(): Uint8Array {
    if (INVARIANTS && !this.valid()) invariantViolated('MemtableIterator.key() on an unpositioned iterator');
    if (this.curKey === null) {
      const i = this.cur;
      const ko = this.mem.keyOffsetAt(i);
      this.curKey = this.mem.bufferAt(i).subarray(ko, ko + this.mem.keyLengthAt(i));
    }
    return this.curKey;
  }
  seq(): number {
    return this.mem.seqAt(this.cur);
  }
  kind(): number {
    return this.mem.kindAt(this.cur);
  }
  value(): Uint8Array {
    if (this.curValue === null) {
      const i = this.cur;
      const vo = this.mem.valueOffsetAt(i);
      this.curValue = this.mem.bufferAt(i).subarray(vo, vo + this.mem.valueLengthAt(i));
    }
    return this.curValue;
  }
  /** Leaves the iterator invalid and drops its reference to the memtable (once). */
  close(): void {
    this.invalidate();
    if (this.closed) return;
    this.closed = true;
    this.mem.unref();
  }
}
