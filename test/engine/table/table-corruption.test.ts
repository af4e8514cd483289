// Damaged tables: every single-byte change must be refused as CORRUPTION naming the file and an
// offset, or (only for bytes nothing reads) leave every answer correct. Never a wrong value, an
// out-of-range read or a hang. Also truncated files, files that are not tables, newer versions.

import { describe, expect, it } from 'vitest';
import { Kind, MAX_SEQUENCE } from '../../../engine/format/internal-key.js';
import { BlockCache } from '../../../engine/table/block-cache.js';
import { FOOTER_SIZE, TABLE_FORMAT_VERSION } from '../../../engine/table/format.js';
import { TableReader } from '../../../engine/table/table-reader.js';
import { crc32c, maskCrc } from '../../../engine/util/crc32c.js';
import { putFixed32 } from '../../../engine/util/coding.js';
import { Eau2Error } from '../../../kv/index.js';
import { utf8 } from '../../../kv/index.js';
import { BytesFile, buildTable, hex, modelGet, randomEntries, rng } from './helpers.js';
import type { Entry } from './helpers.js';

const PATH = 'db/000042.sst';

/** Reads everything the table holds; returns a transcript to compare with the intact table's. */
function readAll(bytes: Uint8Array, entries: Entry[]): string {
  const t = TableReader.open(new BytesFile(PATH, bytes), 42, new BlockCache(1 << 20));
  const out: string[] = [];
  const it = t.iterator();
  // Values by checksum: hex of every value would dominate the run time.
  for (it.seekToFirst(); it.valid(); it.next())
    out.push(`${hex(it.key())}/${it.seq()}/${it.kind()}/${crc32c(it.value())}`);
  for (it.seekToLast(); it.valid(); it.prev()) out.push(`${it.seq()}`);
  for (const e of entries) {
    const g = t.get(e.key, e.seq);
    out.push(g === undefined ? '-' : `${g.seq}/${g.kind}/${crc32c(g.value)}`);
  }
  out.push(JSON.stringify(t.properties, (_k, v: unknown) => (v instanceof Uint8Array ? hex(v) : v)));
  return out.join('\n');
}

function expectCorruption(e: unknown, where: string, fileSize: number): void {
  // Cheap check first: expect() is slow, and this runs for thousands of flips.
  if (e instanceof Eau2Error && e.code === 'CORRUPTION' && e.details?.file === PATH && e.message.includes(PATH)) {
    const off = e.details.offset;
    if (typeof off === 'number' && off >= 0 && off <= fileSize) return;
  }
  expect(e, where).toBeInstanceOf(Eau2Error);
  const err = e as Eau2Error;
  expect(err.code, `${where}: ${err.message}`).toBe('CORRUPTION');
  expect(err.details?.file, where).toBe(PATH);
  expect(err.message, where).toContain(PATH);
  const off = err.details?.offset;
  expect(typeof off, where).toBe('number');
  expect(off as number, where).toBeGreaterThanOrEqual(0);
  expect(off as number, where).toBeLessThanOrEqual(fileSize);
}

/** Flips bytes at `offsets` with each mask; returns how many flips were detected. */
function flipAll(
  bytes: Uint8Array,
  entries: Entry[],
  offsets: Iterable<number>,
  masks: number[],
): { detected: number; tried: number } {
  const want = readAll(bytes, entries);
  let detected = 0;
  let tried = 0;
  for (const off of offsets) {
    for (const mask of masks) {
      const copy = bytes.slice();
      copy[off]! ^= mask;
      tried++;
      let got: string;
      try {
        got = readAll(copy, entries);
      } catch (e) {
        expectCorruption(e, `byte ${off} ^ 0x${mask.toString(16)}`, bytes.length);
        detected++;
        continue;
      }
      expect(got, `byte ${off} ^ 0x${mask.toString(16)} changed the answers`).toBe(want);
    }
  }
  return { detected, tried };
}

