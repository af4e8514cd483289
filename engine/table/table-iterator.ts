// The two-level iterator over one table: the decoded index block says which data block holds a
// position, the data block (through the cache) holds the entries. Implements every method of
// InternalIterator (engine/format/iterator.ts), backwards as well as forwards.
//
// seek / seekForPrev compare (user key, seq) only: seek lands on the first entry with
// (key, seq) >= the target, seekForPrev on the last with (key, seq) <= it, whatever its kind
// (TableBuilder refuses two entries with the same user key and sequence, so kind never decides).

import type { InternalIterator } from '../format/iterator.js';
import type { Block } from './block.js';

/** What the iterator needs from TableReader (kept narrow to avoid an import cycle). */
export interface TableBlocks {
  readonly index: Block;
  dataBlock(bi: number, fillCache: boolean): Block;
}

export class TableIterator implements InternalIterator {
  private readonly table: TableBlocks;
  private readonly fillCache: boolean;
  /** Current data block, undefined when not positioned. */
  private block: Block | undefined;
  private bi = -1;
  private i = 0;
  /** key() view for the current position, built on first use. */
  private keyView: Uint8Array | undefined;

  constructor(table: TableBlocks, fillCache: boolean) {
    this.table = table;
    this.fillCache = fillCache;
  }

  valid(): boolean {
    return this.block !== undefined;
  }

  seekToFirst(): void {
    if (this.setBlock(0)) this.i = 0;
  }

  seekToLast(): void {
    if (this.setBlock(this.table.index.count - 1)) this.i = this.block!.count - 1;
  }

  seek(userKey: Uint8Array, seq: number): void {
    // Blocks before the first separator >= target hold only entries < target.
    const bi = this.table.index.seek(userKey, seq);
    if (!this.setBlock(bi)) return;
    const i = this.block!.seek(userKey, seq);
    if (i < this.block!.count) this.i = i;
    else if (this.setBlock(bi + 1)) this.i = 0;
  }

  seekForPrev(userKey: Uint8Array, seq: number): void {
    // The last entry <= target is in the block of the first separator >= target, or ends the one before.
    const index = this.table.index;
    let bi = index.seek(userKey, seq);
    if (bi >= index.count) bi = index.count - 1;
    if (!this.setBlock(bi)) return;
    const i = this.block!.seekForPrev(userKey, seq);
    if (i >= 0) this.i = i;
    else if (this.setBlock(bi - 1)) this.i = this.block!.count - 1;
  }

  next(): void {
    this.keyView = undefined;
    if (++this.i < this.block!.count) return;
    if (this.setBlock(this.bi + 1)) this.i = 0;
  }

  prev(): void {
    this.keyView = undefined;
    if (--this.i >= 0) return;
    if (this.setBlock(this.bi - 1)) this.i = this.block!.count - 1;
  }

  key(): Uint8Array {
    return (this.keyView ??= this.block!.userKey(this.i));
  }

  seq(): number {
    return this.block!.seqs[this.i]!;
  }

  kind(): number {
    return this.block!.kinds[this.i]!;
  }

  value(): Uint8Array {
    return this.block!.value(this.i);
  }

  close(): void {
    this.block = undefined;
  }

  /** Positions on block `bi` (entry index left to the caller); false, and invalid, if out of range. */
  private setBlock(bi: number): boolean {
    // Invalid first, so that a corrupt block leaves the iterator unpositioned rather than stale.
    this.block = undefined;
    this.keyView = undefined;
    if (bi < 0 || bi >= this.table.index.count) return false;
    this.block = this.table.dataBlock(bi, this.fillCache);
    this.bi = bi;
    return true;
  }
}
