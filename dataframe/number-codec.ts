// Lightweight, exactly reversible encodings of numeric column chunks (docs/format.md 7.2,
// "Encoded numbers"): frame of reference with byte-aligned widths for I, d, L and T (with a
// power-of-ten scale for L and T), and decimal doubles for D (the idea of DuckDB's ALP, without its
// exceptions: a chunk any of whose values does not fit stays raw). A frame's numbers mostly span far
// less than their type's width (ids, days, distances, delays, minute timestamps), and every stored
// byte is written to a WAL, sent, replicated and compacted: the bench's flights table goes from ~41
// to ~18 bytes a row. Decoding yields the full-width typed arrays the query kernels already read.
//
// Every encoding is checked at encode time by the very arithmetic the decoder uses, so a round trip
// is exact by construction; a chunk that cannot be encoded exactly (NaN, infinities, values of too
// many decimals, spans wider than 32 bits) is written raw, byte for byte as before.

import {
  BigIntColumn,
  bitGet,
  bitSet,
  DateColumn,
  DoubleColumn,
  IntColumn,
  TimestampColumn,
  bitmapBytes,
  type Column,
} from './column.js';
import { badValue } from './envelope.js';
import type { ColumnType } from './schema.js';
import type { Zone } from './zone-map.js';

/** Greatest decimal exponent tried for doubles (`e`): 10^6 keeps prices, rates and most measurements. */
const MAX_DECIMALS = 6;
/** Greatest power-of-ten scale of int64 offsets (`s`): 10^18 is the largest below 2^63. */
const MAX_SCALE = 18;

/** 10^0 .. 10^18, each exact as a double (every power of ten up to 10^22 is). */
const POW10 = Array.from({ length: MAX_SCALE + 1 }, (_, k) => 10 ** k);
const TWO32 = 4294967296;
const INV_TWO32 = 1 / TWO32;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MAX = 2n ** 63n - 1n;

type Width = 0 | 1 | 2 | 4;

/** How a numeric chunk is encoded: decided before any byte is written, so its size is known. */
export interface NumberPlan {
  /** Bytes per offset; 0: every non-null value equals the base. */
  w: Width;
  /** The base (the least non-null value, or for D its integer k) as the two words of an int64. */
  baseHi: number;
  /** Unsigned low word of the base. */
  baseLo: number;
  /** D: the decimal exponent (values are k / 10^e); -1 otherwise. */
  e: number;
  /** L and T: the power-of-ten scale of the offsets; 0 for none. */
  s: number;
  /** D: some non-null value is -0 (k = 0, listed in the bitmap `m` so that it comes back as -0). */
  m: boolean;
}

/** The smallest width that holds 0..span, or undefined past 32 bits. */
function widthFor(span: number): Width | undefined {
  return span === 0 ? 0 : span <= 0xff ? 1 : span <= 0xffff ? 2 : span <= 0xffffffff ? 4 : undefined;
}

/** Bytes an encoded chunk's numeric fields of `n` rows add to the raw form's `v` (`b`, `e`, `m`, `s`). */
export function planExtraBytes(p: NumberPlan, n: number): number {
  const mBytes = bitmapBytes(n);
  return (
    12 +
    (p.e >= 0 ? 3 : 0) +
    (p.m ? 2 + (mBytes < 0x100 ? 2 : mBytes < 0x10000 ? 3 : 5) + mBytes : 0) +
    (p.s > 0 ? 3 : 0)
  );
}

function isNullAt(nulls: Uint8Array | undefined, i: number): boolean {
  return nulls !== undefined && bitGet(nulls, i);
}

/**
 * The encoding of column `c` (a whole chunk, whose zone map entry is `zone`), or undefined when the
 * raw form is as small or the values cannot be encoded exactly. The zone's min and max are the
 * writer's, computed anyway for the metadata: for I, d, L and T they are the whole analysis.
 */
export function planNumbers(c: Column, zone: Zone): NumberPlan | undefined {
  const n = c.length;
  if (n === 0) return undefined;
  const [min, max, nullCount] = zone;
  let plan: NumberPlan | undefined;
  if (min === null || max === null) {
    // No usable bounds: every row null (a constant chunk of zeros), or a D chunk holding NaN.
    if (nullCount !== n) return undefined;
    plan = { w: 0, baseHi: 0, baseLo: 0, e: c.type === 'D' ? 0 : -1, s: 0, m: false };
  } else if (c.type === 'I' || c.type === 'd') {
    const w = widthFor((max as number) - (min as number));
    if (w === undefined || w === 4) return undefined;
    plan = { w, baseHi: (min as number) < 0 ? -1 : 0, baseLo: (min as number) >>> 0, e: -1, s: 0, m: false };
  } else if (c.type === 'L' || c.type === 'T') {
    plan = planInt64(c.values, c.nulls, min as bigint, max as bigint);
  } else if (c.type === 'D') {
    plan = planDecimal(c.values, c.nulls, min as number, max as number);
  }
  if (!plan) return undefined;
  const rawBytes = n * (c.type === 'I' || c.type === 'd' ? 4 : 8);
  return n * plan.w + planExtraBytes(plan, n) < rawBytes ? plan : undefined;
}

