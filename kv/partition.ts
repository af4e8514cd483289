// Which partition a key belongs to: murmur3_32 (seed 0) of its hash key, modulo the partition count.
// The hash key is Redis Cluster's hash tag: the bytes between the first '{' and the first '}' after
// it, when there are any, else the whole key; so "{user1}.name" and "{user1}.mail" land together.

import { createRequire } from 'node:module';
import { utf8 } from './bytes.js';
import type { KeyLike } from './kv-store.js';

// murmurhash3js-revisited is CommonJS without type declarations: load it through require and give it
// the one signature used here, rather than declare an ambient module other layers may declare too.
// This is the one place it is loaded. (The engine's bloom filter hashes with its own inlined copy of
// the same function, three times faster on its read path; bloom.test.ts checks the two agree.)
const require = createRequire(import.meta.url);
const murmur = require('murmurhash3js-revisited') as {
  x86: { hash32(bytes: Uint8Array, seed?: number): number };
};

const OPEN = 0x7b; // '{'
const CLOSE = 0x7d; // '}'

export function keyBytes(key: KeyLike): Uint8Array {
  if (typeof key === 'string') return utf8(key);
  if (key instanceof Uint8Array) return key;
  throw new TypeError('key must be a Uint8Array or a string');
}

/** The part of `key` that is hashed: the non-empty hash tag if there is one, else the whole key. */
export function hashKey(key: Uint8Array): Uint8Array {
  const open = key.indexOf(OPEN);
  if (open < 0) return key;
  const close = key.indexOf(CLOSE, open + 1);
  if (close < 0 || close === open + 1) return key;
  return key.subarray(open + 1, close);
}

/** murmur3_32 (x86) of `bytes`, unsigned; seed 0 is the partition function's. */
export function murmur3(bytes: Uint8Array, seed = 0): number {
  return murmur.x86.hash32(bytes, seed) >>> 0;
}

export function partitionOf(key: KeyLike, partitions: number): number {
  return murmur3(hashKey(keyBytes(key))) % partitions;
}
