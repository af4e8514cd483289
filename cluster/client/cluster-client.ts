// ClusterClient: the cluster as a KvStore, over the binary peer protocol. It learns the topology from
// any node it is given, sends each request straight to the node that may answer it (the partition's
// leader, or a replica for follower/any reads), and on NOT_LEADER, a stale epoch or a dead connection
// refreshes the topology (from any node: each partition's newest epoch wins) and retries for up to
// `retryMs`, long enough to outlast a failover. Writes are puts and deletes of given values, so a
// retry after an unanswered attempt cannot apply anything twice in a harmful way.

import { hedgedRead, ReplicaLatency } from '../hedged-read.js';
import { randomUUID } from 'node:crypto';
import { outcomeUnknown, writeError } from '../protocol/outcome.js';
import type {
  BatchOp,
  KeyLike,
  KvIterator,
  KvStore,
  Range,
  Partitioned,
  ReadOptions,
  TaskRunner,
  ValueLike,
  WriteOptions,
} from '../../kv/index.js';
import { deepFreeze, Eau2Error, ErrorCode, isEau2Error } from '../../kv/index.js';
import { keyBytes, partitionOf } from '../../kv/index.js';
import type { BinParts } from '../protocol/frame-parts.js';
import { MsgType, type ReadMode, type WriteConcern } from '../protocol/messages.js';
import { negotiateFixedLayout } from '../protocol/peer-connection.js';
import { PeerPool } from '../protocol/peer-pool.js';
import { storedValueOf, wireValue } from '../protocol/stored-value.js';
import {
  byteRange,
  fetchRemotePage,
  groupByPartition,
  mapIterator,
  modeFor,
  replicaCandidates,
  ReplicaChooser,
  type SendRequest,
} from '../routing.js';
import { mergedScan, type Page, type PageRequest } from '../scan-merge.js';
import { mergeTopology, nodeAddress, parseTopology, type Topology } from '../topology.js';
import { secureFetch } from '../security/http-fetch.js';
import { authenticateWithToken } from '../security/peer-auth.js';
import { clientTls } from '../security/tls.js';
import type { PeerConnectionOptions } from '../protocol/peer-connection.js';

export interface ClusterClientOptions {
  /** Per-request timeout in ms (default 10 s). */
  timeoutMs?: number;
  /** Defaults for every call; per-call options win. */
  w?: WriteConcern;
  read?: ReadMode;
  maxFrameBytes?: number;
  /** Bearer token for a cluster with `auth` (docs/security.md): sent over HTTP and on the peer port. */
  token?: string;
  /**
   * PEM of the cluster CA, for a cluster with `tls`: the nodes are verified against it (HTTPS and the
   * peer port). With https:// URLs and no `ca`, the system's CAs are used.
   */
  ca?: string | Buffer;
  /** How long a request keeps being retried after retryable failures (default 15 s: a failover). */
  retryMs?: number;
  /**
   * Most a read sent to a replica (read any, follower, leader-first) waits before another replica is
   * asked too; the hedge comes earlier for a replica that usually answers faster (default 1 s).
   */
  replicaReadTimeoutMs?: number;
  /**
   * Send GET, PUT and DEL in the fixed layout to nodes that read it (docs/format.md 8.8; default
   * true). False keeps msgpack on every connection, e.g. to compare the two.
   */
  fixedLayout?: boolean;
  /** The peer connections' heartbeat period and silence timeout (docs/operations.md; defaults 500 and 3000 ms, 0: off). */
  heartbeatMs?: number;
  silenceTimeoutMs?: number;
}

/** TLS and the token handshake for the client's peer connections. */
function peerSecurity(urls: string[], opts: ClusterClientOptions): Partial<PeerConnectionOptions> {
  const out: Partial<PeerConnectionOptions> = {};
  if (opts.ca !== undefined) out.tls = clientTls(opts.ca);
  else if (urls.some((u) => u.startsWith('https:'))) out.tls = { minVersion: 'TLSv1.2' };
  const token = opts.token;
  if (token !== undefined) out.handshake = (c) => authenticateWithToken(c, token).then(() => {});
  return out;
}

/** At least this many attempts, whatever retryMs says. */
const RETRIES = 5;
/** How long a node that could not be reached is tried last by leader-first reads (ms). */
const SUSPECT_MS = 2000;

