// The memtable: recent writes, sorted in internal-key order, on functional-red-black-tree.
// The tree is persistent, so an iterator keeps the root it started from and sees a frozen view while
// writes go on; that is the engine's free memtable snapshot.

import createTree from 'functional-red-black-tree';
import { compareBytes } from '../util/bytes.js';
import { Kind } from '../format/internal-key.js';
import type { InternalIterator } from '../format/iterator.js';

/**
 * A tree key: one version of one user key, and where its bytes are. Never mutated once inserted.
 * The key is k[ko, ko + kl) and the value v[vo, vo + vl): on the write path k and v are both the
 * encoded WAL record, so an entry costs this object and its tree node, no views (two typed-array
 * objects per entry used to survive into the old generation and made scavenges expensive).
 * p0..p3 are the key's first 16 bytes as big-endian 32-bit words (zero-padded), so most
 * comparisons are number comparisons on this object and never touch the key's bytes: measured
 * 160k -> 1M+ gets/s on 35k zero-padded 16-byte keys, where byte loops over long shared prefixes
 * and the extra pointer chases dominated.
 */
export interface MemKey {
  readonly k: Uint8Array;
  readonly ko: number;
  readonly kl: number;
  readonly v: Uint8Array;
  readonly vo: number;
  readonly vl: number;
  readonly s: number;
  readonly t: number;
  readonly p0: number;
  readonly p1: number;
  readonly p2: number;
  readonly p3: number;
}

function word(k: Uint8Array, ko: number, n: number, i: number): number {
  return (
    ((i < n ? k[ko + i]! : 0) * 0x1000000 +
      ((i + 1 < n ? k[ko + i + 1]! : 0) << 16) +
      ((i + 2 < n ? k[ko + i + 2]! : 0) << 8) +
      (i + 3 < n ? k[ko + i + 3]! : 0))
  );
}

const EMPTY = new Uint8Array(0);

export function makeMemKey(
  k: Uint8Array,
  ko: number,
  kl: number,
  v: Uint8Array,
  vo: number,
  vl: number,
  s: number,
  t: number,
): MemKey {
  return { k, ko, kl, v, vo, vl, s, t, p0: word(k, ko, kl, 0), p1: word(k, ko, kl, 4), p2: word(k, ko, kl, 8), p3: word(k, ko, kl, 12) };
}

function searchKey(key: Uint8Array, seq: number, kind: number): MemKey {
  return makeMemKey(key, 0, key.length, EMPTY, 0, 0, seq, kind);
}

/** User-key order of two MemKeys (unsigned bytes, shorter first on a shared prefix). */
function compareUser(a: MemKey, b: MemKey): number {
  if (a.p0 !== b.p0) return a.p0 < b.p0 ? -1 : 1;
  if (a.p1 !== b.p1) return a.p1 < b.p1 ? -1 : 1;
  if (a.p2 !== b.p2) return a.p2 < b.p2 ? -1 : 1;
  if (a.p3 !== b.p3) return a.p3 < b.p3 ? -1 : 1;
  const la = a.kl;
  const lb = b.kl;
  // Equal words: the first min(la, lb, 16) bytes are equal and any padding is zeros, so up to 16
  // bytes the shorter key sorts first.
  if (la <= 16 || lb <= 16) return la - lb;
  return compareBytes(a.k, b.k, a.ko + 16, a.ko + la, b.ko + 16, b.ko + lb);
}

function compareMemKey(a: MemKey, b: MemKey): number {
  const c = compareUser(a, b);
  if (c !== 0) return c;
  if (a.s !== b.s) return a.s > b.s ? -1 : 1;
  return b.t - a.t;
}

/** The arena's first slab; each next one doubles, up to ARENA_MAX_SLAB. */
const ARENA_FIRST_SLAB = 16 * 1024;
const ARENA_MAX_SLAB = 1024 * 1024;

/** Per-entry bookkeeping charged to the memtable besides key and value bytes (tree nodes, objects). */
const ENTRY_OVERHEAD = 64;

export interface MemGetResult {
  kind: number;
  value: Uint8Array;
  seq: number;
}

export class Memtable {
  private tree: createTree.Tree<MemKey, undefined> = createTree(compareMemKey);
  private payload = 0;
  /**
   * The arena: encoded write batches live in a few large slabs rather than one buffer each, and
   * entries point into them. A buffer per write survived with its entries, and thousands of small
   * ArrayBuffers made every scavenge and mark-compact slower (fillrandom loop lag).
   */
  private slab = new Uint8Array(0);
  private slabUsed = 0;
  /** The WAL file that holds this memtable's writes; obsolete once the memtable is flushed. */
  readonly logNumber: number;

  constructor(logNumber: number) {
    this.logNumber = logNumber;
  }

