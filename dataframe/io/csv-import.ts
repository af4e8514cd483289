// Streaming CSV import through papaparse's Parser (RFC 4180 quoting, embedded delimiters and newlines, BOM).
// Records flow straight into a DataFrameWriter, so memory holds the type sample plus the writer's
// bounded window, whatever the file size. Types come from the caller's schema or are inferred from a
// sample (text-values.ts); a later value that does not fit fails the import with its record number and
// nothing is published: a value is never coerced to fit.

import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import Papa from 'papaparse';
import type { KvStore } from '../../kv/index.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { FrameMeta } from '../meta.js';
import { defaultColumnName, describeValue, parseSchema, type Field, type SchemaSpec, type Value } from '../schema.js';
import { DataFrameWriter, type WriterOptions } from '../writer.js';
import { TYPE_NAMES, TypeGuess, textConverter } from './text-values.js';

export interface ImportProgress {
  /** Bytes of the input read so far. */
  bytes: number;
  /** Rows appended so far. */
  rows: number;
  /**
   * True during the first of the two passes that `sampleRows: 'all'` makes (types are being inferred,
   * nothing is stored yet); `bytes` then counts that pass and starts again from 0 for the second.
   */
  sampling?: boolean;
}

export interface ImportResult {
  meta: FrameMeta;
  bytes: number;
  rows: number;
  /** Whether any column's type was inferred (false: the caller's schema gave every one). */
  inferred: boolean;
}

export interface CsvImportOptions extends WriterOptions {
  /**
   * Column types: letters in header order ("ISD", every column), or name:type pairs (a string, an
   * object or an array of fields) naming some or all of the header's columns; the columns it does
   * not name are inferred.
   */
  schema?: SchemaSpec;
  /**
   * Fields read as null besides the empty field, e.g. ['NA', 'n/a', 'null'] (quoted or not, compared
   * exactly). Default none.
   */
  nullValues?: readonly string[];
  /** First record holds column names (default true); otherwise columns are c0, c1, ... */
  header?: boolean;
  delimiter?: string;
  /** Records sampled to infer types (default 10,000), or 'all' to read the file twice and use every record. */
  sampleRows?: number | 'all';
  onProgress?: (p: ImportProgress) => void;
}

/** A file path, or a function that opens the input afresh (called twice with sampleRows 'all'). */
export type TextSource = string | (() => Readable);

/** Records in file order; the first is record number `first` (the header, if any, is record 1). */
interface RecBatch {
  records: string[][];
  first: number;
}

/** A record longer than this (a quote left open, most likely) fails the import: memory stays bounded. */
const MAX_RECORD_CHARS = 64 * 1024 * 1024;

function openSource(src: TextSource, onBytes?: (n: number) => void): Readable {
  // The default 64 KiB reads: measured, 1 MiB pieces cost 30-50% more CPU, all in the garbage
  // collector (a piece's records outlive a young-generation collection while the writer takes them).
  const s = typeof src === 'string' ? createReadStream(src) : src();
  if (onBytes) s.on('data', (b: Buffer | string) => onBytes(typeof b === 'string' ? Buffer.byteLength(b) : b.length));
  return s;
}

/**
 * The record delimiter, as RFC 4180 readers (and csv-parse) decide it: the first line break of the
 * input outside quotes, `\r\n`, `\n` or `\r`; undefined while the text seen so far has none
 * (`more` says whether more text may follow: a `\r` at its end may be the start of `\r\n`).
 */
export function detectNewline(text: string, more: boolean): '\n' | '\r\n' | '\r' | undefined {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (!quoted && c === 10) return '\n';
    else if (!quoted && c === 13) {
      if (i + 1 < text.length) return text.charCodeAt(i + 1) === 10 ? '\r\n' : '\r';
      return more ? undefined : '\r';
    }
  }
  return more ? undefined : '\n';
}

/**
 * Splits CSV text given piece by piece into records, the same records and errors wherever the pieces
 * are cut (inside a quoted field, between \r and \n, in a UTF-8 sequence: the caller decodes). The
 * fields come from papaparse's Parser (indexOf and split over whole strings, several times faster than
 * csv-parse's per-byte loop); what it leaves to its caller is done here: the text after the last
 * complete record is kept for the next piece (papaparse decides what a quote is from the text up to
 * the next delimiter or line break, so a record it completes is the same however the text was cut), a record with a different number of fields than the
 * first fails, and papaparse's quote errors fail the import (it would otherwise carry on).
 */