/** Int64 offsets from `min`, read as two int32 words each (a BigInt per value would allocate). */
function planInt64(
  vals: BigInt64Array,
  nulls: Uint8Array | undefined,
  min: bigint,
  max: bigint,
): NumberPlan | undefined {
  const spanBig = max - min;
  // Offsets are handled as doubles: exact below 2^53, which any encodable span is far below.
  if (spanBig >= 2n ** 53n) return undefined;
  const span = Number(spanBig);
  const baseLo = Number(BigInt.asUintN(32, min));
  const baseHi = Number(BigInt.asIntN(32, min >> 32n));
  let w = widthFor(span);
  let s = 0;
  // A power-of-ten scale pays only when it narrows the offsets (timestamps of whole seconds or
  // minutes): one pass of one remainder per value, taken only when the width is 2 bytes or more.
  if (span > 0xff) {
    let k = 0;
    while (k < MAX_SCALE && POW10[k + 1]! <= span && span % POW10[k + 1]! === 0) k++;
    if (k > 0 && widthFor(span / POW10[k]!)! < (w ?? 8)) {
      const words = new Int32Array(vals.buffer, vals.byteOffset, vals.length * 2);
      for (let i = 0; i < vals.length && k > 0; i++) {
        if (isNullAt(nulls, i)) continue;
        const off = (words[2 * i + 1]! - baseHi) * TWO32 + ((words[2 * i]! >>> 0) - baseLo);
        // Exact below 2^53 (a multiple of 10^k times 10^k is off only if 10^k divides off), and
        // cheaper than `%` on doubles, which V8 leaves to a C call.
        while (k > 0 && Math.floor(off / POW10[k]!) * POW10[k]! !== off) k--;
      }
      if (k > 0 && widthFor(span / POW10[k]!)! < (w ?? 8)) {
        s = k;
        w = widthFor(span / POW10[k]!);
      }
    }
  }
  if (w === undefined) return undefined;
  return { w, baseHi, baseLo, e: -1, s, m: false };
}

/**
 * The least e in 0..MAX_DECIMALS such that every non-null value v is exactly Math.round(v * 10^e)
 * / 10^e (the decoder's formula), with the integers k = Math.round(v * 10^e) safe and spanning at
 * most 32 bits. NaN and infinities leave the chunk raw. -0 is k = 0 listed in a bitmap (`m`): a
 * rounding such as Math.round(-0.3) makes it, and the flights benches' delays hold one row in 200.
 */
function planDecimal(
  vals: Float64Array,
  nulls: Uint8Array | undefined,
  min: number,
  max: number,
): NumberPlan | undefined {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return undefined;
  const span = max - min;
  const mag = Math.max(Math.abs(min), Math.abs(max));
  // The largest e whose integers could still fit: a span past 32 bits, or magnitudes past 2^53,
  // rule the chunk out before reading a value (random doubles cost one comparison).
  let eMax = -1;
  // Both tests are loose by the rounding of span and mag: the exact ones follow the pass below.
  while (eMax < MAX_DECIMALS && span * POW10[eMax + 1]! < TWO32 && mag * POW10[eMax + 1]! <= 2 ** 53) eMax++;
  if (eMax < 0) return undefined;
  const n = vals.length;
  let e = 0;
  let p = 1;
  let kMin = 0;
  let kMax = 0;
  let seen = false;
  let negZero = false;
  for (let i = 0; i < n; i++) {
    if (isNullAt(nulls, i)) continue;
    const v = vals[i]!;
    if (v === 0 && 1 / v < 0) negZero = true; // k = Math.round(-0) = -0, which compares as 0 below
    let k = Math.round(v * p);
    if (k / p !== v) {
      // A value needing more decimals: raise e and start over, since the values before it must
      // hold at the new e too (Math.round(v * 10^e) / 10^e need not stay exact as e grows).
      do {
        if (++e > eMax) return undefined;
        p = POW10[e]!;
        k = Math.round(v * p);
      } while (k / p !== v);
      seen = false;
      i = -1;
      continue;
    }
    if (!(Math.abs(k) <= Number.MAX_SAFE_INTEGER)) return undefined;
    if (!seen) {
      kMin = kMax = k;
      seen = true;
    } else if (k < kMin) kMin = k;
    else if (k > kMax) kMax = k;
  }
  const w = widthFor(kMax - kMin);
  if (w === undefined) return undefined;
  // kMin + 0: a -0 base would be written as 0 anyway; keep the plan's words plain.
  return { w, baseHi: Math.floor((kMin + 0) / TWO32), baseLo: kMin >>> 0, e, s: 0, m: negZero };
}

