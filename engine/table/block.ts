// A decoded data or index block: what the block cache holds. Decoding (once per cache miss) turns
// the prefix-compressed entries of docs/format.md §5.2 into flat arrays, so that a lookup is a binary
// search that compares bytes in place and a step is an index increment:
//   keys    one buffer holding every full user key back to back, keyOff[i]..keyOff[i+1] is entry i
//   seqs    Float64Array (sequences reach 2^53), kinds Uint8Array
//   vals    Uint32Array of [start, end) pairs into the block's own bytes (values are never copied)
// Every length and varint is bounds-checked while decoding: a block that passed its CRC but is still
// malformed (a writer bug, or a collision) is CORRUPTION, never an out-of-range read or a wrong value.

import { compareBytes } from '../util/bytes.js';
import { getFixed32 } from '../util/coding.js';
import { corruption } from '../util/errors.js';
import { MAX_SEQUENCE } from '../format/internal-key.js';

/** Smallest possible encoded entry: four 1-byte varints and the kind byte. */
const MIN_ENTRY = 5;
/** Approximate fixed cost of the object and its typed-array headers, charged to the cache. */
const OBJECT_OVERHEAD = 400;

// Decoder cursor, module-level so the varint reader returns a plain number without allocating.
let cursor = 0;
// Common prefix of the last search's target and the key it stopped at (Block.find).
let searchLcp = 0;

// Decoding scratch, reused by every decode on this thread and copied out at the end.
let scratchSeqs = new Float64Array(256);
let scratchKeyOff = new Uint32Array(257);
let scratchVals = new Uint32Array(512);
let scratchKinds = new Uint8Array(256);
let scratchKeys = new Uint8Array(16384);

function growScratch(count: number): void {
  let n = scratchSeqs.length;
  while (n < count) n *= 2;
  scratchSeqs = new Float64Array(n);
  scratchKeyOff = new Uint32Array(n + 1);
  scratchVals = new Uint32Array(2 * n);
  scratchKinds = new Uint8Array(n);
}

/** Block.find results. */
export const NOT_HERE = -1;
export const PAST_END = -2;

/** Reads a varint at `cursor` below `limit`; returns -1 if it runs past `limit` or exceeds 8 bytes. */
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

// Common prefix of the target and the entry of the last compareEntry call.
let entryLcp = 0;

/**
 * Compares entry i with (userKey, seq) in internal order, starting at byte `from` (REQUIRES: the first
 * `from` bytes are known equal). Negative: entry i sorts first. Sets entryLcp.
 */
function compareEntry(
  keys: Uint8Array,
  off: Uint32Array,
  seqs: Float64Array,
  i: number,
  userKey: Uint8Array,
  seq: number,
  from: number,
): number {
  const s = off[i]!;
  const len = off[i + 1]! - s;
  const klen = userKey.length;
  const n = len < klen ? len : klen;
  let j = from;
  while (j < n && keys[s + j] === userKey[j]) j++;
  entryLcp = j;
  if (j < n) return keys[s + j]! - userKey[j]!;
  if (len !== klen) return len - klen;
  return seq - seqs[i]!;
}

export class Block {
  /** Number of entries (>= 1). */
  readonly count: number;
  /** The block contents; values are views of it. */
  readonly data: Uint8Array;
  readonly keys: Uint8Array;
  readonly keyOff: Uint32Array;
  readonly seqs: Float64Array;
  readonly kinds: Uint8Array;
  readonly vals: Uint32Array;
  /** Approximate bytes of memory this block holds, for the cache's byte bound. */
  readonly charge: number;

