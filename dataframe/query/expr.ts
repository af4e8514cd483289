// Query expressions as plain data (docs/dataframe.md "Expressions"). A plan travels to the nodes that
// hold the chunks, so it must be something msgpack can carry and a node can check before running:
// never a JavaScript function. Builders below make the data; `checkExpr` types it against a schema and
// is run both by the client (early, friendly errors) and by every node (payloads are untrusted).

import { columnIndex, type Field } from '../schema.js';
import { parseDate, parseTimestamp } from '../temporal.js';
import { checkFnExpr } from './expr-fns.js';
import {
  FN_OPS,
  isLiteral,
  isNum,
  lift,
  literalType,
  type ArithOp,
  type CompareOp,
  type Expr,
  type ExprLike,
  type ExprType,
  type Literal,
} from './expr-base.js';

const COMPARE_OPS = new Set<string>(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);
const ARITH_OPS = new Set<string>(['add', 'sub', 'mul', 'div', 'mod']);
const MAX_DEPTH = 64;
const MAX_IN_VALUES = 1_000_000;

export const col = (name: string): Expr => {
  if (typeof name !== 'string') throw new TypeError('col() takes a column name');
  return { op: 'col', name };
};
export const lit = (value: Literal): Expr => ({ op: 'lit', value });
const cmp =
  (op: CompareOp) =>
  (a: ExprLike, b: ExprLike): Expr => ({ op, args: [lift(a), lift(b)] });
export const eq = cmp('eq');
export const ne = cmp('ne');
export const lt = cmp('lt');
export const le = cmp('le');
export const gt = cmp('gt');
export const ge = cmp('ge');
export const and = (...args: ExprLike[]): Expr => ({ op: 'and', args: args.map(lift) });
export const or = (...args: ExprLike[]): Expr => ({ op: 'or', args: args.map(lift) });
export const not = (a: ExprLike): Expr => ({ op: 'not', args: [lift(a)] });
const arith =
  (op: ArithOp) =>
  (a: ExprLike, b: ExprLike): Expr => ({ op, args: [lift(a), lift(b)] });
export const add = arith('add');
export const sub = arith('sub');
export const mul = arith('mul');
export const div = arith('div');
export const mod = arith('mod');
export const neg = (a: ExprLike): Expr => ({ op: 'neg', args: [lift(a)] });
export const isNull = (a: ExprLike): Expr => ({ op: 'isNull', args: [lift(a)] });
export const isIn = (a: ExprLike, values: Iterable<Literal>): Expr => ({
  op: 'in',
  args: [lift(a)],
  values: [...values],
});
/** lo <= a AND a <= hi */
export const between = (a: ExprLike, lo: ExprLike, hi: ExprLike): Expr => and(ge(a, lo), le(a, hi));

/** Numbers compare with int64s exactly (JavaScript compares a bigint with a number by value). */
const isOrdered = (t: ExprType): boolean => isNum(t) || t === 'L';

function comparable(a: ExprType, b: ExprType): boolean {
  if (a === 'N' || b === 'N') return true;
  if (isOrdered(a) && isOrdered(b)) return true;
  // A date compares with a timestamp as its midnight (as in SQL: eval.ts casts it; fold.ts turns a
  // constant side into days).
  if ((a === 'd' && b === 'T') || (a === 'T' && b === 'd')) return true;
  return a === b;
}

/**
 * A timestamp or date column compared with a literal: ISO 8601 text (a date, or a timestamp with an
 * optional zone) or, for a timestamp, microseconds and, for a date, days since the epoch as a number.
 * The text must parse: a misspelt date would otherwise compare as "never".
 */
function temporalLiteralOk(t: ExprType, lit: unknown): boolean {
  const x = lit as { op?: unknown; value?: unknown };
  if (x?.op !== 'lit') return false;
  const v = x.value;
  if (t === 'T')
    return typeof v === 'number'
      ? Number.isSafeInteger(v)
      : typeof v === 'string' && parseTimestamp(v, true) !== undefined;
  if (t === 'd')
    return typeof v === 'number' ? Number.isInteger(v) : typeof v === 'string' && parseDate(v) !== undefined;
  return false;
}

function argsOf(e: Record<string, unknown>, n: number | 'many'): Record<string, unknown>[] {
  const args = e.args;
  if (!Array.isArray(args) || (n === 'many' ? args.length === 0 : args.length !== n)) {
    throw new TypeError(`${String(e.op)} takes ${n === 'many' ? 'one or more' : n} argument(s)`);
  }
  return args as Record<string, unknown>[];
}

/** Checks structure and types against `fields`; returns the result type. TypeError on any problem. */
export function checkExpr(e: unknown, fields: readonly Field[], depth = 0): ExprType {
  if (depth > MAX_DEPTH) throw new TypeError(`expression nested deeper than ${MAX_DEPTH}`);
  if (e === null || typeof e !== 'object' || Array.isArray(e))
    throw new TypeError('expression must be an object with an op');
  const x = e as Record<string, unknown>;
  const op = x.op;
  const sub = (a: unknown): ExprType => checkExpr(a, fields, depth + 1);
  if (op === 'col') {
    if (typeof x.name !== 'string') throw new TypeError('col needs a name');
    return fields[columnIndex(fields, x.name)]!.type;
  }
  if (op === 'lit') {
    if (!isLiteral(x.value)) throw new TypeError('lit needs a number, string, boolean or null');
    return literalType(x.value);
  }
  if (typeof op === 'string' && COMPARE_OPS.has(op)) {
    const args = argsOf(x, 2);
    const [a, b] = args.map(sub) as [ExprType, ExprType];
    if (!comparable(a, b) && !temporalLiteralOk(a, args[1]) && !temporalLiteralOk(b, args[0])) {
      const hint =
        a === 'T' || a === 'd' || b === 'T' || b === 'd'
          ? ' (a date or timestamp compares with ISO 8601 text such as "2024-02-29" or "2024-02-29T12:00:00Z")'
          : '';
      throw new TypeError(`cannot compare ${a} with ${b} in ${op}${hint}`);
    }
    return 'B';
  }
  if (op === 'and' || op === 'or' || op === 'not') {
    for (const t of argsOf(x, op === 'not' ? 1 : 'many').map(sub)) {
      if (t !== 'B' && t !== 'N') throw new TypeError(`${op} needs boolean arguments, got ${t}`);
    }
    return 'B';
  }
  if ((typeof op === 'string' && ARITH_OPS.has(op)) || op === 'neg') {
    for (const t of argsOf(x, op === 'neg' ? 1 : 2).map(sub)) {
      if (!isNum(t)) throw new TypeError(`${String(op)} needs numeric arguments, got ${t}`);
    }
    return 'D';
  }
  if (op === 'isNull') {
    argsOf(x, 1).map(sub);
    return 'B';
  }
  if (op === 'in') {
    const t = sub(argsOf(x, 1)[0]);
    const vals = x.values;
    if (!Array.isArray(vals) || vals.length > MAX_IN_VALUES)
      throw new TypeError(`in needs an array of at most ${MAX_IN_VALUES} values`);
    for (const v of vals) {
      if (!isLiteral(v) || (!comparable(t, literalType(v)) && !temporalLiteralOk(t, { op: 'lit', value: v })))
        throw new TypeError(`in: value ${String(v)} cannot be compared with ${t}`);
    }
    return 'B';
  }
  if (typeof op === 'string' && FN_OPS.has(op)) return checkFnExpr(x, sub);
  throw new TypeError(`unknown expression op ${JSON.stringify(op)}`);
}