let scratch = new ArrayBuffer(0);

/**
 * Writes the offsets of `c` under `plan` at out[pos] (n x w bytes LE; a null's offset is 0) and
 * returns the position after them.
 */
export function writeNumbers(c: Column, plan: NumberPlan, out: Uint8Array, pos: number): number {
  const n = c.length;
  const w = plan.w;
  if (w === 0) return pos;
  const bytes = n * w;
  // Shared by every encode (synchronous), and kept only up to 4 MiB (a 1 Mi-row chunk of 4-byte offsets).
  let buf = scratch;
  if (buf.byteLength < bytes) {
    buf = new ArrayBuffer(bytes <= 4 << 20 ? Math.min(4 << 20, Math.max(bytes, 2 * buf.byteLength)) : bytes);
    if (bytes <= 4 << 20) scratch = buf;
  }
  const dst = w === 1 ? new Uint8Array(buf, 0, n) : w === 2 ? new Uint16Array(buf, 0, n) : new Uint32Array(buf, 0, n);
  const nulls = c.nulls;
  if (c.type === 'I' || c.type === 'd') {
    const base = plan.baseLo | 0;
    const vals = c.values;
    for (let i = 0; i < n; i++) dst[i] = vals[i]! - base;
  } else if (c.type === 'L' || c.type === 'T') {
    const vals = c.values;
    const words = new Int32Array(vals.buffer, vals.byteOffset, n * 2);
    const { baseHi, baseLo } = plan;
    if (plan.s === 0) {
      // Below 2^32: the low words' difference, modulo 2^32, is the offset.
      for (let i = 0; i < n; i++) dst[i] = (words[2 * i]! - baseLo) >>> 0;
    } else {
      const scale = POW10[plan.s]!;
      for (let i = 0; i < n; i++) {
        dst[i] = ((words[2 * i + 1]! - baseHi) * TWO32 + ((words[2 * i]! >>> 0) - baseLo)) / scale;
      }
    }
  } else if (c.type === 'D') {
    const vals = c.values;
    const p = POW10[plan.e]!;
    const base = plan.baseHi * TWO32 + plan.baseLo;
    for (let i = 0; i < n; i++) dst[i] = Math.round(vals[i]! * p) - base;
  }
  // A null's slot may hold anything the offsets above made of it: store 0, so that the bytes are a
  // function of the values alone and every stored offset is in range.
  if (nulls) zeroNulls(dst, nulls, n);
  out.set(new Uint8Array(buf, 0, bytes), pos);
  return pos + bytes;
}

/** The `m` bitmap (bit i: row i is a non-null -0) at out[pos], `c` a D column; returns the position after it. */
export function writeNegZeros(c: DoubleColumn, out: Uint8Array, pos: number): number {
  const n = c.length;
  const vals = c.values;
  const nulls = c.nulls;
  const len = bitmapBytes(n);
  const m = out.subarray(pos, pos + len).fill(0);
  for (let i = 0; i < n; i++) {
    const v = vals[i]!;
    if (v === 0 && 1 / v < 0 && !isNullAt(nulls, i)) bitSet(m, i);
  }
  return pos + len;
}

/** The base's 8 bytes (int64 LE) at out[pos]; returns the position after them. */
export function writeBase(plan: NumberPlan, out: Uint8Array, pos: number): number {
  const dv = new DataView(out.buffer, out.byteOffset);
  dv.setUint32(pos, plan.baseLo, true);
  dv.setInt32(pos + 4, plan.baseHi, true);
  return pos + 8;
}

/** The encoded fields of a version 3 chunk body, as the decoder receives them. */
export interface EncodedFields {
  v: unknown;
  b: unknown;
  e: unknown;
  s: unknown;
  m: unknown;
}

