// Encoding of one column of one row-chunk (docs/format.md section 7.2). Numeric data travels as the
// raw bytes of its typed array inside the msgpack body, or, when its values fit, as narrow offsets
// from a base (number-codec.ts); strings travel as a msgpack array or a dictionary. Decoding checks
// the structure against what the metadata promises (type, row count, byte lengths): a chunk that
// decodes but does not fit is still CORRUPTION.

import {
  BoolColumn,
  DoubleColumn,
  IntColumn,
  StringColumn,
  type StringDictionary,
  bitSet,
  bitmapBytes,
  makeColumn,
  sliceBitmap,
  sliceColumn,
  type Column,
} from './column.js';
import {
  CHUNK_ENCODED_VERSION,
  CHUNK_TYPES_VERSION,
  FORMAT_VERSION,
  HEADER_BYTES,
  Kind,
  MAGIC0,
  MAGIC1,
  badValue,
  crc32,
  isPlainObject,
  openVersioned,
  packr,
  seal,
} from './envelope.js';
import {
  decodeNumbers,
  planExtraBytes,
  planNumbers,
  writeBase,
  writeNegZeros,
  writeNumbers,
  type NumberPlan,
} from './number-codec.js';
import { isColumnType, isNewType, type ColumnType } from './schema.js';
import { computeZone, type Zone } from './zone-map.js';

/**
 * The envelope version of a chunk of type `t`: chunks of the types added later (L, T, d) are
 * version 2, so that a reader that predates them refuses the chunk as an unsupported version
 * instead of misreading it; I, D, B and S chunks stay version 1, byte for byte as before.
 */
function chunkVersion(t: ColumnType): number {
  return isNewType(t) ? CHUNK_TYPES_VERSION : FORMAT_VERSION;
}

/** Whether chunks of type `t` may be stored encoded (number-codec.ts, envelope version 3). */
function encodable(t: ColumnType): boolean {
  return t === 'I' || t === 'D' || t === 'L' || t === 'T' || t === 'd';
}

/** The msgpack body of a chunk: plain data, also used for row results sent between nodes. */
export interface ChunkBody {
  /** Column type letter. */
  t: ColumnType;
  /** Row count. */
  n: number;
  /** Null bitmap, LSB-first, ceil(n/8) bytes; absent when no row is null. */
  z?: Uint8Array;
  /**
   * I and d: n int32 LE; D: n float64 LE; L and T: n int64 LE; B: bitmap of ceil(n/8) bytes; S: n strings ('' for nulls), or
   * with `d`, n indexes into `d` as uint8, uint16 or uint32 LE (the width is v.length / n).
   */
  v: Uint8Array | string[];
  /** S only: the distinct strings of a dictionary-encoded chunk. */
  d?: string[];
}

/**
 * Strings repeat in most analytical columns (categories, codes, names). When a chunk has at most one
 * distinct string per DICT_RATIO rows it is stored as a dictionary plus small indexes: on 1M rows of
 * 1,000 categories this cuts the chunk ~3x and decoding ~5x, and decoded rows share one string
 * object per distinct value instead of allocating one per row.
 */
export const DICT_RATIO = 4;

type Codes = Uint8Array | Uint16Array | Uint32Array;

/**
 * The dictionary of a string chunk and each row's index into it, or undefined when plain is smaller.
 * `codes` is a view of the column's own codes or of a scratch array shared by every call (the caller
 * narrows it to `w` bytes per index before the next call): a frame being stored otherwise left a
 * 256 KiB array of garbage per string chunk.
 */
