// SQL errors that point at the offending part of the statement: line and column (1-based) in the
// message and in details, and the statement's line with a caret under the span.

import { Eau2Error, ErrorCode } from '../../kv/index.js';

/** A span of the statement text (offsets, end exclusive), as the parser's node locations give. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

/** A syntax tree node's span in the statement, when the parser recorded one. */
export function spanOf(n: unknown): Span | undefined {
  return (n as { _location?: Span } | undefined)?._location;
}

/**
 * The statement's text of a node, as a result column's name. Parentheses make no node, so an
 * expression that starts with one (`(b) IS NULL`) has a span starting inside it: the opening
 * parentheses its text closes are taken back in.
 */
export function spanText(text: string, span: Span | undefined): string {
  if (!span) return '';
  let start = span.start;
  let open = 0;
  for (let i = span.start; i < span.end; i++) {
    const c = text[i];
    if (c === '(') open++;
    else if (c === ')') open--;
  }
  for (let i = start - 1; open < 0 && i >= 0; i--) {
    if (text[i] === '(') {
      open++;
      start = i;
    } else if (!/\s/.test(text[i]!)) break;
  }
  return text.slice(start, span.end);
}

export function sqlError(
  text: string,
  span: Span | undefined,
  msg: string,
  code: ErrorCode = ErrorCode.INVALID,
): Eau2Error {
  if (!span) return new Eau2Error(code, msg);
  const start = Math.max(0, Math.min(text.length, span.start));
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  let lineEnd = text.indexOf('\n', start);
  if (lineEnd < 0) lineEnd = text.length;
  const line = text.slice(0, start).split('\n').length;
  const column = start - lineStart + 1;
  const width = Math.max(1, Math.min(lineEnd, span.end) - start);
  const src = text.slice(lineStart, lineEnd);
  const caret = `${' '.repeat(column - 1)}${'^'.repeat(width)}`;
  return new Eau2Error(code, `${msg} (line ${line}, column ${column})\n  ${src}\n  ${caret}`, {
    details: { line, column, offset: start },
  });
}
