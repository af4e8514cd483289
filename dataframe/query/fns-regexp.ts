// regexp_matches, regexp_replace and regexp_extract with DuckDB's answers (DuckDB runs RE2), on
// JavaScript's RegExp. A plan is untrusted input that runs on every node holding the frame, so:
// - time: patterns run on V8's linear-time engine (the `l` flag), which refuses what needs
//   backtracking (backreferences, lookaround: RE2 has neither), and are at most MAX_PATTERN_CHARS
//   long, so a row costs at most about pattern length × text length steps;
// - memory: what regexp_replace builds is bounded per value and per chunk (CharBudget).
// Where JavaScript reads a pattern otherwise than RE2, the pattern is rewritten to RE2's meaning or
// refused, never run with another answer:
// - `.` is any character but `\n` in RE2 (`\r`, U+2028 too), and a character is a code point: `.`,
//   `\S`, `\D`, `\W` and `[^...]` are written to take a surrogate pair whole, and a character
//   outside the BMP in the pattern is grouped so that a repeat after it takes both its halves;
// - `\s` is `[\t\n\f\r ]` in RE2 (JavaScript adds `\v` and Unicode spaces);
// - refused: escapes JavaScript reads as a letter or RE2 reads otherwise (`\A`, `\z`, `\pL`, `\Q`,
//   `\1`, `\u0041`, ...), POSIX classes `[[:alpha:]]`, a `]` first in a class (RE2 reads it as
//   the character), a character outside the BMP inside a class, and `(?i)`-style flags, which
//   JavaScript does not read; the `i` option, which the linear engine does not run.
// The replacement is RE2's: `\0` the match, `\1`..`\9` a group, `\\` a backslash, `$` itself.

import { setFlagsFromString } from 'node:v8';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { CharBudget } from './fns-text.js';

const MAX_PATTERN_CHARS = 1000;
/** Characters (UTF-16 code units) regexp_replace may build for one value. */
const MAX_VALUE_CHARS = 1 << 24;

/** A surrogate pair: one code point outside the BMP, which RE2 takes as one character. */
const PAIR = '[\\uD800-\\uDBFF][\\uDC00-\\uDFFF]';
/** RE2's `\s`. */
const SPACE = '\\t\\n\\f\\r ';
/** Either half of a surrogate pair, which a one-code-unit alternative must not take alone. */
const HALVES = '\\uD800-\\uDFFF';

/** A pattern compiled: the RegExp (flags `lg`), its capturing groups, and its options. */
export interface Compiled {
  readonly re: RegExp;
  readonly groups: number;
  readonly global: boolean;
}

let linear: boolean | undefined;

function linearEngine(fn: string): void {
  if (linear === undefined) {
    // The engine is behind a V8 flag, which only admits the `l` flag to RegExp: turning it on changes
    // nothing else. Checked once, so that a V8 without it refuses patterns rather than risk one.
    setFlagsFromString('--enable-experimental-regexp-engine');
    try {
      // biome-ignore lint/complexity/useRegexLiterals: a literal /a/l would fail to parse without the flag.
      linear = new RegExp('a', 'l').flags.includes('l');
    } catch {
      linear = false;
    }
  }
  if (!linear) throw new TypeError(`${fn} needs V8's linear-time regex engine, which this Node.js lacks`);
}

/** DuckDB's options: `c` case-sensitive (the default), `s` `.` matches `\n` too, `g` every match. */
function readOptions(fn: string, options: string): { global: boolean; dotAll: boolean } {
  let global = false;
  let dotAll = false;
  for (const o of options) {
    if (o === 'g' && fn === 'regexp_replace') global = true;
    else if (o === 's') dotAll = true;
    else if (o === 'c') continue;
    else if (o === 'g') throw new TypeError(`${fn}: option 'g' (every match) is only for regexp_replace`);
    else if (o === 'i')
      throw new TypeError(
        `${fn}: option 'i' (case-insensitive) is not supported: lower() the text and write the pattern in lower case`,
      );
    else
      throw new TypeError(
        `${fn}: option '${o}' is not supported (options: c, s${fn === 'regexp_replace' ? ', g' : ''})`,
      );
  }
  return { global, dotAll };
}