function dictionaryCodes(
  c: StringColumn,
  n: number,
  start = 0,
): { d: readonly string[]; codes: Codes; w: 1 | 2 | 4 } | undefined {
  if (n < 64) return undefined;
  const limit = Math.floor(n / DICT_RATIO);
  const given = c.dictionary;
  // Codes numbered in order of first use within the rows, every entry used (an Arrow import's
  // dictionary over a whole row group, a decoded chunk): the chunk's own, as they are. A dictionary
  // built so over all its column's rows needs no check when all of them are encoded.
  if (
    given &&
    given.dict.length <= limit &&
    ((start === 0 && n === c.length && inFirstUseOrder.has(given)) ||
      firstUseOrder(given.codes, start, n, given.dict.length))
  )
    return { d: given.dict, codes: given.codes.subarray(start, start + n), w: widthOf(given.dict.length) };
  const d: string[] = [];
  if (scratchCodes.length < n) scratchCodes = new Uint32Array(n);
  const idx = scratchCodes;
  // A dictionary larger than the rows encoded (rows of a large Arrow batch) would cost more to
  // renumber than the rows' strings cost to look up.
  if (given && given.dict.length <= n) {
    // Already a dictionary: its codes renumbered in order of first use within the rows, one
    // typed-array lookup per row and no string hashed.
    const codes = given.codes;
    const renum = new Int32Array(given.dict.length).fill(-1);
    for (let i = 0; i < n; i++) {
      const k = codes[start + i]!;
      let m = renum[k]!;
      if (m < 0) {
        if (d.length >= limit) return undefined;
        renum[k] = m = d.length;
        d.push(given.dict[k]!);
      }
      idx[i] = m;
    }
  } else {
    const values = c.values;
    // A prototype-less object, not a Map: one lookup per row is most of a string chunk's encoding, and
    // V8's keyed property lookup measured ~185 against ~290-340 ms CPU for Map.get over the bench's
    // 10M rows of 1,000 categories (and faster too for strings built at run time, as a parser makes).
    // Property keys are the strings themselves, so no two distinct strings can share an entry.
    const ids: Record<string, number> = Object.create(null) as Record<string, number>;
    for (let i = 0; i < n; i++) {
      const s = values[start + i]!;
      let k = ids[s];
      if (k === undefined) {
        if (d.length >= limit) return undefined; // too many distinct strings: plain is smaller
        ids[s] = k = d.length;
        d.push(s);
      }
      idx[i] = k;
    }
  }
  return { d, codes: idx.subarray(0, n), w: widthOf(d.length) };
}

function widthOf(size: number): 1 | 2 | 4 {
  return size <= 0x100 ? 1 : size <= 0x10000 ? 2 : 4;
}

/**
 * Whether rows [start, start + n) use all `size` codes, each first used after every smaller one:
 * then renumbering them by first use changes nothing. A comparison per row, where renumbering is a
 * lookup and a store.
 */
function firstUseOrder(codes: Codes, start: number, n: number, size: number): boolean {
  let top = -1;
  for (let i = start, end = start + n; i < end; i++) {
    const k = codes[i]!;
    if (k > top) {
      if (k !== top + 1) return false;
      top = k;
    }
  }
  return top === size - 1;
}

let scratchCodes = new Uint32Array(0);

/** Dictionaries whose codes number all of their column's rows in order of first use, every entry used. */
const inFirstUseOrder = new WeakSet<StringDictionary>();

/**
 * Records that `d`'s codes number all of its column's rows in order of first use and that every
 * entry is used, as a chunk stores them (the Arrow importer builds its dictionaries so): encoding
 * the whole column then takes them without checking each row.
 */
export function markFirstUseOrder(d: StringDictionary): StringDictionary {
  inFirstUseOrder.add(d);
  return d;
}

/** The indexes as `w`-byte little-endian integers, in a new array. */
function narrowCodes(codes: Codes, w: 1 | 2 | 4): Uint8Array {
  return w === 1
    ? Uint8Array.from(codes)
    : w === 2
      ? new Uint8Array(Uint16Array.from(codes).buffer)
      : new Uint8Array(Uint32Array.from(codes).buffer);
}

const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * Writes the indexes as `w`-byte little-endian integers at out[pos]; returns the position after
 * them. On a little-endian machine a typed-array set() narrows them natively, in place where the
 * position is aligned for w, else into a scratch array copied after: a byte-by-byte loop measured
 * ~3x slower.
 */
