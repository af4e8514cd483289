// SQL that pgsql-ast-parser does not read, rewritten before parsing into text it reads, each
// rewrite at the length of what it replaces, so that every offset in the statement (the parser's
// locations, and so error carets and result names taken from the text) stays where it was. The scan
// skips string literals, quoted identifiers and comments, where the same words are not SQL.
//
// - The SQL standard's interval literal with a unit after the string, `INTERVAL '90' DAY` (TPC-H
//   writes `INTERVAL '90' DAY (3)`), which the parser takes for `INTERVAL '90'` with an alias `DAY`,
//   or fails on the token after it: written `INTERVAL '90 DAY'`, the PostgreSQL form; and DuckDB's
//   and MySQL's `INTERVAL 90 DAY`, without quotes, which the parser refuses: written
//   `INTERVAL'90DAY'`. A whole number of weeks is written as days (`INTERVAL '2' WEEK` as
//   `INTERVAL '14 DAY'`), which the interval parser reads where it does not read weeks.
// - `NATURAL [INNER | LEFT | RIGHT | FULL] JOIN`, which the parser refuses: the word is blanked out
//   and its offset recorded; the planner gives the join it stood before USING of the columns its two
//   sides have in common (join-using.ts).
// - A window frame, `OVER (... ROWS BETWEEN 6 PRECEDING AND CURRENT ROW)` (ROWS or RANGE, BETWEEN
//   two bounds or one), which the parser refuses: blanked out and recorded with its offset; the
//   OVER clause around it is marked with the frame (planner.ts gives it to the window).
// - `a IS [NOT] DISTINCT FROM b`, which the parser refuses: written as `a <> b` (`a = b`) and
//   recorded; the comparison node at that offset is marked, and translate.ts makes it null-safe.
// - `INTERSECT` and `EXCEPT` (with ALL or DISTINCT), which the parser refuses: written as a UNION
//   of the same length and recorded by offset, so that the planner, finding a UNION node whose
//   branches lie on either side of a recorded keyword, runs the operator written there.
// - `GROUP BY GROUPING SETS ((a, b), (a), ())`, which the parser refuses: `GROUPING SETS` written
//   as the call `GROUPING_SETS` and each empty set `()` in it as `0`, which no GROUP BY position
//   can be; grouping-sets.ts reads them back, checking the text at the call and at each `0`.

/** `INTERVAL 'n' UNIT [(p)]` at a position: the number, the unit, an optional precision. */
const QUALIFIED =
  /INTERVAL(\s*)'\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*'\s+(YEARS?|MONTHS?|WEEKS?|DAYS?|HOURS?|MINUTES?|SECONDS?)\b(?:\s*\(\s*\d+\s*\))?/iy;

const WORD = /[A-Za-z0-9_$]/;

/**
 * Where the parenthesis that closes `text`'s first one is (an index into `text`), or -1 when it is
 * not closed; parentheses inside strings, quoted names and comments do not count.
 */
export function closingParen(text: string): number {
  let depth = 0;
  let close = -1;
  scanWords(
    text,
    () => undefined,
    (i) => {
      if (close >= 0) return;
      if (text[i] === '(') depth++;
      else if (text[i] === ')' && --depth === 0) close = i;
    },
  );
  return close;
}

/**
 * Calls `at(i)` at each position of `text` outside string literals, quoted identifiers and comments
 * where a word starts; `at` returns the index to go on from (past what it consumed), or undefined.
 * `other(i)`, if given, is called at each other character outside them (inside words too).
 */
export function scanWords(text: string, at: (i: number) => number | undefined, other?: (i: number) => void): void {
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === "'") i = endOfQuoted(text, i, "'", /[eE]/.test(text[i - 1] ?? '') && !WORD.test(text[i - 2] ?? ''));
    else if (c === '"') i = endOfQuoted(text, i, '"', false);
    else if (c === '-' && next === '-') i = endOfLine(text, i);
    else if (c === '/' && next === '*') i = endOfBlockComment(text, i);
    else if (c === '$' && !WORD.test(text[i - 1] ?? '')) i = endOfDollarQuoted(text, i);
    else if (WORD.test(c) && !WORD.test(text[i - 1] ?? '')) i = at(i) ?? i + 1;
    else {
      other?.(i);
      i++;
    }
  }
}

