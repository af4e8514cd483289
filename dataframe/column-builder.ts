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

/** Whether this machine stores typed arrays little-endian (every platform Node runs on today). */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const TWO_32 = 4294967296;

export class ColumnBuilder {
  private num: Store | undefined;
  /** For L and T: the same memory as 32-bit words, to store a safe-integer number without a bigint. */
  private words: Int32Array | undefined;
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
      if (next instanceof BigInt64Array && LITTLE_ENDIAN) this.words = new Int32Array(next.buffer);
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
    this.pushFitted(v);
  }

  /** push() of a value the caller has checked with valueFits (the frame writer checks whole rows). */
  pushFitted(v: Value | undefined): void {
    if (v === null || v === undefined) {
      this.pushNull();
      return;
    }
    const i = this.n;
    this.grow(i + 1);
    if (this.type === 'S') this.str!.push(v as string);
    else if (this.type === 'L' || this.type === 'T') {
      if (typeof v === 'number' && this.words) {
        // Two's complement halves of a safe integer: |hi| < 2^21, 0 <= lo < 2^32.
        const hi = Math.floor(v / TWO_32);
        this.words[2 * i] = v - hi * TWO_32;
        this.words[2 * i + 1] = hi;
      } else (this.num as BigInt64Array)[i] = BigInt(v as number | bigint);
    } else this.num![i] = v === true ? 1 : v === false ? 0 : (v as number);
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
