// The index search: a binary search over 4-byte windows after the separators' shared prefix, with
// whole keys compared only on equal windows. Checked against a linear model over tables whose keys
// share long prefixes, tie in their windows, end inside the window, or contain 0x00 / 0xff.

import { describe, expect, it } from 'vitest';
import { Kind, MAX_SEQUENCE } from '../../../engine/format/internal-key.js';
import { BlockCursor } from '../../../engine/table/block.js';
import { BlockCache } from '../../../engine/table/block-cache.js';
import { TableReader } from '../../../engine/table/table-reader.js';
import { compareBytes, utf8 } from '../../../kv/index.js';
import { BytesFile, buildTable, hex, randomBytes, rng, seeds } from './helpers.js';
import type { Entry } from './helpers.js';

/** Keys from a small alphabet behind a common prefix, so windows often tie and keys end inside them. */
function prefixedEntries(rand: () => number, prefix: Uint8Array, count: number): Entry[] {
  const alphabet = [0x00, 0x01, 0x61, 0x62, 0xff];
  const seen = new Map<string, Uint8Array>();
  while (seen.size < count) {
    const len = Math.floor(rand() * 7);
    const k = new Uint8Array(prefix.length + len);
    k.set(prefix);
    for (let i = 0; i < len; i++) k[prefix.length + i] = alphabet[Math.floor(rand() * alphabet.length)]!;
    seen.set(hex(k), k);
  }
  const keys = [...seen.values()].sort(compareBytes);
  const entries: Entry[] = [];
  let seq = 10_000;
  for (const key of keys) {
    const versions = 1 + Math.floor(rand() * 3);
    for (let v = 0; v < versions; v++) entries.push({ key, seq: seq--, kind: Kind.VALUE, value: new Uint8Array(0) });
  }
  return entries;
}

describe('index search', () => {
  it.each(seeds([1, 2, 3]))(
    'names the first block whose separator is >= the target, like a linear search (seed %i)',
    (seed) => {
      const rand = rng(seed);
      for (const prefix of [new Uint8Array(0), utf8('p'), utf8('partition-0042/')]) {
        const entries = prefixedEntries(rand, prefix, 300);
        const t = TableReader.open(
          new BytesFile('t', buildTable(entries, { blockSize: 48 }).bytes),
          1,
          new BlockCache(0),
        );
        expect(t.blockCount).toBeGreaterThan(20);
        // Separator i with its sequence: the block's last entry itself, or a shorter key at MAX_SEQUENCE.
        const seps: { key: Uint8Array; seq: number }[] = [];
        const c = new BlockCursor();
        for (let bi = 0; bi < t.blockCount; bi++) {
          c.reset(t.dataBlock(bi, false));
          c.seekToLast();
          const key = t.index.separator(bi);
          seps.push({ key, seq: compareBytes(key, c.key()) === 0 ? c.seq() : MAX_SEQUENCE });
        }
        for (let r = 0; r < 400; r++) {
          const e = entries[Math.floor(rand() * entries.length)]!;
          const roll = rand();
          const key =
            roll < 0.4
              ? e.key
              : roll < 0.7
                ? Uint8Array.of(...e.key, ...randomBytes(rand, 1))
                : Uint8Array.of(
                    ...prefix.subarray(0, Math.floor(rand() * (prefix.length + 1))),
                    ...randomBytes(rand, Math.floor(rand() * 6)),
                  );
          const seq = rand() < 0.5 ? e.seq : Math.floor(rand() * 20_000);
          let want = 0;
          while (want < seps.length && (compareBytes(seps[want]!.key, key) || seq - seps[want]!.seq) < 0) want++;
          expect(t.seekBlock(key, seq), `seed ${seed} prefix ${hex(prefix)} target ${hex(key)}@${seq}`).toBe(want);
        }
      }
    },
  );
});
