// A partition this node leads: it numbers writes (LSN), streams them strictly in LSN order into a
// bounded backlog and to the subscribed followers while applying each with its LSN record in one
// atomic engine batch (shared with the other writes of the same event-loop turn: partition-writer.ts),
// tracks the followers' acknowledgements, and holds w>1 writes until enough of them have
// acknowledged: w=N waits for N-1 followers, w=all for every follower of the in-sync set (ISR) and
// of the joining set (followers on their way back in, isr-policy.ts). Followers that fall off the
// backlog get a full resync (leader-resync.ts). A leader is fenced by its epoch: it stops for good
// (stepDown) when a newer epoch appears, and refuses writes while it cannot reach a majority.
// Each entry is encoded for the stream once, when written, and the backlog keeps those bytes
// (entries-frame.ts): one view per entry instead of its decoded objects, for the GC's sake.

import { performance } from 'node:perf_hooks';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { PeerConnection } from '../protocol/peer-connection.js';
import { wireOnlyError } from '../protocol/wire-errors.js';
import { EntryArena } from '../protocol/entries-frame.js';
import { MsgType, type WireOp } from '../protocol/messages.js';
import type { EngineLike, EngineOp } from './engine-api.js';
import { type EpochHistory, followerPlan } from './epoch-history.js';
import { streamSnapshot } from './leader-resync.js';
import type { PartitionWriter } from './partition-writer.js';
import { storedKey } from './stored-format.js';

export interface LogEntry {
  lsn: number;
  /** `[lsn, ops]` as msgpack, as it goes into an ENTRIES frame (EntryArena.encode). */
  enc: Uint8Array;
  /** performance.now() when streamed; acknowledgements are measured against it. */
  at: number;
}

interface Subscription {
  node: string;
  conn: PeerConnection;
  /** performance.now() when the stream went live; undefined while resyncing. */
  liveAt?: number;
  /** Next LSN this follower needs. */
  next: number;
  live: boolean;
  closed: boolean;
  /** Encoded entries queued for the next ENTRIES frame. */
  out: Uint8Array[];
}

interface Waiter {
  lsn: number;
  /** Followers that must acknowledge (any of them), or 'all': every member of the ack set. */
  need: number | 'all';
  resolve: () => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export interface LeaderHooks {
  /** Seconds from publication of an entry to a follower's acknowledgement of it. */
  onAckLag?(p: number, follower: string, seconds: number): void;
  log?(level: 'info' | 'warn', msg: string, extra?: Record<string, unknown>): void;
  /** Why writes must be refused now (the leader cannot reach a majority), or undefined. */
  fenced?(): Eau2Error | undefined;
}

export interface LeaderEpoch {
  /** This node. */
  self: string;
  epoch: number;
  history: EpochHistory;
  /** The in-sync replicas, this leader included. */
  isr: readonly string[];
  /** Fewest ISR members (leader included) for a w=all write to be accepted. */
  minInSync: number;
}

/** A follower whose socket holds more than this is too slow to stream to: drop it, it will catch up. */
const MAX_QUEUED_BYTES = 64 * 1024 * 1024;
const MAX_ENTRIES_PER_FRAME = 1024;

export class LeaderPartition {
  /** Last LSN given out and streamed (its engine batch may still be in flight). */
  committed: number;
  private failed: Eau2Error | undefined;
  private backlog: LogEntry[] = [];
  private head = 0;
  private backlogBytes = 0;
  readonly acked = new Map<string, number>();
  private waiters: Waiter[] = [];
  private readonly subs = new Map<string, Subscription>();
  private readonly arena = new EntryArena();
  /** The ISR (leader included) as a majority of nodes has it; changed only by setIsr. */
  isr: string[];
  /** Followers on their way into the ISR, counted by w=all waiters, with the LSN they must reach. */
  readonly joining = new Map<string, number>();
  /** Highest LSN acknowledged to a w=all writer. */
  allAcked = 0;
  /** When each follower's stream stopped being live (performance.now()); absent while live. */
  private readonly notLiveSince = new Map<string, number>();
  private lastApply: Promise<void> = Promise.resolve();
  /** The engine group lastApply follows (PartitionWriter.apply's promise, shared by a turn's writes). */
  private lastGroup: Promise<void> | undefined;
  /** Set once a newer epoch deposed this leader (stepDown). */
  private deposed: Eau2Error | undefined;

