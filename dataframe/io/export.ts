// Streaming export of a frame as CSV or JSON, one chunk at a time with the output's backpressure
// respected, so exporting a frame larger than memory holds only the chunks being written. CSV output
// re-imports to the same values: nulls are empty fields and empty strings are written "" so the two stay
// apart in the file (on import an empty field is a null either way; see docs/dataframe.md).

import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { DataFrame } from '../dataframe.js';
import type { LazyFrame } from '../lazy-frame.js';
import type { Field, Value } from '../schema.js';

export type Exportable = DataFrame | LazyFrame;

export interface ExportOptions {
  /** CSV delimiter (default ','). */
  delimiter?: string;
  /** JSON: one object per line (NDJSON) instead of one array. */
  ndjson?: boolean;
  /** At most this many rows. */
  limit?: number;
}

async function* chunksOf(f: Exportable, limit: number): AsyncGenerator<DataFrame> {
  let left = limit;
  const it: AsyncIterable<DataFrame> =
    f instanceof DataFrame
      ? (async function* () {
          for (let s = 0; s < f.nrows; s += 65_536) yield f.slice(s, s + 65_536);
        })()
      : f.chunks({ lend: true }); // each chunk is written out before the next is asked for
  for await (const c of it) {
    if (left <= 0) return;
    yield c.nrows > left ? c.slice(0, left) : c;
    left -= c.nrows;
  }
}

async function write(out: Writable, s: string): Promise<void> {
  if (!out.write(s)) await once(out, 'drain');
}

export function csvField(v: Value, delimiter = ','): string {
  if (v === null) return '';
  if (typeof v !== 'string') return String(v);
  if (v === '' || v.includes('"') || v.includes(delimiter) || v.includes('\n') || v.includes('\r') || v.trim() !== v) {
    return `"${v.replaceAll('"', '""')}"`;
  }
  return v;
}

export async function exportCsv(f: Exportable, out: Writable, opts: ExportOptions = {}): Promise<number> {
  const d = opts.delimiter ?? ',';
  await write(out, f.fields.map((x: Field) => csvField(x.name, d)).join(d) + '\n');
  let rows = 0;
  for await (const c of chunksOf(f, opts.limit ?? Number.POSITIVE_INFINITY)) {
    const lines: string[] = [];
    for (const row of c.rows()) lines.push(row.map((v) => csvField(v, d)).join(d));
    rows += c.nrows;
    if (lines.length) await write(out, lines.join('\n') + '\n');
  }
  return rows;
}

/** JSON has no NaN or Infinity: those doubles are written as null (the CSV export keeps them). */
function jsonValue(v: Value): Value {
  return typeof v === 'number' && !Number.isFinite(v) ? null : v;
}

export async function exportJson(f: Exportable, out: Writable, opts: ExportOptions = {}): Promise<number> {
  const names = f.fields.map((x: Field) => x.name);
  const nd = opts.ndjson ?? false;
  let rows = 0;
  if (!nd) await write(out, '[');
  for await (const c of chunksOf(f, opts.limit ?? Number.POSITIVE_INFINITY)) {
    const parts: string[] = [];
    for (const row of c.rows()) {
      const obj: Record<string, Value> = {};
      for (let i = 0; i < names.length; i++) obj[names[i]!] = jsonValue(row[i]!);
      parts.push((nd ? '' : rows + parts.length === 0 ? '\n' : ',\n') + JSON.stringify(obj) + (nd ? '\n' : ''));
    }
    rows += c.nrows;
    if (parts.length) await write(out, parts.join(''));
  }
  if (!nd) await write(out, rows === 0 ? ']\n' : '\n]\n');
  return rows;
}
