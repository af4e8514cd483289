// Streaming CSV import through papaparse's Parser (RFC 4180 quoting, embedded delimiters and newlines, BOM).
// Records flow straight into a DataFrameWriter, so memory holds the type sample plus the writer's
// bounded window, whatever the file size. Types come from the caller's schema or are inferred from a
// sample (text-values.ts); a later value that does not fit fails the import with its record number and
// nothing is published: a value is never coerced to fit.

import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { KvStore } from '../../kv/index.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { FrameMeta } from '../meta.js';
import { defaultColumnName, describeValue, parseSchema, type Field, type SchemaSpec, type Value } from '../schema.js';
import type { ColumnBuilder } from '../column-builder.js';
import { DataFrameWriter, type WriterOptions } from '../writer.js';
import { DEFAULT_RANGE_BYTES, PARALLEL_MIN_BYTES, parseThreads, releaseThreads, writeRanges } from './csv-parallel.js';
import { CsvRecords, detectNewline, type RecBatch } from './csv-records.js';
import { aTypeName, TypeGuess, textConverter } from './text-values.js';
import { openInput } from './input.js';

export { CsvRecords, detectNewline };

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
  /**
   * Threads that parse a file given by path, by byte ranges, while this thread stores the rows
   * (default 0: this thread parses; docs/dataframe.md "CSV import" has the measurements behind the
   * default). Files under 4 MiB (two ranges) are parsed on this thread.
   */
  parseThreads?: number;
  /** Nominal bytes per parse thread's range (default 2 MiB); given, any file of two ranges is parsed by threads. */
  rangeBytes?: number;
}

/** A file path, or a function that opens the input afresh (called twice with sampleRows 'all'). */
export type TextSource = string | (() => Readable);

function openSource(src: TextSource, onBytes?: (n: number) => void): Readable {
  // The default 64 KiB reads: measured, 1 MiB pieces cost 30-50% more CPU, all in the garbage
  // collector (a piece's records outlive a young-generation collection while the writer takes them).
  const s = typeof src === 'string' ? openInput(src) : src();
  if (onBytes) s.on('data', (b: Buffer | string) => onBytes(typeof b === 'string' ? Buffer.byteLength(b) : b.length));
  return s;
}

/**
 * Records in batches (one per piece read, 64 KiB from a file), with null markers made empty fields,
 * which every type reads as null.
 */
