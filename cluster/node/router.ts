// Routing inside a node, for requests that arrive over HTTP or from tasks: any node serves any key by
// answering from its own engine when it may (it leads the partition, or the read mode allows a
// replica it holds) and forwarding to the right node over the peer protocol otherwise. Peer requests
// from clients are not routed here: they go to the node the client chose, which answers or refuses
// with NOT_LEADER so the client refreshes its topology.

import { performance } from 'node:perf_hooks';
import type {
  BatchOp,
  KeyLike,
  KvIterator,
  KvStore,
  Range,
  ReadOptions,
  ValueLike,
  WriteOptions,
} from '../../kv/index.js';
import { Eau2Error, ErrorCode, isEau2Error } from '../../kv/index.js';
import { keyBytes, partitionOf } from '../../kv/index.js';
import { writeError } from '../protocol/outcome.js';
import { wireOnlyError } from '../protocol/wire-errors.js';
import { RequestIds } from './request-ids.js';
import { hedgedRead, ReplicaLatency } from '../hedged-read.js';
import type { PeerPool } from '../protocol/peer-pool.js';
import { MsgType, type ReadMode, type WireOp, type WriteConcern } from '../protocol/messages.js';
import {
  byteRange,
  fetchRemotePage,
  groupByPartition,
  mapIterator,
  modeFor,
  ReplicaChooser,
  type SendRequest,
} from '../routing.js';
import { mergedScan, type MergeRange, type Page, type PageRequest } from '../scan-merge.js';
import type { Topology } from '../topology.js';
import type { EngineLike } from './engine-api.js';
import type { LeaderPartition } from './leader-partition.js';
import { storedValueOf, wrapValue } from '../protocol/stored-value.js';
import { partitionRange, storedKey, userKeyOf } from './stored-format.js';

export interface RouterHost {
  readonly selfId: string;
  readonly engine: EngineLike;
  readonly pool: PeerPool;
  readonly writeTimeoutMs: number;
  topology(): Topology;
  leaderOf(p: number): LeaderPartition | undefined;
  holds(p: number): boolean;
  opening(p: number): boolean;
  /** A local read met a damaged table: counted, and the node repairs it soon (repair.ts). */
  onCorruption?(p: number, e: Error): void;
  /** A followed partition being resynced: its copy is incomplete. */
  resyncing?(p: number): boolean;
  /** True when `node` has not answered this node's heartbeats for failoverTimeoutMs (failure-detector.ts). */
  suspects?(node: string): boolean;
  /** False while this node has had no answer from a majority of the nodes for failoverTimeoutMs. */
  reachesMajority?(): boolean;
}

/** Beyond the leader's own writeTimeoutMs, how long a forwarded write waits for its answer. */
const FORWARD_MARGIN_MS = 1000;
/** How often a forwarded write in flight checks whether its leader went silent or was replaced. */
const FORWARD_WATCH_MS = 100;

export function noReplica(p: number, self: string): Eau2Error {
  return wireOnlyError(ErrorCode.NO_REPLICA, `node ${self} holds no replica of partition ${p}`, { partition: p });
}

export function notLeader(p: number, self: string, leader: string): Eau2Error {
  return new Eau2Error(ErrorCode.NOT_LEADER, `node ${self} is not the leader of partition ${p} (${leader} is)`, {
    details: { partition: p, leader },
  });
}

export function opening(p: number): Eau2Error {
  return new Eau2Error(ErrorCode.UNAVAILABLE, `partition ${p} is being restored on its leader; retry shortly`, {
    details: { partition: p },
  });
}

/** Bytes of keys and values after which a scan page ends (at least one entry is always returned). */
const PAGE_BYTES = 1024 * 1024;

export class Router {
  private readonly replicas = new ReplicaChooser();

  constructor(
    private readonly host: RouterHost,
    /** Writes' request ids this node remembers while it leads their partitions (request-ids.ts). */
    readonly requestIds: RequestIds = new RequestIds(0, 1),
    /** Replicas' read latencies: hedge delays, slow replicas (hedged-read.ts). */
    readonly latency: ReplicaLatency = new ReplicaLatency(1000),
  ) {}

  partition(key: Uint8Array): number {
    return partitionOf(key, this.host.topology().partitions);
  }

