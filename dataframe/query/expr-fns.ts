// Computed values: string functions, math, casts, coalesce, CASE and date parts (docs/dataframe.md
// "Computed columns"). Checked here against argument types, evaluated here row by row into a vector:
// unlike comparisons (eval.ts), these are not on the hot path of a filter scan, so one generic loop per
// function serves every column type. Column types are dispatched in one place each: `vecValue` reads a
// value of any type, `buildVec` writes one, `temporalUnit` says how a type holds time.

import type { ColumnType } from '../schema.js';
import { isColumnType, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN } from '../schema.js';
import { cellText } from '../cell-text.js';
import { convertText } from '../io/text-values.js';
import * as re from './fns-regexp.js';
import * as text from './fns-text.js';
import {
  addUs,
  diffUs,
  parseStrftime,
  strftimeOf,
  TIME_UNITS,
  toUs,
  TRUNC_UNITS,
  truncUs,
  unitName,
} from './fns-time.js';
import {
  type DATE_PARTS,
  FN_NAMES,
  isNum,
  lift,
  type Expr,
  type ExprLike,
  type ExprType,
  type FnName,
  type TimeUnit,
  type Vec,
} from './expr-base.js';

/**
 * The unit a column type holds time in, or an explicit unit for a number column. The one place the
 * temporal column types (T: microseconds, d: days) map to their unit.
 */
function temporalUnit(t: ExprType, explicit: TimeUnit | undefined): TimeUnit | undefined {
  if (t === 'T') return 'us';
  if (t === 'd') return 'days';
  if ((t === 'I' || t === 'D' || t === 'N') && explicit !== undefined) return explicit;
  return undefined;
}

// ---- builders ----

const call = (fn: FnName, ...args: ExprLike[]): Expr => ({ op: 'call', fn, args: args.map(lift) });
export const lower = (a: ExprLike): Expr => call('lower', a);
export const upper = (a: ExprLike): Expr => call('upper', a);
export const length = (a: ExprLike): Expr => call('length', a);
/** SQL's substring: `start` counts from 1; without `len`, to the end. */
export const substring = (a: ExprLike, start: ExprLike, len?: ExprLike): Expr =>
  len === undefined ? call('substring', a, start) : call('substring', a, start, len);
export const contains = (a: ExprLike, b: ExprLike): Expr => call('contains', a, b);
export const startsWith = (a: ExprLike, b: ExprLike): Expr => call('startsWith', a, b);
export const endsWith = (a: ExprLike, b: ExprLike): Expr => call('endsWith', a, b);
/** SQL LIKE: % any run, _ one character; case-sensitive. */
export const like = (a: ExprLike, pattern: string): Expr => call('like', a, pattern);
export const concat = (...args: ExprLike[]): Expr => call('concat', ...args);
export const cast = (a: ExprLike, to: ColumnType): Expr => ({ op: 'cast', to, args: [lift(a)] });
export const coalesce = (...args: ExprLike[]): Expr => ({ op: 'coalesce', args: args.map(lift) });
/** A date part of `a`: a T or d column, or a number of `unit`s since the epoch. */
export const datePart = (part: (typeof DATE_PARTS)[number], a: ExprLike, unit?: TimeUnit): Expr =>
  unit === undefined ? call(part, a) : { op: 'call', fn: part, args: [lift(a)], unit };

export const trim = (a: ExprLike, chars?: ExprLike): Expr =>
  chars === undefined ? call('trim', a) : call('trim', a, chars);
export const ltrim = (a: ExprLike, chars?: ExprLike): Expr =>
  chars === undefined ? call('ltrim', a) : call('ltrim', a, chars);
export const rtrim = (a: ExprLike, chars?: ExprLike): Expr =>
  chars === undefined ? call('rtrim', a) : call('rtrim', a, chars);
export const replace = (a: ExprLike, from: ExprLike, to: ExprLike): Expr => call('replace', a, from, to);
/** The n-th field of `a` split at `delim`, from 1 (negative: from the end); '' past either end. */
export const splitPart = (a: ExprLike, delim: ExprLike, n: ExprLike): Expr => call('splitPart', a, delim, n);
/** The 1-based character position of `b` in `a`, 0 if absent. */
export const strpos = (a: ExprLike, b: ExprLike): Expr => call('strpos', a, b);
export const left = (a: ExprLike, n: ExprLike): Expr => call('left', a, n);
export const right = (a: ExprLike, n: ExprLike): Expr => call('right', a, n);
export const lpad = (a: ExprLike, n: ExprLike, fill: ExprLike = ' '): Expr => call('lpad', a, n, fill);
export const rpad = (a: ExprLike, n: ExprLike, fill: ExprLike = ' '): Expr => call('rpad', a, n, fill);
export const reverse = (a: ExprLike): Expr => call('reverse', a);
export const repeat = (a: ExprLike, n: ExprLike): Expr => call('repeat', a, n);
/**
 * Whether the pattern (RE2's syntax, as DuckDB's; run in linear time: no backreferences or
 * lookaround) matches anywhere in `a`. `options`: DuckDB's, `c` and `s`.
 */
