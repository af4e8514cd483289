// Automatic failover (docs/failover.md): Redis Cluster's majority-authorized epochs for
// who leads each partition, Kafka's ISR for who may be promoted. Every node heartbeats every other
// (PING, answered with the same gossip: its currentEpoch and its view of every partition), adopts
// any partition configuration newer than its own (higher epoch, then higher isrVersion), persists it
// and only then acts on it. An in-sync follower of a leader silent for failoverTimeoutMs asks every
// node for a vote after a rank-based delay; with a majority of all nodes it leads under the new
// epoch. A leader removes a lagging follower from the ISR only once a majority has persisted the
// change, adds a caught-up one at once, and refuses writes while it cannot reach a majority.

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { Logger } from '../log.js';
import { wireOnlyError } from '../protocol/wire-errors.js';
import { MsgType, validateGossip, type Bodies, type Gossip } from '../protocol/messages.js';
import type { PeerPool } from '../protocol/peer-pool.js';
import { castVote, electionDelayMs, rankOf, Tally, type VoteRequest } from './election.js';
import { FailureDetector, majority } from './failure-detector.js';
import { caughtUpFollowers, laggingFollowers } from './isr-policy.js';
import type { LeaderPartition } from './leader-partition.js';
import { compareConfig, type FailoverState, type PartitionConfig } from './partition-state.js';

export interface FailoverOptions {
  failoverTimeoutMs: number;
  replicaLagMaxMs: number;
  /** Randomness of the election delays (seeded in tests). */
  random?: () => number;
}

/** What failover needs from the node it runs in. */
export interface FailoverHost {
  readonly selfId: string;
  readonly nodeIds: readonly string[];
  readonly pool: PeerPool;
  readonly log: Logger;
  /** This node's LSN of p (-1 when it holds no usable copy). */
  localLsn(p: number): number;
  leaderOf(p: number): LeaderPartition | undefined;
  /** Stops following p (if it does) and resolves with the LSN its engine holds. */
  detachFollower(p: number): Promise<number>;
  /** Takes this node's role in p's configuration (already persisted). */
  applyRole(p: number): Promise<void>;
  /** Counters for /metrics. */
  onFailover?(p: number): void;
}

interface Election {
  tally: Tally;
}

export class Failover {
  readonly detector: FailureDetector;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /**
   * Heartbeat period: ten per timeout (at most 500 ms), so a live node misses several before being
   * suspected and two nodes' last answers from a failed one are at most about a period apart.
   */
  readonly heartbeatMs: number;
  /** How often leaders' silence is checked: Redis's clusterCron runs every 100 ms. */
  private readonly checkMs: number;
  private lastHeartbeat = Number.NEGATIVE_INFINITY;
  private readonly pinging = new Set<string>();
  /** LSNs other nodes reported for each partition (rank of candidates). */
  private readonly peerLsn = new Map<string, Map<number, number>>();
  private readonly scheduled = new Set<number>();
  private readonly elections = new Map<number, Election>();
  private readonly retryAt = new Map<number, number>();
  /** Partitions whose last election is being retried early (see elect). */
  private readonly quickRetry = new Set<number>();
  private readonly lastVoteAt = new Map<number, number>();
  private readonly shrinking = new Set<number>();
  /** Role changes of one partition run one after the other. */
  private readonly roleChain = new Map<number, Promise<void>>();
  /** Accumulated seconds each partition had no reachable leader, as seen from here. */
  readonly leaderlessSeconds = new Map<number, number>();
  private lastTick = performance.now();
  private readonly random: () => number;

  constructor(
    private readonly host: FailoverHost,
    readonly state: FailoverState,
    readonly opts: FailoverOptions,
  ) {
    this.detector = new FailureDetector(host.selfId, host.nodeIds, opts.failoverTimeoutMs);
    this.heartbeatMs = Math.max(20, Math.min(500, Math.floor(opts.failoverTimeoutMs / 10)));
    this.checkMs = Math.min(100, this.heartbeatMs);
    this.random = opts.random ?? Math.random;
  }

