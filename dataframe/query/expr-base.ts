// The data an expression is made of, shared by everything that builds, checks or evaluates one (the
// fluent builders, the SQL translator, the evaluator on the nodes): the Expr shape, literals, result
// types, the function names, and the vector a chunk's values are evaluated into. It imports nothing
// of the query layer, so every module above can depend on it without forming a cycle.

import type { ColumnType } from '../schema.js';

export type Literal = number | string | boolean | null;

export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';
export type ArithOp = 'add' | 'sub' | 'mul' | 'div' | 'mod';

export type Expr =
  | { readonly op: 'col'; readonly name: string }
  | { readonly op: 'lit'; readonly value: Literal }
  | { readonly op: CompareOp; readonly args: readonly [Expr, Expr] }
  | { readonly op: 'and' | 'or'; readonly args: readonly Expr[] }
  | { readonly op: 'not' | 'neg' | 'isNull'; readonly args: readonly [Expr] }
  | { readonly op: ArithOp; readonly args: readonly [Expr, Expr] }
  | { readonly op: 'in'; readonly args: readonly [Expr]; readonly values: readonly Literal[] }
  // Computed values (expr-fns.ts checks and evaluates these).
  | { readonly op: 'call'; readonly fn: FnName; readonly args: readonly Expr[]; readonly unit?: TimeUnit }
  | { readonly op: 'cast'; readonly to: ColumnType; readonly args: readonly [Expr] }
  | { readonly op: 'coalesce'; readonly args: readonly Expr[] }
  /** args: when1, then1, when2, then2, ..., else (the else is always present: lit(null) by default). */
  | { readonly op: 'case'; readonly args: readonly Expr[] };

/** A builder argument: an expression, or a JavaScript value taken as a literal (strings too: use col() for columns). */
export type ExprLike = Expr | Literal;

export function isLiteral(v: unknown): v is Literal {
  return v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean';
}

export function lift(e: ExprLike): Expr {
  if (isLiteral(e)) return { op: 'lit', value: e };
  if (e !== null && typeof e === 'object' && typeof (e as { op?: unknown }).op === 'string') return e;
  throw new TypeError(
    `not an expression or literal: ${String(e)} (functions are not expressions: build one with col(), gt(), ...)`,
  );
}

/** Result type of an expression: a column type, or 'N' for a bare null literal (fits anywhere). */
export type ExprType = ColumnType | 'N';

export const isNum = (t: ExprType): boolean => t === 'I' || t === 'D' || t === 'N';

export function literalType(v: Literal): ExprType {
  if (v === null) return 'N';
  if (typeof v === 'number') return 'D';
  if (typeof v === 'boolean') return 'B';
  return 'S';
}

const STRING_FNS = [
  'lower',
  'upper',
  'length',
  'substring',
  'contains',
  'startsWith',
  'endsWith',
  'like',
  'concat',
  'trim',
  'ltrim',
  'rtrim',
  'replace',
  'splitPart',
  'strpos',
  'left',
  'right',
  'lpad',
  'rpad',
  'reverse',
  'repeat',
  'regexpMatches',
  'regexpReplace',
  'regexpExtract',
] as const;
const MATH_FNS = [
  'abs',
  'round',
  'floor',
  'ceil',
  'sqrt',
  'trunc',
  'sign',
  'ln',
  'log10',
  'log2',
  'log',
  'exp',
  'power',
  'greatest',
  'least',
] as const;
/** Functions of a date or timestamp that take a unit name ('month', ...) or a format as a string literal. */
const TIME_FNS = ['dateTrunc', 'dateDiff', 'dateAdd', 'strftime'] as const;
export const DATE_PARTS = ['year', 'month', 'day', 'hour', 'minute', 'second', 'dayOfWeek', 'dayOfYear'] as const;
export type FnName =
  | (typeof STRING_FNS)[number]
  | (typeof MATH_FNS)[number]
  | (typeof TIME_FNS)[number]
  | (typeof DATE_PARTS)[number];
export const FN_NAMES = new Set<string>([...STRING_FNS, ...MATH_FNS, ...TIME_FNS, ...DATE_PARTS]);

/** How a value holds a point in time: days since 1970-01-01, or microseconds since the epoch (UTC). */
export type TimeUnit = 'days' | 'us';

export const FN_OPS = new Set<string>(['call', 'cast', 'coalesce', 'case']);

/** A column's values for a chunk, or a scalar (one value applying to every row). */
export interface Vec {
  readonly scalar: boolean;
  /**
   * Numbers (int32, float64, dates, bools as 0/1), bigints (int64, timestamps) or strings; null for
   * an all-null vector.
   */
  readonly v: ArrayLike<number> | BigInt64Array | readonly bigint[] | readonly string[] | null;
  /** One byte per row (one byte in total for a scalar), 1 = null; absent when nothing is null. */
  readonly nulls?: Uint8Array;
}