export const regexpMatches = (a: ExprLike, pattern: string, options?: string): Expr =>
  options === undefined ? call('regexpMatches', a, pattern) : call('regexpMatches', a, pattern, options);
/**
 * `a` with the first match of the pattern (every match with option `g`) replaced by `replacement`,
 * in which `\1`..`\9` are groups, `\0` the match, as DuckDB's regexp_replace.
 */
export const regexpReplace = (a: ExprLike, pattern: string, replacement: string, options?: string): Expr =>
  options === undefined
    ? call('regexpReplace', a, pattern, replacement)
    : call('regexpReplace', a, pattern, replacement, options);
/** Group `group` (0, the default: the whole match) of the pattern's first match in `a`; '' if none. */
export const regexpExtract = (a: ExprLike, pattern: string, group = 0, options?: string): Expr =>
  options === undefined ? call('regexpExtract', a, pattern, group) : call('regexpExtract', a, pattern, group, options);
export const abs = (a: ExprLike): Expr => call('abs', a);
/** Half away from zero, as SQL's round; with `digits`, to that many decimal places (negative: tens, hundreds, ...). */
export const round = (a: ExprLike, digits?: ExprLike): Expr =>
  digits === undefined ? call('round', a) : call('round', a, digits);
export const floor = (a: ExprLike): Expr => call('floor', a);
export const ceil = (a: ExprLike): Expr => call('ceil', a);
export const sqrt = (a: ExprLike): Expr => call('sqrt', a);
export const trunc = (a: ExprLike): Expr => call('trunc', a);
export const sign = (a: ExprLike): Expr => call('sign', a);
export const ln = (a: ExprLike): Expr => call('ln', a);
export const log10 = (a: ExprLike): Expr => call('log10', a);
export const log2 = (a: ExprLike): Expr => call('log2', a);
/** SQL's log: log(x) is base 10, log(b, x) the logarithm of x to base b. */
export const log = (a: ExprLike, b?: ExprLike): Expr => (b === undefined ? call('log', a) : call('log', a, b));
export const exp = (a: ExprLike): Expr => call('exp', a);
export const power = (a: ExprLike, b: ExprLike): Expr => call('power', a, b);
/** The greatest non-null argument (null only if all are), NaN above every number. */
export const greatest = (...args: ExprLike[]): Expr => call('greatest', ...args);
export const least = (...args: ExprLike[]): Expr => call('least', ...args);
/** Null where a equals b, else a: CASE WHEN a = b THEN NULL ELSE a END, so it compares as eq does. */
export const nullif = (a: ExprLike, b: ExprLike): Expr => ({
  op: 'case',
  args: [{ op: 'eq', args: [lift(a), lift(b)] }, { op: 'lit', value: null }, lift(a)],
});
/** A timestamp (T) truncated to the start of its year, quarter, month, week (Monday), day, hour, minute or second. */
export const dateTrunc = (unit: (typeof TRUNC_UNITS)[number], a: ExprLike): Expr => call('dateTrunc', unit, a);
/** DuckDB's date_diff: the unit boundaries crossed from a to b (weeks: whole 7-day spans), an int64 (L). */
export const dateDiff = (unit: (typeof TIME_UNITS)[number], a: ExprLike, b: ExprLike): Expr =>
  call('dateDiff', unit, a, b);
/** A timestamp (T): `a` plus n units, months clamped to the month's last day (Jan 31 + 1 month = Feb 29). */
export const dateAdd = (a: ExprLike, n: ExprLike, unit: (typeof TIME_UNITS)[number]): Expr =>
  call('dateAdd', a, n, unit);
/** A date or timestamp as text in DuckDB's strftime codes ('%Y-%m-%d %H:%M'), UTC. */
export const strftime = (a: ExprLike, format: string): Expr => call('strftime', a, format);

/** when(c1, v1).when(c2, v2).otherwise(v3): CASE WHEN c1 THEN v1 WHEN c2 THEN v2 ELSE v3 END. */
export class When {
  constructor(private readonly arms: readonly Expr[]) {}
  when(cond: ExprLike, then: ExprLike): When {
    return new When([...this.arms, lift(cond), lift(then)]);
  }
  otherwise(v: ExprLike): Expr {
    return { op: 'case', args: [...this.arms, lift(v)] };
  }
  end(): Expr {
    return this.otherwise(null);
  }
}
export const when = (cond: ExprLike, then: ExprLike): When => new When([lift(cond), lift(then)]);

// ---- checking ----

