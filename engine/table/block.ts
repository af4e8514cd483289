// A data or index block as the block cache holds it: the verified raw contents (docs/format.md §5.3),
// one Uint8Array per block, searched and iterated in place. Nothing is decoded up front:
//   - a lookup binary-searches the full keys stored at the restart points, then scans one restart
//     interval (at most 16 entries), comparing the target against the key bytes where they lie;
//   - a BlockCursor steps through entries, rebuilding each key from the previous one's prefix.
// Raw bytes instead of decoded arrays because a cache miss then costs a read and a CRC only (decoding a
// whole 4 KiB block to find one key takes ~15 us, half of a miss), the cache holds ~25% more blocks in
// the same bytes, and a cache of millions of bytes in one array per block is cheap for the GC.
//
// The CRC is checked before a block gets here (table-reader.ts), but every length and varint is
// still bounds-checked as it is read: a block that passed its CRC yet is malformed (a writer bug) is
// CORRUPTION naming the file and block offset, never an out-of-range read or a wrong value.

import { compareBytes, copyBytes } from '../../kv/index.js';
import { corruption } from '../../kv/index.js';
import { MAX_SEQUENCE } from '../format/internal-key.js';
import { INVARIANTS, invariantViolated, ScratchGuard } from '../util/invariants.js';

/** Block.find results (an entry offset is >= 0). */
export const NOT_HERE = -1;
export const PAST_END = -2;

/** Approximate fixed cost of a Block object and its array's header, charged to the cache. */
export const OBJECT_OVERHEAD = 160;

/**
 * What Block.find found: module-level so that a lookup returns a number and allocates nothing. The
 * caller reads it before anything else runs (with invariants on, find() leases it and the caller
 * returns it with releaseFound(); a second find() before that throws).
 */
export const found = { kind: 0, seq: 0, valueAt: 0, valueEnd: 0 };

/** The e* parse state and `found`, each with one user at a time (checked with invariants on). */
export const blockScratch = new ScratchGuard('block parse state');
export const foundScratch = new ScratchGuard('Block.find result');

/** The caller of a successful Block.find is done reading `found` (a no-op with invariants off). */
export function releaseFound(): void {
  if (INVARIANTS) foundScratch.leave();
}

// The entry last parsed by parseEntry. Module-level for the same reason.
let eShared = 0;
let eUnshared = 0;
/** Offset of the entry's unshared key bytes. */
let eKeyAt = 0;
let eValueAt = 0;
/** Offset of the next entry. */
let eNext = 0;
/** Offset of the entry's sequence varint (decoded on demand by entrySeq). */
let eSeqAt = 0;
let eKind = 0;
// Common prefix of the target and the key of the last compare.
let cmpLcp = 0;
let cursor = 0;

/** Reads a varint at `cursor` below `limit`; -1 if it runs past `limit` or exceeds 8 bytes. */
function readVarint(buf: Uint8Array, limit: number): number {
  let p = cursor;
  if (p >= limit) return -1;
  let b = buf[p++]!;
  if (b < 0x80) {
    cursor = p;
    return b;
  }
  let result = b & 0x7f;
  let mul = 128;
  for (let i = 1; i < 8; i++) {
    if (p >= limit) return -1;
    b = buf[p++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) {
      cursor = p;
      return result;
    }
    mul *= 128;
  }
  return -1;
}

/**
 * Parses the header of the entry at `p` into the e* variables; throws CORRUPTION if it is malformed.
 * The sequence is only located (eSeqAt): most entries a lookup passes over are decided by their key,
 * so entrySeq() decodes it when it is needed.
 */
