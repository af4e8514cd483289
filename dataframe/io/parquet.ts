// Parquet import and export. Import decodes with parquet-wasm (the Rust parquet and arrow crates in
// WebAssembly: every codec, and several times faster than a decoder in JavaScript) on a worker thread
// (parquet-worker.ts), one row group at a time, as an Arrow record batch that becomes eau2 columns
// (arrow-columns.ts). The next row group decodes there while this one is stored, and no later one
// is read before, so memory holds two row groups whatever the file's size (the decoder's WebAssembly
// memory grows to the largest row group). hyparquet reads the footer, whose schema decides each
// column's eau2 type. Export writes with hyparquet-writer, one row group per row-chunk,
// waiting for the output to take it. Type mapping: docs/dataframe.md "Parquet and Arrow".

import { openAsBlob } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import type { Writable } from 'node:stream';
import * as Arrow from 'apache-arrow';
import { parquetMetadataAsync, parquetSchema } from 'hyparquet';
import type { AsyncBuffer, FileMetaData, SchemaElement, SchemaTree } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import { Eau2Error, ErrorCode, isEau2Error, startModuleWorker, type KvStore } from '../../kv/index.js';
import type { Column } from '../column.js';
import { DataFrame } from '../dataframe.js';
import type { LazyFrame } from '../lazy-frame.js';
import type { ColumnType, Field } from '../schema.js';
import { columnFromArrow } from './arrow-columns.js';
import { invalid, writeBatches, type ColumnarImportOptions, type ColumnarImportResult } from './batches.js';
import { outputReady } from './export.js';

/** The eau2 type of a top-level Parquet column, or a reason it has none. */
export function parquetColumnType(e: SchemaElement): ColumnType | string {
  const ct = e.converted_type;
  const lt = e.logical_type;
  if (ct === 'DECIMAL' || lt?.type === 'DECIMAL' || lt?.type === 'FLOAT16') return 'D';
  switch (e.type) {
    case 'BOOLEAN':
      return 'B';
    case 'INT32':
      if (ct === 'DATE' || lt?.type === 'DATE') return 'd';
      if (ct === 'UINT_32' || (lt?.type === 'INTEGER' && !lt.isSigned && lt.bitWidth === 32)) return 'L';
      return 'I'; // int8/16/32, uint8/16, TIME_MILLIS (milliseconds of the day)
    case 'INT64':
      if (ct === 'TIMESTAMP_MILLIS' || ct === 'TIMESTAMP_MICROS' || lt?.type === 'TIMESTAMP') return 'T';
      return 'L'; // int64, uint64 (refused past int64 when met), TIME_MICROS/NANOS
    case 'INT96':
      return 'T';
    case 'FLOAT':
    case 'DOUBLE':
      return 'D';
    case 'BYTE_ARRAY':
    case 'FIXED_LEN_BYTE_ARRAY':
      if (ct === 'INTERVAL') return 'INTERVAL is not supported';
      if (lt?.type === 'GEOMETRY' || lt?.type === 'GEOGRAPHY' || lt?.type === 'VARIANT' || ct === 'BSON')
        return `${lt?.type ?? ct} is not supported`;
      return 'S'; // UTF-8 text, enums, JSON (as text), UUIDs (as text); other bytes are read as UTF-8
    default:
      return `${e.type ?? 'a group'} is not supported`;
  }
}

export interface ParquetImportOptions extends ColumnarImportOptions {
  /** Read from this instead of the file (tests instrument the reads); `fs.openAsBlob(file)` by default. */
  blob?: Blob;
}

function fieldsOf(tree: SchemaTree): Field[] {
  return tree.children.map((c) => {
    if (c.children.length > 0 || c.element.num_children)
      throw invalid(
        `cannot import Parquet column ${JSON.stringify(c.element.name)}: nested columns (lists, maps, structs) are not supported`,
      );
    if (c.element.repetition_type === 'REPEATED')
      throw invalid(
        `cannot import Parquet column ${JSON.stringify(c.element.name)}: repeated columns are not supported`,
      );
    const t = parquetColumnType(c.element);
    if (t.length > 1) throw invalid(`cannot import Parquet column ${JSON.stringify(c.element.name)}: ${t}`);
    return { name: c.element.name, type: t as ColumnType };
  });
}