/** The JavaScript source of RE2 pattern `p`, and its number of capturing groups. */
function translate(fn: string, p: string, dotAll: boolean): { source: string; groups: number } {
  let out = '';
  let groups = 0;
  let i = 0;
  const refuse = (what: string): TypeError => new TypeError(`${fn}: ${what} (at character ${i + 1} of the pattern)`);
  /** A negated class (its body), taking a surrogate pair whole and never half of one. */
  const anyBut = (body: string): string => `(?:${PAIR}|[^${body}${HALVES}])`;
  /** The escape at `i`, in a class or not: its source and its length. */
  const escapeAt = (inClass: boolean): [string, number] => {
    const d = p[i + 1];
    if (d === undefined) throw refuse('a \\ ends the pattern');
    if (d === 's') return [inClass ? SPACE : `[${SPACE}]`, 2];
    if (d === 'S') {
      if (inClass) throw refuse('\\S in a class is not supported: write [^ \\t\\n\\f\\r...] apart');
      return [anyBut(SPACE), 2];
    }
    if (d === 'D' || d === 'W') return [inClass ? `\\${d}` : anyBut(d === 'D' ? '0-9' : '0-9A-Za-z_'), 2];
    if ('dwtnrfv'.includes(d)) return [`\\${d}`, 2];
    if ((d === 'b' || d === 'B') && !inClass) return [`\\${d}`, 2];
    if (d === 'x' && /^[0-9A-Fa-f]{2}$/.test(p.slice(i + 2, i + 4))) return [p.slice(i, i + 4), 4];
    if (/[0-9]/.test(d)) throw refuse(`backreferences (\\${d}) are not supported, as in DuckDB`);
    if (/[A-Za-z]/.test(d)) throw refuse(`\\${d} is not supported (JavaScript and RE2 read it differently)`);
    return [`\\${d}`, 2];
  };
  const opens: number[] = [];
  while (i < p.length) {
    const c = p[i]!;
    if (c === '(') opens.push(i);
    else if (c === ')' && opens.length > 0) {
      const open = opens.pop()!;
      // `?` (at most once) is safe: a group left out or matching empty both give ''.
      const q = /^(?:[*+]|\{\d*,(?!1\})\d*\})/.exec(p.slice(i + 1));
      if (q && nullable(p.slice(open + 1, i)))
        throw refuse(
          `a repeated group that can match empty, ${p.slice(open, i + 1 + q[0].length)}, is not supported: JavaScript and RE2 repeat it differently`,
        );
    }
    if (c === '\\') {
      const [s, n] = escapeAt(false);
      out += s;
      i += n;
    } else if (c === '[') {
      const neg = p[i + 1] === '^';
      const start = i;
      i += neg ? 2 : 1;
      if (p[i] === ']') throw refuse('a ] first in a class is read as a character by RE2: write \\]');
      let body = '';
      for (;;) {
        const d = p[i];
        if (d === undefined) {
          i = start;
          throw refuse('a [ is not closed');
        }
        if (d === ']') break;
        if (d === '\\') {
          const [s, n] = escapeAt(true);
          body += s;
          i += n;
          continue;
        }
        if (d === '[' && p[i + 1] === ':')
          throw refuse('POSIX classes ([[:alpha:]]) are not supported: write [a-zA-Z]');
        const code = d.charCodeAt(0);
        if (code >= 0xd800 && code <= 0xdfff) throw refuse('a character outside the BMP in a class is not supported');
        body += d;
        i++;
      }
      i++;
      out += neg ? anyBut(body) : `[${body}]`;
    } else if (c === '.') {
      out += anyBut(dotAll ? '' : '\\n');
      i++;
    } else if (c === '(' && p[i + 1] === '?') {
      if (p[i + 2] === ':') {
        out += '(?:';
        i += 3;
      } else if (p[i + 2] === '<' && /[A-Za-z_]/.test(p[i + 3] ?? '')) {
        groups++;
        out += '(?<';
        i += 3;
      } else if (p[i + 2] === 'P' && p[i + 3] === '<') {
        groups++;
        out += '(?<';
        i += 4;
      } else if (/^\(\?<?[=!]/.test(p.slice(i, i + 4))) throw refuse('lookaround is not supported, as in DuckDB (RE2)');
      else throw refuse(`${p.slice(i, i + 4)}...: flags in the pattern are not supported`);
    } else if (c >= '\uD800' && c <= '\uDBFF' && p.length > i + 1) {
      // A character outside the BMP is two code units: grouped, so that a repeat takes both.
      out += `(?:${p.slice(i, i + 2)})`;
      i += 2;
    } else {
      if (c === '(') groups++;
      out += c;
      i++;
    }
  }
  return { source: out, groups };
}

