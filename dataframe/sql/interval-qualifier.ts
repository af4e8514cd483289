// The SQL standard's interval literal with a unit after the string, `INTERVAL '90' DAY` (TPC-H writes
// `INTERVAL '90' DAY (3)`), which pgsql-ast-parser does not read: it takes `DAY` for an alias of
// `INTERVAL '90'`, or fails on the token after it. Before parsing, each such literal is rewritten as
// the PostgreSQL form the parser reads, `INTERVAL '90 DAY'`, padded with spaces to its own length, so
// every offset in the statement (the parser's locations, and so error carets and result names taken
// from the text) stays where it was. The scan skips string literals, quoted identifiers and
// comments, where the same words are not SQL.

/** `INTERVAL 'n' UNIT [(p)]` at a position: the number, the unit, an optional precision. */
const QUALIFIED =
  /INTERVAL(\s*)'\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*'\s+(YEARS?|MONTHS?|WEEKS?|DAYS?|HOURS?|MINUTES?|SECONDS?)\b(?:\s*\(\s*\d+\s*\))?/iy;

const WORD = /[A-Za-z0-9_$]/;

/** `text` with each `INTERVAL 'n' UNIT [(p)]` outside literals and comments written `INTERVAL 'n UNIT'`. */
export function qualifiedIntervals(text: string): string {
  if (!/interval/i.test(text)) return text;
  let out = '';
  let from = 0; // text before this is in `out`
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === "'") i = endOfQuoted(text, i, "'", /[eE]/.test(text[i - 1] ?? '') && !WORD.test(text[i - 2] ?? ''));
    else if (c === '"') i = endOfQuoted(text, i, '"', false);
    else if (c === '-' && next === '-') i = endOfLine(text, i);
    else if (c === '/' && next === '*') i = endOfBlockComment(text, i);
    else if (c === '$' && !WORD.test(text[i - 1] ?? '')) i = endOfDollarQuoted(text, i);
    else if ((c === 'i' || c === 'I') && !WORD.test(text[i - 1] ?? '')) {
      QUALIFIED.lastIndex = i;
      const m = QUALIFIED.exec(text);
      if (m) {
        const literal = `${text.slice(i, i + 8)}${m[1]}'${m[2]} ${m[3]}'`;
        out += text.slice(from, i) + literal.padEnd(m[0].length, ' ');
        i += m[0].length;
        from = i;
      } else i++;
    } else i++;
  }
  return from === 0 ? text : out + text.slice(from);
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
