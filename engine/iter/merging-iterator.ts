// Merges sorted internal iterators (memtables, level-0 tables, one iterator per deeper level) into
// one stream in internal-key order. Each direction is entered by a seek (seek/seekToFirst for
// next(), seekForPrev/seekToLast for prev()); the engine never switches direction mid-stream, so
// children need no re-positioning. With ~10 children a linear scan for the minimum beats a heap.

import { compareInternal } from '../format/internal-key.js';
import type { InternalIterator } from '../format/iterator.js';
import { INVARIANTS, invariantViolated } from '../util/invariants.js';

export class MergingIterator implements InternalIterator {
  private cur: InternalIterator | null = null;
  /**
   * The runner-up after the last full pick. Only `cur` moves between picks, so while it still sorts
   * before the runner-up it stays current: one comparison per step instead of one per child (long
   * runs come from one child, the deepest level, in a leveled tree).
   */
  private second: InternalIterator | null = null;
  private forward = true;

  constructor(private readonly children: InternalIterator[]) {}

  private pick(): void {
    let best: InternalIterator | null = null;
    let second: InternalIterator | null = null;
    for (const c of this.children) {
      if (!c.valid()) continue;
      if (best === null) {
        best = c;
        continue;
      }
      if (this.before(c, best)) {
        second = best;
        best = c;
      } else if (second === null || this.before(c, second)) {
        second = c;
      }
    }
    this.cur = best;
    this.second = second;
  }

  /** True iff `a` comes before `b` in the current direction. */
  private before(a: InternalIterator, b: InternalIterator): boolean {
    const cmp = compareInternal(a.key(), a.seq(), a.kind(), b.key(), b.seq(), b.kind());
    return this.forward ? cmp < 0 : cmp > 0;
  }

  /** After `cur` moved: keep it if it still leads the runner-up, else pick again. */
  private advanced(): void {
    const c = this.cur!;
    if (c.valid() && (this.second === null || this.before(c, this.second))) return;
    this.pick();
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
    this.advanced();
  }
  prev(): void {
    this.cur!.prev();
    this.advanced();
  }
  key(): Uint8Array {
    if (INVARIANTS && this.cur === null) invariantViolated('MergingIterator.key() on an unpositioned iterator');
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
    this.second = null;
  }
}
