// Routing shared by ClusterClient (client/cluster-client.ts) and a node's Router (node/router.ts):
// which node may answer a read, how keys are grouped by partition, how KvStore's range becomes a
// byte range, and how one page of a partition is asked for over the peer protocol. Both sides route
// by the same topology; keeping the decisions here keeps them from drifting apart.

import type { KvIterator, Range } from '../kv/index.js';
import { keyBytes, partitionOf } from '../kv/index.js';
import { MsgType, type ReadMode } from './protocol/messages.js';
import type { MergeRange, Page, PageRequest } from './scan-merge.js';
import type { Topology } from './topology.js';

/**
 * Chooses the node that serves a read of partition p in `mode`, round-robin over the replicas the
 * mode allows. A node counts as a candidate unless the topology says it is 'down': 'unknown' is a
 * node the answering node has not heard from yet (every node starts so, and a silent one turns 'down'
 * after a few seconds), and excluding it would send every read of a fresh cluster to the leaders.
 * A read that fails on a replica is retried on the leader, so a wrong guess costs one round trip.
 * With no candidate left the leader is chosen. 'local' reads like 'any' here: the caller answers it
 * from its own copy before asking anyone.
 */
export class ReplicaChooser {
  private rr = 0;

  choose(topo: Topology, p: number, mode: ReadMode): string {
    const pl = topo.placement[p]!;
    if (mode === 'leader') return pl.leader;
    const pool = replicaCandidates(topo, p, mode);
    return pool.length === 0 ? pl.leader : pool[this.rr++ % pool.length]!;
  }
}

/** The nodes that may serve a non-leader read of p in `mode`, without those known to be down. */
export function replicaCandidates(topo: Topology, p: number, mode: Exclude<ReadMode, 'leader'>): string[] {
  const pl = topo.placement[p]!;
  const down = new Set(topo.nodes.filter((n) => n.status === 'down').map((n) => n.id));
  return (mode === 'follower' ? pl.followers : [pl.leader, ...pl.followers]).filter((id) => !down.has(id));
}

/**
 * The read mode to send to `node`: 'leader' when it leads p (it answers as the leader, and refuses
 * with NOT_LEADER if the topology moved, so the sender refreshes), else the caller's mode.
 */
export function modeFor(topo: Topology, p: number, node: string, mode: ReadMode): ReadMode {
  return node === topo.placement[p]!.leader ? 'leader' : mode;
}

/** Items grouped by the partition of their key, in first-seen order. */
export function groupByPartition<T>(
  items: Iterable<T>,
  keyOf: (item: T) => Uint8Array,
  partitions: number,
): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const p = partitionOf(keyOf(item), partitions);
    let g = groups.get(p);
    if (!g) groups.set(p, (g = []));
    g.push(item);
  }
  return groups;
}

/** KvStore's Range (string or byte bounds) as the byte range a merged scan takes. */
export function byteRange(range: Range = {}): MergeRange {
  const out: MergeRange = {};
  for (const k of ['gt', 'gte', 'lt', 'lte'] as const) if (range[k] !== undefined) out[k] = keyBytes(range[k]!);
  if (range.reverse) out.reverse = true;
  if (range.limit !== undefined) out.limit = range.limit;
  return out;
}

/** Sends one request to a node (the caller's pool, timeout and retries). */
export type SendRequest = (node: string, type: number, body: unknown) => Promise<unknown>;

/** One page of partition p from `node` over the peer protocol (a SCAN request, docs/format.md 8.3). */
export async function fetchRemotePage(
  send: SendRequest,
  node: string,
  p: number,
  req: PageRequest,
  mode: ReadMode,
): Promise<Page> {
  const r = (await send(node, MsgType.SCAN, {
    p,
    gt: req.gt,
    gte: req.gte,
    lt: req.lt,
    lte: req.lte,
    rev: req.reverse,
    lim: req.limit,
    r: mode,
  })) as { e?: [Uint8Array, Uint8Array][]; more?: boolean } | null;
  return { entries: r?.e ?? [], more: r?.more === true };
}

/** The same iterator with its values mapped. */
export function mapIterator(it: KvIterator, f: (v: Uint8Array) => Uint8Array): KvIterator {
  const next = async (): Promise<[Uint8Array, Uint8Array] | undefined> => {
    const e = await it.next();
    return e === undefined ? undefined : [e[0], f(e[1])];
  };
  return {
    next,
    close: () => it.close(),
    async *[Symbol.asyncIterator]() {
      try {
        for (let e = await next(); e !== undefined; e = await next()) yield e;
      } finally {
        await it.close();
      }
    },
  };
}
