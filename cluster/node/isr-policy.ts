// Who is in a partition's in-sync set, Kafka's ISR as its leader judges it: a follower leaves when
// it has not been streaming (down, resyncing) or has left a write unacknowledged for longer than
// replicaLagMaxMs, and comes back once it has acknowledged everything the leader has. The leader
// applies a growth at once but a shrink only after a majority of the nodes persisted it
// (failover.ts): a w=all write acknowledged without a follower must be known to any majority that
// could elect, so that follower can never be elected over it.

export interface FollowerProgress {
  id: string;
  /** Streaming live from the leader's log (subscribed, not resyncing). */
  live: boolean;
  /** Since when (ms) it has not been live; undefined while live. */
  notLiveSince: number | undefined;
  acked: number;
  /** When (ms) the oldest entry it has not acknowledged was written; undefined if caught up. */
  oldestUnackedAt: number | undefined;
}

/** Followers of `isr` that are out of sync at `now`. */
export function laggingFollowers(
  isr: readonly string[],
  leader: string,
  followers: readonly FollowerProgress[],
  now: number,
  replicaLagMaxMs: number,
): string[] {
  const out: string[] = [];
  for (const id of isr) {
    if (id === leader) continue;
    const f = followers.find((x) => x.id === id);
    if (!f) {
      out.push(id);
      continue;
    }
    const stalled = !f.live && f.notLiveSince !== undefined && now - f.notLiveSince > replicaLagMaxMs;
    const behind = f.oldestUnackedAt !== undefined && now - f.oldestUnackedAt > replicaLagMaxMs;
    if (stalled || behind) out.push(id);
  }
  return out;
}

/**
 * Followers outside `isr` that have caught up: streaming, and acknowledged everything up to the
 * leader's last LSN, which is past the start of its epoch (so they hold the leader's own history,
 * not a diverged one).
 */
export function caughtUpFollowers(
  isr: readonly string[],
  followers: readonly FollowerProgress[],
  leaderLsn: number,
): string[] {
  return followers.filter((f) => !isr.includes(f.id) && f.live && f.acked >= leaderLsn).map((f) => f.id);
}
