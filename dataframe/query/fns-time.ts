// Date and timestamp arithmetic for computed columns (docs/dataframe.md "Computed columns"):
// date_trunc, date_diff and date_add, as DuckDB defines them. A value is taken as microseconds since
// the epoch (a timestamp's own unit; a date is its midnight), so every unit up to a week is exact
// bigint arithmetic; months, quarters and years go through the calendar (a Date, in UTC), within the
// ±8.64e15 ms a Date holds.

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { INT64_MAX, INT64_MIN } from '../schema.js';

export const TRUNC_UNITS = ['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second'] as const;
export const TIME_UNITS = [...TRUNC_UNITS, 'millisecond', 'microsecond'] as const;
export type TimeUnitName = (typeof TIME_UNITS)[number];

/** A unit's name as SQL spells it ('Month', 'months') in the form above, or undefined. */
export function unitName(s: unknown, allowed: readonly string[]): TimeUnitName | undefined {
  if (typeof s !== 'string') return undefined;
  const u = s.toLowerCase();
  const one = u.endsWith('s') && allowed.includes(u.slice(0, -1)) ? u.slice(0, -1) : u;
  return allowed.includes(one) ? (one as TimeUnitName) : undefined;
}

const US: Partial<Record<TimeUnitName, bigint>> = {
  microsecond: 1n,
  millisecond: 1000n,
  second: 1_000_000n,
  minute: 60_000_000n,
  hour: 3_600_000_000n,
  day: 86_400_000_000n,
  week: 604_800_000_000n,
};
const DAY = 86_400_000_000n;
const MAX_DATE_MS = 8.64e15;

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/** A point in time as µs: a timestamp's bigint, or a date's day number. */
export const toUs = (v: number | bigint): bigint => (typeof v === 'bigint' ? v : BigInt(v) * DAY);

/** Year, month (0-11) and day of month of a time, or undefined beyond what a Date holds. */
function fields(us: bigint): { y: number; m: number; d: number } | undefined {
  const ms = Number(floorDiv(us, 1000n));
  if (Math.abs(ms) > MAX_DATE_MS) return undefined;
  const t = new Date(ms);
  return { y: t.getUTCFullYear(), m: t.getUTCMonth(), d: t.getUTCDate() };
}

/** Milliseconds of a UTC date; setUTCFullYear, since Date.UTC reads years 0-99 as 1900-1999. */
function utcMs(y: number, m: number, d: number): number {
  const t = new Date(0);
  t.setUTCFullYear(y, m, d);
  return t.getTime();
}

/** `us` truncated to the start of its unit (a week starts on Monday, as ISO 8601's), or null. */
export function truncUs(unit: TimeUnitName, us: bigint): bigint | null {
  const size = US[unit];
  if (unit === 'week') {
    const day = floorDiv(us, DAY);
    // 1970-01-01 was a Thursday: day 0 is 3 days past a Monday.
    const fromMonday = (((day + 3n) % 7n) + 7n) % 7n;
    return (day - fromMonday) * DAY;
  }
  if (size !== undefined) return floorDiv(us, size) * size;
  const f = fields(us);
  if (!f) return null;
  const m = unit === 'year' ? 0 : unit === 'quarter' ? f.m - (f.m % 3) : f.m;
  return BigInt(utcMs(f.y, m, 1)) * 1000n;
}

/**
 * DuckDB's date_diff: the unit boundaries crossed from a to b (a month from Jan 31 to Feb 1), except
 * a week, which is whole 7-day spans of the days between them, and a microsecond, the difference.
 */
export function diffUs(unit: TimeUnitName, a: bigint, b: bigint): bigint | null {
  if (unit === 'week') return (floorDiv(b, DAY) - floorDiv(a, DAY)) / 7n;
  const size = US[unit];
  if (size !== undefined) return floorDiv(b, size) - floorDiv(a, size);
  const fa = fields(a);
  const fb = fields(b);
  if (!fa || !fb) return null;
  const months = (f: { y: number; m: number }): number =>
    unit === 'year' ? f.y : unit === 'quarter' ? f.y * 4 + Math.floor(f.m / 3) : f.y * 12 + f.m;
  return BigInt(months(fb) - months(fa));
}

/**
 * `us` plus `n` units (n truncated toward zero), as DuckDB adds an interval: months move the calendar
 * month and keep the day, clamped to the month's last (Jan 31 + 1 month = Feb 29 in a leap year);
 * smaller units add their microseconds. A result outside the int64 microseconds a timestamp holds,
 * or a calendar result beyond what a Date holds, is an error, never wrapped.
 */
export function addUs(unit: TimeUnitName, us: bigint, n: number): bigint | null {
  if (!Number.isFinite(n)) return null;
  const k = BigInt(Math.trunc(n));
  const size = US[unit];
  let r: bigint | undefined;
  if (size !== undefined) r = us + k * size;
  else {
    const f = fields(us);
    const months = Number(k) * (unit === 'year' ? 12 : unit === 'quarter' ? 3 : 1);
    if (f && Math.abs(months) < 4e6) {
      const total = f.y * 12 + f.m + months;
      const y = Math.floor(total / 12);
      const m = total - y * 12;
      const last = new Date(utcMs(y, m + 1, 0)).getUTCDate();
      const ms = utcMs(y, m, Math.min(f.d, last));
      if (Math.abs(ms) <= MAX_DATE_MS) r = BigInt(ms) * 1000n + (us - floorDiv(us, DAY) * DAY);
    }
  }
  if (r === undefined || r < INT64_MIN || r > INT64_MAX)
    throw new Eau2Error(ErrorCode.INVALID, `date_add: adding ${n} ${unit}(s) leaves the timestamp range`);
  return r;
}