/** How long an idle decoder thread is kept for the next import before it ends. */
const DECODER_IDLE_MS = 10_000;
/** Idle decoder threads (at most one is kept): starting one and compiling the decoder costs ~170 ms. */
const idle: DecoderThread[] = [];

/**
 * A decoder worker thread (parquet-worker.ts), serving its reads from the blob of the import that
 * holds it. One request of each kind at a time; a worker that dies (a decoder panic on a damaged
 * file) fails what is pending and is not reused. Between imports it waits unreferenced (the process
 * may exit) and ends after DECODER_IDLE_MS.
 */
class DecoderThread {
  private readonly worker: Worker;
  private readonly pending = new Map<string, { resolve: (v: never) => void; reject: (e: Error) => void }>();
  private dead: Error | undefined;
  private blob: Blob | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  static acquire(blob: Blob): DecoderThread {
    const d = idle.pop() ?? new DecoderThread();
    clearTimeout(d.idleTimer);
    d.worker.ref();
    d.blob = blob;
    return d;
  }

  private constructor() {
    this.worker = startModuleWorker(import.meta.url, 'parquet-worker');
    this.worker.on('message', (m: ToImporter) => this.onMessage(m));
    const die = (e: Error): void => {
      this.dead ??= e;
      for (const p of this.pending.values()) p.reject(this.dead);
      this.pending.clear();
      const k = idle.indexOf(this);
      if (k >= 0) idle.splice(k, 1);
    };
    // The decoder is Rust compiled to WebAssembly: a page it cannot decode (damaged bytes, a failed
    // zstd checksum) makes it panic, which reaches here as a RuntimeError "unreachable" and says
    // nothing of the data; the message says what it means.
    this.worker.on('error', (e) =>
      die(
        new Error(
          e instanceof Error && e.name === 'RuntimeError'
            ? `the decoder failed on its data (damaged pages, or an encoding it cannot read): ${message(e)}`
            : `the decoder stopped: ${message(e)}`,
        ),
      ),
    );
    this.worker.on('exit', (code) => die(new Error(`the decoder exited (${code})`)));
  }

  private onMessage(m: ToImporter): void {
    if (m.t === 'ready') return;
    if (m.t === 'read') {
      const blob = this.blob;
      if (!blob) return;
      blob
        .slice(m.start, m.end)
        .arrayBuffer()
        .then(
          (buf) => this.worker.postMessage({ t: 'bytes', id: m.id, buf }, [buf]),
          (e: unknown) => {
            for (const p of this.pending.values()) p.reject(e as Error);
            this.pending.clear();
          },
        );
      return;
    }
    const key = m.t === 'opened' || (m.t === 'error' && this.pending.has('open')) ? 'open' : 'group';
    const p = this.pending.get(key);
    this.pending.delete(key);
    if (m.t === 'error') p?.reject(new Error(m.message));
    else p?.resolve((m.t === 'group' ? new Uint8Array(m.ipc) : undefined) as never);
  }

  private call<T>(key: string, msg: object): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(key, { resolve: resolve as (v: never) => void, reject });
      this.worker.postMessage(msg);
    });
  }

  /** Opens the held blob as a Parquet file (its footer is read again there). */
  open(): Promise<void> {
    return this.call('open', { t: 'open', size: this.blob!.size });
  }

  /** Row group g as Arrow IPC stream bytes. */
  group(g: number, rows: number): Promise<Uint8Array> {
    const p = this.call<Uint8Array>('group', { t: 'group', g, rows });
    p.catch(() => {}); // awaited later (or not, when an earlier group failed)
    return p;
  }

  /**
   * Done with this import. A healthy thread with nothing pending waits for the next import (one is
   * kept); any other ends, so a group still decoding for an abandoned import is never delivered.
   */
  async release(): Promise<void> {
    this.blob = undefined;
    if (this.dead || this.pending.size > 0 || idle.length > 0) {
      this.dead ??= new Error('the decoder was released');
      await this.worker.terminate();
      return;
    }
    this.worker.unref();
    this.idleTimer = setTimeout(() => {
      const k = idle.indexOf(this);
      if (k >= 0) idle.splice(k, 1);
      void this.worker.terminate();
    }, DECODER_IDLE_MS);
    this.idleTimer.unref();
    idle.push(this);
  }
}

