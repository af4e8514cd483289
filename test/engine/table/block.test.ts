// Data blocks: prefix-compressed encoding and its decoded, searchable form; malformed contents
// (even ones that would pass a CRC) are refused as CORRUPTION, never read out of range.

import { describe, expect, it } from 'vitest';
import { Block } from '../../../engine/table/block.js';
import { BlockBuilder } from '../../../engine/table/block-builder.js';
import { Kind } from '../../../engine/format/internal-key.js';
import { getFixed32, putFixed32 } from '../../../engine/util/coding.js';
import { Eau2Error } from '../../../engine/util/errors.js';
import { utf8 } from '../../../engine/util/bytes.js';
import { hex, modelSeek, modelSeekForPrev, randomBytes, randomEntries, rng, seeds } from './helpers.js';
import type { Entry } from './helpers.js';

function encode(entries: Entry[]): Uint8Array {
  const b = new BlockBuilder(16);
  for (const e of entries) b.add(e.key, e.seq, e.kind, e.value);
  return b.finish().slice();
}

describe('data block', () => {
  it('encodes a worked example byte for byte', () => {
    // The example of docs/format.md §5.2: "apple"@7 = "red", "apply"@5 tombstone.
    const bytes = encode([
      { key: utf8('apple'), seq: 7, kind: Kind.VALUE, value: utf8('red') },
      { key: utf8('apply'), seq: 5, kind: Kind.DELETE, value: new Uint8Array(0) },
    ]);
    expect(hex(bytes)).toBe('00050307' + '01' + hex(utf8('apple')) + hex(utf8('red')) + '0401000500' + hex(utf8('y')) + '02000000');
  });

  it.each(seeds([1, 2, 3]))('decodes what it encodes and seeks like the model (seed %i)', (seed) => {
    const rand = rng(seed);
    const entries = randomEntries(rand, 200);
    const block = Block.decode(encode(entries), 'x', 0);
    expect(block.count).toBe(entries.length);
    entries.forEach((e, i) => {
      expect(hex(block.userKey(i))).toBe(hex(e.key));
      expect(block.seqs[i]).toBe(e.seq);
      expect(block.kinds[i]).toBe(e.kind);
      expect(hex(block.value(i))).toBe(hex(e.value));
    });
    for (let r = 0; r < 500; r++) {
      const e = entries[Math.floor(rand() * entries.length)]!;
      const k = rand() < 0.5 ? e.key : randomBytes(rand, Math.floor(rand() * 4));
      const s = rand() < 0.5 ? e.seq : Math.floor(rand() * 2000);
      expect(block.seek(k, s), `seek ${hex(k)}@${s}`).toBe(modelSeek(entries, k, s));
      expect(block.seekForPrev(k, s), `seekForPrev ${hex(k)}@${s}`).toBe(modelSeekForPrev(entries, k, s));
    }
  });

  it('rebuilds keys longer than the block itself from shared prefixes', () => {
    const prefix = 'p'.repeat(300);
    const entries = Array.from({ length: 50 }, (_, i) => ({ key: utf8(prefix + String(i).padStart(3, '0')), seq: 1, kind: Kind.VALUE, value: new Uint8Array(0) }));
    const bytes = encode(entries);
    const block = Block.decode(bytes, 'x', 0);
    expect(block.keys.length).toBeGreaterThan(bytes.length);
    expect(hex(block.userKey(49))).toBe(hex(entries[49]!.key));
  });

  it('refuses truncated, padded and miscounted contents', () => {
    const bytes = encode(randomEntries(rng(9), 20));
    const countAt = bytes.length - 4;
    const count = getFixed32(bytes, countAt);
    for (let n = 0; n < bytes.length; n++) {
      // Truncated, with the true count re-written at the new end.
      const cut = bytes.slice(0, n);
      if (n >= 4) putFixed32(cut, n - 4, count);
      expect(() => Block.decode(cut, 'f', 8)).toThrow(Eau2Error);
    }
    const padded = new Uint8Array(bytes.length + 1);
    padded.set(bytes.subarray(0, countAt));
    putFixed32(padded, countAt + 1, count);
    expect(() => Block.decode(padded, 'f', 8)).toThrow(/left after/);
    for (const wrong of [0, count - 1, count + 1, 0xffffffff]) {
      const b = bytes.slice();
      putFixed32(b, countAt, wrong);
      expect(() => Block.decode(b, 'f', 8)).toThrow(/corruption in f at offset 8/);
    }
  });

  it.each(seeds([1, 2, 3, 4]))('never reads out of range or hangs on mutated contents (seed %i)', (seed) => {
    // These mutations would pass a CRC if a writer produced them: only the decoder's checks stand.
    const rand = rng(seed);
    // Short values, so that most mutations hit headers and keys rather than value bytes.
    const bytes = encode(randomEntries(rand, 30).map((e) => ({ ...e, value: e.value.subarray(0, 4) })));
    let refused = 0;
    for (let r = 0; r < 3000; r++) {
      const b = bytes.slice();
      const flips = 1 + Math.floor(rand() * 3);
      for (let f = 0; f < flips; f++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      let block: Block;
      try {
        block = Block.decode(b, 'f', 0);
      } catch (e) {
        if (!(e instanceof Eau2Error) || e.code !== 'CORRUPTION') throw e;
        refused++;
        continue;
      }
      for (let i = 0; i < block.count; i++) {
        const ok =
          block.keyOff[i]! <= block.keyOff[i + 1]! &&
          block.keyOff[i + 1]! <= block.keys.length &&
          block.vals[2 * i]! <= block.vals[2 * i + 1]! &&
          block.vals[2 * i + 1]! <= b.length - 4 &&
          block.kinds[i]! <= 1;
        if (!ok) expect.fail(`seed ${seed} round ${r}: entry ${i} decoded out of range`);
      }
    }
    expect(refused).toBeGreaterThan(300);
  });
});