export class ClusterClient implements KvStore, TaskRunner, Partitioned {
  private topo: Topology;
  private readonly pool: PeerPool;
  private refreshing: Promise<void> | undefined;
  private readonly replicas = new ReplicaChooser();
  private closed = false;
  /** Nodes a request could not reach lately, until when (ms): leader-first reads try them last. */
  private readonly suspects = new Map<string, number>();
  /** Replicas' read latencies: hedge delays, slow replicas (hedged-read.ts). */
  private readonly latency: ReplicaLatency;

  private constructor(
    topo: Topology,
    private readonly urls: string[],
    private readonly opts: ClusterClientOptions,
  ) {
    this.topo = topo;
    const security = peerSecurity(urls, opts);
    const authenticate = security.handshake;
    this.pool = new PeerPool((id) => nodeAddress(this.topo, id), {
      maxFrameBytes: opts.maxFrameBytes ?? 64 * 1024 * 1024,
      epoch: () => this.topo.epoch,
      reuseReadBuffer: true,
      ...(opts.heartbeatMs === undefined ? {} : { heartbeatMs: opts.heartbeatMs }),
      ...(opts.silenceTimeoutMs === undefined ? {} : { silenceTimeoutMs: opts.silenceTimeoutMs }),
      ...security,
      // Each connection learns whether its node reads GET/PUT/DEL in the fixed layout (docs/format.md 8.8).
      handshake: async (c) => {
        if (authenticate) await authenticate(c);
        if (opts.fixedLayout !== false) await negotiateFixedLayout(c);
      },
    });
    this.latency = new ReplicaLatency(opts.replicaReadTimeoutMs ?? 1000);
  }

  /** Connects through the first of `urls` (node HTTP addresses) that answers. */
  static async connect(urls: string[] | string, opts: ClusterClientOptions = {}): Promise<ClusterClient> {
    const list = typeof urls === 'string' ? [urls] : urls;
    if (!Array.isArray(list) || list.length === 0) throw new TypeError('connect needs at least one node URL');
    if (opts.token !== undefined && (typeof opts.token !== 'string' || opts.token.length === 0))
      throw new TypeError('token must be a non-empty string');
    const topo = await fetchTopology(list, opts);
    return new ClusterClient(topo, list, opts);
  }

  /** The topology the client routes by (a copy). */
  /**
   * A copy of the current topology, made once per topology (this.topo is replaced, never changed in
   * place) and frozen, since every caller gets the same one: the dataframe layer reads it for every
   * query and write, and a copy per call was ~0.4 ms of a warm query's client CPU.
   */
  get topology(): Topology {
    if (this.topoCopy?.of !== this.topo)
      this.topoCopy = { of: this.topo, copy: deepFreeze(structuredClone(this.topo)) };
    return this.topoCopy.copy;
  }
  private topoCopy: { of: Topology; copy: Topology } | undefined;

  /** Fetches the topology again, from a node it knows or else from the URLs it was given. */
  refresh(): Promise<void> {
    if (!this.refreshing) {
      this.refreshing = (async () => {
        // Nodes believed up first (neither shown down nor lately unreachable: a paused node costs a
        // refresh the 3 s of a connection's handshake timeout, and the refresh follows the very failure
        // that made it a suspect); a node just failed over from may answer with an older view of some
        // partitions, which the merge keeps out.
        const down = this.believedDown();
        const nodes = [...this.topo.nodes].sort((a, b) => Number(down.has(a.id)) - Number(down.has(b.id)));
        for (const n of nodes) {
          try {
            const t = parseTopology(await this.pool.request(n.id, MsgType.TOPOLOGY, null, 2000));
            this.topo = mergeTopology(this.topo, t);
            return;
          } catch {
            // try the next node
          }
        }
        this.topo = mergeTopology(this.topo, await fetchTopology(this.urls, this.opts));
      })().finally(() => (this.refreshing = undefined));
    }
    return this.refreshing;
  }

