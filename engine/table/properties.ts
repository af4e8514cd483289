// The properties block of a table (docs/format.md §5.6): what the engine needs to know about a table
// without reading its data: entry count, key and sequence range, tombstones, sizes. The manifest and
// compaction picking read these; stats report them. Encoder and decoder side by side.
//
// Contents: varint fields in this order, then the two keys as `bytes` (varint length + bytes):
//   version, entries, dataSize, dataBlocks, tombstones, smallestSeq, largestSeq, userKeyBytes,
//   valueBytes, distinctKeys, filterBitsPerKey, smallestKey, largestKey
// Keys are encoded internal keys (§2: user key + 8-byte trailer). Bytes after the last field are
// ignored, so a later version may append fields.

import { ByteWriter } from '../util/coding.js';
import { decodeInternalKey } from '../format/internal-key.js';

export interface TableProperties {
  /** Table format version the file was written with. */
  formatVersion: number;
  /** Number of entries (values and tombstones, every version). */
  entries: number;
  /** Bytes of all data blocks, trailers included: the offset where the filter block starts. */
  dataSize: number;
  dataBlocks: number;
  /** Entries of kind DELETE. */
  tombstones: number;
  smallestSeq: number;
  largestSeq: number;
  /** Sum of the user-key lengths of all entries, and of the value lengths (uncompressed sizes). */
  userKeyBytes: number;
  valueBytes: number;
  /** Number of distinct user keys (what the bloom filter holds). */
  distinctKeys: number;
  /** Bits per key the filter was built with (0: no filter). */
  filterBitsPerKey: number;
  /** First and last entries, as encoded internal keys (docs/format.md §2). */
  smallestKey: Uint8Array;
  largestKey: Uint8Array;
  /** Views of the user-key part of smallestKey / largestKey. */
  smallestUserKey: Uint8Array;
  largestUserKey: Uint8Array;
}

const VARINT_FIELDS = [
  'formatVersion',
  'entries',
  'dataSize',
  'dataBlocks',
  'tombstones',
  'smallestSeq',
  'largestSeq',
  'userKeyBytes',
  'valueBytes',
  'distinctKeys',
  'filterBitsPerKey',
] as const;

type VarintField = (typeof VARINT_FIELDS)[number];

export function encodeProperties(p: TableProperties): Uint8Array {
  const w = new ByteWriter(128 + p.smallestKey.length + p.largestKey.length);
  for (const f of VARINT_FIELDS) w.varint(p[f]);
  w.lengthPrefixed(p.smallestKey);
  w.lengthPrefixed(p.largestKey);
  return w.finish();
}

/** Decodes properties block contents; returns a reason string if malformed. */
export function decodeProperties(buf: Uint8Array): TableProperties | string {
  let at = 0;
  const varint = (): number => {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8 && at < buf.length; i++) {
      const b = buf[at++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    return -1;
  };
  const out: Partial<Record<VarintField, number>> = {};
  for (const f of VARINT_FIELDS) {
    const v = varint();
    if (v < 0) return `field ${f} runs past the end`;
    out[f] = v;
  }
  const keys: Uint8Array[] = [];
  for (const name of ['smallest', 'largest']) {
    const n = varint();
    if (n < 0 || n > buf.length - at) return `${name} key runs past the end`;
    if (n < 8) return `${name} key of ${n} bytes is not an internal key`;
    // Copies: properties outlive the block they were read from.
    keys.push(buf.slice(at, at + n));
    at += n;
  }
  const [smallestKey, largestKey] = keys as [Uint8Array, Uint8Array];
  const p = out as Record<VarintField, number>;
  if (p.entries < 1) return `entry count ${p.entries}`;
  if (p.tombstones > p.entries || p.smallestSeq > p.largestSeq) return 'inconsistent counts or sequence range';
  return {
    ...p,
    smallestKey,
    largestKey,
    smallestUserKey: decodeInternalKey(smallestKey).userKey,
    largestUserKey: decodeInternalKey(largestKey).userKey,
  };
}
