// Round trips of random tables: everything a TableBuilder writes, a TableReader gives back, checked
// against a sorted in-memory model (gets at many sequences, full scans both ways, seeks).

import { describe, expect, it } from 'vitest';
import { Kind, MAX_SEQUENCE, decodeInternalKey } from '../../../engine/format/internal-key.js';
import type { InternalIterator } from '../../../engine/format/iterator.js';
import { BlockCache } from '../../../engine/table/block-cache.js';
import { TableBuilder } from '../../../engine/table/table-builder.js';
import { TableReader } from '../../../engine/table/table-reader.js';
import { compareBytes, utf8 } from '../../../kv/index.js';
import {
  BytesFile,
  buildTable,
  hex,
  modelGet,
  modelSeek,
  modelSeekForPrev,
  randomBytes,
  randomEntries,
  rng,
  seeds,
} from './helpers.js';
import type { Entry } from './helpers.js';

/** One line per position, so that a whole scan is compared with one expect (expect() is slow). */
function at(it: InternalIterator): string {
  return it.valid() ? `${hex(it.key())}@${it.seq()}/${it.kind()}=${hex(it.value())}` : 'invalid';
}

function line(e: Entry | undefined): string {
  return e === undefined ? 'invalid' : `${hex(e.key)}@${e.seq}/${e.kind}=${hex(e.value)}`;
}

function open(bytes: Uint8Array, cache = new BlockCache(1 << 20)): TableReader {
  return TableReader.open(new BytesFile('test/000007.sst', bytes), 7, cache);
}

