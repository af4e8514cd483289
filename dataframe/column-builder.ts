// Growable column builders: the one place where loose JavaScript values (from rows, CSV, SoR, query
// results) are checked against a column type and packed into typed arrays. A value of the wrong type
// is a TypeError naming the column and row, never a silent coercion.

import { bitGet, bitSet, bitmapBytes, makeColumn, type Column, type NullBitmap } from './column.js';
import { describeValue, valueFits, type ColumnType, type Value } from './schema.js';

type Store = Int32Array | Float64Array | Uint8Array | BigInt64Array;

function newStore(t: Exclude<ColumnType, 'S'>, cap: number): Store {
  switch (t) {
    case 'I':
    case 'd':
      return new Int32Array(cap);
    case 'D':
      return new Float64Array(cap);
    case 'B':
      return new Uint8Array(cap);
    case 'L':
    case 'T':
      return new BigInt64Array(cap);
  }
}

export class ColumnBuilder {
  private num: Store | undefined;
  private str: string[] | undefined;
  private nulls: Uint8Array | undefined;
  private n = 0;

  constructor(
    readonly type: ColumnType,
    private capacity = 1024,
    /** Used in error messages only. */
    readonly name = '?',
  ) {
    this.alloc(Math.max(8, capacity));
  }

  get length(): number {
    return this.n;
  }

  private alloc(cap: number): void {
    const old = this.num;
    if (this.type === 'S') {
      this.str ??= [];
    } else {
      const next = newStore(this.type, cap);
      if (old) (next as Uint8Array).set(old as Uint8Array);
      this.num = next;
    }
    if (this.nulls) {
      const nb = new Uint8Array(bitmapBytes(cap));
      nb.set(this.nulls);
      this.nulls = nb;
    }
    this.capacity = cap;
  }

  private grow(need: number): void {
    if (need <= this.capacity) return;
    let cap = this.capacity;
    while (cap < need) cap *= 2;
    this.alloc(cap);
  }

  private markNull(i: number): void {
    if (!this.nulls) this.nulls = new Uint8Array(bitmapBytes(this.capacity));
    bitSet(this.nulls, i);
  }

  /** Appends a value (null or undefined = missing). TypeError if it does not fit the type. */
  push(v: Value | undefined): void {
    const i = this.n;
    if (v === null || v === undefined) {
      this.pushNull();
      return;
    }
    if (!valueFits(this.type, v)) {
      throw new TypeError(
        `column ${JSON.stringify(this.name)} (${this.type}), row ${i}: cannot store ${describeValue(v)}`,
      );
    }
    this.grow(i + 1);
    if (this.type === 'S') this.str!.push(v as string);
    else if (this.type === 'L' || this.type === 'T') (this.num as BigInt64Array)[i] = BigInt(v as number | bigint);
    else this.num![i] = v === true ? 1 : v === false ? 0 : (v as number);
    this.n = i + 1;
  }

  pushNull(): void {
    const i = this.n;
    this.grow(i + 1);
    if (this.type === 'S') this.str!.push('');
    else if (this.type === 'L' || this.type === 'T') (this.num as BigInt64Array)[i] = 0n;
    else this.num![i] = 0;
    this.markNull(i);
    this.n = i + 1;
  }

  /** Appends rows [start, end) of a column of the same type, copying typed arrays in bulk. */
  appendColumn(c: Column, start = 0, end = c.length): void {
    if (c.type !== this.type) {
      throw new TypeError(`column ${JSON.stringify(this.name)} is ${this.type}, cannot append a ${c.type} column`);
    }
    const k = end - start;
    if (k <= 0) return;
    const base = this.n;
    this.grow(base + k);
    if (c.type === 'S') {
      for (let i = start; i < end; i++) this.str!.push(c.values[i]!);
    } else {
      (this.num as Uint8Array).set((c.values as Uint8Array).subarray(start, end), base);
    }
    if (c.nulls) {
      for (let i = start; i < end; i++) if (bitGet(c.nulls, i)) this.markNull(base + i - start);
    }
    this.n = base + k;
  }

  /** The built column; the builder is reset and may be reused. */
  finish(): Column {
    const n = this.n;
    const nulls: NullBitmap | undefined = this.nulls ? this.nulls.slice(0, bitmapBytes(n)) : undefined;
    let col: Column;
    if (this.type === 'S') {
      col = makeColumn('S', this.str!, n, nulls);
      this.str = [];
    } else col = makeColumn(this.type, (this.num as Uint8Array).slice(0, n), n, nulls);
    this.n = 0;
    this.nulls = undefined;
    return col;
  }
}

/** Builds a column of type `type` from plain values. */
export function columnFromValues(type: ColumnType, values: ArrayLike<Value | undefined>, name = '?'): Column {
  const b = new ColumnBuilder(type, values.length, name);
  for (let i = 0; i < values.length; i++) b.push(values[i]);
  return b.finish();
}