/**
 * `text` with what `match(re)` finds where a word starts (outside literals and comments) replaced
 * by `replace(match, at)`, padded with spaces to the match's length.
 */
function replaceWords(text: string, re: RegExp, replace: (m: RegExpExecArray, at: number) => string): string {
  let out = '';
  let from = 0; // text before this is in `out`
  scanWords(text, (i) => {
    re.lastIndex = i;
    const m = re.exec(text);
    if (!m) return undefined;
    out += text.slice(from, i) + replace(m, i).padEnd(m[0].length, ' ');
    from = i + m[0].length;
    return from;
  });
  return from === 0 ? text : out + text.slice(from);
}

/** `text` with each `INTERVAL 'n' UNIT [(p)]` outside literals and comments written `INTERVAL 'n UNIT'`. */
export function qualifiedIntervals(text: string): string {
  if (!/interval/i.test(text)) return text;
  return replaceWords(text, QUALIFIED, (m, i) => {
    const [n, unit] = weeksAsDays(m[2]!, m[3]!);
    return `${text.slice(i, i + 8)}${m[1]}'${n} ${unit}'`;
  });
}

/** `INTERVAL n UNIT` (DuckDB's and MySQL's form, no quotes) at a position: the number and the unit. */
const BARE_INTERVAL = /INTERVAL\s+(\d+(?:\.\d*)?|\.\d+)\s+(YEARS?|MONTHS?|WEEKS?|DAYS?|HOURS?|MINUTES?|SECONDS?)\b/iy;

/** A week count as days, the unit the interval parser reads ('2 weeks' it does not). */
function weeksAsDays(n: string, unit: string): [string, string] {
  if (!/^weeks?$/i.test(unit) || !/^[+-]?\d+$/.test(n)) return [n, unit];
  return [String(Number(n) * 7), unit[0] === 'W' ? 'DAY' : 'day'];
}

/**
 * `text` with each `INTERVAL n UNIT` outside literals and comments written `INTERVAL'nUNIT'` (a
 * whole number of weeks as days), which the parser reads as the PostgreSQL form: no longer than
 * what it replaces, as the spaces it drops make room for the quotes.
 */
export function bareIntervals(text: string): string {
  if (!/interval\s+[\d.]/i.test(text)) return text;
  return replaceWords(text, BARE_INTERVAL, (m, i) => {
    const [n, unit] = weeksAsDays(m[1]!, m[2]!);
    return `${text.slice(i, i + 8)}'${n}${unit}'`;
  });
}

/** `INTERVAL '1-2' YEAR TO MONTH` and the like, quoted or not: a range of units. */
const INTERVAL_RANGE =
  /INTERVAL\s*(?:'[^']*'|[\d.]+)\s*(?:YEAR|MONTH|DAY|HOUR|MINUTE)S?\s+TO\s+(?:MONTH|DAY|HOUR|MINUTE|SECOND)S?\b/iy;

/** Where each interval literal with a range of units (`YEAR TO MONTH`) stands outside literals and comments. */
export function intervalRanges(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  if (!/\bto\b/i.test(text)) return out;
  scanWords(text, (i) => {
    INTERVAL_RANGE.lastIndex = i;
    const m = INTERVAL_RANGE.exec(text);
    if (m) out.push({ start: i, end: i + m[0].length });
    return m ? i + m[0].length : undefined;
  });
  return out;
}

/** INTERSECT and EXCEPT, with ALL (duplicates counted) or without (DISTINCT, the default). */
export type SetOperator = 'intersect' | 'intersect all' | 'except' | 'except all';

