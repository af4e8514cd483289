// Chunk and metadata encoding: exact round trips (bit-exact doubles, which msgpackr mangles when given
// a Float64Array directly), and every kind of damaged value refused as CORRUPTION, never decoded.

import { describe, expect, it } from 'vitest';
import { Packr } from 'msgpackr';
import { columnToBody, decodeChunk, encodeChunk } from '../../dataframe/chunk-codec.js';
import { columnFromValues } from '../../dataframe/column-builder.js';
import { DoubleColumn, StringColumn, type Column } from '../../dataframe/column.js';
import { Kind, crc32, crc32Portable, seal } from '../../dataframe/envelope.js';
import { makeVersion } from '../../dataframe/layout.js';
import { decodeMeta, encodeMeta, metaToPlain, slotOf, type FrameMeta } from '../../dataframe/meta.js';
import { isEau2Error } from '../../kv/index.js';
import { seededRng } from './helpers.js';

function randomColumns(n: number): Column[] {
  const rng = seededRng();
  const maybe = <T>(v: T): T | null => (rng.bool(0.2) ? null : v);
  return [
    columnFromValues(
      'I',
      Array.from({ length: n }, () => maybe(rng.int(-(2 ** 31), 2 ** 31 - 1))),
    ),
    columnFromValues(
      'D',
      Array.from({ length: n }, () => maybe((rng.next() - 0.5) * 1e300)),
    ),
    columnFromValues(
      'B',
      Array.from({ length: n }, () => maybe(rng.bool())),
    ),
    columnFromValues(
      'S',
      Array.from({ length: n }, () => maybe(rng.word(rng.int(0, 12)) + (rng.bool(0.1) ? 'é€😀' : ''))),
    ),
  ];
}

function expectCorruption(f: () => unknown): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(isEau2Error(err, 'CORRUPTION'), `expected CORRUPTION, got ${String(err)}`).toBe(true);
}