  private async retry<T>(op: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.opts.retryMs ?? 15_000);
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new Eau2Error(ErrorCode.NOT_OPEN, 'client is closed');
      try {
        return await op();
      } catch (e) {
        const again =
          isEau2Error(e, ErrorCode.NOT_LEADER) ||
          isEau2Error(e, ErrorCode.UNAVAILABLE) ||
          !(e instanceof Eau2Error || e instanceof TypeError);
        const delay = Math.min(500, 25 * 2 ** attempt);
        if (!again || (attempt >= RETRIES && Date.now() + delay > deadline)) throw e;
        await new Promise((r) => setTimeout(r, delay));
        await this.refresh().catch(() => {});
      }
    }
  }

  private partition(key: Uint8Array): number {
    return partitionOf(key, this.topo.partitions);
  }

  private target(p: number, mode: ReadMode): string {
    return this.replicas.choose(this.topo, p, mode);
  }

  private request(node: string, type: number, body: unknown): Promise<unknown> {
    return this.pool.request(node, type, body, this.opts.timeoutMs ?? 10_000);
  }

  /** read=local has no meaning for a client (it has no copy): it reads like read=any. */
  private mode(opts?: ReadOptions): ReadMode | 'leader-first' {
    const m = opts?.read ?? this.opts.read ?? 'leader';
    return m === 'local' ? 'any' : m;
  }

  /**
   * The node for the next attempt of a read of partition p. leader-first: the leader, then each
   * follower, those the topology shows down or a request lately failed to reach moved last, skipping
   * the ones in `tried` (this read's earlier attempts) until every replica was tried; other modes:
   * the chosen replica first, then the leader. Picking by attempt number from an order that the
   * failed attempt itself changes (its node moved last) would send the second attempt to the same
   * dead leader, and with a paused node wait out a second timeout.
   */
  private readTarget(p: number, mode: ReadMode | 'leader-first', tried: Set<string>): { node: string; r: ReadMode } {
    const pl = this.topo.placement[p]!;
    if (mode !== 'leader-first') {
      const node = tried.size === 0 ? this.target(p, mode) : pl.leader;
      tried.add(node);
      return { node, r: modeFor(this.topo, p, node, mode) };
    }
    const order = this.liveFirst([pl.leader, ...pl.followers]);
    let node = order.find((n) => !tried.has(n));
    if (node === undefined) {
      tried.clear();
      node = order[0]!;
    }
    tried.add(node);
    return { node, r: modeFor(this.topo, p, node, 'any') };
  }

  /** `ids` with the nodes believed unreachable moved to the end, order otherwise kept. */
  private liveFirst(ids: string[]): string[] {
    const down = this.believedDown();
    return [...ids.filter((id) => !down.has(id)), ...ids.filter((id) => down.has(id))];
  }

  /** The nodes the topology shows down and those a request lately failed to reach. */
  private believedDown(): Set<string> {
    const now = Date.now();
    const down = new Set(this.topo.nodes.filter((n) => n.status === 'down').map((n) => n.id));
    for (const [id, until] of this.suspects) {
      if (until > now) down.add(id);
      else this.suspects.delete(id);
    }
    return down;
  }

  /** Remembers for a second that `node` did not answer (a connection failure, not a refusal). */
  private suspect(node: string, e: unknown): void {
    if (isEau2Error(e, ErrorCode.UNAVAILABLE) || !(e instanceof Eau2Error || e instanceof TypeError))
      this.suspects.set(node, Date.now() + SUSPECT_MS);
  }

  async get(key: KeyLike, opts?: ReadOptions): Promise<Uint8Array | undefined> {
    const v = await this.getRequest(key, opts);
    return v === null || v === undefined ? undefined : storedValueOf(v as Uint8Array);
  }

  /** A GET routed by read mode (a failed follower read falls back to the leader), retried. */
  private getRequest(key: KeyLike, opts: ReadOptions | undefined, take?: (body: unknown) => unknown): Promise<unknown> {
    const k = keyBytes(key);
    const mode = this.mode(opts);
    const timeoutMs = this.opts.timeoutMs ?? 10_000;
    const ask = (node: string, r: ReadMode, ms: number): Promise<unknown> =>
      this.pool.request(node, MsgType.GET, { k, r }, ms, take).catch((e: unknown) => {
        this.suspect(node, e);
        throw e;
      });
    if (mode === 'leader')
      return this.retry(() => ask(this.readTarget(this.partition(k), mode, new Set()).node, 'leader', timeoutMs));
    // Other modes: every replica that may answer, hedged (the leader last, with the full timeout).
    // The replicas believed down (shown down, or lately unreachable) come after the others whatever
    // their latency, are never hedged to, and the last replica believed up gets the full timeout: it
    // may be the only one that can answer, so a slow answer from it is still the answer.
    return this.retry(() => {
      const p = this.partition(k);
      const pl = this.topo.placement[p]!;
      const first = mode === 'leader-first' ? pl.leader : this.target(p, mode);
      const pool = mode === 'leader-first' ? [pl.leader, ...pl.followers] : replicaCandidates(this.topo, p, mode);
      const all = [first, ...pool.filter((n) => n !== first)];
      if (!all.includes(pl.leader)) all.push(pl.leader);
      const down = this.believedDown();
      // The leader last within its group, except leader-first.
      const leaderLast = (ids: string[]): string[] =>
        mode === 'leader-first' ? ids : [...ids.filter((n) => n !== pl.leader), ...ids.filter((n) => n === pl.leader)];
      const live = this.latency.order(all.filter((n) => !down.has(n)));
      const candidates = [...leaderLast(live), ...leaderLast(all.filter((n) => down.has(n)))];
      const up = Math.max(1, live.length);
      return hedgedRead(
        candidates,
        (node) =>
          ask(
            node,
            modeFor(this.topo, p, node, mode === 'leader-first' ? 'any' : mode),
            candidates.indexOf(node) >= up - 1 ? timeoutMs : this.latency.maxMs,
          ),
        this.latency,
        undefined,
        up,
      );
    });
  }

  /**
   * KvStore.getWith: `use` gets the value as a view of the reply frame, called as the frame is
   * decoded, and the frame's memory is reused for a later reply once `use` returns. A scan that
   * decodes each value at once (a lent dataframe scan) then allocates no buffer per value read.
   */
  async getWith<T>(key: KeyLike, use: (value: Uint8Array) => T, opts?: ReadOptions): Promise<T | undefined> {
    // What `use` threw is kept aside, so retry() cannot mistake it for a connection failure.
    let failed: { error: unknown } | undefined;
    const take = (body: unknown): T | undefined => {
      if (body === null || body === undefined) return undefined;
      try {
        if (!(body instanceof Uint8Array)) throw new Eau2Error(ErrorCode.PROTOCOL, 'GET reply is not a binary value');
        return use(storedValueOf(body));
      } catch (e) {
        failed = { error: e };
        return undefined;
      }
    };
    const out = (await this.getRequest(key, opts, take)) as T | undefined;
    if (failed) throw failed.error;
    return out;
  }

  async put(key: KeyLike, value: ValueLike, opts?: WriteOptions): Promise<void> {
    const k = keyBytes(key);
    const v = wireValue(keyBytes(value));
    const w = opts?.w ?? this.opts.w;
    const rid = randomUUID();
    await this.write(() => this.request(this.topo.placement[this.partition(k)]!.leader, MsgType.PUT, { k, v, w, rid }));
  }

  async del(key: KeyLike, opts?: WriteOptions): Promise<void> {
    const k = keyBytes(key);
    const w = opts?.w ?? this.opts.w;
    const rid = randomUUID();
    await this.write(() => this.request(this.topo.placement[this.partition(k)]!.leader, MsgType.DEL, { k, w, rid }));
  }

  /** Atomic per partition: ops are grouped by partition and each group is applied as one batch. */
  async batch(ops: BatchOp[], opts?: WriteOptions): Promise<void> {
    if (!Array.isArray(ops)) throw new TypeError('batch needs an array of operations');
    const w = opts?.w ?? this.opts.w;
    const wire = ops.map((op): [Uint8Array, Uint8Array | BinParts | null] => {
      if (op?.type !== 'put' && op?.type !== 'del') throw new TypeError('batch op type must be "put" or "del"');
      return [keyBytes(op.key), op.type === 'put' ? wireValue(keyBytes(op.value)) : null];
    });
    const groups = groupByPartition(wire, (op) => op[0], this.topo.partitions);
    const rid = randomUUID();
    await Promise.all(
      [...groups].map(([p, g]) =>
        this.write(() => this.request(this.topo.placement[p]!.leader, MsgType.BATCH, { p, ops: g, w, rid })),
      ),
    );
  }

  /**
   * One write, retried like any request (retry()) with the same request id, which its leader
   * remembers: a retry after a connection closed with the write in flight does not apply it twice.
   * When an attempt's outcome was unknown (sent, then its connection closed or it timed out) and
   * no later attempt succeeded, the write fails with UNKNOWN_OUTCOME; every other failure means it
   * was not applied.
   */
  private async write(send: () => Promise<unknown>): Promise<void> {
    let ambiguous: unknown;
    try {
      await this.retry(() =>
        send().catch((e: unknown) => {
          if (outcomeUnknown(e)) ambiguous = e;
          throw e;
        }),
      );
    } catch (e) {
      throw ambiguous === undefined ? e : writeError(outcomeUnknown(e) ? e : ambiguous);
    }
  }

  /** Sorted across all partitions; pages are fetched from each partition's leader (or replica) on demand. */
  scan(range: Range = {}, opts?: ReadOptions): KvIterator {
    const mode = this.mode(opts);
    const r = byteRange(range);
    const send: SendRequest = (node, type, body) => this.request(node, type, body);
    const fetch = (p: number, req: PageRequest): Promise<Page> => {
      const tried = new Set<string>();
      return this.retry(() => {
        // Other modes keep their choice on every attempt (a scan page has no leader fallback).
        let node: string;
        let r: ReadMode;
        if (mode === 'leader-first') ({ node, r } = this.readTarget(p, mode, tried));
        else {
          node = this.target(p, mode);
          r = modeFor(this.topo, p, node, mode);
        }
        return fetchRemotePage(send, node, p, req, r).catch((e: unknown) => {
          this.suspect(node, e);
          throw e;
        });
      });
    };
    const parts = this.topo.placement.map((pl) => pl.partition);
    return mapIterator(mergedScan(parts, r, fetch), storedValueOf);
  }

  /** Runs task `name` on every node (see NodeServer.registerTask); results in topology node order. */
  async runTask(name: string, payload: unknown): Promise<unknown[]> {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('task name must be a non-empty string');
    return Promise.all(
      this.topo.nodes.map((n) => this.retry(() => this.pool.request(n.id, MsgType.TASK, { name, payload }, 0))),
    );
  }

  /** The largest task reply this client accepts (its frame limit; TaskRunner.maxReplyBytes). */
  get maxReplyBytes(): number {
    return this.opts.maxFrameBytes ?? 64 * 1024 * 1024;
  }

  /** Whether a request failed to reach `node` in the last 2 s (TaskRunner.unreachable). */
  unreachable(node: string): boolean {
    const until = this.suspects.get(node);
    return until !== undefined && until > Date.now();
  }

  /** Runs task `name` on node `node` only (TaskRunner.runTaskOn); no retry on another node. */
  async runTaskOn(node: string, name: string, payload: unknown): Promise<unknown> {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('task name must be a non-empty string');
    if (!this.topo.nodes.some((n) => n.id === node))
      throw new TypeError(`no node ${JSON.stringify(node)} in the topology`);
    try {
      return await this.pool.request(node, MsgType.TASK, { name, payload }, 0);
    } catch (e) {
      this.suspect(node, e);
      // The caller places the task again by this client's topology: unless it learns that the node is
      // down and who leads in its place, every later query sends to the same silent node first and
      // waits out the connection's silence timeout (3 s) again once the 2 s suspicion has lapsed.
      if (this.suspects.has(node)) this.refresh().catch(() => {});
      throw e;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.pool.close();
  }
}

