// Column types, fields and schemas: the vocabulary every other dataframe module speaks.
// eau2 has exactly four column types (DESIGN.md), each nullable. Their one-letter codes are stored in
// frame metadata (docs/format.md section 7): DO NOT CHANGE THESE LETTERS.

export const ColumnType = {
  INT: 'I', // int32
  DOUBLE: 'D', // float64
  BOOL: 'B',
  STRING: 'S',
} as const;
export type ColumnType = (typeof ColumnType)[keyof typeof ColumnType];

/** A cell: null is a missing value in a column of any type. */
export type Value = number | boolean | string | null;

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

export function isColumnType(t: unknown): t is ColumnType {
  return t === 'I' || t === 'D' || t === 'B' || t === 'S';
}

function checkType(t: unknown, where: string): ColumnType {
  if (!isColumnType(t)) {
    throw new TypeError(`unknown column type ${JSON.stringify(t)} for ${where}: expected one of I, D, B, S`);
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
            type: part
              .slice(i + 1)
              .trim()
              .toUpperCase() as ColumnType,
          };
        }),
      );
    }
    return checkFields([...s].map((t, i) => ({ name: defaultColumnName(i), type: t.toUpperCase() as ColumnType })));
  }
  if (Array.isArray(spec)) return checkFields(spec as readonly Field[]);
  if (spec !== null && typeof spec === 'object') {
    return checkFields(Object.entries(spec).map(([name, type]) => ({ name, type })));
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
  }
}

export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return String(v);
}
