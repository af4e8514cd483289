// Window functions, computed at the client over gathered rows: each partition's rows are ordered
// (stably: ties keep the rows' order) and numbered, ranked, summed or shifted. The rows must fit in
// memory: a query gathers at most MAX_GATHERED_ROWS rows for its windows and fails (TOO_LARGE) beyond,
// so memory is bounded by that many rows of the columns the query reads. docs/dataframe.md "Windows".

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { ColumnBuilder } from '../column-builder.js';
import type { Column } from '../column.js';
import { columnIndex, type ColumnType, type Field, type Value } from '../schema.js';
import { groupKeyText } from './group-key.js';
import { compareRows, type SortKey } from './sort.js';

/**
 * Rows a query may gather at the client: for window functions, and for the parts of a SQL statement
 * computed before it (WITH, a subquery in FROM, each branch of a UNION).
 */
export const MAX_GATHERED_ROWS = 5_000_000;

export interface WindowSpec {
  readonly fn: 'rowNumber' | 'rank' | 'denseRank' | 'lag' | 'lead' | 'sum' | 'count' | 'mean';
  /** The column the function reads (lag, lead, sum, count, mean). */
  readonly col?: string;
  /** lag/lead: rows back or ahead (default 1). */
  readonly offset?: number;
  readonly partitionBy: readonly string[];
  readonly orderBy: readonly SortKey[];
  /** Output column name. */
  readonly as: string;
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

function outType(w: WindowSpec, input: ColumnType | undefined): ColumnType {
  if (w.fn === 'lag' || w.fn === 'lead') return input!;
  return w.fn === 'sum' || w.fn === 'mean' ? 'D' : 'I';
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
  if (w.col === undefined && ['lag', 'lead', 'sum', 'mean'].includes(w.fn))
    throw new TypeError(`${w.fn} needs a column`);
  const column = (name: string): Column => df.columns[columnIndex(df.fields, name)]!;
  const input = w.col === undefined ? undefined : column(w.col);
  if ((w.fn === 'sum' || w.fn === 'mean') && input && input.type !== 'I' && input.type !== 'D')
    throw new TypeError(`window ${w.fn} needs a numeric column; ${w.col} is ${input.type}`);
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
  for (const rows of parts.values()) {
    const keys = rows.map(okey);
    const order = rows.map((_, j) => j).sort((a, b) => compareRows(keys[a]!, keys[b]!, w.orderBy) || a - b);
    const peer = (a: number, b: number): boolean => compareRows(keys[order[a]!]!, keys[order[b]!]!, w.orderBy) === 0;
    const m = order.length;
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
