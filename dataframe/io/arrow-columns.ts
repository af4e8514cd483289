// Arrow arrays to eau2 columns, reading the arrays' buffers directly: a fixed-width array the column
// stores as is (int32, float64, int64, microsecond timestamps, days) is copied with one typed-array
// set, or taken as it is when the caller owns the buffers (`adopt`: Parquet row groups), UTF-8
// strings are read as a dictionary from their bytes (or, past the dictionary limit, cut from one
// decoded string per batch when the batch's text is ASCII), and only values that need a conversion
// (units, decimals, narrow or unsigned ints into wider types) are converted one by one. Nothing is coerced: a value that does not fit the column's type fails the
// import naming the column and the row. Both the Arrow IPC and the Parquet importers use it (Parquet
// row groups arrive as Arrow record batches).

import { isAscii } from 'node:buffer';
import * as A from 'apache-arrow';
import { StringColumn, bitSet, bitmapBytes, makeColumn, type Column } from '../column.js';
import { DICT_RATIO, markFirstUseOrder } from '../chunk-codec.js';
import { INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, describeValue, type ColumnType } from '../schema.js';
import { invalid } from './batches.js';
import { TYPE_NAMES } from './text-values.js';

/** What the Arrow type alone does not say about a column's values. */
export interface ArrowColumnHints {
  /** 16-byte fixed-size binary values are UUIDs: shown as 8-4-4-4-12 hex text. */
  uuid?: boolean;
  /**
   * The vector's buffers belong to the caller alone (a decoded Parquet row group): a fixed-width
   * array the column stores as is becomes the column's values without a copy, its null rows zeroed
   * in place.
   */
  adopt?: boolean;
}

const US_PER: Record<number, bigint> = {
  [A.TimeUnit.SECOND]: 1_000_000n,
  [A.TimeUnit.MILLISECOND]: 1000n,
  [A.TimeUnit.MICROSECOND]: 1n,
};

type Out = Int32Array | Float64Array | Uint8Array | BigInt64Array | string[];

function newValues(t: ColumnType, n: number): Out {
  switch (t) {
    case 'I':
    case 'd':
      return new Int32Array(n);
    case 'D':
      return new Float64Array(n);
    case 'B':
      return new Uint8Array(n);
    case 'L':
    case 'T':
      return new BigInt64Array(n);
    case 'S':
      return new Array<string>(n).fill('');
  }
}

class Fill {
  constructor(
    readonly t: ColumnType,
    readonly out: Out,
    readonly nulls: Uint8Array | undefined,
    readonly name: string,
    readonly firstRow: number,
    readonly hints: ArrowColumnHints,
  ) {}

  misfit(row: number, v: unknown): never {
    throw invalid(
      // A bigint as its digits: the reader of an import error need not know JavaScript's 123n.
      `column ${JSON.stringify(this.name)}, row ${this.firstRow + row + 1}: ${typeof v === 'bigint' ? String(v) : describeValue(v)} does not fit ${TYPE_NAMES[this.t]} (${this.t})`,
    );
  }