/**
 * The common type of two branches (coalesce, case): null fits anything; I with D is D; L with I, or
 * with an integer literal (typed D, as every number literal), is L, as SQL's bigint with integer.
 */
function unify(a: ExprType, b: ExprType, what: string, aInt = false, bInt = false): ExprType {
  if (a === 'N') return b;
  if (b === 'N' || a === b) return a;
  if ((a === 'L' && (b === 'I' || bInt)) || (b === 'L' && (a === 'I' || aInt))) return 'L';
  if (isNum(a) && isNum(b)) return 'D';
  throw new TypeError(`${what}: cannot mix ${a} and ${b}`);
}

/** An integer literal, which an int64 branch takes as an int64 (a branch of them all, too). */
const isIntLit = (e: unknown): boolean => {
  const x = e as { op?: unknown; value?: unknown };
  return x?.op === 'lit' && Number.isSafeInteger(x.value);
};

const isStr = (t: ExprType): boolean => t === 'S' || t === 'N';
const isTime = (t: ExprType): boolean => t === 'T' || t === 'd' || t === 'N';

/** The unit argument of a date function: a string literal naming one of `allowed` ('month', 'months'). */
function unitArg(fn: string, a: unknown, allowed: readonly string[]): void {
  const x = (a ?? {}) as { op?: unknown; value?: unknown };
  if (x.op !== 'lit' || unitName(x.value, allowed) === undefined)
    throw new TypeError(`${fn}: the unit must be a string literal, one of ${allowed.map((u) => `'${u}'`).join(', ')}`);
}

