// VALUES lists as frames: `FROM (VALUES (1, 'a'), (2, NULL)) AS v(x, y)`, `WITH v(x, y) AS (VALUES
// ...)`. The rows are literals, typed per column as DuckDB types them (integers INTEGER, or BIGINT
// past int32; with a decimal, a double; text; booleans; DATE '...' and TIMESTAMP '...'; a column
// of NULLs alone INTEGER), named col0, col1, ... unless the alias names them (DuckDB's names). They
// are held in memory whole, so a list is bounded (MAX_VALUES_ROWS). derived.ts runs them as parts.
//
// The parser does not read a WITH query's column list, `WITH v(x, y) AS (...)` (for any query, not
// only VALUES): cteColumns blanks it out before parsing, at its own length, and records the names
// by the offset of the query's name; markCteColumns puts them on the parsed WITH binding
// (`eau2Columns`), and derived.ts renames the query's columns so.
// docs/dataframe.md "SQL".

import type { Expr as SqlExpr, Statement } from 'pgsql-ast-parser';
import { ErrorCode } from '../../kv/index.js';
import { columnFromValues } from '../column-builder.js';
import { DataFrame } from '../dataframe.js';
import type { ColumnType, Value } from '../schema.js';
import { parseDate, parseTimestamp } from '../temporal.js';
import { sqlError } from './errors.js';
import { scanWords } from './pre-parse.js';
import { spanOf } from './translate.js';

/** Most rows of one VALUES list: they are built in memory from the statement's text. */
const MAX_VALUES_ROWS = 10_000;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** A literal cell: its kind (what it may be typed as) and its value. */
type Cell =
  | { kind: 'null' }
  | { kind: 'int'; value: bigint }
  | { kind: 'double'; value: number }
  | { kind: 'text'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'date'; value: number }
  | { kind: 'timestamp'; value: bigint };

const TYPE_NAMES: Record<string, Cell['kind']> = {
  date: 'date',
  timestamp: 'timestamp',
  text: 'text',
  varchar: 'text',
  int: 'int',
  integer: 'int',
  int4: 'int',
  bigint: 'int',
  int8: 'int',
  double: 'double',
  float8: 'double',
  real: 'double',
  numeric: 'double',
  decimal: 'double',
  boolean: 'bool',
  bool: 'bool',
};

/** The frame a VALUES list stands for, its columns named col0, col1, ... */
export function valuesFrame(text: string, st: Extract<Statement, { type: 'values' }>): DataFrame {
  const rows = st.values;
  if (rows.length > MAX_VALUES_ROWS)
    throw sqlError(
      text,
      spanOf(rows[MAX_VALUES_ROWS]?.[0]) ?? spanOf(st),
      `VALUES has ${rows.length} rows, more than ${MAX_VALUES_ROWS}: load the rows as a frame`,
      ErrorCode.TOO_LARGE,
    );
  const width = rows[0]!.length;
  const cells = rows.map((r) => {
    if (r.length !== width)
      throw sqlError(text, spanOf(r[0]) ?? spanOf(st), 'VALUES lists must all be the same length');
    return r.map((e) => cellOf(text, e));
  });
  const fields = [];
  const columns = [];
  for (let c = 0; c < width; c++) {
    const col = cells.map((r) => r[c]!);
    const type = columnType(text, rows, c, col);
    fields.push({ name: `col${c}`, type });
    columns.push(
      columnFromValues(
        type,
        col.map((x, r) => valueAs(text, rows[r]![c]!, x, type)),
      ),
    );
  }
  return DataFrame.fromFields(fields, columns);
}

/** A literal's kind and value (an error at anything else). */
function cellOf(text: string, e: SqlExpr): Cell {
  switch (e.type) {
    case 'null':
      return { kind: 'null' };
    case 'integer': {
      // Past 2^53 the parser's number has lost digits: the text has them.
      const span = spanOf(e);
      const digits = span ? text.slice(span.start, span.end).replace(/\s+/g, '') : '';
      const v = !Number.isSafeInteger(e.value) && /^-?\d+$/.test(digits) ? BigInt(digits) : BigInt(e.value);
      if (v < INT64_MIN || v > INT64_MAX) return { kind: 'double', value: Number(v) };
      return { kind: 'int', value: v };
    }
    case 'numeric':
      return { kind: 'double', value: e.value };
    case 'string':
      return { kind: 'text', value: e.value };
    case 'boolean':
      return { kind: 'bool', value: e.value };
    case 'unary': {
      if (e.op !== '-' && e.op !== '+') break;
      const x = cellOf(text, e.operand);
      if (e.op === '+' || x.kind === 'null') return x;
      if (x.kind === 'int') return { kind: 'int', value: -x.value };
      if (x.kind === 'double') return { kind: 'double', value: -x.value };
      break;
    }
    case 'cast': {
      const to = TYPE_NAMES[(e.to as { name?: string }).name?.toLowerCase() ?? ''];
      const x = cellOf(text, e.operand);
      if (!to) break;
      if (x.kind === 'null') return x;
      const cast = castCell(x, to);
      if (!cast) throw sqlError(text, spanOf(e), `cannot cast this ${x.kind} literal to ${to}`);
      return cast;
    }
  }
  throw sqlError(
    text,
    spanOf(e),
    "VALUES takes literals (numbers, text, booleans, NULL, DATE '...', TIMESTAMP '...', casts of them): compute in the SELECT that reads it",
  );
}

