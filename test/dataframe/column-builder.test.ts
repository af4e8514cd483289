// ColumnBuilder against plain arrays: every type, nulls, growth, and reuse of the builder's memory
// through view()/reset() as the frame writer uses it (chunk after chunk, the last one shorter).

import { describe, expect, it } from 'vitest';
import { ColumnBuilder } from '../../dataframe/column-builder.js';
import type { Column } from '../../dataframe/column.js';
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
