// A CSV parse thread (csv-parallel.ts starts them). It reads one byte range of the file at a time,
// splits it into records with the same reader as the importing thread (CsvRecords), converts each
// field with the column's converter and hands back typed column pieces whose buffers are moved, not
// copied. Where a range starts and ends is decided here, by a rule the importing thread checks:
//
// A range is given by its nominal byte offsets [from, to). Unless `aligned` (its start is known to be
// a record's first byte), it starts after the first record delimiter at or after `from`; it ends
// after the first record delimiter at or after `to` (the next range's start by the same rule), or at
// the end of the file. A delimiter found this way may lie inside a quoted field; the range then
// starts inside a record and its records are wrong. So the reply says where the last record the
// range completed ends (`end`): parsed from a true record start, that is the next true record start,
// and the importing thread uses the next range only if it started exactly there, else has it parsed
// again from `end`.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { parentPort } from 'node:worker_threads';
import { ColumnBuilder } from '../column-builder.js';
import { isEau2Error } from '../../kv/index.js';
import type { ColumnType } from '../schema.js';
import { CsvRecords, MAX_RECORD_CHARS } from './csv-records.js';
import { textConverter } from './text-values.js';

export interface RangeJob {
  id: number;
  file: string;
  from: number;
  to: number;
  aligned: boolean;
  delimiter: string;
  newline: '\n' | '\r\n' | '\r';
  width: number;
  types: ColumnType[];
  names: string[];
  nulls: string[] | undefined;
  /** The range starts the file: its reader finds the record delimiter, the width and a BOM itself. */
  first: boolean;
  /** The range's first record is the header: it is not converted. */
  skipHeader: boolean;
}

/** A column piece: the values' buffer (or, for strings, a dictionary or all the strings joined), moved. */
export type Piece =
  | { type: Exclude<ColumnType, 'S'>; values: ArrayBuffer; nulls?: ArrayBuffer }
  | { type: 'S'; dict: string[]; codes: ArrayBuffer; codeBytes: 1 | 2 | 4; nulls?: ArrayBuffer }
  | { type: 'S'; joined: string; ends: ArrayBuffer; nulls?: ArrayBuffer };

export interface RangeReply {
  id: number;
  /** The first byte of the range's first record (its speculative start, unless aligned). */
  start: number;
  /** Where the range's last complete record ends: the next record's first byte. */
  end: number;
  /** Records read (blank lines not counted), the header included. */
  records: number;
  rows: number;
  /** Whether the first record was taken as the header. */
  skippedHeader: boolean;
  cols?: Piece[];
  /** A record the reader refused (`record` counted within the range, from 1). */
  parseError?: { record: number; what: string; message: string };
  /** A value that does not fit its column. */
  valueError?: { record: number; col: number; text: string };
}

const port = parentPort!;
/** Bytes read and given to the reader at a time (as the importing thread's stream reads). */
const READ_BYTES = 64 * 1024;
const readBuf = Buffer.allocUnsafe(READ_BYTES);

/** Reads [pos, pos + n) of the open file (fewer bytes at its end). */
function readAt(fd: number, pos: number, n: number): Buffer {
  const buf = Buffer.allocUnsafe(n);
  let got = 0;
  while (got < n) {
    const k = readSync(fd, buf, got, n - got, pos + got);
    if (k === 0) break;
    got += k;
  }
  return got === n ? buf : buf.subarray(0, got);
}

/** The first byte after the first occurrence of `nl` at or after `pos`, or `size`. */
function afterBreak(fd: number, pos: number, size: number, nl: Buffer): number {
  const step = 64 * 1024;
  for (let at = pos; at < size; at += step) {
    // Overlap by the delimiter's length less one, so a \r\n across two reads is found.
    const buf = readAt(fd, at, Math.min(step + nl.length - 1, size - at));
    const k = buf.indexOf(nl);
    if (k >= 0) return at + k + nl.length;
  }
  return size;
}

function pieceOf(b: ColumnBuilder): { piece: Piece; transfer: ArrayBuffer[] } {
  const c = b.finish();
  const nulls = c.nulls ? (c.nulls.buffer as ArrayBuffer) : undefined;
  const transfer: ArrayBuffer[] = nulls ? [nulls] : [];
  if (c.type !== 'S') {
    const v = c.values as Int32Array;
    // A finished builder's values are a fresh copy of exactly its length.
    transfer.push(v.buffer as ArrayBuffer);
    return { piece: { type: c.type, values: v.buffer as ArrayBuffer, nulls }, transfer };
  }
  const vals = c.values;
  const n = vals.length;
  // Few distinct strings (a category): the distinct ones and a code per row. Otherwise one string
  // holding them all and where each ends: either way one object crosses, not one per row.
  const limit = n >>> 2;
  const codes = new Uint32Array(n);
  const at = new Map<string, number>();
  const dict: string[] = [];
  let i = 0;
  for (; i < n && dict.length <= limit; i++) {
    const s = vals[i]!;
    let k = at.get(s);
    if (k === undefined) {
      k = dict.length;
      dict.push(s);
      at.set(s, k);
    }
    codes[i] = k;
  }
  if (i === n && dict.length <= limit) {
    const narrow =
      dict.length <= 0x100 ? new Uint8Array(codes) : dict.length <= 0x10000 ? new Uint16Array(codes) : codes;
    transfer.push(narrow.buffer as ArrayBuffer);
    return {
      piece: {
        type: 'S',
        dict,
        codes: narrow.buffer as ArrayBuffer,
        codeBytes: narrow.BYTES_PER_ELEMENT as 1 | 2 | 4,
        nulls,
      },
      transfer,
    };
  }
  const ends = new Uint32Array(n);
  let len = 0;
  for (let j = 0; j < n; j++) {
    len += vals[j]!.length;
    ends[j] = len;
  }
  transfer.push(ends.buffer);
  return { piece: { type: 'S', joined: vals.join(''), ends: ends.buffer, nulls }, transfer };
}