type ToImporter =
  | { t: 'ready' }
  | { t: 'opened' }
  | { t: 'read'; id: number; start: number; end: number }
  | { t: 'group'; g: number; ipc: ArrayBuffer }
  | { t: 'error'; message: string };

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Imports a Parquet file as frame `name`, one row group at a time. */
export async function importParquet(
  store: KvStore,
  name: string,
  file: string,
  opts: ParquetImportOptions = {},
): Promise<ColumnarImportResult> {
  let bytes = 0;
  const base = opts.blob ?? (await openAsBlob(file));
  // Every read, the footer's and the row groups', goes through here (the progress bar's bytes).
  const blob = {
    size: base.size,
    slice(start?: number, end?: number, type?: string) {
      const b = base.slice(start, end, type);
      bytes += b.size;
      return b;
    },
  } as Blob;
  const footer: AsyncBuffer = {
    byteLength: blob.size,
    slice: (start, end) => blob.slice(start, end).arrayBuffer(),
  };
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    metadata = await parquetMetadataAsync(footer);
  } catch (e) {
    // A file cut short (an interrupted copy or download) loses its footer first: say so.
    const why = /footer != PAR1/.test(message(e))
      ? 'it does not end with the Parquet footer (PAR1): the file is truncated, or not Parquet'
      : message(e);
    throw invalid(`cannot read ${file} as Parquet: ${why}`, e);
  }
  const tree = parquetSchema(metadata);
  const fields = fieldsOf(tree);
  if (fields.length === 0) throw invalid(`${file} has no columns`);
  const uuid = tree.children.map((c) => c.element.logical_type?.type === 'UUID');
  const decoder = DecoderThread.acquire(await withoutViewHint(blob, base, metadata));
  const fail = (at: string, e: unknown): Eau2Error =>
    e instanceof Eau2Error ? e : invalid(`cannot read ${at}${file} as Parquet: ${message(e)}`, e);
  async function* rowGroups(): AsyncGenerator<Column[]> {
    try {
      // Nothing to decode. (hyparquet-writer, eau2's exporter included, writes an empty row-group
      // list with the element type BYTE, which the decoder's footer parser refuses; hyparquet and
      // DuckDB read it.)
      if (metadata.row_groups.length === 0) return;
      try {
        await decoder.open();
      } catch (e) {
        throw fail('', e);
      }
      const groups = metadata.row_groups.map((g) => Number(g.num_rows));
      // The next row group decodes there while this one is converted and stored here.
      let next = groups.length > 0 ? decoder.group(0, groups[0]!) : undefined;
      let start = 0;
      for (let g = 0; g < groups.length; g++) {
        const rows = groups[g]!;
        let table: Arrow.Table;
        try {
          const ipc = await next!;
          next = g + 1 < groups.length ? decoder.group(g + 1, groups[g + 1]!) : undefined;
          table = Arrow.tableFromIPC(ipc);
        } catch (e) {
          throw fail(`row group at row ${start} of `, e);
        }
        if (table.numRows !== rows || table.numCols !== fields.length)
          throw invalid(
            `cannot read row group at row ${start} of ${file}: ${table.numRows} rows of ${table.numCols} columns, the footer says ${rows} of ${fields.length}`,
          );
        let columns: Column[];
        try {
          columns = fields.map((f, i) =>
            columnFromArrow(f.type, table.getChildAt(i)!, f.name, start, { uuid: uuid[i], adopt: true }),
          );
        } catch (e) {
          throw isEau2Error(e, ErrorCode.INVALID) ? invalid(`cannot import ${file}: ${e.message}`, e) : e;
        }
        yield columns;
        start += rows;
      }
    } finally {
      await decoder.release();
    }
  }
  return writeBatches(store, name, fields, rowGroups(), opts, () => bytes);
}

const HINT_KEY = 'ARROW:schema';
/** The same 12 bytes as HINT_KEY, a key no reader looks for. */
const HINT_KEY_HIDDEN = 'eau2:ignored';