  /**
   * Rows [base, base + d.length) from one Arrow data chunk. As in apache-arrow's own getters, a
   * sliced chunk (`table.slice(a, b)`) has its value, offset and view buffers already cut at the
   * slice while its validity bitmap and a Bool array's bits are not: `d.offset` applies to those two
   * only.
   */
  data(d: A.Data, base: number): void {
    const type = d.type as A.DataType;
    const n = d.length;
    const valid = this.validity(d, base);
    const t = this.t;
    if (A.DataType.isDictionary(type)) {
      const dict = d.dictionary!;
      const dictNulls = new Uint8Array(bitmapBytes(dict.length));
      const sub = new Fill(t, newValues(t, dict.length), dictNulls, this.name, this.firstRow, this.hints);
      let at = 0;
      for (const dd of dict.data) {
        sub.data(dd, at);
        at += dd.length;
      }
      const idx = d.values as ArrayLike<number | bigint>;
      const out = this.out as unknown[];
      const values = sub.out as ArrayLike<unknown>;
      for (let i = 0; i < n; i++) {
        if (!valid(i)) continue;
        const k = Number(idx[i]);
        if ((dictNulls[k >>> 3]! >>> (k & 7)) & 1) {
          // A row pointing at a null dictionary entry is null.
          const r = base + i;
          this.nulls![r >>> 3]! |= 1 << (r & 7);
        } else out[base + i] = values[k];
      }
      return;
    }
    if (t === 'S') return this.strings(d, base, valid);
    if (t === 'B' && A.DataType.isBool(type)) {
      const bits = d.values as Uint8Array;
      const out = this.out as Uint8Array;
      for (let i = 0; i < n; i++) {
        const j = d.offset + i;
        if (valid(i)) out[base + i] = (bits[j >>> 3]! >>> (j & 7)) & 1;
      }
      return;
    }
    if ((t === 'I' || t === 'd') && this.int32Like(type)) {
      (this.out as Int32Array).set((d.values as Int32Array).subarray(0, n), base);
      return this.zeroNulls(base, n);
    }
    if (t === 'D' && A.DataType.isFloat(type) && type.precision !== A.Precision.HALF) {
      (this.out as Float64Array).set((d.values as Float64Array).subarray(0, n), base);
      return this.zeroNulls(base, n);
    }
    if ((t === 'L' || t === 'T') && this.int64Like(type)) {
      const raw = d.values as BigInt64Array | BigUint64Array;
      const out = this.out as BigInt64Array;
      if (raw instanceof BigUint64Array) {
        for (let i = 0; i < n; i++) {
          if (!valid(i)) continue;
          const x = raw[i]!;
          if (x > INT64_MAX) this.misfit(base + i, x);
          out[base + i] = x;
        }
        return;
      }
      const unit = A.DataType.isTimestamp(type) ? type.unit : A.TimeUnit.MICROSECOND;
      if (unit === A.TimeUnit.MICROSECOND) {
        out.set(raw.subarray(0, n), base);
        return this.zeroNulls(base, n);
      }
      for (let i = 0; i < n; i++) {
        if (!valid(i)) continue;
        const x = raw[i]!;
        let us: bigint;
        if (unit === A.TimeUnit.NANOSECOND) us = x / 1000n - (x % 1000n < 0n ? 1n : 0n);
        else {
          us = x * US_PER[unit]!;
          if (us > INT64_MAX || us < INT64_MIN) this.misfit(base + i, x);
        }
        out[base + i] = us;
      }
      return;
    }
    this.oneByOne(d, base, valid);
  }

  /** Marks the nulls of `d`, whose values buffer is this.out, and zeroes their rows. */
  adopt(d: A.Data): void {
    this.validity(d, 0);
    this.zeroNulls(0, d.length);
  }

  /** Arrays whose int32 buffer is the column's values as they are. */
  private int32Like(type: A.DataType): boolean {
    // Narrower ints widen exactly in a typed-array set; uint32 does not fit.
    if (A.DataType.isInt(type)) return type.bitWidth < 32 || (type.bitWidth === 32 && type.isSigned);
    if (A.DataType.isDate(type)) return type.unit === A.DateUnit.DAY;
    if (A.DataType.isTime(type)) return type.bitWidth === 32;
    return false;
  }

  /** Arrays of 64-bit integers (timestamps in any unit, times of 64 bits, durations, int64, uint64). */
  private int64Like(type: A.DataType): boolean {
    if (A.DataType.isInt(type)) return type.bitWidth === 64;
    if (A.DataType.isTimestamp(type)) return this.t === 'T';
    if (A.DataType.isTime(type)) return type.bitWidth === 64 && this.t === 'L';
    if (A.DataType.isDuration(type)) return this.t === 'L';
    return false;
  }

  /** Marks the chunk's nulls (rows offset by base) and returns a row -> valid test for it. */
  private validity(d: A.Data, base: number): (i: number) => boolean {
    if (A.DataType.isNull(d.type)) {
      // A Null array (a Parquet column of logical type NULL) has no bitmap: every row is null.
      for (let i = 0; i < d.length; i++) bitSet(this.nulls!, base + i);
      return () => false;
    }
    if (d.nullCount === 0 || !d.nullBitmap || d.nullBitmap.length === 0) return () => true;
    const bm = d.nullBitmap;
    const off = d.offset;
    const nulls = this.nulls!;
    let i = 0;
    if ((off & 7) === 0 && (base & 7) === 0) {
      // Both bitmaps start on a byte: whole bytes inverted, the last partial one bit by bit below.
      const whole = d.length >>> 3;
      for (let k = 0; k < whole; k++) nulls[(base >>> 3) + k]! |= ~bm[(off >>> 3) + k]! & 0xff;
      i = whole << 3;
    }
    for (; i < d.length; i++) {
      const j = off + i;
      if (((bm[j >>> 3]! >>> (j & 7)) & 1) === 0) {
        const r = base + i;
        nulls[r >>> 3]! |= 1 << (r & 7);
      }
    }
    return (i: number) => {
      const j = off + i;
      return ((bm[j >>> 3]! >>> (j & 7)) & 1) === 1;
    };
  }

