// Ordering rows: sort keys, the comparison every sort uses (on a node, at the client, in memory), and
// the bounded heap a node keeps for top-k (ORDER BY ... LIMIT k): each node keeps its best k rows in
// O(rows * log k) time and O(k) memory, the client merges at most k rows per node. Ties keep frame
// order (chunk, then row), so every sort is stable and a query gives one answer however its chunks
// are spread. docs/dataframe.md "Sorting".

import type { Field, Value } from '../schema.js';
import { valueBefore } from './group-key.js';

export interface SortKey {
  readonly col: string;
  /** Descending (default ascending). */
  readonly desc?: boolean;
  /** Where nulls go (default 'last', as DuckDB, whatever the direction). */
  readonly nulls?: 'first' | 'last';
}

/** Validates sort keys (possibly from the network) against `fields`. */
export function checkSortKeys(raw: unknown, fields: readonly Field[]): SortKey[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > 64)
    throw new TypeError('orderBy must be a list of 1 to 64 sort keys');
  return raw.map((k) => {
    const { col, desc, nulls } = (k ?? {}) as Record<string, unknown>;
    if (typeof col !== 'string' || !fields.some((f) => f.name === col))
      throw new TypeError(`orderBy: no column named ${JSON.stringify(col)}`);
    if (desc !== undefined && typeof desc !== 'boolean') throw new TypeError('orderBy: desc must be a boolean');
    if (nulls !== undefined && nulls !== 'first' && nulls !== 'last')
      throw new TypeError('orderBy: nulls must be "first" or "last"');
    for (const f of Object.keys(k as object))
      if (!['col', 'desc', 'nulls'].includes(f)) throw new TypeError(`orderBy: unknown field ${JSON.stringify(f)}`);
    return k as SortKey;
  });
}

/** Spelling of sort keys: 'x' (ascending), '-x' (descending), or a SortKey. */
export type SortSpec = string | SortKey;

export function sortKey(s: SortSpec): SortKey {
  if (typeof s !== 'string') return s;
  return s.startsWith('-') ? { col: s.slice(1), desc: true } : { col: s };
}

/** Compares one key's values: nulls where the key says, NaN above every number, direction applied. */
export function compareValue(x: Value, y: Value, k: SortKey): number {
  if (x === y || (x !== x && y !== y)) return 0;
  const nullsFirst = k.nulls === 'first';
  if (x === null) return nullsFirst ? -1 : 1;
  if (y === null) return nullsFirst ? 1 : -1;
  const c = valueBefore(x, y) ? -1 : valueBefore(y, x) ? 1 : 0;
  return k.desc ? -c : c;
}

export function compareRows(a: readonly Value[], b: readonly Value[], keys: readonly SortKey[]): number {
  for (let i = 0; i < keys.length; i++) {
    const c = compareValue(a[i]!, b[i]!, keys[i]!);
    if (c !== 0) return c;
  }
  return 0;
}

/** A first key as a bound for a scan of numbers: itself (not NaN), a bigint rounded; else undefined. */
function numericBound(v: Value): number | undefined {
  if (typeof v === 'bigint') return Number(v);
  return typeof v === 'number' && v === v ? v : undefined;
}

/** A row's sort key values and frame position: where it falls in a sort. */
export interface RowPlace {
  readonly keys: readonly Value[];
  readonly chunk: number;
  readonly row: number;
}

/** A row held for ordering: its sort key values, its frame position, and its output values. */
export interface Ranked {
  readonly keys: Value[];
  readonly chunk: number;
  readonly row: number;
  readonly values: Value[];
}

export function compareRanked(a: Ranked, b: Ranked, keys: readonly SortKey[]): number {
  return compareRows(a.keys, b.keys, keys) || a.chunk - b.chunk || a.row - b.row;
}

/** Adds `r` to a binary max-heap under `cmp` (the root is the greatest: the worst kept row). */
function heapAdd<T>(h: T[], r: T, cmp: (a: T, b: T) => number): void {
  h.push(r);
  let i = h.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (cmp(h[i]!, h[p]!) <= 0) break;
    [h[i], h[p]] = [h[p]!, h[i]!];
    i = p;
  }
}

/** Puts `r` in place of a max-heap's root and restores the heap. */
function heapReplaceTop<T>(h: T[], r: T, cmp: (a: T, b: T) => number): void {
  h[0] = r;
  for (let i = 0; ; ) {
    const l = 2 * i + 1;
    const rt = l + 1;
    let m = i;
    if (l < h.length && cmp(h[l]!, h[m]!) > 0) m = l;
    if (rt < h.length && cmp(h[rt]!, h[m]!) > 0) m = rt;
    if (m === i) return;
    [h[i], h[m]] = [h[m]!, h[i]!];
    i = m;
  }
}

/**
 * The k best rows seen so far, as a binary max-heap on the order (the root is the worst kept row, the
 * one a better newcomer replaces).
 */
export class TopK {
  private readonly heap: Ranked[] = [];
  constructor(
    readonly k: number,
    private readonly keys: readonly SortKey[],
    /**
     * A row known to have k better ones elsewhere (a paged top-k's bound: page.ts): nothing at or
     * after it is kept, as if it were the worst kept row of a full heap until the heap fills.
     */
    private readonly after?: RowPlace,
  ) {}

  get size(): number {
    return this.heap.length;
  }

