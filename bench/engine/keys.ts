// Keys, values and orders for the db_bench workloads. Following LevelDB's db_bench: a key is the
// entry number as 16 ASCII digits ("%016d"), so sequential numbers are sequential keys; a missing
// key is the same with a "." appended, so it falls between stored keys and must be ruled out by
// search or bloom filter, not by range. Values are 100-byte slices of a pool of seeded random
// bytes; unlike db_bench (50% compressible) they are incompressible, so LevelDB's Snappy gains
// nothing and bytes on disk compare the engines' formats, not their compressors.

import { mulberry32 } from '../../engine/util/random.js';

export const KEY_SIZE = 16;
export const VALUE_SIZE = 100;

/** Seeded generator (mulberry32): shuffles keys and fills the value pool reproducibly. */
export const rng = mulberry32;

/** Key for entry i: 16 ASCII digits. A fresh Buffer per call (from Node's slab allocator, so cheap),
 * because an engine may keep a reference to the key it was given. */
export function makeKey(i: number): Buffer {
  const b = Buffer.allocUnsafe(KEY_SIZE);
  writeDigits(b, i, KEY_SIZE);
  return b;
}

/** A key that is never stored: entry i's key followed by ".". */
export function makeMissingKey(i: number): Buffer {
  const b = Buffer.allocUnsafe(KEY_SIZE + 1);
  writeDigits(b, i, KEY_SIZE);
  b[KEY_SIZE] = 0x2e;
  return b;
}

function writeDigits(b: Buffer, n: number, width: number): void {
  let v = n;
  for (let p = width - 1; p >= 0; p--) {
    b[p] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
}

/** Hands out 100-byte values as views into a 1 MiB pool of random bytes, like db_bench's
 * RandomGenerator. A view is a fresh object per call, so an engine keeping it is harmless; the
 * pool is never written after construction. */
export class ValueSource {
  private readonly pool: Buffer;
  private pos = 0;

  constructor(seed: number, poolBytes = 1 << 20) {
    const next = rng(seed);
    this.pool = Buffer.allocUnsafe(poolBytes);
    for (let i = 0; i < poolBytes; i += 4) this.pool.writeUInt32LE((next() * 2 ** 32) >>> 0, i);
  }

  next(): Buffer {
    if (this.pos + VALUE_SIZE > this.pool.length) this.pos = 0;
    const v = this.pool.subarray(this.pos, this.pos + VALUE_SIZE);
    // An odd stride makes consecutive values differ in alignment as well as content.
    this.pos += VALUE_SIZE + 7;
    return v;
  }
}

/** 0..n-1 in a seeded random order (Fisher-Yates). fillrandom writes every key exactly once, so
 * the live data after it is exactly n entries, which the space-amplification figure needs. */
export function permutation(n: number, seed: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const next = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** n uniform draws from 0..range-1 (with repeats), as db_bench's readrandom does. */
export function uniform(n: number, range: number, seed: number): Uint32Array {
  const out = new Uint32Array(n);
  const next = rng(seed);
  for (let i = 0; i < n; i++) out[i] = Math.floor(next() * range);
  return out;
}

/** 0..n-1 in order. */
export function sequential(n: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return p;
}
