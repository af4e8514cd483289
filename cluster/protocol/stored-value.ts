// The value envelope (docs/format.md section 8.6): what a PUT carries on the peer protocol and what
// a node stores and replicates as it is. A one-byte header lets HTTP's Content-Type and
// Content-Encoding travel with the value without a second key. This file is its one owner: the
// HTTP API and ClusterClient build envelopes here, the node checks them here, and nothing else
// knows the layout. Bit 0x02 of the header byte is the engine's expiry convention
// (engine/format/value-expiry.ts): an 8-byte expiry time follows the header byte, and the node's
// engine hides and drops the value once its clock reaches it.

import { Packr } from 'msgpackr';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { BinParts, LARGE_PART_BYTES } from './frame-parts.js';
import { EXPIRY_BYTES, EXPIRY_FLAG, expiryOf, putExpiry } from '../../engine/index.js';

export interface ValueMeta {
  contentType?: string;
  contentEncoding?: string;
}

const packr = new Packr({ useRecords: false });

const PLAIN = 0x00;
const WITH_META = 0x01;

/**
 * Header byte 0x00 then the value, or 0x01, u16 BE length, msgpack {t?, e?}, then the value; with
 * `expiresAt` (ms since the Unix epoch) the header byte has 0x02 set and the 8-byte expiry follows it.
 */
export function wrapValue(value: Uint8Array, meta?: ValueMeta, expiresAt?: number): Uint8Array {
  const x = expiresAt === undefined ? 0 : EXPIRY_BYTES;
  if (!meta || (meta.contentType === undefined && meta.contentEncoding === undefined)) {
    const out = new Uint8Array(value.length + 1 + x);
    out[0] = PLAIN;
    if (expiresAt !== undefined) {
      out[0] = PLAIN | EXPIRY_FLAG;
      putExpiry(out, 1, expiresAt);
    }
    out.set(value, 1 + x);
    return out;
  }
  const m: { t?: string; e?: string } = {};
  if (meta.contentType !== undefined) m.t = meta.contentType;
  if (meta.contentEncoding !== undefined) m.e = meta.contentEncoding;
  const head = packr.pack(m);
  if (head.length > 0xffff) throw new Eau2Error(ErrorCode.INVALID, 'content type and encoding too long');
  const out = new Uint8Array(3 + x + head.length + value.length);
  out[0] = WITH_META;
  if (expiresAt !== undefined) {
    out[0] = WITH_META | EXPIRY_FLAG;
    putExpiry(out, 1, expiresAt);
  }
  out[1 + x] = head.length >>> 8;
  out[2 + x] = head.length & 0xff;
  out.set(head, 3 + x);
  out.set(value, 3 + x + head.length);
  return out;
}

export interface UnwrappedValue extends ValueMeta {
  value: Uint8Array;
  /** Expiry time, ms since the Unix epoch (absent: the value never expires). */
  expiresAt?: number;
}

export function unwrapValue(stored: Uint8Array): UnwrappedValue {
  if (stored.length >= 1 && stored[0] === PLAIN) return { value: stored.subarray(1) };
  const h = stored[0];
  if (h !== undefined && h <= (WITH_META | EXPIRY_FLAG)) {
    const x = h & EXPIRY_FLAG ? EXPIRY_BYTES : 0;
    const expiresAt = x ? expiryOf(stored) : undefined;
    if (x === 0 || expiresAt !== undefined) {
      if ((h & WITH_META) === 0) {
        const out: UnwrappedValue = { value: stored.subarray(1 + x) };
        if (expiresAt !== undefined) out.expiresAt = expiresAt;
        return out;
      }
      if (stored.length >= 3 + x) {
        const n = (stored[1 + x]! << 8) | stored[2 + x]!;
        if (3 + x + n <= stored.length) {
          const m = packr.unpack(stored.subarray(3 + x, 3 + x + n)) as { t?: unknown; e?: unknown };
          const out: UnwrappedValue = { value: stored.subarray(3 + x + n) };
          if (typeof m?.t === 'string') out.contentType = m.t;
          if (typeof m?.e === 'string') out.contentEncoding = m.e;
          if (expiresAt !== undefined) out.expiresAt = expiresAt;
          return out;
        }
      }
    }
  }
  throw new Eau2Error(ErrorCode.CORRUPTION, 'stored value has a bad header');
}

/** The same value and metadata with another expiry (undefined: none). */
export function rewrapValue(stored: Uint8Array, expiresAt: number | undefined): Uint8Array {
  const u = unwrapValue(stored);
  return wrapValue(u.value, u, expiresAt);
}

/** The expiry of a stored value in ms since the Unix epoch, undefined when it never expires. */
export function storedExpiry(stored: Uint8Array): number | undefined {
  return stored[0] === PLAIN ? undefined : unwrapValue(stored).expiresAt;
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

/** The envelope of a plain value (no content type or encoding): this header byte, then the value. */
const PLAIN_HEADER = Uint8Array.of(PLAIN);

/**
 * A plain value's envelope for sending. A large value is not copied behind its header byte: the two
 * travel as one msgpack bin made of two buffers (frame-parts.ts), so the caller's value goes to the
 * socket as it is (and must not be modified until the write settles).
 */
export function wireValue(value: Uint8Array): Uint8Array | BinParts {
  return value.length >= LARGE_PART_BYTES ? new BinParts([PLAIN_HEADER, value]) : wrapValue(value);
}
