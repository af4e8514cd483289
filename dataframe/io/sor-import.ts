// Import of eau2's schema-on-read (SoR) files (docs/dataframe.md "SoR files"): one row per line,
// fields written <value>, spaces around delimiters ignored, strings bare or "double quoted", "<>" or a
// missing trailing field is a null; blank lines are skipped. The schema comes from the first 500 lines
// (blank ones not counted): the widest row gives the column count; per column, any string makes it S,
// else any float D, else any sign or value above 1 I, else B. As the format allows, a later field that
// does not fit its column becomes null (counted).
// `from`/`len` read a byte range, dropping the partial first and last lines, so files can be split.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { KvStore } from '../../kv/index.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import {
  INT32_MAX,
  INT32_MIN,
  parseSchema,
  defaultColumnName,
  type ColumnType,
  type Field,
  type SchemaSpec,
  type Value,
} from '../schema.js';
import { DataFrameWriter, type WriterOptions } from '../writer.js';
import type { ImportProgress, ImportResult } from './csv-import.js';

const SOR_SAMPLE_LINES = 500;

export interface SorImportOptions extends WriterOptions {
  /** First byte to read; a partial first line is skipped when > 0. */
  from?: number;
  /** Bytes to read from `from`; a partial last line is dropped unless the range reaches the end. */
  len?: number;
  /** Skip inference and use these types (the column count comes from the schema). */
  schema?: SchemaSpec;
  onProgress?: (p: ImportProgress) => void;
}

export interface SorImportResult extends ImportResult {
  /** Fields that did not fit their column's type and were stored as null. */
  mismatched: number;
  /** Fields beyond the column count (rows wider than any of the first 500), ignored. */
  extraFields: number;
}

/** A parsed field: null = missing; quoted = written in double quotes (always a string). */
export interface SorField {
  text: string;
  quoted: boolean;
}

const BOOL_RE = /^[01]$/;
const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(?:\d+\.\d*|\.\d+)$/;

/** Index of the first character at or after i that is not a space, tab or CR. */
function skipSpaces(line: string, i: number): number {
  const n = line.length;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) break;
    i++;
  }
  return i;
}

/** Splits one line into fields; returns undefined for a line that is not well formed. */
export function parseSorLine(line: string): (SorField | null)[] | undefined {
  const out: (SorField | null)[] = [];
  const n = line.length;
  let i = 0;
  for (;;) {
    i = skipSpaces(line, i);
    if (i >= n) return out;
    if (line.charCodeAt(i) !== 60 /* < */) return undefined;
    i = skipSpaces(line, i + 1);
    if (line.charCodeAt(i) === 34 /* " */) {
      const end = line.indexOf('"', i + 1);
      if (end < 0) return undefined;
      const text = line.slice(i + 1, end);
      i = skipSpaces(line, end + 1);
      if (line.charCodeAt(i) !== 62 /* > */) return undefined;
      i++;
      out.push({ text, quoted: true });
      continue;
    }
    const end = line.indexOf('>', i);
    if (end < 0) return undefined;
    const text = line.slice(i, end).trimEnd();
    i = end + 1;
    if (text === '') out.push(null);
    else if (/\s/.test(text))
      return undefined; // <bye world>, <1. 2>, <+ 1>: invalid
    else out.push({ text, quoted: false });
  }
}

/** The SoR type of one present field: quoted or non-numeric text is a string. */
function fieldKind(f: SorField): 'B' | 'I' | 'D' | 'S' {
  if (f.quoted) return 'S';
  if (BOOL_RE.test(f.text)) return 'B';
  if (INT_RE.test(f.text)) return 'I';
  if (FLOAT_RE.test(f.text)) return 'D';
  return 'S';
}

/**
 * Column types by the SoR rules, plus eau2's two for integers the format's C++ int could not hold: one
 * beyond int32 makes the column D (float64 holds it exactly), one beyond +-2^53 makes it S (float64
 * would change its digits), as in the CSV import.
 */
export function inferSorSchema(rows: readonly (readonly (SorField | null)[])[]): ColumnType[] {
  const width = rows.reduce((w, r) => Math.max(w, r.length), 0);
  return Array.from({ length: width }, (_, c) => {
    let s = false;
    let d = false;
    let i = false;
    let big = false;
    for (const r of rows) {
      const f = r[c];
      if (!f) continue;
      const k = fieldKind(f);
      if (k === 'S') s = true;
      else if (k === 'D') d = true;
      else if (k === 'I') {
        i = true;
        const v = Number(f.text);
        if (!Number.isSafeInteger(v)) s = true;
        else if (v < INT32_MIN || v > INT32_MAX) big = true;
      }
    }
    return s ? 'S' : d || big ? 'D' : i ? 'I' : 'B';
  });
}