/** A set operator written at `at` (the offset of its first letter), read by the parser as a UNION. */
export interface SetOperatorAt {
  at: number;
  op: SetOperator;
}

const SET_OPERATOR = /(INTERSECT|EXCEPT)\b(\s+(ALL|DISTINCT)\b)?/iy;

/**
 * `text` with each INTERSECT or EXCEPT [ALL | DISTINCT] outside literals and comments written as
 * `UNION ALL` or `UNION` at its own length (`INTERSECT` is `UNION ALL`, `EXCEPT` `UNION ` ...), and
 * where each was.
 */
export function setOperators(text: string): { text: string; ops: SetOperatorAt[] } {
  const ops: SetOperatorAt[] = [];
  if (!/intersect|except/i.test(text)) return { text, ops };
  const out = replaceWords(text, SET_OPERATOR, (m, at) => {
    const all = m[3]?.toLowerCase() === 'all';
    ops.push({ at, op: `${m[1]!.toLowerCase()}${all ? ' all' : ''}` as SetOperator });
    // Any UNION the parser reads: which one does not matter, the planner runs the recorded operator.
    return m[0].length >= 9 ? 'UNION ALL' : 'UNION';
  });
  return { text: out, ops };
}

/** Index after the quoted run opened at `i` by `q` (doubled quotes inside; backslash escapes in E'...'). */
function endOfQuoted(text: string, i: number, q: string, backslash: boolean): number {
  let j = i + 1;
  while (j < text.length) {
    const c = text[j]!;
    if (backslash && c === '\\') j += 2;
    else if (c === q && text[j + 1] === q) j += 2;
    else if (c === q) return j + 1;
    else j++;
  }
  return j;
}

function endOfLine(text: string, i: number): number {
  const j = text.indexOf('\n', i);
  return j < 0 ? text.length : j + 1;
}

/** Block comments nest, as in PostgreSQL. */
function endOfBlockComment(text: string, i: number): number {
  let depth = 0;
  let j = i;
  while (j < text.length) {
    if (text[j] === '/' && text[j + 1] === '*') {
      depth++;
      j += 2;
    } else if (text[j] === '*' && text[j + 1] === '/') {
      depth--;
      j += 2;
      if (depth === 0) return j;
    } else j++;
  }
  return j;
}

/** `$tag$ ... $tag$` (the tag may be empty); a `$` that opens no such string is one character. */
function endOfDollarQuoted(text: string, i: number): number {
  const open = /\$([A-Za-z_][A-Za-z0-9_]*)?\$/y;
  open.lastIndex = i;
  const m = open.exec(text);
  if (!m) return i + 1;
  const close = text.indexOf(m[0], i + m[0].length);
  return close < 0 ? text.length : close + m[0].length;
}

const NATURAL = /NATURAL(?=\s+(?:INNER|LEFT|RIGHT|FULL|JOIN)\b)/iy;

/**
 * `text` with each NATURAL before a JOIN outside literals and comments blanked out, and, for each, the
 * offset where what follows it starts (where the parser's join item begins).
 */
export function naturalJoins(text: string): { text: string; joins: number[] } {
  const joins: number[] = [];
  if (!/natural/i.test(text)) return { text, joins };
  const out = replaceWords(text, NATURAL, (m, at) => {
    const after = at + m[0].length;
    joins.push(after + /^\s*/.exec(text.slice(after))![0].length);
    return '';
  });
  return { text: out, joins };
}

/** A window frame as written: ROWS or RANGE, and its bounds in rows from the current one (see WindowFrame). */
export interface FrameAt {
  at: number;
  end: number;
  rows: boolean;
  start: number;
  stop: number;
}

