// Growable column builders: the one place where loose JavaScript values (from rows, CSV, SoR, query
// results) are checked against a column type and packed into typed arrays. A value of the wrong type
// is a TypeError naming the column and row, never a silent coercion.

import { bitGet, bitSet, bitmapBytes, makeColumn, StringColumn, type Column, type NullBitmap } from './column.js';
import { describeValue, valueFits, type ColumnType, type Value } from './schema.js';

type Store = Int32Array | Float64Array | Uint8Array | BigInt64Array;

/**
 * Distinct strings a dictionary builder keeps codes for; past it a chunk is plain strings. A full
 * default chunk (65,536 rows) is stored dictionary-encoded up to a quarter of its rows distinct
 * (chunk-codec.ts DICT_RATIO), so codes beyond this many would mostly be undone at encode time.
 */
const MAX_DICT = 16_384;

/**
 * A chunk's string dictionary: each distinct string's code, in first-seen order, appended to `dict`.
 * Strings of up to three characters below U+0100 (the codes of airports, carriers, states, flags:
 * the commonest categorical columns) are packed into an integer and found in an open-addressed table
 * of integers, without hashing the string; the rest go through a Map. Measured on the flights table's
 * three string columns, the table is two to three times cheaper per row than a Map alone.
 */
class StringCodes {
  private keys = new Int32Array(256);
  private vals = new Int32Array(256);
  private packed = 0;
  private readonly other = new Map<string, number>();

  constructor(private readonly dict: string[]) {}

  /** The code of v, which is added while the dictionary has fewer than MAX_DICT strings; -1 past that. */
  code(v: string): number {
    const n = v.length;
    if (n <= 3) {
      // 1, then a byte per character: distinct for every string of up to three such characters, never 0.
      let key = 1;
      for (let j = 0; j < n; j++) {
        const c = v.charCodeAt(j);
        if (c > 255) {
          key = 0;
          break;
        }
        key = (key << 8) | c;
      }
      if (key !== 0) return this.packedCode(key, v);
    }
    let k = this.other.get(v);
    if (k === undefined) {
      if (this.dict.length >= MAX_DICT) return -1;
      k = this.dict.length;
      this.dict.push(v);
      this.other.set(v, k);
    }
    return k;
  }

  private packedCode(key: number, v: string): number {
    const keys = this.keys;
    const mask = keys.length - 1;
    let h = slotOfKey(key, mask);
    for (;;) {
      const k = keys[h]!;
      if (k === key) return this.vals[h]!;
      if (k === 0) break;
      h = (h + 1) & mask;
    }
    if (this.dict.length >= MAX_DICT) return -1;
    const code = this.dict.length;
    this.dict.push(v);
    keys[h] = key;
    this.vals[h] = code;
    // At most half full: probes stay short.
    if (2 * ++this.packed > keys.length) this.rehash(2 * keys.length);
    return code;
  }

  private rehash(cap: number): void {
    const oldKeys = this.keys;
    const oldVals = this.vals;
    const keys = new Int32Array(cap);
    const vals = new Int32Array(cap);
    const mask = cap - 1;
    for (let i = 0; i < oldKeys.length; i++) {
      const key = oldKeys[i]!;
      if (key === 0) continue;
      let h = slotOfKey(key, mask);
      while (keys[h] !== 0) h = (h + 1) & mask;
      keys[h] = key;
      vals[h] = oldVals[i]!;
    }
    this.keys = keys;
    this.vals = vals;
  }
}

/** A packed key's first slot in a table of mask + 1 (a power of two, at most 2^17) slots: Fibonacci hashing. */
function slotOfKey(key: number, mask: number): number {
  return (Math.imul(key, 0x9e3779b1) >>> 15) & mask;
}

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

/** What pushFitted stores into; each kind has a field of its own array type (see ColumnBuilder). */
enum Kind {
  Str,
  I32,
  F64,
  Bool,
  I64,
}

