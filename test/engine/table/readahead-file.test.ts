// ReadaheadFile: a compaction's input read through one window refilled in place. Every read returns
// the file's bytes; data-section reads share the window (one refill per window, not a buffer per
// block); reads of the metadata, or larger than the window, get memory of their own.

import { describe, expect, it } from 'vitest';
import { Kind } from '../../../engine/format/internal-key.js';
import { BlockCache } from '../../../engine/table/block-cache.js';
import { ReadaheadFile } from '../../../engine/table/readahead-file.js';
import { TableReader } from '../../../engine/table/table-reader.js';
import { BytesFile, buildTable, hex, randomEntries, rng, seeds } from './helpers.js';

describe('ReadaheadFile', () => {
  it.each(seeds([21, 22, 23]))(
    'returns the file bytes for any read, sharing one window below the limit (seed %i)',
    (seed) => {
      const rand = rng(seed);
      const bytes = new Uint8Array(50_000).map(() => Math.floor(rand() * 256));
      const file = new ReadaheadFile(new BytesFile('t/000001.sst', bytes), 4096);
      const limit = 40_000;
      file.readaheadBelow(limit);
      let pos = 0;
      const views = new Set<ArrayBufferLike>();
      while (pos < limit) {
        const len = Math.min(limit - pos, 1 + Math.floor(rand() * 1500));
        const got = file.readSync(pos, len);
        expect(hex(got), `read ${pos}+${len}`).toBe(hex(bytes.subarray(pos, pos + len)));
        views.add(got.buffer);
        pos += len;
      }
      expect(views.size).toBe(1); // every data read was a view of the one window
      expect(file.refills).toBeLessThanOrEqual(Math.ceil(limit / 4096) * 2);
      // Beyond the limit, larger than the window, or anywhere at random: still the file's bytes.
      for (let k = 0; k < 200; k++) {
        const p = Math.floor(rand() * bytes.length);
        const len = Math.floor(rand() * 6000);
        const got = file.readSync(p, len);
        expect(hex(got), `read ${p}+${len}`).toBe(hex(bytes.subarray(p, Math.min(bytes.length, p + len))));
      }
    },
  );

  it('leaves a table reader opened through it with metadata of its own, and scans it exactly', () => {
    const rand = rng(24);
    const entries = randomEntries(rand, 400);
    for (let i = 0; i < entries.length; i += 50) entries[i]!.value = new Uint8Array(9000).fill(i & 0xff); // blocks beyond the window
    const { bytes } = buildTable(entries, { blockSize: 512 });
    const file = new ReadaheadFile(new BytesFile('t/000002.sst', bytes), 8192);
    const t = TableReader.open(file, 2, new BlockCache(0));
    file.readaheadBelow(t.properties.dataSize);
    const it = t.iterator({ fillCache: false });
    let n = 0;
    for (it.seekToFirst(); it.valid(); it.next(), n++) {
      const e = entries[n]!;
      expect(hex(it.key())).toBe(hex(e.key));
      expect(it.seq()).toBe(e.seq);
      expect(it.kind()).toBe(e.kind);
      expect(hex(it.value())).toBe(hex(e.value));
    }
    expect(n).toBe(entries.length);
    expect(file.refills).toBeGreaterThan(1);
    // The index and filter were not overwritten by the refills: lookups still work.
    for (let i = 0; i < entries.length; i += 17) {
      const e = entries[i]!;
      const r = t.get(e.key, e.seq);
      expect(r?.kind).toBe(e.kind === Kind.VALUE ? Kind.VALUE : Kind.DELETE);
    }
  });
});
