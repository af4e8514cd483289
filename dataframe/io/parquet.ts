// Parquet import and export in pure JavaScript: hyparquet (+ hyparquet-compressors for snappy, gzip,
// zstd, brotli and lz4) reads, hyparquet-writer writes. Import reads one row group at a time and
// hands it to the frame writer before asking for the next, so memory holds one row group whatever
// the file's size; export writes one row group per row-chunk and waits for the output to take it.
// Type mapping: docs/dataframe.md "Parquet and Arrow".

import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema } from 'hyparquet';
import type { AsyncBuffer, SchemaElement, SchemaTree } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { Writable } from 'node:stream';
import type { KvStore } from '../../kv/index.js';
import type { Column } from '../column.js';
import { DataFrame } from '../dataframe.js';
import type { LazyFrame } from '../lazy-frame.js';
import type { ColumnType, Field } from '../schema.js';
import { columnOf, invalid, writeBatches, type ColumnarImportOptions, type ColumnarImportResult } from './batches.js';

/**
 * Timestamps and dates arrive as eau2 stores them (bigint microseconds, day numbers), not as Dates:
 * a Date would round microseconds away. Nanoseconds are floored to microseconds, eau2's precision.
 */
const PARSERS = {
  timestampFromMilliseconds: (v: bigint) => BigInt(v) * 1000n,
  timestampFromMicroseconds: (v: bigint) => BigInt(v),
  timestampFromNanoseconds: (v: bigint) => {
    const n = BigInt(v);
    return n / 1000n - (n % 1000n < 0n ? 1n : 0n);
  },
  dateFromDays: (v: number) => v,
  jsonFromBytes: (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b)),
};

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
      if (lt?.type === 'GEOMETRY' || lt?.type === 'GEOGRAPHY' || lt?.type === 'VARIANT' || ct === 'BSON')
        return `${lt?.type ?? ct} is not supported`;
      return 'S'; // UTF-8 text, enums, JSON (as text), UUIDs (as text); other bytes are read as UTF-8
    default:
      return `${e.type ?? 'a group'} is not supported`;
  }
}

export interface ParquetImportOptions extends ColumnarImportOptions {
  /** Read from this instead of the file (tests instrument the reads). */
  asyncBuffer?: AsyncBuffer;
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

/** Imports a Parquet file as frame `name`, one row group at a time. */
export async function importParquet(
  store: KvStore,
  name: string,
  file: string,
  opts: ParquetImportOptions = {},
): Promise<ColumnarImportResult> {
  let bytes = 0;
  const base = opts.asyncBuffer ?? (await asyncBufferFromFile(file));
  const buf: AsyncBuffer = {
    byteLength: base.byteLength,
    slice: async (start, end) => {
      const b = await base.slice(start, end);
      bytes += b.byteLength;
      return b;
    },
  };
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    metadata = await parquetMetadataAsync(buf);
  } catch (e) {
    throw invalid(`cannot read ${file} as Parquet: ${(e as Error).message}`, e);
  }
  const fields = fieldsOf(parquetSchema(metadata));
  if (fields.length === 0) throw invalid(`${file} has no columns`);
  const names = fields.map((f) => f.name);
  async function* rowGroups(): AsyncGenerator<Column[]> {
    let start = 0;
    for (const rg of metadata.row_groups) {
      const rows = Number(rg.num_rows);
      const end = start + rows;
      const parts = names.map(() => new Array<unknown>(rows));
      try {
        await parquetRead({
          file: buf,
          metadata,
          rowStart: start,
          rowEnd: end,
          columns: names,
          compressors,
          parsers: PARSERS as never,
          utf8: true,
          onChunk: ({ columnName, columnData, rowStart, rowEnd }) => {
            const out = parts[names.indexOf(columnName)]!;
            for (let r = Math.max(rowStart, start); r < Math.min(rowEnd, end); r++)
              out[r - start] = columnData[r - rowStart];
          },
        });
      } catch (e) {
        throw invalid(`cannot read row group at row ${start} of ${file}: ${(e as Error).message}`, e);
      }
      yield fields.map((f, i) => columnOf(f.type, parts[i]!, f.name, start));
      start = end;
    }
  }
  return writeBatches(store, name, fields, rowGroups(), opts, () => bytes);
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
  const drain = (): Promise<void> => {
    if (failure) return Promise.reject(failure);
    const bytes = Buffer.from(new Uint8Array(writer.buffer, 0, writer.index)); // a copy: the buffer is reused
    writer.index = 0;
    return new Promise<void>((resolve, reject) => {
      const more = out.write(bytes, (e) => (e ? reject(e) : undefined));
      if (more) resolve();
      else {
        out.once('drain', resolve);
        out.once('error', reject);
      }
    });
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
        columnData: f.fields.map((x, i) => ({ name: x.name, data: writerData(c.columns[i]!) as never })),
        rowGroupSize: c.nrows,
      });
      rows += c.nrows;
    }
    pw.finish();
    await pending;
    if (failure) throw failure;
    return rows;
  } finally {
    out.off('error', onError);
  }
}
