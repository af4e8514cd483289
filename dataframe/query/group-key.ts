// Group keys: how rows with equal keys find one group (on a node and again when the client merges
// partial results), and the order of groups in a result. Keys are lists of values; a double may be
// NaN or infinite, which JSON writes as null, so the key text cannot be plain JSON: NaN, Infinity,
// -Infinity and null would all fall into one group.

import type { Value } from '../schema.js';

/**
 * Non-finite doubles and bigints (which JSON cannot write) are written as tagged objects, which no
 * value (number, bool, string, null) can equal.
 */
function keyPart(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return { L: v.toString() };
  return typeof v === 'number' && !Number.isFinite(v) ? { d: String(v) } : v;
}

/** A text equal for two keys iff they name the same group (0 and -0 are one group, like a Map's keys). */
export function groupKeyText(key: readonly Value[]): string {
  // The replacer is a call per value: pay it only for the rare key that needs it.
  for (const v of key)
    if (typeof v === 'bigint' || (typeof v === 'number' && !Number.isFinite(v))) return JSON.stringify(key, keyPart);
  return JSON.stringify(key);
}

/**
 * x before y in a group order or a min/max: nulls are not compared here; NaN comes after every number
 * (as in PostgreSQL), so min and max do not depend on the order in which rows arrive.
 */
export function valueBefore(x: Value, y: Value): boolean {
  if (x !== x) return false; // NaN is before nothing
  if (y !== y) return true; // every number is before NaN
  return x! < y!;
}

/** Orders group keys: nulls first, then by value (NaN last among numbers), column by column. */
export function compareKeys(a: readonly Value[], b: readonly Value[]): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y || (x !== x && y !== y)) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    return valueBefore(x, y) ? -1 : valueBefore(y, x) ? 1 : 0;
  }
  return 0;
}
