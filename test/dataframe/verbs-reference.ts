// Plain-JavaScript references for the query verbs: sorting, grouping, aggregates, joins and windows
// computed row by row over the generated rows, independently of the engine, for the verb tests to
// compare against.

import type { Value } from '../../dataframe/index.js';

export type Row = Value[];

/** Compares values as SQL ORDER BY does here: nulls last unless asked, NaN above numbers. */
function cmpVal(x: Value, y: Value, desc = false, nullsFirst = false): number {
  if (x === y) return 0;
  if (x === null) return nullsFirst ? -1 : 1;
  if (y === null) return nullsFirst ? 1 : -1;
  const c = x < y ? -1 : x > y ? 1 : 0;
  return desc ? -c : c;
}

/** A stable sort of rows by [column index, desc, nullsFirst] keys. */
export function sortRows(rows: Row[], keys: [number, boolean, boolean][]): Row[] {
  return rows
    .map((r, i) => [r, i] as const)
    .sort((a, b) => {
      for (const [c, d, nf] of keys) {
        const x = cmpVal(a[0][c]!, b[0][c]!, d, nf);
        if (x !== 0) return x;
      }
      return a[1] - b[1];
    })
    .map(([r]) => r);
}

/** Groups rows by a key function; groups in first-seen order. */
export function groupRows(rows: Row[], key: (r: Row) => Value[]): Map<string, Row[]> {
  const m = new Map<string, Row[]>();
  for (const r of rows) {
    const k = JSON.stringify(key(r));
    const g = m.get(k);
    if (g) g.push(r);
    else m.set(k, [r]);
  }
  return m;
}

export function nonNull<T>(xs: (T | null)[]): T[] {
  return xs.filter((x): x is T => x !== null);
}

export function sampleVar(xs: number[]): number | null {
  if (xs.length < 2) return null;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
}

/** PostgreSQL percentile_disc: the value at 1-based rank ceil(q * n) of the sorted values. */
export function percentileDisc(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(1, Math.ceil(q * s.length)) - 1]!;
}

/** How far (as a share of n) the rank of v is from the target rank ceil(q * n), allowing ties. */
export function rankError(xs: number[], v: number, q: number): number {
  const below = xs.filter((x) => x < v).length;
  const upTo = xs.filter((x) => x <= v).length;
  const target = Math.max(1, Math.ceil(q * xs.length));
  const err = target < below + 1 ? below + 1 - target : target > upTo ? target - upTo : 0;
  return err / xs.length;
}

/** Nested-loop join: left rows with the matching right rows appended (null-filled for a left join). */
export function joinRows(
  left: Row[],
  right: Row[],
  on: [number, number][],
  how: 'inner' | 'left' | 'semi' | 'anti',
): Row[] {
  const out: Row[] = [];
  for (const l of left) {
    const hits = right.filter((r) => on.every(([a, b]) => l[a] !== null && r[b] !== null && l[a] === r[b]));
    if (how === 'semi') {
      if (hits.length) out.push(l);
    } else if (how === 'anti') {
      if (!hits.length) out.push(l);
    } else if (hits.length) for (const r of hits) out.push([...l, ...r]);
    else if (how === 'left') out.push([...l, ...right[0]!.map(() => null)]);
  }
  return out;
}

/** Rounds numbers so sums computed in another order compare equal. */
export function approx(rows: Row[], digits = 6): Row[] {
  return rows.map((r) => r.map((v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(digits)) : v)));
}
