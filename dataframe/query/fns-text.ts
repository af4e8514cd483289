// String functions for computed columns beyond the basic ones (docs/dataframe.md "Computed columns"),
// with DuckDB's semantics: positions and counts are in characters (code points), and a count is a
// whole number (truncated toward zero). Two things a client could send are bounded here, since a
// plan is untrusted input that runs on every node holding the frame:
// - memory: repeat, lpad, rpad and replace multiply their input, so what one of them builds over a
//   chunk is limited (MAX_CHUNK_CHARS) and a larger result is an error, never an allocation;
// - time: the regexp functions run V8's linear-time regex engine (fns-regexp.ts).

import { Eau2Error, ErrorCode } from '../../kv/index.js';

/** Characters (UTF-16 code units) one call of repeat/lpad/rpad/replace may build over one chunk. */
const MAX_CHUNK_CHARS = 1 << 25;

/** Counts what one call builds over a chunk; throws past MAX_CHUNK_CHARS. */
export class CharBudget {
  private used = 0;
  constructor(private readonly fn: string) {}
  take(chars: number): void {
    this.used += chars;
    if (this.used > MAX_CHUNK_CHARS)
      throw new Eau2Error(
        ErrorCode.INVALID,
        `${this.fn}: results over one chunk would exceed ${MAX_CHUNK_CHARS} characters (a count or width too large?)`,
      );
  }
}

const chars = (s: string): string[] => [...s];
const count = (n: number): number => (Number.isFinite(n) ? Math.trunc(n) : n > 0 ? Number.MAX_SAFE_INTEGER : 0);

/** 1-based character position of the first t in s, 0 if none (1 for an empty t). */
export function strpos(s: string, t: string): number {
  const i = s.indexOf(t);
  return i < 0 ? 0 : chars(s.slice(0, i)).length + 1;
}

/** The first n characters; a negative n drops the last -n. */
export function left(s: string, n: number): string {
  const c = chars(s);
  const k = count(n);
  return c.slice(0, k >= 0 ? k : Math.max(0, c.length + k)).join('');
}

/** The last n characters; a negative n drops the first -n. */
export function right(s: string, n: number): string {
  const c = chars(s);
  const k = count(n);
  return c.slice(k >= 0 ? Math.max(0, c.length - k) : Math.min(c.length, -k)).join('');
}

/**
 * s padded with fill to n characters (on the left or right), or cut to n. An empty fill pads nothing,
 * PostgreSQL's answer: DuckDB fails the query, and a computed column runs before the filter, on rows
 * the WHERE would have dropped.
 */
export function pad(s: string, n: number, fill: string, atLeft: boolean, budget: CharBudget): string {
  const c = chars(s);
  const k = Math.max(0, count(n));
  if (k <= c.length) return c.slice(0, k).join('');
  const f = chars(fill);
  if (f.length === 0) return s;
  budget.take(k * 2);
  const need = k - c.length;
  const p = fill.repeat(Math.floor(need / f.length)) + f.slice(0, need % f.length).join('');
  return atLeft ? p + s : s + p;
}

export function repeat(s: string, n: number, budget: CharBudget): string {
  const k = count(n);
  if (k <= 0 || s === '') return '';
  budget.take(s.length * k);
  return s.repeat(k);
}

/** Every `from` in s replaced by `to`; an empty `from` matches nothing (as DuckDB and PostgreSQL). */
export function replace(s: string, from: string, to: string, budget: CharBudget): string {
  if (from === '') return s;
  const parts = s.split(from);
  budget.take(s.length + (parts.length - 1) * to.length);
  return parts.join(to);
}

/**
 * The n-th field of s split at delim, counted from 1, or from the end for a negative n; '' past
 * either end and for n = 0; an empty delimiter splits into characters (DuckDB's split_part).
 */
export function splitPart(s: string, delim: string, n: number): string {
  const k = count(n);
  if (k === 0) return '';
  const parts = delim === '' ? chars(s) : s.split(delim);
  return parts[k > 0 ? k - 1 : parts.length + k] ?? '';
}

/** s without the characters of `set` (a space by default) at its start and/or end, as SQL's trim. */
export function trimChars(s: string, set: string, start: boolean, end: boolean): string {
  const c = chars(s);
  const drop = new Set(chars(set));
  let i = 0;
  let j = c.length;
  if (start) while (i < j && drop.has(c[i]!)) i++;
  if (end) while (j > i && drop.has(c[j - 1]!)) j--;
  return i === 0 && j === c.length ? s : c.slice(i, j).join('');
}

export const reverse = (s: string): string => chars(s).reverse().join('');

/** A pattern of LIKE, or a value, as its UTF-16 code units (a string) or its code points. */
type Seq = string | readonly string[];

/** Whether `seg` (with `_` for any one character) matches `s` at `i`. */
function segmentAt(seg: Seq, s: Seq, i: number): boolean {
  if (i < 0 || i + seg.length > s.length) return false;
  if (typeof seg === 'string' && typeof s === 'string') {
    // By char codes: indexing a string makes a one-character string per step.
    for (let k = 0; k < seg.length; k++) {
      const c = seg.charCodeAt(k);
      if (c !== 95 /* _ */ && c !== s.charCodeAt(i + k)) return false;
    }
    return true;
  }
  for (let k = 0; k < seg.length; k++) {
    const c = seg[k];
    if (c !== '_' && c !== s[i + k]) return false;
  }
  return true;
}

/** The first place at or after `from` where `seg` matches and ends by `end`, or -1. */
function findSegment(seg: Seq, s: Seq, from: number, end: number): number {
  if (typeof seg === 'string' && typeof s === 'string' && !seg.includes('_')) {
    const i = s.indexOf(seg, from);
    return i >= 0 && i + seg.length <= end ? i : -1;
  }
  for (let i = from; i + seg.length <= end; i++) if (segmentAt(seg, s, i)) return i;
  return -1;
}

function likeMatches(segs: readonly Seq[], s: Seq): boolean {
  const first = segs[0]!;
  if (segs.length === 1) return s.length === first.length && segmentAt(first, s, 0);
  const last = segs[segs.length - 1]!;
  if (s.length < first.length + last.length) return false;
  if (!segmentAt(first, s, 0) || !segmentAt(last, s, s.length - last.length)) return false;
  const end = s.length - last.length;
  let pos = first.length;
  for (let k = 1; k < segs.length - 1; k++) {
    const seg = segs[k]!;
    if (seg.length === 0) continue;
    const i = findSegment(seg, s, pos, end);
    if (i < 0) return false;
    pos = i + seg.length;
  }
  return true;
}

const SURROGATE = /[\ud800-\udfff]/;

/**
 * SQL LIKE (`%` any run, `_` one character: a code point, as DuckDB's) without a backtracking regex:
 * as a regex, `%a%a%a%a%a%a%a%a%a%a%b` took 35 s on one 40-character value, and a plan is untrusted
 * input that runs on every node. Between the `%`s are segments of fixed length; the first must
 * match at the start and the last at the end, and each middle one at its leftmost place after the
 * one before (leftmost leaves the most room for the rest, so no other choice can succeed where it
 * fails): at most pattern length x value length steps.
 */
export function likeMatcher(pattern: string): (s: string) => boolean {
  const units = pattern.split('%');
  // `_` is one code point: a value with surrogate pairs is matched by code points then. Without `_`,
  // matching code units is the same.
  const points = pattern.includes('_') ? units.map((x) => Array.from(x)) : undefined;
  return (s) => (points && SURROGATE.test(s) ? likeMatches(points, Array.from(s)) : likeMatches(units, s));
}
