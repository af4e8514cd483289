// Electing a new leader for a partition whose leader failed, as Redis Cluster promotes a replica
// (docs/failover.md): a voter's rules for granting its one vote per (partition, epoch), a candidate's
// delay before asking (ranked so the in-sync follower with the highest LSN goes first) and its count
// of the answers. The node (failover.ts) persists the epochs these decisions rely on before it sends
// or answers anything.

import type { FailoverState, PartitionConfig } from './partition-state.js';

export interface VoteRequest {
  p: number;
  /** The epoch the candidate wants to lead in: its currentEpoch after incrementing it. */
  epoch: number;
  candidate: string;
  /** The partition's configuration epoch as the candidate knows it. */
  partEpoch: number;
  lsn: number;
}

export interface VoterView {
  /** The highest epoch in which the voter voted for this partition (0: never). */
  votedEpoch: number;
  /** The voter's configuration of the partition. */
  config: PartitionConfig;
  /** The voter does not hear from that node (failure detector). */
  suspects(node: string): boolean;
  /** When the voter last voted for this partition (ms, same clock as `now`), or undefined. */
  lastVoteAt: number | undefined;
  now: number;
  failoverTimeoutMs: number;
}

export type VoteDecision = { grant: true } | { grant: false; reason: string };

/**
 * Redis Cluster's clusterSendFailoverAuthIfNeeded, with the ISR in place of the replica's master
 * check, and its one-vote-per-epoch rule kept per partition: at most one vote per (partition,
 * epoch), only for an epoch above the partition's epoch and the voter's last vote for it, only for
 * an in-sync replica (as the voter knows the ISR) whose view of the partition is not older than the
 * voter's, only when the leader is failed as far as the voter can tell, and not twice for one
 * partition within two timeouts (so competing candidates do not split the votes forever).
 *
 * Redis scopes lastVoteEpoch to the whole node because its configEpochs are compared across masters
 * (slots move between them). eau2 compares a configuration only with configurations of the same
 * partition (its replicas are fixed by the placement), so uniqueness per partition is the property
 * needed: each partition runs Redis's failover on its own, and the failovers of the partitions one
 * dead node led do not take each other's votes (a node-wide rule makes candidates on two nodes that
 * start together refuse each other, and both wait for the retry).
 */
export function decideVote(req: VoteRequest, v: VoterView): VoteDecision {
  if (req.epoch <= v.config.epoch)
    return { grant: false, reason: `epoch ${req.epoch} is not above the partition's epoch ${v.config.epoch}` };
  if (req.epoch <= v.votedEpoch)
    return { grant: false, reason: `already voted for this partition in epoch ${v.votedEpoch}` };
  if (req.partEpoch < v.config.epoch)
    return { grant: false, reason: `candidate knows partition epoch ${req.partEpoch}, this node ${v.config.epoch}` };
  if (!v.config.isr.includes(req.candidate))
    return { grant: false, reason: `${req.candidate} is not in the in-sync set [${v.config.isr.join(',')}]` };
  if (v.config.leader === req.candidate) return { grant: false, reason: `${req.candidate} already leads` };
  if (!v.suspects(v.config.leader)) return { grant: false, reason: `leader ${v.config.leader} is reachable` };
  if (v.lastVoteAt !== undefined && v.now - v.lastVoteAt < 2 * v.failoverTimeoutMs)
    return { grant: false, reason: 'voted for this partition less than two timeouts ago' };
  return { grant: true };
}

/**
 * A candidate's rank: how many other in-sync followers (not the failed leader) are ahead of it by
 * LSN, ties broken by node id, so exactly one follower has rank 0. Unknown LSNs count as 0.
 */
export function rankOf(
  self: string,
  selfLsn: number,
  isr: readonly string[],
  leader: string,
  lsnOf: (id: string) => number | undefined,
): number {
  let rank = 0;
  for (const id of isr) {
    if (id === self || id === leader) continue;
    const l = lsnOf(id) ?? 0;
    if (l > selfLsn || (l === selfLsn && id < self)) rank++;
  }
  return rank;
}

/**
 * Milliseconds to wait before asking for votes: Redis's 500 ms + random(0..500) + rank * 1000 at a
 * 5 s timeout, kept proportional to it (a tenth, a tenth, a fifth) so short test timeouts scale.
 */
export function electionDelayMs(failoverTimeoutMs: number, rank: number, random: () => number): number {
  const unit = failoverTimeoutMs / 10;
  return Math.round(unit + random() * unit + rank * 2 * unit);
}

/** Counts votes for one election; `won` once a majority of all configured nodes granted. */
export class Tally {
  private readonly granted = new Set<string>();

  constructor(
    readonly epoch: number,
    readonly needed: number,
  ) {}

  grant(voter: string): boolean {
    this.granted.add(voter);
    return this.won;
  }

  get won(): boolean {
    return this.granted.size >= this.needed;
  }

  get votes(): number {
    return this.granted.size;
  }
}

/** What castVote needs besides the persisted state. */
export interface VoteContext {
  suspects(node: string): boolean;
  lastVoteAt: number | undefined;
  now: number;
  failoverTimeoutMs: number;
}

/**
 * Decides a vote request and, when granting, records the vote (the partition's votedEpoch/votedFor;
 * the node's lastVoteEpoch and currentEpoch rise to it) and persists it with a synced batch before resolving, so the
 * grant can only be sent once it survives a crash. The record is updated before the first await:
 * a second request for the same epoch arriving meanwhile is refused.
 */
export async function castVote(state: FailoverState, req: VoteRequest, ctx: VoteContext): Promise<VoteDecision> {
  const r = state.parts[req.p];
  if (!r) return { grant: false, reason: `no partition ${req.p}` };
  const d = decideVote(req, { votedEpoch: r.votedEpoch, config: state.config(req.p), ...ctx });
  if (!d.grant) return d;
  if (req.epoch > state.node.lastVoteEpoch) state.node.lastVoteEpoch = req.epoch;
  if (req.epoch > state.node.currentEpoch) state.node.currentEpoch = req.epoch;
  r.votedEpoch = req.epoch;
  r.votedFor = req.candidate;
  await state.save([req.p], true);
  return d;
}
