// Data blocks: prefix-compressed entries with restart points, searched and iterated in their raw
// bytes; malformed contents (even ones that would pass a CRC) are refused as CORRUPTION, never read
// out of range or returned as a wrong entry.

import { describe, expect, it } from 'vitest';
import { Block, BlockCursor, found, NOT_HERE, PAST_END, releaseFound } from '../../../engine/table/block.js';
import { BlockBuilder } from '../../../engine/table/block-builder.js';
import { Kind } from '../../../engine/format/internal-key.js';
import { getFixed32, putFixed32 } from '../../../engine/util/coding.js';
import { Eau2Error } from '../../../kv/index.js';
import { compareBytes, utf8 } from '../../../kv/index.js';
import { hex, modelSeek, modelSeekForPrev, randomBytes, randomEntries, rng, seeds } from './helpers.js';
import type { Entry } from './helpers.js';

function encode(entries: Entry[], restartInterval = 16): Uint8Array {
  const b = new BlockBuilder(16, restartInterval);
  for (const e of entries) b.add(e.key, e.seq, e.kind, e.value);
  return b.finish().slice();
}

/** Every entry, read forwards with a cursor. */
function readAll(block: Block): Entry[] {
  const c = new BlockCursor();
  c.reset(block);
  const out: Entry[] = [];
  for (c.seekToFirst(); c.valid(); c.next()) out.push({ key: c.key(), seq: c.seq(), kind: c.kind(), value: c.value() });
  return out;
}

function same(a: Entry | undefined, b: Entry | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    compareBytes(a.key, b.key) === 0 && a.seq === b.seq && a.kind === b.kind && compareBytes(a.value, b.value) === 0
  );
}

function at(c: BlockCursor): Entry | undefined {
  return c.valid() ? { key: c.key(), seq: c.seq(), kind: c.kind(), value: c.value() } : undefined;
}