/**
 * Whether a group's text (an RE2 pattern that translate() checks) can match the empty string: some
 * alternative whose every piece can (an anchor, a repeat that may take none, such a group).
 */
function nullable(src: string): boolean {
  /** Past a group's `?:` or `?<name>` at `at` (an unclosed name: the end, as nothing follows). */
  const pastPrefix = (at: number): number =>
    src[at + 1] === ':' ? at + 2 : src.indexOf('>', at) < 0 ? src.length : src.indexOf('>', at) + 1;
  let i = src[0] === '?' ? pastPrefix(0) : 0;
  const alternative = (): boolean => {
    let all = true;
    while (i < src.length && src[i] !== '|' && src[i] !== ')') {
      const c = src[i]!;
      let empty = false;
      if (c === '\\') {
        empty = src[i + 1] === 'b' || src[i + 1] === 'B';
        i += src[i + 1] === 'x' ? 4 : 2;
      } else if (c === '[') {
        i += src[i + 1] === '^' ? 2 : 1;
        while (i < src.length && src[i] !== ']') i += src[i] === '\\' ? 2 : 1;
        i++;
      } else if (c === '(') {
        i++;
        if (src[i] === '?') i = pastPrefix(i);
        empty = alternatives();
        i++;
      } else {
        empty = c === '^' || c === '$';
        i += c >= '\uD800' && c <= '\uDBFF' ? 2 : 1;
      }
      const q = /^(?:[*+?]|\{\d*(?:,\d*)?\})\??/.exec(src.slice(i));
      if (q) {
        if (/^[*?]|^\{0?[,}]|^\{0,/.test(q[0])) empty = true;
        i += q[0].length;
      }
      if (!empty) all = false;
    }
    return all;
  };
  const alternatives = (): boolean => {
    let any = alternative();
    while (src[i] === '|') {
      i++;
      if (alternative()) any = true;
    }
    return any;
  };
  return alternatives();
}

const compiled = new Map<string, Compiled>();

/**
 * `pattern` with DuckDB's `options`, compiled to RE2's meaning (see the header). TypeError, naming
 * `fn`, for what cannot be run so: a plan is checked before anything is read. The last 64 kept.
 */
export function compileRegexp(fn: string, pattern: string, options = ''): Compiled {
  const key = `${fn}\u0000${options}\u0000${pattern}`;
  const hit = compiled.get(key);
  if (hit) return hit;
  if (pattern.length > MAX_PATTERN_CHARS)
    throw new TypeError(`${fn}: the pattern is ${pattern.length} characters; at most ${MAX_PATTERN_CHARS}`);
  const { global, dotAll } = readOptions(fn, options);
  const { source, groups } = translate(fn, pattern, dotAll);
  linearEngine(fn);
  let re: RegExp;
  try {
    re = new RegExp(source, 'lg');
  } catch (e) {
    const why = (e as Error).message.replace(/^Invalid regular expression: \/.*\/\w*: /s, '');
    throw new TypeError(
      `${fn}: ${why}${why.includes('linear') ? ' (backreferences, lookaround and repeat counts past a few hundred are refused: they need backtracking)' : ''}`,
    );
  }
  const c = { re, groups, global };
  compiled.set(key, c);
  if (compiled.size > 64) compiled.delete(compiled.keys().next().value!);
  return c;
}

/**
 * The first match of `re` in `s` from `p` that does not start inside a surrogate pair: between the
 * halves of one, where RE2 sees no position, `\B` holds (neither half is a word character).
 */
function execAt(re: RegExp, s: string, p: number): RegExpExecArray | null {
  for (;;) {
    re.lastIndex = p;
    const m = re.exec(s);
    if (!m || !insidePair(s, m.index)) return m;
    p = m.index + 1;
  }
}

function insidePair(s: string, i: number): boolean {
  const lo = s.charCodeAt(i);
  const hi = s.charCodeAt(i - 1);
  return lo >= 0xdc00 && lo <= 0xdfff && hi >= 0xd800 && hi <= 0xdbff;
}

/** Whether `c` matches anywhere in `s`. */
export function regexpMatches(s: string, c: Compiled): boolean {
  return execAt(c.re, s, 0) !== null;
}

/** The text of group `group` (0: the match) of the first match; '' if none, as DuckDB's. */
export function regexpExtract(s: string, c: Compiled, group: number): string {
  return execAt(c.re, s, 0)?.[group] ?? '';
}

/** A replacement read: text, and group numbers where `\N` stood. */
export type Rewrite = readonly (string | number)[];

/** RE2's replacement syntax: `\0`..`\9` a group, `\\` a backslash; TypeError for any other `\`, or a group the pattern lacks. */
export function readRewrite(rewrite: string, groups: number): Rewrite {
  const out: (string | number)[] = [];
  let lit = '';
  for (let i = 0; i < rewrite.length; i++) {
    const c = rewrite[i]!;
    if (c !== '\\') {
      lit += c;
      continue;
    }
    const d = rewrite[++i];
    if (d === '\\') lit += '\\';
    else if (d !== undefined && d >= '0' && d <= '9') {
      const g = Number(d);
      if (g > groups)
        throw new TypeError(`regexp_replace: the replacement names \\${g}, and the pattern has ${groups} group(s)`);
      if (lit) out.push(lit);
      lit = '';
      out.push(g);
    } else
      throw new TypeError(
        `regexp_replace: \\${d ?? ''} in the replacement: write \\0 to \\9 for a group, \\\\ for a backslash`,
      );
  }
  if (lit) out.push(lit);
  return out;
}

/**
 * `s` with the first match of `c` (every one, with the `g` option) replaced by `rewrite`, as RE2
 * replaces: an empty match right after the previous match is skipped (`a*` over `baaac` gives
 * `-b-c-`), stepping over a code point.
 */
export function regexpReplace(s: string, c: Compiled, rewrite: Rewrite, budget: CharBudget): string {
  const re = c.re;
  let out = '';
  let p = 0;
  let lastEnd = -1;
  let count = 0;
  while (p <= s.length) {
    const m = execAt(re, s, p);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    if (start === end && start === lastEnd) {
      if (p >= s.length) break;
      const step = s.codePointAt(p)! > 0xffff ? 2 : 1;
      out += s.slice(p, p + step);
      p += step;
      continue;
    }
    out += s.slice(p, start);
    for (const r of rewrite) out += typeof r === 'number' ? (m[r] ?? '') : r;
    if (out.length > MAX_VALUE_CHARS)
      throw new Eau2Error(ErrorCode.INVALID, `regexp_replace: a result of more than ${MAX_VALUE_CHARS} characters`);
    p = end;
    lastEnd = end;
    count++;
    if (!c.global) break;
  }
  if (count === 0) return s;
  out += s.slice(p);
  budget.take(out.length);
  return out;
}