  /**
   * Followers needed for write concern `w` on partition p ('all': every in-sync follower, counted
   * by the leader); INVALID when w exceeds the replicas.
   */
  followersNeeded(p: number, w: WriteConcern | undefined): number | 'all' {
    const followers = this.host.topology().placement[p]!.followers.length;
    if (w === undefined) return 0;
    if (w === 'all') return 'all';
    if (!Number.isInteger(w) || w < 1) throw new Eau2Error(ErrorCode.INVALID, 'w must be a positive integer or "all"');
    if (w - 1 > followers)
      throw new Eau2Error(ErrorCode.INVALID, `w=${w} exceeds the ${followers + 1} replicas of a partition`);
    return w - 1;
  }

  async getLocal(p: number, key: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.host.opening(p)) throw opening(p);
    return this.host.engine.get(storedKey(p, key));
  }

  /**
   * This node's copy of `key`; if that read meets a damaged table (CORRUPTION), the value of another
   * replica instead (the leader if it is another node, else a follower), asked for its own copy
   * only ('local', so two damaged copies cannot send a read back and forth); so is a non-leader
   * read of a led partition while it is restored. `mode` 'local' takes no detour: it asked for this
   * copy. A follower's answer may lag the leader's by the replication
   * lag, as a read=any may.
   */
  async readLocal(p: number, key: Uint8Array, mode: ReadMode): Promise<Uint8Array | undefined> {
    // A copy being refilled (a resync, or a led partition restored after a damaged table) is
    // incomplete: reads that may go to a replica do; a leader read waits (UNAVAILABLE).
    if (mode !== 'local' && (this.host.resyncing?.(p) || (mode !== 'leader' && this.host.opening(p))))
      return this.fromOtherReplica(p, key, undefined);
    try {
      return await this.getLocal(p, key);
    } catch (e) {
      if (mode === 'local' || !isEau2Error(e, ErrorCode.CORRUPTION)) throw e;
      this.host.onCorruption?.(p, e);
      return this.fromOtherReplica(p, key, e);
    }
  }

  /**
   * get() for a reader that decodes the value at once (KvStore.getWith): a read this node serves
   * from its own ready copy lends the stored value from the engine (no copy; `fillCache` false
   * leaves the block cache as it was), `use` getting the user's value. Anything else (another
   * node's copy, a partition opening or being resynced, a damaged table) goes the way get() goes.
   */
  async getWith<T>(
    key: Uint8Array,
    mode: ReadMode,
    use: (value: Uint8Array) => T,
    fillCache?: boolean,
  ): Promise<T | undefined> {
    const p = this.partition(key);
    const engine = this.host.engine;
    const self = this.host.selfId;
    const pl = this.host.topology().placement[p]!;
    const here =
      mode === 'local'
        ? this.host.holds(p)
        : pl.leader === self ||
          (mode !== 'leader' && mode !== 'follower' && this.host.holds(p)) ||
          (mode === 'follower' && pl.followers.includes(self));
    if (engine.getWith !== undefined && here && !this.host.opening(p) && !this.host.resyncing?.(p)) {
      let used = false;
      try {
        return await engine.getWith(
          storedKey(p, key),
          (v) => {
            used = true;
            return use(storedValueOf(v));
          },
          { fillCache },
        );
      } catch (e) {
        // A damaged table (not an error of `use`): get() reports it and reads another replica's copy.
        if (used || !isEau2Error(e, ErrorCode.CORRUPTION)) throw e;
      }
    }
    const v = await this.get(key, mode);
    return v === undefined ? undefined : use(storedValueOf(v));
  }

  /**
   * readLocal with the value lent to `use` (undefined when missing) instead of copied: it is called
   * once, synchronously inside the engine's read when the engine has getWith, so it must copy what
   * it keeps (a peer GET encodes its reply from it). Resolves with what `use` returns.
   */
  readLocalWith<T>(p: number, key: Uint8Array, mode: ReadMode, use: (v: Uint8Array | undefined) => T): Promise<T> {
    const engine = this.host.engine;
    if (
      engine.getWith === undefined ||
      (mode !== 'local' && (this.host.resyncing?.(p) || (mode !== 'leader' && this.host.opening(p))))
    )
      return this.readLocal(p, key, mode).then(use);
    if (this.host.opening(p)) return Promise.reject(opening(p));
    let used = false;
    const lend = (v: Uint8Array): T => {
      used = true;
      return use(v);
    };
    return engine.getWith(storedKey(p, key), lend).then(
      (r) => (used ? (r as T) : use(undefined)),
      (e: unknown) => {
        if (used || mode === 'local' || !isEau2Error(e, ErrorCode.CORRUPTION)) throw e;
        this.host.onCorruption?.(p, e as Error);
        return this.fromOtherReplica(p, key, e as Error).then(use);
      },
    );
  }

  private async fromOtherReplica(
    p: number,
    key: Uint8Array,
    cause: Error | undefined,
  ): Promise<Uint8Array | undefined> {
    const pl = this.host.topology().placement[p]!;
    const self = this.host.selfId;
    let last: unknown = cause;
    for (const node of [pl.leader, ...pl.followers]) {
      if (node === self) continue;
      try {
        return await this.remoteGet(node, key, 'local');
      } catch (e) {
        last = e; // that copy is not readable either: try the next
      }
    }
    throw last ?? noReplica(p, self);
  }

  /** The stored (wrapped) value of `key`, read as `mode` says; undefined when missing. */
  async get(key: Uint8Array, mode: ReadMode = 'leader'): Promise<Uint8Array | undefined> {
    const p = this.partition(key);
    const pl = this.host.topology().placement[p]!;
    const self = this.host.selfId;
    if (mode === 'local') {
      if (!this.host.holds(p)) throw noReplica(p, self);
      return this.getLocal(p, key);
    }
    if (pl.leader === self || (mode !== 'leader' && mode !== 'follower' && this.host.holds(p)))
      return this.readLocal(p, key, mode);
    if (mode === 'follower' && pl.followers.includes(self)) return this.readLocal(p, key, mode);
    const t = this.host.topology();
    const target = this.replicas.choose(t, p, mode);
    if (mode === 'leader') return this.remoteGet(target, key, modeFor(t, p, target, mode));
    // A replica read is hedged: the chosen replica, the other followers, the leader last (it always
    // may answer); replicas lately slow are asked after the rest. When the chosen replica is the
    // leader, the followers come after it: a leader that died, and is not known here to be down yet,
    // would otherwise fail the read (every chunk of its partitions read through a node's /df routes).
    const others = pl.followers.filter((n) => n !== target && n !== self && !this.host.suspects?.(n));
    const candidates =
      target === pl.leader
        ? [target, ...this.latency.order(others)]
        : [...this.latency.order([target, ...others]), pl.leader];
    const replicaTimeout = this.latency.maxMs;
    return hedgedRead(
      candidates,
      (node) => {
        const wire = node === pl.leader ? 'leader' : modeFor(t, p, node, mode);
        return node === candidates.at(-1)
          ? this.remoteGet(node, key, wire)
          : this.remoteGet(node, key, wire, replicaTimeout);
      },
      this.latency,
    );
  }

  private async remoteGet(
    node: string,
    key: Uint8Array,
    mode: ReadMode,
    timeoutMs?: number,
  ): Promise<Uint8Array | undefined> {
    const p = partitionOf(key, this.host.topology().partitions);
    const v = await named(
      this.host.pool.request(node, MsgType.GET, { k: key, r: mode }, timeoutMs),
      node,
      p,
      'replica',
    );
    return v === null || v === undefined ? undefined : (v as Uint8Array);
  }

  /**
   * Applies ops of one partition atomically, here if this node leads it, else on its leader. A
   * write refused before it was applied (NOT_LEADER / STALE_EPOCH: the leadership moved; 503: the
   * partition is opening, or below minInSync; the leader's port refused the connection) is tried
   * again, at the leader the heartbeats name by then, until writeTimeoutMs has passed: that is how
   * a write follows a failover. A write whose outcome is unknown is never repeated here: it fails
   * with UNKNOWN_OUTCOME (outcome.ts). `rid`, the client's request id, goes to the leader, which
   * answers a repeated id from memory (request-ids.ts). A node that reaches no majority does not
   * retry: it is the one cut off (as Redis Cluster's minority side, whose cluster state fails), no
   * leader it can reach will be elected, and the client is better sent to another node at once (503)
   * than after writeTimeoutMs.
   */
  async write(p: number, ops: WireOp[], w?: WriteConcern, rid?: string): Promise<void> {
    const need = this.followersNeeded(p, w);
    const deadline = performance.now() + this.host.writeTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const lp = this.host.leaderOf(p);
        if (lp) {
          await this.requestIds.run(p, rid, () => lp.write(ops, need, this.host.writeTimeoutMs));
          return;
        }
        if (this.host.opening(p)) throw opening(p);
        await this.forward(p, ops, w, rid);
        return;
      } catch (e) {
        if (!notApplied(e) || this.host.reachesMajority?.() === false) throw writeError(e);
        if (performance.now() + retryDelay(attempt) > deadline) throw writeError(e);
        await new Promise((r) => setTimeout(r, retryDelay(attempt)));
      }
    }
  }

  /**
   * Sends a write to p's leader. A leader this node's heartbeats find silent is not sent anything
   * (UNAVAILABLE, retried by write() at whichever leader the failover elects). A write in flight is
   * given up on as soon as its leader goes silent or p moves to a newer epoch, with UNKNOWN_OUTCOME:
   * it may or may not have been applied, so it is never repeated here. The leader applies its own
   * writeTimeoutMs to w>1; the margin on top only guards against a leader that stopped answering.
   */
  private forward(p: number, ops: WireOp[], w: WriteConcern | undefined, rid: string | undefined): Promise<void> {
    const { leader, epoch } = this.host.topology().placement[p]!;
    if (this.host.suspects?.(leader))
      return Promise.reject(
        new Eau2Error(
          ErrorCode.UNAVAILABLE,
          `node ${leader}, leader of partition ${p}, is unreachable (no answer to its heartbeats: not sent)`,
          { details: { partition: p, leader, reason: 'LEADER_UNREACHABLE' } },
        ),
      );
    return new Promise<void>((resolve, reject) => {
      const watch = setInterval(() => {
        const now = this.host.topology().placement[p]!;
        const silent = this.host.suspects?.(leader) === true;
        if (!silent && now.epoch === epoch) return;
        clearInterval(watch);
        reject(
          new Eau2Error(
            ErrorCode.UNKNOWN_OUTCOME,
            silent
              ? `leader ${leader} of partition ${p} stopped answering with the write in flight: its outcome is unknown`
              : `partition ${p} moved to epoch ${now.epoch} with the write in flight: its outcome is unknown`,
            { details: { partition: p, leader } },
          ),
        );
      }, FORWARD_WATCH_MS);
      named(
        this.host.pool.request(leader, MsgType.BATCH, { p, ops, w, rid }, this.host.writeTimeoutMs + FORWARD_MARGIN_MS),
        leader,
        p,
        'leader',
      )
        .then(
          () => resolve(),
          (e: unknown) => reject(e),
        )
        .finally(() => clearInterval(watch));
    });
  }

  /** Ops over any keys: grouped by partition, each group atomic, the groups in parallel. */
  async writeMany(ops: WireOp[], w?: WriteConcern, rid?: string): Promise<void> {
    const groups = groupByPartition(ops, (op) => op[0], this.host.topology().partitions);
    for (const p of groups.keys()) this.followersNeeded(p, w); // refuse a bad w before writing anything
    await Promise.all([...groups].map(([p, g]) => this.write(p, g, w, rid)));
  }

  /** One page of partition p from this node's engine: user keys, stored values. */
  async localPage(p: number, req: PageRequest): Promise<Page> {
    if (this.host.opening(p)) throw opening(p);
    const it = this.host.engine.iterator({ ...partitionRange(p, req), reverse: req.reverse, limit: req.limit + 1 });
    const entries: [Uint8Array, Uint8Array][] = [];
    let more = false;
    let bytes = 0;
    try {
      for (let e = await it.next(); e !== undefined; e = await it.next()) {
        // A page of large values ends early (the merge asks for the rest): its memory stays bounded.
        if (entries.length === req.limit || (entries.length > 0 && bytes >= PAGE_BYTES)) {
          more = true;
          break;
        }
        bytes += e[0].length + e[1].length;
        entries.push([userKeyOf(e[0]), e[1]]);
      }
    } finally {
      await it.close();
    }
    return { entries, more };
  }

  private async fetchPage(p: number, req: PageRequest, mode: ReadMode): Promise<Page> {
    const pl = this.host.topology().placement[p]!;
    const self = this.host.selfId;
    if (pl.leader === self || (mode !== 'leader' && this.host.holds(p))) return this.localPage(p, req);
    if (mode === 'local') return { entries: [], more: false }; // a local scan covers what this node holds
    const t = this.host.topology();
    const target = this.replicas.choose(t, p, mode);
    const send: SendRequest = (node, type, body) => this.host.pool.request(node, type, body);
    if (mode === 'leader') return fetchRemotePage(send, target, p, req, modeFor(t, p, target, mode));
    // A replica's page that cannot be fetched (the replica died, and this node does not know yet) is
    // asked of the other replicas, the leader last, as a replica get is: one dead node failed every
    // listing of a frame through a node's GET /df until its failover.
    const others = [...pl.followers, pl.leader].filter((n) => n !== target && n !== self);
    let last: unknown;
    for (const node of [target, ...others]) {
      try {
        return await fetchRemotePage(send, node, p, req, modeFor(t, p, node, mode));
      } catch (e) {
        if (e instanceof Eau2Error && !isEau2Error(e, ErrorCode.UNAVAILABLE)) throw e;
        last = e;
      }
    }
    throw last;
  }

  /** A sorted scan over every partition (stored values), or over the ones held here for read=local. */
  scan(range: MergeRange, mode: ReadMode = 'leader'): KvIterator {
    const t = this.host.topology();
    const parts = t.placement.map((pl) => pl.partition).filter((p) => mode !== 'local' || this.host.holds(p));
    return mergedScan(parts, range, (p, req) => this.fetchPage(p, req, mode));
  }

  /**
   * The whole cluster as a KvStore seen from this node: for HTTP extensions such as /df (reads from
   * leaders), and for tasks (reads: this node's copy when it holds the partition; scans: only what
   * this node holds). Writes always go through the partition's leader and are replicated, with
   * `defaults.w` unless a write names its own (a store reading local copies writes with 'all', so
   * it reads back what it wrote).
   */
  store(
    defaults: { get: ReadMode; scan: ReadMode; w?: WriteConcern } = { get: 'leader', scan: 'leader' },
    /** Every value written carries this expiry (ms since the Unix epoch): TaskContext.expiringStore. */
    expiresAt?: number,
  ): KvStore {
    const val = (v: ValueLike): Uint8Array => wrapValue(keyBytes(v), undefined, expiresAt);
    const wireOp = (o: BatchOp): WireOp => {
      if (o === null || typeof o !== 'object') throw new TypeError('a batch operation must be an object');
      if (o.type === 'put') return [keyBytes(o.key), val(o.value)];
      if (o.type === 'del') return [keyBytes(o.key), null];
      throw new TypeError(`unknown batch operation type ${String((o as { type?: unknown }).type)}`);
    };
    return {
      get: async (key: KeyLike, opts?: ReadOptions) => {
        const v = await this.get(keyBytes(key), wireMode(opts?.read) ?? defaults.get);
        return v === undefined ? undefined : storedValueOf(v);
      },
      getWith: <T>(key: KeyLike, use: (value: Uint8Array) => T, opts?: ReadOptions) =>
        this.getWith(keyBytes(key), wireMode(opts?.read) ?? defaults.get, use, opts?.fillCache),
      put: (key: KeyLike, value: ValueLike, opts?: WriteOptions) =>
        this.writeMany([[keyBytes(key), val(value)]], opts?.w ?? defaults.w),
      del: (key: KeyLike, opts?: WriteOptions) => this.writeMany([[keyBytes(key), null]], opts?.w ?? defaults.w),
      batch: (ops: BatchOp[], opts?: WriteOptions) => {
        if (!Array.isArray(ops)) throw new TypeError('batch needs an array of operations');
        return this.writeMany(ops.map(wireOp), opts?.w ?? defaults.w);
      },
      scan: (range?: Range, opts?: ReadOptions) => {
        const it = this.scan(byteRange(range), wireMode(opts?.read) ?? defaults.scan);
        return mapIterator(it, storedValueOf);
      },
    };
  }
}