export function checkFnExpr(x: Record<string, unknown>, sub: (a: unknown) => ExprType): ExprType {
  const args = x.args;
  if (!Array.isArray(args)) throw new TypeError(`${String(x.op)} needs an args array`);
  const ts = args.map(sub);
  if (x.op === 'cast') {
    if (ts.length !== 1) throw new TypeError('cast takes one argument');
    if (!isColumnType(x.to)) throw new TypeError(`cast to unknown type ${JSON.stringify(x.to)}`);
    return x.to;
  }
  if (x.op === 'coalesce') {
    if (ts.length === 0) throw new TypeError('coalesce takes one or more arguments');
    let t = ts[0]!;
    let allInt = isIntLit(args[0]);
    for (let k = 1; k < ts.length; k++) {
      t = unify(t, ts[k]!, 'coalesce', allInt, isIntLit(args[k]));
      allInt &&= isIntLit(args[k]) || ts[k] === 'N';
    }
    return t;
  }
  if (x.op === 'case') {
    if (ts.length < 3 || ts.length % 2 === 0) throw new TypeError('case needs when/then pairs and an else');
    let t: ExprType = ts[ts.length - 1]!;
    let allInt = isIntLit(args[ts.length - 1]);
    for (let k = 0; k + 1 < ts.length; k += 2) {
      if (ts[k] !== 'B' && ts[k] !== 'N') throw new TypeError(`case: a WHEN condition must be boolean, not ${ts[k]}`);
      t = unify(t, ts[k + 1]!, 'case', allInt, isIntLit(args[k + 1]));
      allInt &&= isIntLit(args[k + 1]) || ts[k + 1] === 'N';
    }
    return t;
  }
  const fn = x.fn;
  if (typeof fn !== 'string' || !FN_NAMES.has(fn)) throw new TypeError(`unknown function ${JSON.stringify(fn)}`);
  const arity = (lo: number, hi = lo): void => {
    if (ts.length < lo || ts.length > hi)
      throw new TypeError(`${fn} takes ${lo === hi ? lo : `${lo} to ${hi}`} argument(s), got ${ts.length}`);
  };
  const need = (i: number, ok: (t: ExprType) => boolean, what: string): void => {
    if (!ok(ts[i]!)) throw new TypeError(`${fn}: argument ${i + 1} must be ${what}, not ${ts[i]}`);
  };
  switch (fn) {
    case 'lower':
    case 'upper':
    case 'reverse':
      arity(1);
      need(0, isStr, 'a string');
      return 'S';
    case 'trim':
    case 'ltrim':
    case 'rtrim':
      arity(1, 2);
      for (let i = 0; i < ts.length; i++) need(i, isStr, 'a string');
      return 'S';
    case 'replace':
      arity(3);
      for (let i = 0; i < 3; i++) need(i, isStr, 'a string');
      return 'S';
    case 'splitPart':
      arity(3);
      need(0, isStr, 'a string');
      need(1, isStr, 'a string');
      need(2, isNum, 'a number');
      return 'S';
    case 'strpos':
      arity(2);
      need(0, isStr, 'a string');
      need(1, isStr, 'a string');
      return 'I';
    case 'left':
    case 'right':
    case 'repeat':
      arity(2);
      need(0, isStr, 'a string');
      need(1, isNum, 'a number');
      return 'S';
    case 'lpad':
    case 'rpad':
      arity(3);
      need(0, isStr, 'a string');
      need(1, isNum, 'a number');
      need(2, isStr, 'a string');
      return 'S';
    case 'regexpMatches':
    case 'regexpReplace':
    case 'regexpExtract': {
      // regexpMatches(s, pattern [, options]), regexpReplace(s, pattern, replacement [, options]),
      // regexpExtract(s, pattern [, group [, options]]): all but s literals, read once per plan.
      arity(2, fn === 'regexpMatches' ? 3 : 4);
      if (fn === 'regexpReplace') arity(3, 4);
      need(0, isStr, 'a string');
      regexpOf(fn, args);
      return fn === 'regexpMatches' ? 'B' : 'S';
    }
    case 'length':
      arity(1);
      need(0, isStr, 'a string');
      return 'I';
    case 'substring':
      arity(2, 3);
      need(0, isStr, 'a string');
      need(1, isNum, 'a number');
      if (ts.length === 3) need(2, isNum, 'a number');
      return 'S';
    case 'contains':
    case 'startsWith':
    case 'endsWith':
      arity(2);
      need(0, isStr, 'a string');
      need(1, isStr, 'a string');
      return 'B';
    case 'like': {
      arity(2);
      need(0, isStr, 'a string');
      const p = (args[1] as { op?: unknown; value?: unknown }) ?? {};
      if (p.op !== 'lit' || typeof p.value !== 'string')
        throw new TypeError('like: the pattern must be a string literal');
      return 'B';
    }
    case 'concat':
      if (ts.length === 0) throw new TypeError('concat takes one or more arguments');
      return 'S';
    case 'round':
      arity(1, 2);
      need(0, isNum, 'a number');
      if (ts.length > 1) need(1, isNum, 'a number of decimal places');
      return 'D';
    case 'abs':
    case 'floor':
    case 'ceil':
    case 'sqrt':
    case 'trunc':
    case 'ln':
    case 'log10':
    case 'log2':
    case 'exp':
      arity(1);
      need(0, isNum, 'a number');
      return 'D';
    case 'sign':
      arity(1);
      need(0, isNum, 'a number');
      return 'I';
    case 'log':
    case 'power':
      arity(fn === 'log' ? 1 : 2, 2);
      for (let i = 0; i < ts.length; i++) need(i, isNum, 'a number');
      return 'D';
    case 'greatest':
    case 'least': {
      if (ts.length === 0) throw new TypeError(`${fn} takes one or more arguments`);
      let t = ts[0]!;
      let allInt = isIntLit(args[0]);
      for (let k = 1; k < ts.length; k++) {
        t = unify(t, ts[k]!, fn, allInt, isIntLit(args[k]));
        allInt &&= isIntLit(args[k]) || ts[k] === 'N';
      }
      return t;
    }
    case 'dateTrunc':
    case 'dateDiff': {
      arity(fn === 'dateTrunc' ? 2 : 3);
      unitArg(fn, args[0], fn === 'dateTrunc' ? TRUNC_UNITS : TIME_UNITS);
      for (let i = 1; i < ts.length; i++) need(i, isTime, 'a date or timestamp');
      return fn === 'dateTrunc' ? 'T' : 'L';
    }
    case 'strftime': {
      arity(2);
      need(0, isTime, 'a date or timestamp');
      const f = args[1] as { op?: unknown; value?: unknown } | undefined;
      if (f?.op !== 'lit' || typeof f.value !== 'string')
        throw new TypeError("strftime: the format must be a string literal ('%Y-%m-%d')");
      const pieces = parseStrftime(f.value);
      if (typeof pieces === 'string') throw new TypeError(pieces);
      return 'S';
    }
    case 'dateAdd':
      arity(3);
      need(0, isTime, 'a date or timestamp');
      need(1, isNum, 'a number');
      unitArg(fn, args[2], TIME_UNITS);
      return 'T';
    default: {
      arity(1);
      const unit = x.unit;
      if (unit !== undefined && unit !== 'days' && unit !== 'us')
        throw new TypeError(`${fn}: unit must be "days" or "us", not ${JSON.stringify(unit)}`);
      if (temporalUnit(ts[0]!, unit as TimeUnit | undefined) === undefined)
        throw new TypeError(`${fn} needs a date or timestamp (or a number with a unit: "days" or "us"), not ${ts[0]}`);
      return 'I';
    }
  }
}

// ---- evaluation ----

/** Row i of a vector of type t as a value (bools from 0/1), or null. */
export function vecValue(x: Vec, t: ExprType, i: number): number | string | boolean | bigint | null {
  if (x.v === null) return null;
  const k = x.scalar ? 0 : i;
  if (x.nulls !== undefined && x.nulls[k] === 1) return null;
  const v = (x.v as ArrayLike<number | string | bigint>)[k]!;
  return t === 'B' ? v === 1 : v;
}