function run(job: RangeJob): { reply: RangeReply; transfer: ArrayBuffer[] } {
  const fd = openSync(job.file, 'r');
  try {
    const size = fstatSync(fd).size;
    const nl = Buffer.from(job.newline, 'latin1');
    const start = job.aligned ? job.from : afterBreak(fd, job.from, size, nl);
    let stop = job.to >= size ? size : Math.max(start, afterBreak(fd, job.to, size, nl));
    // A file with no record delimiter for a long way (a quote left open, one huge line): read no more
    // than a record may hold, cut before a UTF-8 sequence; the reader then fails on the record's length.
    const cap = Math.max(job.to, start) + 4 * MAX_RECORD_CHARS;
    let capped = false;
    if (stop > cap) {
      stop = cap;
      capped = true;
    }
    const last = stop >= size && !capped;
    if (capped) {
      // Cut before a UTF-8 sequence the cap would split.
      const tail = readAt(fd, stop - 4, 4);
      let k = 4;
      while (k > 0 && (tail[k - 1]! & 0xc0) === 0x80) k--;
      if (k > 0 && tail[k - 1]! >= 0xc0) stop -= 4 - k + 1;
      else stop -= 4 - k;
    }
    const reply: RangeReply = { id: job.id, start, end: start, records: 0, rows: 0, skippedHeader: false };
    if (start >= size) return { reply, transfer: [] };
    const recs = job.first
      ? new CsvRecords(job.delimiter)
      : new CsvRecords(job.delimiter, undefined, { newline: job.newline, width: job.width });
    const types = job.types;
    const w = types.length;
    const builders = types.map((t, i) => new ColumnBuilder(t, 4096, job.names[i]));
    const conv = types.map((t) => textConverter(t));
    const nulls = job.nulls && job.nulls.length > 0 ? new Set(job.nulls) : undefined;
    let skip = job.skipHeader;
    let rows = 0;
    // The range is read, decoded and given to the reader 64 KiB at a time through one buffer, each
    // piece's records converted before the next is read. Measured on this machine: decoding a 2 MiB
    // range as one string, or keeping its records until the range ends, cost several times the CPU
    // (large fresh allocations, and records outliving young-generation collections).
    const decoder = new StringDecoder('utf8');
    let decodedBytes = 0;
    for (let pos = start; pos < stop || pos === start; ) {
      const n = Math.min(READ_BYTES, stop - pos);
      const k = n > 0 ? readSync(fd, readBuf, 0, n, pos) : 0;
      if (n > 0 && k === 0) throw new Error(`${job.file} ended at byte ${pos}, before ${stop}`);
      pos += k;
      let text = k > 0 ? decoder.write(readBuf.subarray(0, k)) : '';
      if (pos >= stop) text += decoder.end();
      decodedBytes += Buffer.byteLength(text);
      let batch: { records: string[][]; first: number };
      try {
        batch = recs.push(text, last && pos >= stop);
      } catch (e) {
        if (!isEau2Error(e) || !e.details) throw e;
        const { record, what } = e.details as { record: number; what: string };
        reply.parseError = { record, what, message: e.message };
        return { reply, transfer: [] };
      }
      const records = batch.records;
      for (let r = 0; r < records.length; r++) {
        if (skip) {
          skip = false;
          reply.skippedHeader = true;
          continue;
        }
        const rec = records[r]!;
        for (let i = 0; i < w; i++) {
          let s = rec[i]!;
          if (nulls?.has(s)) s = '';
          const v = conv[i]!(s);
          if (v === undefined) {
            reply.valueError = { record: batch.first + r, col: i, text: s };
            return { reply, transfer: [] };
          }
          // A converter's value fits its column's type (the one-thread path checks the same values
          // again in the writer; text-values.ts tests the converters).
          builders[i]!.pushFitted(v);
        }
        rows++;
      }
      if (pos >= stop) break;
    }
    reply.records = recs.count;
    const rest = last ? '' : recs.rest;
    // Where the rest starts: its UTF-8 length back from the end, while the bytes decoded losslessly
    // (invalid UTF-8 becomes U+FFFD, 3 bytes: the rest is then found in the bytes themselves).
    reply.end =
      rest === ''
        ? stop
        : stop -
          (decodedBytes === stop - start ? Buffer.byteLength(rest) : restBytes(readAt(fd, start, stop - start), rest));
    reply.rows = rows;
    const transfer: ArrayBuffer[] = [];
    reply.cols = builders.map((b) => {
      const p = pieceOf(b);
      transfer.push(...p.transfer);
      return p.piece;
    });
    return { reply, transfer };
  } finally {
    closeSync(fd);
  }
}

/** How many bytes at the end of `bytes` decode to `rest`. */
function restBytes(bytes: Buffer, rest: string): number {
  for (let k = bytes.length - 1; k >= 0; k--) if (bytes.subarray(k).toString('utf8') === rest) return bytes.length - k;
  throw new Error('cannot place the end of a CSV range');
}

port.on('message', (job: RangeJob) => {
  let out: { reply: RangeReply; transfer: ArrayBuffer[] };
  try {
    out = run(job);
  } catch (e) {
    port.postMessage({ id: job.id, failure: e instanceof Error ? e.message : String(e) });
    return;
  }
  port.postMessage(out.reply, out.transfer);
});
