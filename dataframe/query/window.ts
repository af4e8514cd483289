// Window functions, computed at the client over gathered rows: each partition's rows are ordered
// (stably: ties keep the rows' order) and numbered, ranked, summed or shifted. The rows must fit in
// memory: a query gathers at most MAX_GATHERED_ROWS rows for its windows and fails (TOO_LARGE) beyond,
// so memory is bounded by that many rows of the columns the query reads. docs/dataframe.md "Windows".

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { ColumnBuilder } from '../column-builder.js';
import type { Column } from '../column.js';
import { columnIndex, type ColumnType, type Field, type Value } from '../schema.js';
import { groupKeyText, valueBefore } from './group-key.js';
import { compareRows, type SortKey } from './sort.js';

/**
 * Rows a query may gather at the client: for window functions, and for the parts of a SQL statement
 * computed before it (WITH, a subquery in FROM, each branch of a UNION).
 */
export const MAX_GATHERED_ROWS = 5_000_000;

export interface WindowSpec {
  readonly fn:
    | 'rowNumber'
    | 'rank'
    | 'denseRank'
    | 'lag'
    | 'lead'
    | 'sum'
    | 'count'
    | 'mean'
    | 'min'
    | 'max'
    | 'firstValue'
    | 'lastValue'
    | 'ntile'
    | 'percentRank'
    | 'cumeDist';
  /**
   * The column the function reads (all but rowNumber, rank, denseRank, ntile, percentRank and
   * cumeDist; count counts rows without).
   */
  readonly col?: string;
  /** lag/lead: rows back or ahead (default 1). */
  readonly offset?: number;
  /** ntile: the number of buckets the partition's rows are dealt into (an integer >= 1). */
  readonly buckets?: number;
  readonly partitionBy: readonly string[];
  readonly orderBy: readonly SortKey[];
  /**
   * sum, count, mean, min, max, firstValue and lastValue: the rows of the partition each row's value
   * is over. Without one, SQL's default: from the partition's first row to the current row's last
   * peer (equal order keys), the whole partition without orderBy. The other functions take no frame.
   */
  readonly frame?: WindowFrame;
  /** Output column name. */
  readonly as: string;
}

/**
 * A window frame: `rows` counts rows from the current one in the partition's order (start -2: two
 * rows before it; end 0: the row itself); with `rows` false (RANGE) a bound is the partition's end
 * (-Infinity, Infinity) or 0, the current row's first (start) or last (end) peer.
 */
export interface WindowFrame {
  readonly rows: boolean;
  readonly start: number;
  readonly end: number;
}

/** Rows a frame's sums may add up over a whole window column (frames of both ends bounded). */
const MAX_FRAME_WORK = 200_000_000;

/** TypeError unless `f` is a frame SQL allows (an integer or infinite bound; start before end's reach). */
export function checkFrame(f: WindowFrame): void {
  const ok = (x: number): boolean =>
    Number.isSafeInteger(x) || x === Number.POSITIVE_INFINITY || x === Number.NEGATIVE_INFINITY;
  if (!ok(f.start) || !ok(f.end)) throw new TypeError('a window frame bound is a whole number of rows, or unbounded');
  if (f.start === Number.POSITIVE_INFINITY) throw new TypeError('a window frame cannot start at UNBOUNDED FOLLOWING');
  if (f.end === Number.NEGATIVE_INFINITY) throw new TypeError('a window frame cannot end at UNBOUNDED PRECEDING');
  if (!f.rows && ![f.start, f.end].every((x) => x === 0 || !Number.isFinite(x)))
    throw new TypeError('a RANGE frame with an offset is not supported: use ROWS');
  if (f.start === 0 && f.end < 0)
    throw new TypeError('a window frame starting at the current row cannot end before it');
  if (f.start > 0 && f.end <= 0)
    throw new TypeError('a window frame starting after the current row cannot end at or before it');
}

/**
 * TOO_LARGE when `n` rows are more than `what` (window functions, a WITH query, ...) may gather at
 * the client (`max`, MAX_GATHERED_ROWS at most).
 */