describe('TableReader round trip', () => {
  const cases = seeds([1, 2, 3, 4]).flatMap((seed) => [64, 512, 4096].map((blockSize) => ({ seed, blockSize })));

  it.each(cases)(
    'gives back every entry of a random table (seed $seed, blockSize $blockSize)',
    ({ seed, blockSize }) => {
      const rand = rng(seed);
      const entries = randomEntries(rand, 50 + Math.floor(rand() * 400));
      const { bytes, builder } = buildTable(entries, { blockSize });
      const t = open(bytes);

      // Properties.
      const p = t.properties;
      expect(p).toEqual(builder.properties);
      expect(p.entries).toBe(entries.length);
      expect(p.tombstones).toBe(entries.filter((e) => e.kind === Kind.DELETE).length);
      expect(p.smallestSeq).toBe(Math.min(...entries.map((e) => e.seq)));
      expect(p.largestSeq).toBe(Math.max(...entries.map((e) => e.seq)));
      const first = decodeInternalKey(p.smallestKey);
      const last = decodeInternalKey(p.largestKey);
      expect(hex(first.userKey)).toBe(hex(entries[0]!.key));
      expect(first.seq).toBe(entries[0]!.seq);
      expect(hex(last.userKey)).toBe(hex(entries[entries.length - 1]!.key));
      expect(last.seq).toBe(entries[entries.length - 1]!.seq);
      expect(t.fileSize).toBe(bytes.length);

      // Gets at every version's sequence, just below it, at the top, and below the oldest.
      const got: string[] = [];
      const want: string[] = [];
      const getBoth = (k: Uint8Array, s: number): void => {
        const g = t.get(k, s);
        const w = modelGet(entries, k, s);
        got.push(`get(${hex(k)}, ${s}) = ${g === undefined ? '-' : `${g.seq}/${g.kind}=${hex(g.value)}`}`);
        want.push(`get(${hex(k)}, ${s}) = ${w === undefined ? '-' : `${w.seq}/${w.kind}=${hex(w.value)}`}`);
      };
      for (const e of entries) for (const s of [e.seq, e.seq - 1, MAX_SEQUENCE, 0]) getBoth(e.key, s);
      // Keys that are not in the table.
      for (let i = 0; i < 300; i++) getBoth(randomBytes(rand, Math.floor(rand() * 6)), MAX_SEQUENCE);
      expect(got, `seed ${seed}`).toEqual(want);

      // Full forward and backward scans.
      const it1 = t.iterator();
      const forward: string[] = [];
      for (it1.seekToFirst(); it1.valid(); it1.next()) forward.push(at(it1));
      expect(forward, `seed ${seed} forward`).toEqual(entries.map(line));
      const backward: string[] = [];
      for (it1.seekToLast(); it1.valid(); it1.prev()) backward.push(at(it1));
      expect(backward, `seed ${seed} backward`).toEqual(entries.map(line).reverse());

      // Seeks to existing and random targets, then a few steps each way.
      const targets: Array<[Uint8Array, number]> = [];
      for (let i = 0; i < 200; i++) {
        const e = entries[Math.floor(rand() * entries.length)]!;
        targets.push([e.key, e.seq], [e.key, e.seq + 1], [e.key, e.seq - 1]);
        targets.push([randomBytes(rand, Math.floor(rand() * 5)), Math.floor(rand() * 3000)]);
      }
      targets.push([new Uint8Array(0), MAX_SEQUENCE], [Uint8Array.of(0xff, 0xff, 0xff, 0xff), 0]);
      const it2 = t.iterator();
      const seen: string[] = [];
      const expected: string[] = [];
      for (const [k, s] of targets) {
        const i = modelSeek(entries, k, s);
        it2.seek(k, s);
        for (let step = 0; step < 4; step++) {
          seen.push(`seek(${hex(k)}, ${s}) +${step}: ${at(it2)}`);
          expected.push(`seek(${hex(k)}, ${s}) +${step}: ${line(entries[i + step])}`);
          if (!it2.valid()) break;
          it2.next();
        }
        const j = modelSeekForPrev(entries, k, s);
        it2.seekForPrev(k, s);
        for (let step = 0; step < 4; step++) {
          seen.push(`seekForPrev(${hex(k)}, ${s}) -${step}: ${at(it2)}`);
          expected.push(
            `seekForPrev(${hex(k)}, ${s}) -${step}: ${line(j - step >= 0 ? entries[j - step] : undefined)}`,
          );
          if (!it2.valid()) break;
          it2.prev();
        }
      }
      expect(seen, `seed ${seed}`).toEqual(expected);
      it2.close();
      expect(it2.valid()).toBe(false);

      // approximateOffsetOf is monotonic and within the data.
      let prevOff = 0;
      for (const e of entries) {
        const off = t.approximateOffsetOf(e.key);
        expect(off).toBeGreaterThanOrEqual(prevOff);
        expect(off).toBeLessThanOrEqual(p.dataSize);
        prevOff = off;
      }
    },
  );

  it('serves a cached block without reading the file, and counts hits and misses', () => {
    const entries = randomEntries(rng(11), 200);
    const { bytes } = buildTable(entries, { blockSize: 256 });
    const cache = new BlockCache(1 << 20);
    const file = new BytesFile('t/000001.sst', bytes);
    const t = TableReader.open(file, 1, cache);
    const readsAfterOpen = file.reads;
    expect(readsAfterOpen).toBe(2); // footer, then filter + properties + index together
    const e = entries.find((x) => x.kind === Kind.VALUE)!;
    t.get(e.key, MAX_SEQUENCE);
    expect(file.reads).toBe(readsAfterOpen + 1);
    expect(cache.stats().misses).toBe(1);
    t.get(e.key, MAX_SEQUENCE);
    expect(file.reads).toBe(readsAfterOpen + 1);
    expect(cache.stats().hits).toBe(1);
  });

  it('leaves the cache untouched when an iterator is opened with fillCache false', () => {
    const entries = randomEntries(rng(12), 300);
    const { bytes } = buildTable(entries, { blockSize: 256 });
    const cache = new BlockCache(1 << 20);
    const t = open(bytes, cache);
    const it = t.iterator({ fillCache: false });
    let n = 0;
    for (it.seekToFirst(); it.valid(); it.next()) n++;
    expect(n).toBe(entries.length);
    expect(cache.stats().entries).toBe(0);
    const it2 = t.iterator();
    for (it2.seekToFirst(); it2.valid(); it2.next()) n--;
    expect(n).toBe(0);
    expect(cache.stats().entries).toBe(t.blockCount);
  });

  it('works with caching disabled (capacity 0)', () => {
    const entries = randomEntries(rng(13), 100);
    const t = open(buildTable(entries, { blockSize: 128 }).bytes, new BlockCache(0));
    for (const e of entries) expect(t.get(e.key, e.seq)?.seq).toBe(e.seq);
  });

  it('answers a get for an absent key from the bloom filter alone', () => {
    const b = new TableBuilder();
    for (let i = 0; i < 1000; i++) b.add(utf8(`key${String(i).padStart(6, '0')}`), 1000 + i, Kind.VALUE, utf8(`v${i}`));
    const file = new BytesFile('t/000002.sst', b.finish());
    const t = TableReader.open(file, 2, new BlockCache(1 << 20));
    const reads = file.reads;
    let passed = 0;
    for (let i = 0; i < 1000; i++) if (t.get(utf8(`nokey${i}`), MAX_SEQUENCE) !== undefined) passed++;
    expect(passed).toBe(0);
    expect(t.stats().filterNegatives).toBeGreaterThan(970);
    expect(file.reads - reads).toBeLessThan(30);
  });

  it('keeps one version per sequence across block boundaries of the same user key', () => {
    // 200 versions of one key over many tiny blocks: separators equal to a block's last key.
    const entries: Entry[] = [];
    for (let s = 1000; s > 800; s--)
      entries.push({ key: utf8('same'), seq: s, kind: s % 7 === 0 ? Kind.DELETE : Kind.VALUE, value: utf8(`v${s}`) });
    const t = open(buildTable(entries, { blockSize: 32 }).bytes);
    expect(t.blockCount).toBeGreaterThan(20);
    for (let s = 1001; s >= 799; s--) expect(t.get(utf8('same'), s)?.seq).toBe(modelGet(entries, utf8('same'), s)?.seq);
  });

  it('writes separators between blocks that are short but still separate them', () => {
    const entries: Entry[] = [];
    for (let i = 0; i < 500; i++)
      entries.push({
        key: utf8(`the-long-common-prefix/${String(i * 37).padStart(8, '0')}`),
        seq: 5,
        kind: Kind.VALUE,
        value: new Uint8Array(40),
      });
    const t = open(buildTable(entries, { blockSize: 256 }).bytes);
    const index = t.index;
    for (let i = 0; i + 1 < index.count; i++) {
      const sep = index.separator(i);
      expect(sep.length).toBeLessThanOrEqual(entries[0]!.key.length);
      expect(compareBytes(sep, index.separator(i + 1))).toBeLessThan(0);
    }
  });
});