function parseEntry(b: Block, p: number): void {
  const data = b.data;
  const limit = b.limit;
  let shared: number;
  let unshared: number;
  let valueLen: number;
  let q: number;
  if (p + 3 <= limit && (data[p]! | data[p + 1]! | data[p + 2]!) < 0x80) {
    // The common case: shared, unshared and value length each fit one byte.
    shared = data[p]!;
    unshared = data[p + 1]!;
    valueLen = data[p + 2]!;
    q = p + 3;
  } else {
    cursor = p;
    shared = readVarint(data, limit);
    unshared = readVarint(data, limit);
    valueLen = readVarint(data, limit);
    if (shared < 0 || unshared < 0 || valueLen < 0) throw b.malformed(`entry at ${p}: header runs past the entries`);
    q = cursor;
  }
  // The sequence varint: at most 8 bytes, then the kind byte.
  const seqAt = q;
  while (q < limit && data[q]! >= 0x80) q++;
  q++;
  if (q - seqAt > 8 || q >= limit) throw b.malformed(`entry at ${p}: header runs past the entries`);
  const kind = data[q++]!;
  if (kind > 1) throw b.malformed(`entry at ${p}: unknown kind ${kind}`);
  if (unshared > limit - q || valueLen > limit - q - unshared) throw b.malformed(`entry at ${p} runs past the entries`);
  eShared = shared;
  eUnshared = unshared;
  eSeqAt = seqAt;
  eKeyAt = q;
  eValueAt = q + unshared;
  eNext = q + unshared + valueLen;
  eKind = kind;
}

/** The sequence of the entry last parsed (REQUIRES: its block is `b`); CORRUPTION if out of range. */
function entrySeq(b: Block): number {
  const data = b.data;
  let p = eSeqAt;
  let byte = data[p++]!;
  if (byte < 0x80) return byte;
  let result = byte & 0x7f;
  let mul = 128;
  // parseEntry checked that the varint ends within 8 bytes.
  do {
    byte = data[p++]!;
    result += (byte & 0x7f) * mul;
    mul *= 128;
  } while (byte >= 0x80);
  if (result > MAX_SEQUENCE) throw b.malformed(`entry at sequence offset ${eSeqAt}: sequence ${result} out of range`);
  return result;
}

/**
 * Compares the parsed entry, whose user key is data[base + j] for j in [0, keyLen), with
 * (userKey, seq) in internal order, from byte `from` on (REQUIRES: the first `from` bytes are equal).
 * Negative: the entry sorts first. Sets cmpLcp.
 */
function compareParsed(b: Block, base: number, keyLen: number, userKey: Uint8Array, seq: number, from: number): number {
  const data = b.data;
  const klen = userKey.length;
  const n = Math.min(keyLen, klen);
  let j = from;
  while (j < n && data[base + j] === userKey[j]) j++;
  cmpLcp = j;
  if (j < n) return data[base + j]! - userKey[j]!;
  if (keyLen !== klen) return keyLen - klen;
  return seq - entrySeq(b);
}

export class Block {
  /** The block contents: entries, restart array, restart count. */
  readonly data: Uint8Array;
  /** End of the entries = offset of the restart array. */
  readonly limit: number;
  /** Number of restart points (>= 1); for an index block, the number of entries. */
  readonly restarts: number;
  readonly path: string;
  /** File offset of the block, for errors. */
  readonly offset: number;
  readonly what: string;
  /** Approximate bytes of memory this block holds, for the cache's byte bound. */
  readonly charge: number;
  /**
   * Set by the block cache when the block's memory went back to its slot arena (slot-arena.ts):
   * from then on `data` may hold another block's bytes. Whoever keeps a block across a read of
   * another block checks this first and fetches the block again (table-iterator.ts).
   */
  released = false;

  private constructor(
    data: Uint8Array,
    limit: number,
    restarts: number,
    path: string,
    offset: number,
    what: string,
    held: number,
  ) {
    this.data = data;
    this.limit = limit;
    this.restarts = restarts;
    this.path = path;
    this.offset = offset;
    this.what = what;
    this.charge = held + OBJECT_OVERHEAD;
  }

