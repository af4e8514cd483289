// The Parquet and Arrow modules, loaded on first use: apache-arrow alone measured 1.2 s to load on
// the 2-core machine, which every `eau2` command and every process importing eau2/dataframe would
// otherwise pay. Same signatures as io/parquet.ts and io/arrow.ts, but for toArrow/fromArrow, which
// return promises.

import type { Writable } from 'node:stream';
import type { Table } from 'apache-arrow';
import type { KvStore } from '../../kv/index.js';
import type { DataFrame } from '../dataframe.js';
import type { LazyFrame } from '../lazy-frame.js';
import type { ColumnarImportOptions, ColumnarImportResult } from './batches.js';
import type { ParquetExportOptions, ParquetImportOptions } from './parquet.js';

export async function importParquet(
  store: KvStore,
  name: string,
  file: string,
  opts?: ParquetImportOptions,
): Promise<ColumnarImportResult> {
  return (await import('./parquet.js')).importParquet(store, name, file, opts);
}

export async function exportParquet(
  f: DataFrame | LazyFrame,
  out: Writable,
  opts?: ParquetExportOptions,
): Promise<number> {
  return (await import('./parquet.js')).exportParquet(f, out, opts);
}

export async function importArrow(
  store: KvStore,
  name: string,
  file: string,
  opts?: ColumnarImportOptions,
): Promise<ColumnarImportResult> {
  return (await import('./arrow.js')).importArrow(store, name, file, opts);
}

export async function exportArrow(
  f: DataFrame | LazyFrame,
  out: Writable,
  opts?: { stream?: boolean; limit?: number },
): Promise<number> {
  return (await import('./arrow.js')).exportArrow(f, out, opts);
}

/**
 * A frame as an Arrow table (timestamps as Timestamp<MICROSECOND, UTC>, dates as Date<DAY>); a
 * stored frame is loaded whole first. A free function, not a DataFrame method: DataFrame importing
 * the Arrow module would close an import cycle through this file.
 */
export async function toArrow(f: DataFrame | LazyFrame): Promise<Table> {
  const df = 'load' in f ? await f.load() : f;
  return (await import('./arrow.js')).toArrow(df);
}

/** A frame from an Arrow table; its values are copied into eau2 columns. */
export async function fromArrow(table: Table): Promise<DataFrame> {
  return (await import('./arrow.js')).fromArrow(table);
}