/** A vector of type t (N: D) from per-row values, null where the value is null. */
function buildVec(t: ExprType, n: number, at: (i: number) => number | string | boolean | bigint | null): Vec {
  const nulls = new Uint8Array(n);
  let anyNull = false;
  let v: Int32Array | Float64Array | Uint8Array | BigInt64Array | string[];
  if (t === 'L' || t === 'T') {
    const out = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const x = at(i);
      if (x === null) (nulls[i] = 1), (anyNull = true);
      else out[i] = BigInt(x as bigint);
    }
    v = out;
  } else if (t === 'S') {
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const x = at(i);
      if (x === null) (out[i] = ''), (nulls[i] = 1), (anyNull = true);
      else out[i] = x as string;
    }
    v = out;
  } else {
    const out = t === 'I' || t === 'd' ? new Int32Array(n) : t === 'B' ? new Uint8Array(n) : new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const x = at(i);
      if (x === null) (nulls[i] = 1), (anyNull = true);
      else out[i] = typeof x === 'boolean' ? +x : (x as number);
    }
    v = out;
  }
  return anyNull ? { scalar: false, v, nulls } : { scalar: false, v };
}

/**
 * v cast to L, T or d, or null where it has no such value (TRY_CAST): text parses as an int64 or ISO
 * 8601; a timestamp becomes its day (floored) and a date its midnight; numbers are truncated (an int64
 * from a double only within 2^53, where the double is an integer exactly); L and T convert as
 * microseconds.
 */
function castTemporal(
  v: number | string | boolean | bigint,
  from: ExprType,
  to: 'L' | 'T' | 'd',
): number | bigint | null {
  if (typeof v === 'string') {
    const s = v.trim();
    // Leading zeros are digits like any other here, as in a cast to int and in SQL; convertText
    // reads a CSV's "007" as text, an identifier, which is no concern of a cast.
    if (to === 'L' && /^[+-]?\d+$/.test(s)) {
      const n = BigInt(s);
      return n >= INT64_MIN && n <= INT64_MAX ? n : null;
    }
    return (convertText(to, s) as number | bigint | undefined) ?? null;
  }
  if (typeof v === 'boolean') return to === 'd' ? (v ? 1 : 0) : v ? 1n : 0n;
  if (to === 'd') {
    if (typeof v === 'bigint') {
      const days = from === 'T' ? v / 86_400_000_000n - (v % 86_400_000_000n < 0n ? 1n : 0n) : v;
      return days >= -2147483648n && days <= 2147483647n ? Number(days) : null;
    }
    const r = Math.trunc(v);
    return Number.isFinite(r) && r >= INT32_MIN && r <= INT32_MAX ? r : null;
  }
  if (typeof v === 'bigint') return v;
  if (from === 'd' && to === 'T') return BigInt(v) * 86_400_000_000n;
  const r = Math.trunc(v);
  return Number.isSafeInteger(r) ? BigInt(r) : null;
}

function castValue(
  v: number | string | boolean | bigint,
  from: ExprType,
  to: ColumnType,
): number | string | boolean | bigint | null {
  if (to === 'L' || to === 'T' || to === 'd') return castTemporal(v, from, to);
  if (from === 'T' || from === 'd') {
    if (to === 'S') return cellText(from, v as number | bigint);
    if (typeof v === 'bigint') v = Number(v);
  } else if (typeof v === 'bigint') {
    if (to === 'S') return String(v);
    if (to === 'I') return v >= -2147483648n && v <= 2147483647n ? Number(v) : null;
    if (to === 'B') return v !== 0n;
    return Number(v); // to D: the nearest double, as any cast of an int64 to a double
  }
  if (to === 'S') return typeof v === 'string' ? v : String(v);
  if (to === 'B') {
    if (typeof v === 'boolean') return v;
    if (typeof v === 'number') return v !== 0;
    const s = v.trim().toLowerCase();
    return s === 'true' || s === 't' || s === '1' ? true : s === 'false' || s === 'f' || s === '0' ? false : null;
  }
  let d: number;
  if (typeof v === 'boolean') d = v ? 1 : 0;
  else if (typeof v === 'number') d = v;
  else {
    const s = v.trim();
    d = s === '' ? Number.NaN : Number(s);
    if (Number.isNaN(d)) return null; // not a number: null, as DuckDB's TRY_CAST
  }
  if (to === 'D') return d;
  if (from === 'I') return d;
  const r = Math.trunc(d);
  return Number.isFinite(r) && r >= INT32_MIN && r <= INT32_MAX ? r : null;
}

const DAY_US = 86_400_000_000;

