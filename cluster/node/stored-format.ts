// How a node lays cluster data out in its one engine (docs/format.md section 8.6). Every partition is
// one contiguous key range, [partition u16 BE][user key], so it can be scanned, snapshotted and
// streamed on its own; node metadata (each partition's LSN, the epoch) lives under the prefix 0xFFFF,
// which no partition id can take. Stored values carry a one-byte header so that HTTP's Content-Type
// and Content-Encoding travel with the value through replication without a second key.

import { Packr } from 'msgpackr';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { MAX_KEY_BYTES as ENGINE_MAX_KEY_BYTES } from '../../engine/db/options.js';

/** Largest user key: the engine takes keys up to 64 KiB and a stored key adds the 2-byte partition. */
export const MAX_KEY_BYTES = ENGINE_MAX_KEY_BYTES - 2;

export const META_PREFIX = 0xffff;
const META_LSN = 0x01;
const META_EPOCH = 0x02;

export function partitionPrefix(p: number): Uint8Array {
  return Uint8Array.of(p >>> 8, p & 0xff);
}

export function storedKey(p: number, userKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(userKey.length + 2);
  out[0] = p >>> 8;
  out[1] = p & 0xff;
  out.set(userKey, 2);
  return out;
}

/** The user key of a stored key (a view, no copy). */
export function userKeyOf(stored: Uint8Array): Uint8Array {
  return stored.subarray(2);
}

/** A key range over bytes: the bounds of KvStore's Range, already converted from strings. */
export interface EngineRange {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
}

/** Translates a user-key range within partition p into a stored-key range that never leaves p. */
export function partitionRange(p: number, r: EngineRange = {}): EngineRange {
  const out: EngineRange = {};
  if (r.gt !== undefined) out.gt = storedKey(p, r.gt);
  else if (r.gte !== undefined) out.gte = storedKey(p, r.gte);
  else out.gte = partitionPrefix(p);
  if (r.lt !== undefined) out.lt = storedKey(p, r.lt);
  else if (r.lte !== undefined) out.lte = storedKey(p, r.lte);
  else out.lt = partitionPrefix(p + 1); // p + 1 <= 0xFFFF: the metadata prefix, never inside a partition
  return out;
}

export function lsnKey(p: number): Uint8Array {
  return Uint8Array.of(0xff, 0xff, META_LSN, p >>> 8, p & 0xff);
}

export const EPOCH_KEY = Uint8Array.of(0xff, 0xff, META_EPOCH);

/** Marks a partition whose contents are being replaced by a full resync and cannot be trusted. */
export const LSN_RESYNCING = -1;

/** An LSN value: 8 bytes big-endian; the single byte 0x00 stands for LSN_RESYNCING. */
export function encodeLsn(lsn: number): Uint8Array {
  if (lsn === LSN_RESYNCING) return Uint8Array.of(0);
  // Two u32 halves instead of setBigUint64: a BigInt per write was ~0.5% of a node's CPU under writes.
  const out = new Uint8Array(8);
  const hi = Math.floor(lsn / 0x1_0000_0000);
  const lo = lsn >>> 0;
  out[0] = hi >>> 24;
  out[1] = (hi >>> 16) & 0xff;
  out[2] = (hi >>> 8) & 0xff;
  out[3] = hi & 0xff;
  out[4] = lo >>> 24;
  out[5] = (lo >>> 16) & 0xff;
  out[6] = (lo >>> 8) & 0xff;
  out[7] = lo & 0xff;
  return out;
}

export function decodeLsn(v: Uint8Array | undefined): number {
  if (v === undefined) return 0;
  if (v.length === 1 && v[0] === 0) return LSN_RESYNCING;
  if (v.length !== 8) throw new Eau2Error(ErrorCode.CORRUPTION, `bad stored LSN of ${v.length} bytes`);
  const hi = ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0;
  const lo = ((v[4]! << 24) | (v[5]! << 16) | (v[6]! << 8) | v[7]!) >>> 0;
  const lsn = hi * 0x1_0000_0000 + lo;
  if (!Number.isSafeInteger(lsn)) throw new Eau2Error(ErrorCode.CORRUPTION, `stored LSN ${hi}:${lo} is past 2^53`);
  return lsn;
}

export interface ValueMeta {
  contentType?: string;
  contentEncoding?: string;
}

const packr = new Packr({ useRecords: false });

const PLAIN = 0x00;
const WITH_META = 0x01;

/** Header byte 0x00 then the value, or 0x01, u16 BE length, msgpack {t?, e?}, then the value. */
export function wrapValue(value: Uint8Array, meta?: ValueMeta): Uint8Array {
  if (!meta || (meta.contentType === undefined && meta.contentEncoding === undefined)) {
    const out = new Uint8Array(value.length + 1);
    out[0] = PLAIN;
    out.set(value, 1);
    return out;
  }
  const m: { t?: string; e?: string } = {};
  if (meta.contentType !== undefined) m.t = meta.contentType;
  if (meta.contentEncoding !== undefined) m.e = meta.contentEncoding;
  const head = packr.pack(m);
  if (head.length > 0xffff) throw new Eau2Error(ErrorCode.INVALID, 'content type and encoding too long');
  const out = new Uint8Array(3 + head.length + value.length);
  out[0] = WITH_META;
  out[1] = head.length >>> 8;
  out[2] = head.length & 0xff;
  out.set(head, 3);
  out.set(value, 3 + head.length);
  return out;
}

export interface UnwrappedValue extends ValueMeta {
  value: Uint8Array;
}

export function unwrapValue(stored: Uint8Array): UnwrappedValue {
  if (stored.length >= 1 && stored[0] === PLAIN) return { value: stored.subarray(1) };
  if (stored.length >= 3 && stored[0] === WITH_META) {
    const n = (stored[1]! << 8) | stored[2]!;
    if (3 + n <= stored.length) {
      const m = packr.unpack(stored.subarray(3, 3 + n)) as { t?: unknown; e?: unknown };
      const out: UnwrappedValue = { value: stored.subarray(3 + n) };
      if (typeof m?.t === 'string') out.contentType = m.t;
      if (typeof m?.e === 'string') out.contentEncoding = m.e;
      return out;
    }
  }
  throw new Eau2Error(ErrorCode.CORRUPTION, 'stored value has a bad header');
}

/** True iff `stored` has a well-formed header (as unwrapValue would accept), without allocating for plain values. */
export function isWrappedValue(stored: Uint8Array): boolean {
  if (stored.length >= 1 && stored[0] === PLAIN) return true;
  try {
    unwrapValue(stored);
    return true;
  } catch {
    return false;
  }
}

/** Just the value bytes of a stored value (a view). */
export function storedValueOf(stored: Uint8Array): Uint8Array {
  return stored[0] === PLAIN ? stored.subarray(1) : unwrapValue(stored).value;
}
