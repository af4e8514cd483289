// The memtable: recent writes, sorted in internal-key order, on functional-red-black-tree.
// The tree is persistent, so an iterator keeps the root it started from and sees a frozen view while
// writes go on; that is the engine's free memtable snapshot.

import createTree from 'functional-red-black-tree';
import { compareBytes } from '../../kv/index.js';
import { Kind } from '../format/internal-key.js';
import type { InternalIterator } from '../format/iterator.js';
import { bloomHash, bloomHashRange } from '../table/bloom.js';
import { KeyFilter } from '../util/key-filter.js';
import { INVARIANTS, invariantViolated } from '../util/invariants.js';

/**
 * Entries live in typed-array columns, not in objects: a tree key is the entry's index (a small
 * integer), and the entry's fields sit at meta[index * STRIDE ..] and seqs[index]. The tree's
 * node is then the only per-entry object. A MemKey object per entry (12 fields, ~120 bytes) used
 * to survive the young generation beside its node, until the flush: every scavenge copied it and
 * every mark-compact traced it, and those pauses were most of fillrandom's event-loop lag. The
 * columns are append-only, so a saved root (an iterator's snapshot) keeps seeing what it saw.
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

/** The arena's first slab; each next one doubles, up to ARENA_MAX_SLAB. */
const ARENA_FIRST_SLAB = 16 * 1024;
const ARENA_MAX_SLAB = 1024 * 1024;

