// The memtable: recent writes, sorted in internal-key order, on functional-red-black-tree.
// The tree is persistent, so an iterator keeps the root it started from and sees a frozen view while
// writes go on; that is the engine's free memtable snapshot.

import createTree from 'functional-red-black-tree';
import { compareBytes } from '../util/bytes.js';
import { Kind } from '../format/internal-key.js';
import type { InternalIterator } from '../format/iterator.js';

/** A tree key: one version of one user key. Never mutated once inserted. */
export interface MemKey {
  readonly k: Uint8Array;
  readonly s: number;
  readonly t: number;
}

function compareMemKey(a: MemKey, b: MemKey): number {
  const c = compareBytes(a.k, b.k);
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
    this.tree = this.tree.insert({ k: key, s: seq, t: kind }, value);
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
    let node = this.tree.root;
    let best: createTree.Node<MemKey, Uint8Array> | null = null;
    while (node !== null) {
      const nk = node.key;
      let c = compareBytes(nk.k, key);
      if (c === 0) c = nk.s > seq ? -1 : 1; // entries newer than seq sort before the target
      if (c >= 0) {
        best = node;
        node = node.left;
      } else {
        node = node.right;
      }
    }
    if (best === null || compareBytes(best.key.k, key) !== 0) return undefined;
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
    this.it = this.tree.ge({ k: userKey, s: seq, t: Kind.VALUE });
  }
  seekForPrev(userKey: Uint8Array, seq: number): void {
    this.it = this.tree.le({ k: userKey, s: seq, t: Kind.DELETE });
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
