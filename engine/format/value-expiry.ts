// Expiring values (docs/format.md section 2.1): the engine's one convention about what is inside a
// value. With the `valueExpiry` option on, a value whose first byte has bit 0x02 set carries an
// absolute expiry time in bytes 1..8 (milliseconds since the Unix epoch, u64 big-endian); once the
// engine's clock reaches it, the value reads as if deleted (get, iterators) and compaction turns it
// into a tombstone, dropped at the bottom level like any other.
//
// Why a convention on the value and not a new entry kind: the layer above (the cluster's value
// envelope, cluster/protocol/stored-value.ts) already puts a header byte in front of every value, and
// values travel between nodes as they are (replication, resync, restore, repair). An expiry inside
// that header goes wherever the value goes, with no path able to drop it; the engine only has to
// honour it on its read paths and in compaction. It is a declarative layout, not a callback,
// because compaction merges on a worker thread that cannot call into the main thread.
// DO NOT CHANGE the flag or the layout: they are stored on disk.

/** Bit of a value's first byte that says an 8-byte expiry follows. */
export const EXPIRY_FLAG = 0x02;
/** Bytes of the expiry field, after the header byte. */
export const EXPIRY_BYTES = 8;

/** Which values follow the convention, and the clock that decides (options.ts: valueExpiry). */
export interface ValueExpiry {
  /**
   * Only keys sorting before this one hold expiring values (a cluster node keeps its own metadata,
   * whose values are not envelopes, at keys 0xFFFF...). Default: every key.
   */
  keysBelow?: Uint8Array;
  /** Milliseconds since the Unix epoch. Default Date.now. Tests pass a fake clock. */
  clock?: () => number;
}

/** What a compaction job needs to drop expired values: posted to its worker, so plain data. */
export interface ExpiryCheck {
  keysBelow?: Uint8Array;
  /** The time the job treats as now (sampled when the job is planned). */
  now: number;
}

/** The expiry time of `value` in ms, or undefined when it has none. */
export function expiryOf(value: Uint8Array): number | undefined {
  if (value.length < 1 + EXPIRY_BYTES || (value[0]! & EXPIRY_FLAG) === 0) return undefined;
  return readExpiry(value);
}

function readExpiry(value: Uint8Array): number {
  const hi = ((value[1]! << 24) | (value[2]! << 16) | (value[3]! << 8) | value[4]!) >>> 0;
  const lo = ((value[5]! << 24) | (value[6]! << 16) | (value[7]! << 8) | value[8]!) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

/** Writes `ms` as the 8-byte expiry field at `off` (u64 BE, as two u32: no BigInt per write). */
export function putExpiry(out: Uint8Array, off: number, ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new TypeError(`expiry must be a non-negative integer, got ${ms}`);
  const hi = Math.floor(ms / 0x1_0000_0000);
  const lo = ms >>> 0;
  out[off] = hi >>> 24;
  out[off + 1] = (hi >>> 16) & 0xff;
  out[off + 2] = (hi >>> 8) & 0xff;
  out[off + 3] = hi & 0xff;
  out[off + 4] = lo >>> 24;
  out[off + 5] = (lo >>> 16) & 0xff;
  out[off + 6] = (lo >>> 8) & 0xff;
  out[off + 7] = lo & 0xff;
}

function covers(keysBelow: Uint8Array | undefined, key: Uint8Array): boolean {
  if (keysBelow === undefined) return true;
  const n = Math.min(key.length, keysBelow.length);
  for (let i = 0; i < n; i++) if (key[i] !== keysBelow[i]) return key[i]! < keysBelow[i]!;
  return key.length < keysBelow.length;
}

/** True iff `value` (of `key`) has an expiry at or before `now`. Allocates nothing. */
export function isExpired(keysBelow: Uint8Array | undefined, now: number, key: Uint8Array, value: Uint8Array): boolean {
  if (value.length < 1 + EXPIRY_BYTES || (value[0]! & EXPIRY_FLAG) === 0) return false;
  return readExpiry(value) <= now && covers(keysBelow, key);
}