/** Whether an Arrow type, or one inside it, is a view type (Utf8View, BinaryView). */
function hasView(t: Arrow.DataType): boolean {
  if (Arrow.DataType.isUtf8View(t) || Arrow.DataType.isBinaryView(t)) return true;
  if (Arrow.DataType.isDictionary(t)) return hasView(t.dictionary);
  return (t.children ?? []).some((c) => hasView(c.type));
}

/**
 * The blob the decoder reads, with the footer's Arrow schema hint hidden when that hint names a view
 * type. Writers that keep the Arrow schema (Polars, pyarrow, arrow-rs) store it in the footer under
 * ARROW:schema, and the decoder builds its arrays from it; Polars writes a categorical column as
 * Dictionary<UInt32, Utf8View>, which the decoder's arrow-rs cannot build ("unsupported data type for
 * byte array dictionary reader"; read asynchronously it panics). Without the hint the decoder takes
 * the types from the Parquet schema, which decides eau2's types anyway (fieldsOf). The key is
 * renamed in place, same length, so no offset in the file moves: it is the footer's last occurrence
 * of the key's Thrift string (length 12, then the bytes), the key-value list being written after
 * the schema and row groups that could hold a column of that name.
 */
async function withoutViewHint(blob: Blob, base: Blob, metadata: FileMetaData): Promise<Blob> {
  const hint = metadata.key_value_metadata?.find((kv) => kv.key === HINT_KEY)?.value;
  if (hint === undefined) return blob;
  let views = false;
  try {
    const reader = Arrow.RecordBatchReader.from(Buffer.from(hint, 'base64'));
    views = reader.open().schema.fields.some((f) => hasView(f.type));
  } catch {
    return blob; // a hint apache-arrow cannot read: the decoder reports it, if it matters
  }
  if (!views) return blob;
  const end = blob.size - 8;
  const start = end - metadata.metadata_length;
  // base, not blob: these bytes were read once already and are not counted again.
  const footer = Buffer.from(await base.slice(start, end).arrayBuffer());
  const at = footer.lastIndexOf(Buffer.from(`\x0c${HINT_KEY}`, 'latin1'));
  if (at < 0) return blob;
  const patchAt = start + at + 1;
  const patch = Buffer.from(HINT_KEY_HIDDEN, 'latin1');
  return {
    size: blob.size,
    slice(a = 0, b = blob.size) {
      const part = blob.slice(a, b);
      return {
        size: part.size,
        arrayBuffer: async () => {
          const buf = await part.arrayBuffer();
          const bytes = new Uint8Array(buf);
          for (let k = 0; k < patch.length; k++) {
            const p = patchAt + k - a;
            if (p >= 0 && p < bytes.length) bytes[p] = patch[k]!;
          }
          return buf;
        },
      } as Blob;
    },
  } as Blob;
}

/** Schema elements for a frame's fields: every column OPTIONAL, types as eau2 stores them. */
function parquetSchemaOf(fields: readonly Field[]): SchemaElement[] {
  const leaf = (f: Field): SchemaElement => {
    const base = { name: f.name, repetition_type: 'OPTIONAL' as const };
    switch (f.type) {
      case 'I':
        return { ...base, type: 'INT32' };
      case 'D':
        return { ...base, type: 'DOUBLE' };
      case 'B':
        return { ...base, type: 'BOOLEAN' };
      case 'S':
        return { ...base, type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } };
      case 'L':
        return { ...base, type: 'INT64' };
      case 'T':
        return {
          ...base,
          type: 'INT64',
          converted_type: 'TIMESTAMP_MICROS',
          logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
        };
      case 'd':
        return { ...base, type: 'INT32', converted_type: 'DATE', logical_type: { type: 'DATE' } };
    }
  };
  return [{ name: 'root', num_children: fields.length }, ...fields.map(leaf)];
}

/** A column's values as hyparquet-writer takes them: the typed array, or an array with nulls. */
function writerData(c: Column): unknown[] | ArrayLike<unknown> {
  if (!c.nulls) {
    if (c.type === 'B') return Array.from(c.values, (v) => v === 1);
    return c.values as ArrayLike<unknown>;
  }
  return c.toArray();
}