function castCell(x: Exclude<Cell, { kind: 'null' }>, to: Cell['kind']): Cell | undefined {
  if (x.kind === to) return x;
  const s = x.kind === 'text' ? x.value.trim() : undefined;
  switch (to) {
    case 'date': {
      const d = s === undefined ? undefined : parseDate(s);
      return d === undefined ? undefined : { kind: 'date', value: d };
    }
    case 'timestamp': {
      if (x.kind === 'date') return { kind: 'timestamp', value: BigInt(x.value) * 86_400_000_000n };
      const t = s === undefined ? undefined : parseTimestamp(s, true);
      return t === undefined ? undefined : { kind: 'timestamp', value: t };
    }
    case 'int':
      if (x.kind === 'double' && Number.isFinite(x.value)) return { kind: 'int', value: BigInt(Math.round(x.value)) };
      if (s !== undefined && /^[+-]?\d+$/.test(s)) return { kind: 'int', value: BigInt(s) };
      return undefined;
    case 'double':
      if (x.kind === 'int') return { kind: 'double', value: Number(x.value) };
      if (s !== undefined && s !== '' && !Number.isNaN(Number(s))) return { kind: 'double', value: Number(s) };
      return undefined;
    case 'text':
      return undefined;
    case 'bool':
      if (s !== undefined && /^(true|false)$/i.test(s)) return { kind: 'bool', value: s.toLowerCase() === 'true' };
      return undefined;
  }
  return undefined;
}

/**
 * A column's type from its cells, as DuckDB types a VALUES column: numbers widen (INTEGER, BIGINT,
 * DOUBLE), a date beside a timestamp is a timestamp, a text literal beside dates or timestamps is
 * read as one (DuckDB's string literals take the column's type); other mixes are refused.
 */
function columnType(text: string, rows: readonly (readonly SqlExpr[])[], c: number, col: readonly Cell[]): ColumnType {
  const kinds = new Set(col.map((x) => x.kind));
  kinds.delete('null');
  const has = (k: Cell['kind']) => kinds.has(k);
  if (kinds.size === 0) return 'I';
  if ([...kinds].every((k) => k === 'int' || k === 'double')) {
    if (has('double')) return 'D';
    return col.every((x) => x.kind !== 'int' || (x.value >= INT32_MIN && x.value <= INT32_MAX)) ? 'I' : 'L';
  }
  if ([...kinds].every((k) => k === 'date' || k === 'timestamp' || k === 'text') && !(kinds.size === 1 && has('text')))
    return has('timestamp') ? 'T' : 'd';
  if (kinds.size === 1) return has('text') ? 'S' : 'B';
  const first = col.findIndex((x) => x.kind !== 'null' && x.kind !== col.find((y) => y.kind !== 'null')!.kind);
  throw sqlError(
    text,
    spanOf(rows[first]![c]),
    `VALUES column ${c + 1} mixes ${[...kinds].join(' and ')}: CAST the values to one type`,
  );
}

/** A cell's value in a column of `type`. */
function valueAs(text: string, e: SqlExpr, x: Cell, type: ColumnType): Value {
  if (x.kind === 'null') return null;
  if (type === 'I') return Number((x as { value: bigint }).value);
  if (type === 'L') return (x as { value: bigint }).value;
  if (type === 'D') return Number(x.value);
  if (type === 'd' || type === 'T') {
    const to = castCell(x, type === 'd' ? 'date' : 'timestamp');
    if (!to) throw sqlError(text, spanOf(e), `cannot read this text as a ${type === 'd' ? 'date' : 'timestamp'}`);
    return (to as { value: Value }).value;
  }
  return x.value as Value;
}

/** A WITH query's column list as written: the offset of the query's name, and the names. */
export interface CteColumns {
  at: number;
  names: string[];
}

const IDENT = String.raw`(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")`;
/** `name (a, b) AS (`: only a WITH query has a parenthesized list of names before `AS (`. */
const CTE = new RegExp(String.raw`(${IDENT})(\s*\(\s*${IDENT}(?:\s*,\s*${IDENT})*\s*\))(?=\s*AS\s*\()`, 'iy');

const unquote = (n: string): string => (n.startsWith('"') ? n.slice(1, -1).replace(/""/g, '"') : n.toLowerCase());

/** `text` with each WITH query's column list blanked out (outside literals and comments), and the lists. */
export function cteColumns(text: string): { text: string; lists: CteColumns[] } {
  const lists: CteColumns[] = [];
  if (!/\)\s*as\s*\(/i.test(text)) return { text, lists };
  let out = '';
  let from = 0;
  scanWords(text, (i) => {
    CTE.lastIndex = i;
    const m = CTE.exec(text);
    if (!m) return undefined;
    const names = [...m[2]!.matchAll(new RegExp(IDENT, 'g'))].map((x) => unquote(x[0]));
    lists.push({ at: i, names });
    const listAt = i + m[1]!.length;
    out += text.slice(from, listAt) + ' '.repeat(m[2]!.length);
    from = listAt + m[2]!.length;
    return from;
  });
  return { text: from === 0 ? text : out + text.slice(from), lists };
}

/** Puts each recorded column list on the WITH binding whose name starts at its offset. */
export function markCteColumns(stmts: unknown, lists: readonly CteColumns[]): void {
  const walk = (x: unknown): void => {
    if (x === null || typeof x !== 'object') return;
    if (Array.isArray(x)) {
      for (const y of x) walk(y);
      return;
    }
    const o = x as { type?: string; bind?: { alias: { _location?: { start: number } }; eau2Columns?: string[] }[] };
    if (o.type === 'with')
      for (const b of o.bind ?? []) {
        const l = lists.find((c) => c.at === b.alias._location?.start);
        if (l) b.eau2Columns = l.names;
      }
    for (const v of Object.values(o)) walk(v);
  };
  walk(stmts);
}