  private constructor(data: Uint8Array, count: number, keysLen: number) {
    // One allocation for all the arrays: typed-array allocation dominated decoding when each array
    // had its own buffer (measured: 5 allocations ~3-6 us of a 7-9 us decode of a 4 KiB block).
    // Layout (every view aligned): seqs f64[n] | keyOff u32[n+1] | vals u32[2n] | kinds u8[n] | keys.
    const n = count;
    const buf = new ArrayBuffer(21 * n + 4 + keysLen);
    this.data = data;
    this.count = n;
    this.seqs = new Float64Array(buf, 0, n);
    this.keyOff = new Uint32Array(buf, 8 * n, n + 1);
    this.vals = new Uint32Array(buf, 12 * n + 4, 2 * n);
    this.kinds = new Uint8Array(buf, 20 * n + 4, n);
    this.keys = new Uint8Array(buf, 21 * n + 4, keysLen);
    this.seqs.set(scratchSeqs.subarray(0, n));
    this.keyOff.set(scratchKeyOff.subarray(0, n + 1));
    this.vals.set(scratchVals.subarray(0, 2 * n));
    this.kinds.set(scratchKinds.subarray(0, n));
    this.keys.set(scratchKeys.subarray(0, keysLen));
    this.charge = data.length + buf.byteLength + OBJECT_OVERHEAD;
  }

  /**
   * Decodes block contents (CRC already verified). `path` and `offset` name the block in errors.
   * Throws CORRUPTION if the contents are not a well-formed block.
   */
  static decode(data: Uint8Array, path: string, offset: number, what = 'data'): Block {
    const bad = (why: string): Error => corruption(path, offset, `malformed ${what} block: ${why}`);
    if (data.length < 4 + MIN_ENTRY) throw bad(`${data.length} bytes is too short`);
    const limit = data.length - 4;
    const count = getFixed32(data, limit);
    if (count < 1 || count > Math.floor(limit / MIN_ENTRY)) throw bad(`entry count ${count} does not fit`);

    // Decode into reused scratch arrays (synchronous, so one set per thread is enough), then copy
    // into one exact-size buffer in the constructor.
    if (scratchSeqs.length < count) growScratch(count);
    const keyOff = scratchKeyOff;
    const seqs = scratchSeqs;
    const kinds = scratchKinds;
    const vals = scratchVals;
    let keys = scratchKeys;
    let keysLen = 0;
    let prevLen = 0;
    cursor = 0;
    for (let i = 0; i < count; i++) {
      const shared = readVarint(data, limit);
      const unshared = readVarint(data, limit);
      const valueLen = readVarint(data, limit);
      const seq = readVarint(data, limit);
      if (seq < 0 || valueLen < 0 || unshared < 0 || shared < 0) throw bad(`entry ${i} header runs past the end`);
      if (shared > prevLen) throw bad(`entry ${i} shares ${shared} bytes of a ${prevLen}-byte key`);
      if (seq > MAX_SEQUENCE) throw bad(`entry ${i} sequence ${seq} out of range`);
      let p = cursor;
      if (p >= limit) throw bad(`entry ${i} kind runs past the end`);
      const kind = data[p++]!;
      if (kind > 1) throw bad(`entry ${i} has unknown kind ${kind}`);
      if (unshared > limit - p || valueLen > limit - p - unshared) throw bad(`entry ${i} runs past the end`);
      const keyLen = shared + unshared;
      if (keysLen + keyLen > keys.length) {
        // Full keys can exceed the block size when long prefixes are shared; grow by doubling.
        let cap = keys.length * 2;
        while (cap < keysLen + keyLen) cap *= 2;
        const grown = new Uint8Array(cap);
        grown.set(keys.subarray(0, keysLen));
        keys = scratchKeys = grown;
      }
      const start = keysLen;
      // Copy the shared prefix from the previous key, then the new suffix. Byte loops: keys are
      // short, and copyWithin/set(subarray) cost a call and a view per entry.
      const from = start - prevLen;
      for (let j = 0; j < shared; j++) keys[start + j] = keys[from + j]!;
      for (let j = 0; j < unshared; j++) keys[start + shared + j] = data[p + j]!;
      keysLen = start + keyLen;
      keyOff[i] = start;
      p += unshared;
      seqs[i] = seq;
      kinds[i] = kind;
      vals[2 * i] = p;
      vals[2 * i + 1] = p + valueLen;
      cursor = p + valueLen;
      prevLen = keyLen;
    }
    keyOff[count] = keysLen;
    if (cursor !== limit) throw bad(`${limit - cursor} bytes left after ${count} entries`);
    return new Block(data, count, keysLen);
  }