/** Per-entry bookkeeping charged to the memtable besides key and value bytes (tree node, columns). */
const ENTRY_OVERHEAD = 64;
/** The key filter's sizing when the engine does not say (its default memtableBytes). */
const DEFAULT_BUDGET = 4 * 1024 * 1024;

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
  private tree: createTree.Tree<number, undefined> = createTree(this.compare);
  private payload = 0;
  /**
   * The arena: encoded write batches live in a few large slabs rather than one buffer each, and
   * entries point into them. A buffer per write survived with its entries, and thousands of small
   * ArrayBuffers made every scavenge and mark-compact slower (fillrandom loop lag).
   */
  private slab = EMPTY;
  private slabUsed = 0;
  /** Index in slabs of arenaBuffer. */
  private arenaSlab = 0;
  /** The WAL file that holds this memtable's writes; obsolete once the memtable is flushed. */
  readonly logNumber: number;
  /** Every key added, by bloomHash: a get for a key not here skips the tree walk (key-filter.ts). */
  private readonly filter: KeyFilter;

  /** `budgetBytes`: the memtable size the engine switches at, which sizes the key filter. */
  constructor(logNumber: number, budgetBytes = DEFAULT_BUDGET) {
    this.logNumber = logNumber;
    this.filter = new KeyFilter(budgetBytes);
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
    const i = this.next++;
    if (i === this.seqs.length) this.grow();
    const m = this.meta;
    const o = i * STRIDE;
    m[o + M_SLAB] = this.slabIndexOf(buf);
    m[o + M_KO] = ko;
    m[o + M_KL] = kl;
    m[o + M_VO] = vo;
    m[o + M_VL] = vl;
    m[o + M_KIND] = kind;
    this.setWords(o, buf, ko, kl);
    this.seqs[i] = seq;
    this.filter.add(bloomHashRange(buf, ko, ko + kl));
    this.tree = this.tree.insert(i, undefined);
    this.payload += kl + vl;
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
        // A large record gets a buffer of its own; the current slab stays open for small ones.
        this.arenaBuffer = new Uint8Array(n);
        this.arenaOffset = 0;
        this.slabs.push(this.arenaBuffer);
        this.arenaSlab = this.slabs.length - 1;
        return;
      }
      let size = Math.max(ARENA_FIRST_SLAB, this.slab.length * 2);
      while (size < n) size *= 2;
      size = Math.min(ARENA_MAX_SLAB, size);
      this.slab = new Uint8Array(size);
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
    return this.payload + this.tree.length * ENTRY_OVERHEAD;
  }

  count(): number {
    return this.tree.length;
  }

  /**
   * The newest version of `key` with sequence <= `seq`, or undefined if none is here.
   * Walks the tree directly rather than through tree.ge() so a lookup allocates nothing, and only
   * if the key filter says the key may be here. `hash`: bloomHash(key), computed once per lookup.
   */
  get(key: Uint8Array, seq: number, hash = bloomHash(key)): MemGetResult | undefined {
    if (!this.filter.mayContain(hash)) return undefined;
    this.setSearch(key, seq, Kind.VALUE);
    const m = this.meta;
    let node = this.tree.root;
    let best = -1;
    while (node !== null) {
      const i = node.key;
      let c = this.compareUser(i, SEARCH);
      if (c === 0) c = this.seqs[i]! > seq ? -1 : 1; // entries newer than seq sort before the target
      if (c >= 0) {
        best = i;
        node = node.left;
      } else {
        node = node.right;
      }
    }
    if (best < 0 || this.compareUser(best, SEARCH) !== 0) return undefined;
    const o = best * STRIDE;
    const vo = m[o + M_VO]!;
    return {
      kind: m[o + M_KIND]!,
      value: this.slabs[m[o + M_SLAB]!]!.subarray(vo, vo + m[o + M_VL]!),
      seq: this.seqs[best]!,
    };
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

  iterator(): MemtableIterator {
    return new MemtableIterator(this, this.tree);
  }

  /** @internal Tree ge/le at the search entry, for MemtableIterator. */
  seekIn(
    tree: createTree.Tree<number, undefined>,
    key: Uint8Array,
    seq: number,
    kind: number,
    forPrev: boolean,
  ): createTree.Iterator<number, undefined> {
    const s = this.setSearch(key, seq, kind);
    return forPrev ? tree.le(s) : tree.ge(s);
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

export class MemtableIterator implements InternalIterator {
  private it: createTree.Iterator<number, undefined> | null = null;
  /** Views of the current entry's key and value, made on first use (callers ask repeatedly). */
  private curKey: Uint8Array | null = null;
  private curValue: Uint8Array | null = null;
  constructor(
    private readonly mem: Memtable,
    private readonly tree: createTree.Tree<number, undefined>,
  ) {}
  private moved(): void {
    this.curKey = null;
    this.curValue = null;
  }
  valid(): boolean {
    return this.it?.valid ?? false;
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
    this.it = this.mem.seekIn(this.tree, userKey, seq, Kind.VALUE, false);
    this.moved();
  }
  seekForPrev(userKey: Uint8Array, seq: number): void {
    this.it = this.mem.seekIn(this.tree, userKey, seq, Kind.DELETE, true);
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
  /** The current entry's index, for reading it through the Memtable's *At accessors (flushes). */
  index(): number {
    return this.it!.key!;
  }
  key(): Uint8Array {
    if (INVARIANTS && !this.valid()) invariantViolated('MemtableIterator.key() on an unpositioned iterator');
    if (this.curKey === null) {
      const i = this.it!.key!;
      const ko = this.mem.keyOffsetAt(i);
      this.curKey = this.mem.bufferAt(i).subarray(ko, ko + this.mem.keyLengthAt(i));
    }
    return this.curKey;
  }
  seq(): number {
    return this.mem.seqAt(this.it!.key!);
  }
  kind(): number {
    return this.mem.kindAt(this.it!.key!);
  }
  value(): Uint8Array {
    if (this.curValue === null) {
      const i = this.it!.key!;
      const vo = this.mem.valueOffsetAt(i);
      this.curValue = this.mem.bufferAt(i).subarray(vo, vo + this.mem.valueLengthAt(i));
    }
    return this.curValue;
  }
  close(): void {
    this.it = null;
    this.moved();
  }
}