  /**
   * Wraps verified block contents. Checks the restart array (the first restart at 0, offsets
   * strictly ascending inside the entries); entries are checked as they are read.
   * Throws CORRUPTION naming `path` and `offset` if the contents are not a well-formed block.
   * `held`: the bytes of memory the block keeps alive (default: all of `data`'s buffer).
   */
  static open(data: Uint8Array, path: string, offset: number, what = 'data', held?: number): Block {
    // No closure for the errors: this runs once per block read from disk.
    const len = data.length;
    if (len < 8) throw corruption(path, offset, `malformed ${what} block: ${len} bytes is too short`);
    const n = getU32(data, len - 4);
    if (n < 1 || n > (len - 4) / 4)
      throw corruption(path, offset, `malformed ${what} block: restart count ${n} does not fit`);
    const limit = len - 4 - 4 * n;
    let prev = -1;
    for (let r = 0; r < n; r++) {
      const at = getU32(data, limit + 4 * r);
      if ((r === 0 && at !== 0) || at <= prev || at >= limit) {
        throw corruption(
          path,
          offset,
          `malformed ${what} block: restart ${r} at ${at} is out of order or outside the entries`,
        );
      }
      prev = at;
    }
    // A view of a larger buffer keeps the whole buffer alive: charge what is really held, unless
    // the caller says (a cache slot: the rest of its slab belongs to other blocks).
    return new Block(data, limit, n, path, offset, what, held ?? data.buffer.byteLength);
  }

  /** The CORRUPTION error for this block. */
  malformed(why: string): Error {
    return corruption(this.path, this.offset, `malformed ${this.what} block: ${why}`);
  }

  /** Offset of restart point r. REQUIRES: 0 <= r < restarts. */
  restartAt(r: number): number {
    return getU32(this.data, this.limit + 4 * r);
  }

  /**
   * For a get: the offset of the first entry >= (userKey, seq) if it has `userKey` (its kind, seq
   * and value bounds are then in `found`); NOT_HERE if that entry has another user key; PAST_END if
   * every entry is < (userKey, seq).
   */
  find(userKey: Uint8Array, seq: number): number {
    if (INVARIANTS) blockScratch.enter('Block.find');
    try {
      const p = this.scan(userKey, seq, false);
      if (p === PAST_END) return PAST_END;
      if (!scanEqual) return NOT_HERE;
      if (INVARIANTS) foundScratch.enter('Block.find');
      found.kind = eKind;
      found.seq = entrySeq(this);
      found.valueAt = eValueAt;
      found.valueEnd = eNext;
      return p;
    } finally {
      if (INVARIANTS) blockScratch.leave();
    }
  }

  /** Parses the entry at restart r into `out` (offsets of its key, value and the next entry; its seq). */
  restartEntry(r: number, out: { keyAt: number; valueAt: number; next: number; seq: number }): void {
    if (INVARIANTS) blockScratch.enter('Block.restartEntry');
    try {
      parseEntry(this, this.restartAt(r));
      if (eShared !== 0) throw this.malformed(`restart ${r} shares a prefix`);
      out.keyAt = eKeyAt;
      out.valueAt = eValueAt;
      out.next = eNext;
      out.seq = entrySeq(this);
    } finally {
      if (INVARIANTS) blockScratch.leave();
    }
  }

  /** The user key of the entry at restart r (a copy). */
  restartKey(r: number): Uint8Array {
    if (INVARIANTS) blockScratch.enter('Block.restartKey');
    try {
      parseEntry(this, this.restartAt(r));
      return this.data.slice(eKeyAt, eValueAt);
    } finally {
      if (INVARIANTS) blockScratch.leave();
    }
  }