  /** REQUIRES: (key, seq) not already present (sequences are unique). */
  add(seq: number, kind: number, key: Uint8Array, value: Uint8Array): void {
    this.addAt(seq, kind, key, 0, key.length, value, 0, value.length);
  }

  /**
   * Adds the entry whose key is k[ko, ko + kl) and value v[vo, vo + vl); the memtable keeps
   * references to k and v, which must not change afterwards. REQUIRES: as add().
   */
  addAt(seq: number, kind: number, k: Uint8Array, ko: number, kl: number, v: Uint8Array, vo: number, vl: number): void {
    this.tree = this.tree.insert(makeMemKey(k, ko, kl, v, vo, vl, seq, kind), undefined);
    this.payload += kl + vl;
  }

  /**
   * Room for `n` bytes that entries added later may point into: writes them at arenaOffset of
   * arenaBuffer (both set by this call). The bytes must not change once entries point at them.
   */
  reserve(n: number): void {
    if (this.slabUsed + n > this.slab.length) {
      if (n > ARENA_MAX_SLAB / 4) {
        // A large record gets a buffer of its own; the current slab stays open for small ones.
        this.arenaBuffer = new Uint8Array(n);
        this.arenaOffset = 0;
        return;
      }
      let size = Math.max(ARENA_FIRST_SLAB, this.slab.length * 2);
      while (size < n) size *= 2;
      size = Math.min(ARENA_MAX_SLAB, size);
      this.slab = new Uint8Array(size);
      this.slabUsed = 0;
    }
    this.arenaBuffer = this.slab;
    this.arenaOffset = this.slabUsed;
    this.slabUsed += n;
  }
  arenaBuffer: Uint8Array = this.slab;
  arenaOffset = 0;

  /** Sum of the key and value lengths of every entry. */
  payloadBytes(): number {
    return this.payload;
  }

  approximateBytes(): number {
    return this.payload + this.tree.length * ENTRY_OVERHEAD;
  }

  count(): number {
    return this.tree.length;
  }

  /**
   * The newest version of `key` with sequence <= `seq`, or undefined if none is here.
   * Walks the tree directly rather than through tree.ge() so a lookup allocates nothing.
   */
  get(key: Uint8Array, seq: number): MemGetResult | undefined {
    const target = searchKey(key, seq, Kind.VALUE);
    let node = this.tree.root;
    let best: createTree.Node<MemKey, undefined> | null = null;
    while (node !== null) {
      const nk = node.key;
      let c = compareUser(nk, target);
      if (c === 0) c = nk.s > seq ? -1 : 1; // entries newer than seq sort before the target
      if (c >= 0) {
        best = node;
        node = node.left;
      } else {
        node = node.right;
      }
    }
    if (best === null || compareUser(best.key, target) !== 0) return undefined;
    const b = best.key;
    return { kind: b.t, value: b.v.subarray(b.vo, b.vo + b.vl), seq: b.s };
  }

  iterator(): MemtableIterator {
    return new MemtableIterator(this.tree);
  }
}

export class MemtableIterator implements InternalIterator {
  private it: createTree.Iterator<MemKey, undefined> | null = null;
  /** Views of the current entry's key and value, made on first use (callers ask repeatedly). */
  private curKey: Uint8Array | null = null;
  private curValue: Uint8Array | null = null;
  constructor(private readonly tree: createTree.Tree<MemKey, undefined>) {}
  private moved(): void {
    this.curKey = null;
    this.curValue = null;
  }
  valid(): boolean {
    return this.it !== null && this.it.valid;
  }
  seekToFirst(): void {
    this.it = this.tree.begin;
    this.moved();
  }
  seekToLast(): void {
    this.it = this.tree.end;
    this.moved();
  }
  seek(userKey: Uint8Array, seq: number): void {
    this.it = this.tree.ge(searchKey(userKey, seq, Kind.VALUE));
    this.moved();
  }
  seekForPrev(userKey: Uint8Array, seq: number): void {
    this.it = this.tree.le(searchKey(userKey, seq, Kind.DELETE));
    this.moved();
  }
  next(): void {
    this.it!.next();
    this.moved();
  }
  prev(): void {
    this.it!.prev();
    this.moved();
  }
  /** The current entry itself, for copying it out without making views (flushes). */
  entry(): MemKey {
    return this.it!.key!;
  }
  key(): Uint8Array {
    if (this.curKey === null) {
      const e = this.it!.key!;
      this.curKey = e.k.subarray(e.ko, e.ko + e.kl);
    }
    return this.curKey;
  }
  seq(): number {
    return this.it!.key!.s;
  }
  kind(): number {
    return this.it!.key!.t;
  }
  value(): Uint8Array {
    if (this.curValue === null) {
      const e = this.it!.key!;
      this.curValue = e.v.subarray(e.vo, e.vo + e.vl);
    }
    return this.curValue;
  }
  close(): void {
    this.it = null;
    this.moved();
  }
}