export function checkGatheredRows(n: number, max = MAX_GATHERED_ROWS, what = 'window functions'): void {
  if (n > max)
    throw new Eau2Error(
      ErrorCode.TOO_LARGE,
      // "here": a bound lowered for this caller (an HTTP route's), not the library's own.
      `the client gathers at most ${max} rows for ${what}${max < MAX_GATHERED_ROWS ? ' here' : ''}: this query has more (filter first)`,
      { details: { maxGatheredRows: max } },
    );
}

/** The type of a window's output column, given the fields it reads. */
export function windowType(w: WindowSpec, fields: readonly { name: string; type: ColumnType }[]): ColumnType {
  return outType(w, fields.find((f) => f.name === w.col)?.type);
}

/** The functions computed over a frame. */
const FRAMED = new Set<WindowSpec['fn']>(['sum', 'count', 'mean', 'min', 'max', 'firstValue', 'lastValue']);
/** SQL's frame when none is given: the partition's start to the current row's last peer. */
const DEFAULT_FRAME: WindowFrame = { rows: false, start: Number.NEGATIVE_INFINITY, end: 0 };

function outType(w: WindowSpec, input: ColumnType | undefined): ColumnType {
  if (['lag', 'lead', 'min', 'max', 'firstValue', 'lastValue'].includes(w.fn)) return input!;
  return w.fn === 'sum' || w.fn === 'mean' || w.fn === 'percentRank' || w.fn === 'cumeDist' ? 'D' : 'I';
}

/** The columns windows read and extend: a frame's, without depending on the DataFrame class. */
export interface WindowInput {
  readonly fields: readonly Field[];
  readonly columns: readonly Column[];
  readonly nrows: number;
}

/** The input's columns followed by one more per window spec (DataFrame.window wraps them in a frame). */
export function applyWindows(df: WindowInput, specs: readonly WindowSpec[]): { fields: Field[]; columns: Column[] } {
  checkGatheredRows(df.nrows);
  let out = { fields: [...df.fields], columns: [...df.columns] };
  for (const w of specs) out = applyWindow({ ...out, nrows: df.nrows }, w);
  return out;
}

