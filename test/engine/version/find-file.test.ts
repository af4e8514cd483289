// Version.findFile: the binary search over a sorted level's files compares four-byte key prefixes
// as numbers and bytes only on ties; checked against a linear search over keys built to tie.

import { describe, expect, it } from 'vitest';
import { Kind, encodeInternalKey } from '../../../engine/format/internal-key.js';
import { compareBytes } from '../../../kv/index.js';
import { mulberry32 } from '../../../engine/util/random.js';
import { makeFileMeta, NUM_LEVELS } from '../../../engine/version/version-edit.js';
import type { FileMeta } from '../../../engine/version/version-edit.js';
import { Version, prefix32 } from '../../../engine/version/version.js';

const seeds = process.env.EAU2_SEED ? [Number(process.env.EAU2_SEED)] : [1, 2, 3, 4, 5];

/** Keys of 0-7 bytes over a tiny alphabet with 0x00 and 0xff, so prefixes tie and short keys pad. */
function randomKey(rand: () => number): Uint8Array {
  const alphabet = [0x00, 0x01, 0x61, 0x80, 0xff];
  const k = new Uint8Array(Math.floor(rand() * 8));
  for (let i = 0; i < k.length; i++) k[i] = alphabet[Math.floor(rand() * alphabet.length)]!;
  return k;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

describe('Version.findFile', () => {
  it.each(seeds)('names the first file whose largest key is >= the key, like a linear search (seed %i)', (seed) => {
    const rand = mulberry32(seed);
    const distinct = new Map<string, Uint8Array>();
    for (let i = 0; i < 400; i++) {
      const k = randomKey(rand);
      distinct.set(hex(k), k);
    }
    const keys = [...distinct.values()].sort(compareBytes);
    // Disjoint files of 1-3 consecutive keys.
    const files: FileMeta[] = [];
    for (let i = 0; i < keys.length; ) {
      const n = 1 + Math.floor(rand() * 3);
      const last = keys[Math.min(keys.length, i + n) - 1]!;
      files.push(
        makeFileMeta(
          files.length + 1,
          100,
          encodeInternalKey(keys[i]!, 1, Kind.VALUE),
          encodeInternalKey(last, 1, Kind.VALUE),
        ),
      );
      i += n;
    }
    const levels: FileMeta[][] = Array.from({ length: NUM_LEVELS }, () => []);
    levels[2] = files;
    const v = new Version(levels);
    for (let q = 0; q < 2000; q++) {
      const key = randomKey(rand);
      let want = files.findIndex((f) => compareBytes(f.largestUser, key) >= 0);
      if (want < 0) want = files.length;
      const got = v.findFile(2, key);
      if (got !== want) expect.fail(`seed ${seed}: key ${hex(key)}: findFile ${got}, linear ${want}`);
    }
    expect(v.findFile(1, new Uint8Array([1]))).toBe(0); // an empty level
  });

  it.each(seeds)('prefix32 never orders two keys against their byte order (seed %i)', (seed) => {
    const rand = mulberry32(seed);
    for (let i = 0; i < 5000; i++) {
      const a = randomKey(rand);
      const b = randomKey(rand);
      const pa = prefix32(a);
      const pb = prefix32(b);
      const c = compareBytes(a, b);
      if ((pa < pb && c >= 0) || (pa > pb && c <= 0))
        expect.fail(`seed ${seed}: ${hex(a)} vs ${hex(b)}: prefixes ${pa} ${pb}`);
    }
    expect(prefix32(new Uint8Array([0xff, 0xff, 0xff, 0xff, 9]))).toBe(0xffffffff);
    expect(prefix32(new Uint8Array([0x61]))).toBe(0x61000000);
  });
});
