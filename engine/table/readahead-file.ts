// A table file read front to back by one iterator, as a compaction reads each of its inputs: data
// blocks are served from one readahead window that is refilled in place, so a compaction holds a
// window per input instead of every input file whole (RocksDB reads compaction inputs the same way,
// compaction_readahead_size). Before, the worker read each input with readFile: an L0 compaction of
// four 4.5 MB tables and 10 MB of level 1 held ~28 MB of input at once.
//
// Memory contract, which only a compaction's iterator meets: a block read from the window is a view
// of it, valid until the next read outside the window. A TableIterator opened with fillCache false
// reads its next block only once it has let go of the current one (TableIterator.setBlock), and the
// merge copies every key and value it keeps. The table's metadata (footer, index, filter, read by
// TableReader.open and kept for the reader's life) is read before the window is enabled
// (readaheadBelow) and lies beyond it anyway, so it always gets memory of its own.

import type { RandomAccessFile } from '../vfs/vfs.js';

/** The window's size: a few syscalls per MiB of input, and ~1 MiB held per input table. */
const READAHEAD_BYTES = 1 << 20;

export class ReadaheadFile implements RandomAccessFile {
  readonly path: string;
  private readonly buf: Uint8Array;
  /** File range [start, end) the window holds. */
  private start = 0;
  private end = 0;
  /** Reads ending at or below this offset go through the window; 0 until readaheadBelow(). */
  private limit = 0;
  /** Refills of the window (for tests and stats). */
  refills = 0;

  constructor(
    private readonly file: RandomAccessFile,
    windowBytes = READAHEAD_BYTES,
  ) {
    this.path = file.path;
    this.buf = new Uint8Array(windowBytes);
  }

  /** Serves reads of [0, offset) from the window from now on: the table's data blocks. */
  readaheadBelow(offset: number): void {
    this.limit = offset;
  }

  size(): number {
    return this.file.size();
  }

  read(position: number, length: number): Promise<Uint8Array> {
    return this.file.read(position, length);
  }

  /** A view of the window (valid until the next read outside it) or, for other reads, fresh memory. */
  readSync(position: number, length: number): Uint8Array {
    const to = position + length;
    if (to > this.limit || length > this.buf.length) return this.file.readSync(position, length);
    if (position < this.start || to > this.end) this.fill(position);
    const from = position - this.start;
    // At the end of the file the window may hold fewer bytes: the caller sees a short read.
    return this.buf.subarray(from, Math.min(from + length, this.end - this.start));
  }

  close(): Promise<void> {
    return this.file.close();
  }

  private fill(position: number): void {
    const want = Math.min(this.buf.length, this.limit - position);
    let got: number;
    if (this.file.readInto !== undefined) {
      got = this.file.readInto(position, this.buf.subarray(0, want));
    } else {
      const bytes = this.file.readSync(position, want);
      this.buf.set(bytes);
      got = bytes.length;
    }
    this.start = position;
    this.end = position + got;
    this.refills++;
  }
}