  /** Followers not subscribed to this leader yet, and the LSN this leader started from (subscribe). */
  private readonly notSubscribed: Set<string>;
  private readonly startLsn: number;

  constructor(
    readonly p: number,
    private readonly engine: EngineLike,
    private readonly writer: PartitionWriter,
    startLsn: number,
    readonly followers: readonly string[],
    private readonly limits: { entries: number; bytes: number },
    private readonly hooks: LeaderHooks = {},
    readonly lead: LeaderEpoch,
  ) {
    this.committed = startLsn;
    this.startLsn = startLsn;
    this.notSubscribed = new Set(followers);
    this.isr = lead.isr.slice();
    const now = performance.now();
    for (const f of followers) this.notLiveSince.set(f, now);
  }

  get epoch(): number {
    return this.lead.epoch;
  }

  /**
   * Applies `ops` (user keys, stored values) as the partition's next LSN. The entry is streamed to
   * the followers at once, while this node's engine applies it, so replication does not wait for
   * the leader's own commit. Resolves once applied here and acknowledged by `followersNeeded`
   * followers; rejects with TIMEOUT after `timeoutMs` (the write stays applied: it is not undone).
   */
  write(ops: WireOp[], followersNeeded: number | 'all', timeoutMs: number): Promise<number> {
    // One promise per write past the checks (the engine group's, then this): the write path's
    // cost is per write, and each async layer is a promise and a microtask more.
    let lsn: number;
    let applied: Promise<void>;
    try {
      lsn = this.issue(ops, followersNeeded);
      applied = this.writer.apply(this.p, this.engineOps(ops), lsn);
    } catch (e) {
      return Promise.reject(e);
    }
    // stepDown waits for the last group issued; one catch per engine group, not per write.
    if (applied !== this.lastGroup) {
      this.lastGroup = applied;
      this.lastApply = applied.catch(() => {});
    }
    return applied.then(
      () => this.afterApply(lsn, followersNeeded, timeoutMs),
      (e: unknown) => {
        throw this.applyFailed(e as Error, lsn);
      },
    );
  }

  /** The checks before a write is numbered, then its LSN, streamed to the followers. Throws. */
  private issue(ops: WireOp[], followersNeeded: number | 'all'): number {
    if (this.failed) throw this.failed;
    const fenced = this.hooks.fenced?.();
    if (fenced) throw fenced;
    if (this.repairing)
      throw new Eau2Error(
        ErrorCode.UNAVAILABLE,
        `partition ${this.p} is being repaired from a replica; retry shortly`,
        {
          details: { partition: this.p },
        },
      );
    // An engine refusing writes (a full disk) refuses this one before it has an LSN or reaches a
    // follower: nothing to undo, and the partition goes on leading.
    const h = this.engine.health?.();
    if (h && h.state !== 'ok')
      throw new Eau2Error(
        ErrorCode.UNAVAILABLE,
        `partition ${this.p} refuses writes: engine ${h.state}${h.reason ? `: ${h.reason}` : ''}`,
        { details: { partition: this.p, health: h.state } },
      );
    if (followersNeeded === 'all' && this.isr.length < this.lead.minInSync)
      throw new Eau2Error(
        ErrorCode.UNAVAILABLE,
        `partition ${this.p} has ${this.isr.length} in-sync replicas, fewer than minInSync ${this.lead.minInSync}: w=all refused, nothing written`,
        { details: { partition: this.p, reason: 'MIN_IN_SYNC' } },
      );
    const lsn = ++this.committed;
    // Publishing here, synchronously, keeps the stream in LSN order; the writer hands batches to the
    // engine in the order they are issued, so this node's copy follows the same order. Without
    // followers nobody can subscribe (subscribe() refuses other nodes): no backlog to keep.
    if (this.followers.length > 0) this.publish({ lsn, enc: this.arena.encode(lsn, ops), at: performance.now() });
    return lsn;
  }

