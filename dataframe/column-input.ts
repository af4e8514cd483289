// Turning what callers hand to DataFrame.fromColumns and writer.appendColumns into columns. Typed
// arrays are adopted without copying (a 10M-row Float64Array stays one allocation); plain arrays have
// their type inferred only when that is unambiguous, otherwise the caller must say { type, values }.

import { columnFromValues } from './column-builder.js';
import {
  BigIntColumn,
  BoolColumn,
  DateColumn,
  DoubleColumn,
  IntColumn,
  StringColumn,
  TimestampColumn,
  makeColumn,
  type Column,
} from './column.js';
import { isColumnType, type ColumnType, type Value } from './schema.js';

export type ColumnInput =
  | Column
  | Int32Array
  | Float64Array
  | BigInt64Array
  | readonly (number | null)[]
  | readonly (bigint | null)[]
  | readonly (boolean | null)[]
  | readonly (string | null)[]
  | { readonly type: ColumnType; readonly values: ArrayLike<Value | undefined> };

function isColumn(x: unknown): x is Column {
  return (
    x instanceof IntColumn ||
    x instanceof DoubleColumn ||
    x instanceof BoolColumn ||
    x instanceof StringColumn ||
    x instanceof BigIntColumn ||
    x instanceof TimestampColumn ||
    x instanceof DateColumn
  );
}

function inferArrayType(values: readonly unknown[], name: string): ColumnType {
  let t: ColumnType | undefined;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    const vt: ColumnType | undefined =
      typeof v === 'number'
        ? 'D'
        : typeof v === 'boolean'
          ? 'B'
          : typeof v === 'string'
            ? 'S'
            : typeof v === 'bigint'
              ? 'L'
              : undefined;
    if (vt === undefined)
      throw new TypeError(`column ${JSON.stringify(name)}, row ${i}: unsupported value of type ${typeof v}`);
    if (t !== undefined && t !== vt) {
      throw new TypeError(
        `column ${JSON.stringify(name)} mixes ${t} and ${vt} values; convert them or pass { type, values }`,
      );
    }
    t = vt;
  }
  if (t === undefined) {
    throw new TypeError(
      `cannot infer the type of column ${JSON.stringify(name)} (empty or all null); pass { type, values }`,
    );
  }
  return t;
}

/** A column from caller input; `expect` (from a schema) is checked, not coerced to. */
export function toColumn(input: ColumnInput, name: string, expect?: ColumnType): Column {
  let col: Column;
  if (isColumn(input)) col = input;
  else if (input instanceof Int32Array) col = new IntColumn(input, input.length, undefined);
  else if (input instanceof Float64Array) col = new DoubleColumn(input, input.length, undefined);
  else if (input instanceof BigInt64Array) col = makeColumn(expect === 'T' ? 'T' : 'L', input, input.length, undefined);
  else if (ArrayBuffer.isView(input)) {
    throw new TypeError(
      `column ${JSON.stringify(name)}: ${input.constructor.name} is not a column type; use Int32Array, Float64Array, BigInt64Array or { type, values }`,
    );
  } else if (Array.isArray(input)) {
    col = columnFromValues(expect ?? inferArrayType(input, name), input as readonly Value[], name);
  } else if (input !== null && typeof input === 'object' && 'type' in input && 'values' in input) {
    const { type, values } = input;
    if (!isColumnType(type))
      throw new TypeError(`column ${JSON.stringify(name)}: unknown type ${JSON.stringify(type)}`);
    if (type === 'I' && values instanceof Int32Array) col = new IntColumn(values, values.length, undefined);
    else if (type === 'D' && values instanceof Float64Array) col = new DoubleColumn(values, values.length, undefined);
    else if ((type === 'L' || type === 'T') && values instanceof BigInt64Array)
      col = makeColumn(type, values, values.length, undefined);
    else if (type === 'd' && values instanceof Int32Array) col = makeColumn('d', values, values.length, undefined);
    else col = columnFromValues(type, values, name);
  } else {
    throw new TypeError(
      `column ${JSON.stringify(name)}: expected a typed array, an array, a Column or { type, values }`,
    );
  }
  if (expect !== undefined && col.type !== expect) {
    throw new TypeError(`column ${JSON.stringify(name)} is ${col.type}, the schema says ${expect}`);
  }
  return col;
}
