// DataFrame: an immutable, typed, columnar table held in memory, and the entry point of the dataframe
// API (storage statics live here so users need one import). Frames read back from a store are
// LazyFrames (lazy-frame.ts) with the same query methods; query results are always DataFrames.

import type { KvStore } from '../kv/index.js';
import { ColumnBuilder } from './column-builder.js';
import { sliceColumn, type Column, type ColumnOf } from './column.js';
import { toColumn, type ColumnInput } from './column-input.js';
import { LazyFrame, joinRight, type LazyFrameOptions } from './lazy-frame.js';
import { checkName } from './layout.js';
import type { FrameInfo, FrameMeta } from './meta.js';
import { Query, type AggRequest } from './query/query.js';
import type { ExprLike } from './query/expr-base.js';
import { runPartial, type ChunkLoader } from './query/partial.js';
import { DESCRIBE_SCHEMA, describeAggs, describeRows } from './query/describe.js';
import { prepareJoin } from './query/join.js';
import { joinSource, type JoinOptions } from './query/joined.js';
import type { SortSpec } from './query/sort.js';
import { applyWindows, type WindowSpec } from './query/window.js';
import type { CheckedPlan, QuerySource } from './query/plan.js';
import {
  checkFields,
  columnIndex,
  parseSchema,
  schemaString,
  type ColumnType,
  type Field,
  type SchemaSpec,
  type Value,
} from './schema.js';
import { deleteFrame, listFrames, requireMeta, waitForMeta } from './storage.js';
import { DEFAULT_CHUNK_ROWS, DataFrameWriter, type WriterOptions } from './writer.js';

/**
 * A statement parameter's value (`$1`, `$2`, ... in the text): a number (an integer literal when it
 * is a safe integer, else a double), a bigint (an int64, exact), a string, a boolean, null, or a Date
 * (a timestamp). A parameter stands where a literal may, converted as that literal written in the
 * text would be; `l = $1::bigint` compares an int64 column with a string's digits exactly.
 */
export type SqlParam = number | bigint | string | boolean | null | Date;

export interface SqlOptions {
  /** Frames by name, looked up before the store (in-memory frames, or frames already open). */
  frames?: Readonly<Record<string, DataFrame | LazyFrame>>;
  /**
   * Values of the statement's parameters: params[0] is `$1`. Every parameter named in the text
   * needs a value and every value must be used, else INVALID. A value is never read as SQL.
   */
  params?: readonly SqlParam[];
  /**
   * At most this many result rows are computed, plus one to tell that there were more (the HTTP
   * route's bound on what a request can make a node gather); default unbounded.
   */
  maxRows?: number;
  /**
   * At most this many groups are gathered (from the nodes' partial results as they arrive, and in
   * the merge), else TOO_LARGE: the bound a node's HTTP route puts on a GROUP BY; default unbounded.
   */
  maxGroups?: number;
  /**
   * Rows gathered at the client for window functions, and for each WITH query, subquery in FROM and
   * UNION branch, at most (and at most MAX_GATHERED_ROWS), else TOO_LARGE: the HTTP route's bound
   * (1,000,000); default MAX_GATHERED_ROWS.
   */
  maxGatheredRows?: number;
}

type SqlRunner = (store: KvStore, text: string, opts: SqlOptions) => Promise<DataFrame>;
let sqlRunner: SqlRunner | undefined;

/**
 * Gives DataFrame.sql its implementation. The SQL layer (dataframe/sql/) sits above DataFrame: it
 * opens, queries and joins frames, so DataFrame cannot import it without an import cycle; the package
 * index installs it (sql/install.ts) when it loads.
 */
export function installSql(run: SqlRunner): void {
  sqlRunner = run;
}

export class DataFrame {
  readonly fields: readonly Field[];
  readonly columns: readonly Column[];
  readonly nrows: number;

  private constructor(fields: readonly Field[], columns: readonly Column[], nrows: number) {
    this.fields = fields;
    this.columns = columns;
    this.nrows = nrows;
  }