  private engineOps(ops: WireOp[]): EngineOp[] {
    const out: EngineOp[] = new Array(ops.length);
    for (let i = 0; i < ops.length; i++) {
      const [k, v] = ops[i]!;
      const key = storedKey(this.p, k);
      out[i] = v === null ? { type: 'del', key } : { type: 'put', key, value: v };
    }
    return out;
  }

  /**
   * The followers may apply an entry this node could not: the partition stops here (every further
   * write and subscription is refused) and, reopened on its data, the leader resyncs its followers
   * to what it really has. Until then a follower holds the entry, and may be elected with it: once
   * streamed, the write's outcome is unknown, not "refused".
   */
  private applyFailed(e: Error, lsn: number): Error {
    const streamed = this.followers.length > 0;
    this.fail(e);
    if (!streamed) return e;
    return new Eau2Error(
      ErrorCode.UNKNOWN_OUTCOME,
      `write ${lsn} of partition ${this.p} was streamed to its followers but this leader could not apply it (${e.message}); it may be applied on a follower`,
      { cause: e, details: { partition: this.p } },
    );
  }

  private afterApply(lsn: number, followersNeeded: number | 'all', timeoutMs: number): number | Promise<number> {
    if (followersNeeded === 0 || this.satisfied(lsn, followersNeeded)) return this.acknowledged(lsn, followersNeeded);
    return this.waitForAcks(lsn, followersNeeded, timeoutMs).then(() => this.acknowledged(lsn, followersNeeded));
  }

  private acknowledged(lsn: number, followersNeeded: number | 'all'): number {
    if (this.deposed) throw this.unknownOutcome(lsn);
    if (followersNeeded === 'all' && lsn > this.allAcked) this.allAcked = lsn;
    return lsn;
  }

  private publish(entry: LogEntry): void {
    this.appendBacklog(entry);
    for (const s of this.subs.values()) if (s.live && s.next === entry.lsn) this.queue(s, entry);
  }

  /** Set while a damaged table is repaired (repair.ts): writes are refused, the stream goes on. */
  repairing = false;

  /**
   * Resolves true once some follower has acknowledged every committed entry (false after
   * `timeoutMs`, or with no follower): the repair then pulls a copy that misses nothing.
   */
  async followerCaughtUp(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      for (const id of this.followers) if ((this.acked.get(id) ?? -1) >= this.committed) return true;
      if (Date.now() >= end || this.followers.length === 0) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stopped after an engine failure; the node opens the partition again once the engine is ok. */
  get stopped(): boolean {
    return this.failed !== undefined && this.deposed === undefined;
  }

  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = new Eau2Error(
      ErrorCode.UNAVAILABLE,
      `partition ${this.p} stopped after an engine failure: ${e.message}`,
      { cause: e },
    );
    this.hooks.log?.('warn', 'engine write failed; partition stops leading', { p: this.p, err: e.message });
    for (const s of this.subs.values()) s.conn.destroy();
    this.close();
  }

  private appendBacklog(e: LogEntry): void {
    this.backlog.push(e);
    this.backlogBytes += e.enc.length;
    while (
      this.backlog.length - this.head > this.limits.entries ||
      (this.backlogBytes > this.limits.bytes && this.backlog.length - this.head > 1)
    ) {
      this.backlogBytes -= this.backlog[this.head]!.enc.length;
      this.backlog[this.head++] = undefined as unknown as LogEntry;
    }
    if (this.head > 4096 && this.head * 2 > this.backlog.length) {
      this.backlog = this.backlog.slice(this.head);
      this.head = 0;
    }
  }

  /** The backlog entry for `lsn`, if still held. */
  entryAt(lsn: number): LogEntry | undefined {
    if (this.head >= this.backlog.length) return undefined;
    const i = this.head + (lsn - this.backlog[this.head]!.lsn);
    return i >= this.head && i < this.backlog.length ? this.backlog[i] : undefined;
  }

