// In-memory DataFrames: construction from every accepted input, typed access, nulls, iteration, and
// clear errors for bad input.

import { describe, expect, it } from 'vitest';
import { DataFrame, DoubleColumn, IntColumn, parseSchema } from '../../dataframe/index.js';

describe('DataFrame.fromColumns', () => {
  it('infers the four types and reports the schema, sizes and names', () => {
    const df = DataFrame.fromColumns({
      price: new Float64Array([1.5, 2.5, 3]),
      qty: new Int32Array([1, 2, 3]),
      city: ['a', 'b', null],
      ok: [true, null, false],
    });
    expect(df.schema).toBe('DISB');
    expect(df.nrows).toBe(3);
    expect(df.ncols).toBe(4);
    expect(df.columnNames).toEqual(['price', 'qty', 'city', 'ok']);
    expect(df.get('price', 1)).toBe(2.5);
    expect(df.get(1, 2)).toBe(3);
    expect(df.get('city', 2)).toBeNull();
    expect(df.get('ok', 1)).toBeNull();
    expect(df.get('ok', 2)).toBe(false);
  });

  it('gives typed access to column storage', () => {
    const vals = new Float64Array([1, 2, 3]);
    const df = DataFrame.fromColumns({ x: vals, n: new Int32Array([4, 5, 6]) });
    const x = df.column('x', 'D');
    expect(x).toBeInstanceOf(DoubleColumn);
    expect(x.values).toBe(vals); // adopted, not copied
    expect(df.column('n', 'I')).toBeInstanceOf(IntColumn);
    expect(() => df.column('x', 'I')).toThrow(/is D, not I/);
  });

  it('tracks nulls per type, with the type zero in the value slot', () => {
    const df = DataFrame.fromColumns({
      i: { type: 'I', values: [1, null, 3] },
      s: { type: 'S', values: [null, 'x', ''] },
    });
    const i = df.column('i', 'I');
    expect(i.isNull(1)).toBe(true);
    expect(i.values[1]).toBe(0);
    expect(i.nullCount).toBe(1);
    expect(df.get('s', 0)).toBeNull();
    expect(df.get('s', 2)).toBe(''); // an empty string is not a null
  });

  it('iterates rows and converts to objects', () => {
    const df = DataFrame.fromColumns({ a: [1, 2], b: ['x', null] });
    expect([...df]).toEqual([
      [1, 'x'],
      [2, null],
    ]);
    expect(df.toObjects()).toEqual([
      { a: 1, b: 'x' },
      { a: 2, b: null },
    ]);
    expect(df.row(1)).toEqual([2, null]);
  });

  it('slices without copying numeric columns and keeps nulls aligned', () => {
    const df = DataFrame.fromColumns({ a: { type: 'I', values: [0, null, 2, 3, null, 5, 6, 7, 8, null] } });
    const s = df.slice(3, 10);
    expect([...s.column('a')]).toEqual([3, null, 5, 6, 7, 8, null]);
    expect(s.column('a', 'I').values.buffer).toBe(df.column('a', 'I').values.buffer);
  });

  it('builds from rows by position or by name', () => {
    const df = DataFrame.fromRows('name:S,age:I', [['ann', 31], { name: 'bob', age: null }]);
    expect(df.schema).toBe('SI');
    expect(df.toObjects()).toEqual([
      { name: 'ann', age: 31 },
      { name: 'bob', age: null },
    ]);
  });

  it('refuses columns of different lengths', () => {
    expect(() => DataFrame.fromColumns({ a: [1, 2, 3], b: [1, 2] })).toThrow(/differ in length.*"a" has 3.*"b" has 2/);
  });

  it('refuses unknown types, mixed arrays and untyped empty columns', () => {
    expect(() => DataFrame.fromColumns({ a: { type: 'X' as 'I', values: [1] } })).toThrow(/unknown type/);
    expect(() => DataFrame.fromColumns({ a: new Uint16Array(3) as unknown as Int32Array })).toThrow(
      /Uint16Array is not a column type/,
    );
    expect(() => DataFrame.fromColumns({ a: [1, 'x'] as unknown as number[] })).toThrow(/mixes D and S/);
    expect(() => DataFrame.fromColumns({ a: [] })).toThrow(/cannot infer/);
    expect(() => DataFrame.fromColumns({ a: [null, null] })).toThrow(/cannot infer/);
    expect(() => DataFrame.fromColumns({})).toThrow(/at least one column/);
  });

  it('refuses values that do not fit the declared type instead of coercing them', () => {
    expect(() => DataFrame.fromColumns({ a: { type: 'I', values: [1, 2.5] } })).toThrow(/row 1: cannot store 2.5/);
    expect(() => DataFrame.fromColumns({ a: { type: 'I', values: [2 ** 31] } })).toThrow(/cannot store/);
    expect(() => DataFrame.fromColumns({ a: { type: 'B', values: [1] as unknown as boolean[] } })).toThrow(
      /cannot store/,
    );
  });

  it('checks bounds on access', () => {
    const df = DataFrame.fromColumns({ a: [1] });
    expect(() => df.get('a', 1)).toThrow(RangeError);
    expect(() => df.get('zz', 0)).toThrow(/no column named "zz"/);
  });
});

