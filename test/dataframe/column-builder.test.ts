// ColumnBuilder against plain arrays: every type, nulls, growth, and reuse of the builder's memory
// through view()/reset() as the frame writer uses it (chunk after chunk, the last one shorter).

import { describe, expect, it } from 'vitest';
import { ColumnBuilder } from '../../dataframe/column-builder.js';
import type { Column, StringColumn } from '../../dataframe/column.js';
import { encodeChunk } from '../../dataframe/chunk-codec.js';
import { computeZone } from '../../dataframe/zone-map.js';
import type { ColumnType, Value } from '../../dataframe/index.js';
import { seededRng } from './helpers.js';
import type { Rng } from '../../app/apps/random.js';

const TYPES: ColumnType[] = ['I', 'D', 'B', 'S', 'L', 'T', 'd'];

function randomValue(rng: Rng, t: ColumnType): Value {
  if (rng.bool(0.15)) return null;
  switch (t) {
    case 'I':
    case 'd':
      return rng.int(-2_000_000, 2_000_000);
    case 'D':
      return rng.int(-1e6, 1e6) / 16;
    case 'B':
      return rng.bool();
    case 'S':
      return rng.word(rng.int(0, 5));
    case 'L':
    case 'T':
      // Both forms a builder takes: a safe-integer number and a bigint beyond 2^53.
      return rng.bool() ? rng.int(-1e9, 1e9) * 1_000_003 : BigInt(rng.int(-1e9, 1e9)) * 1_000_000_007n;
  }
  return null;
}

/** The column's values as plain JS, nulls as null, int64 as bigint. */
function valuesOf(c: Column): Value[] {
  return Array.from({ length: c.length }, (_, i) => {
    const v = c.get(i);
    return typeof v === 'number' && (c.type === 'L' || c.type === 'T') ? BigInt(v) : v;
  });
}

function expected(t: ColumnType, vs: Value[]): Value[] {
  return vs.map((v) => (v === null ? null : (t === 'L' || t === 'T') && typeof v === 'number' ? BigInt(v) : v));
}

