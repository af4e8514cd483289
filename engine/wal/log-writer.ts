// Appends records to a log file in the format of docs/format.md §3 "Write-ahead log".
//
// Encoding and I/O are separate so the engine can group-commit: addRecord() for every writer of one
// event-loop turn (no I/O), then one flush() (one file.append of all of them; or flushSync(), one
// file.appendSync) and, if any writer asked for it, one sync() (one fdatasync).
//
// Ordering: appends run one after another in the order flush() was called, whatever the caller
// awaits. A sync() waits for the appends of the flushes called before it, not for later ones.
//
// Memory: with `spillBytes` (the engine's WAL, which only ever uses flushSync), addRecord writes out
// what is pending whenever the next fragment would take it past that, so a group commit of large
// records never grows the buffer beyond it: a group of 8 dataframe row-chunks (~7 MB) would grow it
// by doubling from 4 KiB to 8 MiB (~16 MB allocated per group, all garbage once written). The bytes
// reach the file in the same order as with one append; only the number of write(2) calls changes.
//
// Failure is sticky: after an append or sync fails, the file may end in a partial record, and any
// record written after it would turn a torn tail into mid-log corruption. So every later addRecord,
// flush and sync throws the first error; the engine must switch to a new log file.

import { ByteWriter, putFixed32 } from '../util/coding.js';
import { maskCrc } from '../util/crc32c.js';
import { Eau2Error, ErrorCode, ioError } from '../../kv/index.js';
import type { WritableFile } from '../vfs/vfs.js';
import { FragmentType, HEADER_SIZE, blockSizeOf, fragmentCrc, type LogGeometry } from './log-format.js';

const ZEROS = new Uint8Array(HEADER_SIZE);

export class LogWriter {
  private pending = new ByteWriter(4096);
  /** Offset in the file of the next byte addRecord will encode. */
  private end: number;
  private blockOffset: number;
  /** Settles (never rejects) when every append called so far has finished. */
  private appendTail: Promise<void> = Promise.resolve();
  /** Settles when every sync called so far has finished. */
  private syncTail: Promise<void> = Promise.resolve();
  /** flush() appends called and not yet finished. */
  private appending = 0;
  private failed: Eau2Error | undefined;
  private closed = false;

  private readonly blockSize: number;
  private readonly spillBytes: number;

  /**
   * `initialOffset` is the file's current length when continuing an existing log (default:
   * file.size()). Only continue a log whose reader ended cleanly (LogReadEnd.clean), else the new
   * records would follow a torn tail and read back as corruption. `geometry` is for tests only
   * (log-format.ts). `spillBytes` (0 = never): see "Memory" above; REQUIRES the writer be flushed
   * with flushSync only (addRecord then appends synchronously too).
   */
  constructor(
    readonly file: WritableFile,
    initialOffset: number = file.size(),
    geometry?: LogGeometry,
    spillBytes = 0,
  ) {
    this.blockSize = blockSizeOf(geometry);
    this.spillBytes = spillBytes;
    this.end = initialOffset;
    this.blockOffset = initialOffset % this.blockSize;
  }

  /**
   * Encodes one record, payload[from, to), into the pending buffer; no I/O. Returns the file offset
   * at which the record starts (after any block padding), the offset LogReader reports for it.
   * Offsets rather than a subarray: the write path calls this once per batch, and a view per call
   * would be garbage for the scavenger.
   */
  addRecord(payload: Uint8Array, from = 0, to = payload.length): number {
    this.checkUsable();
    const w = this.pending;
    let start = -1;
    let pos = from;
    let left = to - from;
    let first = true;
    // An empty payload still emits one (empty) FULL fragment, hence do/while.
    do {
      const leftover = this.blockSize - this.blockOffset;
      if (leftover < HEADER_SIZE) {
        // Too small for a header: zero-fill to the end of the block.
        w.bytes(ZEROS.subarray(0, leftover));
        this.end += leftover;
        this.blockOffset = 0;
      }
      if (start < 0) start = this.end;
      const avail = this.blockSize - this.blockOffset - HEADER_SIZE;
      const n = Math.min(left, avail);
      const last = n === left;
      const type = first
        ? last
          ? FragmentType.FULL
          : FragmentType.FIRST
        : last
          ? FragmentType.LAST
          : FragmentType.MIDDLE;
      if (this.spillBytes > 0 && w.len > 0 && w.len + HEADER_SIZE + n > this.spillBytes) this.flushSync();
      w.ensure(HEADER_SIZE + n);
      const h = w.len;
      putFixed32(w.buf, h, maskCrc(fragmentCrc(type, payload, pos, pos + n)));
      w.buf[h + 4] = n & 0xff;
      w.buf[h + 5] = n >>> 8;
      w.buf[h + 6] = type;
      const b = w.buf;
      const at = h + HEADER_SIZE;
      if (n <= 256) for (let i = 0; i < n; i++) b[at + i] = payload[pos + i]!;
      else b.set(payload.subarray(pos, pos + n), at);
      w.len = h + HEADER_SIZE + n;
      this.end += HEADER_SIZE + n;
      this.blockOffset += HEADER_SIZE + n;
      pos += n;
      left -= n;
      first = false;
    } while (left > 0);
    return start;
  }

