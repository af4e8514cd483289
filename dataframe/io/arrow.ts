// Arrow IPC (file and stream formats) import and export with apache-arrow, and frames to and from
// Arrow tables. Import reads record batch by record batch (RecordBatchReader), so a stream larger than
// memory imports in bounded memory; export writes one record batch per row-chunk. Values are read
// from the arrays' buffers (arrow-columns.ts), not through Vector.get, which turns int64 timestamps
// into rounded milliseconds. Type mapping: docs/dataframe.md "Parquet and Arrow".

import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import * as A from 'apache-arrow';
import { ErrorCode, isEau2Error, type KvStore } from '../../kv/index.js';
import { bitSet, bitmapBytes, type Column } from '../column.js';
import { DataFrame } from '../dataframe.js';
import type { LazyFrame } from '../lazy-frame.js';
import type { ColumnType, Field } from '../schema.js';
import { columnFromArrow } from './arrow-columns.js';
import { CodecError, registerArrowCodecs } from './arrow-codecs.js';
import { outputReady } from './export.js';
import { invalid, writeBatches, type ColumnarImportOptions, type ColumnarImportResult } from './batches.js';
import { openInput } from './input.js';

/** The eau2 type of an Arrow field's type, or a reason it has none. */
export function arrowColumnType(t: A.DataType): ColumnType | string {
  if (A.DataType.isDictionary(t)) return arrowColumnType(t.dictionary);
  if (A.DataType.isBool(t)) return 'B';
  if (A.DataType.isInt(t)) {
    if (t.bitWidth === 64) return 'L';
    if (t.bitWidth === 32 && !t.isSigned) return 'L';
    return 'I';
  }
  if (A.DataType.isFloat(t) || A.DataType.isDecimal(t)) return 'D';
  if (A.DataType.isUtf8(t) || A.DataType.isLargeUtf8(t) || A.DataType.isUtf8View(t)) return 'S';
  if (A.DataType.isTimestamp(t)) return 'T';
  if (A.DataType.isDate(t)) return 'd';
  // As the Parquet import reads TIME_MILLIS / TIME_MICROS / TIME_NANOS and Polars' durations
  // (INT64 in Parquet): the count in the type's unit, so a table gives the same values either way.
  if (A.DataType.isTime(t)) return t.bitWidth === 32 ? 'I' : 'L';
  if (A.DataType.isDuration(t)) return 'L';
  return `Arrow type ${String(t)} is not supported`;
}

registerArrowCodecs();

/** The error for an IPC input whose compressed data does not decompress, if e is that. */
function compressedInput(file: string, e: unknown, where: string): Error | undefined {
  if (!(e instanceof CodecError)) return undefined;
  return invalid(`cannot read ${file} as Arrow IPC: ${where}, compressed with ${e.codec}: ${e.message}`, e);
}

function fieldsOf(schema: A.Schema): Field[] {
  return schema.fields.map((f) => {
    const t = arrowColumnType(f.type);
    if (t.length > 1) throw invalid(`cannot import Arrow column ${JSON.stringify(f.name)}: ${t}`);
    return { name: f.name, type: t as ColumnType };
  });
}

/** A frame from an Arrow table (copies the values into eau2 columns). */
export function fromArrow(table: A.Table): DataFrame {
  const fields = fieldsOf(table.schema);
  return DataFrame.fromFields(
    fields,
    fields.map((f, i) => columnFromArrow(f.type, table.getChildAt(i)!, f.name, 0)),
  );
}

