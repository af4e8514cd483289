// How cells of each type are written as text (CSV, tables, JSON): int64s as their exact decimal
// digits (never through a double), timestamps as ISO 8601 in UTC with the zone shown ("Z"), dates as
// ISO 8601 dates. Each reads back to the same value on import (io/text-values.ts).

import type { ColumnType, Value } from './schema.js';
import { formatDate, formatTimestamp } from './temporal.js';

/** A non-null cell as text. */
export function cellText(t: ColumnType, v: Exclude<Value, null>): string {
  if (t === 'T') return formatTimestamp(v as bigint);
  if (t === 'd') return formatDate(v as number);
  return String(v);
}

/**
 * A cell as a JSON value for JSON.stringify: timestamps and dates as ISO text, int64s as decimal text
 * (JSON.stringify cannot write a bigint, and a JSON number beyond 2^53 is rounded by most readers),
 * NaN and infinities as null (JSON has none).
 */
export function jsonCell(t: ColumnType, v: Value): Value {
  if (v === null) return null;
  if (t === 'L' || t === 'T' || t === 'd') return cellText(t, v);
  return typeof v === 'number' && !Number.isFinite(v) ? null : v;
}

/** A cell as JSON text: like jsonCell, but an int64 is a bare JSON number of its exact digits. */
export function jsonCellText(t: ColumnType, v: Value): string {
  if (v !== null && t === 'L') return String(v);
  return JSON.stringify(jsonCell(t, v));
}
