// The per-table bloom filter over user keys (docs/format.md §5.5): one filter per table, consulted
// before any block is touched so that a get skips tables that cannot hold its key.
//
// Built on bloom-filters' BloomFilter (its bit set, sizing and add()), with its `_hashing` object
// replaced, because its default hashing (xxhashjs over strings) does ~190k has/s (DESIGN.md).
// Hashing, frozen by the format:
//   h1 = murmur3_x86_32(userKey bytes, seed 0xbc9f1d34)      (murmurhash3js-revisited's x86.hash32)
//   h2 = fmix32(h1 ^ 0x9e3779b9)                             (murmur3's finaliser)
//   probe i (0 <= i < k) = (h1 + i*h2 + (i^3 - i)/6) mod m   (enhanced double hashing, as bloom-filters)
// Measured (200k ~13-byte keys, n=100k, 10 bits/key, k=7): two independent murmur seeds gave 0.84 %
// false positives, h2 derived with fmix32 0.81 % (theory 0.82 %), h2 = rotr(h1, 17) (LevelDB) 1.17 %.
// Deriving h2 saves one pass over the key on every probe.
//
// Read path: mayContain() does not call BloomFilter.has(), which allocates an index array per call
// through getIndexes(); it probes the same bit array directly with an inlined Math.imul murmur3.
// Measured on 200k 13-byte keys (CPU time, loaded 2-core machine): murmurhash3js-revisited
// x86.hash32 ~9.9M/s (it validates every input byte with Number.isInteger), the inlined copy ~30M/s;
// mayContain ~8.7M/s vs BloomFilter.has() with the same hashing ~3.5M/s. The inlined copy is checked
// against the library in test/engine/table/bloom.test.ts. Building hashes with the inlined copy too
// and sets bits through the library's BloomFilter.add.
//
// Serialized as raw bytes, not JSON: bit array (m/8 bytes) | fixed32 m (bits) | u8 k | u8 scheme (1).
// Loading wraps a view of the block: no copy, no parse, no BloomFilter construction (measured
// ~25 us each, for seedrandom); m = 0 and k = 0 is "no filter" (always true).

import { createRequire } from 'node:module';
import { getFixed32, putFixed32 } from '../util/coding.js';

// bloom-filters is CommonJS and sets __esModule, so a default import means module.exports
// under Node's ESM loader but `.default` (undefined) under CJS transpilers; require is the same everywhere.
const require = createRequire(import.meta.url);
const { BloomFilter } = require('bloom-filters') as typeof import('bloom-filters');
type BloomFilter = InstanceType<typeof BloomFilter>;

export const DEFAULT_BITS_PER_KEY = 10;
/** Seed of h1; part of the format. */
export const BLOOM_SEED = 0xbc9f1d34;
const H2_MIX = 0x9e3779b9;
/** Hash scheme byte stored in the filter block: 1 = the scheme described above. */
const BLOOM_SCHEME_MURMUR3_DOUBLE = 1;
const BLOOM_TRAILER = 6;
const MAX_HASHES = 30;

