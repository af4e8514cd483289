// CSV text to records: papaparse's Parser driven so that a record is the same wherever the text was
// cut, with the importer's checks (record widths, quote errors, record length) numbered by record.
// Shared by the importing thread and the parse threads (csv-worker.ts).

import Papa from 'papaparse';
import { Eau2Error, ErrorCode } from '../../kv/index.js';

/** Records in file order; the first is record number `first` (the header, if any, is record 1). */
export interface RecBatch {
  records: string[][];
  first: number;
}

/** A record longer than this (a quote left open, most likely) fails the import: memory stays bounded. */
export const MAX_RECORD_CHARS = 64 * 1024 * 1024;

/**
 * The record delimiter, as RFC 4180 readers (and csv-parse) decide it: the first line break of the
 * input outside quotes, `\r\n`, `\n` or `\r`; undefined while the text seen so far has none
 * (`more` says whether more text may follow: a `\r` at its end may be the start of `\r\n`).
 */
export function detectNewline(text: string, more: boolean): '\n' | '\r\n' | '\r' | undefined {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) quoted = !quoted;
    else if (!quoted && c === 10) return '\n';
    else if (!quoted && c === 13) {
      if (i + 1 < text.length) return text.charCodeAt(i + 1) === 10 ? '\r\n' : '\r';
      return more ? undefined : '\r';
    }
  }
  return more ? undefined : '\n';
}

/**
 * Splits CSV text given piece by piece into records, the same records and errors wherever the pieces
 * are cut (inside a quoted field, between \r and \n, in a UTF-8 sequence: the caller decodes). The
 * fields come from papaparse's Parser (indexOf and split over whole strings, several times faster than
 * csv-parse's per-byte loop); what it leaves to its caller is done here: the text after the last
 * complete record is kept for the next piece (papaparse decides what a quote is from the text up to
 * the next delimiter or line break, so a record it completes is the same however the text was cut), a record with a different number of fields than the
 * first fails, and papaparse's quote errors fail the import (it would otherwise carry on).
 */
export class CsvRecords {
  private parser: Papa.Parser | undefined;
  private newline = '\n';
  private carry = '';
  private pending: string[] = [];
  private pendingChars = 0;
  private started = false;
  private width = -1;
  private n = 0;

  constructor(
    private readonly delimiter: string,
    /** The longest record accepted, in characters (a test makes it small). */
    private readonly maxRecordChars = MAX_RECORD_CHARS,
    /**
     * For a reader that starts at a record boundary inside a file (a parse thread's byte range): the
     * file's record delimiter and record width, as the reader of its start found them, and no BOM.
     */
    within?: { newline: '\n' | '\r\n' | '\r'; width: number },
  ) {
    const bad = delimiterProblem(delimiter);
    if (bad) throw new TypeError(bad);
    if (within) {
      this.newline = within.newline;
      this.width = within.width;
      this.started = true;
      this.parser = new Papa.Parser({ delimiter, newline: within.newline, quoteChar: '"' });
    }
  }

  /** The record delimiter once known. */
  get lineBreak(): string | undefined {
    return this.parser ? this.newline : undefined;
  }

  /** Fields per record once the first record is read (-1 before). */
  get recordWidth(): number {
    return this.width;
  }

  /** Records read so far. */
  get count(): number {
    return this.n;
  }

  /** The text after the last complete record (the start of a record that has not ended yet). */
  get rest(): string {
    return this.carry + this.pending.join('');
  }

  /** Records complete with `text` (none may be); `last` when no text follows. */
  push(text: string, last = false): RecBatch {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.pending.push(text);
    this.pendingChars += text.length;
    // A record longer than one piece is parsed again with each piece; waiting until the new text is as
    // long as the carried one keeps the work linear in the record's length.
    if (!last && this.pendingChars < this.carry.length) return { records: [], first: this.n + 1 };
    const input = this.carry + this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    if (!this.parser) {
      const newline = detectNewline(input, !last);
      if (newline === undefined) return this.hold(input);
      this.newline = newline;
      this.parser = new Papa.Parser({ delimiter: this.delimiter, newline, quoteChar: '"' });
    }
    const res = this.parser.parse(input, 0, !last) as {
      data: string[][];
      errors: { code: string; row: number }[];
      meta: { cursor: number };
    };
    const rows = res.data;
    // An error on the row left incomplete is papaparse seeing half of it: it is parsed again whole.
    const error = res.errors.find((e) => e.row < rows.length);
    const end = error ? error.row : rows.length;
    const first = this.n + 1;
    const records: string[][] = [];
    let blank: boolean[] | undefined;
    for (let i = 0; i < end; i++) {
      const r = rows[i]!;
      if (r.length === 1 && r[0] === '') {
        // An empty line, or `""` (an empty field) alone on its line, which is a record; only text with
        // quotes can hold the second, and only then is the line looked at.
        if (input.indexOf('"') < 0) continue;
        blank ??= this.blankRows(input, !last);
        if (blank[i]) continue;
      }
      this.n++;
      if (this.width < 0) this.width = r.length;
      else if (r.length !== this.width)
        throw recordError(
          this.n,
          ` has ${r.length} field${r.length === 1 ? '' : 's'}, the first record has ${this.width}`,
        );
      records.push(r);
    }
    if (error) {
      const what =
        error.code === 'MissingQuotes'
          ? 'a quoted field is not closed before the end of the input'
          : 'a closing quote is followed by text other than a delimiter or a line break';
      throw recordError(this.n + 1, `: ${what}`);
    }
    if (last) return { records, first };
    this.hold(input.slice(res.meta.cursor));
    return { records, first };
  }

  /** Per row of `input`, whether it is an empty line: a second parse with papaparse's step callback,
   * whose cursor says where each row ends. */
  private blankRows(input: string, more: boolean): boolean[] {
    const blank: boolean[] = [];
    let start = 0;
    const newline = this.newline;
    const p = new Papa.Parser({
      delimiter: this.delimiter,
      newline,
      quoteChar: '"',
      step: (r: { meta: { cursor: number } }) => {
        const end = r.meta.cursor;
        let text = input.slice(start, end);
        if (text.endsWith(newline)) text = text.slice(0, -newline.length);
        blank.push(text === '');
        start = end;
      },
    } as Papa.ParseConfig);
    p.parse(input, 0, more);
    return blank;
  }

  private hold(rest: string): RecBatch {
    if (rest.length > this.maxRecordChars)
      throw recordError(this.n + 1, ` is longer than ${this.maxRecordChars} characters (a quote left open?)`);
    this.carry = rest;
    return { records: [], first: this.n + 1 };
  }
}

/**
 * A record the reader cannot parse: `details` hold its number and what follows the number in the
 * message, so that a parse thread's error, numbered within its byte range, can be numbered again in
 * the file.
 */
/** Why `d` cannot be a CSV field delimiter, or undefined when it can. */
export function delimiterProblem(d: string): string | undefined {
  if (d.length !== 1 || Papa.BAD_DELIMITERS.includes(d))
    return `the delimiter must be one character other than a quote, a line break or a BOM, not ${JSON.stringify(d)}`;
  return undefined;
}

export function recordError(record: number, what: string): Eau2Error {
  return new Eau2Error(ErrorCode.INVALID, `cannot parse CSV: record ${record}${what}`, { details: { record, what } });
}
