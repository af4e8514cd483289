// In-memory columns: one typed array (or string array) per column plus an optional null bitmap.
// Columns are immutable once built; slices of numeric columns are views, so chunking a large frame
// costs no copies. A null's slot in `values` holds the type's zero (0, false, '') so vectorised code
// can read every slot without checking nulls first.

import type { ColumnType } from './schema.js';

/** Bit i set = row i is null. Absent when a column has no nulls. Bytes are LSB-first. */
export type NullBitmap = Uint8Array;

export function bitmapBytes(n: number): number {
  return (n + 7) >>> 3;
}

export function bitGet(bm: Uint8Array, i: number): boolean {
  return (bm[i >>> 3]! & (1 << (i & 7))) !== 0;
}

export function bitSet(bm: Uint8Array, i: number): void {
  bm[i >>> 3]! |= 1 << (i & 7);
}

/** Bits [start, end) of `bm` as a new bitmap starting at bit 0; undefined if none is set. */
export function sliceBitmap(bm: NullBitmap | undefined, start: number, end: number): NullBitmap | undefined {
  if (!bm) return undefined;
  const n = end - start;
  let out: Uint8Array;
  if ((start & 7) === 0) {
    out = bm.slice(start >>> 3, (start >>> 3) + bitmapBytes(n));
    const tail = n & 7;
    if (tail) out[out.length - 1]! &= (1 << tail) - 1;
  } else {
    out = new Uint8Array(bitmapBytes(n));
    for (let i = 0; i < n; i++) if (bitGet(bm, start + i)) bitSet(out, i);
  }
  for (const b of out) if (b) return out;
  return undefined;
}

function countBits(bm: NullBitmap | undefined, n: number): number {
  if (!bm) return 0;
  let c = 0;
  for (let i = 0; i < n; i++) if (bitGet(bm, i)) c++;
  return c;
}

abstract class ColumnBase<V, A> {
  abstract readonly type: ColumnType;
  abstract readonly values: A;
  constructor(
    readonly length: number,
    readonly nulls: NullBitmap | undefined,
  ) {}

  isNull(i: number): boolean {
    return this.nulls !== undefined && bitGet(this.nulls, i);
  }

  get nullCount(): number {
    return countBits(this.nulls, this.length);
  }

  /** The value at row i, or null. Row bounds are the caller's business (see DataFrame.get). */
  get(i: number): V | null {
    return this.isNull(i) ? null : this.at(i);
  }

  protected abstract at(i: number): V;

  /** Approximate bytes held in memory, for the chunk cache's budget. */
  abstract get byteSize(): number;

  *[Symbol.iterator](): IterableIterator<V | null> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }

  toArray(): (V | null)[] {
    return [...this];
  }
}

/** Columns stored as int32: integers (I) and dates (d, days since 1970-01-01). */
abstract class Int32ColumnBase extends ColumnBase<number, Int32Array> {
  constructor(
    readonly values: Int32Array,
    length: number,
    nulls: NullBitmap | undefined,
  ) {
    super(length, nulls);
  }
  protected at(i: number): number {
    return this.values[i]!;
  }
  get byteSize(): number {
    return this.length * 4 + (this.nulls?.length ?? 0) + 64;
  }
}

export class IntColumn extends Int32ColumnBase {
  readonly type = 'I' as const;
  slice(start: number, end: number): IntColumn {
    return new IntColumn(this.values.subarray(start, end), end - start, sliceBitmap(this.nulls, start, end));
  }
}

export class DoubleColumn extends ColumnBase<number, Float64Array> {
  readonly type = 'D' as const;
  constructor(
    readonly values: Float64Array,
    length: number,
    nulls: NullBitmap | undefined,
  ) {
    super(length, nulls);
  }
  protected at(i: number): number {
    return this.values[i]!;
  }
  get byteSize(): number {
    return this.length * 8 + (this.nulls?.length ?? 0) + 64;
  }
  slice(start: number, end: number): DoubleColumn {
    return new DoubleColumn(this.values.subarray(start, end), end - start, sliceBitmap(this.nulls, start, end));
  }
}

/** Booleans as one byte per row (0 or 1): simple to index; packed to bits only when stored. */
export class BoolColumn extends ColumnBase<boolean, Uint8Array> {
  readonly type = 'B' as const;
  constructor(
    readonly values: Uint8Array,
    length: number,
    nulls: NullBitmap | undefined,
  ) {
    super(length, nulls);
  }
  protected at(i: number): boolean {
    return this.values[i] === 1;
  }
  get byteSize(): number {
    return this.length + (this.nulls?.length ?? 0) + 64;
  }
  slice(start: number, end: number): BoolColumn {
    return new BoolColumn(this.values.subarray(start, end), end - start, sliceBitmap(this.nulls, start, end));
  }
}

/** A dictionary-encoded string chunk as decoded: row i holds dict[codes[i]]. */
export interface StringDictionary {
  readonly dict: readonly string[];
  readonly codes: Uint8Array | Uint16Array | Uint32Array;
}