  /**
   * Whether a row whose first key is `v` is certainly not kept (worse than the worst kept row on the
   * first key alone): lets the caller skip reading its other keys. Most rows of a top-k over many rows
   * are rejected here, without allocating anything.
   */
  rejectsFirst(v: Value): boolean {
    if (this.heap.length < this.k)
      return this.after !== undefined && compareValue(v, this.after.keys[0]!, this.keys[0]!) > 0;
    if (this.k === 0) return true;
    return compareValue(v, this.heap[0]!.keys[0]!, this.keys[0]!) > 0;
  }

  /**
   * For a full heap whose worst kept row has a number (not NaN) as its first key: that number, so a
   * caller scanning a numeric column can reject rows by one comparison (`rejectsFirst` on a non-null,
   * non-NaN value v is then `desc ? v < bound : v > bound`). An int64 key (a bigint) comes rounded to
   * the nearest double, for a caller comparing its column's values rounded the same way: rounding
   * keeps order, so a value whose rounding is strictly beyond the bound's is strictly beyond the key
   * (equal roundings are left to `rejectsFirst`). Before the heap is full, the `after` row's first
   * key, if given. Undefined otherwise.
   */
  firstBound(): number | undefined {
    if (this.k === 0) return undefined;
    if (this.heap.length < this.k) return this.after === undefined ? undefined : numericBound(this.after.keys[0]!);
    return numericBound(this.heap[0]!.keys[0]!);
  }

  /** Whether a row with these key values at this position would be kept (saves building rejected rows). */
  admits(keys: readonly Value[], chunk: number, row: number): boolean {
    if (this.heap.length < this.k) {
      const a = this.after;
      return a === undefined || (compareRows(keys, a.keys, this.keys) || chunk - a.chunk || row - a.row) < 0;
    }
    if (this.k === 0) return false;
    const top = this.heap[0]!;
    return (compareRows(keys, top.keys, this.keys) || chunk - top.chunk || row - top.row) < 0;
  }

  /** The heap's order; made once (a closure per push cost more than the push, measured). */
  private readonly cmp = (a: Ranked, b: Ranked): number => compareRanked(a, b, this.keys);

  push(r: Ranked): void {
    const h = this.heap;
    if (h.length < this.k) {
      if (this.after !== undefined && !this.admits(r.keys, r.chunk, r.row)) return;
      return heapAdd(h, r, this.cmp);
    }
    if (this.k === 0 || this.cmp(r, h[0]!) >= 0) return;
    heapReplaceTop(h, r, this.cmp);
  }

  /** The worst kept row once k are kept (the k-th best), else undefined. */
  kth(): Ranked | undefined {
    return this.k > 0 && this.heap.length === this.k ? this.heap[0] : undefined;
  }

  /** The kept rows, best first. */
  sorted(): Ranked[] {
    return [...this.heap].sort((a, b) => compareRanked(a, b, this.keys));
  }
}

/**
 * The rows that can be among the best k on the first sort key alone: the k best, plus every other
 * row whose first key equals the k-th best's (a later key or the frame position decides between
 * those). A superset of any top-k by the full keys, so a node can find it from the first key's column
 * and read the other columns only for the chunks it names (late materialization). Bounded: past
 * `maxTies` tied rows it gives up (`overflow`), and the caller reads every column as a plain top-k.
 */
export class FirstKeyTop {
  private readonly heap: Ranked[] = [];
  private ties: Ranked[] = [];
  overflow = false;
  constructor(
    readonly k: number,
    private readonly key: SortKey,
    private readonly maxTies: number,
  ) {}

  /** As TopK's: whether a row whose first key is `v` is certainly not a candidate. */
  rejectsFirst(v: Value): boolean {
    if (this.heap.length < this.k) return false;
    if (this.k === 0) return true;
    return compareValue(v, this.heap[0]!.keys[0]!, this.key) > 0;
  }

  /** As TopK's: the worst kept row's first key, a number or a rounded bigint, while the heap is full. */
  firstBound(): number | undefined {
    if (this.k === 0 || this.heap.length < this.k) return undefined;
    return numericBound(this.heap[0]!.keys[0]!);
  }

  private readonly cmp = (a: Ranked, b: Ranked): number =>
    compareValue(a.keys[0]!, b.keys[0]!, this.key) || a.chunk - b.chunk || a.row - b.row;

  /** Offers a row (`keys` holds its first key alone). */
  push(r: Ranked): void {
    const h = this.heap;
    const cmp = this.cmp;
    if (h.length < this.k) return heapAdd(h, r, cmp);
    if (this.k === 0) return;
    const c = compareValue(r.keys[0]!, h[0]!.keys[0]!, this.key);
    if (c > 0) return;
    if (c === 0) return this.tie(r);
    const out = h[0]!;
    heapReplaceTop(h, r, cmp);
    // The ties held the old worst first key: still tied with the new worst, or now beaten by k rows.
    // (Rows dropped past maxTies were tied with the old worst too: beaten now, so no longer missed.)
    if (compareValue(out.keys[0]!, h[0]!.keys[0]!, this.key) === 0) this.tie(out);
    else {
      this.ties = [];
      this.overflow = false;
    }
  }

  private tie(r: Ranked): void {
    if (this.ties.length >= this.maxTies) this.overflow = true;
    else this.ties.push(r);
  }

  /** The candidates, in frame order (chunk, then row). */
  candidates(): Ranked[] {
    return [...this.heap, ...this.ties].sort((a, b) => a.chunk - b.chunk || a.row - b.row);
  }
}
