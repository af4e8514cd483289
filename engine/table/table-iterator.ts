// The two-level iterator over one table: the index block says which data block holds a position,
// a BlockCursor (block.ts) steps through that block's raw entries, served by the block cache.
// Implements every method of InternalIterator (engine/format/iterator.ts), backwards as well as forwards.
//
// seek / seekForPrev compare (user key, seq) only: seek lands on the first entry with
// (key, seq) >= the target, seekForPrev on the last with (key, seq) <= it, whatever its kind
// (TableBuilder refuses two entries with the same user key and sequence, so kind never decides).
//
// Blocks from the cache live in memory the cache recycles once they leave it (slot-arena.ts): a
// block held between calls may have been released by reads elsewhere (other iterators, gets), so
// next / prev / value check Block.released first and fetch the block again if it was.

import type { InternalIterator } from '../format/iterator.js';
import { BlockCursor } from './block.js';
import type { Block } from './block.js';

/** What the iterator needs from TableReader (kept narrow to avoid an import cycle). */
export interface TableBlocks {
  readonly blockCount: number;
  /** The first block whose separator is >= (userKey, seq); blockCount if none. */
  seekBlock(userKey: Uint8Array, seq: number): number;
  dataBlock(bi: number, fillCache: boolean): Block;
}

export class TableIterator implements InternalIterator {
  private readonly table: TableBlocks;
  private readonly fillCache: boolean;
  /** Current data block, undefined when not positioned. */
  private block: Block | undefined;
  private readonly cursor = new BlockCursor();
  private bi = -1;

  constructor(table: TableBlocks, fillCache: boolean) {
    this.table = table;
    this.fillCache = fillCache;
  }

  valid(): boolean {
    return this.block !== undefined && this.cursor.valid();
  }

  seekToFirst(): void {
    if (this.setBlock(0)) this.cursor.seekToFirst();
  }

  seekToLast(): void {
    if (this.setBlock(this.table.blockCount - 1)) this.cursor.seekToLast();
  }

  seek(userKey: Uint8Array, seq: number): void {
    // Blocks before the first separator >= target hold only entries < target.
    const bi = this.table.seekBlock(userKey, seq);
    if (!this.setBlock(bi)) return;
    this.cursor.seek(userKey, seq);
    if (!this.cursor.valid() && this.setBlock(bi + 1)) this.cursor.seekToFirst();
  }

  seekForPrev(userKey: Uint8Array, seq: number): void {
    // The last entry <= target is in the block of the first separator >= target, or ends the one before.
    const n = this.table.blockCount;
    let bi = this.table.seekBlock(userKey, seq);
    if (bi >= n) bi = n - 1;
    if (!this.setBlock(bi)) return;
    this.cursor.seekForPrev(userKey, seq);
    if (!this.cursor.valid() && this.setBlock(bi - 1)) this.cursor.seekToLast();
  }

  next(): void {
    if (this.block?.released) this.refetch();
    this.cursor.next();
    if (!this.cursor.valid() && this.setBlock(this.bi + 1)) this.cursor.seekToFirst();
  }

  prev(): void {
    if (this.block?.released) this.refetch();
    this.cursor.prev();
    if (!this.cursor.valid() && this.setBlock(this.bi - 1)) this.cursor.seekToLast();
  }

  key(): Uint8Array {
    return this.cursor.key();
  }

  seq(): number {
    return this.cursor.seq();
  }

  kind(): number {
    return this.cursor.kind();
  }

  /** A view of the block: valid until this iterator or any other reads another block. */
  value(): Uint8Array {
    if (this.block?.released) this.refetch();
    return this.cursor.value();
  }

  close(): void {
    this.block = undefined;
  }

  /**
   * The current block's memory went back to the cache's arena (another read may have reused it):
   * fetch the block again, from the cache or the file (tables never change, so the bytes and the
   * cursor's position are the same).
   */
  private refetch(): void {
    const block = this.table.dataBlock(this.bi, this.fillCache);
    this.cursor.rebind(block);
    this.block = block;
  }

  /** Positions on block `bi` (entry left to the caller); false, and invalid, if out of range. */
  private setBlock(bi: number): boolean {
    // Invalid first, so that a corrupt block leaves the iterator unpositioned rather than stale.
    this.block = undefined;
    if (bi < 0 || bi >= this.table.blockCount) return false;
    const block = this.table.dataBlock(bi, this.fillCache);
    this.cursor.reset(block);
    this.block = block;
    this.bi = bi;
    return true;
  }
}