describe('TableBuilder contract', () => {
  it('refuses entries out of internal order, duplicate sequences, bad kinds and sequences', () => {
    const b = new TableBuilder();
    b.add(utf8('b'), 10, Kind.VALUE, utf8('x'));
    expect(() => b.add(utf8('a'), 5, Kind.VALUE, utf8('x'))).toThrow(TypeError);
    expect(() => b.add(utf8('b'), 11, Kind.VALUE, utf8('x'))).toThrow(TypeError);
    expect(() => b.add(utf8('b'), 10, Kind.DELETE, utf8(''))).toThrow(TypeError);
    expect(() => b.add(utf8('c'), 1, 7, utf8(''))).toThrow(TypeError);
    expect(() => b.add(utf8('c'), -1, Kind.VALUE, utf8(''))).toThrow(TypeError);
    expect(() => b.add(utf8('c'), 1.5, Kind.VALUE, utf8(''))).toThrow(TypeError);
    b.add(utf8('b'), 9, Kind.DELETE, new Uint8Array(0));
    expect(b.entries()).toBe(2);
  });

  it('refuses to finish an empty table, and reports properties only after finish', () => {
    const b = new TableBuilder();
    expect(() => b.properties).toThrow(TypeError);
    expect(() => b.finish()).toThrow(TypeError);
  });

  it('estimates the final size closely', () => {
    const entries = randomEntries(rng(21), 2000);
    const b = new TableBuilder();
    for (const e of entries) b.add(e.key, e.seq, e.kind, e.value);
    const est = b.estimatedSize();
    const size = b.finish().length;
    expect(Math.abs(est - size) / size).toBeLessThan(0.05);
  });

  it('lets callers reuse their key and value buffers between adds', () => {
    const b = new TableBuilder({ blockSize: 64 });
    const key = new Uint8Array(4);
    const value = new Uint8Array(4);
    for (let i = 0; i < 100; i++) {
      new DataView(key.buffer).setUint32(0, i);
      value.fill(i);
      b.add(key, 1, Kind.VALUE, value);
    }
    const t = open(b.finish());
    const it = t.iterator();
    let i = 0;
    for (it.seekToFirst(); it.valid(); it.next(), i++) {
      expect(new DataView(it.key().buffer, it.key().byteOffset).getUint32(0)).toBe(i);
      expect(it.value()[0]).toBe(i);
    }
    expect(i).toBe(100);
  });
});