const BOUND = String.raw`(?:UNBOUNDED\s+(?:PRECEDING|FOLLOWING)|CURRENT\s+ROW|\d+\s+(?:PRECEDING|FOLLOWING))`;
/** A frame clause, last in its OVER (...): `ROWS|RANGE BETWEEN b AND b` or `ROWS|RANGE b`. */
const FRAME = new RegExp(
  String.raw`(ROWS|RANGE)\s+(?:BETWEEN\s+(${BOUND})\s+AND\s+(${BOUND})|(${BOUND}))(?=\s*\))`,
  'iy',
);

/** A bound's offset in rows from the current row (-Infinity, Infinity: the partition's ends). */
function boundOf(b: string): number {
  const [w1, w2] = b.toUpperCase().split(/\s+/);
  if (w1 === 'UNBOUNDED') return w2 === 'PRECEDING' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (w1 === 'CURRENT') return 0;
  return w2 === 'PRECEDING' ? -Number(w1) : Number(w1);
}

/** `text` with each window frame clause outside literals and comments blanked out, and the frames. */
export function windowFrames(text: string): { text: string; frames: FrameAt[] } {
  const frames: FrameAt[] = [];
  if (!/rows|range/i.test(text)) return { text, frames };
  const out = replaceWords(text, FRAME, (m, at) => {
    const one = m[4];
    frames.push({
      at,
      end: at + m[0].length,
      rows: m[1]!.toUpperCase() === 'ROWS',
      // `ROWS b` alone is BETWEEN b AND CURRENT ROW.
      start: boundOf(one ?? m[2]!),
      stop: one === undefined ? boundOf(m[3]!) : 0,
    });
    return '';
  });
  return { text: out, frames };
}

const DISTINCT_FROM = /IS\s+(NOT\s+)?DISTINCT\s+FROM\b/iy;

/**
 * `text` with each `IS [NOT] DISTINCT FROM` outside literals and comments written `<>` (`=`) at its
 * own length, and the offset of each (where the comparison's operator now stands).
 */
export function distinctFrom(text: string): { text: string; at: number[] } {
  const at: number[] = [];
  if (!/distinct\s+from/i.test(text)) return { text, at };
  const out = replaceWords(text, DISTINCT_FROM, (m, i) => {
    at.push(i);
    return m[1] ? '=' : '<>';
  });
  return { text: out, at };
}

const GROUPING_SETS = /GROUPING\s+SETS(\s*)\(/iy;
const EMPTY_SET = /\(\s*\)/y;

/**
 * `text` with each `GROUPING SETS (...)` outside literals and comments written `GROUPING_SETS (...)`,
 * and each `()` inside its parentheses written `0`.
 */
export function groupingSets(text: string): string {
  if (!/grouping\s+sets/i.test(text)) return text;
  const edits = new Map<number, string>(); // offset -> what stands there now, at the same length
  scanWords(text, (i) => {
    GROUPING_SETS.lastIndex = i;
    const m = GROUPING_SETS.exec(text);
    if (!m) return undefined;
    const open = i + m[0].length - 1;
    edits.set(i, 'GROUPING_SETS'.padEnd(open - i - m[1]!.length, ' '));
    for (let j = open + 1, depth = 1; j < text.length && depth > 0; ) {
      const c = text[j]!;
      EMPTY_SET.lastIndex = j;
      const empty = c === '(' ? EMPTY_SET.exec(text) : null;
      if (empty) {
        edits.set(j, '0'.padEnd(empty[0].length, ' '));
        j += empty[0].length;
      } else if (c === "'" || c === '"') j = endOfQuoted(text, j, c, false);
      else if (c === '-' && text[j + 1] === '-') j = endOfLine(text, j);
      else if (c === '/' && text[j + 1] === '*') j = endOfBlockComment(text, j);
      else {
        if (c === '(') depth++;
        else if (c === ')') depth--;
        j++;
      }
    }
    return open; // nested GROUPING SETS are found as the scan goes on inside
  });
  let out = '';
  let from = 0;
  for (const [at, s] of [...edits].sort((a, b) => a[0] - b[0])) {
    out += text.slice(from, at) + s;
    from = at + s.length;
  }
  return out + text.slice(from);
}
