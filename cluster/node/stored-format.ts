// How a node lays cluster data out in its one engine (docs/format.md section 8.6). Every partition is
// one contiguous key range, [partition u16 BE][user key], so it can be scanned, snapshotted and
// streamed on its own; node metadata (each partition's LSN, the failover state: partition-state.ts) lives under the prefix 0xFFFF,
// which no partition id can take. Stored values are the protocol's value envelope
// (cluster/protocol/stored-value.ts), kept as they arrive.

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { EngineRange } from '../scan-merge.js';
import { MAX_KEY_BYTES as ENGINE_MAX_KEY_BYTES } from '../../engine/index.js';

/** Largest user key: the engine takes keys up to 64 KiB and a stored key adds the 2-byte partition. */
export const MAX_KEY_BYTES = ENGINE_MAX_KEY_BYTES - 2;

const META_LSN = 0x01;

function partitionPrefix(p: number): Uint8Array {
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

/** Marks a partition whose contents are being replaced by a full resync and cannot be trusted. */
export const LSN_RESYNCING = -1;

/** An LSN value: 8 bytes big-endian; the single byte 0x00 stands for LSN_RESYNCING. */
export function encodeLsn(lsn: number): Uint8Array {
  if (lsn === LSN_RESYNCING) return Uint8Array.of(0);
  // Two u32 halves instead of setBigUint64: a BigInt per write costs ~0.5% of a node's CPU under writes.
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