// ---- strftime: a date or timestamp as text, in DuckDB's format codes ----

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The longest format a plan may give (a row's text is at most a few times as long). */
const MAX_FORMAT = 1000;

/** The codes strftime takes (after %), and those that take the `-` flag (no zero padding). */
const CODES = 'YymdjaAbBwupIHMSfgcxXz%';
const UNPADDED = 'ymdjIHMS';

interface Parts {
  y: number;
  mo: number;
  d: number;
  doy: number;
  wd: number;
  h: number;
  mi: number;
  s: number;
  us: number;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** DuckDB's %Y: four digits for 0-9999, else the year as it is (-44, 12345). */
const yearText = (y: number): string => (y >= 0 && y <= 9999 ? pad(y, 4) : String(y));

function code(c: string, flag: boolean, p: Parts): string {
  const num = (n: number, w: number): string => (flag ? String(n) : pad(n, w));
  switch (c) {
    case 'Y':
      return yearText(p.y);
    case 'y':
      return num(Math.abs(p.y) % 100, 2);
    case 'm':
      return num(p.mo + 1, 2);
    case 'd':
      return num(p.d, 2);
    case 'j':
      return num(p.doy, 3);
    case 'a':
      return WEEKDAYS[p.wd]!.slice(0, 3);
    case 'A':
      return WEEKDAYS[p.wd]!;
    case 'b':
      return MONTHS[p.mo]!.slice(0, 3);
    case 'B':
      return MONTHS[p.mo]!;
    case 'w':
      return String(p.wd);
    case 'u':
      return String(p.wd === 0 ? 7 : p.wd);
    case 'p':
      return p.h < 12 ? 'AM' : 'PM';
    case 'I':
      return num(p.h % 12 === 0 ? 12 : p.h % 12, 2);
    case 'H':
      return num(p.h, 2);
    case 'M':
      return num(p.mi, 2);
    case 'S':
      return num(p.s, 2);
    case 'f':
      return pad(p.us, 6);
    case 'g':
      return pad(Math.floor(p.us / 1000), 3);
    case 'c':
      return `${yearText(p.y)}-${pad(p.mo + 1, 2)}-${pad(p.d, 2)} ${pad(p.h, 2)}:${pad(p.mi, 2)}:${pad(p.s, 2)}`;
    case 'x':
      return `${yearText(p.y)}-${pad(p.mo + 1, 2)}-${pad(p.d, 2)}`;
    case 'X':
      return `${pad(p.h, 2)}:${pad(p.mi, 2)}:${pad(p.s, 2)}`;
    case 'z':
      return '+00';
    default:
      return '%';
  }
}

type Piece = string | { c: string; flag: boolean };

/** The format's pieces (text, and codes), or an error message naming the first code it cannot read. */
export function parseStrftime(fmt: string): Piece[] | string {
  if (fmt.length > MAX_FORMAT) return `strftime: a format is at most ${MAX_FORMAT} characters`;
  const out: Piece[] = [];
  let lit = '';
  for (let i = 0; i < fmt.length; i++) {
    if (fmt[i] !== '%') {
      lit += fmt[i];
      continue;
    }
    const flag = fmt[i + 1] === '-';
    const c = fmt[flag ? i + 2 : i + 1];
    if (c === undefined || !CODES.includes(c) || (flag && !UNPADDED.includes(c)))
      return `strftime: unknown format code %${flag ? '-' : ''}${c ?? ''} (codes: ${[...CODES].map((x) => `%${x}`).join(' ')}; %-${[...UNPADDED].join(' %-')} without zero padding)`;
    if (lit) out.push(lit);
    lit = '';
    out.push(c === '%' ? '%' : { c, flag });
    i += flag ? 2 : 1;
  }
  if (lit) out.push(lit);
  return out;
}

/**
 * A checked format as a function of a time in µs (UTC): null beyond what a Date holds. The calendar
 * fields are kept for the last day seen: rows of one day (most of a column in time order) read the
 * calendar once.
 */
export function strftimeOf(pieces: readonly Piece[]): (us: bigint) => string | null {
  let lastDays: bigint | undefined;
  const p: Parts = { y: 0, mo: 0, d: 0, doy: 0, wd: 0, h: 0, mi: 0, s: 0, us: 0 };
  return (us) => {
    const days = floorDiv(us, DAY);
    if (days !== lastDays) {
      const ms = Number(days) * 86_400_000;
      if (Math.abs(ms) > MAX_DATE_MS) return null;
      const t = new Date(ms);
      p.y = t.getUTCFullYear();
      p.mo = t.getUTCMonth();
      p.d = t.getUTCDate();
      p.doy = Math.round((ms - utcMs(p.y, 0, 1)) / 86_400_000) + 1;
      p.wd = t.getUTCDay();
      lastDays = days;
    }
    const tod = Number(us - days * DAY);
    p.h = Math.floor(tod / 3_600_000_000);
    p.mi = Math.floor(tod / 60_000_000) % 60;
    p.s = Math.floor(tod / 1_000_000) % 60;
    p.us = tod % 1_000_000;
    let s = '';
    for (const x of pieces) s += typeof x === 'string' ? x : code(x.c, x.flag, p);
    return s;
  };
}