describe('parseSchema', () => {
  it('accepts letters, name:type lists, arrays and objects', () => {
    expect(parseSchema('Dis')).toEqual([
      { name: 'c0', type: 'D' },
      { name: 'c1', type: 'I' },
      { name: 'c2', type: 'S' },
    ]);
    // d is a date and D a double: the one letter whose case matters.
    expect(parseSchema('dDlt').map((f) => f.type)).toEqual(['d', 'D', 'L', 'T']);
    expect(parseSchema('a:int64,b:timestamp,c:Date,e:float64').map((f) => f.type)).toEqual(['L', 'T', 'd', 'D']);
    expect(() => parseSchema('a:X')).toThrow(/expected one of I, D, B, S, L, T, d/);
    expect(parseSchema('a:I, b:s')).toEqual([
      { name: 'a', type: 'I' },
      { name: 'b', type: 'S' },
    ]);
    expect(parseSchema({ x: 'B' })).toEqual([{ name: 'x', type: 'B' }]);
  });

  it('rejects unknown type letters and duplicate names', () => {
    expect(() => parseSchema('DQ')).toThrow(/unknown column type "Q"/);
    expect(() => parseSchema('a:I,a:D')).toThrow(/duplicate column name/);
  });
});

describe('DataFrame.concat', () => {
  it('stacks frames of one schema', () => {
    const a = DataFrame.fromColumns({ x: new Int32Array([1, 2]), s: ['a', null] });
    const b = DataFrame.fromColumns({ x: new Int32Array([3]), s: ['c'] });
    const both = DataFrame.concat([a, b]);
    expect(both.columnNames).toEqual(['x', 's']);
    expect([...both.rows()]).toEqual([
      [1, 'a'],
      [2, null],
      [3, 'c'],
    ]);
  });

  it('refuses frames whose columns have other names, even with the same types', () => {
    const a = DataFrame.fromColumns({ price: [1.5], qty: [2] });
    const b = DataFrame.fromColumns({ qty: [3], price: [4.5] });
    expect(() => DataFrame.concat([a, b])).toThrow(/different schemas \(qty:D,price:D vs price:D,qty:D\)/);
    expect(() =>
      DataFrame.concat(
        [a],
        [
          { name: 'p', type: 'D' },
          { name: 'qty', type: 'D' },
        ],
      ),
    ).toThrow(TypeError);
    expect(() => DataFrame.concat([a, DataFrame.fromColumns({ price: ['x'], qty: [1] })])).toThrow(/different schemas/);
  });
});