describe('data block', () => {
  it('encodes a worked example byte for byte', () => {
    // The data block of docs/format.md §5.8: "apple"@7 = "red", "apply"@5 tombstone, one restart at 0.
    const bytes = encode([
      { key: utf8('apple'), seq: 7, kind: Kind.VALUE, value: utf8('red') },
      { key: utf8('apply'), seq: 5, kind: Kind.DELETE, value: new Uint8Array(0) },
    ]);
    expect(hex(bytes)).toBe(
      '00050307' +
        '01' +
        hex(utf8('apple')) +
        hex(utf8('red')) +
        '0401000500' +
        hex(utf8('y')) +
        '00000000' +
        '01000000',
    );
  });

  it('stores every 16th key whole and lists those entries in the restart array', () => {
    const entries = Array.from({ length: 40 }, (_, i) => ({
      key: utf8(`key${String(i).padStart(3, '0')}`),
      seq: 1,
      kind: Kind.VALUE,
      value: utf8('v'),
    }));
    const block = Block.open(encode(entries), 'x', 0);
    expect(block.restarts).toBe(3);
    for (let r = 0; r < 3; r++) {
      expect(block.data[block.restartAt(r)]).toBe(0); // shared = 0
      expect(hex(block.restartKey(r))).toBe(hex(entries[16 * r]!.key));
    }
  });

  it.each(seeds([1, 2, 3]))(
    'reads back what it encodes and seeks like the model, forwards and backwards (seed %i)',
    (seed) => {
      const rand = rng(seed);
      const entries = randomEntries(rand, 200);
      for (const interval of [1, 3, 16]) {
        const block = Block.open(encode(entries, interval), 'x', 0);
        const all = readAll(block);
        expect(all.length).toBe(entries.length);
        entries.forEach((e, i) => expect(same(all[i], e), `interval ${interval} entry ${i}`).toBe(true));
        // Backwards from the end.
        const c = new BlockCursor();
        c.reset(block);
        let i = entries.length - 1;
        for (c.seekToLast(); c.valid(); c.prev(), i--)
          expect(same(at(c), entries[i]), `interval ${interval} reverse ${i}`).toBe(true);
        expect(i).toBe(-1);
        for (let r = 0; r < 300; r++) {
          const e = entries[Math.floor(rand() * entries.length)]!;
          const k = rand() < 0.5 ? e.key : randomBytes(rand, Math.floor(rand() * 4));
          const s = rand() < 0.5 ? e.seq : Math.floor(rand() * 2000);
          const want = modelSeek(entries, k, s);
          c.seek(k, s);
          expect(same(at(c), entries[want]), `seed ${seed} interval ${interval} seek ${hex(k)}@${s}`).toBe(true);
          // A step either way from a seek lands on the neighbours.
          if (c.valid() && rand() < 0.5) {
            c.prev();
            expect(same(at(c), entries[want - 1]), `prev after seek ${hex(k)}@${s}`).toBe(true);
          } else if (c.valid()) {
            c.next();
            expect(same(at(c), entries[want + 1]), `next after seek ${hex(k)}@${s}`).toBe(true);
          }
          const wantPrev = modelSeekForPrev(entries, k, s);
          c.seekForPrev(k, s);
          expect(same(at(c), entries[wantPrev]), `seed ${seed} interval ${interval} seekForPrev ${hex(k)}@${s}`).toBe(
            true,
          );
          const f = block.find(k, s);
          const hit = entries[want];
          if (hit === undefined) expect(f).toBe(PAST_END);
          else if (compareBytes(hit.key, k) !== 0) expect(f).toBe(NOT_HERE);
          else {
            expect(f).toBeGreaterThanOrEqual(0);
            expect({ kind: found.kind, seq: found.seq }).toEqual({ kind: hit.kind, seq: hit.seq });
            expect(hex(block.data.subarray(found.valueAt, found.valueEnd))).toBe(hex(hit.value));
            releaseFound();
          }
        }
      }
    },
  );

  it('changes direction in the middle of a restart interval', () => {
    const entries = randomEntries(rng(5), 60);
    const block = Block.open(encode(entries), 'x', 0);
    const c = new BlockCursor();
    c.reset(block);
    c.seekToFirst();
    let i = 0;
    const rand = rng(6);
    for (let step = 0; step < 2000; step++) {
      if (rand() < 0.5 && i + 1 < entries.length) {
        c.next();
        i++;
      } else if (i > 0) {
        c.prev();
        i--;
      }
      expect(same(at(c), entries[i]), `step ${step} at ${i}`).toBe(true);
    }
  });

  it('rebuilds keys longer than the block itself from shared prefixes', () => {
    const prefix = 'p'.repeat(300);
    const entries = Array.from({ length: 50 }, (_, i) => ({
      key: utf8(prefix + String(i).padStart(3, '0')),
      seq: 1,
      kind: Kind.VALUE,
      value: new Uint8Array(0),
    }));
    const bytes = encode(entries, 100);
    const block = Block.open(bytes, 'x', 0);
    const all = readAll(block);
    expect(all.reduce((n, e) => n + e.key.length, 0)).toBeGreaterThan(bytes.length);
    expect(hex(all[49]!.key)).toBe(hex(entries[49]!.key));
  });

  it('refuses a restart array that does not fit, is out of order or does not start at 0', () => {
    const bytes = encode(randomEntries(rng(9), 40));
    const n = getFixed32(bytes, bytes.length - 4);
    expect(n).toBeGreaterThan(1);
    for (const wrong of [0, (bytes.length - 4) / 4 + 1, 0xffffffff]) {
      const b = bytes.slice();
      putFixed32(b, b.length - 4, wrong);
      expect(() => Block.open(b, 'f', 8)).toThrow(/corruption in f at offset 8/);
    }
    const limit = bytes.length - 4 - 4 * n;
    const swapped = bytes.slice();
    putFixed32(swapped, limit, getFixed32(bytes, limit + 4));
    expect(() => Block.open(swapped, 'f', 8)).toThrow(/restart 0/);
    const past = bytes.slice();
    putFixed32(past, limit + 4 * (n - 1), limit);
    expect(() => Block.open(past, 'f', 8)).toThrow(Eau2Error);
    for (let len = 0; len < 8; len++) expect(() => Block.open(bytes.slice(0, len), 'f', 8)).toThrow(Eau2Error);
  });

  it.each(seeds([1, 2, 3, 4]))(
    'never reads out of range, hangs or invents entries on mutated contents (seed %i)',
    (seed) => {
      // These mutations would pass a CRC if a writer produced them: only the reader's checks stand.
      const rand = rng(seed);
      // Short values, so that most mutations hit headers and keys rather than value bytes.
      const entries = randomEntries(rand, 30).map((e) => ({ ...e, value: e.value.subarray(0, 4) }));
      const bytes = encode(entries, 4);
      let refused = 0;
      for (let r = 0; r < 3000; r++) {
        const b = bytes.slice();
        const flips = 1 + Math.floor(rand() * 3);
        for (let f = 0; f < flips; f++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
        try {
          const block = Block.open(b, 'f', 0);
          const c = new BlockCursor();
          c.reset(block);
          let n = 0;
          for (c.seekToFirst(); c.valid(); c.next()) {
            const v = c.value();
            if (v.byteOffset + v.length > b.byteOffset + block.limit || c.kind() > 1)
              expect.fail(`seed ${seed} round ${r}: entry out of range`);
            if (++n > b.length) expect.fail(`seed ${seed} round ${r}: endless block`);
          }
          for (c.seekToLast(); c.valid(); c.prev())
            if (--n < -b.length) expect.fail(`seed ${seed} round ${r}: endless reverse`);
          for (const e of entries) {
            block.find(e.key, e.seq);
            releaseFound();
            c.seek(e.key, e.seq);
          }
        } catch (e) {
          if (!(e instanceof Eau2Error) || e.code !== 'CORRUPTION')
            throw new Error(`seed ${seed} round ${r}: ${String(e)}`);
          refused++;
        }
      }
      expect(refused).toBeGreaterThan(300);
    },
  );
});
