// Replica verification, the comparer's side: asks every replica of each partition for a summary of its
// copy (verify.ts), and where the summaries differ, descends into the differing token ranges until it
// can name the keys, as Cassandra's repair walks two Merkle trees. Used by GET /cluster/verify.
//
// On a live cluster the replicas are compared at one LSN where possible: each summary comes from a
// snapshot that carries the partition's LSN, and summaries at different LSNs (writes in flight, a
// follower catching up) are asked for again, a few times, 250 ms apart. A partition whose replicas
// hold the same content is `identical` whatever their LSNs; one that differs at equal LSNs is a real
// divergence (`differ`); one that still differs at different LSNs after the last attempt is `behind`
// (lag and divergence cannot be told apart then; its ranges are reported all the same).

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { MsgType } from '../protocol/messages.js';
import type { PeerPool } from '../protocol/peer-pool.js';
import type { Topology } from '../topology.js';
import type { EngineLike } from './engine-api.js';
import { subRangeBounds, TOKEN_SPACE, verifyReplica, type VerifyRequest, type VerifySummary } from './verify.js';

export interface VerifyHost {
  readonly selfId: string;
  readonly engine: EngineLike;
  readonly pool: PeerPool;
  topology(): Topology;
  holds(p: number): boolean;
  opening(p: number): boolean;
}

export interface VerifyOptions {
  /** Only these partitions (default: all). */
  partitions?: number[];
  /** Sub-ranges per level of the hash tree (default 64). */
  fanout?: number;
  /** Summaries asked for per partition while the replicas' LSNs differ (default 5). */
  attempts?: number;
  /** A differing range with at most this many keys on every replica is listed key by key (default 1000). */
  leafKeys?: number;
}

type PartitionStatus = 'identical' | 'differ' | 'behind' | 'unreachable';

export interface KeyDiff {
  /** The key as UTF-8 (lossy for binary keys) and its exact bytes in hex. */
  key: string;
  hex: string;
  /** Per replica: the first 8 hex digits of the value's SHA-256, or null where the key is missing. */
  replicas: Record<string, string | null>;
}

export interface RangeDiff {
  /** Token range [lo, hi) (murmur3 of the user key). */
  lo: number;
  hi: number;
  /** Keys each replica holds in the range. */
  counts: Record<string, number>;
  /** The differing keys (at most KEYS_SHOWN) and how many there are. */
  keys: KeyDiff[];
  differingKeys: number;
}

export interface PartitionReport {
  partition: number;
  status: PartitionStatus;
  replicas: { id: string; lsn?: number; keys?: number; error?: string }[];
  ranges: RangeDiff[];
  /** More differing ranges than MAX_RANGES exist. */
  truncated?: boolean;
}

export interface VerifyReport {
  identical: boolean;
  fanout: number;
  partitions: PartitionReport[];
}

const KEYS_SHOWN = 20;
const MAX_RANGES = 32;
const CONCURRENCY = 4;
const REQUEST_TIMEOUT_MS = 30_000;

function checkSummary(v: unknown): VerifySummary {
  const o = v as VerifySummary;
  if (typeof o !== 'object' || o === null || typeof o.lsn !== 'number' || typeof o.count !== 'number')
    throw new Eau2Error(ErrorCode.PROTOCOL, 'malformed VERIFY reply');
  return o;
}

export async function verifyCluster(host: VerifyHost, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const t = host.topology();
  const fanout = opts.fanout ?? 64;
  const attempts = opts.attempts ?? 5;
  const leaf = opts.leafKeys ?? 1000;
  const parts = opts.partitions ?? t.placement.map((pl) => pl.partition);
  for (const p of parts)
    if (!Number.isInteger(p) || p < 0 || p >= t.partitions) throw new TypeError(`no partition ${p}`);
  const ask = async (id: string, r: VerifyRequest): Promise<VerifySummary> =>
    id === host.selfId
      ? verifyReplica(host, r)
      : checkSummary(await host.pool.request(id, MsgType.VERIFY, r, REQUEST_TIMEOUT_MS));
  const out: PartitionReport[] = new Array(parts.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, parts.length) }, async () => {
      while (next < parts.length) {
        const i = next++;
        out[i] = await verifyPartition(host.topology(), parts[i]!, { fanout, attempts, leaf }, ask);
      }
    }),
  );
  return { identical: out.every((r) => r.status === 'identical'), fanout, partitions: out };
}

type Ask = (id: string, r: VerifyRequest) => Promise<VerifySummary>;

