// Zone maps (docs/format.md 7.3, docs/dataframe.md "Zone maps"): per row-chunk and column, the least
// and greatest non-null value and the number of nulls, kept in the frame's metadata record. A filter
// term `column <op> literal` (or IS NULL, IN, and AND/OR of them) that no value in [min, max] can
// satisfy lets a query skip the chunk without reading it, as Parquet's statistics and DuckDB's zone
// maps do. A zone is only ever a reason to skip: a chunk without one (older frames, a double column
// holding NaN, long strings) is read as before.

import { bitGet, type Column } from './column.js';
import { badValue } from './envelope.js';
import type { Expr, Literal } from './query/expr-base.js';
import { INT64_MAX, INT64_MIN, columnIndex, type ColumnType, type Field } from './schema.js';
import { parseDate, parseTimestamp } from './temporal.js';

/** [min, max, nulls]: min and max are null when unknown (no non-null value, NaN, long strings). */
export type Zone = readonly [number | bigint | string | null, number | bigint | string | null, number];

/** Strings longer than this get no zone: the metadata record holds every chunk's bounds. */
const MAX_ZONE_STRING = 64;

/**
 * The zone of rows [start, end) of a column. Each kind of array is scanned by a loop of its own:
 * one loop over Int32Array, Float64Array and Uint8Array alike reads them through a polymorphic
 * element access, which measured 2-3x slower per value on the Parquet bench's chunks (int32: 3.6
 * against 1.3 ns a row).
 */
export function computeZone(c: Column, start: number, end: number): Zone {
  const nulls = c.nulls;
  if (c.type === 'S') {
    const d = c.dictionary;
    let min: string | null = null;
    let max: string | null = null;
    let nullCount = 0;
    if (d) {
      // Each distinct value compared once: mark the codes the rows use, then scan the dictionary.
      const used = new Uint8Array(d.dict.length);
      nullCount = markUsed(used, d.codes, nulls, start, end);
      for (let k = 0; k < used.length; k++) {
        if (used[k] === 0) continue;
        const v = d.dict[k]!;
        if (min === null || v < min) min = v;
        if (max === null || v > max) max = v;
      }
    } else {
      for (let i = start; i < end; i++) {
        if (nulls && bitGet(nulls, i)) {
          nullCount++;
          continue;
        }
        const v = c.values[i]!;
        if (min === null || v < min) min = v;
        if (max === null || v > max) max = v;
      }
    }
    if (min !== null && (min.length > MAX_ZONE_STRING || max!.length > MAX_ZONE_STRING)) return [null, null, nullCount];
    return [min, max, nullCount];
  }
  const vals = c.values;
  if (vals instanceof BigInt64Array) return int64Zone(vals, nulls, start, end);
  if (vals instanceof Float64Array) return doubleZone(vals, nulls, start, end);
  return vals instanceof Int32Array ? int32Zone(vals, nulls, start, end) : byteZone(vals, nulls, start, end);
}

/** Marks in `used` the codes of rows [start, end) that are not null; returns the number of nulls. */
function markUsed(
  used: Uint8Array,
  codes: Uint8Array | Uint16Array | Uint32Array,
  nulls: Uint8Array | undefined,
  start: number,
  end: number,
): number {
  if (!nulls) {
    for (let i = start; i < end; i++) used[codes[i]!] = 1;
    return 0;
  }
  let nullCount = 0;
  for (let i = start; i < end; i++) {
    if ((nulls[i >>> 3]! >>> (i & 7)) & 1) nullCount++;
    else used[codes[i]!] = 1;
  }
  return nullCount;
}

