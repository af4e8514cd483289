// The hash join both strategies share (docs/dataframe.md "Joins"). By broadcast, the right (small)
// frame travels with the query to every node, which builds a hash index of it once and joins each left
// chunk it leads to it; by shuffle (shuffle.ts), a node indexes one bucket of the right side and joins
// the same bucket of the left. Either way the query plan then runs over the joined chunks exactly as
// over a stored frame (filters, group-by, partial aggregates, top-k), so only partial results travel back.

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { bodyToColumn, columnToBody, type ChunkBody } from '../chunk-codec.js';
import { ColumnBuilder } from '../column-builder.js';
import { StringColumn, bitGet, bitSet, bitmapBytes, type Column } from '../column.js';
import { checkFields, type Field } from '../schema.js';
import type { ChunkCols } from './eval.js';
import type { Expr } from './expr-base.js';
import { checkExpr } from './expr.js';
import { compileFilter } from './filter.js';
import { gather, type ChunkLoader } from './partial.js';

export const JOIN_TYPES = ['inner', 'left', 'semi', 'anti'] as const;
export type JoinType = (typeof JOIN_TYPES)[number];

/** Bytes of right-side columns a broadcast join sends to every node (default). */
export const DEFAULT_BROADCAST_BYTES = 64 * 1024 * 1024;

/** What travels with a join query: the right side's rows and how to match them. */
export interface JoinPayload {
  readonly how: JoinType;
  /** [left column, right column] pairs, all equal for a match (a null key never matches). */
  readonly on: readonly (readonly [string, string])[];
  /**
   * The right side's fields, and a body per field: null for a column the query does not read, which
   * is not sent (a dimension table's wide text columns, when the query reads its key and a name).
   */
  readonly right: { readonly fields: readonly Field[]; readonly bodies: readonly (ChunkBody | null)[] };
  /**
   * A left join's condition on the left row alone (SQL's `a LEFT JOIN b ON a.k = b.k AND a.x = 'y'`):
   * a left row where it is not true matches nothing, and is kept with nulls.
   */
  readonly leftMatch?: Expr;
}

/** Checks a left join's `leftMatch` (a boolean expression over the left frame's columns). */
export function checkLeftMatch(e: unknown, how: JoinType, left: readonly Field[]): Expr | undefined {
  if (e === undefined) return undefined;
  if (how !== 'left') throw new TypeError('join: leftMatch is for left joins');
  const t = checkExpr(e, left);
  if (t !== 'B' && t !== 'N') throw new TypeError(`join: leftMatch must be a boolean expression, not ${t}`);
  return e as Expr;
}

/** The left columns (by index) an expression reads. */
export function readsOf(e: Expr, left: readonly Field[]): number[] {
  const out = new Set<number>();
  const walk = (x: unknown): void => {
    if (x === null || typeof x !== 'object') return;
    if (Array.isArray(x)) return x.forEach(walk);
    const o = x as { op?: unknown; name?: unknown };
    if (o.op === 'col' && typeof o.name === 'string') out.add(left.findIndex((f) => f.name === o.name));
    for (const v of Object.values(o)) walk(v);
  };
  walk(e);
  return [...out].filter((i) => i >= 0);
}

/** The joined frame's fields: left's, then (inner, left) right's, a clashing name suffixed "_right". */
export function joinedFields(
  left: readonly Field[],
  right: readonly Field[],
  how: JoinType,
): { fields: Field[]; rightNames: string[] } {
  if (how === 'semi' || how === 'anti') return { fields: [...left], rightNames: [] };
  const taken = new Set(left.map((f) => f.name));
  const rightNames = right.map((f) => {
    let n = f.name;
    while (taken.has(n)) n = `${n}_right`;
    taken.add(n);
    return n;
  });
  return { fields: [...left, ...right.map((f, i) => ({ name: rightNames[i]!, type: f.type }))], rightNames };
}