export class CsvRecords {
  private parser: Papa.Parser | undefined;
  private newline = '\n';
  private carry = '';
  private pending: string[] = [];
  private pendingChars = 0;
  private started = false;
  private width = -1;
  private n = 0;

  constructor(
    private readonly delimiter: string,
    /** The longest record accepted, in characters (a test makes it small). */
    private readonly maxRecordChars = MAX_RECORD_CHARS,
  ) {
    if (delimiter.length !== 1 || Papa.BAD_DELIMITERS.includes(delimiter))
      throw new TypeError(
        `the delimiter must be one character other than a quote, a line break or a BOM, not ${JSON.stringify(delimiter)}`,
      );
  }

  /** Records complete with `text` (none may be); `last` when no text follows. */
  push(text: string, last = false): RecBatch {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.pending.push(text);
    this.pendingChars += text.length;
    // A record longer than one piece is parsed again with each piece; waiting until the new text is as
    // long as the carried one keeps the work linear in the record's length.
    if (!last && this.pendingChars < this.carry.length) return { records: [], first: this.n + 1 };
    const input = this.carry + this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    if (!this.parser) {
      const newline = detectNewline(input, !last);
      if (newline === undefined) return this.hold(input);
      this.newline = newline;
      this.parser = new Papa.Parser({ delimiter: this.delimiter, newline, quoteChar: '"' });
    }
    const res = this.parser.parse(input, 0, !last) as {
      data: string[][];
      errors: { code: string; row: number }[];
      meta: { cursor: number };
    };
    const rows = res.data;
    // An error on the row left incomplete is papaparse seeing half of it: it is parsed again whole.
    const error = res.errors.find((e) => e.row < rows.length);
    const end = error ? error.row : rows.length;
    const first = this.n + 1;
    const records: string[][] = [];
    let blank: boolean[] | undefined;
    for (let i = 0; i < end; i++) {
      const r = rows[i]!;
      if (r.length === 1 && r[0] === '') {
        // An empty line, or `""` (an empty field) alone on its line, which is a record; only text with
        // quotes can hold the second, and only then is the line looked at.
        if (input.indexOf('"') < 0) continue;
        blank ??= this.blankRows(input, !last);
        if (blank[i]) continue;
      }
      this.n++;
      if (this.width < 0) this.width = r.length;
      else if (r.length !== this.width)
        throw invalid(
          `cannot parse CSV: record ${this.n} has ${r.length} field${r.length === 1 ? '' : 's'}, ` +
            `the first record has ${this.width}`,
        );
      records.push(r);
    }
    if (error) {
      const what =
        error.code === 'MissingQuotes'
          ? 'a quoted field is not closed before the end of the input'
          : 'a closing quote is followed by text other than a delimiter or a line break';
      throw invalid(`cannot parse CSV: record ${this.n + 1}: ${what}`);
    }
    if (last) return { records, first };
    this.hold(input.slice(res.meta.cursor));
    return { records, first };
  }

  /** Per row of `input`, whether it is an empty line: a second parse with papaparse's step callback,
   * whose cursor says where each row ends. */
  private blankRows(input: string, more: boolean): boolean[] {
    const blank: boolean[] = [];
    let start = 0;
    const newline = this.newline;
    const p = new Papa.Parser({
      delimiter: this.delimiter,
      newline,
      quoteChar: '"',
      step: (r: { meta: { cursor: number } }) => {
        const end = r.meta.cursor;
        let text = input.slice(start, end);
        if (text.endsWith(newline)) text = text.slice(0, -newline.length);
        blank.push(text === '');
        start = end;
      },
    } as Papa.ParseConfig);
    p.parse(input, 0, more);
    return blank;
  }

  private hold(rest: string): RecBatch {
    if (rest.length > this.maxRecordChars)
      throw invalid(
        `cannot parse CSV: record ${this.n + 1} is longer than ${this.maxRecordChars} characters (a quote left open?)`,
      );
    this.carry = rest;
    return { records: [], first: this.n + 1 };
  }
}

/**
 * Records in batches (one per piece read, 64 KiB from a file), with null markers made empty fields,
 * which every type reads as null.
 */