  /** A frame from named columns: typed arrays (adopted, not copied), arrays, Columns or { type, values }. */
  static fromColumns(cols: Readonly<Record<string, ColumnInput>>, opts: { schema?: SchemaSpec } = {}): DataFrame {
    if (cols === null || typeof cols !== 'object') throw new TypeError('fromColumns takes an object of name -> column');
    const names = Object.keys(cols);
    const expect = opts.schema === undefined ? undefined : parseSchema(opts.schema);
    if (expect && expect.map((f) => f.name).join('\u0000') !== names.join('\u0000')) {
      throw new TypeError(
        `schema names ${expect.map((f) => f.name).join(',')} do not match columns ${names.join(',')}`,
      );
    }
    const columns = names.map((n, i) => toColumn(cols[n]!, n, expect?.[i]?.type));
    return DataFrame.fromFields(
      names.map((name, i) => ({ name, type: columns[i]!.type })),
      columns,
    );
  }

  /** A frame from a schema and its columns; TypeError unless they agree in number, type and length. */
  static fromFields(fields: readonly Field[], columns: readonly Column[]): DataFrame {
    const fs = checkFields(fields);
    if (fs.length === 0) throw new TypeError('a frame needs at least one column');
    if (columns.length !== fs.length) throw new TypeError(`${fs.length} fields but ${columns.length} columns`);
    const n = columns[0]!.length;
    columns.forEach((c, i) => {
      if (c.type !== fs[i]!.type)
        throw new TypeError(`column ${JSON.stringify(fs[i]!.name)} is ${c.type}, its field says ${fs[i]!.type}`);
      if (c.length !== n) {
        throw new TypeError(
          `columns differ in length: ${JSON.stringify(fs[0]!.name)} has ${n} rows, ${JSON.stringify(fs[i]!.name)} has ${c.length}`,
        );
      }
    });
    return new DataFrame(Object.freeze(fs), Object.freeze([...columns]), n);
  }

  /** A frame from rows (arrays in schema order, or objects by column name). */
  static fromRows(schema: SchemaSpec, rows: Iterable<readonly Value[] | Readonly<Record<string, Value>>>): DataFrame {
    const fields = parseSchema(schema);
    const bs = fields.map((f) => new ColumnBuilder(f.type, 1024, f.name));
    for (const row of rows) {
      const vals = Array.isArray(row) ? row : fields.map((f) => (row as Record<string, Value>)[f.name] ?? null);
      if (vals.length !== fields.length)
        throw new TypeError(`row has ${vals.length} values, schema has ${fields.length}`);
      vals.forEach((v, i) => bs[i]!.push(v));
    }
    return DataFrame.fromFields(
      fields,
      bs.map((b) => b.finish()),
    );
  }

  /** Concatenates frames with the same schema. */
  static concat(frames: readonly DataFrame[], fields?: readonly Field[]): DataFrame {
    const fs = fields ?? frames[0]?.fields;
    if (!fs) throw new TypeError('concat needs at least one frame or the fields');
    const bs = fs.map(
      (f) =>
        new ColumnBuilder(
          f.type,
          frames.reduce((n, d) => n + d.nrows, 0),
          f.name,
        ),
    );
    for (const d of frames) {
      // Names count as much as types: stacking a frame's column b under another's a would mislabel it.
      if (d.fields.length !== fs.length || d.fields.some((f, i) => f.name !== fs[i]!.name || f.type !== fs[i]!.type)) {
        const show = (x: readonly Field[]): string => x.map((f) => `${f.name}:${f.type}`).join(',');
        throw new TypeError(`concat: frames have different schemas (${show(d.fields)} vs ${show(fs)})`);
      }
      d.columns.forEach((c, i) => bs[i]!.appendColumn(c));
    }
    return DataFrame.fromFields(
      fs,
      bs.map((b) => b.finish()),
    );
  }

  /** One letter per column: "DIS". */
  get schema(): string {
    return schemaString(this.fields);
  }

  get ncols(): number {
    return this.fields.length;
  }

  get columnNames(): string[] {
    return this.fields.map((f) => f.name);
  }

