// An in-memory filter over the user keys in one memtable, so that a read whose key the memtable
// does not hold (most reads, once data is in tables) skips the tree walk: ~20 dependent node loads
// in a persistent red-black tree, 15-16% of a cached 1M-entry getSync profile.
//
// A blocked bloom filter: the key's hash picks one 64-byte block (one cache line) and sets or tests
// PROBES bits inside it (double hashing within the block's 512 bits), so a lookup costs one cache
// miss at most. It lives only in memory (never
// written to disk), so its layout is free to change. Input is the table filters' h1
// (bloom.ts bloomHash), so one murmur3 per lookup serves the memtables and every table.
//
// Sized once from the memtable's byte budget: BITS_PER_BYTE bits per memtable byte, a power of two
// between MIN_BITS and MAX_BITS. A 4 MiB memtable gets 2^20 bits (128 KiB); its entries take at
// least ~40 bytes each (a key, its trailer and the arena's header), so that is >= 10 bits per key,
// and about 1 % false positives at worst (0.9 % measured at 100k keys; 0.03 % at the ~28k entries of
// 16-byte keys and 100-byte values that fill 4 MiB), which only cost the tree walk that happens anyway.

const BLOCK_BITS = 512;
const PROBES = 6;
const BITS_PER_BYTE = 0.25;
const MIN_BITS = 1 << 14;
const MAX_BITS = 1 << 26;

export class KeyFilter {
  private readonly words: Int32Array;
  /** Number of blocks - 1 (a power of two minus one). */
  private readonly blockMask: number;

  constructor(budgetBytes: number) {
    let bits = MIN_BITS;
    while (bits < MAX_BITS && bits < budgetBytes * BITS_PER_BYTE) bits *= 2;
    this.words = new Int32Array(bits >>> 5);
    this.blockMask = bits / BLOCK_BITS - 1;
  }

  /** Bytes this filter holds. */
  get bytes(): number {
    return this.words.byteLength;
  }

  /** Records a key by its bloomHash. */
  add(h1: number): void {
    const words = this.words;
    const base = (h1 & this.blockMask) << 4; // 16 words per block
    const h = mix(h1);
    const step = (h >>> 9) | 1;
    let bit = h;
    for (let i = 0; i < PROBES; i++) {
      const b = bit & 511;
      words[base + (b >>> 5)]! |= 1 << (b & 31);
      bit += step;
    }
  }

  /** False iff no key with this bloomHash was added. */
  mayContain(h1: number): boolean {
    const words = this.words;
    const base = (h1 & this.blockMask) << 4;
    const h = mix(h1);
    const step = (h >>> 9) | 1;
    let bit = h;
    for (let i = 0; i < PROBES; i++) {
      const b = bit & 511;
      if ((words[base + (b >>> 5)]! & (1 << (b & 31))) === 0) return false;
      bit += step;
    }
    return true;
  }
}

/** A second hash from h1 (murmur3's finaliser over h1 xor a constant): the bits within the block. */
function mix(h1: number): number {
  let h = (h1 ^ 0x5bd1e995) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