function applyWindow(df: WindowInput, w: WindowSpec): { fields: Field[]; columns: Column[] } {
  const n = df.nrows;
  if (w.fn === 'ntile' && !(Number.isSafeInteger(w.buckets) && w.buckets! >= 1))
    throw new TypeError('ntile needs buckets, an integer >= 1');
  if (
    w.col === undefined &&
    !['rowNumber', 'rank', 'denseRank', 'count', 'ntile', 'percentRank', 'cumeDist'].includes(w.fn)
  )
    throw new TypeError(`${w.fn} needs a column`);
  const column = (name: string): Column => df.columns[columnIndex(df.fields, name)]!;
  const input = w.col === undefined ? undefined : column(w.col);
  if ((w.fn === 'sum' || w.fn === 'mean') && input && input.type !== 'I' && input.type !== 'D')
    throw new TypeError(`window ${w.fn} needs a numeric column; ${w.col} is ${input.type}`);
  // sum, count and mean without a frame keep the running loop below; min, max, firstValue and
  // lastValue always take a frame (SQL's default one when none is given).
  const frame = w.frame ?? (FRAMED.has(w.fn) && !['sum', 'count', 'mean'].includes(w.fn) ? DEFAULT_FRAME : undefined);
  const framed = frame !== undefined && FRAMED.has(w.fn);
  if (framed) checkFrame(frame);
  const pcols = w.partitionBy.map(column);
  const ocols = w.orderBy.map((k) => column(k.col));
  const parts = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const key = groupKeyText(pcols.map((c) => c.get(i)));
    let p = parts.get(key);
    if (!p) parts.set(key, (p = []));
    p.push(i);
  }
  const res = new Array<Value>(n).fill(null);
  const okey = (i: number): Value[] => ocols.map((c) => c.get(i));
  let work = 0;
  for (const rows of parts.values()) {
    const keys = rows.map(okey);
    const order = rows.map((_, j) => j).sort((a, b) => compareRows(keys[a]!, keys[b]!, w.orderBy) || a - b);
    const peer = (a: number, b: number): boolean => compareRows(keys[order[a]!]!, keys[order[b]!]!, w.orderBy) === 0;
    const m = order.length;
    if (framed) {
      const sorted = order.map((k) => rows[k]!);
      work += framedAggregate(w, frame, sorted, input, peer, res);
      if (work > MAX_FRAME_WORK)
        throw new Eau2Error(
          ErrorCode.TOO_LARGE,
          `window ${w.fn} over a frame of ${frame.end - frame.start + 1} rows reads more than ${MAX_FRAME_WORK} values: use a narrower frame or one that starts or ends unbounded`,
        );
      continue;
    }
    const step = w.offset ?? 1;
    let rank = 0;
    let dense = 0;
    let sum = 0;
    let cnt = 0;
    let j = 0;
    while (j < m) {
      // A peer group: rows with equal order keys share rank and (RANGE frame) running sums.
      let e = j + 1;
      while (e < m && peer(j, e)) e++;
      rank = j + 1;
      dense++;
      if (w.fn === 'sum' || w.fn === 'count' || w.fn === 'mean') {
        for (let k = j; k < e; k++) {
          const v = input ? input.get(rows[order[k]!]!) : 1;
          if (v !== null) (sum += v as number), cnt++;
        }
      }
      for (let k = j; k < e; k++) {
        const r = rows[order[k]!]!;
        switch (w.fn) {
          case 'rowNumber':
            res[r] = k + 1;
            break;
          case 'rank':
            res[r] = rank;
            break;
          case 'denseRank':
            res[r] = dense;
            break;
          case 'percentRank':
            res[r] = m > 1 ? (rank - 1) / (m - 1) : 0;
            break;
          case 'cumeDist':
            // The rows up to the last of this row's peers, over the partition's.
            res[r] = e / m;
            break;
          case 'ntile': {
            // m rows dealt into n buckets in order, the first m mod n buckets one row larger.
            const n = w.buckets!;
            const q = Math.floor(m / n);
            const big = (m % n) * (q + 1);
            res[r] = k < big ? Math.floor(k / (q + 1)) + 1 : Math.floor((k - big) / q) + (m % n) + 1;
            break;
          }
          case 'lag':
          case 'lead': {
            const t = w.fn === 'lag' ? k - step : k + step;
            res[r] = t >= 0 && t < m ? input!.get(rows[order[t]!]!) : null;
            break;
          }
          case 'sum':
            res[r] = cnt === 0 ? null : sum;
            break;
          case 'count':
            res[r] = cnt;
            break;
          case 'mean':
            res[r] = cnt === 0 ? null : sum / cnt;
            break;
        }
      }
      j = e;
    }
  }
  const b = new ColumnBuilder(outType(w, input?.type), Math.max(1, n), w.as);
  for (const v of res) b.push(v);
  return {
    fields: [...df.fields, { name: w.as, type: outType(w, input?.type) }],
    columns: [...df.columns, b.finish()],
  };
}

/**
 * sum, count or mean over each row's frame of one partition (`sorted`: its rows in the window's
 * order), written into `res`; returns the values added. A frame starting at the partition's start
 * sums in order as a running total (the same additions, in the same order, as adding the frame's
 * values one by one), one ending at its end as a running total from the end; a frame bounded at both
 * ends adds its values for each row, so that no sum is a difference of two larger ones.
 */
function framedAggregate(
  w: WindowSpec,
  f: WindowFrame,
  sorted: readonly number[],
  input: Column | undefined,
  peer: (a: number, b: number) => boolean,
  res: Value[],
): number {
  const m = sorted.length;
  if (w.fn !== 'sum' && w.fn !== 'count' && w.fn !== 'mean') return framedPick(w, f, sorted, input!, peer, res);
  const vals = sorted.map((r) => (input ? input.get(r) : 1) as number | null);
  const { lo, hi } = frameBounds(f, m, peer);
  const put = (k: number, sum: number, cnt: number): void => {
    const r = sorted[k]!;
    res[r] = w.fn === 'count' ? cnt : cnt === 0 ? null : w.fn === 'sum' ? sum : sum / cnt;
  };
  let work = 0;
  if (f.start === Number.NEGATIVE_INFINITY || f.end === Number.POSITIVE_INFINITY) {
    // Running totals from the unbounded end: sums[i] and cnts[i] over the first (or last) i values.
    const fromStart = f.start === Number.NEGATIVE_INFINITY;
    const sums = new Float64Array(m + 1);
    const cnts = new Int32Array(m + 1);
    for (let i = 0; i < m; i++) {
      const v = vals[fromStart ? i : m - 1 - i] ?? null;
      sums[i + 1] = v === null ? sums[i]! : sums[i]! + v;
      cnts[i + 1] = v === null ? cnts[i]! : cnts[i]! + 1;
    }
    work = m;
    for (let k = 0; k < m; k++) {
      const a = lo(k);
      const b = hi(k);
      if (a > b) put(k, 0, 0);
      else if (fromStart) put(k, sums[b + 1]!, cnts[b + 1]!);
      else put(k, sums[m - a]!, cnts[m - a]!);
    }
    return work;
  }
  for (let k = 0; k < m; k++) {
    let sum = 0;
    let cnt = 0;
    const b = hi(k);
    for (let i = lo(k); i <= b; i++) {
      const v = vals[i]!;
      if (v !== null) (sum += v), cnt++;
    }
    work += Math.max(0, b - lo(k) + 1);
    put(k, sum, cnt);
  }
  return work;
}

