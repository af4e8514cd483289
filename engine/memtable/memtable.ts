// The memtable: recent writes, sorted in internal-key order, on functional-red-black-tree.
// The tree is persistent, so an iterator keeps the root it started from and sees a frozen view while
// writes go on; that is the engine's free memtable snapshot.

import createTree from 'functional-red-black-tree';
import { compareBytes } from '../util/bytes.js';
import { Kind } from '../format/internal-key.js';
import type { InternalIterator } from '../format/iterator.js';

/**
 * A tree key: one version of one user key. Never mutated once inserted. p0..p3 are the key's first
 * 16 bytes as big-endian 32-bit words (zero-padded), so most comparisons are number comparisons on
 * this object and never touch the key's bytes: measured 160k -> 1M+ gets/s on 35k zero-padded
 * 16-byte keys, where byte loops over long shared prefixes and the extra pointer chases dominated.
 */
export interface MemKey {
  readonly k: Uint8Array;
  readonly s: number;
  readonly t: number;
  readonly p0: number;
  readonly p1: number;
  readonly p2: number;
  readonly p3: number;
}

function word(k: Uint8Array, i: number): number {
  const n = k.length;
  return (
    ((i < n ? k[i]! : 0) * 0x1000000 +
      ((i + 1 < n ? k[i + 1]! : 0) << 16) +
      ((i + 2 < n ? k[i + 2]! : 0) << 8) +
      (i + 3 < n ? k[i + 3]! : 0))
  );
}

export function makeMemKey(k: Uint8Array, s: number, t: number): MemKey {
  return { k, s, t, p0: word(k, 0), p1: word(k, 4), p2: word(k, 8), p3: word(k, 12) };
}

/** User-key order of two MemKeys (unsigned bytes, shorter first on a shared prefix). */
function compareUser(a: MemKey, b: MemKey): number {
  if (a.p0 !== b.p0) return a.p0 < b.p0 ? -1 : 1;
  if (a.p1 !== b.p1) return a.p1 < b.p1 ? -1 : 1;
  if (a.p2 !== b.p2) return a.p2 < b.p2 ? -1 : 1;
  if (a.p3 !== b.p3) return a.p3 < b.p3 ? -1 : 1;
  const la = a.k.length;
  const lb = b.k.length;
  // Equal words: the first min(la, lb, 16) bytes are equal and any padding is zeros, so up to 16
  // bytes the shorter key sorts first.
  if (la <= 16 || lb <= 16) return la - lb;
  return compareBytes(a.k, b.k, 16, la, 16, lb);
}

function compareMemKey(a: MemKey, b: MemKey): number {
  const c = compareUser(a, b);
  if (c !== 0) return c;
  if (a.s !== b.s) return a.s > b.s ? -1 : 1;
  return b.t - a.t;
}

/** Per-entry bookkeeping charged to the memtable besides key and value bytes (tree nodes, objects). */
const ENTRY_OVERHEAD = 64;

export interface MemGetResult {
  kind: number;
  value: Uint8Array;
  seq: number;
}

export class Memtable {
  private tree: createTree.Tree<MemKey, Uint8Array> = createTree(compareMemKey);
  private bytes = 0;
  /** The WAL file that holds this memtable's writes; obsolete once the memtable is flushed. */
  readonly logNumber: number;

  constructor(logNumber: number) {
    this.logNumber = logNumber;
  }

  /** REQUIRES: (key, seq) not already present (sequences are unique). */
  add(seq: number, kind: number, key: Uint8Array, value: Uint8Array): void {
    this.tree = this.tree.insert(makeMemKey(key, seq, kind), value);
    this.bytes += key.length + value.length + ENTRY_OVERHEAD;
  }

  approximateBytes(): number {
    return this.bytes;
  }

  count(): number {
    return this.tree.length;
  }

  /**
   * The newest version of `key` with sequence <= `seq`, or undefined if none is here.
   * Walks the tree directly rather than through tree.ge() so a lookup allocates nothing.
   */
  get(key: Uint8Array, seq: number): MemGetResult | undefined {
    const target = makeMemKey(key, seq, Kind.VALUE);
    let node = this.tree.root;
    let best: createTree.Node<MemKey, Uint8Array> | null = null;
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
    return { kind: best.key.t, value: best.value, seq: best.key.s };
  }

  iterator(): InternalIterator {
    return new MemtableIterator(this.tree);
  }
}

class MemtableIterator implements InternalIterator {
  private it: createTree.Iterator<MemKey, Uint8Array> | null = null;
  constructor(private readonly tree: createTree.Tree<MemKey, Uint8Array>) {}
  valid(): boolean {
    return this.it !== null && this.it.valid;
  }
  seekToFirst(): void {
    this.it = this.tree.begin;
  }
  seekToLast(): void {
    this.it = this.tree.end;
  }
  seek(userKey: Uint8Array, seq: number): void {
    this.it = this.tree.ge(makeMemKey(userKey, seq, Kind.VALUE));
  }
  seekForPrev(userKey: Uint8Array, seq: number): void {
    this.it = this.tree.le(makeMemKey(userKey, seq, Kind.DELETE));
  }
  next(): void {
    this.it!.next();
  }
  prev(): void {
    this.it!.prev();
  }
  key(): Uint8Array {
    return this.it!.key!.k;
  }
  seq(): number {
    return this.it!.key!.s;
  }
  kind(): number {
    return this.it!.key!.t;
  }
  value(): Uint8Array {
    return this.it!.value!;
  }
  close(): void {
    this.it = null;
  }
}