  /** A column by name or index; pass the expected type for typed access: column('x', 'D').values. */
  column<T extends ColumnType>(col: string | number, type: T): ColumnOf[T];
  column(col: string | number): Column;
  column(col: string | number, type?: ColumnType): Column {
    const c = this.columns[columnIndex(this.fields, col)]!;
    if (type !== undefined && c.type !== type) throw new TypeError(`column ${String(col)} is ${c.type}, not ${type}`);
    return c;
  }

  get(col: string | number, row: number): Value {
    if (!Number.isInteger(row) || row < 0 || row >= this.nrows)
      throw new RangeError(`row ${row} out of range (0..${this.nrows - 1})`);
    return this.columns[columnIndex(this.fields, col)]!.get(row);
  }

  row(i: number): Value[] {
    if (!Number.isInteger(i) || i < 0 || i >= this.nrows)
      throw new RangeError(`row ${i} out of range (0..${this.nrows - 1})`);
    return this.columns.map((c) => c.get(i));
  }

  *rows(): IterableIterator<Value[]> {
    for (let i = 0; i < this.nrows; i++) yield this.columns.map((c) => c.get(i));
  }

  [Symbol.iterator](): IterableIterator<Value[]> {
    return this.rows();
  }

  toObjects(): Record<string, Value>[] {
    const out: Record<string, Value>[] = [];
    for (let i = 0; i < this.nrows; i++)
      out.push(Object.fromEntries(this.fields.map((f, c) => [f.name, this.columns[c]!.get(i)])));
    return out;
  }

  /** Rows [start, end) as a frame; numeric columns are views. */
  slice(start: number, end = this.nrows): DataFrame {
    const s = Math.max(0, Math.min(start, this.nrows));
    const e = Math.max(s, Math.min(end, this.nrows));
    return DataFrame.fromFields(
      this.fields,
      this.columns.map((c) => sliceColumn(c, s, e)),
    );
  }

  // ---- queries (run in-process, chunk by chunk, by the same evaluator the nodes use) ----

  query(): Query {
    const nchunks = Math.ceil(this.nrows / DEFAULT_CHUNK_ROWS);
    const source: QuerySource = {
      fields: this.fields,
      nchunks,
      execute: (checked: CheckedPlan) => this.runLocal(checked),
      describe: () => 'in memory',
    };
    return new Query(source);
  }
  /** Runs a checked plan over this frame in-process, optionally joined to a broadcast right side. */
  private runLocal(checked: CheckedPlan, join?: unknown): Promise<unknown[]> {
    const chunkRows = DEFAULT_CHUNK_ROWS;
    const nchunks = Math.ceil(this.nrows / chunkRows);
    // The loader slices with the frame's own row counts: a join replaces `rowsOf` below with the
    // joined chunks' counts, which are known only once a chunk has been loaded and joined.
    const frameRows = (i: number): number => Math.min(chunkRows, this.nrows - i * chunkRows);
    let rowsOf = frameRows;
    let load: ChunkLoader = async (i: number): Promise<Column[]> =>
      this.columns.map((c) => sliceColumn(c, i * chunkRows, i * chunkRows + frameRows(i)));
    if (join !== undefined) ({ load, rowsOf } = prepareJoin(join, this.fields).wrap(load, frameRows));
    return runPartial(
      checked,
      checked.fields,
      load,
      rowsOf,
      Array.from({ length: nchunks }, (_, i) => i),
      1,
      undefined,
      { columnar: true },
    ).then((r) => [r]);
  }

  orderBy(...keys: (SortSpec | readonly SortSpec[])[]): Query {
    return this.query().orderBy(...keys);
  }
  withColumn(name: string, expr: ExprLike): Query {
    return this.query().withColumn(name, expr);
  }
  derive(cols: Readonly<Record<string, ExprLike>>): Query {
    return this.query().derive(cols);
  }
  /** Joins another frame to this one (in-process; see LazyFrame.join for stored frames). */
  join(right: DataFrame | LazyFrame, opts: JoinOptions): Query {
    return new Query(
      joinSource(
        {
          fields: this.fields,
          nchunks: Math.ceil(this.nrows / DEFAULT_CHUNK_ROWS),
          runJoin: (checked, join) => this.runLocal(checked, join),
          where: () => 'in memory',
        },
        joinRight(right),
        opts,
      ),
    );
  }
  /**
   * This frame with one more column per window function: per partition, ordered by the window's keys
   * (docs/dataframe.md "Windows"). In memory: TOO_LARGE past MAX_GATHERED_ROWS rows.
   */
  window(specs: readonly WindowSpec[]): DataFrame {
    const { fields, columns } = applyWindows(this, specs);
    return DataFrame.fromFields(fields, columns);
  }

