// Joins of two frames held at the client (gathered rows), for the joins the node-side strategies do
// not run: FULL [OUTER] JOIN and CROSS JOIN. A FULL JOIN must emit each right row that no left row
// matched, which by broadcast no single node knows (each sees only the left chunks it leads) and by
// shuffle only the bucket's node knows; at the client, over both sides whole, it is one hash join and
// one pass over the right rows. Both joins count their rows before building any column and fail with
// TOO_LARGE past `maxRows`, so a product of two large sides never allocates. docs/dataframe.md "Joins".

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { Column } from '../column.js';
import { DataFrame } from '../dataframe.js';
import type { Value } from '../schema.js';
import { groupKeyText } from './group-key.js';
import { gatherOrNull, joinedFields } from './join.js';

function tooLarge(what: string, rows: number, maxRows: number): Eau2Error {
  return new Eau2Error(
    ErrorCode.TOO_LARGE,
    `the ${what} gives ${rows} rows, over the ${maxRows} the client gathers for it (filter the sides first)`,
    { details: { rows, maxGatheredRows: maxRows } },
  );
}

/** The joined frame (left's columns, then right's, a clashing name suffixed `_right`) from row pairs. */
function build(left: DataFrame, right: DataFrame, li: Int32Array, ri: Int32Array): DataFrame {
  const { fields } = joinedFields(left.fields, right.fields, 'inner');
  return DataFrame.fromFields(fields, [
    ...left.columns.map((c) => gatherOrNull(c, li)),
    ...right.columns.map((c) => gatherOrNull(c, ri)),
  ]);
}

/** Every left row with every right row, in left order; TOO_LARGE past `maxRows` rows. */
export function crossJoin(left: DataFrame, right: DataFrame, maxRows: number): DataFrame {
  const n = left.nrows * right.nrows;
  if (n > maxRows) throw tooLarge('CROSS JOIN', n, maxRows);
  const li = new Int32Array(n);
  const ri = new Int32Array(n);
  for (let l = 0, at = 0; l < left.nrows; l++)
    for (let r = 0; r < right.nrows; r++, at++) {
      li[at] = l;
      ri[at] = r;
    }
  return build(left, right, li, ri);
}

/**
 * The full outer join on `on` ([left, right] column pairs, all equal for a match; a null key never
 * matches, as in every join): each left row with each right row it matches, or with nulls; then
 * each right row no left row matched, with nulls. TOO_LARGE past `maxRows` rows.
 */
export function fullJoin(
  left: DataFrame,
  right: DataFrame,
  on: readonly (readonly [string, string])[],
  maxRows: number,
): DataFrame {
  const single = on.length === 1;
  const keyOf = (cols: readonly Column[], r: number): unknown => {
    const vals: Value[] = cols.map((c) => c.get(r));
    if (vals.some((v) => v === null)) return undefined;
    return single ? vals[0] : groupKeyText(vals);
  };
  const lkeys = on.map(([l]) => left.column(l));
  const rkeys = on.map(([, r]) => right.column(r));
  const index = new Map<unknown, number[]>();
  for (let r = 0; r < right.nrows; r++) {
    const k = keyOf(rkeys, r);
    if (k === undefined) continue;
    const rows = index.get(k);
    if (rows) rows.push(r);
    else index.set(k, [r]);
  }
  // Count first: the output's size is known before anything is allocated for it.
  const hits: (number[] | undefined)[] = new Array(left.nrows);
  const matched = new Uint8Array(right.nrows);
  let n = 0;
  for (let l = 0; l < left.nrows; l++) {
    const k = keyOf(lkeys, l);
    const rows = k === undefined ? undefined : index.get(k);
    hits[l] = rows;
    n += rows ? rows.length : 1;
    if (rows) for (const r of rows) matched[r] = 1;
    if (n > maxRows) throw tooLarge('FULL JOIN', n, maxRows);
  }
  for (let r = 0; r < right.nrows; r++) n += 1 - matched[r]!;
  if (n > maxRows) throw tooLarge('FULL JOIN', n, maxRows);
  const li = new Int32Array(n);
  const ri = new Int32Array(n);
  let at = 0;
  for (let l = 0; l < left.nrows; l++) {
    const rows = hits[l];
    if (!rows) {
      li[at] = l;
      ri[at++] = -1;
    } else
      for (const r of rows) {
        li[at] = l;
        ri[at++] = r;
      }
  }
  for (let r = 0; r < right.nrows; r++)
    if (!matched[r]) {
      li[at] = -1;
      ri[at++] = r;
    }
  return build(left, right, li, ri);
}