  /** Bytes encoded but not yet handed to flush(). */
  pendingBytes(): number {
    return this.pending.len;
  }

  /** The file's length once everything added so far is flushed. */
  offset(): number {
    return this.end;
  }

  /**
   * Appends everything pending with one file.append. Resolves when it (and every earlier flush) is
   * written; rejects with the writer's sticky error if this or an earlier append or sync failed.
   */
  flush(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(closedError(this.file.path));
    const w = this.pending;
    if (w.len === 0) return this.appendTail.then(() => this.throwIfFailed());
    const data = w.buf.subarray(0, w.len);
    this.pending = new ByteWriter(Math.min(Math.max(4096, w.len), 1 << 20));
    this.appending++;
    const p = this.appendTail.then(async () => {
      try {
        this.throwIfFailed();
        await this.file.append(data);
      } catch (e) {
        throw this.fail('append', e);
      } finally {
        this.appending--;
      }
    });
    this.appendTail = p.catch(() => undefined);
    return p;
  }

  /**
   * Writes everything pending now with one file.appendSync (a write(2) into the page cache, no
   * thread-pool round trip). REQUIRES: no flush() append is in flight (mixing the two could reorder
   * bytes; this throws a TypeError instead). Throws the sticky error as flush() rejects with it.
   */
  flushSync(): void {
    this.checkUsable();
    if (this.appending > 0) throw new TypeError('LogWriter.flushSync while an async flush is in flight');
    const w = this.pending;
    if (w.len === 0) return;
    try {
      // appendSync has copied the bytes into the kernel when it returns, so the buffer is reused:
      // allocating a fresh one per group commit would be the write path's main source of garbage.
      this.file.appendSync(w.buf.subarray(0, w.len));
    } catch (e) {
      throw this.fail('append', e);
    }
    w.reset();
    if (w.buf.length > 1 << 20) this.pending = new ByteWriter(4096);
  }

  /** fdatasync: everything flushed before this call is durable when it resolves. Pending bytes are not flushed. */
  sync(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(closedError(this.file.path));
    const p = this.appendTail.then(async () => {
      this.throwIfFailed();
      try {
        await this.file.sync();
      } catch (e) {
        throw this.fail('sync', e);
      }
    });
    const settled = p.catch(() => undefined);
    this.syncTail = Promise.all([this.syncTail, settled]).then(() => undefined);
    return p;
  }

  /**
   * Flushes what is pending (not sync), waits for every append and sync in flight, and closes the
   * file. The file is closed even if the flush fails; the flush error is then thrown.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    let err: unknown;
    try {
      if (this.pending.len > 0) await this.flush();
    } catch (e) {
      err = e;
    }
    this.closed = true;
    await this.appendTail;
    await this.syncTail;
    await this.file.close();
    if (err !== undefined) throw err;
  }

  private checkUsable(): void {
    if (this.failed) throw this.failed;
    if (this.closed) throw closedError(this.file.path);
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.failed;
  }

  private fail(op: string, e: unknown): Eau2Error {
    this.failed ??= e instanceof Eau2Error ? e : ioError(op, this.file.path, e);
    return this.failed;
  }
}

function closedError(path: string): Eau2Error {
  return new Eau2Error(ErrorCode.IO, `log writer for ${path} is closed`, { details: { path } });
}