/** The first (lo) and last (hi) position of each row's frame in a partition of m rows; empty when lo > hi. */
function frameBounds(
  f: WindowFrame,
  m: number,
  peer: (a: number, b: number) => boolean,
): { lo: (k: number) => number; hi: (k: number) => number } {
  // RANGE's current-row bounds are the current row's first and last peer.
  const first = new Int32Array(m);
  const last = new Int32Array(m);
  if (!f.rows) {
    for (let j = 0; j < m; ) {
      let e = j + 1;
      while (e < m && peer(j, e)) e++;
      first.fill(j, j, e);
      last.fill(e - 1, j, e);
      j = e;
    }
  }
  return {
    lo: (k) => (f.start === Number.NEGATIVE_INFINITY ? 0 : f.rows ? Math.max(0, k + f.start) : first[k]!),
    hi: (k) => (f.end === Number.POSITIVE_INFINITY ? m - 1 : f.rows ? Math.min(m - 1, k + f.end) : last[k]!),
  };
}

/** Whether x is a better min (or max) than y: nulls never are; NaN is the greatest number, as in min/max aggregates. */
function better(fn: 'min' | 'max', x: Value, y: Value): boolean {
  if (x === null) return false;
  if (y === null) return true;
  return fn === 'min' ? valueBefore(x, y) : valueBefore(y, x);
}

/**
 * min, max, firstValue or lastValue over each row's frame of one partition. firstValue and lastValue
 * read the frame's first and last row, null or not (SQL's RESPECT NULLS); min and max skip nulls, by
 * running extremes from an unbounded end, else by reading each frame (bounded work, as sums).
 */
function framedPick(
  w: WindowSpec,
  f: WindowFrame,
  sorted: readonly number[],
  input: Column,
  peer: (a: number, b: number) => boolean,
  res: Value[],
): number {
  const m = sorted.length;
  const vals = sorted.map((r) => input.get(r));
  const { lo, hi } = frameBounds(f, m, peer);
  if (w.fn === 'firstValue' || w.fn === 'lastValue') {
    for (let k = 0; k < m; k++) {
      const a = lo(k);
      const b = hi(k);
      res[sorted[k]!] = a > b ? null : vals[w.fn === 'firstValue' ? a : b]!;
    }
    return m;
  }
  const fn = w.fn as 'min' | 'max';
  if (f.start === Number.NEGATIVE_INFINITY || f.end === Number.POSITIVE_INFINITY) {
    // Running extremes from the unbounded end: run[i] over the first (or last) i values.
    const fromStart = f.start === Number.NEGATIVE_INFINITY;
    const run = new Array<Value>(m + 1).fill(null);
    for (let i = 0; i < m; i++) {
      const v = vals[fromStart ? i : m - 1 - i]!;
      run[i + 1] = better(fn, v, run[i]!) ? v : run[i]!;
    }
    for (let k = 0; k < m; k++) {
      const a = lo(k);
      const b = hi(k);
      res[sorted[k]!] = a > b ? null : fromStart ? run[b + 1]! : run[m - a]!;
    }
    return m;
  }
  let work = 0;
  for (let k = 0; k < m; k++) {
    let best: Value = null;
    const b = hi(k);
    for (let i = lo(k); i <= b; i++) if (better(fn, vals[i]!, best)) best = vals[i]!;
    work += Math.max(0, b - lo(k) + 1);
    res[sorted[k]!] = best;
  }
  return work;
}