  /**
   * The largest restart point whose entry is < (userKey, seq) (<= if `after`), -1 if none; its
   * common prefix with the target in restartLcp. Keys between two probed bounds share the prefix
   * both bounds share with the target, so a probe compares from there. REQUIRES: the caller holds
   * blockScratch (Block.find, a BlockCursor).
   */
  lastRestartBefore(userKey: Uint8Array, seq: number, after: boolean): number {
    let lo = 0;
    let hi = this.restarts - 1;
    let ans = -1;
    let llcp = 0;
    let rlcp = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      parseEntry(this, this.restartAt(mid));
      if (eShared !== 0) throw this.malformed(`restart ${mid} shares a prefix`);
      const c = compareParsed(this, eKeyAt, eUnshared, userKey, seq, Math.min(llcp, rlcp));
      if (c < 0 || (c === 0 && after)) {
        ans = mid;
        lo = mid + 1;
        llcp = cmpLcp;
      } else {
        hi = mid - 1;
        rlcp = cmpLcp;
      }
    }
    restartLcp = llcp;
    return ans;
  }

  /**
   * Offset of the first entry > (userKey, seq) if `after`, else >= it; PAST_END if none. The entry
   * is left parsed (e* variables) and scanEqual says whether its user key equals `userKey`.
   * Within an interval an entry's key is compared without being rebuilt: with L the common prefix
   * of the previous key (< target) and the target, an entry sharing fewer than L bytes with the
   * previous key is > target, one sharing more is < target, and only one sharing exactly L bytes
   * needs its own bytes compared from L on.
   */
  private scan(userKey: Uint8Array, seq: number, after: boolean): number {
    const limit = this.limit;
    const klen = userKey.length;
    const r = this.lastRestartBefore(userKey, seq, after);
    let p: number;
    let less: boolean; // the previous entry is known to sort before the target
    let lcp = 0; // its common prefix with the target
    let prevLen = 0;
    if (r < 0) {
      p = 0;
      less = false;
    } else {
      // Restart r sorts before the target (the search compared it): step over it.
      p = this.restartAt(r);
      parseEntry(this, p);
      prevLen = eUnshared;
      lcp = restartLcp;
      less = true;
      p = eNext;
    }
    while (p < limit) {
      parseEntry(this, p);
      const shared = eShared;
      if (shared > prevLen) throw this.malformed(`entry at ${p} shares ${shared} bytes of a ${prevLen}-byte key`);
      const keyLen = shared + eUnshared;
      let c: number;
      if (!less || shared === 0) {
        c = compareParsed(this, eKeyAt, keyLen, userKey, seq, 0);
      } else if (shared < lcp) {
        c = 1;
        cmpLcp = shared;
      } else if (shared > lcp) {
        c = -1;
        cmpLcp = lcp;
      } else {
        c = compareParsed(this, eKeyAt - shared, keyLen, userKey, seq, lcp);
      }
      if (c > 0 || (c === 0 && !after)) {
        scanEqual = cmpLcp === klen && keyLen === klen;
        return p;
      }
      less = true;
      lcp = cmpLcp;
      prevLen = keyLen;
      p = eNext;
    }
    if (p !== limit) throw this.malformed(`entries overrun the restart array`);
    return PAST_END;
  }
}

let restartLcp = 0;
let scanEqual = false;

function getU32(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16) | (buf[off + 3]! << 24)) >>> 0;
}

/**
 * Steps through one block's entries in either direction. Forward, each key is rebuilt in place from
 * the previous one; backward, one restart interval is rebuilt at a time and its entries are kept in
 * a small stack, so a reverse scan reads each entry once (LevelDB rescans the interval per step).
 * key() returns a copy that stays valid: callers keep keys across steps (db-iterator.ts).
 */
export class BlockCursor {
  private block: Block | undefined;
  private data: Uint8Array = new Uint8Array(0);
  private limit = 0;
  /** Offset of the current entry; -1 before the first, `limit` past the last. */
  private cur = -1;
  private nextAt = 0;
  private keyBuf = new Uint8Array(64);
  private keyLen = 0;
  private keyCopy: Uint8Array | undefined;
  private curSeq = 0;
  private curKind = 0;
  private valueAt = 0;
  private valueEnd = 0;
  // Entries before `cur` in its restart interval, oldest first, with their keys rebuilt.
  private stackOffs: number[] = [];
  private stackKeys: Uint8Array[] = [];
  private stackLen = 0;

  /** Positions on nothing in `block`. */
  reset(block: Block): void {
    this.block = block;
    this.data = block.data;
    this.limit = block.limit;
    this.cur = -1;
    this.stackLen = 0;
    this.keyLen = 0;
    this.keyCopy = undefined;
  }

  /**
   * Points the cursor at `block`, a fresh copy of the block it is on (same bytes: its memory was
   * released, see Block.released), keeping its position.
   */
  rebind(block: Block): void {
    this.block = block;
    this.data = block.data;
  }

  valid(): boolean {
    return this.cur >= 0 && this.cur < this.limit;
  }

  seekToFirst(): void {
    this.stackLen = 0;
    this.keyLen = 0;
    this.step(0);
  }

  seekToLast(): void {
    this.stackLen = 0;
    this.cur = this.limit;
    this.prev();
  }

