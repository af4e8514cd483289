// Plain-text rendering of frames and frame lists for people (`eau2 df show`, `eau2 df ls`, the demo
// applications): aligned columns, nulls shown as NA, long strings cut, numbers right-aligned.

import type { DataFrame } from './dataframe.js';
import type { FrameInfo } from './meta.js';
import { cellText } from './cell-text.js';
import type { ColumnType, Value } from './schema.js';

const MAX_CELL = 40;

function cell(t: ColumnType, v: Value): string {
  if (v === null) return 'NA';
  const s = typeof v === 'string' ? JSON.stringify(v) : cellText(t, v);
  return s.length > MAX_CELL ? `${s.slice(0, MAX_CELL - 1)}…` : s;
}

/** Renders rows under headers; `right[i]` right-aligns column i. */
export function renderTable(headers: string[], rows: string[][], right: boolean[] = []): string {
  // A loop, not Math.max(...): spreading one argument per row overflows the stack at ~125k rows.
  const widths = headers.map((h) => h.length);
  for (const r of rows) for (let i = 0; i < widths.length; i++) if (r[i]!.length > widths[i]!) widths[i] = r[i]!.length;
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')}\n`;
}

/** A frame as a table with a "name:type" header, plus a footer when rows were left out. */
export function renderFrame(df: DataFrame, totalRows = df.nrows): string {
  const headers = df.fields.map((f) => `${f.name}:${f.type}`);
  const right = df.fields.map((f) => f.type === 'I' || f.type === 'D' || f.type === 'L');
  const rows = [...df.rows()].map((r) => r.map((v, i) => cell(df.fields[i]!.type, v)));
  const more = totalRows > df.nrows ? `... ${totalRows - df.nrows} more rows (${totalRows} in all)\n` : '';
  return renderTable(headers, rows, right) + more;
}

export function renderFrameList(list: FrameInfo[]): string {
  if (list.length === 0) return '(no dataframes)\n';
  return renderTable(
    ['name', 'rows', 'cols', 'schema', 'chunks', 'version', 'created'],
    list.map((f) => [f.name, String(f.nrows), String(f.ncols), f.schema, String(f.nchunks), f.version, f.created]),
    [false, true, true, false, true, false, false],
  );
}
