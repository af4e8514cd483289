// Turns the merged stream of internal entries into what a reader at one sequence number sees:
// for each user key only the newest version with seq <= the snapshot, nothing for keys whose
// newest visible version is a tombstone, and only keys within the bounds. Returned keys and values
// are copies (copyBytes: Buffer.slice would be a view), so callers may keep or mutate them without
// touching cached blocks or memtable arenas; and they must be, because a table's value lives in
// memory the block cache recycles (slot-arena.ts): it is copied before the next step.

import { compareBytes, copyBytes } from '../../kv/index.js';
import { Kind } from '../format/internal-key.js';
import type { InternalIterator } from '../format/iterator.js';
import { isExpired, type ExpiryCheck } from '../format/value-expiry.js';

export interface Bounds {
  lower?: Uint8Array;
  lowerExclusive?: boolean;
  upper?: Uint8Array;
  upperExclusive?: boolean;
}

export class DbIterator {
  private started = false;
  /** Forward: the user key just returned or skipped, whose older versions must be passed over. */
  private skipKey: Uint8Array | null = null;

  constructor(
    private readonly it: InternalIterator,
    private readonly seq: number,
    private readonly bounds: Bounds,
    readonly reverse: boolean,
    /** With valueExpiry: a value expired at the iterator's creation reads as a tombstone. */
    private readonly expiry?: ExpiryCheck,
  ) {}

  private expired(k: Uint8Array, v: Uint8Array): boolean {
    const e = this.expiry;
    return e !== undefined && isExpired(e.keysBelow, e.now, k, v);
  }

  private aboveUpper(k: Uint8Array): boolean {
    const u = this.bounds.upper;
    if (u === undefined) return false;
    const c = compareBytes(k, u);
    return this.bounds.upperExclusive ? c >= 0 : c > 0;
  }

  private belowLower(k: Uint8Array): boolean {
    const l = this.bounds.lower;
    if (l === undefined) return false;
    const c = compareBytes(k, l);
    return this.bounds.lowerExclusive ? c <= 0 : c < 0;
  }

  /** Positions at the first entry >= target (forward) or <= target (reverse), within bounds. */
  seek(target?: Uint8Array): void {
    this.started = true;
    this.skipKey = null;
    if (!this.reverse) {
      let t = target;
      if (this.bounds.lower !== undefined && (t === undefined || compareBytes(t, this.bounds.lower) < 0)) {
        t = this.bounds.lower;
      }
      if (t === undefined) this.it.seekToFirst();
      else this.it.seek(t, this.seq);
    } else {
      let t = target;
      if (this.bounds.upper !== undefined && (t === undefined || compareBytes(t, this.bounds.upper) > 0)) {
        t = this.bounds.upper;
      }
      // seq 0 sorts after every version of t, so every version of t is included.
      if (t === undefined) this.it.seekToLast();
      else this.it.seekForPrev(t, 0);
    }
  }

  /** The next visible entry, or undefined at the end. */
  next(): [Uint8Array, Uint8Array] | undefined {
    if (!this.started) this.seek();
    return this.reverse ? this.prevEntry() : this.nextEntry();
  }

  private nextEntry(): [Uint8Array, Uint8Array] | undefined {
    const it = this.it;
    while (it.valid()) {
      const k = it.key();
      if (this.skipKey !== null && compareBytes(k, this.skipKey) === 0) {
        it.next();
        continue;
      }
      if (it.seq() > this.seq) {
        it.next();
        continue;
      }
      if (this.aboveUpper(k)) return undefined;
      this.skipKey = k;
      if (this.belowLower(k) || it.kind() !== Kind.VALUE || this.expired(k, it.value())) {
        it.next();
        continue;
      }
      const out: [Uint8Array, Uint8Array] = [copyBytes(k), copyBytes(it.value())];
      it.next();
      return out;
    }
    return undefined;
  }

  private prevEntry(): [Uint8Array, Uint8Array] | undefined {
    const it = this.it;
    while (it.valid()) {
      const k = copyBytes(it.key());
      // Walking backwards, versions of one key come oldest first: the last visible one wins.
      let kind = -1;
      let value: Uint8Array | null = null;
      while (it.valid() && compareBytes(it.key(), k) === 0) {
        if (it.seq() <= this.seq) {
          kind = it.kind();
          // Copied now: the prev() below may read another block and recycle this one's memory.
          value = kind === Kind.VALUE ? copyBytes(it.value()) : null;
          if (value !== null && this.expired(k, value)) kind = Kind.DELETE;
        }
        it.prev();
      }
      if (this.belowLower(k)) return undefined;
      if (this.aboveUpper(k)) continue;
      if (kind === Kind.VALUE) return [k, value!];
    }
    return undefined;
  }

  close(): void {
    this.it.close();
  }
}
