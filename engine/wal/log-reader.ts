// Reads back the records of a log file (docs/format.md §3 "Write-ahead log"): each complete record's
// payload with its file offset, in order. A payload whose CRC did not check is never returned.
//
// The tail rule, on which crash recovery relies:
// - Damage is any of: a header cut by end of file, a fragment cut by end of file, a zero or unknown
//   type, a length crossing the block end, a FIRST or MIDDLE fragment not ending exactly at the block
//   end (the writer only splits a record that does not fit), a CRC mismatch, a non-zero block
//   trailer, a MIDDLE or LAST fragment with no FIRST before it, and end of file inside a fragmented
//   record. The record that holds the damage (or starts at it) is the bad record; the valid prefix
//   ends where it starts.
// - Evidence of a later record is a fragment that could only have been written as the start of a
//   record: a FULL, or a FIRST ending exactly at its block end, with a matching CRC, starting at any
//   byte offset after the damage. The search is byte by byte, not only at block starts, so a damaged
//   length field cannot hide the records that follow it in the same block.
// - No evidence: the damage is the torn tail of an interrupted write (partial append, partially
//   persisted block, zero fill). The log ends there; `end` reports where and why.
// - Evidence: the damage is in the middle of the log, which no crash can produce. Throws
//   corruption(path, start of the bad record, ...). A FULL or FIRST arriving while a fragmented record
//   is still open is such a case at once (its own fragment is the evidence).
// The MIDDLE and LAST fragments of the bad record itself are not evidence, so any damage in the last
// record, however many blocks it spans, is a torn tail.
//
// Cost: the search runs once, at the damage, over the rest of the file (about 1 ms per 32 KiB of
// random bytes on this machine class); clean logs never pay it.
//
// Known limit: a torn fragment whose surviving payload prefix itself contains a complete, CRC-valid
// log fragment (a payload embedding log bytes) is reported as corruption. That fails loud and loses
// nothing; for other payloads the odds are those of a 32-bit CRC collision per candidate position.

import { concatBytes } from '../../kv/index.js';
import { getFixed32 } from '../util/coding.js';
import { unmaskCrc } from '../util/crc32c.js';
import { corruption } from '../../kv/index.js';
import type { RandomAccessFile, Vfs } from '../vfs/vfs.js';
import {
  FragmentType,
  HEADER_SIZE,
  MAX_FRAGMENT_TYPE,
  blockSizeOf,
  fragmentCrc,
  type LogGeometry,
} from './log-format.js';

export interface LogRecord {
  /** Offset of the record's first fragment header. */
  offset: number;
  /** Offset just after its last fragment. */
  end: number;
  /** The payload; owned by the caller (may share an ArrayBuffer with other records' payloads). */
  payload: Uint8Array;
}

export interface LogReadEnd {
  /** End of the valid prefix: after the last complete record and any zero block padding after it. */
  validEnd: number;
  fileSize: number;
  /** validEnd === fileSize: a writer may continue the file (LogWriter with initialOffset = fileSize). */
  clean: boolean;
  /** When not clean: where the torn tail's damage was found, and what it was. */
  tail?: { offset: number; reason: string };
}

/** Bytes read per file read (whole blocks); recovery reads a log front to back once. */
const CHUNK_BYTES = 256 * 1024;

export class LogReader {
  private readonly path: string;
  private readonly blockSize: number;
  private size: number;
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkStart = 0;
  private result: LogReadEnd | undefined;

  /** `path` names the file in errors (default file.path); `blockSize` is for tests only (log-format.ts). */
  constructor(
    private readonly file: RandomAccessFile,
    opts: { path?: string } & LogGeometry = {},
  ) {
    this.path = opts.path ?? file.path;
    this.blockSize = blockSizeOf(opts);
    this.size = file.size();
  }

  /** How the log ended. REQUIRES: records() has run to completion without throwing. */
  get end(): LogReadEnd {
    if (!this.result) throw new TypeError('LogReader.end: the records have not all been read');
    return this.result;
  }

  [Symbol.asyncIterator](): AsyncGenerator<LogRecord, LogReadEnd, undefined> {
    return this.records();
  }

