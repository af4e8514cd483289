// The table bloom filter: no false negatives, the false-positive rate its bits per key promise, the
// inlined murmur3 equal to murmurhash3js-revisited's, and a raw serialization that loads as a view.

import { describe, expect, it } from 'vitest';
import {
  BLOOM_SEED,
  TableBloom,
  bloomHash,
  bloomHashRange,
  buildFilter,
  buildFilterWithLibrary,
  hashesForBitsPerKey,
  murmur3x86,
} from '../../../engine/table/bloom.js';
import { putFixed32 } from '../../../engine/util/coding.js';
import { murmur3, utf8 } from '../../../kv/index.js';
import { randomBytes, rng, seeds } from './helpers.js';

/** murmurhash3js-revisited's x86.hash32, as kv loads it. */
const murmur = { x86: { hash32: (b: Uint8Array, seed: number) => murmur3(b, seed) } };

function filterOf(keys: Uint8Array[], bitsPerKey: number): TableBloom {
  const hashes = Uint32Array.from(keys, bloomHash);
  const f = TableBloom.decode(buildFilter(hashes, hashes.length, bitsPerKey));
  if (typeof f === 'string') throw new Error(f);
  return f;
}

describe('bloom filter', () => {
  it.each(seeds([1, 2, 3]))('hashes exactly like murmurhash3js-revisited x86.hash32 (seed %i)', (seed) => {
    const rand = rng(seed);
    for (let len = 0; len < 70; len++) {
      for (let r = 0; r < 20; r++) {
        const b = randomBytes(rand, len);
        const s = Math.floor(rand() * 2 ** 32);
        expect(murmur3x86(b, s), `seed ${seed} len ${len}`).toBe(murmur.x86.hash32(b, s));
      }
    }
    expect(murmur3x86(new Uint8Array(0), BLOOM_SEED)).toBe(murmur.x86.hash32(new Uint8Array(0), BLOOM_SEED));
  });

  it.each(seeds([1, 2, 3]))('hashes a key inside a larger buffer like the key alone (seed %i)', (seed) => {
    const rand = rng(seed);
    for (let r = 0; r < 500; r++) {
      const buf = randomBytes(rand, 1 + Math.floor(rand() * 60));
      const start = Math.floor(rand() * buf.length);
      const end = start + Math.floor(rand() * (buf.length - start + 1));
      expect(bloomHashRange(buf, start, end), `seed ${seed} [${start}, ${end})`).toBe(bloomHash(buf.slice(start, end)));
    }
  });

  it('has no false negatives and about the expected false-positive rate at 10 bits per key', () => {
    const keys = Array.from({ length: 20000 }, (_, i) => utf8(`user-key-${i}`));
    const f = filterOf(keys, 10);
    expect(f.hashCount).toBe(7);
    expect(keys.filter((k) => !f.mayContain(k)).length).toBe(0);
    let fp = 0;
    const probes = 100000;
    for (let i = 0; i < probes; i++) if (f.mayContain(utf8(`absent-${i}`))) fp++;
    // Theory for m/n = 10, k = 7: 0.82 %.
    expect(fp / probes).toBeGreaterThan(0.004);
    expect(fp / probes).toBeLessThan(0.0125);
  });

  it('trades bits per key for false positives as configured', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => utf8(`k${i * 31}`));
    const rate = (bits: number): number => {
      const f = filterOf(keys, bits);
      let fp = 0;
      for (let i = 0; i < 50000; i++) if (f.mayContain(utf8(`q${i}`))) fp++;
      return fp / 50000;
    };
    const r5 = rate(5);
    const r20 = rate(20);
    expect(r5).toBeGreaterThan(0.05);
    expect(r5).toBeLessThan(0.15); // theory 9.2 %
    expect(r20).toBeLessThan(0.001); // theory 0.0067 %
    expect(hashesForBitsPerKey(1)).toBe(1);
    expect(hashesForBitsPerKey(64)).toBe(30);
  });

  it('agrees with the bloom-filters object it is built on', () => {
    const keys = Array.from({ length: 500 }, (_, i) => utf8(`key${i}`));
    const f = filterOf(keys, 10);
    const lib = f.filter!;
    for (let i = 0; i < 2000; i++) {
      const k = utf8(`key${i}`);
      expect(lib.has(k as unknown as string)).toBe(f.mayContain(k));
    }
    expect(lib.size).toBe(f.sizeInBits);
  });

  it('lets every key through when built with 0 bits per key', () => {
    const f = filterOf([utf8('a')], 0);
    expect(f.sizeInBits).toBe(0);
    expect(f.mayContain(utf8('anything'))).toBe(true);
  });

  it('loads as a view of the block bytes, without copying', () => {
    const block = buildFilter(Uint32Array.of(bloomHash(utf8('x'))), 1, 10);
    const f = TableBloom.decode(block) as TableBloom;
    expect(f.filter!._filter.array.buffer).toBe(block.buffer);
    expect(block.length).toBe(64 / 8 + 6);
  });

  it('refuses malformed filter blocks with a reason', () => {
    const good = buildFilter(Uint32Array.of(1, 2, 3), 3, 10);
    const n = good.length - 6;
    const scheme = good.slice();
    scheme[n + 5] = 9;
    expect(TableBloom.decode(scheme)).toMatch(/scheme/);
    const size = good.slice();
    putFixed32(size, n, 8 * n + 8);
    expect(TableBloom.decode(size)).toMatch(/does not match/);
    const k0 = good.slice();
    k0[n + 4] = 0;
    expect(TableBloom.decode(k0)).toMatch(/hash count/);
    const k99 = good.slice();
    k99[n + 4] = 99;
    expect(TableBloom.decode(k99)).toMatch(/hash count/);
    expect(TableBloom.decode(new Uint8Array(3))).toMatch(/too short/);
  });
});

describe('buildFilter', () => {
  it.each(seeds([1, 2, 3]))('sets exactly the bits bloom-filters BloomFilter.add sets (seed %i)', (seed) => {
    const rand = rng(seed);
    for (const count of [1, 7, 100, 5000]) {
      const hashes = Uint32Array.from({ length: count }, () => bloomHash(randomBytes(rand, Math.floor(rand() * 40))));
      for (const bitsPerKey of [1, 10, 23]) {
        expect(buildFilter(hashes, count, bitsPerKey)).toEqual(buildFilterWithLibrary(hashes, count, bitsPerKey));
      }
    }
  });
});