describe('chunk encoding', () => {
  it('round-trips every type with nulls, at sizes around byte boundaries, from any buffer offset', () => {
    for (const n of [0, 1, 7, 8, 9, 63, 64, 65, 1000]) {
      for (const c of randomColumns(n)) {
        const enc = encodeChunk(c);
        const back = decodeChunk(
          n % 2 ? Buffer.concat([Buffer.alloc((n % 7) + 1), enc]).subarray((n % 7) + 1) : enc,
          'k',
          c.type,
          n,
        );
        expect(back.type).toBe(c.type);
        expect([...back]).toEqual([...c]);
        for (let i = 0; i < n; i++) expect(back.isNull(i)).toBe(c.isNull(i));
      }
    }
  });

  it('keeps doubles bit-exact, including -0, NaN and infinities', () => {
    const vals = new Float64Array([-0, NaN, Infinity, -Infinity, 5e-324, 1.7976931348623157e308, 0.1]);
    const back = decodeChunk(encodeChunk(new DoubleColumn(vals, vals.length, undefined)), 'k', 'D', vals.length);
    const got = back.values as Float64Array;
    expect(new Uint8Array(got.buffer, got.byteOffset, 56)).toEqual(new Uint8Array(vals.buffer));
  });

  it('stores numeric data as raw bytes, not one msgpack number per value', () => {
    const n = 10_000;
    const c = new DoubleColumn(
      new Float64Array(n).map((_, i) => i + 0.5),
      n,
      undefined,
    );
    expect(encodeChunk(c).length).toBeLessThan(n * 8 + 64);
  });

  it('dictionary-encodes repetitive string chunks, at every index width, and decodes them exactly', () => {
    const rng = seededRng();
    for (const [distinct, n] of [
      [3, 100],
      [300, 2000],
      [70_000, 300_000],
    ] as const) {
      const pool = Array.from({ length: distinct }, (_, k) => `v${k}`);
      const vals = Array.from({ length: n }, (_, i) =>
        i % 17 === 0 ? null : i < distinct ? pool[i]! : rng.pick(pool),
      );
      const c = columnFromValues('S', vals);
      const enc = encodeChunk(c);
      const plainBytes = vals.reduce((k, v) => k + (v?.length ?? 0) + 1, 0);
      expect(enc.length, `${distinct} distinct`).toBeLessThan(plainBytes);
      const back = decodeChunk(enc, 'k', 'S', n);
      expect([...back]).toEqual(vals);
      // Stores hand back Node Buffers, often views into a larger pool at an odd offset.
      const pooled = Buffer.concat([Buffer.from([1, 2, 3]), enc]).subarray(3);
      expect([...decodeChunk(pooled, 'k', 'S', n)]).toEqual(vals);
    }
    // High-cardinality chunks stay plain (and still round-trip).
    const unique = columnFromValues(
      'S',
      Array.from({ length: 500 }, (_, i) => `u${i}`),
    );
    expect([...decodeChunk(encodeChunk(unique), 'k', 'S', 500)]).toEqual([...unique]);
  });

  it('writes chunks byte for byte as msgpackr would (the hand-written encoder at every size boundary)', () => {
    const rng = seededRng();
    for (const n of [0, 1, 7, 8, 127, 128, 255, 256, 2047, 2048, 65535, 65536, 70_000]) {
      for (const nulls of [false, true]) {
        const maybe = <T>(v: T): T | null => (nulls && rng.bool(0.1) ? null : v);
        const cats = Array.from({ length: rng.pick([3, 300, 20_000]) }, (_, k) => `c${k}é`);
        const cols = [
          columnFromValues(
            'I',
            Array.from({ length: n }, () => maybe(rng.int(-1000, 1000))),
          ),
          columnFromValues(
            'D',
            Array.from({ length: n }, () => maybe(rng.next())),
          ),
          columnFromValues(
            'B',
            Array.from({ length: n }, () => maybe(rng.bool())),
          ),
          columnFromValues(
            'S',
            Array.from({ length: n }, () => maybe(rng.pick(cats))),
          ),
        ];
        // Raw (plain: as msgpackr would write the body) and encoded where the values fit (the
        // encoded bytes are checked against an independent encoder in number-codec.test.ts).
        for (const c of cols) {
          for (const plain of [true, false]) {
            const where = `${c.type} n=${n} nulls=${nulls} plain=${plain}`;
            const enc = encodeChunk(c, undefined, 0, n, { plain });
            // Buffer.equals: vitest's toEqual walks a 500 KB array element by element for seconds.
            if (plain) expect(Buffer.from(enc).equals(seal(Kind.CHUNK, columnToBody(c))), where).toBe(true);
            // Into a reused buffer full of stale bytes, at an odd offset: the same bytes.
            const into = encodeChunk(c, (size) => new Uint8Array(size + 3).fill(0xa5).subarray(3), 0, n, { plain });
            expect(Buffer.from(into).equals(Buffer.from(enc)), `${where}, into a dirty buffer`).toBe(true);
            // Rows [a, b) encoded in place: the same bytes as the slice's.
            const a = rng.int(0, n);
            const b = rng.int(a, n);
            const part = encodeChunk(c, undefined, a, b, { plain });
            expect(
              Buffer.from(part).equals(Buffer.from(encodeChunk(c.slice(a, b), undefined, 0, b - a, { plain }))),
              `${where}, rows ${a}-${b}`,
            ).toBe(true);
            const back = decodeChunk(enc, 'k', c.type, n);
            for (let i = 0; i < n; i++)
              if (back.get(i) !== c.get(i)) expect(back.get(i), `${where} row ${i}`).toBe(c.get(i));
          }
        }
      }
    }
  });

  it('writes a dictionary column as its strings would be written, whatever its codes and the buffer alignment', () => {
    // A column's own codes are written as they are when they already number the rows' values in
    // order of first use (an Arrow import's, a decoded chunk's), else renumbered; at widths 2 and 4
    // they are narrowed in place or through a scratch array depending on the output's alignment.
    const rng = seededRng();
    for (const size of [3, 300, 70_000]) {
      const n = 4 * size + rng.int(0, 100);
      const dict = Array.from({ length: size }, (_, k) => `d${k}`);
      // First use in order: rows 0..size-1 take codes 0..size-1, then anything.
      const ordered = Array.from({ length: n }, (_, i) => (i < size ? i : rng.int(0, size - 1)));
      const swapped = ordered.slice();
      [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
      const unused = ordered.map((k) => (k === size - 1 ? 0 : k));
      for (const [how, codes] of [
        ['in first-use order', ordered],
        ['out of order', swapped],
        ['with an unused entry', unused],
      ] as const) {
        for (const Codes of [Uint8Array, Uint16Array, Uint32Array]) {
          if (size > 2 ** (8 * Codes.BYTES_PER_ELEMENT)) continue;
          let nulls: Uint8Array | undefined;
          if (rng.bool()) {
            nulls = new Uint8Array(Math.ceil(n / 8));
            for (let i = 0; i < n; i++) if (rng.bool(0.1)) nulls[i >>> 3]! |= 1 << (i & 7);
          }
          const c = new StringColumn(undefined, n, nulls, { dict, codes: Codes.from(codes) });
          const plain = new StringColumn(
            codes.map((k) => dict[k]!),
            n,
            nulls,
          );
          const where = `${size} entries ${how}, ${Codes.name}`;
          const want = Buffer.from(seal(Kind.CHUNK, columnToBody(plain)));
          expect(Buffer.from(seal(Kind.CHUNK, columnToBody(c))).equals(want), `${where}: body`).toBe(true);
          for (let off = 0; off < 4; off++) {
            const got = encodeChunk(c, (bytes) => new Uint8Array(bytes + off).fill(0xa5).subarray(off));
            expect(Buffer.from(got).equals(want), `${where}, at offset ${off}`).toBe(true);
          }
          const a = rng.int(0, n >> 1);
          const b = rng.int(a, n);
          expect(
            Buffer.from(encodeChunk(c, undefined, a, b)).equals(Buffer.from(encodeChunk(plain, undefined, a, b))),
            `${where}, rows ${a}-${b}`,
          ).toBe(true);
        }
      }
    }
  });

  it('refuses a dictionary index that points past the dictionary', () => {
    const bad = seal(Kind.CHUNK, { t: 'S', n: 2, d: ['a'], v: new Uint8Array([0, 1]) });
    expectCorruption(() => decodeChunk(bad, 'k', 'S', 2));
    const width = seal(Kind.CHUNK, { t: 'S', n: 2, d: ['a'], v: new Uint8Array([0, 0, 0]) });
    expectCorruption(() => decodeChunk(width, 'k', 'S', 2));
    const notS = seal(Kind.CHUNK, { t: 'I', n: 1, d: ['a'], v: new Uint8Array(4) });
    expectCorruption(() => decodeChunk(notS, 'k', 'I', 1));
  });

  it('refuses a value with any single byte changed', () => {
    const good = encodeChunk(columnFromValues('S', ['ab', null, 'c']));
    for (let i = 0; i < good.length; i++) {
      const bad = new Uint8Array(good);
      bad[i]! ^= 0x10;
      expectCorruption(() => decodeChunk(bad, 'k', 'S', 3));
    }
  });

  it('refuses every truncation', () => {
    const good = encodeChunk(columnFromValues('I', [1, 2, null, 4]));
    for (let len = 0; len < good.length; len++) expectCorruption(() => decodeChunk(good.subarray(0, len), 'k', 'I', 4));
  });

  it('refuses a well-formed chunk that does not match the schema or the row count', () => {
    const v = encodeChunk(columnFromValues('I', [1, 2, 3]));
    expectCorruption(() => decodeChunk(v, 'k', 'D', 3));
    expectCorruption(() => decodeChunk(v, 'k', 'I', 4));
  });

  it('refuses structurally wrong bodies even with a valid checksum', () => {
    const bodies: unknown[] = [
      'not a map',
      { t: 'I', n: 2, v: new Uint8Array(7) },
      { t: 'S', n: 2, v: ['a'] },
      { t: 'S', n: 2, v: ['a', 3] },
      { t: 'D', n: 1, v: new Uint8Array(8), z: new Uint8Array(2) },
      { t: 'Q', n: 0, v: [] },
    ];
    for (const b of bodies) expectCorruption(() => decodeChunk(seal(Kind.CHUNK, b), 'k', 'I', 2));
  });

  it('refuses a metadata record where a chunk is expected', () => {
    const meta: FrameMeta = {
      name: 'f',
      version: makeVersion(1),
      fields: [{ name: 'a', type: 'I' }],
      nrows: 1,
      chunkRows: 1,
      nchunks: 1,
      created: 0,
    };
    expectCorruption(() => decodeChunk(encodeMeta(meta), 'k', 'I', 1));
  });

  it('shows why raw bytes are needed: msgpackr alone does not round-trip a Float64Array', () => {
    const p = new Packr({ useRecords: false });
    const back = p.unpack(p.pack({ v: new Float64Array([1.5, 2.5]) })) as { v: unknown };
    expect(back.v instanceof Float64Array && back.v[0] === 1.5 && back.v[1] === 2.5).toBe(false);
  });
});

describe('checksum', () => {
  it('is CRC-32 (IEEE): the standard check value, and the portable fallback agrees with zlib', () => {
    const check = new TextEncoder().encode('123456789');
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32Portable(check)).toBe(0xcbf43926);
    const rng = seededRng();
    const data = Uint8Array.from({ length: 10_000 }, () => rng.int(0, 255));
    expect(crc32Portable(data)).toBe(crc32(data));
  });
});

