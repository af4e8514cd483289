// Plain-text rendering of frames and frame lists for people (`eau2 df show`, `eau2 df ls`, the demo
// applications): aligned columns, nulls shown as NA, long strings cut, numbers right-aligned.

import type { Writable } from 'node:stream';
import type { DataFrame } from './dataframe.js';
import type { FrameInfo } from './meta.js';
import { cellText } from './cell-text.js';
import { outputReady } from './io/export.js';
import type { ColumnType, Value } from './schema.js';

const MAX_CELL = 40;

function cell(t: ColumnType, v: Value): string {
  if (v === null) return 'NA';
  const s = typeof v === 'string' ? JSON.stringify(v) : cellText(t, v);
  return s.length > MAX_CELL ? `${s.slice(0, MAX_CELL - 1)}…` : s;
}

/** A table's line of cells, each padded to its column's width (numbers to the right). */
function liner(widths: readonly number[], right: readonly boolean[]): (cells: string[]) => string {
  return (cells) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
}

/** Widens `widths` to fit `cells` (a loop: Math.max(...) of one argument per row overflows the stack). */
function widen(widths: number[], cells: readonly string[]): void {
  for (let i = 0; i < widths.length; i++) if (cells[i]!.length > widths[i]!) widths[i] = cells[i]!.length;
}

/** Renders rows under headers; `right[i]` right-aligns column i. */
export function renderTable(headers: string[], rows: string[][], right: boolean[] = []): string {
  const widths = headers.map((h) => h.length);
  for (const r of rows) widen(widths, r);
  const line = liner(widths, right);
  return `${[line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')}\n`;
}

/** A frame's table header ("name:type") and which columns are right-aligned (numbers). */
function frameHead(df: DataFrame): { headers: string[]; right: boolean[] } {
  return {
    headers: df.fields.map((f) => `${f.name}:${f.type}`),
    right: df.fields.map((f) => f.type === 'I' || f.type === 'D' || f.type === 'L'),
  };
}

/** A row's cells as the table shows them. */
function cells(df: DataFrame, r: readonly Value[]): string[] {
  return r.map((v, i) => cell(df.fields[i]!.type, v));
}

/** A frame as a table with a "name:type" header, plus a footer when rows were left out. */
export function renderFrame(df: DataFrame, totalRows = df.nrows): string {
  const { headers, right } = frameHead(df);
  const rows = [...df.rows()].map((r) => cells(df, r));
  const more = totalRows > df.nrows ? `... ${totalRows - df.nrows} more rows (${totalRows} in all)\n` : '';
  return renderTable(headers, rows, right) + more;
}

/**
 * renderFrame(df) written to `out` a block of lines at a time, waiting while `out` is full: the text
 * of a result of a million rows is never whole in memory (as one string it took ~1 GB for 800k rows
 * of nine columns). Each cell is rendered twice, once for the column widths and once for its line.
 */
export async function writeFrame(df: DataFrame, out: Writable): Promise<void> {
  const { headers, right } = frameHead(df);
  const widths = headers.map((h) => h.length);
  for (const r of df.rows()) widen(widths, cells(df, r));
  const line = liner(widths, right);
  let block = `${line(headers)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`;
  for (const r of df.rows()) {
    block += `${line(cells(df, r))}\n`;
    if (block.length >= 1 << 16) {
      const more = out.write(block);
      block = '';
      if (!more) await outputReady(out);
      // An output that failed (a reader gone: EPIPE) takes no more: its error is the caller's.
      if (out.errored) throw out.errored;
      if (out.destroyed) return;
    }
  }
  if (block.length > 0) out.write(block);
}

export function renderFrameList(list: FrameInfo[]): string {
  if (list.length === 0) return '(no dataframes)\n';
  return renderTable(
    ['name', 'rows', 'cols', 'schema', 'chunks', 'version', 'created'],
    list.map((f) => [f.name, String(f.nrows), String(f.ncols), f.schema, String(f.nchunks), f.version, f.created]),
    [false, true, true, false, true, false, false],
  );
}
