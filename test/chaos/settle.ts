// "One fault at a time": before the scheduler injects the next fault it waits until the cluster has
// settled after the previous one, so that each fault is a single failure. A fault that hits a leader
// whose follower is still resyncing after the previous fault is two overlapping failures, which the
// in-sync rule rightly refuses to fail over (an out-of-sync follower may not be promoted); `--overlap`
// keeps that harsher schedule. Settled means, in the /cluster of every node (all of them live and
// answering): every node `up`; every partition's in-sync set full (replicationFactor members, capped
// at the node count) and every follower `in-sync` as its leader reports it; and every node's view of
// each partition (epoch, leader, in-sync set) the same. For Redis Cluster (redis-chaos.ts): every
// node says cluster_state:ok, every master serving slots has an online replica, every replica's link
// to its master is up and not syncing.

export interface ClusterView {
  replicationFactor: number;
  nodes: { id: string; status: string }[];
  partitions: {
    partition: number;
    epoch?: number;
    leader: string;
    isr?: string[];
    followers?: ({ id: string; state: string } | null)[] | null;
  }[];
}

/** Why `views` (one /cluster body per node) are not settled, or null if they are. */
export function unsettledReason(views: Map<string, ClusterView>, nodeIds: string[]): string | null {
  for (const id of nodeIds) if (!views.has(id)) return `${id} did not answer /cluster`;
  let first: Map<number, string> | undefined;
  for (const [from, v] of views) {
    for (const n of v.nodes) if (n.status !== 'up') return `${from} sees ${n.id} ${n.status}`;
    if (typeof v.replicationFactor !== 'number') return `${from}: /cluster gave no replicationFactor`;
    const full = Math.min(v.replicationFactor, v.nodes.length);
    const mine = new Map<number, string>();
    for (const p of v.partitions) {
      const isr = [...(p.isr ?? [])].sort();
      if (isr.length < full) return `${from}: partition ${p.partition} in-sync set [${isr.join(',')}]`;
      if (!p.followers) return `${from}: partition ${p.partition} leader ${p.leader} gave no follower state`;
      for (const f of p.followers)
        if (f?.state !== 'in-sync')
          return `${from}: partition ${p.partition} follower ${f?.id ?? '?'} ${f?.state ?? 'unknown'}`;
      mine.set(p.partition, `${p.epoch ?? '-'}/${p.leader}/${isr.join(',')}`);
    }
    if (!first) first = mine;
    else
      for (const [p, s] of mine)
        if (first.get(p) !== s) return `views differ on partition ${p}: ${first.get(p)} vs ${s} (${from})`;
  }
  return null;
}

/** The parts of Redis's INFO replication / CLUSTER INFO a settle check reads. */
export interface RedisNodeState {
  port: number;
  clusterInfo: string;
  replication: string;
  /** Whether this node is a master serving slots (from CLUSTER NODES). */
  servesSlots: boolean;
}

/** Why a Redis Cluster is not settled, or null if it is. */
export function redisUnsettledReason(states: RedisNodeState[]): string | null {
  for (const s of states) {
    if (!s.clusterInfo.includes('cluster_state:ok')) return `:${s.port} cluster_state not ok`;
    const field = (k: string): string | undefined =>
      s.replication
        .split(/\r?\n/)
        .find((l) => l.startsWith(`${k}:`))
        ?.slice(k.length + 1)
        .trim();
    const role = field('role');
    if (role === 'master') {
      if (!s.servesSlots) continue;
      const online = s.replication.split(/\r?\n/).filter((l) => /^slave\d+:.*state=online/.test(l)).length;
      if (online < 1) return `master :${s.port} has no online replica`;
    } else if (role === 'slave') {
      if (field('master_link_status') !== 'up') return `replica :${s.port} link to its master is down`;
      if (field('master_sync_in_progress') !== '0') return `replica :${s.port} is syncing`;
    } else return `:${s.port} did not answer INFO replication`;
  }
  return null;
}

/** Polls `reason` every 500 ms until it is null (settled) or `timeoutMs` passes. */
export async function waitSettled(
  reason: () => Promise<string | null>,
  timeoutMs: number,
): Promise<{ ms: number; settled: boolean; why: string | null; firstWhy: string | null }> {
  const t0 = Date.now();
  let firstWhy: string | null | undefined;
  for (;;) {
    const why = await reason();
    if (firstWhy === undefined) firstWhy = why;
    if (why === null) return { ms: Date.now() - t0, settled: true, why: null, firstWhy };
    if (Date.now() - t0 >= timeoutMs) return { ms: Date.now() - t0, settled: false, why, firstWhy };
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** One wait for the cluster to settle after a fault's heal. */
export interface SettleRecord {
  /** 1-based index of the fault after whose heal the wait began. */
  fault: number;
  /** ms from the end of the heal until settled (or until the wait gave up). */
  ms: number;
  settled: boolean;
  /** What was still unsettled when the wait gave up. */
  why: string | null;
  /** What was unsettled at the first look, right after the heal (null: settled already). */
  firstWhy: string | null;
}
