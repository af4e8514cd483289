// Merges sorted internal iterators (memtables, level-0 tables, one iterator per deeper level) into
// one stream in internal-key order. Each direction is entered by a seek (seek/seekToFirst for
// next(), seekForPrev/seekToLast for prev()); the engine never switches direction mid-stream, so
// children need no re-positioning. With ~10 children a linear scan for the minimum beats a heap.

import { compareInternal } from '../format/internal-key.js';
import type { InternalIterator } from '../format/iterator.js';

export class MergingIterator implements InternalIterator {
  private cur: InternalIterator | null = null;
  private forward = true;

  constructor(private readonly children: InternalIterator[]) {}

  private pick(): void {
    let best: InternalIterator | null = null;
    for (const c of this.children) {
      if (!c.valid()) continue;
      if (best === null) {
        best = c;
        continue;
      }
      const cmp = compareInternal(c.key(), c.seq(), c.kind(), best.key(), best.seq(), best.kind());
      if (this.forward ? cmp < 0 : cmp > 0) best = c;
    }
    this.cur = best;
  }

  valid(): boolean {
    return this.cur !== null;
  }
  seekToFirst(): void {
    this.forward = true;
    for (const c of this.children) c.seekToFirst();
    this.pick();
  }
  seekToLast(): void {
    this.forward = false;
    for (const c of this.children) c.seekToLast();
    this.pick();
  }
  seek(userKey: Uint8Array, seq: number): void {
    this.forward = true;
    for (const c of this.children) c.seek(userKey, seq);
    this.pick();
  }
  seekForPrev(userKey: Uint8Array, seq: number): void {
    this.forward = false;
    for (const c of this.children) c.seekForPrev(userKey, seq);
    this.pick();
  }
  next(): void {
    this.cur!.next();
    this.pick();
  }
  prev(): void {
    this.cur!.prev();
    this.pick();
  }
  key(): Uint8Array {
    return this.cur!.key();
  }
  seq(): number {
    return this.cur!.seq();
  }
  kind(): number {
    return this.cur!.kind();
  }
  value(): Uint8Array {
    return this.cur!.value();
  }
  close(): void {
    for (const c of this.children) c.close();
    this.cur = null;
  }
}