function writeCodes(out: Uint8Array, pos: number, codes: Codes, w: 1 | 2 | 4): number {
  const n = codes.length;
  const at = out.byteOffset + pos;
  if (w === 1) out.set(codes, pos);
  else if (LITTLE_ENDIAN && at % w === 0)
    (w === 2 ? new Uint16Array(out.buffer, at, n) : new Uint32Array(out.buffer, at, n)).set(codes);
  else if (LITTLE_ENDIAN) {
    // Kept up to 1 MiB; encoding is synchronous, so no two calls share it.
    let buf = narrowScratch;
    if (buf.byteLength < n * w) {
      buf = new ArrayBuffer(n * w);
      if (n * w <= 1 << 20) narrowScratch = buf;
    }
    (w === 2 ? new Uint16Array(buf, 0, n) : new Uint32Array(buf, 0, n)).set(codes);
    out.set(new Uint8Array(buf, 0, n * w), pos);
  } else {
    const dv = new DataView(out.buffer, out.byteOffset);
    if (w === 2) for (let i = 0; i < n; i++) dv.setUint16(pos + 2 * i, codes[i]!, true);
    else for (let i = 0; i < n; i++) dv.setUint32(pos + 4 * i, codes[i]!, true);
  }
  return pos + n * w;
}

let narrowScratch = new ArrayBuffer(0);

function dictionaryDecode(
  d: unknown,
  v: unknown,
  n: number,
  where: string,
  nulls: Uint8Array | undefined,
  arena?: DecodeArena,
): StringColumn {
  if (!Array.isArray(d) || d.some((x) => typeof x !== 'string'))
    throw badValue(where, 'string dictionary is not an array of strings');
  if (!(v instanceof Uint8Array) || n === 0 || v.length % n !== 0 || ![1, 2, 4].includes(v.length / n)) {
    throw badValue(where, 'bad dictionary index width');
  }
  const w = v.length / n;
  // Copy to an aligned buffer of its own: `v` may be a Node Buffer view at any offset (and a
  // Buffer's slice() is a view, not a copy). Without an arena, 1-byte indexes stay a view.
  const own = (): ArrayBuffer => (arena ? copyInto(arena, v) : new Uint8Array(v).buffer);
  const idx =
    w === 1
      ? arena
        ? new Uint8Array(own(), 0, n)
        : v
      : w === 2
        ? new Uint16Array(own(), 0, n)
        : new Uint32Array(own(), 0, n);
  const size = d.length;
  let max = 0;
  for (let i = 0; i < n; i++) if (idx[i]! > max) max = idx[i]!;
  if (max >= size) throw badValue(where, `dictionary index ${max} out of range`);
  return new StringColumn(undefined, n, nulls, { dict: d as string[], codes: idx });
}