async function* recordBatches(
  src: Readable,
  delimiter: string,
  nulls?: ReadonlySet<string>,
  recs = new CsvRecords(delimiter),
): AsyncGenerator<RecBatch> {
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

/**
 * Converts field `col` of records [from, to) into builder `b`; returns the index of the first record
 * whose field does not convert (nothing of it pushed), or `to`. A loop per kind of column: one loop
 * over every type calls the converters and the builder's store through sites that see them all, which
 * the compiler cannot inline.
 */
function fillColumn(
  b: ColumnBuilder,
  conv: (s: string) => Value | undefined,
  records: readonly string[][],
  col: number,
  from: number,
  to: number,
): number {
  switch (b.type) {
    case 'S':
      for (let k = from; k < to; k++) {
        const s = records[k]![col]!;
        if (s === '') b.pushNull();
        else b.pushString(s);
      }
      return to;
    case 'I':
    case 'd':
      for (let k = from; k < to; k++) {
        const v = conv(records[k]![col]!);
        if (v === undefined) return k;
        if (v === null) b.pushNull();
        else b.pushInt32(v as number);
      }
      return to;
    case 'D':
      for (let k = from; k < to; k++) {
        const v = conv(records[k]![col]!);
        if (v === undefined) return k;
        if (v === null) b.pushNull();
        else b.pushFloat64(v as number);
      }
      return to;
    default:
      for (let k = from; k < to; k++) {
        const v = conv(records[k]![col]!);
        if (v === undefined) return k;
        b.pushFitted(v);
      }
      return to;
  }
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
  if (given.length !== width) {
    // Letters read one column each, so a column's name given alone ("--schema id") reads as types.
    const as = namesColumns(spec)
      ? ''
      : ` (type letters: ${given.map((f) => f.type).join(' ')}; name:type pairs may type some columns)`;
    throw invalid(`the schema has ${given.length} columns, the file has ${width}${as}`);
  }
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
  try {
    return await importCsvFrom(store, name, src, opts);
  } catch (e) {
    // What is wrong with a file's contents names the file, as the Parquet and Arrow importers' errors do.
    if (typeof src === 'string' && e instanceof Eau2Error && e.code === ErrorCode.INVALID && !e.message.includes(src))
      throw new Eau2Error(ErrorCode.INVALID, `cannot import ${src}: ${e.message}`, {
        details: { ...e.details, file: src },
        cause: e,
      });
    throw e;
  }
}

async function importCsvFrom(
  store: KvStore,
  name: string,
  src: TextSource,
  opts: CsvImportOptions,
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

  // A file of several ranges is parsed by threads (csv-parallel.ts) once the types are known; the
  // threads start now, while this thread reads the sample.
  const rangeBytes = opts.rangeBytes ?? DEFAULT_RANGE_BYTES;
  if (!(Number.isInteger(rangeBytes) && rangeBytes >= 1)) throw new TypeError('rangeBytes must be an integer >= 1');
  const nThreads = opts.parseThreads ?? 0;
  if (!(Number.isInteger(nThreads) && nThreads >= 0 && nThreads <= 64))
    throw new TypeError('parseThreads must be an integer from 0 to 64');
  let size = 0;
  if (typeof src === 'string' && nThreads > 0)
    size = await stat(src).then(
      (s) => (s.isFile() ? s.size : 0),
      () => 0,
    );
  const threads =
    size >= Math.max(2 * rangeBytes, opts.rangeBytes === undefined ? PARALLEL_MIN_BYTES : 0)
      ? parseThreads(nThreads)
      : undefined;

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
    if (width === 0)
      throw invalid(
        `${typeof src === 'string' ? src : 'the CSV input'} has no ${header ? 'header' : 'records'}: it is empty or holds only blank lines`,
      );
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
  /** The error for field `i` of record number `n`, `text`, which is not of the column's type. */
  const notA = (w: DataFrameWriter, n: number, i: number, text: string): Eau2Error =>
    invalid(
      `record ${n}, column ${JSON.stringify(w.fields[i]!.name)}: ` +
        `${describeValue(text)} is not ${aTypeName(w.fields[i]!.type)}; ` +
        (guessed[i] ? 'the type was inferred from a sample: give a schema or sample all rows' : 'check the schema'),
    );
  /**
   * Appends a batch's records from index `start` on (the batch's first record is number `first`),
   * column by column: one column's converter and builder at a time keeps each loop to one type. A value that does not
   * convert fails the import with the first such record in file order (and the first such column in
   * it), as a row-by-row loop would report it.
   */
  const appendRecords = (
    w: DataFrameWriter,
    records: readonly string[][],
    start: number,
    first: number,
  ): void | Promise<void> => {
    if (convert.length !== w.fields.length) convert = w.fields.map((f) => textConverter(f.type));
    return w.appendColumnwise(records.length - start, (builders, from, to) => {
      let bad = -1;
      let badCol = -1;
      for (let c = 0; c < builders.length; c++) {
        const last = bad < 0 ? to : bad + 1;
        const k = fillColumn(builders[c]!, convert[c]!, records, c, start + from, start + last) - start;
        if (k < last && (bad < 0 || k < bad)) {
          bad = k;
          badCol = c;
        }
      }
      if (bad >= 0) throw notA(w, first + start + bad, badCol, records[start + bad]![badCol]!);
    });
  };

  /** The sample's records, numbered one after another (blank lines are not records). */
  const appendSample = async (w: DataFrameWriter): Promise<void> => {
    const taken = sample.splice(0);
    if (taken.length > 0)
      await appendRecords(
        w,
        taken.map((s) => s.record),
        0,
        taken[0]!.n,
      );
  };

  const recs = new CsvRecords(delimiter);
  try {
    const want = sampleRows === 'all' ? 1 : sampleRows;
    read: for await (const batch of recordBatches(input, delimiter, nulls, recs)) {
      const { records, first } = batch;
      for (let k = 0; k < records.length; k++) {
        const record = records[k]!;
        if (header && names === undefined) {
          names = headerNames(record);
          continue;
        }
        if (writer) {
          const wait = appendRecords(writer, records, k, first);
          if (wait) await wait;
          break;
        }
        sample.push({ record, n: first + k });
        if (sample.length >= want) {
          writer = await start();
          // More of the file follows: parse threads read all of it again by byte ranges (the
          // sample's records too, which is simpler than finding where in the file the sample ends).
          if (threads) break read;
          await appendSample(writer);
        }
      }
    }
    if (!writer) {
      writer = await start();
      await appendSample(writer);
    } else if (threads) {
      input.destroy();
      sample.length = 0;
      const w = writer;
      await writeRanges(w, threads, {
        file: src as string,
        size,
        delimiter,
        newline: recs.lineBreak as '\n' | '\r\n' | '\r',
        width: recs.recordWidth,
        header,
        fields: w.fields,
        nulls: nulls && [...nulls],
        guessed,
        rangeBytes,
        onBytes: (b) => {
          bytes = Math.max(bytes, b);
          opts.onProgress?.({ bytes, rows: w.nrows });
        },
      });
    }
  } catch (e) {
    input.destroy();
    await writer?.abort();
    throw e;
  } finally {
    if (threads) releaseThreads(threads);
  }
  progress();
  const meta = await writer.close();
  return { meta, bytes, rows: meta.nrows, inferred: guessed.some((g) => g) };
}