  private queue(s: Subscription, e: LogEntry): void {
    s.out.push(e.enc);
    s.next = e.lsn + 1;
    if (s.out.length === 1) queueMicrotask(() => this.flush(s));
  }

  private flush(s: Subscription): void {
    if (s.closed || s.out.length === 0) return;
    if (s.conn.queuedBytes > MAX_QUEUED_BYTES) {
      this.hooks.log?.('warn', 'follower too slow, dropping its stream', { p: this.p, follower: s.node });
      s.conn.destroy();
      return;
    }
    const out = s.out;
    s.out = [];
    if (out.length <= MAX_ENTRIES_PER_FRAME) s.conn.sendEntries(this.p, out);
    else
      for (let i = 0; i < out.length; i += MAX_ENTRIES_PER_FRAME)
        s.conn.sendEntries(this.p, out.slice(i, i + MAX_ENTRIES_PER_FRAME));
  }

  /**
   * A follower asks for the log after `from` (-1: it has nothing trustworthy). Streams from the
   * backlog when it holds everything after `from`, else resyncs in full; either way the follower is
   * then fed live. Resolves with how it started.
   */
  subscribe(
    node: string,
    conn: PeerConnection,
    from: number,
    follower?: { epoch: number; history: EpochHistory },
  ): 'stream' | 'resync' {
    if (this.failed) throw this.failed;
    if (follower && follower.epoch !== this.lead.epoch)
      throw wireOnlyError(
        ErrorCode.STALE_EPOCH,
        `partition ${this.p}: follower ${node} is at epoch ${follower.epoch}, this leader at ${this.lead.epoch}`,
        { partition: this.p, epoch: this.lead.epoch },
      );
    if (!this.followers.includes(node))
      throw new Eau2Error(ErrorCode.NOT_LEADER, `${node} does not follow partition ${this.p}`);
    // A resubscription replaces the old stream (its connection, if another one, is dead or dying).
    const old = this.subs.get(node);
    if (old) {
      old.closed = true;
      if (old.conn !== conn) old.conn.destroy();
    }
    // A follower holding entries this leader never had (a deposed leader's tail, or a follower of
    // one) must drop them: here by a full resync (Kafka truncates; the engine cannot undo entries).
    if (
      follower &&
      from > 0 &&
      followerPlan(this.lead.history, this.committed, follower.history, from) === 'truncate'
    ) {
      this.hooks.log?.('info', 'follower diverged from this epoch history; resyncing it', {
        p: this.p,
        follower: node,
        from,
      });
      from = -1;
    }
    // A follower's first subscription to this leader claiming more than the leader started with
    // holds entries this leader streamed but never applied (it restarted, or its engine failed,
    // in between); they were never acknowledged. Within one epoch an LSN cannot tell them from the
    // different entries this leader gives those LSNs next, so such a follower is resynced in full
    // (the engine cannot undo entries) — Kafka's truncation to the start of a leader's epoch, with
    // each start of a leader as the boundary. Later subscriptions only claim what this leader sent.
    if (this.notSubscribed.delete(node) && from > this.startLsn) {
      this.hooks.log?.('info', 'follower holds entries this leader started without; resyncing it', {
        p: this.p,
        follower: node,
        from,
        startLsn: this.startLsn,
      });
      from = -1;
    }
    const s: Subscription = { node, conn, next: from + 1, live: false, closed: false, out: [] };
    this.subs.set(node, s);
    this.notLiveSince.set(node, this.notLiveSince.get(node) ?? performance.now());
    // The epoch history first, so the follower records which epoch each entry it applies belongs to.
    conn.send(MsgType.EPOCHS, { p: this.p, h: this.lead.history.entries });
    if (from >= 0 && from <= this.committed && (from === this.committed || this.entryAt(from + 1))) {
      this.acked.set(node, Math.min(from, this.committed));
      this.goLive(s);
      return 'stream';
    }
    this.acked.delete(node); // known again from its acknowledgement of the snapshot
    this.hooks.log?.('info', 'full resync', { p: this.p, follower: node, from, leaderLsn: this.committed });
    void this.resync(s);
    return 'resync';
  }

