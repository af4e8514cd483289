// JSON and NDJSON import. NDJSON (one object per line) is streamed line by line, so memory holds a
// batch of records plus the writer's bounded window; a JSON file (one array of objects) is parsed
// whole, up to MAX_JSON_BYTES. Numbers are parsed exactly (json-with-bigint: an integer beyond 2^53 is
// a bigint, not a rounded double). Columns are the keys of the sampled records in order of first
// appearance; their types are inferred as for CSV (docs/dataframe.md "JSON and NDJSON"): integers I
// or L, other numbers D, booleans B, ISO 8601 date and timestamp strings d and T, other strings S;
// nested objects and arrays are kept as their JSON text in an S column.

import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { JSONParse, JSONStringify } from 'json-with-bigint';
import type { KvStore } from '../../kv/index.js';
import type { Column } from '../column.js';
import { INT32_MAX, INT32_MIN, describeValue, type Field } from '../schema.js';
import { columnOf, invalid, writeBatches, type ColumnarImportOptions, type ColumnarImportResult } from './batches.js';
import { Kind, aTypeName, TypeGuess, classify, convertText } from './text-values.js';
import { openInput } from './input.js';

/** A JSON file larger than this is refused: one array must be parsed whole (NDJSON streams). */
const MAX_JSON_BYTES = 512 * 1024 * 1024;
const BATCH = 4096;

export interface JsonImportOptions extends ColumnarImportOptions {
  /** One object per line (default: by extension, .ndjson/.jsonl, else a JSON array). */
  ndjson?: boolean;
  /** Records sampled to infer the columns and types (default 10,000). */
  sampleRows?: number;
}

type Rec = Record<string, unknown>;

/**
 * What may hold a number float64 cannot: an exponent of three digits or a run of 300 digits. A cheap
 * test, so that only such text pays for numbersAsText's scan.
 */
const FAR_NUMBER = /[eE][+-]?\d{3}|\d{300}/;
/**
 * JSON strings and numbers, in order. A number is matched whole or not at all, and one followed by ':'
 * (never valid JSON: a key must be a string) is left alone, so no invalid text is made valid.
 */
const STRING_OR_NUMBER = /"(?:[^"\\]|\\.)*"|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\d.eE+-]|\s*:)/g;

/**
 * The JSON text with every number that float64 would change beyond rounding (one that overflows to
 * Infinity, or underflows to 0) made a string of its digits: JSON.parse would silently return
 * Infinity or 0, while a string keeps it as the CSV importer does (its column is S).
 */
function numbersAsText(text: string): string {
  if (!FAR_NUMBER.test(text)) return text;
  return text.replace(STRING_OR_NUMBER, (tok) => {
    if (tok.charCodeAt(0) === 34) return tok;
    const v = Number(tok);
    const lost = !Number.isFinite(v) || (v === 0 && /[1-9]/.test(tok.replace(/[eE].*$/, '')));
    return lost ? `"${tok}"` : tok;
  });
}

/** JSON text without a leading UTF-8 byte-order mark, which editors on Windows write and JSON.parse refuses. */
const withoutBom = (text: string): string => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

function kindOf(v: unknown): Kind {
  if (v === null || v === undefined) return Kind.Null;
  if (typeof v === 'boolean') return Kind.Bool;
  if (typeof v === 'bigint') return v >= -(2n ** 63n) && v < 2n ** 63n ? Kind.Int64 : Kind.Text;
  if (typeof v === 'number') {
    // -0 is an integer to Number.isInteger, but only a float64 column keeps its sign.
    if (!Number.isInteger(v) || Object.is(v, -0)) return Kind.Double;
    return v >= INT32_MIN && v <= INT32_MAX ? Kind.Int32 : Number.isSafeInteger(v) ? Kind.SafeInt : Kind.Double;
  }
  if (typeof v === 'string') {
    const k = classify(v);
    return k === Kind.Date || k === Kind.Timestamp || k === Kind.Null ? (k === Kind.Null ? Kind.Text : k) : Kind.Text;
  }
  return Kind.Text; // objects and arrays: their JSON text
}

/** A record's value as a cell of the column's type (undefined: it does not fit). */
function cellOf(t: Field['type'], v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (t) {
    case 'S':
      return typeof v === 'string' ? v : JSONStringify(v);
    case 'd':
    case 'T':
      // convertText reads '' as null, as CSV's empty field; in JSON "" is a string, not a date.
      return typeof v === 'string' && v !== '' ? convertText(t, v) : undefined;
    case 'B':
      return typeof v === 'boolean' ? v : undefined;
    case 'D':
      return typeof v === 'number'
        ? v
        : typeof v === 'bigint' && v >= -(2n ** 53n) && v <= 2n ** 53n
          ? Number(v)
          : undefined;
    case 'I':
      return typeof v === 'number' && Number.isInteger(v) && !Object.is(v, -0) && v >= INT32_MIN && v <= INT32_MAX
        ? v
        : undefined;
    case 'L':
      if (typeof v === 'number') return Number.isSafeInteger(v) && !Object.is(v, -0) ? v : undefined;
      return typeof v === 'bigint' && v >= -(2n ** 63n) && v < 2n ** 63n ? v : undefined;
  }
}