/**
 * Most joined rows one left chunk may give beyond its own rows: in a join without keys (a cross join:
 * the chunk's rows times the right side's) checked before they are built, in a join whose right keys
 * repeat as the matches grow. 2^22 rows take 32 MiB of match arrays and 16 MiB per int32 column read,
 * so a node's memory for a chunk stays bounded whatever the keys are.
 */
export const MAX_CROSS_CHUNK_ROWS = 1 << 22;

/** Checks [left, right] key pairs: 0 to 16 of them (none: every left row with every right row). */
export function checkJoinKeys(on: unknown, left: readonly Field[], right: readonly Field[]): [string, string][] {
  if (!Array.isArray(on) || on.length > 16) throw new TypeError('join takes 0 to 16 key pairs');
  return on.map((p) => {
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string' || typeof p[1] !== 'string')
      throw new TypeError('a join key is a [left column, right column] pair');
    const l = left.find((f) => f.name === p[0]);
    const r = right.find((f) => f.name === p[1]);
    if (!l) throw new TypeError(`join: no left column named ${JSON.stringify(p[0])}`);
    if (!r) throw new TypeError(`join: no right column named ${JSON.stringify(p[1])}`);
    const num = (t: string): boolean => t === 'I' || t === 'D';
    if (l.type !== r.type && !(num(l.type) && num(r.type)))
      throw new TypeError(`join: cannot match ${p[0]} (${l.type}) with ${p[1]} (${r.type})`);
    return [p[0], p[1]] as [string, string];
  });
}

/** A join prepared on a node: the joined fields, and a loader that joins each left chunk. */
export interface PreparedJoin {
  readonly fields: Field[];
  wrap(
    load: ChunkLoader,
    leftRows: (chunk: number) => number,
  ): { load: ChunkLoader; rowsOf: (chunk: number) => number };
}

/** `c`'s rows at `idx`, null where an index is -1. */
export function gatherOrNull(c: Column, idx: Int32Array): Column {
  const b = new ColumnBuilder(c.type, Math.max(1, idx.length));
  for (let j = 0; j < idx.length; j++) {
    const r = idx[j]!;
    if (r < 0) b.pushNull();
    else b.push(c.get(r));
  }
  return b.finish();
}

export function checkJoinType(how: unknown): JoinType {
  if (!(JOIN_TYPES as readonly unknown[]).includes(how))
    throw new TypeError(`join type must be one of ${JOIN_TYPES.join(', ')}`);
  return how as JoinType;
}

/** Checks a join payload (from the network) against the left frame's fields and indexes the right side. */
export function prepareJoin(raw: unknown, left: readonly Field[]): PreparedJoin {
  const p = raw as JoinPayload;
  if (p === null || typeof p !== 'object') throw new TypeError('a join payload is an object');
  const how = checkJoinType(p.how);
  const rf = p.right?.fields;
  if (!Array.isArray(rf) || !Array.isArray(p.right.bodies) || p.right.bodies.length !== rf.length)
    throw new TypeError('join: the right side needs fields and one body per field');
  checkFields(rf);
  const on = checkJoinKeys(p.on, left, rf);
  const leftMatch = checkLeftMatch(p.leftMatch, how, left);
  const rcols = rf.map((f, i) => {
    const b = p.right.bodies[i];
    return b === null ? undefined : bodyToColumn(b, `join right column ${f.name}`, f.type);
  });
  for (const [, r] of on)
    if (rcols[rf.findIndex((f) => f.name === r)] === undefined)
      throw new TypeError(`join: the right side's key column ${r} was not sent`);
  if (rf.length > 0 && rcols.every((c) => c === undefined))
    throw new TypeError('join: the right side needs at least one column sent (its row count)');
  return indexJoin(how, on, left, rf, rcols, leftMatch);
}

/**
 * Indexes the right side's rows by key (rows with a null key are left out: they never match) and
 * returns the joined fields and a loader that joins each left chunk to them. `on` and the fields
 * must have been checked (checkJoinKeys, checkFields).
 */