  /** Sends the backlog from s.next on (synchronously: nothing can be published in between), then live. */
  private goLive(s: Subscription): void {
    for (let lsn = s.next; lsn <= this.committed; lsn++) this.queue(s, this.entryAt(lsn)!);
    s.next = this.committed + 1;
    s.live = true;
    s.liveAt = performance.now();
    this.notLiveSince.delete(s.node);
  }

  private async resync(s: Subscription): Promise<void> {
    for (let attempt = 0; !s.closed; attempt++) {
      let lsn: number;
      try {
        lsn = await streamSnapshot(this.engine, this.p, s.conn);
      } catch (e) {
        this.hooks.log?.('warn', 'resync failed', { p: this.p, follower: s.node, err: (e as Error).message });
        s.conn.destroy();
        return;
      }
      if (s.closed) return;
      // The snapshot holds a prefix of the log up to `lsn` (entries streamed but not yet applied here
      // come after it); what came after must still be in the backlog.
      s.next = lsn + 1;
      if (lsn === this.committed || this.entryAt(lsn + 1)) {
        this.goLive(s);
        return;
      }
      this.hooks.log?.('warn', 'backlog overran during resync, starting again', {
        p: this.p,
        follower: s.node,
        attempt,
      });
    }
  }

  /** Called when a connection closes: its subscriptions end. */
  dropConnection(conn: PeerConnection): void {
    for (const [node, s] of this.subs) {
      if (s.conn === conn) {
        s.closed = true;
        this.subs.delete(node);
        this.notLiveSince.set(node, performance.now());
        if (this.joining.delete(node)) this.settleWaiters();
      }
    }
  }

  /** An acknowledgement from `node` on `conn`; ignored unless that is its current stream. */
  ack(node: string, lsn: number, conn?: PeerConnection): void {
    if (!this.followers.includes(node)) return;
    if (conn && this.subs.get(node)?.conn !== conn) return;
    const prev = this.acked.get(node) ?? 0;
    if (lsn <= prev) return;
    this.acked.set(node, lsn);
    const e = this.entryAt(lsn);
    if (e && e.at > 0) this.hooks.onAckLag?.(this.p, node, (performance.now() - e.at) / 1000);
    this.settleWaiters();
  }

  private settleWaiters(): void {
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((w) => {
      if (!this.satisfied(w.lsn, w.need)) return true;
      clearTimeout(w.timer);
      w.resolve();
      return false;
    });
  }

  private ackCount(lsn: number): number {
    let n = 0;
    for (const f of this.followers) if ((this.acked.get(f) ?? 0) >= lsn) n++;
    return n;
  }

  /** The followers a w=all write waits for: the ISR's and the joining ones. */
  private ackSet(): string[] {
    const out = this.isr.filter((id) => id !== this.lead.self);
    for (const id of this.joining.keys()) if (!out.includes(id)) out.push(id);
    return out;
  }

  private satisfied(lsn: number, need: number | 'all'): boolean {
    if (need !== 'all') return this.ackCount(lsn) >= need;
    for (const f of this.ackSet()) if ((this.acked.get(f) ?? 0) < lsn) return false;
    return true;
  }

  /**
   * A new ISR (after a majority persisted a shrink, or a growth). Waiters are checked again: a
   * shrink can complete w=all writes that waited for the follower it removed.
   */
  setIsr(isr: readonly string[]): void {
    this.isr = isr.slice();
    for (const id of isr) this.joining.delete(id);
    this.settleWaiters();
  }

  /**
   * Starts counting `node` in w=all acknowledgements, so no w=all write is acknowledged without it
   * from now on; it may join the ISR once it has acknowledged `allAcked` as of now (isr-policy.ts).
   */
  startJoining(node: string): void {
    if (this.isr.includes(node) || this.joining.has(node)) return;
    this.joining.set(node, this.allAcked);
  }

  /** Stops counting a joining follower that stalled. */
  stopJoining(node: string): void {
    if (this.joining.delete(node)) this.settleWaiters();
  }