/**
 * Decodes an encoded chunk of type `t` and `n` rows into the full-width column a raw chunk gives,
 * checking every field: the width (v's length / n, one of 0, 1, 2, 4), the base (8 bytes, in the
 * type's range), `e` (D only, 0..MAX_DECIMALS), `s` (L and T only, 1..MAX_SCALE) and that every
 * decoded value is in the type's range. CORRUPTION naming `where` otherwise.
 */
export function decodeNumbers(
  t: ColumnType,
  n: number,
  f: EncodedFields,
  nulls: Uint8Array | undefined,
  where: string,
  arena?: { take(bytes: number): ArrayBuffer }, // chunk-codec.ts DecodeArena
): Column {
  if (t !== 'I' && t !== 'd' && t !== 'D' && t !== 'L' && t !== 'T')
    throw badValue(where, `a ${t} chunk cannot be frame-of-reference encoded`);
  const { v, b, e, s, m } = f;
  if (n < 1) throw badValue(where, 'an encoded chunk has no rows');
  if (!(v instanceof Uint8Array) || v.length % n !== 0) throw badValue(where, 'bad encoded data length');
  const w = v.length / n;
  if (w !== 0 && w !== 1 && w !== 2 && w !== 4) throw badValue(where, `bad encoded width ${w}`);
  if (!(b instanceof Uint8Array) || b.length !== 8) throw badValue(where, 'bad encoded base');
  const bv = new DataView(b.buffer, b.byteOffset, 8);
  const baseLo = bv.getUint32(0, true);
  const baseHi = bv.getInt32(4, true);
  if (t === 'D') {
    if (typeof e !== 'number' || !Number.isInteger(e) || e < 0 || e > MAX_DECIMALS)
      throw badValue(where, `bad decimal exponent ${String(e)}`);
    if (m !== undefined && (!(m instanceof Uint8Array) || m.length !== bitmapBytes(n)))
      throw badValue(where, 'bad -0 bitmap length');
  } else if (e !== undefined) throw badValue(where, `a ${t} chunk has a decimal exponent`);
  else if (m !== undefined) throw badValue(where, `a ${t} chunk has a -0 bitmap`);
  const isInt64 = t === 'L' || t === 'T';
  if (isInt64) {
    if (s !== undefined && (typeof s !== 'number' || !Number.isInteger(s) || s < 1 || s > MAX_SCALE))
      throw badValue(where, `bad scale ${String(s)}`);
  } else if (s !== undefined) throw badValue(where, `a ${t} chunk has a scale`);
  const offs = offsetsOf(v, n, w as Width);
  // The greatest offset bounds every decoded value: the width's limit when that is in range (no
  // pass over the offsets), else the actual greatest.
  const widthMax = w === 0 ? 0 : 2 ** (8 * w) - 1;
  let actualMax = -1;
  const greatest = (): number => {
    if (actualMax < 0) {
      actualMax = 0;
      for (let i = 0; i < n; i++) if (offs[i]! > actualMax) actualMax = offs[i]!;
    }
    return actualMax;
  };
  const take = (bytes: number): ArrayBuffer => (arena ? arena.take(bytes) : new ArrayBuffer(bytes));
  let col: Column;
  if (isInt64) {
    const scale = POW10[(s as number | undefined) ?? 0]!;
    const base = BigInt.asIntN(64, (BigInt(baseHi) << 32n) | BigInt(baseLo));
    // Offsets are multiplied as doubles: exact only below 2^53, which an encoder never exceeds.
    const fits = (max: number): boolean =>
      max * scale <= Number.MAX_SAFE_INTEGER && base + BigInt(max * scale) <= INT64_MAX;
    if (!fits(widthMax) && !fits(greatest())) throw badValue(where, 'encoded values out of the int64 range');
    const out = new BigInt64Array(take(n * 8), 0, n);
    const words = new Int32Array(out.buffer, out.byteOffset, n * 2);
    if (w === 0) {
      for (let i = 0; i < n; i++) (words[2 * i] = baseLo | 0), (words[2 * i + 1] = baseHi);
    } else if (scale === 1) {
      for (let i = 0; i < n; i++) {
        const lo = baseLo + offs[i]!;
        words[2 * i] = lo | 0;
        words[2 * i + 1] = lo >= TWO32 ? baseHi + 1 : baseHi;
      }
    } else {
      for (let i = 0; i < n; i++) {
        const off = offs[i]! * scale;
        const offHi = Math.floor(off * INV_TWO32); // exact: a power of two
        const lo = baseLo + (off - offHi * TWO32);
        words[2 * i] = lo | 0;
        words[2 * i + 1] = (baseHi + offHi + (lo >= TWO32 ? 1 : 0)) | 0;
      }
    }
    col = t === 'L' ? new BigIntColumn(out, n, nulls) : new TimestampColumn(out, n, nulls);
  } else if (t === 'D') {
    const base = baseHi * TWO32 + baseLo;
    if (
      !Number.isSafeInteger(base) ||
      (!Number.isSafeInteger(base + widthMax) && !Number.isSafeInteger(base + greatest()))
    )
      throw badValue(where, 'encoded decimals out of the safe integer range');
    const p = POW10[e as number]!;
    const out = new Float64Array(take(n * 8), 0, n);
    if (w === 0) out.fill(base / p);
    else if (p === 1) for (let i = 0; i < n; i++) out[i] = base + offs[i]!;
    else for (let i = 0; i < n; i++) out[i] = (base + offs[i]!) / p;
    if (m instanceof Uint8Array) restoreNegZeros(out, m, nulls, n, where);
    col = new DoubleColumn(out, n, nulls);
  } else {
    const base = baseHi * TWO32 + baseLo;
    if (base < INT32_MIN || (base + widthMax > INT32_MAX && base + greatest() > INT32_MAX))
      throw badValue(where, 'encoded values out of the int32 range');
    const out = new Int32Array(take(n * 4), 0, n);
    if (w === 0) out.fill(base);
    else for (let i = 0; i < n; i++) out[i] = base + offs[i]!;
    col = t === 'I' ? new IntColumn(out, n, nulls) : new DateColumn(out, n, nulls);
  }
  if (nulls) zeroNulls(col.values as Int32Array | Float64Array | BigInt64Array, nulls, n);
  return col;
}