export function indexJoin(
  how: JoinType,
  on: readonly (readonly [string, string])[],
  left: readonly Field[],
  rf: readonly Field[],
  /** undefined for a column not sent (the plan must not read it): see JoinPayload. */
  rcols: readonly (Column | undefined)[],
  /** Checked (checkLeftMatch). */
  leftMatch?: Expr,
): PreparedJoin {
  const rn = rcols.find((c) => c !== undefined)?.length ?? 0;
  if (rcols.some((c) => c !== undefined && c.length !== rn))
    throw new TypeError('join: right columns differ in length');
  const rkeys = on.map(([, r]) => rcols[rf.findIndex((f) => f.name === r)]!);
  const nk = rkeys.length;
  const single = nk === 1;
  // The right rows by key. Keys of several columns index nested maps, a level per column, so that
  // no row makes a text of its key (groupKeyText) or an array of its values; a Map's keys are equal
  // as group keys are (SameValueZero: 0 and -0 one key, every NaN one key, 5 and 5n two).
  const index = new Map<unknown, number[]>();
  const nested = new Map<unknown, unknown>();
  // (A join without keys indexes nothing: every right row matches.)
  rows: for (let r = 0; r < (nk > 0 ? rn : 0); r++) {
    if (single) {
      const v = rkeys[0]!.get(r);
      if (v === null) continue;
      const list = index.get(v);
      if (list) list.push(r);
      else index.set(v, [r]);
      continue;
    }
    for (let j = 0; j < nk; j++) if (rkeys[j]!.get(r) === null) continue rows;
    let level = nested;
    for (let j = 0; j < nk - 1; j++) {
      const v = rkeys[j]!.get(r);
      let next = level.get(v) as Map<unknown, unknown> | undefined;
      if (next === undefined) level.set(v, (next = new Map()));
      level = next;
    }
    const v = rkeys[nk - 1]!.get(r);
    const list = level.get(v) as number[] | undefined;
    if (list) list.push(r);
    else level.set(v, [r]);
  }
  // Every key on one right row (a dimension table's primary key): an inner join's dictionary-coded
  // left key then maps each code to that row, and each left row to at most one match.
  let uniqueRight = single;
  for (const rows of index.values())
    if (rows.length !== 1) {
      uniqueRight = false;
      break;
    }
  const { fields } = joinedFields(left, rf, how);
  const lkeys = on.map(([l]) => left.findIndex((f) => f.name === l));
  const match = leftMatch === undefined ? undefined : compileFilter(leftMatch, left);
  // A join without keys matches every right row: one list of them, not a lookup per left row.
  const allRight = on.length === 0 ? Array.from({ length: rn }, (_, i) => i) : [];
  const matchReads = leftMatch === undefined ? [] : readsOf(leftMatch, left);
  const nl = left.length;
  const semiAnti = how === 'semi' || how === 'anti';
  // Right string columns are handed on as dictionaries over the right side's strings, the rows as
  // indexes into them, so a group-by on a right column (the usual dimension-table query) looks each
  // string up once per chunk rather than once per row. Only while the right side is small: a group-by
  // allocates one slot per dictionary entry per chunk.
  const rdicts = rcols.map((c) => (c?.type === 'S' && rn <= MAX_DICT_RIGHT_ROWS ? rightDictionary(c) : undefined));
  return {
    fields,
    wrap(load, leftRows) {
      const counts = new Map<number, number>();
      return {
        rowsOf: (chunk) => counts.get(chunk)!,
        load: async (chunk, reads) => {
          for (const i of reads)
            if (i >= nl && rcols[i - nl] === undefined)
              throw new TypeError(`join: the plan reads right column ${rf[i - nl]!.name}, which was not sent`);
          const need = new Set(reads.filter((i) => i < nl));
          for (const k of lkeys) need.add(k);
          for (const k of matchReads) need.add(k);
          const cols = await load(
            chunk,
            [...need].sort((a, b) => a - b),
          );
          const n = leftRows(chunk);
          if (lkeys.length === 0 && n * rn > MAX_CROSS_CHUNK_ROWS)
            throw new Eau2Error(
              ErrorCode.TOO_LARGE,
              `a join without keys gives ${n * rn} rows for one chunk (${n} x ${rn} right rows), over ${MAX_CROSS_CHUNK_ROWS}`,
              { details: { rows: n * rn, maxRows: MAX_CROSS_CHUNK_ROWS } },
            );
          const kc = lkeys.map((i) => cols[i]!);
          if (matchScratch === undefined || matchScratch.left.length < n) matchScratch = new Matches(n);
          const m = matchScratch;
          m.length = 0;
          m.missing = false;
          m.limit = Math.max(n, MAX_CROSS_CHUNK_ROWS);
          m.chunkRows = n;
          // Left rows where leftMatch is not true match nothing (a left join keeps them, with nulls).
          let unmatched: Uint8Array | undefined;
          if (match) {
            unmatched = new Uint8Array(n).fill(1);
            for (const r of match(cols, n)) unmatched[r] = 0;
          }
          const emit = (r: number, found: number[] | undefined): void => {
            const hits = unmatched?.[r] ? undefined : found;
            if (semiAnti) {
              if ((hits !== undefined) === (how === 'semi')) m.push(r, 0);
            } else if (hits) {
              for (let h = 0; h < hits.length; h++) m.push(r, hits[h]!);
            } else if (how === 'left') m.push(r, -1);
          };
          if (lkeys.length === 0) {
            // No keys: every left row with every right row (counted against MAX_CROSS_CHUNK_ROWS above).
            const all = rn > 0 ? allRight : undefined;
            for (let r = 0; r < n; r++) emit(r, all);
          } else if (single) {
            const c = kc[0]!;
            const nulls = c.nulls;
            const dict = c.type === 'S' ? c.dictionary : undefined;
            if (dict && how === 'inner' && uniqueRight && dict.dict.length <= n) {
              // The matches written straight into their arrays (at most one per left row, so they
              // fit): per code its right row (-1 for none) first, then one loop per code array type.
              // (A dictionary larger than the chunk, a slice's, takes the lazy loop below.)
              const rowOf = new Int32Array(dict.dict.length);
              for (let code = 0; code < rowOf.length; code++) {
                const hits = index.get(dict.dict[code]!);
                rowOf[code] = hits === undefined ? -1 : hits[0]!;
              }
              const codes = dict.codes;
              m.length =
                nulls !== undefined
                  ? uniqueMatchesNulls(codes, nulls, n, rowOf, m.left, m.right)
                  : codes instanceof Uint8Array
                    ? uniqueMatches8(codes, n, rowOf, m.left, m.right)
                    : codes instanceof Uint16Array
                      ? uniqueMatches16(codes, n, rowOf, m.left, m.right)
                      : uniqueMatches32(codes, n, rowOf, m.left, m.right);
            } else if (dict && how === 'inner' && uniqueRight) {
              // As above, each code looked up when first met (-2: not yet).
              const rowOf = new Int32Array(dict.dict.length).fill(-2);
              const codes = dict.codes;
              const ml = m.left;
              const mr = m.right;
              let k = 0;
              for (let r = 0; r < n; r++) {
                if (nulls !== undefined && bitGet(nulls, r)) continue;
                const code = codes[r]!;
                let h = rowOf[code]!;
                if (h === -2) {
                  const hits = index.get(dict.dict[code]!);
                  rowOf[code] = h = hits === undefined ? -1 : hits[0]!;
                }
                ml[k] = r;
                mr[k] = h;
                k += +(h >= 0);
              }
              m.length = k;
            } else if (dict) {
              // One lookup per distinct string of the chunk, then an array read per row.
              const byCode = new Array<number[] | undefined | null>(dict.dict.length).fill(null);
              const codes = dict.codes;
              for (let r = 0; r < n; r++) {
                if (nulls !== undefined && bitGet(nulls, r)) {
                  emit(r, undefined);
                  continue;
                }
                const code = codes[r]!;
                let hits = byCode[code];
                if (hits === null) byCode[code] = hits = index.get(dict.dict[code]!);
                emit(r, hits);
              }
            } else {
              for (let r = 0; r < n; r++) {
                const v = c.get(r);
                emit(r, v === null ? undefined : index.get(v));
              }
            }
          } else {
            rows: for (let r = 0; r < n; r++) {
              let level: unknown = nested;
              for (let j = 0; j < nk; j++) {
                const v = kc[j]!.get(r);
                level = v === null ? undefined : (level as Map<unknown, unknown>).get(v);
                if (level === undefined) {
                  emit(r, undefined);
                  continue rows;
                }
              }
              emit(r, level as number[]);
            }
          }
          counts.set(chunk, m.length);
          const lIdx = m.left.subarray(0, m.length);
          const rIdx = m.right.subarray(0, m.length);
          const out: (Column | undefined)[] = new Array(fields.length);
          for (const i of reads) {
            // Left rows are all present (typed-array gather); right rows may be missing (-1, left join).
            if (i < nl) out[i] = gather(cols[i]!, lIdx);
            else if (how === 'left' && m.missing) out[i] = gatherOrNull(rcols[i - nl]!, rIdx);
            else {
              const rows = new Uint32Array(rIdx.buffer, rIdx.byteOffset, rIdx.length);
              const d = rdicts[i - nl];
              out[i] = d ? gatherDictionary(d, rows) : gather(rcols[i - nl]!, rows);
            }
          }
          // A chunk whose matches grew past KEPT_MATCHES (keys repeating on the right) leaves them.
          if (m.left.length > KEPT_MATCHES) matchScratch = undefined;
          return out as ChunkCols;
        },
      };
    },
  };
}