  /** First entry > (userKey, seq) if `after`, else >= it; invalid (past the end) if none. */
  seek(userKey: Uint8Array, seq: number, after = false): void {
    const b = this.block!;
    this.stackLen = 0;
    const r = b.lastRestartBefore(userKey, seq, after);
    this.keyLen = 0;
    this.step(r < 0 ? 0 : b.restartAt(r));
    while (this.cur < this.limit) {
      const c = compareBytes(this.keyBuf, userKey, 0, this.keyLen) || seq - this.curSeq;
      if (c > 0 || (c === 0 && !after)) return;
      this.next();
    }
  }

  /** Last entry <= (userKey, seq); invalid (before the start) if none. */
  seekForPrev(userKey: Uint8Array, seq: number): void {
    this.seek(userKey, seq, true);
    this.prev();
  }

  /** REQUIRES: valid(). */
  next(): void {
    this.stackLen = 0;
    if (this.nextAt >= this.limit) {
      this.cur = this.limit;
      this.keyCopy = undefined;
      return;
    }
    this.step(this.nextAt);
  }

  /** REQUIRES: valid(), or past the end (then it moves to the last entry). */
  prev(): void {
    if (this.stackLen === 0 && !this.fillStack()) {
      this.cur = -1;
      this.keyCopy = undefined;
      return;
    }
    const i = --this.stackLen;
    const p = this.stackOffs[i]!;
    const key = this.stackKeys[i]!;
    parseEntry(this.block!, p);
    if (key.length > this.keyBuf.length) this.keyBuf = new Uint8Array(key.length * 2);
    this.keyBuf.set(key);
    this.keyLen = key.length;
    this.keyCopy = key;
    this.setCurrent(p);
  }

  key(): Uint8Array {
    if (INVARIANTS && !this.valid()) invariantViolated('BlockCursor.key() on an unpositioned cursor');
    return (this.keyCopy ??= copyBytes(this.keyBuf.subarray(0, this.keyLen)));
  }

  seq(): number {
    if (INVARIANTS && !this.valid()) invariantViolated('BlockCursor.seq() on an unpositioned cursor');
    return this.curSeq;
  }

  kind(): number {
    return this.curKind;
  }

  value(): Uint8Array {
    if (INVARIANTS && !this.valid()) invariantViolated('BlockCursor.value() on an unpositioned cursor');
    return this.data.subarray(this.valueAt, this.valueEnd);
  }

  /** Parses the entry at p, rebuilding its key on top of the key in keyBuf, and makes it current. */
  private step(p: number): void {
    parseEntry(this.block!, p);
    const shared = eShared;
    if (shared > this.keyLen)
      throw this.block!.malformed(`entry at ${p} shares ${shared} bytes of a ${this.keyLen}-byte key`);
    const keyLen = shared + eUnshared;
    let kb = this.keyBuf;
    if (keyLen > kb.length) {
      const grown = new Uint8Array(Math.max(keyLen, kb.length * 2));
      grown.set(kb.subarray(0, shared));
      kb = this.keyBuf = grown;
    }
    const data = this.data;
    const from = eKeyAt - shared;
    for (let j = shared; j < keyLen; j++) kb[j] = data[from + j]!;
    this.keyLen = keyLen;
    this.keyCopy = undefined;
    this.setCurrent(p);
  }

  private setCurrent(p: number): void {
    this.cur = p;
    this.nextAt = eNext;
    this.curSeq = entrySeq(this.block!);
    this.curKind = eKind;
    this.valueAt = eValueAt;
    this.valueEnd = eNext;
  }

  /** Rebuilds the entries of the restart interval before `cur` into the stack; false if cur is the first entry. */
  private fillStack(): boolean {
    const b = this.block!;
    const end = this.cur;
    if (end <= 0) return false;
    // The last restart point before `end`.
    let lo = 0;
    let hi = b.restarts - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (b.restartAt(mid) < end) lo = mid;
      else hi = mid - 1;
    }
    let p = b.restartAt(lo);
    this.keyLen = 0;
    let n = 0;
    while (p < end) {
      this.step(p);
      this.stackOffs[n] = p;
      this.stackKeys[n] = copyBytes(this.keyBuf.subarray(0, this.keyLen));
      n++;
      p = eNext;
    }
    if (p !== end) throw b.malformed(`entry at ${this.stackOffs[n - 1]} overruns the entry at ${end}`);
    this.stackLen = n;
    return true;
  }
}
