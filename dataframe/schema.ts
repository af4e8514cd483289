// Column types, fields and schemas: the vocabulary every other dataframe module speaks.
// eau2 has seven column types, each nullable. Their one-letter codes are stored in frame metadata
// (docs/format.md section 7): DO NOT CHANGE THESE LETTERS. `d` (date) and `D` (double) differ only in
// case, so type letters are case-sensitive (long names such as "date" or "float64" are accepted too).

export const ColumnType = {
  INT: 'I', // int32
  DOUBLE: 'D', // float64
  BOOL: 'B',
  STRING: 'S',
  INT64: 'L', // int64, cells are bigint
  TIMESTAMP: 'T', // microseconds since 1970-01-01T00:00:00Z, int64, cells are bigint
  DATE: 'd', // days since 1970-01-01, int32, cells are numbers
} as const;
export type ColumnType = (typeof ColumnType)[keyof typeof ColumnType];

/**
 * A cell: null is a missing value in a column of any type. L and T cells are bigints (an int64, or
 * microseconds since the epoch), d cells are numbers of days since the epoch.
 */
export type Value = number | boolean | string | bigint | null;

export interface Field {
  readonly name: string;
  readonly type: ColumnType;
}

/**
 * How callers may spell a schema:
 * - `"DIS"`: one letter per column, named c0, c1, ...;
 * - `"price:D,qty:I,city:S"`: comma-separated name:type pairs;
 * - `[{ name, type }, ...]` or `{ price: 'D', qty: 'I' }`.
 */
export type SchemaSpec = string | readonly Field[] | Readonly<Record<string, ColumnType>>;

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

export function isColumnType(t: unknown): t is ColumnType {
  return t === 'I' || t === 'D' || t === 'B' || t === 'S' || t === 'L' || t === 'T' || t === 'd';
}

/** The types added after format version 1 (docs/format.md 7.2): frames holding them are versioned. */
export function isNewType(t: ColumnType): boolean {
  return t === 'L' || t === 'T' || t === 'd';
}

/** Long names a schema may use for a type (case-insensitive); single letters are case-sensitive. */
const TYPE_ALIASES: Record<string, ColumnType> = {
  int: 'I',
  int32: 'I',
  integer: 'I',
  double: 'D',
  float64: 'D',
  float: 'D',
  bool: 'B',
  boolean: 'B',
  string: 'S',
  str: 'S',
  text: 'S',
  int64: 'L',
  long: 'L',
  bigint: 'L',
  timestamp: 'T',
  datetime: 'T',
  date: 'd',
};

/**
 * A type as a schema spells it: a letter (I D B S L T d; i, b, s, l and t are also taken for their
 * capitals, but d is date and D double) or a long name.
 */
function typeFromText(t: string): ColumnType | string {
  if (isColumnType(t)) return t;
  if (t.length === 1 && t !== 'd' && isColumnType(t.toUpperCase())) return t.toUpperCase();
  return TYPE_ALIASES[t.toLowerCase()] ?? t;
}

function checkType(t: unknown, where: string): ColumnType {
  if (!isColumnType(t)) {
    throw new TypeError(
      `unknown column type ${JSON.stringify(t)} for ${where}: expected one of I, D, B, S, L, T, d (int32, float64, bool, string, int64, timestamp, date)`,
    );
  }
  return t;
}

/** Default name of column i when a schema gives only types. */
export function defaultColumnName(i: number): string {
  return `c${i}`;
}

/** Validates a field list: non-empty unique names, known types. Returns a frozen copy. */
export function checkFields(fields: readonly Field[]): Field[] {
  if (!Array.isArray(fields)) throw new TypeError('fields must be an array');
  const seen = new Set<string>();
  const out: Field[] = [];
  for (const f of fields) {
    if (f === null || typeof f !== 'object') throw new TypeError('each field must be { name, type }');
    if (typeof f.name !== 'string' || f.name.length === 0)
      throw new TypeError('column names must be non-empty strings');
    if (seen.has(f.name)) throw new TypeError(`duplicate column name ${JSON.stringify(f.name)}`);
    seen.add(f.name);
    out.push(Object.freeze({ name: f.name, type: checkType(f.type, `column ${JSON.stringify(f.name)}`) }));
  }
  return out;
}

export function parseSchema(spec: SchemaSpec): Field[] {
  if (typeof spec === 'string') {
    const s = spec.trim();
    if (s.includes(':')) {
      return checkFields(
        s.split(',').map((part) => {
          const i = part.lastIndexOf(':');
          if (i < 0) throw new TypeError(`schema entry ${JSON.stringify(part)} is not name:type`);
          return {
            name: part.slice(0, i).trim(),
            type: typeFromText(part.slice(i + 1).trim()) as ColumnType,
          };
        }),
      );
    }
    return checkFields([...s].map((t, i) => ({ name: defaultColumnName(i), type: typeFromText(t) as ColumnType })));
  }
  if (Array.isArray(spec))
    return checkFields(
      (spec as readonly Field[]).map((f) =>
        f !== null && typeof f === 'object' && typeof f.type === 'string'
          ? { name: f.name, type: typeFromText(f.type) as ColumnType }
          : f,
      ),
    );
  if (spec !== null && typeof spec === 'object') {
    return checkFields(
      Object.entries(spec).map(([name, type]) => ({
        name,
        type: (typeof type === 'string' ? typeFromText(type) : type) as ColumnType,
      })),
    );
  }
  throw new TypeError('schema must be a string, an array of fields or an object of name -> type');
}

/** The compact schema string, one letter per column: "DIS". */
export function schemaString(fields: readonly Field[]): string {
  return fields.map((f) => f.type).join('');
}

/** Index of a column given by name or position; TypeError if there is no such column. */
export function columnIndex(fields: readonly Field[], col: string | number): number {
  if (typeof col === 'number') {
    if (Number.isInteger(col) && col >= 0 && col < fields.length) return col;
    throw new TypeError(`column index ${col} out of range (0..${fields.length - 1})`);
  }
  const i = fields.findIndex((f) => f.name === col);
  if (i < 0)
    throw new TypeError(`no column named ${JSON.stringify(col)} (have: ${fields.map((f) => f.name).join(', ')})`);
  return i;
}

/** True iff `v` may be stored in a column of type `t` (null fits every type). */
export function valueFits(t: ColumnType, v: unknown): boolean {
  if (v === null || v === undefined) return true;
  switch (t) {
    case 'I':
      return typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
    case 'D':
      return typeof v === 'number';
    case 'B':
      return typeof v === 'boolean';
    case 'S':
      return typeof v === 'string';
    case 'L':
    case 'T':
      return typeof v === 'bigint'
        ? v >= INT64_MIN && v <= INT64_MAX
        : typeof v === 'number' && Number.isSafeInteger(v);
    case 'd':
      return typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
  }
}

export function describeValue(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return String(v);
}