function bytesOf(a: Int32Array | Float64Array | Uint8Array | BigInt64Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function packBools(values: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(bitmapBytes(n));
  for (let i = 0; i < n; i++) if (values[i]) bitSet(out, i);
  return out;
}

export function columnToBody(c: Column): ChunkBody {
  const body: ChunkBody = { t: c.type, n: c.length, v: [] };
  if (c.nulls) body.z = c.nulls;
  switch (c.type) {
    case 'I':
    case 'D':
    case 'L':
    case 'T':
    case 'd':
      body.v = bytesOf(c.values);
      break;
    case 'B':
      body.v = packBools(c.values, c.length);
      break;
    case 'S': {
      const dict = dictionaryCodes(c, c.length);
      if (dict) {
        // A copy: the body is the caller's, and the dictionary may be the column's own.
        body.d = dict.d.slice();
        body.v = narrowCodes(dict.codes, dict.w);
      } else body.v = c.values as string[];
      break;
    }
  }
  return body;
}

export interface EncodeOptions {
  /**
   * The zone map entry of the rows encoded (zone-map.ts computeZone), if the caller has it: its min
   * and max choose a numeric chunk's encoding without a second pass over the values. It must be
   * computeZone's for exactly these rows: integer offsets are taken from it unchecked.
   */
  zone?: Zone;
  /** Write numeric chunks raw (envelope version 1 or 2), as readers that predate encodings expect. */
  plain?: boolean;
}

/**
 * The sealed chunk value (envelope + body). A numeric chunk whose values fit a narrower encoding
 * (number-codec.ts, docs/format.md 7.2 "Encoded numbers") is written in it, as envelope version 3,
 * unless `opts.plain`; any other chunk is byte for byte what seal(Kind.CHUNK, columnToBody(c))
 * writes, but with binary data copied once straight into the one buffer returned. seal() has msgpackr
 * pack the body (a copy into its buffer) and then copies that behind the header: for a frame being
 * stored that would be two copies of every byte and 1.4 MB of garbage per row-chunk (10M rows: 2 GB),
 * which drives the writing client's RSS. Plain (non-dictionary) string chunks still go through
 * msgpackr: their strings need encoding anyway.
 *
 * With `alloc`, the value is written into alloc(size) (which must return exactly `size` bytes, whose
 * old contents do not matter): the writer passes buffers of chunks already stored, so that storing a
 * frame allocates a fixed set of buffers instead of one per chunk (docs/dataframe.md "Client memory").
 * Plain string chunks ignore it. With `start` and `end`, encodes rows [start, end) of `c` without
 * first copying a string column's rows out (an array of 65,536 pointers, 512 KiB, per chunk stored).
 */
export function encodeChunk(
  c: Column,
  alloc?: (size: number) => Uint8Array,
  start = 0,
  end = c.length,
  opts: EncodeOptions = {},
): Uint8Array {
  const whole = start === 0 && end === c.length; // before `c` is replaced by its slice
  if (c.type !== 'S') c = sliceColumn(c, start, end); // views, but for the null bitmap
  const n = end - start;
  const z = c.type === 'S' && !whole ? sliceBitmap(c.nulls, start, end) : c.nulls;
  let v: Uint8Array | undefined;
  let dict: ReturnType<typeof dictionaryCodes>;
  let plan: NumberPlan | undefined;
  switch (c.type) {
    case 'I':
    case 'D':
    case 'L':
    case 'T':
    case 'd':
      if (!opts.plain && n > 0) plan = planNumbers(c, opts.zone ?? computeZone(c, 0, n));
      if (!plan) v = bytesOf(c.values);
      break;
    case 'B':
      v = packBools(c.values, n);
      break;
    case 'S':
      dict = dictionaryCodes(c, n, start);
      if (!dict) {
        // Key order as columnToBody's: t, n, v, z.
        const body: ChunkBody = { t: 'S', n, v: whole ? (c.values as string[]) : c.values.slice(start, end) };
        if (z) body.z = z;
        return seal(Kind.CHUNK, body);
      }
      break;
  }
  const vLen = dict ? n * dict.w : plan ? n * plan.w : v!.length;
  const d = dict ? packr.pack(dict.d) : undefined;
  // Key order is columnToBody's body object's (t, n, v, z, d), as msgpackr writes it; an encoded
  // chunk's fields (b, e, m, s) follow z.
  const size =
    HEADER_BYTES +
    1 +
    4 +
    2 +
    uintBytes(n) +
    2 +
    binBytes(vLen) +
    (z ? 2 + binBytes(z.length) : 0) +
    (d ? 2 + d.length : 0) +
    (plan ? planExtraBytes(plan, n) : 0);
  const out = alloc ? alloc(size) : new Uint8Array(size);
  if (out.length !== size) throw new RangeError(`encodeChunk: alloc(${size}) returned ${out.length} bytes`);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = Kind.CHUNK;
  out[3] = plan ? CHUNK_ENCODED_VERSION : chunkVersion(c.type);
  let pos = HEADER_BYTES;
  const planKeys = plan ? 1 + (plan.e >= 0 ? 1 : 0) + (plan.m ? 1 : 0) + (plan.s > 0 ? 1 : 0) : 0;
  out[pos++] = 0x80 | (3 + (z ? 1 : 0) + (d ? 1 : 0) + planKeys); // fixmap
  out[pos++] = 0xa1; // fixstr "t"
  out[pos++] = 0x74;
  out[pos++] = 0xa1;
  out[pos++] = c.type.charCodeAt(0);
  out[pos++] = 0xa1; // "n"
  out[pos++] = 0x6e;
  pos = writeUint(out, pos, n);
  out[pos++] = 0xa1; // "v"
  out[pos++] = 0x76;
  pos = writeBinHeader(out, pos, vLen);
  if (dict) pos = writeCodes(out, pos, dict.codes, dict.w);
  else if (plan) pos = writeNumbers(c, plan, out, pos);
  else {
    out.set(v!, pos);
    pos += vLen;
  }
  if (z) {
    out[pos++] = 0xa1; // "z"
    out[pos++] = 0x7a;
    pos = writeBinHeader(out, pos, z.length);
    out.set(z, pos);
    pos += z.length;
  }
  if (d) {
    out[pos++] = 0xa1; // "d"
    out[pos++] = 0x64;
    out.set(d, pos);
    pos += d.length;
  }
  if (plan) {
    out[pos++] = 0xa1; // "b": bin 8, the base as int64 LE
    out[pos++] = 0x62;
    out[pos++] = 0xc4;
    out[pos++] = 8;
    pos = writeBase(plan, out, pos);
    if (plan.e >= 0) {
      out[pos++] = 0xa1; // "e": positive fixint
      out[pos++] = 0x65;
      out[pos++] = plan.e;
    }
    if (plan.m) {
      out[pos++] = 0xa1; // "m": the rows holding -0
      out[pos++] = 0x6d;
      pos = writeBinHeader(out, pos, bitmapBytes(n));
      pos = writeNegZeros(c as DoubleColumn, out, pos);
    }
    if (plan.s > 0) {
      out[pos++] = 0xa1; // "s": positive fixint
      out[pos++] = 0x73;
      out[pos++] = plan.s;
    }
  }
  if (pos !== out.length) throw new Error(`encodeChunk: wrote ${pos} of ${out.length} bytes`);
  new DataView(out.buffer, out.byteOffset).setUint32(4, crc32(out.subarray(HEADER_BYTES)), true);
  return out;
}

// MessagePack, smallest form first (as msgpackr writes): positive fixint / uint 8 / 16 / 32, and
// bin 8 / 16 / 32.
function uintBytes(x: number): number {
  return x < 0x80 ? 1 : x < 0x100 ? 2 : x < 0x10000 ? 3 : 5;
}

function writeUint(out: Uint8Array, pos: number, x: number): number {
  const dv = new DataView(out.buffer, out.byteOffset);
  if (x < 0x80) out[pos++] = x;
  else if (x < 0x100) (out[pos++] = 0xcc), (out[pos++] = x);
  else if (x < 0x10000) (out[pos++] = 0xcd), dv.setUint16(pos, x), (pos += 2);
  else (out[pos++] = 0xce), dv.setUint32(pos, x), (pos += 4);
  return pos;
}

function binBytes(len: number): number {
  return (len < 0x100 ? 2 : len < 0x10000 ? 3 : 5) + len;
}

function writeBinHeader(out: Uint8Array, pos: number, len: number): number {
  const dv = new DataView(out.buffer, out.byteOffset);
  if (len < 0x100) (out[pos++] = 0xc4), (out[pos++] = len);
  else if (len < 0x10000) (out[pos++] = 0xc5), dv.setUint16(pos, len), (pos += 2);
  else (out[pos++] = 0xc6), dv.setUint32(pos, len), (pos += 4);
  return pos;
}

/**
 * Where a decode puts its arrays when the caller recycles them (a lent scan, lazy-frame.ts): every
 * array of the column (numbers, unpacked bools, dictionary indexes, null bitmap) is a copy in
 * `take(bytes)`, whose old contents do not matter, and never a view of the stored value, so the value
 * (a reply buffer, ~0.9 MB per row-chunk of the bench's frame) is garbage as soon as decoding ends.
 */
export interface DecodeArena {
  take(bytes: number): ArrayBuffer;
}

/** `bytes` copied to the start of a buffer from `arena`. */
function copyInto(arena: DecodeArena, bytes: Uint8Array): ArrayBuffer {
  const b = arena.take(bytes.length);
  new Uint8Array(b, 0, bytes.length).set(bytes);
  return b;
}

/**
 * A typed array over `bytes`: a view when aligned and not pinning a much larger buffer, else a copy.
 * msgpackr hands back views into the stored value at arbitrary offsets (DESIGN.md). With an arena,
 * always a copy in the arena's buffer.
 */
function typedView<T extends Int32Array | Float64Array | BigInt64Array>(
  Ctor: { new (b: ArrayBuffer, off: number, len: number): T; new (len: number): T; BYTES_PER_ELEMENT: number },
  bytes: Uint8Array,
  n: number,
  arena?: DecodeArena,
): T {
  const w = Ctor.BYTES_PER_ELEMENT;
  if (arena) return new Ctor(copyInto(arena, bytes), 0, n);
  if (bytes.byteOffset % w === 0 && bytes.buffer.byteLength <= 2 * bytes.byteLength + 4096) {
    return new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, n);
  }
  const out = new Ctor(n);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/**
 * Turns a decoded body back into a column, checking it against the expected type and row count.
 * `where` names the key (or task) in the CORRUPTION error.
 */
export function bodyToColumn(
  body: unknown,
  where: string,
  expectType?: ColumnType,
  expectRows?: number,
  arena?: DecodeArena,
  encoded = false,
): Column {
  if (!isPlainObject(body)) throw badValue(where, 'chunk body is not a map');
  const { t, n, z, v, d, b, e, s, m } = body;
  if (!isColumnType(t)) throw badValue(where, `unknown column type ${String(t)}`);
  if (expectType !== undefined && t !== expectType)
    throw badValue(where, `chunk holds type ${t}, schema says ${expectType}`);
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw badValue(where, 'bad row count');
  if (expectRows !== undefined && n !== expectRows)
    throw badValue(where, `chunk holds ${n} rows, expected ${expectRows}`);
  let nulls: Uint8Array | undefined;
  if (z !== undefined) {
    if (!(z instanceof Uint8Array) || z.length !== bitmapBytes(n)) throw badValue(where, 'bad null bitmap length');
    nulls = arena ? new Uint8Array(copyInto(arena, z), 0, z.length) : new Uint8Array(z); // small; copied so the column owns it
  }
  if (d !== undefined && t !== 'S') throw badValue(where, 'only string chunks have a dictionary');
  if (encoded) {
    if (b === undefined) throw badValue(where, 'an encoded chunk has no base');
    return decodeNumbers(t, n, { v, b, e, s, m }, nulls, where, arena);
  }
  if (b !== undefined || e !== undefined || s !== undefined || m !== undefined)
    throw badValue(where, `a chunk of format version ${chunkVersion(t)} has encoded fields`);
  if (t === 'S') {
    if (d !== undefined) return dictionaryDecode(d, v, n, where, nulls, arena);
    if (!Array.isArray(v) || v.length !== n) throw badValue(where, 'string chunk has the wrong number of values');
    for (let i = 0; i < n; i++)
      if (typeof v[i] !== 'string') throw badValue(where, `string chunk value ${i} is not a string`);
    return new StringColumn(v as string[], n, nulls);
  }
  if (!(v instanceof Uint8Array)) throw badValue(where, 'numeric chunk data is not binary');
  const expectBytes = t === 'I' || t === 'd' ? n * 4 : t === 'B' ? bitmapBytes(n) : n * 8;
  if (v.length !== expectBytes) throw badValue(where, `chunk data is ${v.length} bytes, expected ${expectBytes}`);
  if (t === 'I') return new IntColumn(typedView(Int32Array, v, n, arena), n, nulls);
  if (t === 'D') return new DoubleColumn(typedView(Float64Array, v, n, arena), n, nulls);
  if (t === 'd') return makeColumn('d', typedView(Int32Array, v, n, arena), n, nulls);
  if (t === 'L' || t === 'T') return makeColumn(t, typedView(BigInt64Array, v, n, arena), n, nulls);
  const bools = arena ? new Uint8Array(arena.take(n), 0, n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) bools[i] = (v[i >>> 3]! >>> (i & 7)) & 1;
  return new BoolColumn(bools, n, nulls);
}

export function decodeChunk(
  value: Uint8Array,
  key: string,
  expectType: ColumnType,
  expectRows: number,
  arena?: DecodeArena,
): Column {
  const { body, version } = openVersioned(Kind.CHUNK, value, key, [
    FORMAT_VERSION,
    CHUNK_TYPES_VERSION,
    CHUNK_ENCODED_VERSION,
  ]);
  const encoded = version === CHUNK_ENCODED_VERSION;
  if (encoded ? !encodable(expectType) : version !== chunkVersion(expectType))
    throw badValue(key, `a ${expectType} chunk in format version ${version}, expected ${chunkVersion(expectType)}`);
  return bodyToColumn(body, key, expectType, expectRows, arena, encoded);
}