  /**
   * A null row holds 0, as the column builder leaves it (Arrow leaves anything there): rows
   * [base, base + n) marked in this.nulls, a byte of the bitmap at a time, each kind of array
   * stored into by a loop of its own.
   */
  private zeroNulls(base: number, n: number): void {
    const nulls = this.nulls;
    if (!nulls) return;
    const out = this.out;
    const end = base + n;
    for (let b = base >>> 3, last = (end - 1) >>> 3; b <= last && n > 0; b++) {
      const m = nulls[b]!;
      if (m === 0) continue;
      const from = Math.max(base, 8 * b);
      const to = Math.min(end, 8 * b + 8);
      if (out instanceof BigInt64Array) {
        for (let i = from; i < to; i++) if ((m >>> (i & 7)) & 1) out[i] = 0n;
      } else {
        const o = out as Int32Array | Float64Array;
        for (let i = from; i < to; i++) if ((m >>> (i & 7)) & 1) o[i] = 0;
      }
    }
  }

  private strings(d: A.Data, base: number, valid: (i: number) => boolean): void {
    const type = d.type as A.DataType;
    const out = this.out as string[];
    const n = d.length;
    const bytes = d.values as Uint8Array;
    if (A.DataType.isFixedSizeBinary(type)) {
      const w = type.byteWidth;
      const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < n; i++) {
        if (!valid(i)) continue;
        const a = i * w;
        out[base + i] = this.hints.uuid && w === 16 ? uuidText(buf, a) : buf.toString('utf8', a, a + w);
      }
      return;
    }
    if (A.DataType.isUtf8View(type)) return this.views(d, base, valid);
    if (
      !(
        A.DataType.isUtf8(type) ||
        A.DataType.isLargeUtf8(type) ||
        A.DataType.isBinary(type) ||
        A.DataType.isLargeBinary(type)
      )
    )
      return this.oneByOne(d, base, valid);
    const offs = d.valueOffsets as Int32Array | BigInt64Array;
    const at = (i: number): number => Number(offs[i]);
    const start = at(0);
    const end = at(n);
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (isAscii(buf.subarray(start, end))) {
      // One string for the whole batch, cut per row: far cheaper than a decode call per value.
      const text = buf.toString('latin1', start, end);
      for (let i = 0; i < n; i++) if (valid(i)) out[base + i] = text.substring(at(i) - start, at(i + 1) - start);
    } else for (let i = 0; i < n; i++) if (valid(i)) out[base + i] = buf.toString('utf8', at(i), at(i + 1));
  }

  /**
   * Utf8View (Polars' strings in Arrow IPC files): 16 bytes per row, its length (int32), then up to
   * 12 bytes of the text inline, or a prefix, a data buffer's index and the offset in it. A view
   * pointing outside its buffers fails the import rather than being read as text.
   */
  private views(d: A.Data, base: number, valid: (i: number) => boolean): void {
    const out = this.out as string[];
    const v = d.values as Uint8Array;
    const inline = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    const bufs = d.variadicBuffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    for (let i = 0; i < d.length; i++) {
      if (!valid(i)) continue;
      const a = i * 16;
      const len = a + 16 <= inline.length ? inline.readInt32LE(a) : -1;
      if (len >= 0 && len <= 12) {
        out[base + i] = inline.toString('utf8', a + 4, a + 4 + len);
        continue;
      }
      const buf = len > 0 ? bufs[inline.readInt32LE(a + 8)] : undefined;
      const at = len > 0 ? inline.readInt32LE(a + 12) : -1;
      if (!buf || at < 0 || at + len > buf.length)
        throw invalid(
          `column ${JSON.stringify(this.name)}, row ${this.firstRow + base + i + 1}: the string view points outside its data buffers`,
        );
      out[base + i] = buf.toString('utf8', at, at + len);
    }
  }

  /** Any other array: value by value through apache-arrow, each checked against the column's type. */
  private oneByOne(d: A.Data, base: number, valid: (i: number) => boolean): void {
    const type = d.type as A.DataType;
    const v = A.makeVector(d);
    const t = this.t;
    const out = this.out as unknown[];
    const scale = A.DataType.isDecimal(type) ? type.scale : undefined;
    for (let i = 0; i < d.length; i++) {
      if (!valid(i)) continue;
      let x: unknown = scale !== undefined ? decimalAt(d, i, scale) : v.get(i);
      if (A.DataType.isDate(type) && type.unit === A.DateUnit.MILLISECOND) x = dayOfMs(d, i);
      if (x instanceof Uint8Array && t === 'S') x = Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('utf8');
      out[base + i] = this.fit(base + i, x);
    }
  }

  private fit(row: number, x: unknown): unknown {
    switch (this.t) {
      case 'I':
      case 'd': {
        const n = typeof x === 'bigint' ? Number(x) : x;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < INT32_MIN || n > INT32_MAX) this.misfit(row, x);
        return n;
      }
      case 'D': {
        const n = typeof x === 'bigint' ? Number(x) : x;
        if (typeof n !== 'number') this.misfit(row, x);
        return n;
      }
      case 'L':
      case 'T': {
        const b = typeof x === 'number' && Number.isSafeInteger(x) ? BigInt(x) : x;
        if (typeof b !== 'bigint' || b < INT64_MIN || b > INT64_MAX) this.misfit(row, x);
        return b;
      }
      case 'B':
        if (typeof x !== 'boolean') this.misfit(row, x);
        return x ? 1 : 0;
      case 'S':
        if (typeof x !== 'string') this.misfit(row, x);
        return x;
    }
  }
}

