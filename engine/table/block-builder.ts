// Encodes one data or index block (docs/format.md §5.2): entries in internal-key order, each user
// key prefix-compressed against the previous entry's, then a fixed32 entry count.
//
// No restart points (unlike LevelDB): a block is always decoded whole, once per cache miss (block.ts),
// and searched in its decoded form, so restart offsets would be bytes on disk that nothing reads.
//
// Entry: varint shared | varint unshared | varint valueLength | varint seq | u8 kind
//        | unshared key bytes | value bytes

import { putFixed32, putVarint } from '../util/coding.js';

/** Worst-case bytes of an entry's header: 4 varints of at most 8 bytes each, plus the kind. */
const MAX_ENTRY_HEADER = 33;

export class BlockBuilder {
  private buf: Uint8Array;
  private len = 0;
  private count = 0;
  /** The previous entry's user key, kept as a copy so callers may reuse their buffers. */
  private last: Uint8Array;
  private lastLen = 0;

  constructor(initialCapacity = 4096 + 1024) {
    this.buf = new Uint8Array(initialCapacity);
    this.last = new Uint8Array(64);
  }

  /** Number of entries added since the last reset(). */
  get entries(): number {
    return this.count;
  }

  empty(): boolean {
    return this.count === 0;
  }

  /** Size of the block contents if finish() were called now (without the 5-byte trailer). */
  currentSize(): number {
    return this.len + 4;
  }

  /** The user key of the last entry added (a view, valid until the next add or reset). */
  lastUserKey(): Uint8Array {
    return this.last.subarray(0, this.lastLen);
  }

  /** REQUIRES: (userKey, seq, kind) sorts after the previous entry in internal order (checked by TableBuilder). */
  add(userKey: Uint8Array, seq: number, kind: number, value: Uint8Array): void {
    const last = this.last;
    const max = this.lastLen < userKey.length ? this.lastLen : userKey.length;
    let shared = 0;
    while (shared < max && last[shared] === userKey[shared]) shared++;
    const unshared = userKey.length - shared;

    this.ensure(MAX_ENTRY_HEADER + unshared + value.length);
    const buf = this.buf;
    let at = this.len;
    at = putVarint(buf, at, shared);
    at = putVarint(buf, at, unshared);
    at = putVarint(buf, at, value.length);
    at = putVarint(buf, at, seq);
    buf[at++] = kind;
    // Byte loops for the key suffix: keys are short, and set(subarray) allocates a view per call
    // (measured, 200k entries: GC fell from 21 % to 12 % of a table build).
    for (let j = shared; j < userKey.length; j++) buf[at++] = userKey[j]!;
    buf.set(value, at);
    this.len = at + value.length;
    this.count++;

    let keep = this.last;
    if (userKey.length > keep.length) {
      keep = new Uint8Array(Math.max(userKey.length, keep.length * 2));
      keep.set(last);
      this.last = keep;
    }
    for (let j = shared; j < userKey.length; j++) keep[j] = userKey[j]!;
    this.lastLen = userKey.length;
  }

  /** Appends the entry count and returns the block contents, a view valid until reset(). */
  finish(): Uint8Array {
    this.ensure(4);
    putFixed32(this.buf, this.len, this.count);
    return this.buf.subarray(0, this.len + 4);
  }

  reset(): void {
    this.len = 0;
    this.count = 0;
    this.lastLen = 0;
  }

  private ensure(extra: number): void {
    // +4 so that finish() never needs to grow.
    if (this.len + extra + 4 <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra + 4) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
}