  /**
   * Yields every complete record in order; returns (and stores in `end`) how the log ended. Throws
   * CORRUPTION naming the file and the bad record's offset, after yielding the records before it.
   */
  async *records(): AsyncGenerator<LogRecord, LogReadEnd, undefined> {
    let validEnd = 0;
    let recStart = -1;
    let parts: Uint8Array[] = [];
    const B = this.blockSize;
    for (let bs = 0; bs < this.size; bs += B) {
      const blk = this.cached(bs) ?? (await this.load(bs));
      const n = blk.length;
      let p = 0;
      while (p < n) {
        const at = bs + p;
        if (B - p < HEADER_SIZE) {
          if (!allZero(blk, p, n)) return await this.damaged(validEnd, at, 'non-zero block trailer');
          if (recStart < 0) validEnd = bs + n;
          break;
        }
        if (n - p < HEADER_SIZE) return await this.damaged(validEnd, at, 'fragment header cut by end of file');
        const type = blk[p + 6]!;
        const len = blk[p + 4]! | (blk[p + 5]! << 8);
        if (type === FragmentType.ZERO || type > MAX_FRAGMENT_TYPE) {
          const zero = type === 0 && len === 0 && getFixed32(blk, p) === 0;
          return await this.damaged(validEnd, at, zero ? 'zero-filled space' : `unknown fragment type ${type}`);
        }
        const start = p + HEADER_SIZE;
        const stop = start + len;
        if (stop > B) return await this.damaged(validEnd, at, `fragment length ${len} crosses the block end`);
        if (stop > n) return await this.damaged(validEnd, at, 'fragment cut by end of file');
        if (stop !== B && (type === FragmentType.FIRST || type === FragmentType.MIDDLE)) {
          return await this.damaged(validEnd, at, `${typeName(type)} fragment does not end at the block end`);
        }
        if (unmaskCrc(getFixed32(blk, p)) !== fragmentCrc(type, blk, start, stop)) {
          return await this.damaged(validEnd, at, 'fragment checksum mismatch');
        }
        const frag = blk.subarray(start, stop);
        const fragEnd = bs + stop;
        if (type === FragmentType.FULL || type === FragmentType.FIRST) {
          if (recStart >= 0) {
            throw corruption(
              this.path,
              recStart,
              `fragmented record has no LAST fragment; a new record starts at ${at}`,
            );
          }
          if (type === FragmentType.FULL) {
            yield { offset: at, end: fragEnd, payload: frag };
            validEnd = fragEnd;
          } else {
            recStart = at;
            parts = [frag];
          }
        } else {
          if (recStart < 0) {
            return await this.damaged(validEnd, at, `${typeName(type)} fragment without a FIRST`);
          }
          parts.push(frag);
          if (type === FragmentType.LAST) {
            yield { offset: recStart, end: fragEnd, payload: concatBytes(parts) };
            validEnd = fragEnd;
            recStart = -1;
            parts = [];
          }
        }
        p = stop;
      }
    }
    if (recStart >= 0) return await this.damaged(validEnd, this.size, 'end of file inside a fragmented record');
    this.result = { validEnd, fileSize: this.size, clean: validEnd === this.size };
    return this.result;
  }

  /**
   * Damage at `at` inside (or at the start of) the record starting at `recordStart`: the end of the
   * log if no record starts after it, else corruption.
   */
  private async damaged(recordStart: number, at: number, reason: string): Promise<LogReadEnd> {
    const later = await this.findRecordStart(at + 1);
    if (later >= 0) {
      throw corruption(this.path, recordStart, `${reason} at offset ${at}, but a valid record starts at ${later}`);
    }
    this.result = { validEnd: recordStart, fileSize: this.size, clean: false, tail: { offset: at, reason } };
    return this.result;
  }

  /** The offset of the first evidence of a record start (see the file comment) at or after `from`, or -1. */
  private async findRecordStart(from: number): Promise<number> {
    const B = this.blockSize;
    for (let bs = from - (from % B); bs < this.size; bs += B) {
      const blk = this.cached(bs) ?? (await this.load(bs));
      const n = blk.length;
      for (let p = bs < from ? from - bs : 0; p + HEADER_SIZE <= n; p++) {
        const type = blk[p + 6]!;
        if (type !== FragmentType.FULL && type !== FragmentType.FIRST) continue;
        const stop = p + HEADER_SIZE + (blk[p + 4]! | (blk[p + 5]! << 8));
        if (stop > n || (type === FragmentType.FIRST && stop !== B)) continue;
        if (unmaskCrc(getFixed32(blk, p)) === fragmentCrc(type, blk, p + HEADER_SIZE, stop)) return bs + p;
      }
    }
    return -1;
  }

  /** The block starting at `bs` (shorter than a block only at end of file), if already read. */
  private cached(bs: number): Uint8Array | undefined {
    const off = bs - this.chunkStart;
    if (off < 0 || off >= this.chunk.length) return undefined;
    return this.chunk.subarray(off, Math.min(off + this.blockSize, this.chunk.length));
  }

  /** Reads the chunk of whole blocks starting at block `bs` and returns that block. */
  private async load(bs: number): Promise<Uint8Array> {
    const B = this.blockSize;
    const want = Math.min(Math.max(1, Math.floor(CHUNK_BYTES / B)) * B, this.size - bs);
    this.chunk = await this.file.read(bs, want);
    this.chunkStart = bs;
    // A file that shrank under us ends where the read ended.
    if (this.chunk.length < want) this.size = bs + this.chunk.length;
    return this.chunk.subarray(0, Math.min(B, this.chunk.length));
  }
}

/** Reads a whole log: every complete record and how the log ended. Throws CORRUPTION as LogReader does. */
export async function readLog(
  vfs: Vfs,
  path: string,
  geometry?: LogGeometry,
): Promise<{ records: LogRecord[]; end: LogReadEnd }> {
  const file = await vfs.openRandom(path);
  try {
    const reader = new LogReader(file, { path, ...geometry });
    const records: LogRecord[] = [];
    for await (const r of reader.records()) records.push(r);
    return { records, end: reader.end };
  } finally {
    await file.close();
  }
}

function allZero(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}

function typeName(type: number): string {
  return ['ZERO', 'FULL', 'FIRST', 'MIDDLE', 'LAST'][type] ?? `type ${type}`;
}