function kindOf(t: ColumnType): Kind {
  switch (t) {
    case 'S':
      return Kind.Str;
    case 'I':
    case 'd':
      return Kind.I32;
    case 'D':
      return Kind.F64;
    case 'B':
      return Kind.Bool;
    case 'L':
    case 'T':
      return Kind.I64;
  }
}

export class ColumnBuilder {
  private num: Store | undefined;
  // The same memory as `num`, in a field per array type: one element store site per array type
  // keeps each store monomorphic (a single site over four typed-array kinds is a megamorphic keyed
  // store, which was most of an import's cost of filling columns).
  private i32: Int32Array | undefined;
  private f64: Float64Array | undefined;
  private u8: Uint8Array | undefined;
  private i64: BigInt64Array | undefined;
  /** For L and T: the same memory as 32-bit words, to store a safe-integer number without a bigint. */
  private words: Int32Array | undefined;
  private readonly kind: Kind;
  private str: string[] | undefined;
  private nulls: Uint8Array | undefined;
  private n = 0;

  /**
   * String builders made with `dictionary`: while a chunk's strings are few, each row stores a code
   * into `dict` (ids finds a string's code) rather than the string, so the strings a parser made
   * die young, and the column comes out dictionary-encoded (what chunk-codec.ts would otherwise work
   * out again at encode time, with one lookup per row). Past MAX_DICT distinct strings the chunk goes
   * on as plain strings, and so do later chunks of the builder.
   */
  private ids: StringCodes | undefined;
  private dict: string[] = [];
  private codes: Uint32Array | undefined;
  private useDictionary: boolean;

  constructor(
    readonly type: ColumnType,
    private capacity = 1024,
    /** Used in error messages only. */
    readonly name = '?',
    opts: { dictionary?: boolean } = {},
  ) {
    this.kind = kindOf(type);
    this.useDictionary = type === 'S' && opts.dictionary === true;
    if (this.useDictionary) this.ids = new StringCodes(this.dict);
    this.alloc(Math.max(8, capacity));
  }

  get length(): number {
    return this.n;
  }

  private alloc(cap: number): void {
    const old = this.num;
    if (this.type === 'S') {
      this.str ??= [];
      if (this.ids) {
        const codes = new Uint32Array(cap);
        if (this.codes) codes.set(this.codes);
        this.codes = codes;
      }
    } else {
      const next = newStore(this.type, cap);
      if (old) (next as Uint8Array).set(old as Uint8Array);
      this.num = next;
      if (next instanceof Int32Array) this.i32 = next;
      else if (next instanceof Float64Array) this.f64 = next;
      else if (next instanceof Uint8Array) this.u8 = next;
      else {
        this.i64 = next;
        if (LITTLE_ENDIAN) this.words = new Int32Array(next.buffer);
      }
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
    if (i >= this.capacity) this.grow(i + 1);
    switch (this.kind) {
      case Kind.Str:
        this.setStr(i, v as string);
        break;
      case Kind.I32:
        this.i32![i] = v as number;
        break;
      case Kind.F64:
        this.f64![i] = v as number;
        break;
      case Kind.Bool:
        this.u8![i] = v === true ? 1 : v === false ? 0 : (v as number);
        break;
      case Kind.I64:
        if (typeof v === 'number' && this.words) {
          // Two's complement halves of a safe integer: |hi| < 2^21, 0 <= lo < 2^32.
          const hi = Math.floor(v / TWO_32);
          this.words[2 * i] = v - hi * TWO_32;
          this.words[2 * i + 1] = hi;
        } else this.i64![i] = BigInt(v as number | bigint);
        break;
    }
    this.n = i + 1;
  }

  /**
   * pushFitted() by kind, for a caller that fills one column at a time with values of its type (the
   * CSV importer): a method per kind keeps its loop to one small body the compiler inlines.
   * REQUIRES: the builder's type is I or d.
   */
  pushInt32(v: number): void {
    const i = this.n;
    if (i >= this.capacity) this.grow(i + 1);
    this.i32![i] = v;
    this.n = i + 1;
  }

  /** REQUIRES: the builder's type is D. */
  pushFloat64(v: number): void {
    const i = this.n;
    if (i >= this.capacity) this.grow(i + 1);
    this.f64![i] = v;
    this.n = i + 1;
  }

  /** REQUIRES: the builder's type is S. */
  pushString(v: string): void {
    const i = this.n;
    if (i >= this.capacity) this.grow(i + 1);
    this.setStr(i, v);
    this.n = i + 1;
  }

  pushNull(): void {
    const i = this.n;
    this.grow(i + 1);
    if (this.type === 'S') this.setStr(i, '');
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
      for (let i = start; i < end; i++) this.setStr(base + i - start, c.values[i]!);
    } else {
      (this.num as Uint8Array).set((c.values as Uint8Array).subarray(start, end), base);
    }
    if (c.nulls) {
      for (let i = start; i < end; i++) if (bitGet(c.nulls, i)) this.markNull(base + i - start);
    }
    this.n = base + k;
  }