  /** What the ISR policy needs about each follower. */
  /**
   * A follower's state as `GET /cluster` shows it: `catching-up` while it has a subscription open,
   * streaming or in a full resync (which streams nothing yet); `down` without one.
   */
  followerState(f: { id: string; subscribed: boolean }): 'in-sync' | 'joining' | 'catching-up' | 'down' {
    if (this.isr.includes(f.id)) return 'in-sync';
    if (this.joining.has(f.id)) return 'joining';
    return f.subscribed ? 'catching-up' : 'down';
  }

  progress(): {
    id: string;
    live: boolean;
    /** Whether the follower has a subscription open: streaming (live) or being resynced. */
    subscribed: boolean;
    notLiveSince: number | undefined;
    acked: number;
    oldestUnackedAt: number | undefined;
  }[] {
    return this.followers.map((id) => {
      const acked = this.acked.get(id) ?? 0;
      const s = this.subs.get(id);
      const oldest = acked < this.committed ? this.entryAt(acked + 1) : undefined;
      return {
        id,
        live: s?.live === true && !s.closed,
        subscribed: s !== undefined && !s.closed,
        notLiveSince: this.notLiveSince.get(id),
        acked,
        // An entry no longer in the backlog is older than anything in it: count from the oldest kept.
        oldestUnackedAt: acked < this.committed ? (oldest?.at ?? this.backlog[this.head]?.at ?? 0) : undefined,
      };
    });
  }

  /**
   * Leadership is over (a newer epoch exists): every later write and subscription is refused with
   * NOT_LEADER, waiting writes fail with an unknown outcome, streams are cut. Resolves once the
   * engine has applied every write already numbered, so the caller can read the final LSN.
   */
  async stepDown(reason: string): Promise<void> {
    if (!this.deposed) {
      this.deposed = wireOnlyError(ErrorCode.STALE_EPOCH, `node no longer leads partition ${this.p}: ${reason}`, {
        partition: this.p,
      });
      if (!this.failed) this.failed = this.deposed;
      for (const w of this.waiters) {
        clearTimeout(w.timer);
        w.reject(this.unknownOutcome(w.lsn));
      }
      this.waiters = [];
      for (const s of this.subs.values()) {
        s.closed = true;
        s.conn.destroy();
      }
      this.subs.clear();
    }
    await this.lastApply;
  }

  /**
   * This leader has had no answer from a majority for the failover timeout (it may have been
   * replaced, and later writes are refused: hooks.fenced): the writes waiting for acknowledgements
   * fail now, with an unknown outcome as on a step-down, rather than at their timeout, so that
   * their clients try another node. Nothing is undone; the leadership itself is unchanged.
   */
  failWaiting(): void {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(
        new Eau2Error(
          ErrorCode.TIMEOUT,
          `write ${w.lsn} of partition ${this.p} is applied on a leader that cannot reach a majority of the nodes (it may have been replaced); the replicas required have not acknowledged it and it may be lost`,
          { details: { partition: this.p } },
        ),
      );
    }
    this.waiters = [];
  }

  private unknownOutcome(lsn: number): Eau2Error {
    return new Eau2Error(
      ErrorCode.TIMEOUT,
      `write ${lsn} of partition ${this.p} is applied on a leader that lost its leadership before the replicas required acknowledged it; it may be lost`,
      { details: { partition: this.p } },
    );
  }

  private waitForAcks(lsn: number, need: number | 'all', timeoutMs: number): Promise<void> {
    if (this.satisfied(lsn, need)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        lsn,
        need,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(
            new Eau2Error(
              ErrorCode.TIMEOUT,
              `write ${lsn} of partition ${this.p} is applied on the leader but ${need === 'all' ? `not every in-sync follower (${this.ackSet().join(', ')})` : `only ${this.ackCount(lsn)} of the ${need} followers required`} acknowledged it within ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /** Drops every follower's stream: they resubscribe (to whatever leads the partition then). */
  dropFollowers(): void {
    for (const s of this.subs.values()) s.conn.destroy();
  }

  close(): void {
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new Eau2Error(ErrorCode.UNAVAILABLE, 'node is shutting down'));
    }
    this.waiters = [];
    for (const s of this.subs.values()) s.closed = true;
    this.subs.clear();
  }
}
