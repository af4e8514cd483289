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
