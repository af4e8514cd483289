// The synchronous internal iterator every source of entries implements (memtable, SSTable,
// merging, level concatenation). Positions are over internal entries: (user key, seq, kind, value).
// Synchronous on purpose: table blocks are read with pread from the page cache or served from the
// block cache, and the public async iterator yields to the event loop between batches.

export interface InternalIterator {
  /** True iff positioned at an entry. key()/seq()/kind()/value() REQUIRE valid(). */
  valid(): boolean;
  seekToFirst(): void;
  seekToLast(): void;
  /** Positions at the first entry >= (userKey, seq) in internal order (seq descending). */
  seek(userKey: Uint8Array, seq: number): void;
  /** Positions at the last entry <= (userKey, seq) in internal order. */
  seekForPrev(userKey: Uint8Array, seq: number): void;
  next(): void;
  prev(): void;
  key(): Uint8Array;
  seq(): number;
  kind(): number;
  value(): Uint8Array;
  close(): void;
}
