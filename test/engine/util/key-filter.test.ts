// The memtable's in-memory key filter: never a false negative; few false positives at its sizing.

import { describe, expect, it } from 'vitest';
import { bloomHash } from '../../../engine/table/bloom.js';
import { KeyFilter } from '../../../engine/util/key-filter.js';
import { mulberry32 } from '../../../engine/util/random.js';

const seeds = process.env.EAU2_SEED ? [Number(process.env.EAU2_SEED)] : [1, 2, 3];

function randomKey(rand: () => number): Uint8Array {
  const k = new Uint8Array(1 + Math.floor(rand() * 24));
  for (let i = 0; i < k.length; i++) k[i] = Math.floor(rand() * 256);
  return k;
}

describe('KeyFilter', () => {
  it.each(seeds)('holds every key added, and answers no for almost all others (seed %i)', (seed) => {
    const rand = mulberry32(seed);
    const f = new KeyFilter(4 * 1024 * 1024);
    expect(f.bytes).toBe((1 << 20) / 8);
    const added = new Set<string>();
    // As many keys as a 4 MiB memtable of ~40-byte entries holds: the filter's worst case.
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const k = randomKey(rand);
      added.add(Buffer.from(k).toString('hex'));
      f.add(bloomHash(k));
    }
    for (const hex of added) {
      if (!f.mayContain(bloomHash(Buffer.from(hex, 'hex')))) expect.fail(`seed ${seed}: lost ${hex}`);
    }
    let fp = 0;
    let probes = 0;
    for (let i = 0; i < 50_000; i++) {
      const k = randomKey(rand);
      if (added.has(Buffer.from(k).toString('hex'))) continue;
      probes++;
      if (f.mayContain(bloomHash(k))) fp++;
    }
    // ~10 bits per key, 6 probes in one 512-bit block: ~0.9 % measured (0.03 % at the 28k entries
    // of 16-byte keys and 100-byte values that fill 4 MiB).
    expect(fp / probes).toBeLessThan(0.03);
  });

  it('an empty filter holds nothing; sizes stay within their bounds', () => {
    const f = new KeyFilter(0);
    expect(f.bytes).toBe((1 << 14) / 8);
    expect(f.mayContain(bloomHash(new Uint8Array([1])))).toBe(false);
    expect(new KeyFilter(2 ** 40).bytes).toBe((1 << 26) / 8);
  });
});