/** A node holds copies itself: leader-first (for data never rewritten) reads as 'any' there. */
function wireMode(m: ReadOptions['read']): ReadMode | undefined {
  return m === 'leader-first' ? 'any' : m;
}

function retryDelay(attempt: number): number {
  return Math.min(500, 25 * 2 ** attempt);
}

/** True for a failure that proves the write was not applied anywhere, so repeating it is safe. */
function notApplied(e: unknown): boolean {
  if (e instanceof Eau2Error) {
    if (e.code === ErrorCode.NOT_LEADER) return true; // NOT_LEADER and STALE_EPOCH: refused before applying
    // A connection never made carried nothing (its message may name the node: named()); a partition
    // still opening applied nothing.
    return (
      e.code === ErrorCode.UNAVAILABLE &&
      (e.details?.reason === 'MIN_IN_SYNC' ||
        e.details?.reason === 'LEADER_UNREACHABLE' ||
        /cannot connect|being restored/.test(e.message))
    );
  }
  return false;
}

/**
 * A peer that cannot be reached is named as users think of it, by node and partition ("node n2,
 * leader of partition 3, is unreachable"), with the address after: a bare "cannot connect to
 * 127.0.0.1:17201" names a port.
 */
async function named<T>(request: Promise<T>, node: string, p: number, role: string): Promise<T> {
  try {
    return await request;
  } catch (e) {
    if (e instanceof Eau2Error && e.code === ErrorCode.UNAVAILABLE && /^cannot connect/.test(e.message))
      throw new Eau2Error(
        ErrorCode.UNAVAILABLE,
        `node ${node}, ${role} of partition ${p}, is unreachable (${e.message})`,
        {
          cause: e,
        },
      );
    throw e;
  }
}