describe('ColumnBuilder', () => {
  it('view() and reset(): chunk after chunk in the same memory, each chunk exactly its rows', () => {
    const rng = seededRng();
    for (const t of TYPES) {
      const b = new ColumnBuilder(t, 4, 'c');
      for (let chunk = 0; chunk < 12; chunk++) {
        // Lengths go up and down, so a chunk is shorter than the memory left by the one before.
        const n = chunk === 11 ? rng.int(0, 3) : rng.int(1, 300);
        const vs = Array.from({ length: n }, () => randomValue(rng, t));
        for (const v of vs) b.push(v);
        const c = b.view();
        expect(c.length, `${t} chunk ${chunk}`).toBe(n);
        expect(valuesOf(c), `${t} chunk ${chunk}`).toEqual(expected(t, vs));
        if (t === 'S') expect((c.values as string[]).length).toBe(n);
        expect(c.nulls !== undefined, `${t} chunk ${chunk} nulls`).toBe(vs.some((v) => v === null));
        b.reset();
        expect(b.length).toBe(0);
      }
    }
  });

  // A dictionary builder stores codes while a chunk's strings are few and plain strings past
  // MAX_DICT distinct (16,384), for the rest of that chunk and every later one. Its chunks must read
  // and encode exactly as a plain builder's do.
  it("a dictionary builder gives a plain builder's values and encoded bytes, chunk after chunk", () => {
    const rng = seededRng();
    const dictB = new ColumnBuilder('S', 16, 's', { dictionary: true });
    const plainB = new ColumnBuilder('S', 16, 's');
    let sawDictionary = false;
    let sawPlainAfterDictionary = false;
    for (let chunk = 0; chunk < 9; chunk++) {
      // Few distinct strings, then (chunk 5) a chunk that passes 16,384 distinct part-way through.
      const n = chunk === 5 ? 40_000 : rng.int(1, 3000);
      const distinct = chunk === 5 ? 30_000 : rng.int(1, 50);
      const vs: Value[] = Array.from({ length: n }, (_, i) =>
        rng.bool(0.1) ? null : chunk === 5 && i > 20_000 ? `u${i}` : `k${rng.int(0, distinct)}`,
      );
      for (const v of vs) {
        dictB.push(v);
        plainB.push(v);
      }
      const a = dictB.view();
      const b = plainB.view();
      if ((a as StringColumn).dictionary) sawDictionary = true;
      else if (sawDictionary) sawPlainAfterDictionary = true;
      expect(valuesOf(a), `chunk ${chunk}`).toEqual(expected('S', vs));
      expect(Buffer.from(encodeChunk(a)).equals(Buffer.from(encodeChunk(b))), `chunk ${chunk} bytes`).toBe(true);
      expect(computeZone(a, 0, n)).toEqual(computeZone(b, 0, n));
      dictB.reset();
      plainB.reset();
    }
    expect(sawDictionary).toBe(true);
    expect(sawPlainAfterDictionary).toBe(true);
  });

  it('finish() of a dictionary builder hands over its dictionary and codes', () => {
    const b = new ColumnBuilder('S', 4, 's', { dictionary: true });
    for (const v of ['x', 'y', null, 'x']) b.push(v);
    const c = b.finish() as StringColumn;
    for (const v of ['z', 'z', 'y']) b.push(v);
    expect(c.dictionary?.dict).toEqual(['x', 'y', '']);
    expect(valuesOf(c)).toEqual(['x', 'y', null, 'x']);
    expect(valuesOf(b.view())).toEqual(['z', 'z', 'y']);
  });

  // The dictionary is keyed by the string itself: names an object's prototype has, and strings that
  // read as array indices or numbers, are codes like any other, in first-seen order.
  it('a dictionary gives every distinct string its own code, whatever the string', () => {
    const b = new ColumnBuilder('S', 4, 's', { dictionary: true });
    const distinct = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '0', '00', '1', '1e0', '-0', ''];
    const vs = [...distinct, ...distinct.slice().reverse(), '1', '__proto__'];
    for (const v of vs) b.push(v);
    const c = b.finish() as StringColumn;
    expect(c.dictionary?.dict).toEqual(distinct);
    expect(Array.from(c.dictionary!.codes)).toEqual(vs.map((v) => distinct.indexOf(v)));
    expect(valuesOf(c)).toEqual(vs);
  });

  // Short strings (up to three characters below U+0100) are found by an integer packed from their
  // characters, the rest through a Map: one dictionary, codes in first-seen order either way. Random
  // short strings over characters at the packing's edges (U+0000, U+00FF, U+0100), chunk after chunk,
  // the last passing 16,384 distinct strings.
  it('a dictionary of short and long strings: codes in first-seen order, as a Map gives them', () => {
    const rng = seededRng();
    const alphabet = ['\u0000', 'a', 'Z', '0', '\u00ff', '\u0100', '\u4e2d', ' '];
    const b = new ColumnBuilder('S', 8, 's', { dictionary: true });
    for (let chunk = 0; chunk < 4; chunk++) {
      const n = chunk === 3 ? 60_000 : rng.int(1, 20_000);
      const maxLen = chunk === 3 ? 6 : rng.int(1, 4);
      const vs = Array.from({ length: n }, () =>
        Array.from({ length: rng.int(0, maxLen) }, () => rng.pick(alphabet)).join(''),
      );
      const ref = new Map<string, number>();
      for (const v of vs) if (!ref.has(v)) ref.set(v, ref.size);
      for (const v of vs) b.push(v);
      const c = b.view() as StringColumn;
      expect(valuesOf(c), `chunk ${chunk}`).toEqual(vs);
      if (ref.size <= 16_384) {
        expect(c.dictionary?.dict, `chunk ${chunk}`).toEqual([...ref.keys()]);
        expect(Array.from(c.dictionary!.codes), `chunk ${chunk}`).toEqual(vs.map((v) => ref.get(v)));
      } else expect(c.dictionary, `chunk ${chunk}`).toBeUndefined();
      b.reset();
    }
  });

  it('finish() hands over a column the builder no longer writes to', () => {
    const rng = seededRng();
    for (const t of TYPES) {
      const b = new ColumnBuilder(t, 2, 'c');
      const first = Array.from({ length: 100 }, () => randomValue(rng, t));
      for (const v of first) b.push(v);
      const c = b.finish();
      for (let i = 0; i < 150; i++) b.push(randomValue(rng, t));
      expect(valuesOf(c), t).toEqual(expected(t, first));
    }
  });

  it('appendColumn after a reset overwrites in place', () => {
    const b = new ColumnBuilder('S', 4, 's');
    for (const v of ['a', 'b', 'c', 'd', 'e']) b.push(v);
    b.reset();
    const src = new ColumnBuilder('S', 4, 'src');
    for (const v of ['x', null, 'z']) src.push(v);
    b.appendColumn(src.finish(), 0, 3);
    expect(valuesOf(b.view())).toEqual(['x', null, 'z']);
  });

  it('refuses a value of the wrong type and stays as it was', () => {
    const b = new ColumnBuilder('I', 4, 'n');
    b.push(1);
    expect(() => b.push('2')).toThrow(/column "n" \(I\), row 1: cannot store/);
    expect(valuesOf(b.view())).toEqual([1]);
  });
});