/** A field's value in a column of type t; undefined if it does not fit. */
function sorValue(t: ColumnType, f: SorField | null | undefined): Value | undefined {
  if (!f) return null;
  if (t === 'S') return f.text;
  if (f.quoted) return undefined;
  if (t === 'B') return BOOL_RE.test(f.text) ? f.text === '1' : undefined;
  if (t === 'I') {
    if (!INT_RE.test(f.text)) return undefined;
    const v = Number(f.text);
    return v >= INT32_MIN && v <= INT32_MAX ? v : undefined;
  }
  if (INT_RE.test(f.text)) {
    const v = Number(f.text);
    return Number.isSafeInteger(v) ? v : undefined; // beyond 2^53 its digits would change: a misfit
  }
  if (!FLOAT_RE.test(f.text)) return undefined;
  const v = Number(f.text);
  return Number.isFinite(v) ? v : undefined;
}

/**
 * Lines of a byte range of a file, in batches (one per buffer read: a promise per line measured at
 * half the import's CPU), with the partial first/last lines of a range removed.
 */
async function* lineBatches(
  path: string,
  from: number,
  len: number | undefined,
  onBytes: (n: number) => void,
): AsyncGenerator<string[]> {
  const size = (await stat(path)).size;
  const end = len === undefined ? size : Math.min(size, from + len);
  if (from >= end) return;
  const stream = createReadStream(path, { start: from, end: end - 1, highWaterMark: 1 << 20 });
  let carry = '';
  let first = from > 0;
  // Byte 0x0a never occurs inside a multi-byte UTF-8 sequence, so splitting decoded text on '\n' is safe;
  // the decoder carries any sequence cut at a buffer boundary.
  const decoder = new TextDecoder();
  for await (const buf of stream as AsyncIterable<Buffer>) {
    onBytes(buf.length);
    const parts = (carry + decoder.decode(buf, { stream: true })).split('\n');
    carry = parts.pop()!;
    if (first && parts.length > 0) {
      parts.shift();
      first = false;
    }
    if (parts.length > 0) yield parts;
  }
  carry += decoder.decode();
  // The text after the last newline is a whole line only if the range reaches the end of the file.
  if (carry !== '' && end === size && !first) yield [carry];
}

export async function importSor(
  store: KvStore,
  name: string,
  path: string,
  opts: SorImportOptions = {},
): Promise<SorImportResult> {
  const from = opts.from ?? 0;
  if (!Number.isSafeInteger(from) || from < 0) throw new TypeError('from must be an integer >= 0');
  if (opts.len !== undefined && !(Number.isSafeInteger(opts.len) && opts.len >= 0))
    throw new TypeError('len must be an integer >= 0');
  let bytes = 0;
  let writer: DataFrameWriter | undefined;
  let mismatched = 0;
  let extraFields = 0;
  let lineNo = 0;
  const progress = (): void => opts.onProgress?.({ bytes, rows: writer?.nrows ?? 0 });
  const src = lineBatches(path, from, opts.len, (n) => {
    bytes += n;
    progress();
  });
  const sample: (SorField | null)[][] = [];
  let types: ColumnType[] | undefined;

  /** Appends one row; returns a promise only when the writer needs the caller to wait. */
  const append = (w: DataFrameWriter, fields: (SorField | null)[] | undefined): void | Promise<void> => {
    if (fields === undefined) {
      // A malformed line: the format leaves it unspecified; eau2 keeps the row, every field missing.
      mismatched += types!.length;
      fields = [];
    }
    if (fields.length > types!.length) extraFields += fields.length - types!.length;
    const row = types!.map((t, c) => {
      const v = sorValue(t, fields![c]);
      if (v === undefined) mismatched++;
      return v ?? null;
    });
    return w.append(row);
  };
  const start = async (): Promise<DataFrameWriter> => {
    let fs: Field[];
    if (opts.schema !== undefined) fs = parseSchema(opts.schema);
    else {
      types = inferSorSchema(sample);
      if (types.length === 0)
        throw new Eau2Error(ErrorCode.INVALID, `${path}: no fields in the first ${SOR_SAMPLE_LINES} lines`);
      fs = types.map((type, i) => ({ name: defaultColumnName(i), type }));
    }
    types = fs.map((f) => f.type);
    return DataFrameWriter.open(store, name, fs, opts);
  };

  const parsed: ((SorField | null)[] | undefined)[] = [];
  try {
    for await (const batch of src) {
      for (const line of batch) {
        // A blank line is no row (as in the CSV import): a file's final empty line, or spacing
        // between rows, must not add a row of nulls.
        if (skipSpaces(line, 0) === line.length) continue;
        lineNo++;
        const fields = parseSorLine(line);
        if (writer) {
          const wait = append(writer, fields);
          if (wait) await wait;
          continue;
        }
        parsed.push(fields);
        if (fields) sample.push(fields);
        if (lineNo >= SOR_SAMPLE_LINES) {
          writer = await start();
          for (const f of parsed.splice(0)) await append(writer, f);
        }
      }
    }
    if (!writer) {
      writer = await start();
      for (const f of parsed.splice(0)) await append(writer, f);
    }
  } catch (e) {
    await writer?.abort();
    throw e;
  }
  progress();
  const meta = await writer.close();
  return { meta, bytes, rows: meta.nrows, inferred: opts.schema === undefined, mismatched, extraFields };
}