/**
 * How a column chunk is written, beyond its data, when it holds doubles that need it:
 * - -0: hyparquet-writer's dictionary encoding keys its values in a Map, where -0 and 0 are one key,
 *   so every 0 and -0 of a dictionary-encoded chunk would be written as whichever came first. Such a
 *   chunk is written PLAIN (each value as its 8 bytes).
 * - NaN: hyparquet-writer leaves NaN out of the chunk's min/max, as the Parquet spec asks, and DuckDB
 *   then prunes by those bounds: `WHERE x > 39` over a chunk of max 39 skipped its NaN rows, which
 *   DuckDB orders above every number (it writes no min/max itself for a chunk with NaN). Such a chunk
 *   is written without statistics.
 */
function doubleOptions(c: Column): { encoding?: 'PLAIN'; statistics?: false } {
  if (c.type !== 'D') return {};
  const v = c.values as Float64Array;
  let negativeZero = false;
  let nan = false;
  for (let i = 0; i < c.length && !(negativeZero && nan); i++) {
    const x = v[i]!;
    if (x === 0) negativeZero ||= Object.is(x, -0) && !c.isNull(i);
    else if (x !== x) nan ||= !c.isNull(i);
  }
  return { ...(negativeZero ? { encoding: 'PLAIN' as const } : {}), ...(nan ? { statistics: false as const } : {}) };
}

export interface ParquetExportOptions {
  /** Compression of every column (default SNAPPY). */
  codec?: 'SNAPPY' | 'UNCOMPRESSED';
  limit?: number;
}

/**
 * Writes a frame as Parquet to `out`: one row group per row-chunk, each written out (with the
 * output's backpressure) before the next chunk is read. Returns the rows written.
 */
export async function exportParquet(
  f: DataFrame | LazyFrame,
  out: Writable,
  opts: ParquetExportOptions = {},
): Promise<number> {
  let pending: Promise<void> = Promise.resolve();
  let failure: Error | undefined;
  const onError = (e: Error): void => {
    failure ??= e;
  };
  out.on('error', onError);
  const writer = new ByteWriter() as ByteWriter & { flush(): Promise<void>; finish(): void };
  // Writes complete in order: once the last one has, every byte has reached the output (or failed).
  let lastWrite: Promise<void> = Promise.resolve();
  const drain = async (): Promise<void> => {
    if (failure) throw failure;
    const bytes = Buffer.from(new Uint8Array(writer.buffer, 0, writer.index)); // a copy: the buffer is reused
    writer.index = 0;
    let more = true;
    lastWrite = new Promise<void>((resolve, reject) => {
      more = out.write(bytes, (e) => (e ? reject(e) : resolve()));
    });
    lastWrite.catch(() => undefined); // awaited at the end; a failure meanwhile is also `failure`
    if (!more) await outputReady(out);
    if (failure) throw failure;
  };
  writer.flush = drain;
  writer.finish = () => {
    pending = drain();
  };
  try {
    const pw = new ParquetWriter({
      writer,
      schema: parquetSchemaOf(f.fields) as never,
      codec: opts.codec ?? 'SNAPPY',
      createdBy: 'eau2',
    });
    let rows = 0;
    let left = opts.limit ?? Number.POSITIVE_INFINITY;
    const chunks: AsyncIterable<DataFrame> =
      f instanceof DataFrame
        ? (async function* () {
            for (let s = 0; s < f.nrows; s += 65_536) yield f.slice(s, s + 65_536);
          })()
        : f.chunks({ lend: true });
    for await (const c0 of chunks) {
      if (left <= 0) break;
      const c = c0.nrows > left ? c0.slice(0, left) : c0;
      left -= c.nrows;
      if (c.nrows === 0) continue;
      await pw.write({
        columnData: f.fields.map((x, i) => {
          const col = c.columns[i]!;
          return { name: x.name, data: writerData(col) as never, ...doubleOptions(col) };
        }),
        rowGroupSize: c.nrows,
      });
      rows += c.nrows;
    }
    pw.finish();
    await pending;
    await lastWrite;
    if (failure) throw failure;
    return rows;
  } finally {
    out.off('error', onError);
  }
}