describe('TableBuilder with a sink', () => {
  const cases = seeds([11, 12, 13]).flatMap((seed) => [64, 4096].map((blockSize) => ({ seed, blockSize })));
  it.each(cases)(
    'writes, in order, exactly the bytes finish() returns (seed $seed, blockSize $blockSize)',
    ({ seed, blockSize }) => {
      const rand = rng(seed);
      const entries = randomEntries(rand, 300);
      // Some values of a block each, as a dataframe chunk's.
      for (let i = 0; i < entries.length; i += 37)
        entries[i]!.value = randomBytes(rand, 5000 + Math.floor(rand() * 70_000));
      const { bytes: want } = buildTable(entries, { blockSize, bitsPerKey: 10 });
      const writes: Uint8Array[] = [];
      // A sink must take the bytes before write() returns (they may be a view of the builder's buffer).
      const sink = { write: (b: Uint8Array) => void writes.push(Uint8Array.from(b)) };
      const b = new TableBuilder({ blockSize, bitsPerKey: 10, sink });
      for (const e of entries) b.add(e.key, e.seq, e.kind, e.value);
      const size = b.finishToSink();
      const got = Buffer.concat(writes);
      expect(size, `seed ${seed}`).toBe(want.length);
      expect(got.equals(want), `seed ${seed}`).toBe(true);
      expect(b.properties.entries).toBe(entries.length);
    },
  );

  it('is finished with finishToSink, a builder without one with finish', () => {
    const sinkBuilder = new TableBuilder({ sink: { write: () => undefined } });
    sinkBuilder.add(utf8('a'), 1, Kind.VALUE, utf8('x'));
    expect(() => sinkBuilder.finish()).toThrow(TypeError);
    const plain = new TableBuilder();
    plain.add(utf8('a'), 1, Kind.VALUE, utf8('x'));
    expect(() => plain.finishToSink()).toThrow(TypeError);
  });

  it.each(seeds([5, 6]))(
    'tables built interleaved on one thread, handing block buffers on, equal the same tables built alone (seed %i)',
    (seed) => {
      // A finished table gives its block buffer to the next one built on the thread: tables whose
      // building overlaps (a flush between a compaction's outputs) must never share one, and a
      // buffer's old bytes must never reach a table.
      const rand = rng(seed);
      const sets = Array.from({ length: 6 }, (_, i) =>
        randomEntries(rand, 30 + Math.floor(rand() * 200)).map((e, j) =>
          // Some values large enough to grow the block buffer far past the block size.
          j % 17 === 0 && i % 2 === 0 ? { ...e, value: randomBytes(rand, 20_000 + Math.floor(rand() * 60_000)) } : e,
        ),
      );
      const alone = sets.map((entries) => buildTable(entries, { blockSize: 512 }).bytes);
      // Start two builders, add to both in turns, finish one, start the next, and so on.
      const got: Uint8Array[] = [];
      const live: { b: TableBuilder; i: number; at: number }[] = [];
      let next = 0;
      while (got.filter((x) => x !== undefined).length < sets.length) {
        while (live.length < 2 && next < sets.length)
          live.push({ b: new TableBuilder({ blockSize: 512 }), i: next++, at: 0 });
        const k = Math.floor(rand() * live.length);
        const l = live[k]!;
        const entries = sets[l.i]!;
        const n = Math.min(entries.length - l.at, 1 + Math.floor(rand() * 20));
        for (let j = 0; j < n; j++, l.at++)
          l.b.add(entries[l.at]!.key, entries[l.at]!.seq, entries[l.at]!.kind, entries[l.at]!.value);
        if (l.at === entries.length) {
          got[l.i] = l.b.finish();
          live.splice(k, 1);
        }
      }
      for (let i = 0; i < sets.length; i++) {
        expect(Buffer.from(got[i]!).equals(alone[i]!), `table ${i} (seed ${seed})`).toBe(true);
        // And it reads back.
        const t = open(got[i]!);
        expect(t.properties.entries).toBe(sets[i]!.length);
      }
    },
  );
});