// The match arrays are scratch: every output column is gathered from them (copied) before a load
// returns, and a load uses them without awaiting after its chunk's columns arrive, so every join of
// the process shares one pair (a pair per query task, ~0.5 MB outside V8's heap for a 62.5k-row
// chunk, brought on a full collection on each node every few warm joins). Arrays grown past
// KEPT_MATCHES entries are let go after their chunk.
const KEPT_MATCHES = 1 << 20;
let matchScratch: Matches | undefined;

// An inner join's matches on a dictionary-coded key with unique right keys: per left row r its right
// row rowOf[code] where there is one (at most one match per row, so the arrays have room). One
// function per code array type, so that each loop reads one array type; rows with a null key (the
// bitmap's) never match.
function uniqueMatches8(codes: Uint8Array, n: number, rowOf: Int32Array, ml: Uint32Array, mr: Int32Array): number {
  let k = 0;
  for (let r = 0; r < n; r++) {
    const h = rowOf[codes[r]!]!;
    ml[k] = r;
    mr[k] = h;
    k += h >= 0 ? 1 : 0;
  }
  return k;
}

function uniqueMatches16(codes: Uint16Array, n: number, rowOf: Int32Array, ml: Uint32Array, mr: Int32Array): number {
  let k = 0;
  for (let r = 0; r < n; r++) {
    const h = rowOf[codes[r]!]!;
    ml[k] = r;
    mr[k] = h;
    k += h >= 0 ? 1 : 0;
  }
  return k;
}