function datePartOf(part: string, v: number | bigint, unit: TimeUnit): number {
  // Floor to whole days / microseconds, so a time before 1970 lands in the right day; a timestamp
  // column's bigint microseconds are floored to milliseconds exactly, before any rounding.
  const ms =
    typeof v === 'bigint'
      ? Number(v / 1000n - (v % 1000n < 0n ? 1n : 0n))
      : unit === 'days'
        ? Math.floor(v) * 86_400_000
        : Math.floor(v / 1000);
  const d = new Date(ms);
  switch (part) {
    case 'year':
      return d.getUTCFullYear();
    case 'month':
      return d.getUTCMonth() + 1;
    case 'day':
      return d.getUTCDate();
    case 'hour':
      return unit === 'days' ? 0 : d.getUTCHours();
    case 'minute':
      return unit === 'days' ? 0 : d.getUTCMinutes();
    case 'second':
      return unit === 'days' ? 0 : d.getUTCSeconds();
    case 'dayOfWeek':
      return d.getUTCDay(); // 0 = Sunday, as PostgreSQL's dow
    default: {
      const start = Date.UTC(d.getUTCFullYear(), 0, 1);
      return Math.floor((ms - start) / 86_400_000) + 1;
    }
  }
}

/** C's pow (PostgreSQL's, DuckDB's): 1 to any power, and -1 to ±Infinity, is 1, where Math.pow gives NaN. */
function pow(a: number, b: number): number {
  if (a === 1 || (a === -1 && (b === Number.POSITIVE_INFINITY || b === Number.NEGATIVE_INFINITY))) return 1;
  return a ** b;
}

/** a > b as a comparison orders them: NaN above every number (values of one type; ties are false). */
function greater(a: number | string | boolean | bigint, b: number | string | boolean | bigint): boolean {
  if (a !== a) return b === b;
  return a > b;
}

/** date_trunc, date_diff and date_add (fns-time.ts) over T or d values, by way of microseconds. */
function timeFn(e: Expr & { op: 'call' }, xs: readonly Vec[], ts: readonly ExprType[], out: ExprType, n: number): Vec {
  const val = (k: number, i: number) => vecValue(xs[k]!, ts[k]!, i) as number | bigint | null;
  if (e.fn === 'dateAdd') {
    const unit = unitName((e.args[2] as { value: unknown }).value, TIME_UNITS)!;
    return buildVec(out, n, (i) => {
      const [x, k] = [val(0, i), val(1, i)];
      return x === null || k === null ? null : addUs(unit, toUs(x), k as number);
    });
  }
  const unit = unitName((e.args[0] as { value: unknown }).value, TIME_UNITS)!;
  if (e.fn === 'dateTrunc')
    return buildVec(out, n, (i) => {
      const x = val(1, i);
      return x === null ? null : truncUs(unit, toUs(x));
    });
  return buildVec(out, n, (i) => {
    const [a, b] = [val(1, i), val(2, i)];
    return a === null || b === null ? null : diffUs(unit, toUs(a), toUs(b));
  });
}

/**
 * `x` rounded half away from zero to `d` decimal places, as DuckDB rounds a double: x times 10^d
 * rounded, over 10^d (so 1.005, whose product with 100 is 100.4999... in binary, is 1 at two
 * places), x itself where that overflows; for d < 0, x over 10^-d rounded, times 10^-d, and 0 where
 * that is not finite.
 */
function roundTo(x: number, d: number): number {
  const half = (v: number): number => Math.sign(v) * Math.round(Math.abs(v));
  if (d < 0) {
    const m = 10 ** -d;
    const r = half(x / m) * m;
    return Number.isFinite(r) ? r : 0;
  }
  const m = 10 ** d;
  const r = half(x * m) / m;
  return Number.isFinite(r) ? r : x;
}