async function verifyPartition(
  t: Topology,
  p: number,
  { fanout, attempts, leaf }: { fanout: number; attempts: number; leaf: number },
  ask: Ask,
): Promise<PartitionReport> {
  const pl = t.placement[p]!;
  const ids = [pl.leader, ...pl.followers];
  const top: VerifyRequest = { p, lo: 0, hi: TOKEN_SPACE, n: fanout };
  for (let attempt = 1; ; attempt++) {
    const got = await Promise.allSettled(ids.map((id) => ask(id, top)));
    const replicas = ids.map((id, i) => {
      const g = got[i]!;
      return g.status === 'fulfilled'
        ? { id, lsn: g.value.lsn, keys: g.value.count }
        : { id, error: (g.reason as Error)?.message ?? String(g.reason) };
    });
    const ok: [string, VerifySummary][] = [];
    got.forEach((g, i) => g.status === 'fulfilled' && ok.push([ids[i]!, g.value]));
    if (ok.length < ids.length) return { partition: p, status: 'unreachable', replicas, ranges: [] };
    const resyncing = ok.some(([, s]) => s.lsn < 0);
    const sameLsn = ok.every(([, s]) => s.lsn === ok[0]![1].lsn);
    const same = ok.every(([, s]) => s.count === ok[0]![1].count && equalBytes(s.hashes, ok[0]![1].hashes));
    if (same && !resyncing) return { partition: p, status: 'identical', replicas, ranges: [] };
    if ((!sameLsn || resyncing) && attempt < attempts) {
      await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    const ranges: RangeDiff[] = [];
    const truncated = await descend(ask, p, ok, top, { fanout, leaf }, ranges);
    return { partition: p, status: sameLsn && !resyncing ? 'differ' : 'behind', replicas, ranges, truncated };
  }
}

/** Collects the differing ranges under `req` from the replicas' summaries of it; true if cut short. */
async function descend(
  ask: Ask,
  p: number,
  sums: [string, VerifySummary][],
  req: VerifyRequest,
  tree: { fanout: number; leaf: number },
  ranges: RangeDiff[],
): Promise<boolean> {
  for (let i = 0; i < req.n; i++) {
    const differs = sums.some(
      ([, s]) => s.counts?.[i] !== sums[0]![1].counts?.[i] || !equalBytes(slot(s, i), slot(sums[0]![1], i)),
    );
    if (!differs) continue;
    if (ranges.length >= MAX_RANGES) return true;
    const [lo, hi] = subRangeBounds(i, req.lo, req.hi, req.n);
    const most = Math.max(...sums.map(([, s]) => s.counts?.[i] ?? 0));
    if (most <= tree.leaf || hi - lo <= tree.fanout) {
      const ids = sums.map(([id]) => id);
      const lists = await Promise.all(ids.map((id) => ask(id, { p, lo, hi, n: 1, list: true })));
      ranges.push(diffKeys(ids, lists, lo, hi));
      continue;
    }
    const sub: VerifyRequest = { p, lo, hi, n: tree.fanout };
    const subs = await Promise.all(sums.map(([id]) => ask(id, sub)));
    const next: [string, VerifySummary][] = sums.map(([id], k) => [id, subs[k]!]);
    if (await descend(ask, p, next, sub, tree, ranges)) return true;
  }
  return false;
}

function slot(s: VerifySummary, i: number): Uint8Array | undefined {
  return s.hashes?.subarray(i * 16, i * 16 + 16);
}

function diffKeys(ids: string[], lists: VerifySummary[], lo: number, hi: number): RangeDiff {
  const byKey = new Map<string, { key: Uint8Array; hashes: (string | null)[] }>();
  lists.forEach((l, r) => {
    for (const [k, h] of l.entries ?? []) {
      const hex = Buffer.from(k).toString('hex');
      let e = byKey.get(hex);
      if (!e) byKey.set(hex, (e = { key: k, hashes: ids.map(() => null) }));
      e.hashes[r] = Buffer.from(h).toString('hex').slice(0, 8);
    }
  });
  const keys: KeyDiff[] = [];
  let differing = 0;
  for (const [hex, e] of [...byKey].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (e.hashes.every((h) => h !== null && h === e.hashes[0])) continue;
    differing++;
    if (keys.length < KEYS_SHOWN)
      keys.push({
        key: Buffer.from(e.key).toString('utf8'),
        hex,
        replicas: Object.fromEntries(ids.map((id, r) => [id, e.hashes[r]!])),
      });
  }
  return {
    lo,
    hi,
    counts: Object.fromEntries(ids.map((id, r) => [id, lists[r]!.count])),
    keys,
    differingKeys: differing,
  };
}

function equalBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.compare(a, b) === 0;
}
