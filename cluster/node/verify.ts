// Replica verification, the replica's side (docs/api.md, GET /cluster/verify): a summary of this
// node's copy of one partition that another node compares with the other replicas' summaries, as
// Cassandra's repair compares Merkle trees. A key's token is murmur3 of the user key (not of its hash
// tag, so the keys of one tag spread over ranges); the request names a token range [lo, hi) and a
// fan-out n, and the answer gives, for each of the n equal sub-ranges, the number of keys and a hash
// of its (key, stored value) pairs in key order. The comparer descends only into sub-ranges whose
// hashes differ, and at the bottom asks for the keys themselves with a hash of each value (`list`).
//
// Everything is read from one engine snapshot together with the partition's LSN record, which
// commits atomically with the data it describes: two replicas reporting the same LSN describe the
// same prefix of the partition's log, so their summaries must be equal, whatever is being written.

import { createHash, type Hash } from 'node:crypto';
import { Eau2Error, ErrorCode, murmur3 } from '../../kv/index.js';
import type { EngineLike } from './engine-api.js';
import { noReplica, opening } from './router.js';
import { decodeLsn, lsnKey, LSN_RESYNCING, partitionRange, userKeyOf } from './stored-format.js';

/** Tokens are u32: the whole ring is [0, 2^32). */
export const TOKEN_SPACE = 0x1_0000_0000;
/** Bytes kept of each sub-range's SHA-256. */
const HASH_BYTES = 16;
/** Most entries a `list` answer carries; past it `more` is set and the list is cut. */
const MAX_LIST = 10_000;

export interface VerifyRequest {
  p: number;
  /** Token range [lo, hi), 0 <= lo < hi <= 2^32. */
  lo: number;
  hi: number;
  /** Sub-ranges to summarize (1..4096); ignored with `list`. */
  n: number;
  /** Answer with the range's keys and a hash of each value instead of sub-range summaries. */
  list?: boolean;
}

export interface VerifySummary {
  p: number;
  /** The partition's LSN in the snapshot read; -1 while this copy is being resynced (untrustworthy). */
  lsn: number;
  /** Keys in [lo, hi). */
  count: number;
  /** n * 16 bytes: sub-range i's hash at [16i, 16i+16). */
  hashes?: Uint8Array;
  counts?: number[];
  /** With `list`: [user key, 16-byte value hash] in key order. */
  entries?: [Uint8Array, Uint8Array][];
  more?: boolean;
}

export function tokenOf(userKey: Uint8Array): number {
  return murmur3(userKey);
}

/** Which of n equal sub-ranges of [lo, hi) token t falls in. */
function subRange(t: number, lo: number, hi: number, n: number): number {
  return Math.min(n - 1, Math.floor(((t - lo) * n) / (hi - lo)));
}

/** The bounds of sub-range i of n over [lo, hi). */
export function subRangeBounds(i: number, lo: number, hi: number, n: number): [number, number] {
  const at = (k: number): number => lo + Math.ceil(((hi - lo) * k) / n);
  return [at(i), at(i + 1)];
}

function checkVerifyRequest(r: VerifyRequest): void {
  const bad = (m: string): Eau2Error => new Eau2Error(ErrorCode.INVALID, `verify: ${m}`);
  if (!Number.isInteger(r.lo) || !Number.isInteger(r.hi) || r.lo < 0 || r.hi > TOKEN_SPACE || r.lo >= r.hi)
    throw bad('token range must satisfy 0 <= lo < hi <= 2^32');
  if (!Number.isInteger(r.n) || r.n < 1 || r.n > 4096) throw bad('n must be 1..4096');
}

function u32(n: number): Uint8Array {
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

/** Summarizes this node's copy of partition p over the request's token range. */
async function summarize(engine: EngineLike, r: VerifyRequest): Promise<VerifySummary> {
  checkVerifyRequest(r);
  const snap = engine.snapshot();
  try {
    const lsn = decodeLsn(await engine.get(lsnKey(r.p), { snapshot: snap }));
    const it = engine.iterator({ ...partitionRange(r.p), snapshot: snap });
    const hashes: (Hash | undefined)[] = r.list ? [] : new Array(r.n);
    const counts = r.list ? [] : new Array<number>(r.n).fill(0);
    const entries: [Uint8Array, Uint8Array][] = [];
    let count = 0;
    let more = false;
    try {
      for (let e = await it.next(); e !== undefined; e = await it.next()) {
        const key = userKeyOf(e[0]);
        const t = tokenOf(key);
        if (t < r.lo || t >= r.hi) continue;
        count++;
        if (r.list) {
          if (entries.length === MAX_LIST) more = true;
          else entries.push([key, createHash('sha256').update(e[1]).digest().subarray(0, HASH_BYTES)]);
          continue;
        }
        const i = subRange(t, r.lo, r.hi, r.n);
        counts[i]!++;
        const h = (hashes[i] ??= createHash('sha256'));
        h.update(u32(key.length)).update(key).update(u32(e[1].length)).update(e[1]);
      }
    } finally {
      await it.close();
    }
    if (r.list) return { p: r.p, lsn, count, entries, more };
    const out = new Uint8Array(r.n * HASH_BYTES);
    for (let i = 0; i < r.n; i++) {
      const h = hashes[i];
      if (h) out.set(h.digest().subarray(0, HASH_BYTES), i * HASH_BYTES);
    }
    return { p: r.p, lsn: lsn === LSN_RESYNCING ? -1 : lsn, count, hashes: out, counts };
  } finally {
    snap.release();
  }
}

/** The VERIFY request's answer (peer-handlers.ts): answered at any epoch, by a node holding p. */
export function verifyReplica(
  node: { selfId: string; engine: EngineLike; holds(p: number): boolean; opening(p: number): boolean },
  r: VerifyRequest,
): Promise<VerifySummary> {
  if (node.opening(r.p)) throw opening(r.p);
  if (!node.holds(r.p)) throw noReplica(r.p, node.selfId);
  return summarize(node.engine, r);
}