function uniqueMatches32(codes: Uint32Array, n: number, rowOf: Int32Array, ml: Uint32Array, mr: Int32Array): number {
  let k = 0;
  for (let r = 0; r < n; r++) {
    const h = rowOf[codes[r]!]!;
    ml[k] = r;
    mr[k] = h;
    k += h >= 0 ? 1 : 0;
  }
  return k;
}

function uniqueMatchesNulls(
  codes: ArrayLike<number>,
  nulls: Uint8Array,
  n: number,
  rowOf: Int32Array,
  ml: Uint32Array,
  mr: Int32Array,
): number {
  let k = 0;
  for (let r = 0; r < n; r++) {
    if (bitGet(nulls, r)) continue;
    const h = rowOf[codes[r]!]!;
    ml[k] = r;
    mr[k] = h;
    k += h >= 0 ? 1 : 0;
  }
  return k;
}

/** Right sides up to this many rows hand their string columns on as dictionaries (see indexJoin). */
const MAX_DICT_RIGHT_ROWS = 65_536;

/** A chunk's matches: left row and right row (-1: none, a left join's unmatched row) per joined row. */
class Matches {
  left: Uint32Array;
  right: Int32Array;
  length = 0;
  missing = false;
  /** Most matches this chunk may have (its own rows, or MAX_CROSS_CHUNK_ROWS if more). */
  limit = MAX_CROSS_CHUNK_ROWS;
  chunkRows = 0;