  /** Per column: count, nulls, distinct estimate, min, max, mean, std, quartiles. */
  async describe(): Promise<DataFrame> {
    const r = await this.query().run({ aggs: describeAggs(this.fields) });
    return DataFrame.fromRows(DESCRIBE_SCHEMA, describeRows(this.fields, r));
  }

  filter(expr: ExprLike): Query {
    return this.query().filter(expr);
  }
  select(...cols: (string | readonly string[])[]): Query {
    return this.query().select(...cols);
  }
  groupBy(...cols: (string | readonly string[])[]): Query {
    return this.query().groupBy(...cols);
  }
  agg(spec: AggRequest): Promise<DataFrame> {
    return this.query().agg(spec);
  }
  count(): Promise<number> {
    return this.query().count();
  }
  sum(col: string): Promise<number | null> {
    return this.query().sum(col);
  }
  mean(col: string): Promise<number | null> {
    return this.query().mean(col);
  }
  min(col: string): Promise<Value> {
    return this.query().min(col);
  }
  max(col: string): Promise<Value> {
    return this.query().max(col);
  }

  // ---- storage on any KvStore ----

  /**
   * Runs one SQL SELECT over stored frames (docs/dataframe.md "SQL"); `EXPLAIN SELECT ...` returns the
   * plan as a frame with one text column, "plan", a line per row.
   */
  static sql(store: KvStore, text: string, opts: SqlOptions = {}): Promise<DataFrame> {
    if (!sqlRunner) return Promise.reject(new Error('the SQL layer is not loaded: import eau2/dataframe'));
    return sqlRunner(store, text, opts);
  }

  /** Stores `df` under `name` as a new version, atomically replacing any previous one. */
  static async put(store: KvStore, name: string, df: DataFrame, opts: WriterOptions = {}): Promise<FrameMeta> {
    if (!(df instanceof DataFrame)) throw new TypeError('DataFrame.put needs a DataFrame');
    const w = await DataFrameWriter.open(store, name, df.fields, opts);
    try {
      await w.appendColumns(df);
    } catch (e) {
      await w.abort();
      throw e;
    }
    return w.close();
  }

  /** Opens a stored frame lazily: chunks are fetched when first touched. NOT_FOUND if absent. */
  static async get(store: KvStore, name: string, opts: LazyFrameOptions = {}): Promise<LazyFrame> {
    return new LazyFrame(store, await requireMeta(store, checkName(name)), opts);
  }

  /** Like get, but waits up to timeoutMs for the frame to be published (TIMEOUT otherwise). */
  static async waitAndGet(
    store: KvStore,
    name: string,
    timeoutMs: number,
    opts: LazyFrameOptions = {},
  ): Promise<LazyFrame> {
    return new LazyFrame(store, await waitForMeta(store, checkName(name), timeoutMs), opts);
  }

  static list(store: KvStore): Promise<FrameInfo[]> {
    return listFrames(store);
  }

  /** Unpublishes and removes a frame; false if there was none. */
  static delete(store: KvStore, name: string): Promise<boolean> {
    return deleteFrame(store, name);
  }

  /** A streaming writer: append rows or column batches, then close() to publish. */
  static writer(store: KvStore, name: string, schema: SchemaSpec, opts: WriterOptions = {}): Promise<DataFrameWriter> {
    return DataFrameWriter.open(store, name, schema, opts);
  }
}

/** waitAndGet as a free function, the shape the applications use. */
export function waitAndGet(
  store: KvStore,
  name: string,
  timeoutMs: number,
  opts?: LazyFrameOptions,
): Promise<LazyFrame> {
  return DataFrame.waitAndGet(store, name, timeoutMs, opts);
}
