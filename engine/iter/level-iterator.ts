// Iterates one sorted level (>= 1) as a single stream: the files are disjoint and ordered, so it
// walks them one after another, opening each file's iterator only when it is reached.

import { compareBytes } from '../../kv/index.js';
import type { InternalIterator } from '../format/iterator.js';
import type { FileMeta } from '../version/version-edit.js';

export type OpenTableIterator = (f: FileMeta) => InternalIterator;

export class LevelIterator implements InternalIterator {
  private index = -1;
  private it: InternalIterator | null = null;

  constructor(
    private readonly files: FileMeta[],
    private readonly open: OpenTableIterator,
  ) {}

  private setFile(i: number): void {
    if (this.it) this.it.close();
    this.index = i;
    this.it = i >= 0 && i < this.files.length ? this.open(this.files[i]!) : null;
  }

  private skipForward(): void {
    while (this.it && !this.it.valid()) {
      if (this.index + 1 >= this.files.length) {
        this.setFile(this.files.length);
        return;
      }
      this.setFile(this.index + 1);
      this.it!.seekToFirst();
    }
  }

  private skipBackward(): void {
    while (this.it && !this.it.valid()) {
      if (this.index <= 0) {
        this.setFile(-1);
        return;
      }
      this.setFile(this.index - 1);
      this.it!.seekToLast();
    }
  }

  valid(): boolean {
    return this.it?.valid() ?? false;
  }
  seekToFirst(): void {
    this.setFile(0);
    this.it?.seekToFirst();
    this.skipForward();
  }
  seekToLast(): void {
    this.setFile(this.files.length - 1);
    this.it?.seekToLast();
    this.skipBackward();
  }
  seek(userKey: Uint8Array, seq: number): void {
    let lo = 0;
    let hi = this.files.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.files[mid]!.largestUser, userKey) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.setFile(lo);
    this.it?.seek(userKey, seq);
    this.skipForward();
  }
  seekForPrev(userKey: Uint8Array, seq: number): void {
    // The last file whose smallest user key <= userKey.
    let lo = 0;
    let hi = this.files.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.files[mid]!.smallestUser, userKey) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.setFile(lo - 1);
    this.it?.seekForPrev(userKey, seq);
    this.skipBackward();
  }
  next(): void {
    this.it!.next();
    this.skipForward();
  }
  prev(): void {
    this.it!.prev();
    this.skipBackward();
  }
  key(): Uint8Array {
    return this.it!.key();
  }
  seq(): number {
    return this.it!.seq();
  }
  kind(): number {
    return this.it!.kind();
  }
  value(): Uint8Array {
    return this.it!.value();
  }
  close(): void {
    if (this.it) this.it.close();
    this.it = null;
  }
}