/** murmur3 x86 32-bit, inlined for the read path (see header). Returns an unsigned 32-bit value. */
export function murmur3x86(b: Uint8Array, seed: number, start = 0, end = b.length): number {
  const n = end - start;
  const blocks = start + (n & ~3);
  let h = seed | 0;
  let i = start;
  for (; i < blocks; i += 4) {
    let k = b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = n & 3;
  if (rest !== 0) {
    let k = b[i]!;
    if (rest > 1) k ^= b[i + 1]! << 8;
    if (rest > 2) k ^= b[i + 2]! << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  return fmix32(h ^ n);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** bloomHash of the key at b[start, end), without a view of it (the memtable hashes keys in its arena). */
export function bloomHashRange(b: Uint8Array, start: number, end: number): number {
  return murmur3x86(b, BLOOM_SEED, start, end);
}

/**
 * h1 of a key; what the builder stores per distinct user key and what mayContainHash() takes. The
 * inlined murmur3 (checked equal to murmurhash3js-revisited's x86.hash32 in bloom.test.ts) rather
 * than the library call: the library validates every byte and measured ~10% of a compaction's CPU profile.
 */
export function bloomHash(userKey: Uint8Array): number {
  return murmur3x86(userKey, BLOOM_SEED);
}

/**
 * The `_hashing` object plugged into BloomFilter. Elements are h1 values (numbers) precomputed by
 * bloomHash(): the builder only learns the filter size once every key has been seen, so it keeps
 * 4 bytes per key instead of the keys.
 */
const murmurDoubleHashing = {
  getIndexes(element: unknown, size: number, hashCount: number): number[] {
    const out: number[] = [];
    const h1 = typeof element === 'number' ? element : bloomHash(element as Uint8Array);
    let a = h1 % size;
    let d = fmix32(h1 ^ H2_MIX) % size;
    for (let i = 0; i < hashCount; i++) {
      out.push(a);
      a += d;
      if (a >= size) a -= size;
      d += i + 1;
      if (d >= size) d -= size;
    }
    return out;
  },
};

function withMurmurHashing(f: BloomFilter): BloomFilter {
  // The typings declare `_hashing` as bloom-filters' Hashing class; only getIndexes is ever called.
  (f as unknown as { _hashing: unknown })._hashing = murmurDoubleHashing;
  return f;
}

/** Number of probes for `bitsPerKey`: round(bitsPerKey * ln 2), clamped to [1, 30]. */
export function hashesForBitsPerKey(bitsPerKey: number): number {
  return Math.max(1, Math.min(MAX_HASHES, Math.round(bitsPerKey * Math.LN2)));
}

/**
 * Builds the filter block for a table from the h1 values of its distinct user keys.
 * `bitsPerKey <= 0` writes an empty filter (m = 0), which every key passes.
 */
export function buildFilter(hashes: Uint32Array, count: number, bitsPerKey: number): Uint8Array {
  if (bitsPerKey <= 0) return encodeFilter(new Uint8Array(0), 0, 0);
  // At least 64 bits so that tiny tables do not have a degenerate false-positive rate; a multiple of
  // 8 so that BitSet's rounding never changes m.
  const m = Math.max(64, Math.ceil((count * bitsPerKey) / 8) * 8);
  const k = hashesForBitsPerKey(bitsPerKey);
  // Sets the bits directly, with exactly the probes and bit layout of BloomFilter.add under
  // murmurDoubleHashing (bloom.test.ts checks the two agree bit for bit). BloomFilter.add allocates an
  // index array per key: for a 35k-key flush, ~13.5 ms on the event loop against ~3 ms (measured).
  const bits = new Uint8Array(m / 8);
  for (let i = 0; i < count; i++) {
    const h1 = hashes[i]!;
    let a = h1 % m;
    let d = fmix32(h1 ^ H2_MIX) % m;
    for (let j = 0; j < k; j++) {
      bits[a >>> 3] = bits[a >>> 3]! | (1 << (a & 7));
      a += d;
      if (a >= m) a -= m;
      d += j + 1;
      if (d >= m) d -= m;
    }
  }
  return encodeFilter(bits, m, k);
}

/** The same filter built through bloom-filters' BloomFilter.add: the reference buildFilter matches. */
export function buildFilterWithLibrary(hashes: Uint32Array, count: number, bitsPerKey: number): Uint8Array {
  const m = Math.max(64, Math.ceil((count * bitsPerKey) / 8) * 8);
  const k = hashesForBitsPerKey(bitsPerKey);
  const f = withMurmurHashing(new BloomFilter(m, k));
  for (let i = 0; i < count; i++) f.add(hashes[i]! as unknown as string);
  return encodeFilter(f._filter.array, m, k);
}

function encodeFilter(bits: Uint8Array, m: number, k: number): Uint8Array {
  const out = new Uint8Array(bits.length + BLOOM_TRAILER);
  out.set(bits, 0);
  putFixed32(out, bits.length, m);
  out[bits.length + 4] = k;
  out[bits.length + 5] = BLOOM_SCHEME_MURMUR3_DOUBLE;
  return out;
}

/** A loaded filter. The bit array is a view of the filter block's contents. */
export class TableBloom {
  private readonly bits: Uint8Array;
  private readonly m: number;
  private readonly k: number;
  private lib: BloomFilter | undefined;

  private constructor(bits: Uint8Array, m: number, k: number) {
    this.bits = bits;
    this.m = m;
    this.k = k;
  }

  /**
   * The same filter as a bloom-filters BloomFilter (has(), rate(), ...), for inspection and tests;
   * undefined for an empty filter. Built on first use: BloomFilter's constructor seeds a PRNG
   * (seedrandom), ~25 us, which table open does not need to pay.
   */
  get filter(): BloomFilter | undefined {
    if (this.lib === undefined && this.m > 0) {
      // A minimal BitSet with the loaded view swapped in, rather than allocating m bits and copying
      // (public fields in its typings; BitSet's size is readonly there).
      const f = withMurmurHashing(new BloomFilter(8, this.k));
      f._size = this.m;
      (f._filter as { size: number }).size = this.m;
      f._filter.array = this.bits;
      this.lib = f;
    }
    return this.lib;
  }

  /** Parses filter block contents; returns a reason string if they are malformed. */
  static decode(contents: Uint8Array): TableBloom | string {
    if (contents.length < BLOOM_TRAILER) return 'filter block too short';
    const nbytes = contents.length - BLOOM_TRAILER;
    const m = getFixed32(contents, nbytes);
    const k = contents[nbytes + 4]!;
    const scheme = contents[nbytes + 5]!;
    if (scheme !== BLOOM_SCHEME_MURMUR3_DOUBLE) return `unknown filter hash scheme ${scheme}`;
    if (m !== nbytes * 8) return `filter size ${m} bits does not match its ${nbytes} bytes`;
    if (m === 0 ? k !== 0 : k < 1 || k > MAX_HASHES) return `invalid filter hash count ${k}`;
    return new TableBloom(contents.subarray(0, nbytes), m, k);
  }

  get sizeInBits(): number {
    return this.m;
  }

  get hashCount(): number {
    return this.k;
  }

  /** False iff `userKey` is certainly not in the table. Allocates nothing. */
  mayContain(userKey: Uint8Array): boolean {
    return this.mayContainHash(bloomHash(userKey));
  }

  /** mayContain for a key whose bloomHash() the caller computed once for every table it asks. */
  mayContainHash(h1: number): boolean {
    const m = this.m;
    if (m === 0) return true;
    const bits = this.bits;
    let a = h1 % m;
    let d = fmix32(h1 ^ H2_MIX) % m;
    const k = this.k;
    for (let i = 0; i < k; i++) {
      if ((bits[a >>> 3]! & (1 << (a & 7))) === 0) return false;
      a += d;
      if (a >= m) a -= m;
      d += i + 1;
      if (d >= m) d -= m;
    }
    return true;
  }
}