function int32Zone(vals: Int32Array, nulls: Uint8Array | undefined, start: number, end: number): Zone {
  let min = 2147483647;
  let max = -2147483648;
  let nullCount = 0;
  if (!nulls) {
    for (let i = start; i < end; i++) {
      const v = vals[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  } else {
    for (let i = start; i < end; i++) {
      if ((nulls[i >>> 3]! >>> (i & 7)) & 1) {
        nullCount++;
        continue;
      }
      const v = vals[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  return nullCount === end - start ? [null, null, nullCount] : [min, max, nullCount];
}

/** B columns: one byte, 0 or 1, per row. */
function byteZone(vals: Uint8Array, nulls: Uint8Array | undefined, start: number, end: number): Zone {
  let min = 255;
  let max = 0;
  let nullCount = 0;
  for (let i = start; i < end; i++) {
    if (nulls && (nulls[i >>> 3]! >>> (i & 7)) & 1) {
      nullCount++;
      continue;
    }
    const v = vals[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return nullCount === end - start ? [null, null, nullCount] : [min, max, nullCount];
}

/**
 * The zone of a double column: NaN leaves it without bounds. Of 0 and -0, the bound is whichever
 * comes first (a later equal value never replaces it), and starting from +-Infinity keeps that: no
 * sentinel is equal to a value.
 */
function doubleZone(vals: Float64Array, nulls: Uint8Array | undefined, start: number, end: number): Zone {
  let min = Infinity;
  let max = -Infinity;
  let nullCount = 0;
  let nan = false;
  for (let i = start; i < end; i++) {
    if (nulls && (nulls[i >>> 3]! >>> (i & 7)) & 1) {
      nullCount++;
      continue;
    }
    const v = vals[i]!;
    if (v < min) min = v;
    else if (v !== v) nan = true;
    if (v > max) max = v;
  }
  // NaN compares false with everything but `ne`: a chunk with NaN has no usable bounds.
  if (nan || nullCount === end - start) return [null, null, nullCount];
  return [min, max, nullCount];
}

/**
 * The zone of an int64 column compared as 32-bit halves (signed high word, then unsigned low word):
 * reading a BigInt64Array element allocates a bigint, and a timestamp column's chunk made 65,536 of
 * them for two results. The least and greatest high words first, then the low words of the rows
 * holding them: two passes of int32 comparisons measured ~2x faster than one of 64-bit comparisons
 * (sorted-ish timestamps tie on the high word every few dozen rows, which defeats branch prediction).
 */
function int64Zone(vals: BigInt64Array, nulls: Uint8Array | undefined, start: number, end: number): Zone {
  const w = new Int32Array(vals.buffer, vals.byteOffset, vals.length * 2);
  const hiAt = LITTLE_ENDIAN ? 1 : 0;
  const loAt = 1 - hiAt;
  let nullCount = 0;
  let minHi = 2147483647;
  let maxHi = -2147483648;
  if (!nulls) {
    for (let i = start; i < end; i++) {
      const hi = w[2 * i + hiAt]!;
      if (hi < minHi) minHi = hi;
      if (hi > maxHi) maxHi = hi;
    }
  } else {
    for (let i = start; i < end; i++) {
      if ((nulls[i >>> 3]! >>> (i & 7)) & 1) {
        nullCount++;
        continue;
      }
      const hi = w[2 * i + hiAt]!;
      if (hi < minHi) minHi = hi;
      if (hi > maxHi) maxHi = hi;
    }
    if (nullCount === end - start) return [null, null, nullCount];
  }
  if (start === end) return [null, null, 0];
  let minI = -1;
  let maxI = -1;
  let minLo = 0;
  let maxLo = 0;
  for (let i = start; i < end; i++) {
    const hi = w[2 * i + hiAt]!;
    if ((hi !== minHi && hi !== maxHi) || (nulls && (nulls[i >>> 3]! >>> (i & 7)) & 1)) continue;
    if (hi === minHi) {
      const lo = w[2 * i + loAt]! >>> 0;
      if (minI < 0 || lo < minLo) {
        minI = i;
        minLo = lo;
      }
    }
    if (hi === maxHi) {
      const lo = w[2 * i + loAt]! >>> 0;
      if (maxI < 0 || lo > maxLo) {
        maxI = i;
        maxLo = lo;
      }
    }
  }
  return [vals[minI]!, vals[maxI]!, nullCount];
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

function checkBound(t: ColumnType, v: unknown): boolean {
  if (v === null) return true;
  switch (t) {
    case 'S':
      return typeof v === 'string';
    case 'L':
    case 'T':
      return typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX;
    case 'D':
      return typeof v === 'number' && v === v;
    default:
      return typeof v === 'number' && Number.isInteger(v);
  }
}

/** Validates stored zones: nchunks lists of one zone per field. CORRUPTION naming `where`. */
export function checkZones(
  v: unknown,
  fields: readonly Field[],
  nchunks: number,
  rowsOf: (i: number) => number,
  where: string,
): Zone[][] {
  if (!Array.isArray(v) || v.length !== nchunks) throw badValue(where, 'zones is not one list per chunk');
  for (let i = 0; i < nchunks; i++) {
    const z = v[i] as unknown;
    if (!Array.isArray(z) || z.length !== fields.length)
      throw badValue(where, `zones of chunk ${i} do not match the fields`);
    for (let c = 0; c < fields.length; c++) {
      const e = z[c] as unknown;
      const t = fields[c]!.type;
      if (
        !Array.isArray(e) ||
        e.length !== 3 ||
        !checkBound(t, e[0]) ||
        !checkBound(t, e[1]) ||
        (e[0] === null) !== (e[1] === null) ||
        (e[0] !== null && (e[0] as number) > (e[1] as number)) ||
        !Number.isSafeInteger(e[2]) ||
        (e[2] as number) < 0 ||
        (e[2] as number) > rowsOf(i)
      )
        throw badValue(where, `bad zone for chunk ${i}, column ${JSON.stringify(fields[c]!.name)}`);
    }
  }
  return v as Zone[][];
}

type Bound = number | bigint | string;

/**
 * A literal as the evaluator compares it with a column of type t (query/eval.ts `columnLiteral`):
 * for L and T an integral number becomes a bigint (so that 5n equals 5), a timestamp text its
 * microseconds and, for d, a date text its day number. undefined: not comparable (no skipping).
 */
export function literalFor(t: ColumnType, v: Literal): Bound | boolean | null | undefined {
  if (v === null) return null;
  if (t === 'L' || t === 'T') {
    if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
    if (typeof v === 'string' && t === 'T') return parseTimestamp(v, true);
    return undefined;
  }
  if (t === 'd') {
    if (typeof v === 'number') return v;
    if (typeof v === 'string') return parseDate(v);
    return undefined;
  }
  return v;
}

const FLIP: Record<string, string> = { eq: 'eq', ne: 'ne', lt: 'gt', le: 'ge', gt: 'lt', ge: 'le' };

/** Whether some row of a chunk whose zone is `z` (of `rows` rows) may satisfy `e`. */
function mayMatch(e: Expr, fields: readonly Field[], zones: readonly Zone[], rows: number): boolean {
  switch (e.op) {
    case 'and':
      return e.args.every((a) => mayMatch(a, fields, zones, rows));
    case 'or':
      return e.args.some((a) => mayMatch(a, fields, zones, rows));
    case 'isNull': {
      const a = e.args[0];
      if (a.op !== 'col') return true;
      return zones[columnIndex(fields, a.name)]![2] > 0;
    }
    case 'in': {
      const a = e.args[0];
      if (a.op !== 'col') return true;
      const i = columnIndex(fields, a.name);
      const [min, max, nulls] = zones[i]!;
      if (nulls === rows) return false;
      if (min === null) return true;
      return e.values.some((v) => {
        const y = literalFor(fields[i]!.type, v);
        if (y === null) return false;
        if (y === undefined || typeof y === 'boolean') return true;
        if (typeof y !== typeof min && !(typeof y !== 'string' && typeof min !== 'string')) return true;
        return !(y < min || y > max!);
      });
    }
    case 'eq':
    case 'ne':
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge': {
      let [a, b] = e.args;
      let op: string = e.op;
      if (a.op === 'lit' && b.op === 'col') {
        [a, b] = [b, a];
        op = FLIP[op]!;
      }
      if (a.op !== 'col' || b.op !== 'lit') return true;
      const i = columnIndex(fields, a.name);
      const [min, max, nulls] = zones[i]!;
      const y0 = literalFor(fields[i]!.type, b.value);
      if (y0 === null) return false; // a comparison with null is never true
      if (nulls === rows) return false; // every row null: every comparison null
      // A NaN literal (the API allows one) is greater than every bound: keep the chunk.
      if (min === null || y0 === undefined || (typeof y0 === 'number' && Number.isNaN(y0))) return true;
      const y = typeof y0 === 'boolean' ? (y0 ? 1 : 0) : y0;
      // Strings compare with strings, numbers and bigints with each other (exactly, in JavaScript).
      if ((typeof y === 'string') !== (typeof min === 'string')) return true;
      const lo = min as Bound;
      const hi = max as Bound;
      switch (op) {
        case 'eq':
          return !(y < lo || y > hi);
        case 'ne':
          return !(lo === hi && lo === y); // an integral literal of an int64 column is a bigint by now
        case 'lt':
          return lo < y;
        case 'le':
          return lo <= y;
        case 'gt':
          return hi > y;
        default:
          return hi >= y;
      }
    }
    default:
      return true;
  }
}

/**
 * Of `chunks`, those a filter may keep rows of, by the zones of `meta` (every chunk when the frame
 * has none). Never drops a chunk that has a matching row.
 */
export function pruneChunks(
  filter: Expr | undefined,
  fields: readonly Field[],
  zones: readonly (readonly Zone[])[] | undefined,
  chunks: readonly number[],
  rowsOf: (i: number) => number,
): number[] {
  if (!filter || !zones) return [...chunks];
  return chunks.filter((i) => {
    const z = zones[i];
    if (!z || z.length < fields.length) return true;
    try {
      return mayMatch(filter, fields, z, rowsOf(i));
    } catch {
      return true; // a column the zones do not cover (a computed one): read the chunk
    }
  });
}

/** Why a filter term cannot skip chunks, or undefined if its shape lets zone maps decide. */
function unusable(e: Expr, stored: readonly Field[]): string | undefined {
  const isStored = (x: Expr): boolean => x.op === 'col' && stored.some((f) => f.name === x.name);
  switch (e.op) {
    case 'and':
    case 'or':
      for (const a of e.args) {
        const why = unusable(a, stored);
        if (why) return why;
      }
      return undefined;
    case 'isNull':
    case 'in':
      return isStored(e.args[0]) ? undefined : 'not a stored column';
    case 'eq':
    case 'ne':
    case 'lt':
    case 'le':
    case 'gt':
    case 'ge': {
      const [a, b] = e.args;
      if ((isStored(a) && b.op === 'lit') || (a.op === 'lit' && isStored(b))) return undefined;
      return a.op === 'col' && b.op === 'col'
        ? 'a column compared with a column'
        : 'not a stored column compared with a literal';
    }
    default:
      return `${e.op === 'call' ? e.fn : e.op} is not a comparison of a stored column with a literal`;
  }
}

/** One line of zoneExplain's answer per top-level AND term, then the total. */
export interface ZoneExplain {
  terms: { term: Expr; skips?: number; why?: string }[];
  /** Chunks the whole filter skips by the metadata: what a query will skip (the estimate before running). */
  skipped: number;
  nchunks: number;
  /** False for a frame written before zone maps. */
  hasZones: boolean;
}

/**
 * What the zone maps of `zones` let `filter` skip, per top-level AND term and in all, from the
 * metadata alone: `stored` are the frame's own columns (zones cover those; computed columns have none).
 */
export function zoneExplain(
  filter: Expr,
  stored: readonly Field[],
  fields: readonly Field[],
  zones: readonly (readonly Zone[])[] | undefined,
  nchunks: number,
  rowsOf: (i: number) => number,
): ZoneExplain {
  const all = Array.from({ length: nchunks }, (_, i) => i);
  const terms = (filter.op === 'and' ? filter.args : [filter]).map((term) => {
    const why = unusable(term, stored);
    if (why || !zones) return { term, why };
    return { term, skips: nchunks - pruneChunks(term, fields, zones, all, rowsOf).length };
  });
  const skipped = zones ? nchunks - pruneChunks(filter, fields, zones, all, rowsOf).length : 0;
  return { terms, skipped, nchunks, hasZones: zones !== undefined };
}
