// What the columnar importers (Parquet, Arrow, JSON) share: values from a file's batch turned into
// eau2 columns, each checked against the column's type (a value that does not fit fails the import
// naming the column and row; nothing is coerced), and batches written through one DataFrameWriter so
// that memory holds one batch plus the writer's bounded window, whatever the file's size.

import type { KvStore } from '../../kv/index.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { ColumnBuilder } from '../column-builder.js';
import type { Column } from '../column.js';
import type { FrameMeta } from '../meta.js';
import { INT64_MAX, INT64_MIN, describeValue, type ColumnType, type Field } from '../schema.js';
import { DataFrameWriter, type WriterOptions } from '../writer.js';

export interface ColumnarImportOptions extends WriterOptions {
  /** Called after each batch (row group, record batch, block of lines) is handed to the writer. */
  onProgress?: (p: { bytes: number; rows: number }) => void;
}

export interface ColumnarImportResult {
  meta: FrameMeta;
  rows: number;
  bytes: number;
}

export function invalid(msg: string, cause?: unknown): Eau2Error {
  return new Eau2Error(ErrorCode.INVALID, msg, { cause });
}

/**
 * A column of type t from a batch's values (null or undefined = missing). Numbers for L and T must be
 * integers; bigints for I, D and d must fit; anything else is INVALID naming `name` and the row.
 */
export function columnOf(t: ColumnType, values: ArrayLike<unknown>, name: string, firstRow: number): Column {
  const n = values.length;
  const b = new ColumnBuilder(t, Math.max(1, n), name);
  for (let i = 0; i < n; i++) {
    let v = values[i];
    if (v === null || v === undefined) {
      b.pushNull();
      continue;
    }
    if (typeof v === 'bigint' && (t === 'I' || t === 'D' || t === 'd')) {
      if (t === 'D' ? v >= -(2n ** 53n) && v <= 2n ** 53n : v >= -2147483648n && v <= 2147483647n) v = Number(v);
    }
    if (typeof v === 'bigint' && (v < INT64_MIN || v > INT64_MAX)) v = undefined;
    try {
      if (v === undefined) throw new TypeError('out of range');
      b.push(v as number);
    } catch {
      throw invalid(
        `column ${JSON.stringify(name)}, row ${firstRow + i + 1}: ${describeValue(values[i])} does not fit type ${t}`,
      );
    }
  }
  return b.finish();
}

/** Writes batches of columns (in `fields` order) as frame `name`; nothing is published on failure. */
export async function writeBatches(
  store: KvStore,
  name: string,
  fields: readonly Field[],
  batches: AsyncIterable<Column[]>,
  opts: ColumnarImportOptions,
  bytesRead: () => number,
): Promise<ColumnarImportResult> {
  const writer = await DataFrameWriter.open(store, name, fields, opts);
  try {
    for await (const cols of batches) {
      const batch: Record<string, Column> = {};
      fields.forEach((f, i) => (batch[f.name] = cols[i]!));
      await writer.appendColumns(batch);
      opts.onProgress?.({ bytes: bytesRead(), rows: writer.nrows });
    }
  } catch (e) {
    await writer.abort();
    throw e instanceof TypeError ? invalid(e.message, e) : e;
  }
  const meta = await writer.close();
  return { meta, rows: meta.nrows, bytes: bytesRead() };
}
