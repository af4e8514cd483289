// Per partition, the LSN at which each leader epoch began: Kafka's leader-epoch checkpoint. Two
// replicas whose logs hold the same LSN under the same epoch hold the same entry (one leader per
// epoch, docs/failover.md), so a follower's log diverges from its new leader's exactly
// after the end of the follower's last epoch as the leader's history records it. The leader answers
// that end (OffsetForLeaderEpoch) and a follower holding more than it must drop the excess.

/** [epoch, first LSN written under it]; epochs strictly increasing, start LSNs non-decreasing. */
export type EpochEntry = [epoch: number, startLsn: number];

/** Histories are trimmed to this many epochs; a follower older than the oldest kept resyncs in full. */
export const MAX_EPOCH_ENTRIES = 64;

export class EpochHistory {
  private list: EpochEntry[];

  constructor(entries: readonly EpochEntry[] = []) {
    this.list = entries.map(([e, s]) => [e, s]);
    for (let i = 1; i < this.list.length; i++) {
      const [pe, ps] = this.list[i - 1]!;
      const [e, s] = this.list[i]!;
      if (e <= pe || s < ps) throw new TypeError(`epoch history out of order at ${i}: [${pe},${ps}] then [${e},${s}]`);
    }
  }

  get entries(): readonly EpochEntry[] {
    return this.list;
  }

  get latest(): EpochEntry | undefined {
    return this.list[this.list.length - 1];
  }

  /**
   * Records that `epoch` starts at `startLsn` (the first LSN its leader writes). Entries that start
   * at or after `startLsn` are replaced: they described entries that are not in this log.
   * REQUIRES: epoch greater than every epoch recorded.
   */
  begin(epoch: number, startLsn: number): void {
    const last = this.latest;
    if (last && epoch <= last[0]) throw new TypeError(`epoch ${epoch} does not follow ${last[0]}`);
    while (this.list.length > 0 && this.list[this.list.length - 1]![1] > startLsn) this.list.pop();
    // An epoch that wrote nothing (its start equals the next one's) is kept: it is cheap and exact.
    this.list.push([epoch, startLsn]);
    if (this.list.length > MAX_EPOCH_ENTRIES) this.list.splice(0, this.list.length - MAX_EPOCH_ENTRIES);
  }

  /** The epoch under which LSN `lsn` was written, or 0 when before everything recorded (or lsn 0). */
  epochAt(lsn: number): number {
    for (let i = this.list.length - 1; i >= 0; i--) {
      const [e, s] = this.list[i]!;
      if (s <= lsn) return e;
    }
    return 0;
  }

  /**
   * OffsetForLeaderEpoch: the last LSN this log holds under epochs <= `epoch`, given that the log
   * ends at `endLsn`. undefined when `epoch` is older than everything recorded (the asker cannot
   * be matched and must resync in full).
   */
  endOffsetFor(epoch: number, endLsn: number): number | undefined {
    const first = this.list[0];
    if (!first || epoch < first[0]) return undefined;
    for (const [e, s] of this.list) if (e > epoch) return Math.min(endLsn, s - 1);
    return endLsn;
  }

  /** The largest recorded epoch <= `epoch`, or undefined. */
  floorEpoch(epoch: number): number | undefined {
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i]![0] <= epoch) return this.list[i]![0];
    return undefined;
  }
}

/**
 * How a follower whose log ends at `followerLsn` (its history `follower`) can follow a leader whose
 * log ends at `leaderLsn` (its history `leader`), as Kafka's follower decides after
 * OffsetForLeaderEpoch: take the epoch of the follower's last entry, the largest epoch the leader
 * knows at or below it, and the smaller of the two logs' ends for that epoch. A follower holding
 * nothing past that point streams on; one holding more has entries the leader never had and must
 * drop them first (here by a full resync: the engine cannot undo single entries).
 */
export function followerPlan(
  leader: EpochHistory,
  leaderLsn: number,
  follower: EpochHistory,
  followerLsn: number,
): 'stream' | 'truncate' {
  if (followerLsn <= 0) return followerLsn === 0 ? 'stream' : 'truncate';
  const fe = follower.epochAt(followerLsn);
  const le = leader.floorEpoch(fe);
  if (le === undefined) return 'truncate';
  const leaderEnd = leader.endOffsetFor(le, leaderLsn);
  if (leaderEnd === undefined) return 'truncate';
  const point = le === fe ? leaderEnd : Math.min(leaderEnd, follower.endOffsetFor(le, followerLsn) ?? -1);
  return followerLsn <= point ? 'stream' : 'truncate';
}
