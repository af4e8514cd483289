// Internal keys (docs/format.md §2): a user key plus an 8-byte trailer, little-endian
// (sequence << 8) | kind. For the same user key, newer sequences sort first, so the first entry at
// or after (key, snapshotSeq) is the version a reader at that snapshot sees.
// DO NOT CHANGE THESE VALUES: they are stored on disk.

import { compareBytes } from '../../kv/index.js';

export const Kind = {
  DELETE: 0,
  VALUE: 1,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** Largest sequence number: 2^53 - 1 keeps every sequence an exact JS number (format allows 2^56). */
export const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

/** Writes the 8-byte trailer at `off`. Byte 0 is the kind, bytes 1..7 the sequence (56 bits LE). */
function putTrailer(buf: Uint8Array, off: number, seq: number, kind: number): void {
  buf[off] = kind;
  let s = seq;
  for (let i = 1; i < 8; i++) {
    buf[off + i] = s % 256;
    s = Math.floor(s / 256);
  }
}

function trailerSeq(buf: Uint8Array, off: number): number {
  let s = 0;
  for (let i = 7; i >= 1; i--) s = s * 256 + buf[off + i]!;
  return s;
}

function trailerKind(buf: Uint8Array, off: number): number {
  return buf[off]!;
}

/** Internal order: user key ascending, then sequence descending, then kind descending. */
export function compareInternal(
  aKey: Uint8Array,
  aSeq: number,
  aKind: number,
  bKey: Uint8Array,
  bSeq: number,
  bKind: number,
): number {
  const c = compareBytes(aKey, bKey);
  if (c !== 0) return c;
  if (aSeq !== bSeq) return aSeq > bSeq ? -1 : 1;
  return bKind - aKind;
}

/** Encodes user key + trailer as one byte string (what SSTable index and manifest store). */
export function encodeInternalKey(userKey: Uint8Array, seq: number, kind: number): Uint8Array {
  const out = new Uint8Array(userKey.length + 8);
  out.set(userKey, 0);
  putTrailer(out, userKey.length, seq, kind);
  return out;
}

export function decodeInternalKey(ikey: Uint8Array): { userKey: Uint8Array; seq: number; kind: number } {
  const n = ikey.length - 8;
  return { userKey: ikey.subarray(0, n), seq: trailerSeq(ikey, n), kind: trailerKind(ikey, n) };
}

/** Compares two encoded internal keys. */
export function compareEncodedInternal(a: Uint8Array, b: Uint8Array): number {
  const c = compareBytes(a, b, 0, a.length - 8, 0, b.length - 8);
  if (c !== 0) return c;
  const sa = trailerSeq(a, a.length - 8);
  const sb = trailerSeq(b, b.length - 8);
  if (sa !== sb) return sa > sb ? -1 : 1;
  return b[b.length - 8]! - a[a.length - 8]!;
}