async function* recordBatches(src: Readable, delimiter: string, nulls?: ReadonlySet<string>): AsyncGenerator<RecBatch> {
  const recs = new CsvRecords(delimiter);
  const decoder = new StringDecoder('utf8');
  const out = (b: RecBatch): RecBatch => {
    if (nulls)
      for (const record of b.records) for (let i = 0; i < record.length; i++) if (nulls.has(record[i]!)) record[i] = '';
    return b;
  };
  for await (const chunk of src as AsyncIterable<Buffer | string>) {
    const b = recs.push(typeof chunk === 'string' ? chunk : decoder.write(chunk));
    if (b.records.length > 0) yield out(b);
  }
  const b = recs.push(decoder.end(), true);
  if (b.records.length > 0) yield out(b);
}

function invalid(msg: string, cause?: unknown): Eau2Error {
  return new Eau2Error(ErrorCode.INVALID, msg, { cause });
}

/**
 * Unique, non-empty names from a header record ("" -> c3, a repeated "x" -> x_2). A made-up name is
 * never one the header itself gives, so a column the file names keeps its name (`a,,c1` -> a, c1_2, c1).
 */
function headerNames(rec: readonly string[]): string[] {
  const given = new Set(rec.filter((r) => r.trim() !== ''));
  const used = new Set<string>();
  const free = (n: string): boolean => !given.has(n) && !used.has(n);
  return rec.map((raw, i) => {
    const empty = raw.trim() === '';
    let n = raw;
    if (empty || used.has(raw)) {
      const base = empty ? defaultColumnName(i) : raw;
      n = empty ? base : `${base}_2`;
      for (let k = empty ? 2 : 3; !free(n); k++) n = `${base}_${k}`;
    }
    used.add(n);
    return n;
  });
}

/** Whether `spec` names its columns (name:type pairs), so it may name only some of them. */
function namesColumns(spec: SchemaSpec): boolean {
  return typeof spec !== 'string' || spec.includes(':');
}

/**
 * The fields the schema gives, by column; undefined for a column it leaves to inference. Letters
 * give every column; name:type pairs given with a header may name any subset of its columns.
 */
function fieldsFromSchema(spec: SchemaSpec, names: string[] | undefined, width: number): (Field | undefined)[] {
  const given = parseSchema(spec);
  if (names && namesColumns(spec)) {
    const at = new Map(names.map((n, i) => [n, i]));
    const out = new Array<Field | undefined>(width).fill(undefined);
    for (const f of given) {
      const i = at.get(f.name);
      if (i === undefined)
        throw invalid(
          `the schema names column ${JSON.stringify(f.name)}, which the header does not: ${names.join(',')}`,
        );
      out[i] = f;
    }
    return out;
  }
  if (given.length !== width) throw invalid(`the schema has ${given.length} columns, the file has ${width}`);
  const lettersOnly = !namesColumns(spec);
  if (!names || !lettersOnly) {
    if (names && given.some((f, i) => f.name !== names[i])) {
      throw invalid(`schema columns ${given.map((f) => f.name).join(',')} do not match the header ${names.join(',')}`);
    }
    return given;
  }
  return given.map((f, i) => ({ name: names[i]!, type: f.type }));
}