/** Evaluates a checked call/cast/coalesce/case over argument vectors of types `ts`. */
export function evalFn(e: Expr, xs: readonly Vec[], ts: readonly ExprType[], out: ExprType, n: number): Vec {
  const val = (k: number, i: number) => vecValue(xs[k]!, ts[k]!, i);
  if (e.op === 'cast')
    return buildVec(out, n, (i) => {
      const v = val(0, i);
      return v === null ? null : castValue(v, ts[0]!, e.to);
    });
  if (e.op === 'coalesce')
    return buildVec(out, n, (i) => {
      for (let k = 0; k < xs.length; k++) {
        const v = val(k, i);
        if (v !== null) return v;
      }
      return null;
    });
  if (e.op === 'case') {
    const last = xs.length - 1;
    return buildVec(out, n, (i) => {
      for (let k = 0; k < last; k += 2) if (val(k, i) === true) return val(k + 1, i);
      return val(last, i);
    });
  }
  if (e.op !== 'call') throw new TypeError(`not a function expression: ${e.op}`);
  const fn = e.fn;
  const str = (f: (s: string) => number | string | boolean): Vec =>
    buildVec(out, n, (i) => {
      const s = val(0, i);
      return s === null ? null : f(s as string);
    });
  const two = (f: (a: string, b: string) => boolean): Vec =>
    buildVec(out, n, (i) => {
      const a = val(0, i);
      const b = val(1, i);
      return a === null || b === null ? null : f(a as string, b as string);
    });
  const num = (f: (x: number) => number | null): Vec =>
    buildVec(out, n, (i) => {
      const x = val(0, i);
      return x === null ? null : f(x as number);
    });
  switch (fn) {
    case 'lower':
      return str((s) => s.toLowerCase());
    case 'upper':
      return str((s) => s.toUpperCase());
    case 'trim':
    case 'ltrim':
    case 'rtrim':
      // Spaces only by default, as DuckDB's and PostgreSQL's trim (a tab or newline stays).
      return buildVec(out, n, (i) => {
        const s = val(0, i);
        const set = xs.length > 1 ? val(1, i) : ' ';
        return s === null || set === null
          ? null
          : text.trimChars(s as string, set as string, fn !== 'rtrim', fn !== 'ltrim');
      });
    case 'reverse':
      return str(text.reverse);
    case 'replace': {
      const budget = new text.CharBudget('replace');
      return buildVec(out, n, (i) => {
        const [s, a, b] = [val(0, i), val(1, i), val(2, i)];
        return s === null || a === null || b === null
          ? null
          : text.replace(s as string, a as string, b as string, budget);
      });
    }
    case 'splitPart':
      return buildVec(out, n, (i) => {
        const [s, d, k] = [val(0, i), val(1, i), val(2, i)];
        return s === null || d === null || k === null ? null : text.splitPart(s as string, d as string, k as number);
      });
    case 'strpos':
      return buildVec(out, n, (i) => {
        const [s, t] = [val(0, i), val(1, i)];
        return s === null || t === null ? null : text.strpos(s as string, t as string);
      });
    case 'left':
    case 'right':
    case 'repeat': {
      const budget = new text.CharBudget(fn);
      return buildVec(out, n, (i) => {
        const [s, k] = [val(0, i), val(1, i)];
        if (s === null || k === null) return null;
        return fn === 'left'
          ? text.left(s as string, k as number)
          : fn === 'right'
            ? text.right(s as string, k as number)
            : text.repeat(s as string, k as number, budget);
      });
    }
    case 'lpad':
    case 'rpad': {
      const budget = new text.CharBudget(fn);
      return buildVec(out, n, (i) => {
        const [s, k, f] = [val(0, i), val(1, i), val(2, i)];
        return s === null || k === null || f === null
          ? null
          : text.pad(s as string, k as number, f as string, fn === 'lpad', budget);
      });
    }
    case 'regexpMatches': {
      const { c } = regexpOf(fn, e.args);
      return str((s) => re.regexpMatches(s, c));
    }
    case 'regexpExtract': {
      const { c, group } = regexpOf(fn, e.args);
      return str((s) => re.regexpExtract(s, c, group));
    }
    case 'regexpReplace': {
      const { c, rewrite } = regexpOf(fn, e.args);
      const budget = new text.CharBudget('regexp_replace');
      return str((s) => re.regexpReplace(s, c, rewrite, budget));
    }
    case 'length':
      return str((s) => [...s].length); // characters (code points), as SQL's length
    case 'substring':
      return buildVec(out, n, (i) => {
        const s = val(0, i);
        const start = val(1, i);
        const len = xs.length > 2 ? val(2, i) : Number.POSITIVE_INFINITY;
        if (s === null || start === null || len === null) return null;
        // SQL: characters start..start+len-1, counted from 1; positions before 1 are cut off.
        const from = Math.trunc(start as number);
        const to = from + Math.trunc(len as number);
        const chars = [...(s as string)];
        return chars.slice(Math.max(0, from - 1), Math.max(0, Math.min(chars.length, to - 1))).join('');
      });
    case 'contains':
      return two((a, b) => a.includes(b));
    case 'startsWith':
      return two((a, b) => a.startsWith(b));
    case 'endsWith':
      return two((a, b) => a.endsWith(b));
    case 'like': {
      const match = text.likeMatcher((e.args[1] as { value: string }).value);
      return str(match);
    }
    case 'concat':
      return buildVec(out, n, (i) => {
        let s = '';
        for (let k = 0; k < xs.length; k++) {
          const v = val(k, i);
          if (v === null) return null;
          s += typeof v === 'string' ? v : String(v);
        }
        return s;
      });
    case 'abs':
      return num(Math.abs);
    case 'round':
      // Half away from zero, as SQL's round (Math.round rounds -2.5 to -2).
      if (xs.length === 1) return num((x) => Math.sign(x) * Math.round(Math.abs(x)));
      return buildVec(out, n, (i) => {
        const x = val(0, i) as number | null;
        const d = val(1, i) as number | null;
        return x === null || d === null ? null : roundTo(x, Math.trunc(d));
      });
    case 'floor':
      return num(Math.floor);
    case 'ceil':
      return num(Math.ceil);
    case 'sqrt':
      return num((x) => (x < 0 ? Number.NaN : Math.sqrt(x)));
    case 'trunc':
      return num(Math.trunc);
    case 'sign':
      // DuckDB's sign: -1, 0 or 1, and 0 for NaN (Math.sign gives NaN).
      return num((x) => (x > 0 ? 1 : x < 0 ? -1 : 0));
    // Logarithms of 0 or a negative number are -Infinity and NaN, as IEEE 754 says (and as sqrt and
    // division here), where DuckDB and PostgreSQL fail the query.
    case 'ln':
      return num(Math.log);
    case 'log10':
      return num(Math.log10);
    case 'log2':
      return num(Math.log2);
    case 'exp':
      return num(Math.exp);
    case 'log':
    case 'power':
      if (xs.length === 1) return num(Math.log10);
      return buildVec(out, n, (i) => {
        const [a, b] = [val(0, i), val(1, i)] as [number | null, number | null];
        if (a === null || b === null) return null;
        return fn === 'log' ? Math.log(b) / Math.log(a) : pow(a, b);
      });
    case 'greatest':
    case 'least': {
      const wantGreater = fn === 'greatest';
      // Nulls are skipped (null only when every argument is), as DuckDB's and PostgreSQL's.
      return buildVec(out, n, (i) => {
        let best: number | string | boolean | bigint | null = null;
        for (let k = 0; k < xs.length; k++) {
          const v = val(k, i);
          if (v !== null && (best === null || greater(v, best) === wantGreater)) best = v;
        }
        return best;
      });
    }
    case 'dateTrunc':
    case 'dateDiff':
    case 'dateAdd':
      return timeFn(e, xs, ts, out, n);
    case 'strftime': {
      // Checked when the plan was: a string literal of known codes.
      const fmt = strftimeOf(parseStrftime((e.args[1] as { value: string }).value) as Parameters<typeof strftimeOf>[0]);
      return buildVec(out, n, (i) => {
        const x = val(0, i) as number | bigint | null;
        return x === null ? null : fmt(toUs(x));
      });
    }
    default: {
      const unit = temporalUnit(ts[0]!, e.unit)!;
      // Beyond what a Date holds (±8.64e15 ms) or not finite: no date, null.
      return num((x0) => {
        const x = x0 as number | bigint;
        const days = typeof x === 'bigint' ? Number(x / BigInt(DAY_US)) : unit === 'us' ? x / DAY_US : x;
        return (typeof x === 'bigint' || Number.isFinite(x)) && Math.abs(days) < 1e8 ? datePartOf(fn, x, unit) : null;
      });
    }
  }
}

