// An in-memory KvStore used as a test double for the layers above the engine (dataframe, cluster
// clients). It is deliberately simple but strict: keys are kept sorted by unsigned bytes, scans honour
// every Range bound, batches are all-or-nothing, and every value handed out is a fresh copy so that a
// caller that mutates or retains buffers is caught the same way a real store would catch it.

import type {
  BatchOp,
  KeyLike,
  KvIterator,
  KvStore,
  Range,
  ReadOptions,
  ValueLike,
  WriteOptions,
} from '../../kv/index.js';
import { compareBytes, utf8 } from '../../kv/index.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';

interface Entry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

function toBytes(k: KeyLike | ValueLike, what: string): Uint8Array {
  if (typeof k === 'string') return utf8(k);
  if (k instanceof Uint8Array) return new Uint8Array(k); // copy: callers may reuse their buffer
  throw new TypeError(`${what} must be a Uint8Array or a string`);
}

export interface MemoryStoreStats {
  gets: number;
  puts: number;
  dels: number;
  batches: number;
  scans: number;
}

export class MemoryStore implements KvStore {
  /** Sorted by key; entries are immutable, so a slice of this array is a snapshot. */
  private entries: Entry[] = [];
  private closed = false;
  readonly stats: MemoryStoreStats = { gets: 0, puts: 0, dels: 0, batches: 0, scans: 0 };

  /** Number of live keys. */
  get size(): number {
    return this.entries.length;
  }

  /** Total bytes of keys and values held. */
  get bytes(): number {
    let n = 0;
    for (const e of this.entries) n += e.key.length + e.value.length;
    return n;
  }

  /** Index of the first entry whose key is >= key (or > key when `strict`). */
  private lowerBound(key: Uint8Array, strict = false): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareBytes(this.entries[mid]!.key, key);
      if (c < 0 || (strict && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private checkOpen(): void {
    if (this.closed) throw new Eau2Error(ErrorCode.NOT_OPEN, 'memory store is closed');
  }

  private applyPut(key: Uint8Array, value: Uint8Array): void {
    const i = this.lowerBound(key);
    const e = { key, value };
    const cur = this.entries[i];
    if (cur && compareBytes(cur.key, key) === 0) this.entries[i] = e;
    else this.entries.splice(i, 0, e);
  }

  private applyDel(key: Uint8Array): void {
    const i = this.lowerBound(key);
    const cur = this.entries[i];
    if (cur && compareBytes(cur.key, key) === 0) this.entries.splice(i, 1);
  }

  async get(key: KeyLike, _opts?: ReadOptions): Promise<Uint8Array | undefined> {
    this.checkOpen();
    this.stats.gets++;
    const k = toBytes(key, 'key');
    const i = this.lowerBound(k);
    const cur = this.entries[i];
    return cur && compareBytes(cur.key, k) === 0 ? new Uint8Array(cur.value) : undefined;
  }

  async put(key: KeyLike, value: ValueLike, _opts?: WriteOptions): Promise<void> {
    this.checkOpen();
    this.stats.puts++;
    this.applyPut(toBytes(key, 'key'), toBytes(value, 'value'));
  }

  async del(key: KeyLike, _opts?: WriteOptions): Promise<void> {
    this.checkOpen();
    this.stats.dels++;
    this.applyDel(toBytes(key, 'key'));
  }

  async batch(ops: BatchOp[], _opts?: WriteOptions): Promise<void> {
    this.checkOpen();
    if (!Array.isArray(ops)) throw new TypeError('batch ops must be an array');
    // Validate and convert everything before touching the data: a bad op leaves the store unchanged.
    const conv = ops.map((op) => {
      if (op.type === 'put') return { put: true, key: toBytes(op.key, 'key'), value: toBytes(op.value, 'value') };
      if (op.type === 'del') return { put: false, key: toBytes(op.key, 'key'), value: undefined };
      throw new TypeError(`unknown batch op type: ${String((op as { type?: unknown }).type)}`);
    });
    this.stats.batches++;
    for (const op of conv) {
      if (op.put) this.applyPut(op.key, op.value!);
      else this.applyDel(op.key);
    }
  }

  scan(range: Range = {}, _opts?: ReadOptions): KvIterator {
    this.checkOpen();
    this.stats.scans++;
    let start = 0;
    let end = this.entries.length;
    if (range.gte !== undefined) start = Math.max(start, this.lowerBound(toBytes(range.gte, 'gte')));
    if (range.gt !== undefined) start = Math.max(start, this.lowerBound(toBytes(range.gt, 'gt'), true));
    if (range.lt !== undefined) end = Math.min(end, this.lowerBound(toBytes(range.lt, 'lt')));
    if (range.lte !== undefined) end = Math.min(end, this.lowerBound(toBytes(range.lte, 'lte'), true));
    let snap = start < end ? this.entries.slice(start, end) : [];
    if (range.reverse) snap.reverse();
    const limit = range.limit;
    if (limit !== undefined && limit >= 0) snap = snap.slice(0, limit);
    return new SnapshotIterator(snap);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

class SnapshotIterator implements KvIterator {
  private pos = 0;
  private done = false;

  constructor(private readonly snap: Entry[]) {}

  async next(): Promise<[Uint8Array, Uint8Array] | undefined> {
    if (this.done || this.pos >= this.snap.length) {
      this.done = true;
      return undefined;
    }
    const e = this.snap[this.pos++]!;
    return [new Uint8Array(e.key), new Uint8Array(e.value)];
  }

  async close(): Promise<void> {
    this.done = true;
  }

  [Symbol.asyncIterator](): AsyncIterator<[Uint8Array, Uint8Array]> {
    return {
      next: async () => {
        const e = await this.next();
        return e ? { value: e, done: false } : { value: undefined, done: true };
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }
}
