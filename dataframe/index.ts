// The public surface of eau2's dataframe layer (`import { DataFrame } from 'eau2/dataframe'`).
// Everything else under dataframe/ is internal and may change without notice.

export { DataFrame, waitAndGet } from './dataframe.js';
export { LazyFrame, type LazyFrameOptions } from './lazy-frame.js';
export { DataFrameWriter, DEFAULT_CHUNK_ROWS, type WriterOptions } from './writer.js';
export {
  BigIntColumn,
  BoolColumn,
  DateColumn,
  DoubleColumn,
  IntColumn,
  StringColumn,
  TimestampColumn,
  type Column,
  type ColumnOf,
} from './column.js';
export { formatDate, formatTimestamp, parseDate, parseTimestamp } from './temporal.js';
export type { ColumnInput } from './column-input.js';
export { ColumnType, parseSchema, schemaString, type Field, type SchemaSpec, type Value } from './schema.js';
export type { FrameInfo, FrameMeta } from './meta.js';
export { Query, queryStats, type AggRequest, type QueryStats } from './query/query.js';
export type { AggFn, AggSpec, Derived, Plan } from './query/plan.js';
export type { SortKey, SortSpec } from './query/sort.js';
export type { JoinOptions } from './query/joined.js';
export { DEFAULT_BROADCAST_BYTES, type JoinType } from './query/join.js';
export { SHUFFLE_TTL_MS } from './query/shuffle-tasks.js';
export { MAX_DISTINCT_VALUES } from './query/aggregates.js';
export { MAX_GATHERED_ROWS, type WindowSpec } from './query/window.js';
// DataFrame.sql's implementation (the SQL layer sits above DataFrame); the parser loads on first use.
import './sql/install.js';
export { preloadSql, setSqlPreload } from './sql-preload.js';
export type { SqlOptions, SqlParam } from './dataframe.js';
export {
  abs,
  cast,
  ceil,
  coalesce,
  concat,
  contains,
  dateAdd,
  dateDiff,
  datePart,
  dateTrunc,
  endsWith,
  exp,
  floor,
  greatest,
  least,
  left,
  length,
  like,
  ln,
  log,
  log10,
  log2,
  lower,
  lpad,
  ltrim,
  nullif,
  power,
  regexpExtract,
  regexpMatches,
  regexpReplace,
  repeat,
  replace,
  reverse,
  right,
  round,
  rpad,
  rtrim,
  sign,
  splitPart,
  sqrt,
  startsWith,
  strftime,
  strpos,
  substring,
  trim,
  trunc,
  upper,
  when,
} from './query/expr-fns.js';
export type { Expr, ExprLike, FnName, Literal, TimeUnit } from './query/expr-base.js';
export {
  add,
  and,
  between,
  col,
  div,
  eq,
  ge,
  gt,
  isIn,
  isNull,
  le,
  lit,
  lt,
  mod,
  mul,
  ne,
  neg,
  not,
  or,
  sub,
} from './query/expr.js';
export {
  dataframeTasks,
  QUERY_TASK,
  HOLDINGS_TASK,
  type DataframeTask,
  type DataframeTaskContext,
} from './query/tasks.js';
export type { TaskContext, TaskRunner } from '../kv/index.js';
export { chunkHashTag } from './layout.js';
export { ChunkCache } from './chunk-cache.js';
export {
  importCsv,
  type CsvImportOptions,
  type ImportProgress,
  type ImportResult,
  type TextSource,
} from './io/csv-import.js';
export { delimiterProblem } from './io/csv-records.js';
export {
  importSor,
  parseSorLine,
  inferSorSchema,
  type SorImportOptions,
  type SorImportResult,
} from './io/sor-import.js';
export { exportCsv, exportJson, type ExportOptions, type Exportable } from './io/export.js';
export { detectFormat, magicType, IMPORT_FORMATS, type ImportFormat, type TextFormat } from './io/detect.js';
export { importParquet, exportParquet, importArrow, exportArrow, toArrow, fromArrow } from './io/lazy.js';
export type { ParquetImportOptions, ParquetExportOptions } from './io/parquet.js';
export { importJson, type JsonImportOptions } from './io/json-import.js';
export type { ColumnarImportOptions, ColumnarImportResult } from './io/batches.js';
// For the application shell (app/): the /df routes a node mounts, frames rendered as text for
// `eau2 df show` and `ls`, and what an interrupted `df import` needs to delete the chunks it wrote.
export { DEFAULT_HTTP_MAX_GROUPS, handleDfHttp, type DfHttpOptions } from './http.js';
export { renderFrame, renderFrameList, writeFrame } from './format-table.js';
export { parseChunkKey, versionChunkEnd, versionChunkPrefix } from './layout.js';
export { deleteVersion, readMeta, removeFrame } from './storage.js';
// Cells as the JSON routes write them: int64 as decimal strings, timestamps and dates as ISO text.
export { jsonCell } from './cell-text.js';