let wide = new Uint32Array(0);
let aligned = new Uint8Array(0);

/**
 * The offsets as uint32: a view when 4 bytes wide and aligned, else widened (natively, by set())
 * into an array shared by every decode (decoding is synchronous), so the decode loops read one kind
 * of array: loops over Uint8Array, Uint16Array and Uint32Array alike measured ~3x slower in V8.
 * Unaligned offsets (a store's buffer at any offset) are first copied into a shared aligned array:
 * a fresh copy per chunk was garbage for the collector on every cold query.
 */
function offsetsOf(v: Uint8Array, n: number, w: Width): Uint32Array {
  if (w === 4 && v.byteOffset % 4 === 0) return new Uint32Array(v.buffer, v.byteOffset, n);
  // Chunks are at most 16 Mi rows; the shared arrays are kept only up to 1 Mi rows.
  const keep = n <= 1 << 20;
  let out: Uint32Array;
  if (!keep) out = new Uint32Array(n);
  else {
    if (wide.length < n) wide = new Uint32Array(Math.min(1 << 20, Math.max(n, 2 * wide.length)));
    out = wide.subarray(0, n);
  }
  if (w === 0) out.fill(0);
  else if (w === 1) out.set(v);
  else {
    let src = v;
    if (v.byteOffset % w !== 0) {
      if (!keep) src = new Uint8Array(v);
      else {
        if (aligned.length < v.length)
          aligned = new Uint8Array(Math.min(4 << 20, Math.max(v.length, 2 * aligned.length)));
        aligned.set(v);
        src = aligned;
      }
    }
    out.set(w === 2 ? new Uint16Array(src.buffer, src.byteOffset, n) : new Uint32Array(src.buffer, src.byteOffset, n));
  }
  return out;
}

/** Rows listed in `m` become -0; each must be a non-null row within n that decoded to 0. */
function restoreNegZeros(
  out: Float64Array,
  m: Uint8Array,
  nulls: Uint8Array | undefined,
  n: number,
  where: string,
): void {
  for (let b = 0; b < m.length; b++) {
    const bits = m[b]!;
    if (bits === 0) continue;
    for (let j = 0; j < 8; j++) {
      if (((bits >>> j) & 1) === 0) continue;
      const i = 8 * b + j;
      if (i >= n || isNullAt(nulls, i) || out[i] !== 0) throw badValue(where, `bad -0 bitmap at row ${i}`);
      out[i] = -0;
    }
  }
}

/** A null's slot holds the type's zero, as in a raw chunk (and a null's offset is 0). */
function zeroNulls(
  a: Uint8Array | Uint16Array | Uint32Array | Int32Array | Float64Array | BigInt64Array,
  nulls: Uint8Array,
  n: number,
): void {
  for (let b = 0; b < nulls.length; b++) {
    const m = nulls[b]!;
    if (m === 0) continue;
    for (let j = 0; j < 8; j++) {
      const i = 8 * b + j;
      if ((m >>> j) & 1 && i < n) a[i] = a instanceof BigInt64Array ? 0n : 0;
    }
  }
}