/** Imports an Arrow IPC file or stream, one record batch at a time. */
export async function importArrow(
  store: KvStore,
  name: string,
  file: string,
  opts: ColumnarImportOptions = {},
): Promise<ColumnarImportResult> {
  const input = await openArrowInput(file);
  let reader: A.RecordBatchReader;
  try {
    reader = await A.RecordBatchReader.from(input.source as never);
    await reader.open();
    // Read by position, a stream that ends before its schema message opens without one.
    if (!reader.schema) throw new Error('it ends before its schema');
  } catch (e) {
    input.close();
    throw (
      compressedInput(file, e, 'its first record batch or a dictionary') ??
      invalid(`cannot read ${file} as Arrow IPC: ${cutShort(file) ?? (e as Error).message}`, e)
    );
  }
  let fields: Field[];
  try {
    fields = fieldsOf(reader.schema);
  } catch (e) {
    input.close();
    throw e;
  }
  let row = 0;
  async function* batches(): AsyncGenerator<Column[]> {
    const it = (reader as AsyncIterable<A.RecordBatch>)[Symbol.asyncIterator]();
    try {
      for (;;) {
        let next: IteratorResult<A.RecordBatch>;
        try {
          next = await it.next();
        } catch (e) {
          const compressed = compressedInput(file, e, `the record batch after row ${row}`);
          if (compressed) throw compressed;
          // apache-arrow's own words ("Expected to read 552 bytes for message body") name neither
          // the file nor where in it the data ends.
          throw invalid(
            `cannot read ${file} as Arrow IPC: the record batch after row ${row} is damaged or cut short (${(e as Error).message})`,
            e,
          );
        }
        if (next.done) break;
        const b = next.value;
        let columns: Column[];
        try {
          columns = fields.map((f, i) => columnFromArrow(f.type, b.getChildAt(i)!, f.name, row));
        } catch (e) {
          throw isEau2Error(e, ErrorCode.INVALID) ? invalid(`cannot import ${file}: ${e.message}`, e) : e;
        }
        yield columns;
        row += b.numRows;
      }
    } finally {
      input.close();
    }
  }
  try {
    return await writeBatches(store, name, fields, batches(), opts, input.bytesRead);
  } finally {
    input.close(); // also when the writer failed before reading a batch
  }
}

interface ArrowInput {
  /** What apache-arrow's RecordBatchReader.from reads. */
  source: unknown;
  bytesRead: () => number;
  close: () => void;
}

/**
 * A regular file is read through a file handle, which apache-arrow reads by position: an IPC file
 * record batch by record batch after its footer. Given a Node stream, apache-arrow reads an IPC
 * *file* whole into memory first (a 200 MB file peaked at 530 MB RSS, against 190 MB as a stream).
 * A FIFO can only be read as a stream (bytesRead, not a 'data' listener: one would set the stream
 * flowing past the Arrow reader).
 */
async function openArrowInput(file: string): Promise<ArrowInput> {
  let regular = false;
  try {
    regular = statSync(file).isFile();
  } catch {
    // openInput's stream reports it.
  }
  if (!regular) {
    const stream = openInput(file);
    return { source: stream, bytesRead: () => stream.bytesRead, close: () => stream.destroy() };
  }
  const fh = await open(file, 'r');
  let bytes = 0;
  let closed = false;
  // The shape apache-arrow takes for a file handle (isFileHandle: `stat` and a numeric `fd`).
  const handle = {
    fd: fh.fd,
    stat: () => fh.stat(),
    read: async (buffer: Uint8Array, offset: number, length: number, position: number) => {
      const r = await fh.read(buffer, offset, length, position);
      bytes += r.bytesRead;
      return r;
    },
    close: async () => undefined, // closed by close() below, once
  };
  return {
    source: handle,
    bytesRead: () => bytes,
    close: () => {
      if (closed) return;
      closed = true;
      fh.close().catch(() => undefined);
    },
  };
}

const FILE_MAGIC = 'ARROW1';

/**
 * Why an Arrow IPC file could not be opened, when its ends show it: a file that starts with the
 * magic but does not end with it lost its footer, where apache-arrow fails with a TypeError about
 * its internals ("Cannot read properties of null (reading 'fieldsLength')"). Undefined otherwise,
 * and for anything but a regular file (a FIFO cannot be read twice).
 */
