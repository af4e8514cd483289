// CRC-32C: the published check values (RFC 3720 B.4), and both implementations (the addon for long
// ranges, the JS word-at-a-time loop) against a plain bitwise reference at every alignment, length
// and starting CRC.

import { describe, expect, it } from 'vitest';
import { crc32c, crc32cImplementation, crc32cJs, maskCrc, unmaskCrc } from '../../../engine/util/crc32c.js';
import { utf8 } from '../../../kv/index.js';
import { randomBytes, rng, seeds } from './helpers.js';

function reference(buf: Uint8Array, crc: number, start: number, end: number): number {
  let c = ~crc >>> 0;
  for (let i = start; i < end; i++) {
    c ^= buf[i]!;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ~c >>> 0;
}

describe('crc32c', () => {
  it('gives the published check values', () => {
    expect(crc32c(utf8('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  it.each(
    seeds([1, 2]).flatMap(
      (seed) =>
        [
          [seed, 'crc32c', crc32c],
          [seed, 'crc32cJs', crc32cJs],
        ] as const,
    ),
  )('matches the bitwise reference at any offset, length and alignment (seed %i, %s)', (seed, _name, crc32c) => {
    const rand = rng(seed);
    // Several buffers, taken in turn at random: the word view kept from one call to the next must
    // follow the buffer (and buffers whose length is not a multiple of 4 must work too).
    const backings = [randomBytes(rand, 9000), randomBytes(rand, 9001), randomBytes(rand, 9003)];
    for (let r = 0; r < 300; r++) {
      // A view at an odd byte offset of its buffer exercises the alignment prologue.
      const viewAt = Math.floor(rand() * 8);
      const backing = backings[Math.floor(rand() * backings.length)]!;
      if (rand() < 0.1) backing[Math.floor(rand() * backing.length)]! ^= 0xff; // same buffer, new bytes
      const buf = backing.subarray(viewAt);
      const start = Math.floor(rand() * 100);
      const end = start + Math.floor(rand() * (r < 150 ? 200 : 8000));
      const init = Math.floor(rand() * 2 ** 32);
      expect(crc32c(buf, init, start, end), `seed ${seed} view ${viewAt} [${start}, ${end}) crc ${init}`).toBe(
        reference(buf, init, start, end),
      );
    }
  });

  it('takes the addon where a prebuilt one exists (linux x64 here), unless EAU2_CRC32C=js', () => {
    const expected =
      process.env.EAU2_CRC32C !== 'js' && process.platform === 'linux' && process.arch === 'x64' ? 'native' : 'js';
    if (process.platform === 'linux' && process.arch === 'x64') expect(crc32cImplementation()).toBe(expected);
    // Either way both agree at the switch-over length and around it.
    const b = randomBytes(rng(4), 2000);
    for (const n of [0, 1, 511, 512, 513, 1999]) expect(crc32c(b, 7, 1, 1 + n)).toBe(crc32cJs(b, 7, 1, 1 + n));
  });

  it('extends: the CRC of a whole equals the CRC of its parts chained', () => {
    const b = randomBytes(rng(3), 5000);
    expect(crc32c(b, crc32c(b, 0, 0, 1234), 1234, 5000)).toBe(crc32c(b));
  });

  it('masks and unmasks', () => {
    for (const c of [0, 1, 0xe3069283, 0xffffffff]) expect(unmaskCrc(maskCrc(c))).toBe(c);
    expect(maskCrc(0)).not.toBe(0);
  });
});
