// The framing around every value the dataframe layer stores (docs/format.md section 7.1):
// a 2-byte magic, a kind, a format version and a CRC-32 of the msgpack body that follows.
// The checksum means a flipped bit anywhere in a chunk becomes a CORRUPTION error, never a wrong
// number in a query result; the kind means a metadata record can never be read as a chunk.

import zlib from 'node:zlib';
import { Packr } from 'msgpackr';
import { Eau2Error, ErrorCode } from '../kv/index.js';

/**
 * CRC-32 (IEEE 802.3, as zlib computes it). Not the engine's CRC-32C: Node has CRC-32 built in
 * (zlib.crc32, Node >= 20.15), measured at ~4 GB/s here against ~0.5 GB/s for the JavaScript CRC-32C,
 * and every query reads every byte of the chunks it touches. The table fallback is for older Nodes.
 */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
const CRC_TABLE = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});
/** Byte-at-a-time CRC-32, used only where zlib.crc32 is missing. */
export function crc32Portable(b: Uint8Array): number {
  let c = -1;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export function crc32(b: Uint8Array): number {
  return nativeCrc32 ? nativeCrc32(b) >>> 0 : crc32Portable(b);
}

// Stored on disk and sent between nodes: DO NOT CHANGE THESE VALUES.
export const MAGIC0 = 0xe2;
export const MAGIC1 = 0xdf;
export const FORMAT_VERSION = 1;
/** Metadata that places row-chunks at chosen key slots (format.md 7.3); version 1 readers must refuse it. */
export const META_SLOTS_VERSION = 2;
/**
 * Metadata of a frame with a column of a type added in version 2 of the chunk format (L, T, d), with
 * or without slots; earlier readers must refuse it. Also the chunk version of those types.
 */
export const META_TYPES_VERSION = 3;
export const CHUNK_TYPES_VERSION = 2;
/**
 * A numeric chunk stored encoded (frame of reference, decimal doubles: format.md 7.2 "Encoded
 * numbers"), of any numeric type; earlier readers must refuse it rather than read its narrow `v`.
 */
export const CHUNK_ENCODED_VERSION = 3;
export const Kind = {
  CHUNK: 1,
  META: 2,
} as const;
export type Kind = (typeof Kind)[keyof typeof Kind];
export const HEADER_BYTES = 8;

// Typed arrays are stored as their raw bytes; refuse to run where those bytes would be big-endian,
// rather than write frames that other hosts would misread.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('eau2 dataframes require a little-endian host');
}

/**
 * Plain maps (no msgpackr records/structures), so every reader, including other languages, can decode
 * a body without shared state. Typed arrays are never given to this packer directly: without
 * `moreTypes` msgpackr turns a Float64Array into garbage (DESIGN.md), so callers pass Uint8Array views.
 */
export const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

export function seal(kind: Kind, body: unknown, version: number = FORMAT_VERSION): Uint8Array {
  const packed = packr.pack(body);
  const out = new Uint8Array(HEADER_BYTES + packed.length);
  out[0] = MAGIC0;
  out[1] = MAGIC1;
  out[2] = kind;
  out[3] = version;
  out.set(packed, HEADER_BYTES);
  const crc = crc32(out.subarray(HEADER_BYTES));
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(4, crc, true);
  return out;
}

/** A CORRUPTION error about the value stored under `key`. */
export function badValue(key: string, what: string, cause?: unknown): Eau2Error {
  return new Eau2Error(ErrorCode.CORRUPTION, `corrupt dataframe value at key ${key}: ${what}`, {
    cause,
    details: { key },
  });
}

/**
 * Checks framing and checksum, then decodes the body. Every failure is CORRUPTION naming `key`. Any of
 * `versions` is accepted and returned.
 */
export function openVersioned(
  kind: Kind,
  value: Uint8Array,
  key: string,
  versions: readonly number[],
): { body: unknown; version: number } {
  if (value.length < HEADER_BYTES) throw badValue(key, `value of ${value.length} bytes is shorter than the header`);
  if (value[0] !== MAGIC0 || value[1] !== MAGIC1) throw badValue(key, 'bad magic number');
  if (value[2] !== kind) throw badValue(key, `expected kind ${kind}, found ${value[2]}`);
  const version = value[3]!;
  if (!versions.includes(version)) throw badValue(key, `unsupported format version ${version}`);
  const stored = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(4, true);
  if (crc32(value.subarray(HEADER_BYTES)) !== stored) throw badValue(key, 'checksum mismatch');
  try {
    return { body: packr.unpack(value.subarray(HEADER_BYTES)), version };
  } catch (e) {
    throw badValue(key, 'undecodable body', e);
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}