export class StringColumn extends ColumnBase<string, readonly string[]> {
  readonly type = 'S' as const;
  private bytes = -1;
  private vals: readonly string[] | undefined;

  /**
   * From the strings themselves, or (decoded dictionary chunks) from a dictionary and codes, in which
   * case the per-row array is built only if something asks for `values`: grouping and filtering by
   * codes never do, which saves an array of row pointers per chunk per query.
   */
  constructor(
    values: readonly string[] | undefined,
    length: number,
    nulls: NullBitmap | undefined,
    readonly dictionary?: StringDictionary,
  ) {
    super(length, nulls);
    if (values === undefined && dictionary === undefined)
      throw new TypeError('a string column needs values or a dictionary');
    this.vals = values;
  }

  get values(): readonly string[] {
    if (this.vals === undefined) {
      const { dict, codes } = this.dictionary!;
      const out = new Array<string>(this.length);
      for (let i = 0; i < this.length; i++) out[i] = dict[codes[i]!]!;
      this.vals = out;
    }
    return this.vals;
  }

  protected at(i: number): string {
    return this.vals ? this.vals[i]! : this.dictionary!.dict[this.dictionary!.codes[i]!]!;
  }
  get byteSize(): number {
    // V8 keeps one-byte strings at 1 byte/char plus a ~16-byte header, plus the 8-byte array slot.
    if (this.bytes < 0) {
      let n = 64 + (this.nulls?.length ?? 0);
      if (this.vals === undefined) {
        // Shared strings: the dictionary once, plus the codes.
        const { dict, codes } = this.dictionary!;
        n += codes.byteLength;
        for (const d of dict) n += 24 + d.length;
      } else for (let i = 0; i < this.length; i++) n += 24 + this.vals[i]!.length;
      this.bytes = n;
    }
    return this.bytes;
  }
  slice(start: number, end: number): StringColumn {
    return new StringColumn(this.values.slice(start, end), end - start, sliceBitmap(this.nulls, start, end));
  }
}

/** int64 (L) and timestamps (T, microseconds since the epoch, UTC): cells are bigints, never doubles. */
abstract class Int64ColumnBase extends ColumnBase<bigint, BigInt64Array> {
  constructor(
    readonly values: BigInt64Array,
    length: number,
    nulls: NullBitmap | undefined,
  ) {
    super(length, nulls);
  }
  protected at(i: number): bigint {
    return this.values[i]!;
  }
  get byteSize(): number {
    return this.length * 8 + (this.nulls?.length ?? 0) + 64;
  }
}

export class BigIntColumn extends Int64ColumnBase {
  readonly type = 'L' as const;
  slice(start: number, end: number): BigIntColumn {
    return new BigIntColumn(this.values.subarray(start, end), end - start, sliceBitmap(this.nulls, start, end));
  }
}

export class TimestampColumn extends Int64ColumnBase {
  readonly type = 'T' as const;
  slice(start: number, end: number): TimestampColumn {
    return new TimestampColumn(this.values.subarray(start, end), end - start, sliceBitmap(this.nulls, start, end));
  }
}

/** Dates as days since 1970-01-01 (int32). */
export class DateColumn extends Int32ColumnBase {
  readonly type = 'd' as const;
  slice(start: number, end: number): DateColumn {
    return new DateColumn(this.values.subarray(start, end), end - start, sliceBitmap(this.nulls, start, end));
  }
}

export type Column = IntColumn | DoubleColumn | BoolColumn | StringColumn | BigIntColumn | TimestampColumn | DateColumn;

/** The value type held by each column type, for typed access: `df.column<'D'>('x').values`. */
export interface ColumnOf {
  I: IntColumn;
  D: DoubleColumn;
  B: BoolColumn;
  S: StringColumn;
  L: BigIntColumn;
  T: TimestampColumn;
  d: DateColumn;
}

/** A column of type `t` over `values` (of the type's array kind), adopted without copying. */
export function makeColumn(
  t: ColumnType,
  values: ArrayBufferView | readonly string[],
  n: number,
  nulls: NullBitmap | undefined,
): Column {
  switch (t) {
    case 'I':
      return new IntColumn(values as Int32Array, n, nulls);
    case 'D':
      return new DoubleColumn(values as Float64Array, n, nulls);
    case 'B':
      return new BoolColumn(values as Uint8Array, n, nulls);
    case 'S':
      return new StringColumn(values as string[], n, nulls);
    case 'L':
      return new BigIntColumn(values as BigInt64Array, n, nulls);
    case 'T':
      return new TimestampColumn(values as BigInt64Array, n, nulls);
    case 'd':
      return new DateColumn(values as Int32Array, n, nulls);
  }
}

export function sliceColumn(c: Column, start: number, end: number): Column {
  if (start === 0 && end === c.length) return c;
  return c.slice(start, end);
}