export async function importCsv(
  store: KvStore,
  name: string,
  src: TextSource,
  opts: CsvImportOptions = {},
): Promise<ImportResult> {
  const delimiter = opts.delimiter ?? ',';
  const nv = opts.nullValues;
  if (nv !== undefined && !(Array.isArray(nv) && nv.every((x) => typeof x === 'string')))
    throw new TypeError('nullValues must be an array of strings');
  const nulls = nv && nv.length > 0 ? new Set(nv) : undefined;
  const header = opts.header ?? true;
  const sampleRows = opts.sampleRows ?? 10_000;
  if (sampleRows === 'all' && typeof src !== 'string' && typeof src !== 'function')
    throw new TypeError('sampleRows "all" needs a re-openable source');
  if (sampleRows !== 'all' && !(Number.isInteger(sampleRows) && sampleRows >= 1))
    throw new TypeError('sampleRows must be an integer >= 1 or "all"');

  let fields: Field[] | undefined;
  /** Types from the first pass (sampleRows 'all'), for the columns the schema does not give. */
  let allGuesses: Field[] | undefined;
  /** Per column, whether its type was inferred (an error then suggests sampling more). */
  let guessed: boolean[] = [];
  if (sampleRows === 'all' && (opts.schema === undefined || namesColumns(opts.schema))) {
    // Pass 1: every record votes on the types.
    let names: string[] | undefined;
    const guesses: TypeGuess[] = [];
    let sampled = 0;
    const sampling = openSource(src, (n) => {
      sampled += n;
      opts.onProgress?.({ bytes: sampled, rows: 0, sampling: true });
    });
    try {
      for await (const batch of recordBatches(sampling, delimiter, nulls)) {
        for (const record of batch.records) {
          if (header && names === undefined) {
            names = headerNames(record);
            continue;
          }
          for (let i = 0; i < record.length; i++) (guesses[i] ??= new TypeGuess()).add(record[i]!);
        }
      }
    } finally {
      sampling.destroy();
    }
    const width = names?.length ?? guesses.length;
    allGuesses = Array.from({ length: width }, (_, i) => ({
      name: names?.[i] ?? defaultColumnName(i),
      type: guesses[i]?.type ?? 'S',
    }));
  }

  let bytes = 0;
  let writer: DataFrameWriter | undefined;
  const progress = (): void => opts.onProgress?.({ bytes, rows: writer?.nrows ?? 0 });
  const input = openSource(src, (n) => {
    bytes += n;
    progress();
  });
  let names: string[] | undefined;
  /** Records read before the types are known, with their numbers. */
  const sample: { record: string[]; n: number }[] = [];

  const start = async (): Promise<DataFrameWriter> => {
    const width = names?.length ?? sample[0]?.record.length ?? 0;
    if (width === 0) throw invalid('the CSV input has no columns');
    const given =
      opts.schema === undefined
        ? new Array<Field | undefined>(width).fill(undefined)
        : fieldsFromSchema(opts.schema, names, width);
    let inferredCols = allGuesses;
    if (!inferredCols && given.some((f) => f === undefined)) {
      const guesses = Array.from({ length: width }, () => new TypeGuess());
      for (const r of sample) r.record.forEach((v, i) => guesses[i]?.add(v));
      inferredCols = guesses.map((g, i) => ({ name: names?.[i] ?? defaultColumnName(i), type: g.type }));
    }
    guessed = Array.from({ length: width }, (_, i) => given[i] === undefined);
    fields = Array.from(
      { length: width },
      (_, i) => given[i] ?? inferredCols![i] ?? { name: defaultColumnName(i), type: 'S' },
    );
    return DataFrameWriter.open(store, name, fields, opts);
  };

  let convert: ((s: string) => Value | undefined)[] = [];
  /** One row array for every record: the writer copies the values out before append returns. */
  let row: Value[] = [];
  /** Appends one record; returns a promise only when the writer needs the caller to wait. */
  const append = (w: DataFrameWriter, record: string[], n: number): void | Promise<void> => {
    const fs = w.fields;
    if (convert.length !== fs.length) {
      convert = fs.map((f) => textConverter(f.type));
      row = new Array<Value>(fs.length).fill(null);
    }
    for (let i = 0; i < fs.length; i++) {
      const text = record[i]!;
      const v = convert[i]!(text);
      if (v === undefined) {
        throw invalid(
          `record ${n}, column ${JSON.stringify(fs[i]!.name)}: ` +
            `${describeValue(text)} is not a ${TYPE_NAMES[fs[i]!.type]}; ` +
            (guessed[i] ? 'the type was inferred from a sample: give a schema or sample all rows' : 'check the schema'),
        );
      }
      row[i] = v;
    }
    return w.append(row);
  };

  try {
    const want = sampleRows === 'all' ? 1 : sampleRows;
    for await (const batch of recordBatches(input, delimiter, nulls)) {
      const { records, first } = batch;
      for (let k = 0; k < records.length; k++) {
        const record = records[k]!;
        if (header && names === undefined) {
          names = headerNames(record);
          continue;
        }
        if (writer) {
          const wait = append(writer, record, first + k);
          if (wait) await wait;
          continue;
        }
        sample.push({ record, n: first + k });
        if (sample.length >= want) {
          writer = await start();
          for (const s of sample.splice(0)) await append(writer, s.record, s.n);
        }
      }
    }
    if (!writer) {
      writer = await start();
      for (const s of sample.splice(0)) await append(writer, s.record, s.n);
    }
  } catch (e) {
    input.destroy();
    await writer?.abort();
    throw e;
  }
  progress();
  const meta = await writer.close();
  return { meta, bytes, rows: meta.nrows, inferred: guessed.some((g) => g) };
}