  start(): void {
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Resolves once a majority of nodes answered (or after `timeoutMs`): a node starts serving then. */
  async awaitMajority(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!this.detector.reachesMajority()) {
      if (performance.now() > deadline || this.stopped) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
    return true;
  }

  private tick(): void {
    if (this.stopped) return;
    const now = performance.now();
    if (now - this.lastHeartbeat >= this.heartbeatMs) {
      this.lastHeartbeat = now;
      this.heartbeat();
    }
    this.checkPartitions();
    this.timer = setTimeout(() => this.tick(), this.checkMs);
  }

  /** A heartbeat round now (a configuration changed, or a peer showed a newer epoch). */
  heartbeatSoon(): void {
    if (!this.stopped) this.heartbeat();
  }

  gossip(): Gossip {
    return {
      n: this.host.selfId,
      ce: this.state.node.currentEpoch,
      parts: this.state.parts.map((r, p) => [p, r.epoch, r.leader, r.isr, r.isrVersion, this.host.localLsn(p)]),
    };
  }

  private heartbeat(): void {
    const body = this.gossip();
    for (const id of this.host.nodeIds) {
      if (id === this.host.selfId || this.pinging.has(id)) continue;
      this.pinging.add(id);
      this.host.pool
        // A late answer still proves the node alive: it gets half a timeout (no second PING meanwhile).
        .request(id, MsgType.PING, body, Math.max(2 * this.heartbeatMs, this.opts.failoverTimeoutMs / 2))
        .then(
          (r) => {
            const g = validateGossip(r);
            if (g.n !== id) throw new Error(`${id} answered as ${g.n.slice(0, 64)}`);
            this.detector.heard(id);
            return this.onGossip(g);
          },
          () => {},
        )
        .catch((e: Error) => this.host.log.warn({ from: id, err: e.message }, 'bad heartbeat reply'))
        .finally(() => this.pinging.delete(id));
    }
  }

  /**
   * A PING from another node: take its view, answer with ours. It does not make the sender 'up':
   * only answers to this node's own PINGs do, so a node whose link works one way only (it can send
   * but not receive, or the reverse) is suspected by both ends, as a silent one would be.
   */
  async onPing(g: Gossip): Promise<Gossip> {
    await this.onGossip(g);
    return this.gossip();
  }

  /** Adopts every partition configuration in `g` newer than ours: persisted, then acted on. */
  async onGossip(g: Gossip): Promise<void> {
    if (!this.host.nodeIds.includes(g.n)) return;
    let lsns = this.peerLsn.get(g.n);
    if (!lsns) this.peerLsn.set(g.n, (lsns = new Map()));
    const changed: number[] = [];
    let epochRaised = false;
    if (g.ce > this.state.node.currentEpoch) {
      this.state.node.currentEpoch = g.ce;
      epochRaised = true;
    }
    for (const [p, epoch, leader, isr, isrVersion, lsn] of g.parts) {
      if (p >= this.state.parts.length) continue;
      lsns.set(p, lsn);
      const c: PartitionConfig = { epoch, leader, isr, isrVersion };
      if (!this.state.valid(p, c) || fencedByVote(this.state.parts[p]!, c)) continue;
      if (this.state.adopt(p, c)) changed.push(p);
    }
    if (changed.length === 0 && !epochRaised) return;
    await this.state.save(changed, true);
    for (const p of changed) {
      const r = this.state.parts[p]!;
      this.host.log.info(
        { p, epoch: r.epoch, leader: r.leader, isr: r.isr, from: g.n },
        'partition configuration adopted',
      );
      this.roleChange(p);
    }
  }

  /** Runs host.applyRole(p) after any role change of p still in progress. */
  private roleChange(p: number): Promise<void> {
    const prev = this.roleChain.get(p) ?? Promise.resolve();
    const next = prev
      .then(() => this.host.applyRole(p))
      .catch((e: Error) => this.host.log.error({ p, err: e.message }, 'role change failed'));
    this.roleChain.set(p, next);
    return next;
  }

  /** False while this node leads but cannot reach a majority (it must not take writes then). */
  fenced(): Eau2Error | undefined {
    if (this.detector.reachesMajority()) return undefined;
    return wireOnlyError(
      ErrorCode.STALE_EPOCH,
      `${this.host.selfId} cannot reach a majority of the nodes: writes refused`,
    );
  }

  private checkPartitions(): void {
    const now = performance.now();
    const dt = (now - this.lastTick) / 1000;
    this.lastTick = now;
    const self = this.host.selfId;
    for (let p = 0; p < this.state.parts.length; p++) {
      const r = this.state.parts[p]!;
      const leaderGone = r.leader === self ? !this.detector.reachesMajority() : this.detector.suspected(r.leader);
      if (leaderGone) this.leaderlessSeconds.set(p, (this.leaderlessSeconds.get(p) ?? 0) + dt);
      if (r.leader === self) {
        // Fenced (no majority): what waits for acknowledgements fails now, later writes are refused.
        if (leaderGone) this.host.leaderOf(p)?.failWaiting();
        this.checkIsr(p, now);
        continue;
      }
      if (!leaderGone || !r.isr.includes(self) || this.scheduled.has(p) || this.elections.has(p)) continue;
      if (now < (this.retryAt.get(p) ?? 0)) continue;
      const lsn = this.host.localLsn(p);
      if (lsn < 0) continue;
      const rank = rankOf(self, lsn, r.isr, r.leader, (id) => this.peerLsn.get(id)?.get(p));
      const delay = electionDelayMs(this.opts.failoverTimeoutMs, rank, this.random);
      this.scheduled.add(p);
      this.host.log.info({ p, leader: r.leader, rank, delayMs: delay }, 'leader suspected; election scheduled');
      setTimeout(() => {
        this.scheduled.delete(p);
        void this.elect(p, r.epoch).catch((e: Error) => this.host.log.warn({ p, err: e.message }, 'election failed'));
      }, delay);
    }
  }

  /** Asks every node for a vote to lead p; leads if a majority grants before the timeout. */
  private async elect(p: number, seenEpoch: number): Promise<void> {
    const self = this.host.selfId;
    const r = this.state.parts[p]!;
    if (this.stopped || r.epoch !== seenEpoch || r.leader === self || !r.isr.includes(self)) return;
    if (!this.detector.suspected(r.leader)) return;
    const lsn = this.host.localLsn(p);
    if (lsn < 0) return;
    this.retryAt.set(p, performance.now() + 2 * this.opts.failoverTimeoutMs);
    const epoch = this.state.node.currentEpoch + 1;
    const req: VoteRequest = { p, epoch, candidate: self, partEpoch: r.epoch, lsn };
    // Our own vote: raises and persists currentEpoch and lastVoteEpoch before anyone is asked.
    const mine = await castVote(this.state, req, this.voteContext(p));
    if (!mine.grant) {
      this.host.log.info({ p, epoch, why: mine.reason }, 'not standing for election');
      return;
    }
    this.lastVoteAt.set(p, performance.now());
    const tally = new Tally(epoch, majority(this.host.nodeIds.length));
    tally.grant(self);
    this.elections.set(p, { tally });
    this.host.log.info({ p, epoch, lsn }, 'standing for election');
    try {
      let transient = 0;
      let refused = 0;
      const won = await new Promise<boolean>((resolve) => {
        if (tally.won) return resolve(true);
        let pending = 0;
        const timer = setTimeout(() => resolve(false), this.opts.failoverTimeoutMs);
        for (const id of this.host.nodeIds) {
          if (id === self) continue;
          pending++;
          this.host.pool
            .request(id, MsgType.VOTE, { p, e: epoch, c: self, pe: r.epoch, lsn }, this.opts.failoverTimeoutMs)
            .then(
              (ans) => {
                const a = ans as { g?: boolean; why?: string };
                if (a?.g === true && tally.grant(id)) {
                  clearTimeout(timer);
                  resolve(true);
                } else if (a?.g !== true) {
                  refused++;
                  if (a?.why?.includes('is reachable')) transient++;
                  this.host.log.info({ p, epoch, voter: id, why: a?.why }, 'vote refused');
                }
              },
              () => {},
            )
            .finally(() => {
              // Lost as soon as the answers still awaited cannot make a majority any more.
              if (!tally.won && tally.votes + --pending < tally.needed) {
                clearTimeout(timer);
                resolve(false);
              }
            });
        }
      });
      if (!won) {
        // A voter that still heard from the leader gave no vote to anyone: its detector lags this
        // node's by up to a heartbeat, so asking again (in a new epoch) shortly cannot split votes.
        // Once only: a voter that keeps hearing from the leader sees what this node does not.
        const soon = refused > 0 && transient === refused && !this.quickRetry.has(p);
        if (soon) this.quickRetry.add(p);
        else this.quickRetry.delete(p);
        const wait = soon ? 2 * this.heartbeatMs : 2 * this.opts.failoverTimeoutMs;
        this.retryAt.set(p, performance.now() + wait);
        this.host.log.info({ p, epoch, votes: tally.votes, retryInMs: wait }, 'election lost');
        return;
      }
      this.quickRetry.delete(p);
      await this.win(p, epoch);
    } finally {
      this.elections.delete(p);
    }
  }

  private async win(p: number, epoch: number): Promise<void> {
    const r = this.state.parts[p]!;
    if (r.epoch >= epoch) return; // a newer configuration arrived meanwhile
    // Stop applying the old leader's stream first: the new epoch starts right after the last
    // entry this copy holds.
    const lsn = await this.host.detachFollower(p);
    if (r.epoch >= epoch || lsn < 0) {
      // Superseded, or this copy turned out incomplete (a resync began): follow again instead.
      if (lsn < 0) this.host.log.warn({ p, epoch }, 'won an election with an incomplete copy; not leading');
      await this.roleChange(p);
      return;
    }
    const from = { epoch: r.epoch, leader: r.leader };
    r.history.begin(epoch, lsn + 1);
    // Only this node is known to hold everything acknowledged: the others rejoin the ISR as they
    // catch up with it (a stale view of the old ISR could otherwise name one that had not).
    this.state.adopt(p, { epoch, leader: this.host.selfId, isr: [this.host.selfId], isrVersion: 0 });
    await this.state.save([p], true);
    this.host.log.warn(
      { p, epoch, from: from.leader, fromEpoch: from.epoch, lsn },
      'failover: now leading the partition',
    );
    this.host.onFailover?.(p);
    await this.roleChange(p);
    this.heartbeatSoon();
  }

  private voteContext(p: number) {
    return {
      suspects: (n: string) => this.detector.suspected(n),
      lastVoteAt: this.lastVoteAt.get(p),
      now: performance.now(),
      failoverTimeoutMs: this.opts.failoverTimeoutMs,
    };
  }

  /** A VOTE request from a candidate. */
  async onVote(b: Bodies[typeof MsgType.VOTE]): Promise<{ g: boolean; why: string; ce: number }> {
    if (b.p >= this.state.parts.length) throw new Eau2Error(ErrorCode.INVALID, `no partition ${b.p}`);
    const d = await castVote(
      this.state,
      { p: b.p, epoch: b.e, candidate: b.c, partEpoch: b.pe, lsn: b.lsn },
      this.voteContext(b.p),
    );
    if (d.grant) {
      this.lastVoteAt.set(b.p, performance.now());
      this.host.log.info({ p: b.p, epoch: b.e, candidate: b.c }, 'vote granted');
      return { g: true, why: '', ce: this.state.node.currentEpoch };
    }
    // A leader asked to be replaced learns there is a newer epoch: it checks who it still reaches.
    return { g: false, why: d.reason, ce: this.state.node.currentEpoch };
  }

  /**
   * An ISR change from p's leader: persisted (synced) before the answer. Refused when it is older
   * than what this node has, or when it removes the candidate this node voted for in a later epoch
   * (the shrink and that election must not both succeed: docs/operations.md).
   */
  async onIsrUpdate(b: Bodies[typeof MsgType.ISR_UPDATE]): Promise<null> {
    const r = this.state.parts[b.p];
    if (!r) throw new Eau2Error(ErrorCode.INVALID, `no partition ${b.p}`);
    const c: PartitionConfig = { epoch: b.e, leader: b.l, isr: b.isr, isrVersion: b.iv };
    if (!this.state.valid(b.p, c)) throw new Eau2Error(ErrorCode.INVALID, `bad ISR for partition ${b.p}`);
    if (fencedByVote(r, c)) throw stale(b.p, `voted for ${r.votedFor} in epoch ${r.votedEpoch}`);
    if (b.e < r.epoch || (b.e === r.epoch && b.l !== r.leader)) throw stale(b.p, `this node has epoch ${r.epoch}`);
    if (this.state.adopt(b.p, c)) {
      await this.state.save([b.p], true);
      this.roleChange(b.p);
    } else if (b.e === r.epoch && b.iv < r.isrVersion) throw stale(b.p, `this node has ISR version ${r.isrVersion}`);
    return null;
  }

  private checkIsr(p: number, now: number): void {
    const lp = this.host.leaderOf(p);
    const r = this.state.parts[p]!;
    if (!lp || lp.epoch !== r.epoch || this.shrinking.has(p)) return;
    const progress = lp.progress();
    // lp.isr is what w=all counts; the configuration may already lack a member whose removal a
    // majority has not persisted yet (a shrink that failed): it is retried until it succeeds.
    // A follower is dropped only if answers from a majority arrived since it fell behind: when
    // nothing comes back from anyone, this node's own inbound link is the likelier fault (one-way),
    // and a shrink the others persisted would leave that follower, the one to elect, unelectable.
    const lag = laggingFollowers(lp.isr, this.host.selfId, progress, now, this.opts.replicaLagMaxMs).filter((id) =>
      this.detector.heardMajoritySince(troubleSince(progress.find((f) => f.id === id))),
    );
    if (lag.length > 0) {
      void this.shrink(p, lag);
      return;
    }
    // Members that w=all still counts but the configuration lacks (a shrink the others persisted
    // but this node never saw a majority take, and the follower caught up since): they hold every
    // w=all-acknowledged write, so they go back into the configuration at once.
    const unconfirmed = lp.isr.filter((id) => id !== this.host.selfId && !r.isr.includes(id));
    if (unconfirmed.length > 0) {
      void this.grow(p, unconfirmed);
      return;
    }
    // Joining followers: counted by w=all from when they are live and close, members once they
    // hold everything acknowledged before that (LeaderPartition.startJoining).
    for (const f of progress) {
      if (r.isr.includes(f.id)) continue;
      const close =
        f.live && (f.oldestUnackedAt === undefined || now - f.oldestUnackedAt < this.opts.replicaLagMaxMs / 2);
      if (!lp.joining.has(f.id)) {
        if (close) lp.startJoining(f.id);
      } else if (!f.live || (f.oldestUnackedAt !== undefined && now - f.oldestUnackedAt > this.opts.replicaLagMaxMs)) {
        lp.stopJoining(f.id);
      }
    }
    const ready = caughtUpFollowers(
      lp.isr,
      progress.filter((f) => lp.joining.has(f.id)),
      0,
    ).filter(
      (id) => (progress.find((f) => f.id === id)?.acked ?? 0) >= (lp.joining.get(id) ?? Number.POSITIVE_INFINITY),
    );
    if (ready.length > 0) void this.grow(p, ready);
  }

  /** Adds caught-up followers to the ISR: applied at once, announced by gossip. */
  private async grow(p: number, ids: string[]): Promise<void> {
    const r = this.state.parts[p]!;
    const lp = this.host.leaderOf(p);
    if (!lp || lp.epoch !== r.epoch) return;
    const isr = [...lp.isr, ...ids.filter((id) => !lp.isr.includes(id))];
    const c: PartitionConfig = { epoch: r.epoch, leader: r.leader, isr, isrVersion: r.isrVersion + 1 };
    this.state.adopt(p, c);
    await this.state.save([p], true);
    this.host.leaderOf(p)?.setIsr(c.isr);
    void this.roleChange(p); // refreshes the routing table's entry
    this.host.log.info({ p, epoch: r.epoch, isr: c.isr }, 'follower back in sync');
    this.heartbeatSoon();
  }

  /** Removes lagging followers: a majority must persist it before the leader acts on it. */
  private async shrink(p: number, lag: string[]): Promise<void> {
    const r = this.state.parts[p]!;
    const lp0 = this.host.leaderOf(p);
    if (!lp0) return;
    this.shrinking.add(p);
    try {
      const isr = lp0.isr.filter((id) => !lag.includes(id));
      const same = isr.length === r.isr.length && isr.every((id) => r.isr.includes(id));
      const c: PartitionConfig = { epoch: r.epoch, leader: r.leader, isr, isrVersion: r.isrVersion + (same ? 0 : 1) };
      const body = { p, e: c.epoch, l: c.leader, isr: c.isr, iv: c.isrVersion };
      const acks = new Tally(c.epoch, majority(this.host.nodeIds.length));
      // Our own copy, persisted like the others'.
      await this.onIsrUpdate(body).catch(() => {});
      if (compareConfig(this.state.config(p), c) !== 0) return; // superseded meanwhile
      acks.grant(this.host.selfId);
      // Done as soon as a majority has persisted it: the answer of a node that cannot send (the
      // follower being removed, often) would otherwise hold every w=all write for a timeout more.
      await new Promise<void>((resolve) => {
        const others = this.host.nodeIds.filter((id) => id !== this.host.selfId);
        let pending = others.length;
        const settled = (): void => {
          if (acks.won || --pending === 0) resolve();
        };
        if (acks.won || pending === 0) resolve();
        for (const id of others)
          this.host.pool.request(id, MsgType.ISR_UPDATE, body, this.opts.failoverTimeoutMs).then(
            () => {
              acks.grant(id);
              settled();
            },
            (e: Error) => {
              this.host.log.debug({ p, node: id, err: e.message }, 'ISR update not taken');
              settled();
            },
          );
      });
      const lp = this.host.leaderOf(p);
      if (acks.won && lp && lp.epoch === c.epoch && compareConfig(this.state.config(p), c) === 0) {
        lp.setIsr(c.isr);
        this.host.log.warn({ p, epoch: c.epoch, removed: lag, isr: c.isr }, 'followers out of sync: ISR shrunk');
      } else if (!acks.won) {
        this.host.log.warn(
          { p, removed: lag, acks: acks.votes },
          'ISR shrink not persisted by a majority; w=all writes wait',
        );
      }
    } finally {
      this.shrinking.delete(p);
    }
  }
}

/**
 * True when taking `c` would drop from the ISR the candidate this node voted for in a later epoch:
 * that election and this shrink must not both succeed, and a majority for each overlaps here.
 */
function fencedByVote(r: { votedEpoch: number; votedFor: string }, c: PartitionConfig): boolean {
  return r.votedEpoch > c.epoch && r.votedFor !== '' && !c.isr.includes(r.votedFor);
}

/** When a follower's trouble began: it stopped streaming, or left its oldest write unacknowledged. */
function troubleSince(
  f: { notLiveSince: number | undefined; oldestUnackedAt: number | undefined } | undefined,
): number {
  const t = Math.min(f?.notLiveSince ?? Number.POSITIVE_INFINITY, f?.oldestUnackedAt ?? Number.POSITIVE_INFINITY);
  return t === Number.POSITIVE_INFINITY ? Number.NEGATIVE_INFINITY : t;
}

function stale(p: number, why: string): Eau2Error {
  return wireOnlyError(ErrorCode.STALE_EPOCH, `partition ${p}: ${why}`, { partition: p });
}