const REGEXP_SQL = {
  regexpMatches: 'regexp_matches',
  regexpReplace: 'regexp_replace',
  regexpExtract: 'regexp_extract',
};

/**
 * A regexp function's literal arguments, read and compiled: the pattern, the replacement
 * (regexpReplace), the group (regexpExtract, 0 to 9 as DuckDB's) and the options. TypeError for an
 * argument that is not such a literal, or that cannot be run as RE2 reads it.
 */
function regexpOf(fn: string, args: readonly Expr[]): { c: re.Compiled; rewrite: re.Rewrite; group: number } {
  const name = REGEXP_SQL[fn as keyof typeof REGEXP_SQL];
  const lit = (i: number, what: string, kind: 'string' | 'number'): string | number | undefined => {
    const a = args[i] as { op?: unknown; value?: unknown } | undefined;
    if (a === undefined) return undefined;
    if (a.op !== 'lit' || typeof a.value !== kind)
      throw new TypeError(`${name}: the ${what} must be a ${kind} literal`);
    return a.value as string | number;
  };
  const pattern = lit(1, 'pattern', 'string') as string;
  const replace = fn === 'regexpReplace';
  const options = (lit(replace || fn === 'regexpExtract' ? 3 : 2, 'options', 'string') as string | undefined) ?? '';
  const c = re.compileRegexp(name, pattern, options);
  const rewrite = replace ? re.readRewrite(lit(2, 'replacement', 'string') as string, c.groups) : [];
  const group = fn === 'regexpExtract' ? ((lit(2, 'group', 'number') as number | undefined) ?? 0) : 0;
  if (!Number.isInteger(group) || group < 0 || group > 9)
    throw new TypeError(`${name}: the group must be an integer from 0 to 9, not ${group}`);
  return { c, rewrite, group };
}