describe('dictionary keys', () => {
  it('keeps strings that name object properties or look like numbers apart, in order', () => {
    const rng = seededRng();
    const words = [
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'valueOf',
      '1',
      '01',
      '1.0',
      '-0',
      '4294967295',
      '',
      ' ',
      'x',
    ];
    const values = Array.from({ length: 4000 }, () => rng.pick(words));
    const c = columnFromValues('S', values);
    const enc = encodeChunk(c);
    const got = decodeChunk(enc, 'k', 'S', values.length);
    expect(got.type === 'S' && got.dictionary?.dict.length).toBe(words.length);
    expect(got.toArray()).toEqual(values);
  });
});

describe('metadata encoding', () => {
  const meta: FrameMeta = {
    name: 'sales',
    version: makeVersion(7),
    fields: [
      { name: 'a', type: 'I' },
      { name: 'b', type: 'S' },
    ],
    nrows: 10,
    chunkRows: 4,
    nchunks: 3,
    created: 1_700_000_000_000,
  };

  it('round-trips', () => {
    expect(decodeMeta(encodeMeta(meta), 'sales')).toEqual(meta);
  });

  it('refuses inconsistent counts, unknown types and a record filed under another name', () => {
    expectCorruption(() => decodeMeta(encodeMeta({ ...meta, nchunks: 2 }), 'sales'));
    expectCorruption(() => decodeMeta(encodeMeta({ ...meta, fields: [{ name: 'a', type: 'Z' as 'I' }] }), 'sales'));
    expectCorruption(() => decodeMeta(encodeMeta(meta), 'other'));
    expectCorruption(() => decodeMeta(encodeChunk(columnFromValues('I', [1])), 'sales'));
  });

  it('writes slots as a version 2 record and reads them back; version 1 stays without them', () => {
    const placed: FrameMeta = { ...meta, slots: [5, 0, 2] };
    const enc = encodeMeta(placed);
    expect(enc[3]).toBe(2);
    expect(encodeMeta(meta)[3]).toBe(1);
    const back = decodeMeta(enc, 'sales');
    expect(back).toEqual(placed);
    expect(slotOf(back, 0)).toBe(5);
    expect(slotOf(decodeMeta(encodeMeta(meta), 'sales'), 2)).toBe(2);
  });

  it('refuses slots in a version 1 record, a version 2 record without them, and bad slot lists', () => {
    const body = (slots: Uint8Array | undefined): Record<string, unknown> => {
      const plain = metaToPlain(meta);
      return slots ? { ...plain, slots } : plain;
    };
    const u32 = (...xs: number[]): Uint8Array => new Uint8Array(new Uint32Array(xs).buffer);
    // What a version 1 reader would take for chunks 0, 1, 2 must never be read that way.
    expectCorruption(() => decodeMeta(seal(Kind.META, body(u32(5, 0, 2)), 1), 'sales'));
    expectCorruption(() => decodeMeta(seal(Kind.META, body(undefined), 2), 'sales'));
    expectCorruption(() => decodeMeta(seal(Kind.META, body(u32(5, 0, 2)), 3), 'sales'));
    expect(decodeMeta(seal(Kind.META, body(u32(5, 0, 2)), 2), 'sales').slots).toEqual([5, 0, 2]);
    expectCorruption(() => decodeMeta(seal(Kind.META, body(u32(5, 0)), 2), 'sales'));
    expectCorruption(() => decodeMeta(seal(Kind.META, body(u32(5, 0, 5)), 2), 'sales'));
    expectCorruption(() => decodeMeta(seal(Kind.META, body(u32(5, 0, 0xffffffff)), 2), 'sales'));
    expectCorruption(() => decodeMeta(seal(Kind.META, { ...metaToPlain(meta), slots: [5, 0, 2] }, 2), 'sales'));
  });
});