  constructor(n: number) {
    this.left = new Uint32Array(Math.max(16, n));
    this.right = new Int32Array(Math.max(16, n));
  }

  push(l: number, r: number): void {
    if (this.length === this.left.length) {
      if (this.length >= this.limit)
        throw new Eau2Error(
          ErrorCode.TOO_LARGE,
          `a join gives more than ${this.limit} rows for one chunk of ${this.chunkRows} rows (its keys repeat on the right side): filter or aggregate a side first`,
          { details: { rows: this.length, maxRows: this.limit } },
        );
      const size = Math.min(this.length * 2, this.limit);
      const nl = new Uint32Array(size);
      nl.set(this.left);
      this.left = nl;
      const nr = new Int32Array(size);
      nr.set(this.right);
      this.right = nr;
    }
    this.left[this.length] = l;
    this.right[this.length++] = r;
    if (r < 0) this.missing = true;
  }
}

/** A right string column as a dictionary (its strings) and per right row the code and null bit. */
interface RightDictionary {
  dict: readonly string[];
  codes: Uint32Array;
  nulls: Column['nulls'];
}

function rightDictionary(c: Column): RightDictionary {
  const s = c as StringColumn;
  if (s.dictionary) return { dict: s.dictionary.dict, codes: Uint32Array.from(s.dictionary.codes), nulls: s.nulls };
  return { dict: s.values, codes: Uint32Array.from({ length: s.length }, (_, i) => i), nulls: s.nulls };
}

/** Right rows `idx` of a string column as a dictionary-coded column. */
function gatherDictionary(d: RightDictionary, idx: Uint32Array): Column {
  const k = idx.length;
  const codes = new Uint32Array(k);
  for (let j = 0; j < k; j++) codes[j] = d.codes[idx[j]!]!;
  let nulls: Uint8Array | undefined;
  if (d.nulls) {
    const bm = new Uint8Array(bitmapBytes(k));
    let any = false;
    for (let j = 0; j < k; j++) if (bitGet(d.nulls, idx[j]!)) bitSet(bm, j), (any = true);
    if (any) nulls = bm;
  }
  return new StringColumn(undefined, k, nulls, { dict: d.dict, codes });
}

/** The broadcast payload for a right side's columns. */
export function joinPayload(
  how: JoinType,
  on: readonly (readonly [string, string])[],
  rightFields: readonly Field[],
  /** undefined for a column the query does not read (not sent). */
  rightCols: readonly (Column | undefined)[],
  leftMatch?: Expr,
): JoinPayload {
  // Array.from visits the holes of a sparse array (a column not read), where map would keep them holes.
  const right = {
    fields: rightFields,
    bodies: Array.from(rightFields, (_, i) => {
      const c = rightCols[i];
      return c === undefined ? null : columnToBody(c);
    }),
  };
  return leftMatch === undefined ? { how, on, right } : { how, on, right, leftMatch };
}
