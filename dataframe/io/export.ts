// Streaming export of a frame as CSV or JSON, one chunk at a time with the output's backpressure
// respected, so exporting a frame larger than memory holds only the chunks being written. CSV output
// re-imports to the same values: nulls are empty fields and empty strings are written "" so the two stay
// apart in the file (on import an empty field is a null either way; see docs/dataframe.md).

import type { Writable } from 'node:stream';
import { DataFrame } from '../dataframe.js';
import type { LazyFrame } from '../lazy-frame.js';
import { cellText, jsonCellText } from '../cell-text.js';
import type { ColumnType, Field, Value } from '../schema.js';

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

/**
 * Resolves at the output's next 'drain', 'error' or 'close' (at once if it is already destroyed:
 * none of those comes then), with no listener left behind.
 */
export function outputReady(out: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      out.off('error', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('error', done);
    out.on('close', done);
    if (out.destroyed) done();
  });
}

/**
 * Watches the output for the length of one export: an 'error' it emits (a file that cannot be opened,
 * a closed pipe, a full disk) fails the export instead of reaching the process as an unhandled 'error'
 * event, a write after it throws instead of waiting for a 'drain' that never comes, and the export
 * ends only when its last write has been flushed, so a late failure is still the export's.
 */
class Output {
  private failure: Error | undefined;
  private lastWrite: Promise<Error | null | undefined> = Promise.resolve(undefined);
  private readonly onError = (e: Error): void => {
    this.failure ??= e;
  };

  constructor(private readonly out: Writable) {
    out.on('error', this.onError);
  }

  async write(s: string): Promise<void> {
    this.check();
    let more = true;
    this.lastWrite = new Promise((resolve) => {
      more = this.out.write(s, resolve);
    });
    if (!more && !this.failure) await outputReady(this.out);
    this.check();
  }

  /** Waits until the last write is flushed (writes complete in order); throws its error, if any. */
  async flush(): Promise<void> {
    const e = await this.lastWrite;
    if (e) throw this.failure ?? e;
    this.check();
  }

  private check(): void {
    if (this.failure) throw this.failure;
    if (this.out.destroyed) throw new Error('the output was closed before the export finished');
  }

  /** Stops watching: later errors are the caller's again. */
  release(): void {
    this.out.off('error', this.onError);
  }
}

async function exporting<T>(out: Writable, f: (o: Output) => Promise<T>): Promise<T> {
  const o = new Output(out);
  try {
    const result = await f(o);
    await o.flush();
    return result;
  } finally {
    o.release();
  }
}

function csvField(v: Value, delimiter = ',', t: ColumnType = 'S'): string {
  if (v === null) return '';
  if (typeof v !== 'string') return cellText(t, v);
  if (v === '' || v.includes('"') || v.includes(delimiter) || v.includes('\n') || v.includes('\r') || v.trim() !== v) {
    return `"${v.replaceAll('"', '""')}"`;
  }
  return v;
}

export async function exportCsv(f: Exportable, out: Writable, opts: ExportOptions = {}): Promise<number> {
  const d = opts.delimiter ?? ',';
  return exporting(out, async (o) => {
    await o.write(`${f.fields.map((x: Field) => csvField(x.name, d)).join(d)}\n`);
    const types = f.fields.map((x: Field) => x.type);
    let rows = 0;
    for await (const c of chunksOf(f, opts.limit ?? Number.POSITIVE_INFINITY)) {
      const lines: string[] = [];
      for (const row of c.rows()) lines.push(row.map((v, i) => csvField(v, d, types[i])).join(d));
      rows += c.nrows;
      if (lines.length) await o.write(`${lines.join('\n')}\n`);
    }
    return rows;
  });
}

export async function exportJson(f: Exportable, out: Writable, opts: ExportOptions = {}): Promise<number> {
  // Keys are written once, as JSON text; each row is then the keys and jsonCellText's values, so an
  // int64 is a bare JSON number of its exact digits (JSON.stringify cannot write a bigint). JSON has
  // no NaN or Infinity: those doubles are written as null (the CSV export keeps them).
  const keys = f.fields.map((x: Field) => JSON.stringify(x.name));
  const types = f.fields.map((x: Field) => x.type);
  const nd = opts.ndjson ?? false;
  return exporting(out, async (o) => {
    let rows = 0;
    if (!nd) await o.write('[');
    for await (const c of chunksOf(f, opts.limit ?? Number.POSITIVE_INFINITY)) {
      const parts: string[] = [];
      for (const row of c.rows()) {
        let obj = '{';
        for (let i = 0; i < keys.length; i++) obj += `${i ? ',' : ''}${keys[i]}:${jsonCellText(types[i]!, row[i]!)}`;
        parts.push(`${nd ? '' : rows + parts.length === 0 ? '\n' : ',\n'}${obj}}${nd ? '\n' : ''}`);
      }
      rows += c.nrows;
      if (parts.length) await o.write(parts.join(''));
    }
    if (!nd) await o.write(rows === 0 ? ']\n' : '\n]\n');
    return rows;
  });
}