function cutShort(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const st = fstatSync(fd);
    if (!st.isFile()) return undefined;
    const head = Buffer.alloc(6);
    const tail = Buffer.alloc(6);
    readSync(fd, head, 0, 6, 0);
    if (head.toString('latin1') !== FILE_MAGIC) return undefined;
    if (st.size >= 12) readSync(fd, tail, 0, 6, st.size - 6);
    if (st.size >= 12 && tail.toString('latin1') === FILE_MAGIC) return undefined;
    return `the file is truncated (${st.size} bytes): an Arrow IPC file ends with its footer and the magic ${FILE_MAGIC}, and this one does not`;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function nullBitmapArrow(c: Column): Uint8Array | undefined {
  if (!c.nulls) return undefined;
  // Arrow's validity bitmap is the complement of eau2's null bitmap.
  const out = new Uint8Array(bitmapBytes(c.length));
  for (let i = 0; i < c.length; i++) if (!c.isNull(i)) bitSet(out, i);
  return out;
}

/** One eau2 column as an Arrow vector. */
function vectorOf(c: Column): A.Vector {
  const nullBitmap = nullBitmapArrow(c);
  const nullCount = c.nullCount;
  const length = c.length;
  switch (c.type) {
    case 'I':
      return A.makeVector(A.makeData({ type: new A.Int32(), length, nullCount, nullBitmap, data: c.values }));
    case 'D':
      return A.makeVector(A.makeData({ type: new A.Float64(), length, nullCount, nullBitmap, data: c.values }));
    case 'L':
      return A.makeVector(A.makeData({ type: new A.Int64(), length, nullCount, nullBitmap, data: c.values }));
    case 'T':
      return A.makeVector(
        A.makeData({ type: new A.TimestampMicrosecond('UTC'), length, nullCount, nullBitmap, data: c.values }),
      );
    case 'd':
      return A.makeVector(A.makeData({ type: new A.DateDay(), length, nullCount, nullBitmap, data: c.values }));
    case 'B':
      return A.vectorFromArray(c.toArray() as (boolean | null)[], new A.Bool());
    case 'S':
      return A.vectorFromArray(c.toArray() as (string | null)[], new A.Utf8());
  }
}

/** A frame as an Arrow table (timestamps as Timestamp<MICROSECOND, UTC>, dates as Date<DAY>). */
export function toArrow(df: DataFrame): A.Table {
  const vectors: Record<string, A.Vector> = {};
  df.fields.forEach((f, i) => (vectors[f.name] = vectorOf(df.columns[i]!)));
  return new A.Table(vectors);
}

/**
 * Writes a frame as an Arrow IPC file or stream, one record batch per row-chunk, uncompressed:
 * apache-arrow's writer (21.2) puts each compressed buffer's compressed length where the format
 * puts its uncompressed length, so no other reader could read what it compresses.
 */
export async function exportArrow(
  f: DataFrame | LazyFrame,
  out: Writable,
  opts: { stream?: boolean; limit?: number } = {},
): Promise<number> {
  const writer = opts.stream ? new A.RecordBatchStreamWriter() : new A.RecordBatchFileWriter();
  let failure: Error | undefined;
  const onError = (e: Error): void => {
    failure ??= e;
  };
  out.on('error', onError);
  const piped = writer.toNodeStream();
  piped.pipe(out);
  let settle: (() => void) | undefined;
  const done = new Promise<void>((resolve, reject) => {
    const onEnd = (): void => {
      settle?.();
      resolve();
    };
    const onFail = (e: Error): void => {
      settle?.();
      reject(e);
    };
    settle = () => {
      out.off('finish', onEnd);
      out.off('close', onEnd);
      out.off('error', onFail);
      piped.off('error', onFail);
    };
    out.once('finish', onEnd);
    out.once('close', onEnd);
    out.once('error', onFail);
    piped.once('error', onFail);
  });
  // Awaited once the last batch is written; an output that fails before then (`eau2 df export ...
  // | head` closing the pipe) must not reach the process as an unhandled rejection meanwhile.
  done.catch(() => undefined);
  try {
    let rows = 0;
    let left = opts.limit ?? Number.POSITIVE_INFINITY;
    const chunks: AsyncIterable<DataFrame> =
      f instanceof DataFrame
        ? (async function* () {
            for (let s = 0; s < f.nrows || s === 0; s += 65_536) yield f.slice(s, s + 65_536);
          })()
        : f.chunks();
    let wrote = false;
    for await (const c0 of chunks) {
      if (failure) throw failure;
      if (left <= 0) break;
      const c = c0.nrows > left ? c0.slice(0, left) : c0;
      left -= c.nrows;
      if (c.nrows === 0 && wrote) continue;
      for (const b of toArrow(c).batches) writer.write(b);
      wrote = true;
      rows += c.nrows;
      // Backpressure: wait while the output holds more than its high-water mark. A failed output
      // never drains: its error or close ends the wait too.
      while (out.writableNeedDrain && !failure && !out.destroyed) await outputReady(out);
    }
    if (failure) throw failure;
    if (!wrote)
      writer.reset(undefined, new A.Schema(f.fields.map((x) => new A.Field(x.name, arrowTypeOf(x.type), true))));
    writer.finish();
    await done;
    if (failure) throw failure;
    return rows;
  } finally {
    settle?.();
    out.off('error', onError);
    if (failure) piped.destroy(); // the writer's bytes have nowhere to go
  }
}

function arrowTypeOf(t: ColumnType): A.DataType {
  switch (t) {
    case 'I':
      return new A.Int32();
    case 'D':
      return new A.Float64();
    case 'L':
      return new A.Int64();
    case 'T':
      return new A.TimestampMicrosecond('UTC');
    case 'd':
      return new A.DateDay();
    case 'B':
      return new A.Bool();
    case 'S':
      return new A.Utf8();
  }
}