  /** Compares entry i's user key with `userKey` (unsigned bytes). */
  compareUserKey(i: number, userKey: Uint8Array): number {
    return compareBytes(this.keys, userKey, this.keyOff[i]!, this.keyOff[i + 1]!);
  }

  /** Index of the first entry >= (userKey, seq) in internal order (seq descending); count if none. */
  seek(userKey: Uint8Array, seq: number): number {
    return this.search(userKey, seq, false);
  }

  /** Index of the last entry <= (userKey, seq) in internal order; -1 if none. */
  seekForPrev(userKey: Uint8Array, seq: number): number {
    return this.search(userKey, seq, true) - 1;
  }

  /**
   * For a get: the index of the first entry >= (userKey, seq) if it has `userKey`; NOT_HERE if that
   * entry has another user key; PAST_END if every entry is < (userKey, seq).
   */
  find(userKey: Uint8Array, seq: number): number {
    const i = this.search(userKey, seq, false);
    if (i === this.count) return PAST_END;
    // searchLcp is the common prefix of userKey and entry i's key (set whenever hi moved to i).
    return searchLcp === userKey.length && this.keyOff[i + 1]! - this.keyOff[i]! === searchLcp ? i : NOT_HERE;
  }

  /**
   * Binary search for the first entry > target (`after`) or >= target. Hand-written rather than
   * compareBytes per probe: every key between two sorted bounds shares the prefix that both bounds
   * share with the target, so a probe starts comparing after it. The first and last keys are compared
   * first to seed those prefixes, so that keys with a long common prefix (partition tags, padded
   * numbers) cost a few bytes per probe, not the whole prefix each time. Measured on a cached
   * 200k-key table (13-byte keys sharing ~10 bytes, 5253 blocks; CPU ns per search, loaded machine):
   * index 374 (compareBytes per probe) -> 246 (prefix skip) -> 211 (seeded); data block 257 -> 207
   * -> 190. A plain Float64Array binary search over 5253 numbers costs ~140 ns here (branch misses),
   * so what is left is mostly the search itself.
   */
  private search(userKey: Uint8Array, seq: number, after: boolean): number {
    const keys = this.keys;
    const off = this.keyOff;
    const seqs = this.seqs;
    const last = this.count - 1;
    let c = compareEntry(keys, off, seqs, 0, userKey, seq, 0);
    if (c > 0 || (c === 0 && !after)) {
      searchLcp = entryLcp;
      return 0;
    }
    let llcp = entryLcp; // common prefix of the target and the key at lo - 1
    c = compareEntry(keys, off, seqs, last, userKey, seq, 0);
    if (c < 0 || (c === 0 && after)) return last + 1;
    let rlcp = entryLcp; // common prefix of the target and the key at hi
    let lo = 1;
    let hi = last;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      c = compareEntry(keys, off, seqs, mid, userKey, seq, llcp < rlcp ? llcp : rlcp);
      if (c < 0 || (c === 0 && after)) {
        lo = mid + 1;
        llcp = entryLcp;
      } else {
        hi = mid;
        rlcp = entryLcp;
      }
    }
    searchLcp = rlcp;
    return lo;
  }

  /** Entry i's user key, a view of the decoded keys. */
  userKey(i: number): Uint8Array {
    return this.keys.subarray(this.keyOff[i]!, this.keyOff[i + 1]!);
  }

  /** Entry i's value, a view of the block's bytes. */
  value(i: number): Uint8Array {
    return this.data.subarray(this.vals[2 * i]!, this.vals[2 * i + 1]!);
  }
}