/** A decimal as the nearest double: its integer (two's complement, little-endian words) / 10^scale. */
function decimalAt(d: A.Data, i: number, scale: number): number {
  const words = d.values as Uint32Array;
  const stride = (d.type as A.Decimal).bitWidth / 32;
  const a = i * stride;
  let x = 0n;
  for (let k = stride - 1; k >= 0; k--) x = (x << 32n) | BigInt(words[a + k]!);
  x = BigInt.asIntN(stride * 32, x);
  // One division of exact operands is correctly rounded while both are exact doubles; a bigint
  // division first keeps large values exact before the last step.
  if (scale <= 22 && x >= -(2n ** 53n) && x <= 2n ** 53n) return Number(x) / 10 ** scale;
  const p = 10n ** BigInt(scale);
  return Number(x / p) + Number(x % p) / Number(p);
}

/** Date64 counts milliseconds (whole days by Arrow's rules): the day number. */
function dayOfMs(d: A.Data, i: number): number {
  const raw = d.values as Int32Array | BigInt64Array;
  const ms =
    raw instanceof BigInt64Array
      ? Number(raw[i])
      : (raw as Int32Array)[2 * i]! + (raw as Int32Array)[2 * i + 1]! * 4294967296;
  return Math.floor(ms / 86_400_000);
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function uuidText(b: Uint8Array, a: number): string {
  let s = '';
  for (let k = 0; k < 16; k++) {
    if (k === 4 || k === 6 || k === 8 || k === 10) s += '-';
    s += HEX[b[a + k]!];
  }
  return s;
}

/**
 * The values buffer of `d` when it is the column's values as they are (int32 for I and d, float64
 * for D, int64 for L and microsecond int64 for T), as a view of its first d.length values.
 */
function adoptable(t: ColumnType, d: A.Data): Int32Array | Float64Array | BigInt64Array | undefined {
  const type = d.type as A.DataType;
  const n = d.length;
  const vals = d.values as unknown;
  if ((t === 'I' || t === 'd') && vals instanceof Int32Array && vals.length >= n) {
    const ok =
      t === 'I'
        ? A.DataType.isInt(type) && type.bitWidth === 32 && type.isSigned
        : A.DataType.isDate(type) && type.unit === A.DateUnit.DAY;
    return ok ? vals.subarray(0, n) : undefined;
  }
  if (t === 'D' && vals instanceof Float64Array && vals.length >= n)
    return A.DataType.isFloat(type) && type.precision === A.Precision.DOUBLE ? vals.subarray(0, n) : undefined;
  if ((t === 'L' || t === 'T') && vals instanceof BigInt64Array && vals.length >= n) {
    const ok =
      t === 'L'
        ? A.DataType.isInt(type) && type.isSigned
        : A.DataType.isTimestamp(type) && type.unit === A.TimeUnit.MICROSECOND;
    return ok ? vals.subarray(0, n) : undefined;
  }
  return undefined;
}

/** An Arrow vector (one or more chunks) as an eau2 column of type t; rows are numbered from firstRow. */
export function columnFromArrow(
  t: ColumnType,
  v: A.Vector,
  name: string,
  firstRow: number,
  hints: ArrowColumnHints = {},
): Column {
  const n = v.length;
  if (t === 'S') {
    const dc = dictionaryStrings(v, n);
    if (dc) return dc;
  }
  if (hints.adopt && v.data.length === 1) {
    const d = v.data[0]!;
    const values = adoptable(t, d);
    if (values) {
      let nulls = d.nullCount > 0 || A.DataType.isNull(d.type) ? new Uint8Array(bitmapBytes(n)) : undefined;
      new Fill(t, values, nulls, name, firstRow, hints).adopt(d);
      if (nulls?.every((b) => b === 0)) nulls = undefined;
      return makeColumn(t, values, n, nulls);
    }
  }
  // A dictionary's own null entries make rows null too, so its chunks get a bitmap either way.
  let nulls =
    v.nullCount > 0 || A.DataType.isDictionary(v.type) || A.DataType.isNull(v.type)
      ? new Uint8Array(bitmapBytes(n))
      : undefined;
  const f = new Fill(t, newValues(t, n), nulls, name, firstRow, hints);
  let base = 0;
  for (const d of v.data) {
    f.data(d, base);
    base += d.length;
  }
  if (nulls?.every((b) => b === 0)) nulls = undefined;
  return makeColumn(t, f.out as ArrayBufferView | string[], n, nulls);
}

/**
 * A UTF-8 string vector read as a dictionary column, its distinct values found by their bytes: no
 * string per row (a row-group of 65,536 rows otherwise made 65,536 strings per column, each then
 * hashed again by the chunk encoder's dictionary) and one decoded string per distinct value. The
 * codes are in first-appearance order with a null row read as '', as the chunk encoder's
 * dictionary of the same rows, so the stored chunk is the same. Undefined (the caller reads the rows
 * one by one) for other Arrow types, or when there is more than one distinct value per DICT_RATIO
 * rows (such a chunk is stored plain).
 *
 * A value of up to 7 bytes (codes, categories, flags: most of what a dictionary holds) is keyed by
 * its bytes and length packed into two int32s, read with two unaligned DataView loads, and found by
 * integer comparisons alone; a longer one by FNV-1a over its bytes and a byte comparison. On the
 * flights bench's three string columns (2-5 bytes a value) this measured 12 ns a row against 25
 * for FNV-1a over every value. The table is sized for the limit, not grown: a table grown with the
 * values (a few KiB for a few hundred) measured slower, its longer probes costing more than the
 * larger table's cache misses.
 */
function dictionaryStrings(v: A.Vector, n: number): StringColumn | undefined {
  const limit = Math.floor(n / DICT_RATIO);
  if (limit === 0) return undefined;
  for (const d of v.data) {
    const type = d.type as A.DataType;
    if (!(A.DataType.isUtf8(type) || A.DataType.isLargeUtf8(type))) return undefined;
  }
  // Open addressing over a power-of-two table at most half full; a slot holds code + 1, and a
  // value's first slot is the top bits of its 32-bit hash.
  let bits = 4;
  while (1 << bits < 2 * limit) bits++;
  const shift = 32 - bits;
  const mask = (1 << bits) - 1;
  const { table, keyLo, keyHi, hashes, starts, lens } = dictScratch(1 << bits, limit);
  const srcs: Uint8Array[] = [];
  const codes = limit <= 0x10000 ? new Uint16Array(n) : new Uint32Array(n);
  let nulls: Uint8Array | undefined;
  let count = 0;
  let row = 0;
  for (const d of v.data) {
    const bytes = d.values as Uint8Array;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Values starting at or before this may be read as two int32s without passing the buffer's end.
    const loadEnd = bytes.length - 8;
    const offs = d.valueOffsets as Int32Array | BigInt64Array;
    const wide = offs instanceof BigInt64Array;
    const bm = d.nullCount > 0 && d.nullBitmap && d.nullBitmap.length > 0 ? d.nullBitmap : undefined;
    for (let i = 0; i < d.length; i++, row++) {
      // The bitmap is not cut at a slice, the offsets are (see Fill.data).
      const j = d.offset + i;
      let a = 0;
      let len = 0;
      if (bm && ((bm[j >>> 3]! >>> (j & 7)) & 1) === 0) {
        nulls ??= new Uint8Array(bitmapBytes(n));
        nulls[row >>> 3]! |= 1 << (row & 7);
      } else if (wide) {
        a = Number(offs[i]);
        len = Number(offs[i + 1]) - a;
      } else {
        a = (offs as Int32Array)[i]!;
        len = (offs as Int32Array)[i + 1]! - a;
      }
      let code = -1;
      let slot: number;
      if (len <= 7) {
        // Bytes 0-3 in lo, bytes 4-6 and the length in hi: distinct for distinct values.
        let lo = 0;
        let hi = 0;
        if (a <= loadEnd) {
          lo = dv.getInt32(a, true) & LO_MASK[len]!;
          hi = dv.getInt32(a + 4, true) & HI_MASK[len]!;
        } else {
          for (let p = 0; p < len; p++) {
            if (p < 4) lo |= bytes[a + p]! << (8 * p);
            else hi |= bytes[a + p]! << (8 * (p - 4));
          }
        }
        hi |= len << 24;
        slot = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> shift;
        for (;;) {
          const e = table[slot]!;
          if (e === 0) break;
          const k = e - 1;
          if (keyLo[k] === lo && keyHi[k] === hi) {
            code = k;
            break;
          }
          slot = (slot + 1) & mask;
        }
        if (code < 0) {
          if (count >= limit) return undefined;
          code = count++;
          table[slot] = code + 1;
          keyLo[code] = lo;
          keyHi[code] = hi;
          srcs[code] = bytes;
          starts[code] = a;
          lens[code] = len;
        }
      } else {
        // FNV-1a over the bytes, seeded with the length.
        let h = 0x811c9dc5 ^ len;
        for (let p = a, e = a + len; p < e; p++) h = Math.imul(h ^ bytes[p]!, 0x01000193);
        h = Math.imul(h, 0x9e3779b1);
        slot = h >>> shift;
        for (;;) {
          const e = table[slot]!;
          if (e === 0) break;
          const k = e - 1;
          if (hashes[k] === h && lens[k] === len && sameBytes(srcs[k]!, starts[k]!, bytes, a, len)) {
            code = k;
            break;
          }
          slot = (slot + 1) & mask;
        }
        if (code < 0) {
          if (count >= limit) return undefined;
          code = count++;
          table[slot] = code + 1;
          // A short value's hi word is at most 0x07ffffff: -1 never matches one.
          keyHi[code] = -1;
          hashes[code] = h;
          srcs[code] = bytes;
          starts[code] = a;
          lens[code] = len;
        }
      }
      codes[row] = code;
    }
  }
  const dict = new Array<string>(count);
  for (let k = 0; k < count; k++) {
    const b = srcs[k]!;
    dict[k] = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8', starts[k]!, starts[k]! + lens[k]!);
  }
  return new StringColumn(undefined, n, nulls, markFirstUseOrder({ dict, codes }));
}

/** The lookup's arrays (the table cleared before use). */
interface DictScratch {
  table: Int32Array;
  keyLo: Int32Array;
  keyHi: Int32Array;
  hashes: Int32Array;
  starts: Int32Array;
  lens: Int32Array;
}
/**
 * Kept between calls for batches of up to 131,072 rows (~0.9 MiB), as every Parquet row group of
 * an import needs them again: a call runs to its end synchronously, so no two share them.
 */
let scratch: DictScratch | undefined;
const SCRATCH_LIMIT = 131_072 / DICT_RATIO;

function dictScratch(slots: number, limit: number): DictScratch {
  if (scratch && scratch.table.length >= slots && scratch.keyLo.length >= limit) {
    scratch.table.fill(0, 0, slots);
    return scratch;
  }
  const s: DictScratch = {
    table: new Int32Array(slots),
    keyLo: new Int32Array(limit),
    keyHi: new Int32Array(limit),
    hashes: new Int32Array(limit),
    starts: new Int32Array(limit),
    lens: new Int32Array(limit),
  };
  if (limit <= SCRATCH_LIMIT) scratch = s;
  return s;
}

/** Of a short value's first 4 bytes, those it has (by its length, 0-7). */
const LO_MASK = Int32Array.of(0, 0xff, 0xffff, 0xffffff, -1, -1, -1, -1);
/** Of its next 4 bytes, those it has. */
const HI_MASK = Int32Array.of(0, 0, 0, 0, 0, 0xff, 0xffff, 0xffffff);

function sameBytes(x: Uint8Array, xa: number, y: Uint8Array, ya: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (x[xa + i] !== y[ya + i]) return false;
  return true;
}