describe('TableReader on damaged files', () => {
  it('refuses every single-byte change anywhere in a small table', () => {
    // Small values only, so that the table (~1.5 KB, several data blocks) is cheap to flip entirely.
    const entries = randomEntries(rng(101), 40).map((e) => ({ ...e, value: e.value.subarray(0, 12) }));
    const { bytes } = buildTable(entries, { blockSize: 128 });
    expect(bytes.length).toBeLessThan(2500);
    const all = Array.from({ length: bytes.length }, (_, i) => i);
    const { detected, tried } = flipAll(bytes, entries, all, [0x01, 0x80, 0xff]);
    // Every byte of the format is covered by a block CRC, the footer CRC or the magic number.
    expect(detected).toBe(tried);
  });

  it('refuses single-byte changes at a large sample of offsets in a bigger table', () => {
    const rand = rng(102);
    const entries = randomEntries(rand, 1500);
    const { bytes } = buildTable(entries, { blockSize: 4096 });
    const offsets = new Set<number>();
    for (let i = bytes.length - 400; i < bytes.length; i++) offsets.add(i); // index, footer
    while (offsets.size < 700) offsets.add(Math.floor(rand() * bytes.length));
    const { detected, tried } = flipAll(bytes, entries, offsets, [1 << Math.floor(rand() * 8)]);
    expect(detected).toBe(tried);
  });

  it('refuses every truncation of a table as not a table', () => {
    const entries = randomEntries(rng(103), 30);
    const { bytes } = buildTable(entries, { blockSize: 128 });
    for (let n = 0; n < bytes.length; n++) {
      let err: unknown;
      try {
        TableReader.open(new BytesFile(PATH, bytes.subarray(0, n)), 42, new BlockCache(1 << 20));
      } catch (e) {
        err = e;
      }
      expectCorruption(err, `truncated to ${n}`, bytes.length);
      expect((err as Error).message).toMatch(/not an eau2 table/);
    }
  });

  it('refuses a file with bytes appended after the footer', () => {
    const { bytes } = buildTable(randomEntries(rng(104), 30));
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expect(() => TableReader.open(new BytesFile(PATH, longer), 42, new BlockCache(0))).toThrow(/not an eau2 table/);
  });

  it('refuses files that are not tables with a clear error', () => {
    const samples = [
      new Uint8Array(0),
      utf8('hello, world\n'),
      utf8('x'.repeat(5000)),
      new Uint8Array(4096),
      Uint8Array.from({ length: 3000 }, (_, i) => (i * 7919) & 0xff),
    ];
    for (const s of samples) {
      let err: unknown;
      try {
        TableReader.open(new BytesFile(PATH, s), 42, new BlockCache(0));
      } catch (e) {
        err = e;
      }
      expectCorruption(err, `${s.length}-byte non-table`, s.length);
      expect((err as Error).message).toMatch(/not an eau2 table/);
    }
  });

  it('refuses a table of a size other than the one expected', () => {
    const { bytes } = buildTable(randomEntries(rng(105), 30));
    expect(() =>
      TableReader.open(new BytesFile(PATH, bytes), 42, new BlockCache(0), { expectedSize: bytes.length + 1 }),
    ).toThrow(/expected/);
    expect(
      TableReader.open(new BytesFile(PATH, bytes), 42, new BlockCache(0), { expectedSize: bytes.length }).fileSize,
    ).toBe(bytes.length);
  });

  /** The table with its footer's version replaced (and the footer CRC fixed up). */
  function withVersion(version: number): Uint8Array {
    const { bytes } = buildTable(randomEntries(rng(106), 30));
    const copy = bytes.slice();
    const footer = copy.length - FOOTER_SIZE;
    putFixed32(copy, footer + 48, version);
    putFixed32(copy, footer + 52, maskCrc(crc32c(copy, 0, footer, footer + 52)));
    return copy;
  }

  function openError(bytes: Uint8Array): unknown {
    try {
      TableReader.open(new BytesFile(PATH, bytes), 42, new BlockCache(0));
    } catch (e) {
      return e;
    }
    return undefined;
  }

  it('refuses a table from a newer format version with an error saying so', () => {
    const err = openError(withVersion(TABLE_FORMAT_VERSION + 1));
    expect(err).toBeInstanceOf(Eau2Error);
    expect((err as Eau2Error).code).toBe('INVALID');
    expect((err as Error).message).toMatch(new RegExp(`version ${TABLE_FORMAT_VERSION + 1} is newer`));
  });

  it('refuses a table of format version 1 (no restart points) with an error saying so', () => {
    const err = openError(withVersion(1));
    expect(err).toBeInstanceOf(Eau2Error);
    expect((err as Eau2Error).code).toBe('INVALID');
    expect((err as Error).message).toMatch(
      /version 1 is older than this build of eau2 reads \(2\); .* must be rebuilt/,
    );
  });

  it('keeps refusing a bad data block on every read, and never caches it', () => {
    const entries = randomEntries(rng(107), 200).filter((e) => e.kind === Kind.VALUE);
    const { bytes } = buildTable(entries, { blockSize: 256 });
    const copy = bytes.slice();
    copy[10]! ^= 0x20; // inside the first data block
    const cache = new BlockCache(1 << 20);
    const t = TableReader.open(new BytesFile(PATH, copy), 42, cache);
    const e = entries[0]!;
    for (let i = 0; i < 3; i++) {
      let err: unknown;
      try {
        t.get(e.key, MAX_SEQUENCE);
      } catch (x) {
        err = x;
      }
      expectCorruption(err, `attempt ${i}`, copy.length);
      expect((err as Eau2Error).details?.offset).toBe(0);
    }
    expect(cache.stats().entries).toBe(0);
    // Other blocks are still served.
    const later = entries[entries.length - 1]!;
    expect(hex(t.get(later.key, MAX_SEQUENCE)!.value)).toBe(hex(modelGet(entries, later.key, MAX_SEQUENCE)!.value));
    // An iterator that meets the bad block is left unpositioned.
    const it = t.iterator();
    expect(() => it.seekToFirst()).toThrow(Eau2Error);
    expect(it.valid()).toBe(false);
  });
});