/** GET /cluster from the first URL that answers, then the topology over that node's peer port. */
async function fetchTopology(urls: string[], opts: ClusterClientOptions): Promise<Topology> {
  let last: unknown;
  for (const url of urls) {
    try {
      const init: Parameters<typeof secureFetch>[1] = { signal: AbortSignal.timeout(3000) };
      if (opts.token !== undefined) init.headers = { authorization: `Bearer ${opts.token}` };
      if (opts.ca !== undefined) init.ca = opts.ca;
      const res = await secureFetch(new URL('/cluster', url), init);
      if (res.status === 401 || res.status === 403) {
        const j = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
        throw new Eau2Error(
          res.status === 401 ? ErrorCode.UNAUTHENTICATED : ErrorCode.FORBIDDEN,
          `${url}: ${j.message ?? `GET /cluster answered ${res.status}`}`,
        );
      }
      if (!res.ok) throw new Error(`GET /cluster answered ${res.status}`);
      const info = (await res.json()) as {
        self?: string;
        nodes?: { id: string; host: string; peerHost?: string; peerPort: number }[];
      };
      const self = info.nodes?.find((n) => n.id === info.self);
      if (!self) throw new Error('GET /cluster did not name the node itself');
      const addr = { host: self.peerHost ?? self.host, peerPort: self.peerPort };
      const pool = new PeerPool(() => addr, {
        maxFrameBytes: 64 * 1024 * 1024,
        epoch: () => 0,
        ...peerSecurity(urls, opts),
      });
      try {
        return parseTopology(await pool.request(self.id, MsgType.TOPOLOGY, null, 3000));
      } finally {
        pool.close();
      }
    } catch (e) {
      // A refused token is not a node being down: say so at once.
      if (e instanceof Eau2Error && (e.code === ErrorCode.UNAUTHENTICATED || e.code === ErrorCode.FORBIDDEN)) throw e;
      last = e;
    }
  }
  throw new Eau2Error(
    ErrorCode.UNAVAILABLE,
    `no node answered at ${urls.join(', ')}: ${(last as Error)?.message ?? last}`,
    { cause: last },
  );
}