async function* ndjsonRecords(file: string, counter: { bytes: number }): AsyncGenerator<[Rec, number]> {
  const input = openInput(file);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      counter.bytes = input.bytesRead;
      if ((n === 1 ? withoutBom(line) : line).trim() === '') continue;
      let rec: unknown;
      try {
        rec = JSONParse(numbersAsText(n === 1 ? withoutBom(line) : line));
      } catch (e) {
        throw invalid(`line ${n} of ${file} is not JSON: ${(e as Error).message}`, e);
      }
      if (rec === null || typeof rec !== 'object' || Array.isArray(rec))
        throw invalid(`line ${n} of ${file} is not a JSON object`);
      yield [rec as Rec, n];
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

async function* jsonArrayRecords(file: string, counter: { bytes: number }): AsyncGenerator<[Rec, number]> {
  const size = (await stat(file)).size;
  if (size > MAX_JSON_BYTES)
    throw invalid(
      `${file} is ${size} bytes; a JSON array is read whole, up to ${MAX_JSON_BYTES}: convert it to NDJSON (one object per line), which streams`,
    );
  // Read as a stream with the bound checked as it goes: a FIFO's size says nothing of its length.
  const parts: Buffer[] = [];
  let read = 0;
  for await (const b of openInput(file) as AsyncIterable<Buffer>) {
    read += b.length;
    if (read > MAX_JSON_BYTES)
      throw invalid(
        `${file} is over ${MAX_JSON_BYTES} bytes; a JSON array is read whole, up to that: convert it to NDJSON (one object per line), which streams`,
      );
    parts.push(b);
  }
  const text = numbersAsText(withoutBom(Buffer.concat(parts).toString('utf8')));
  counter.bytes = read;
  let all: unknown;
  try {
    all = JSONParse(text);
  } catch (e) {
    throw invalid(`${file} is not JSON: ${(e as Error).message}`, e);
  }
  if (!Array.isArray(all))
    throw invalid(`${file} is not a JSON array of objects (for one object per line, use .ndjson)`);
  for (let i = 0; i < all.length; i++) {
    const rec = all[i];
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec))
      throw invalid(`element ${i} of ${file} is not a JSON object`);
    yield [rec as Rec, i + 1];
  }
}

/** Imports a JSON array or NDJSON file as frame `name`. */
export async function importJson(
  store: KvStore,
  name: string,
  file: string,
  opts: JsonImportOptions = {},
): Promise<ColumnarImportResult> {
  const nd = opts.ndjson ?? /\.(ndjson|jsonl)$/i.test(file);
  const sampleRows = opts.sampleRows ?? 10_000;
  if (!(Number.isInteger(sampleRows) && sampleRows >= 1)) throw new TypeError('sampleRows must be an integer >= 1');
  const counter = { bytes: 0 };
  const records = (nd ? ndjsonRecords : jsonArrayRecords)(file, counter);
  const what = nd ? 'line' : 'element';
  // The sample decides the columns and their types.
  const sample: [Rec, number][] = [];
  const guesses = new Map<string, TypeGuess>();
  for (;;) {
    if (sample.length >= sampleRows) break;
    const r = await records.next();
    if (r.done) break;
    sample.push(r.value);
    for (const [k, v] of Object.entries(r.value[0])) {
      let g = guesses.get(k);
      if (!g) guesses.set(k, (g = new TypeGuess()));
      g.addKind(kindOf(v));
    }
  }
  if (guesses.size === 0) {
    await records.return(undefined);
    throw invalid(`${file} has no records with fields to import`);
  }
  const fields: Field[] = [...guesses].map(([n, g]) => ({ name: n, type: g.type }));
  const index = new Map(fields.map((f, i) => [f.name, i]));
  async function* batches(): AsyncGenerator<Column[]> {
    let cells = fields.map(() => [] as unknown[]);
    let first = 0;
    let count = 0;
    const flush = (): Column[] => {
      const cols = fields.map((f, i) => columnOf(f.type, cells[i]!, f.name, first));
      first += count;
      count = 0;
      cells = fields.map(() => []);
      return cols;
    };
    const add = ([rec, n]: [Rec, number]): void => {
      for (const k of Object.keys(rec))
        if (!index.has(k))
          throw invalid(
            `${what} ${n}: field ${JSON.stringify(k)} is not among the columns the sample found (${fields.map((f) => f.name).join(', ')}); sample more records`,
          );
      fields.forEach((f, i) => {
        const v = cellOf(f.type, rec[f.name]);
        if (v === undefined)
          throw invalid(
            `${what} ${n}, field ${JSON.stringify(f.name)}: ${describeValue(rec[f.name])} is not ${aTypeName(f.type)}; the type was inferred from a sample: sample more records`,
          );
        cells[i]!.push(v);
      });
      count++;
    };
    for (const r of sample.splice(0)) {
      add(r);
      if (count >= BATCH) yield flush();
    }
    for await (const r of records) {
      add(r);
      if (count >= BATCH) yield flush();
    }
    if (count > 0) yield flush();
  }
  return writeBatches(store, name, fields, batches(), opts, () => counter.bytes);
}