  /**
   * A string at row i: its code while the chunk has a dictionary, else the string itself. After
   * reset() the string array is written over in place rather than grown again from empty: growing
   * an array of a chunk's strings by pushes reallocates it a couple of dozen times.
   */
  private setStr(i: number, v: string): void {
    const ids = this.ids;
    if (ids !== undefined) {
      const k = ids.code(v);
      if (k >= 0) {
        this.codes![i] = k;
        return;
      }
      this.leaveDictionary(i);
    }
    const s = this.str!;
    if (i < s.length) s[i] = v;
    else s.push(v);
  }

  /** Rows [0, n) from codes to strings; this chunk and the builder's later ones are plain strings. */
  private leaveDictionary(n: number): void {
    const s = this.str!;
    const dict = this.dict;
    const codes = this.codes!;
    if (s.length > n) s.length = n;
    for (let j = 0; j < n; j++) {
      const v = dict[codes[j]!]!;
      if (j < s.length) s[j] = v;
      else s.push(v);
    }
    this.ids = undefined;
    this.dict = [];
    this.useDictionary = false;
  }

  /** The state for a new chunk: a dictionary of its own, unless the builder left dictionaries. */
  private newChunk(): void {
    if (this.useDictionary) {
      this.dict = [];
      this.ids = new StringCodes(this.dict);
    }
  }

  /**
   * The rows so far as a column over the builder's own memory, without a copy. It is valid only
   * until the builder is next changed (a push, reset()), so it is for a caller that consumes it at
   * once, as the frame writer encodes a full chunk and then resets its builders.
   */
  view(): Column {
    const n = this.n;
    const nulls = this.nulls?.subarray(0, bitmapBytes(n));
    if (this.type === 'S') {
      if (this.ids)
        return new StringColumn(undefined, n, nulls, { dict: this.dict, codes: this.codes!.subarray(0, n) });
      const s = this.str!;
      if (s.length > n) s.length = n;
      return makeColumn('S', s, n, nulls);
    }
    return makeColumn(this.type, (this.num as Uint8Array).subarray(0, n), n, nulls);
  }

  /** Drops the rows pushed so far and keeps the memory for the next ones (see view()). */
  reset(): void {
    this.n = 0;
    this.nulls = undefined;
    this.newChunk();
  }

  /** The built column; the builder is reset and may be reused. */
  finish(): Column {
    const n = this.n;
    const nulls: NullBitmap | undefined = this.nulls ? this.nulls.slice(0, bitmapBytes(n)) : undefined;
    let col: Column;
    if (this.type === 'S' && this.ids) {
      col = new StringColumn(undefined, n, nulls, { dict: this.dict, codes: this.codes!.slice(0, n) });
      this.newChunk();
    } else if (this.type === 'S') {
      col = makeColumn('S', this.str!, n, nulls);
      this.str = [];
      this.newChunk();
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
