// How text from CSV files becomes typed values, and how types are inferred from a sample. The rule
// throughout is that no value is silently changed (docs/dataframe.md "CSV types"):
// - "007" stays a string (a leading zero is part of an identifier, not a number);
// - integers that fit int32 are I; larger ones that fit int64 are L (exact, never a double); larger
//   still, the column is S so every digit survives;
// - decimals are D unless they overflow to Infinity or underflow to 0, which would change them; a
//   column mixing decimals with integers is D only while float64 holds every integer (|n| <= 2^53),
//   else S;
// - ISO 8601 dates ("2024-02-29") are d, timestamps ("2024-02-29T13:45:00Z", a space for the T, an
//   optional zone, no zone meaning UTC) are T; a column of both is T (a date is its midnight);
// - true/false (any case) are B; anything else, or a mix of kinds, makes the column S.

import { INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, type ColumnType, type Value } from '../schema.js';
import { parseDate, parseTimestamp, parseTimestampMicros } from '../temporal.js';

const INT_RE = /^[+-]?(?:0|[1-9]\d*)$/;
const DEC_RE = /^[+-]?(?:(?:0|[1-9]\d*)(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL = new Set(['NaN', 'Infinity', '+Infinity', '-Infinity']);
const BOOL_RE = /^(?:true|false)$/i;

/** What one piece of text looks like; the column type is the join of its values' kinds. */
export const Kind = {
  Null: 0,
  Bool: 1,
  Int32: 2,
  /** An integer beyond int32 that float64 still holds exactly. */
  SafeInt: 3,
  Double: 4,
  Text: 5,
  /** An integer beyond 2^53 that int64 holds. */
  Int64: 6,
  Date: 7,
  Timestamp: 8,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** A decimal's value, or undefined if float64 cannot hold it without changing it beyond rounding. */
function parseDouble(s: string): number | undefined {
  if (SPECIAL.has(s)) return Number(s);
  if (!DEC_RE.test(s)) return undefined;
  const v = Number(s);
  if (!Number.isFinite(v)) return undefined; // overflow: "1e400" is not Infinity
  if (v === 0 && /[1-9]/.test(s.replace(/[eE].*$/, ''))) return undefined; // underflow: "1e-400" is not 0
  return v;
}

/** An integer's value if int64 holds it. */
function parseInt64(s: string): bigint | undefined {
  if (!INT_RE.test(s)) return undefined;
  const v = BigInt(s);
  return v >= INT64_MIN && v <= INT64_MAX ? v : undefined;
}

export function classify(s: string): Kind {
  if (s === '') return Kind.Null;
  if (INT_RE.test(s)) {
    const v = Number(s);
    if (v >= INT32_MIN && v <= INT32_MAX) return Kind.Int32;
    if (Number.isSafeInteger(v)) return Kind.SafeInt;
    return parseInt64(s) === undefined ? Kind.Text : Kind.Int64;
  }
  if (BOOL_RE.test(s)) return Kind.Bool;
  const c = s.charCodeAt(0);
  // Dates start with a digit or a sign and have a '-' at 4 or later: cheap tests before the regexes.
  if (s.length >= 10 && s.indexOf('-', 4) >= 4 && ((c >= 48 && c <= 57) || c === 43 || c === 45)) {
    if (parseDate(s) !== undefined) return Kind.Date;
    if (parseTimestamp(s) !== undefined) return Kind.Timestamp;
  }
  return parseDouble(s) === undefined ? Kind.Text : Kind.Double;
}

/** Accumulates the kinds seen in one column and names the narrowest type that holds them all. */
export class TypeGuess {
  private seen = 0; // bit set of Kind values

  add(s: string): void {
    this.seen |= 1 << classify(s);
  }

  /** Counts a value whose kind the caller determined (JSON values are typed already). */
  addKind(k: Kind): void {
    this.seen |= 1 << k;
  }

  private has(k: Kind): boolean {
    return (this.seen & (1 << k)) !== 0;
  }

  get type(): ColumnType {
    if (this.has(Kind.Text)) return 'S';
    const numeric = this.has(Kind.Int32) || this.has(Kind.SafeInt) || this.has(Kind.Int64) || this.has(Kind.Double);
    const temporal = this.has(Kind.Date) || this.has(Kind.Timestamp);
    const bool = this.has(Kind.Bool);
    if (Number(numeric) + Number(temporal) + Number(bool) > 1) return 'S';
    if (bool) return 'B';
    if (temporal) return this.has(Kind.Timestamp) ? 'T' : 'd';
    if (this.has(Kind.Double)) return this.has(Kind.Int64) ? 'S' : 'D';
    if (this.has(Kind.SafeInt) || this.has(Kind.Int64)) return 'L';
    if (this.has(Kind.Int32)) return 'I';
    return 'S'; // nothing but empty fields: a string column accepts anything later on
  }
}

/** Converts text to a value of type t; undefined if it does not fit (the caller reports where). */
export function convertText(t: ColumnType, s: string): Value | undefined {
  if (s === '') return null;
  switch (t) {
    case 'S':
      return s;
    case 'I': {
      return INT_RE.test(s) ? int32Value(Number(s)) : undefined;
    }
    case 'D': {
      if (INT_RE.test(s)) {
        const v = Number(s);
        return Number.isSafeInteger(v) ? v : undefined;
      }
      return parseDouble(s);
    }
    case 'B':
      return BOOL_RE.test(s) ? s.toLowerCase() === 'true' : undefined;
    case 'L':
      return parseInt64(s);
    case 'T':
      return parseTimestamp(s, true);
    case 'd':
      return parseDate(s);
  }
}

/** What numberForm found: not a number's text, an integer (INT_RE), or a decimal (DEC_RE, not INT_RE). */
const NOT_NUMBER = 0;
const INT_FORM = 1;
const DEC_FORM = 2;

/**
 * Which of INT_RE and DEC_RE `s` matches, in one pass over its characters with no allocation: the
 * importer asks this of every numeric cell, where the two regexes cost twice the scan.
 */
function numberForm(s: string): number {
  const n = s.length;
  let i = 0;
  let c = s.charCodeAt(0);
  if (c === 43 || c === 45) c = s.charCodeAt(++i);
  let intDigits = 0;
  if (c === 48) {
    intDigits = 1;
    c = s.charCodeAt(++i);
  } else {
    while (c >= 48 && c <= 57) {
      intDigits++;
      c = s.charCodeAt(++i);
    }
  }
  let form = INT_FORM;
  if (c === 46) {
    form = DEC_FORM;
    c = s.charCodeAt(++i);
    let frac = 0;
    while (c >= 48 && c <= 57) {
      frac++;
      c = s.charCodeAt(++i);
    }
    if (intDigits === 0 && frac === 0) return NOT_NUMBER;
  } else if (intDigits === 0) return NOT_NUMBER;
  if (c === 101 || c === 69) {
    form = DEC_FORM;
    c = s.charCodeAt(++i);
    if (c === 43 || c === 45) c = s.charCodeAt(++i);
    let exp = 0;
    while (c >= 48 && c <= 57) {
      exp++;
      c = s.charCodeAt(++i);
    }
    if (exp === 0) return NOT_NUMBER;
  }
  return i === n ? form : NOT_NUMBER;
}

/** An integer as an I value: undefined outside int32, -0 as 0. */
function int32Value(v: number): number | undefined {
  return v >= INT32_MIN && v <= INT32_MAX ? (v === 0 ? 0 : v) : undefined;
}

/**
 * A converter per column type for the CSV importer: the same values as convertText (a test compares
 * them on random text), read with numberForm instead of the regexes, and timestamps as a number of
 * microseconds while that is exact, which the frame writer stores without allocating a bigint.
 */
export function textConverter(t: ColumnType): (s: string) => Value | undefined {
  switch (t) {
    case 'S':
      return (s) => (s === '' ? null : s);
    case 'I':
      return (s) => {
        const n = s.length;
        if (n === 0) return null;
        // The common form read and valued in one pass: an optional sign, then 0 or up to 10 digits
        // without a leading zero (exact as a double). Anything else takes the general path, which
        // refuses what is not an integer and Number()s the rest.
        let i = 0;
        let c = s.charCodeAt(0);
        const neg = c === 45;
        if (neg || c === 43) i = 1;
        const digits = n - i;
        if (digits > 0 && digits <= 10 && (s.charCodeAt(i) !== 48 || digits === 1)) {
          let v = 0;
          for (; i < n; i++) {
            c = s.charCodeAt(i);
            if (c < 48 || c > 57) break;
            v = v * 10 + (c - 48);
          }
          if (i === n) return int32Value(neg ? -v : v);
        }
        return numberForm(s) === INT_FORM ? int32Value(Number(s)) : undefined;
      };
    case 'D':
      return (s) => {
        if (s === '') return null;
        const f = numberForm(s);
        if (f === INT_FORM) {
          const v = Number(s);
          return Number.isSafeInteger(v) ? v : undefined;
        }
        if (f === NOT_NUMBER) return SPECIAL.has(s) ? Number(s) : undefined;
        const v = Number(s);
        if (!Number.isFinite(v)) return undefined;
        if (v === 0 && /[1-9]/.test(s.replace(/[eE].*$/, ''))) return undefined;
        return v;
      };
    case 'T':
      return (s) => (s === '' ? null : parseTimestampMicros(s, true));
    case 'd': {
      // A file's dates come in runs (a day's rows together): the last text read and its value are
      // kept, and a field equal to it is not read again.
      let last = '';
      let lastValue: number | undefined;
      return (s) => {
        if (s === '') return null;
        if (s !== last) {
          lastValue = parseDate(s);
          last = s;
        }
        return lastValue;
      };
    }
    default:
      return (s) => convertText(t, s);
  }
}

export const TYPE_NAMES: Record<ColumnType, string> = {
  I: 'int32',
  D: 'float64',
  B: 'bool',
  S: 'string',
  L: 'int64',
  T: 'timestamp',
  d: 'date',
};

/** A type's name with its article, for messages: "an int32", "a float64". */
export function aTypeName(t: ColumnType): string {
  const n = TYPE_NAMES[t];
  return `${n.startsWith('int') ? 'an' : 'a'} ${n}`;
}
