// One eau2 node: its engine, the partitions it leads and follows, its peer-protocol server, its HTTP
// API, and its place in the cluster (heartbeats, elections and the partitions' configurations:
// failover.ts). This file owns the lifecycle and the moves between roles; peer requests are
// answered in peer-handlers.ts, routing is in router.ts, replication in leader-partition.ts /
// follower-partition.ts.

import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { HttpHandler, TaskContext, TaskHandler } from './extensions.js';
import type { KeyLike, KvStore } from '../../kv/index.js';
import type { ClusterConfig, NodeConfig } from '../config.js';
import { findNode } from '../config.js';
import { HttpApi, type HttpHost } from '../http/http-server.js';
import { NodeMetrics, type MetricsSource } from '../http/metrics.js';
import { createLogger, type Logger } from '../log.js';
import { keyBytes, partitionOf } from '../../kv/index.js';
import { PeerConnection, peerLiveness } from '../protocol/peer-connection.js';
import { PeerPool } from '../protocol/peer-pool.js';
import { nodeAddress, routeOf, topologyFromConfig, type Topology } from '../topology.js';
import { flattenStats, type EngineLike, type EngineOpener } from './engine-api.js';
import { FollowerLink } from './follower-link.js';
import { FollowerPartition } from './follower-partition.js';
import { LeaderPartition } from './leader-partition.js';
import { PartitionWriter } from './partition-writer.js';
import { dispatchPeerMessage, type PeerHost } from './peer-handlers.js';
import { Router, type RouterHost } from './router.js';
import { RequestIds } from './request-ids.js';
import { ReplicaLatency } from '../hedged-read.js';
import { EpochHistory } from './epoch-history.js';
import { Failover } from './failover.js';
import { FailoverState } from './partition-state.js';
import { decodeLsn, lsnKey, LSN_RESYNCING } from './stored-format.js';
import { RESTORE_WAIT_MS, restoreFromFollowers, type RestoreHost } from './restore.js';
import { NodeSecurity } from '../security/node-security.js';
import { checkProtectedMode } from '../security/protected-mode.js';
import { NodeHealth, type HealthReport } from './node-health.js';
import { TableRepair, type RepairHost } from './repair.js';
import { encodeLsn } from './stored-format.js';

export type { TaskContext, TaskHandler, HttpHandler };

export interface NodeServerOptions {
  config: ClusterConfig;
  nodeId: string;
  /** Overrides the config's dataDir for this node. */
  dataDir?: string;
  openEngine: EngineOpener;
  logger?: Logger;
  /**
   * Runs once the node is up and before it reports itself serving (GET /healthz 200): extensions
   * such as the dataframe layer register their tasks and routes here, so nothing that trusts
   * /healthz can reach the node before they exist.
   */
  beforeServing?: (node: NodeServer) => Promise<void>;
  /**
   * 'pointInTime': start even if the engine's WAL is damaged in its middle, dropping the writes
   * after the damage (they come back from the replicas: followed partitions catch up from their
   * leaders, led ones are first restored from their most advanced follower).
   */
  walRecovery?: 'strict' | 'pointInTime';
}

/**
 * The node owns its partitions, tasks and routes; each part around it (HTTP API, peer handlers,
 * failover, restore, router, metrics) sees it only through that part's narrow host interface.
 */
export class NodeServer implements RouterHost, MetricsSource, HttpHost, PeerHost, RestoreHost, RepairHost {
  readonly selfId: string;
  readonly self: NodeConfig;
  readonly pool: PeerPool;
  readonly writeTimeoutMs: number;
  readonly router: Router;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
  private readonly leaders = new Map<number, LeaderPartition>();
  private readonly followers = new Map<number, FollowerPartition>();
  private readonly tasks = new Map<string, TaskHandler>();
  private readonly httpHandlers: HttpHandler[] = [];
  readonly failover: Failover;
  /** Failovers this node won (eau2_failovers_total). */
  failovers = 0;
  /** Every replicated write (led and followed partitions) reaches the engine through this. */
  readonly writer: PartitionWriter;
  /** Authentication, TLS, limits and audit of both ports (cluster/security). */
  readonly security: NodeSecurity;
  private topo: Topology;
  /** One replication link per leader node this node follows partitions from. */
  private readonly links = new Map<string, FollowerLink>();
  /** LSNs read at start for partitions neither led nor followed yet. */
  private readonly storedLsn = new Map<number, number>();
  /** Led partitions closed by a table repair until restored from a follower (prepareRepair, refill). */
  private readonly repairingLed = new Set<number>();
  private listening = false;
  /** Set once start() opened the led partitions (restored first); applyRole opens later ones. */
  private leadersOpened = false;
  private peerServer: net.Server | undefined;
  private readonly inbound = new Set<PeerConnection>();
  private http: HttpApi | undefined;
  private isServing = false;
  readonly nodeHealth: NodeHealth;
  readonly repair: TableRepair;

  private constructor(
    readonly config: ClusterConfig,
    nodeId: string,
    readonly engine: EngineLike,
    readonly state: FailoverState,
    logger: Logger,
    /** The engine's directory (health's statfs, /metrics' disk usage). */
    readonly dataDir: string,
  ) {
    this.selfId = nodeId;
    this.self = findNode(config, nodeId);
    this.log = logger;
    this.writeTimeoutMs = config.writeTimeoutMs;
    this.topo = topologyFromConfig(config, state.node.currentEpoch);
    const opts = {
      maxFrameBytes: config.maxFrameBytes,
      epoch: () => this.state.node.currentEpoch,
      ...peerLiveness(config),
    };
    this.metrics = new NodeMetrics(nodeId, this);
    this.security = new NodeSecurity(config, nodeId, this.metrics.registry, logger, () =>
      config.nodes.map((n) => n.id),
    );
    this.pool = new PeerPool(
      (id) => nodeAddress(this.topo, id),
      opts,
      (id) => this.security.outboundPeerOptions(id),
    );
    this.router = new Router(
      this,
      new RequestIds(config.requestIdTtlMs, config.requestIdMaxEntries),
      new ReplicaLatency(config.replicaReadTimeoutMs),
    );
    this.writer = new PartitionWriter(engine);
    this.failover = new Failover(
      {
        selfId: nodeId,
        nodeIds: config.nodes.map((n) => n.id),
        pool: this.pool,
        log: logger,
        localLsn: (p) => this.localLsn(p),
        leaderOf: (p) => this.leaders.get(p),
        detachFollower: (p) => this.detachFollower(p),
        applyRole: (p) => this.applyRole(p),
        onFailover: () => void this.failovers++,
      },
      state,
      { failoverTimeoutMs: config.failoverTimeoutMs, replicaLagMaxMs: config.replicaLagMaxMs },
    );
    for (let p = 0; p < config.partitions; p++) this.refreshRoute(p);
    this.repair = new TableRepair(this);
    this.nodeHealth = new NodeHealth(
      engine,
      dataDir,
      config.diskFreeWarnBytes,
      logger,
      () => void this.reopenStoppedLeaders(),
      () => this.repair.check(),
    );
  }

  repairCounts(): { repaired: number; failures: number; corruptReads: number } {
    const r = this.repair;
    return { repaired: r.repaired, failures: r.failures, corruptReads: r.corruptReads };
  }

  onCorruption(p: number, e: Error): void {
    this.repair.corruptReads++;
    this.log.warn({ p, err: e.message }, 'read met a damaged table: answered from another replica');
    this.repair.check();
  }

  /** A followed partition whose copy is incomplete (a resync running): reads go to other replicas. */
  resyncing(p: number): boolean {
    return this.followers.get(p)?.lsn === LSN_RESYNCING;
  }

  async prepareRepair(p: number): Promise<void> {
    const fp = this.followers.get(p);
    if (fp) {
      await fp.markResyncing();
      return;
    }
    const lp = this.leaders.get(p);
    if (!lp) return;
    lp.repairing = true;
    const complete = await lp.followerCaughtUp(5000);
    if (!complete)
      this.log.warn({ p, lsn: lp.committed }, 'no follower caught up in time: restoring from the most advanced one');
    this.leaders.delete(p); // leader requests are refused as UNAVAILABLE (opening) until it leads again
    lp.dropFollowers();
    lp.close();
    // Incomplete from the drop until the restore: whatever opens p meanwhile (a failover that makes
    // this node its follower, or its leader again; a restart) resyncs it in full, never trusting an
    // LSN whose data is partly gone.
    this.repairingLed.add(p);
    this.storedLsn.set(p, LSN_RESYNCING);
    await this.engine.batch([{ type: 'put', key: lsnKey(p), value: encodeLsn(LSN_RESYNCING) }]);
  }

  async refill(p: number): Promise<void> {
    try {
      await this.refillPartition(p);
    } finally {
      this.repairingLed.delete(p);
    }
  }

  private async refillPartition(p: number): Promise<void> {
    const fp = this.followers.get(p);
    if (fp) {
      // A full resync from scratch, begun after the drop: one begun before it (the stream refuses
      // entries once the copy is marked, and the link resubscribes) wiped only the keys it saw then,
      // and a key whose newest version, or tombstone, was in the dropped table would show again.
      this.links.get(fp.leader)?.resubscribe();
      await fp.markResyncing();
      return;
    }
    for (let attempt = 1; ; attempt++) {
      // Failed over meanwhile: applyRole follows p (from LSN_RESYNCING: in full) or refuses to lead it.
      if (this.leaders.has(p) || this.state.parts[p]!.leader !== this.selfId) return;
      try {
        await restoreFromFollowers(this, [p], () => -1);
        // Leads only once a follower's copy is in: the own one lacks what the dropped table held.
        if (decodeLsn(await this.engine.get(lsnKey(p))) !== LSN_RESYNCING) {
          await this.openLeaders([p]);
          return;
        }
        this.log.warn({ p, attempt }, 'no follower to restore the repaired partition from yet; it stays closed');
      } catch (e) {
        this.log.warn({ p, attempt, err: (e as Error).message }, 'restore from a follower failed; retrying');
      }
      await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
    }
  }

  async rewriteMeta(): Promise<void> {
    // The failover state (votes, epochs, ISR) first, synced: a vote forgotten could elect two leaders.
    await this.state.save([...this.state.parts.keys()], true);
    const ops: { type: 'put'; key: Uint8Array; value: Uint8Array }[] = [];
    for (const lp of this.leaders.values())
      ops.push({ type: 'put', key: lsnKey(lp.p), value: encodeLsn(lp.committed) });
    for (const fp of this.followers.values()) ops.push({ type: 'put', key: lsnKey(fp.p), value: encodeLsn(fp.lsn) });
    for (const p of this.repairingLed) ops.push({ type: 'put', key: lsnKey(p), value: encodeLsn(LSN_RESYNCING) });
    await this.engine.batch(ops);
  }

  health(): HealthReport {
    return this.nodeHealth.report();
  }

  /**
   * Partitions that stopped leading after an engine failure lead again once the engine is ok (a full
   * disk that has room again): from the LSN the engine holds, as after a restart (a follower holding
   * an entry this node streamed but could not apply is resynced: LeaderPartition.subscribe). Runs at
   * every health check that finds the engine ok; does nothing when no partition stopped.
   */
  private async reopenStoppedLeaders(): Promise<void> {
    const stopped = [...this.leaders.values()].filter((lp) => lp.stopped).map((lp) => lp.p);
    if (stopped.length === 0) return;
    for (const p of stopped) this.leaders.delete(p);
    try {
      await this.openLeaders(stopped);
      this.log.info({ partitions: stopped }, 'partitions lead again after the engine recovered');
    } catch (e) {
      this.log.error({ partitions: stopped, err: (e as Error).message }, 'cannot reopen partitions');
    }
  }

  static async start(opts: NodeServerOptions): Promise<NodeServer> {
    const self = findNode(opts.config, opts.nodeId);
    checkProtectedMode(self, opts.config.security);
    const dataDir = opts.dataDir ?? self.dataDir;
    const log = opts.logger ?? createLogger({ bindings: { node: opts.nodeId } });
    const engine = await opts.openEngine(dataDir, {
      memtableBytes: opts.config.memtableBytes,
      scrubBytesPerSecond: opts.config.scrubBytesPerSecond,
      scrubIntervalMs: opts.config.scrubIntervalMs,
      walRecovery: opts.walRecovery ?? 'strict',
    });
    let node: NodeServer | undefined;
    try {
      const state = await FailoverState.load(engine, topologyFromConfig(opts.config).placement);
      node = new NodeServer(opts.config, opts.nodeId, engine, state, log, dataDir);
      const leads = await node.openFollowers();
      await node.listen();
      node.failover.start();
      // Hear from a majority first: a leader that cannot reach one takes no writes, and the others
      // may have moved this node's leaderships elsewhere while it was down.
      await node.failover.awaitMajority(Math.min(opts.config.failoverTimeoutMs, RESTORE_WAIT_MS));
      // What this node leads now, its own configuration or one adopted meanwhile (a restarted or
      // wiped node can learn that it was elected before it went down): each is restored first.
      const stillLeads: number[] = [];
      for (let p = 0; p < opts.config.partitions; p++)
        if (state.parts[p]!.leader === opts.nodeId && state.replicas[p]!.includes(opts.nodeId)) stillLeads.push(p);
      for (const p of stillLeads) if (!leads.includes(p)) await node.detachFollower(p);
      // Led partitions open last: each is first brought up to its most advanced follower (restore.ts),
      // and until they are open their requests are refused as UNAVAILABLE.
      const own = new Map<number, number>();
      for (const p of stillLeads) own.set(p, Math.max(0, decodeLsn(await engine.get(lsnKey(p)))));
      await restoreFromFollowers(node, stillLeads, (p) => own.get(p)!);
      await node.openLeaders(stillLeads);
      node.leadersOpened = true;
      // Configurations adopted during the start (leaderships lost or won meanwhile) take effect now.
      for (let p = 0; p < opts.config.partitions; p++) await node.applyRole(p);
      node.nodeHealth.start();
      if (opts.beforeServing) await opts.beforeServing(node);
      node.isServing = true;
      log.info(
        {
          http: `${opts.config.security.tls ? 'https' : 'http'}://${self.host}:${self.port}`,
          peer: `${self.host}:${self.peerPort}`,
          dataDir,
          epoch: state.node.currentEpoch,
        },
        'node serving',
      );
      return node;
    } catch (e) {
      if (node) await node.close().catch(() => {});
      else await engine.close().catch(() => {});
      throw e;
    }
  }

  private async openLeaders(leads: number[]): Promise<void> {
    for (const p of leads) {
      // A partition failed over while it was closed (a repair, a full disk) is followed instead.
      if (this.leaders.has(p) || this.state.parts[p]!.leader !== this.selfId) continue;
      let lsn = decodeLsn(await this.engine.get(lsnKey(p)));
      if (lsn === LSN_RESYNCING) lsn = 0; // only a former follower can hold this; its data is partial
      this.openLeader(p, lsn);
    }
  }

  private openLeader(p: number, lsn: number): void {
    const r = this.state.parts[p]!;
    const limits = { entries: this.config.backlogEntries, bytes: this.config.backlogBytes };
    const lp = new LeaderPartition(
      p,
      this.engine,
      this.writer,
      lsn,
      this.topo.placement[p]!.followers,
      limits,
      {
        onAckLag: (_p, _f, s) => this.metrics.ackSeconds.observe(s),
        log: (level, msg, extra) => this.log[level](extra ?? {}, msg),
        fenced: () => this.failover.fenced(),
      },
      { self: this.selfId, epoch: r.epoch, history: r.history, isr: r.isr, minInSync: this.config.minInSync },
    );
    this.leaders.set(p, lp);
  }

  /** Opens the followed partitions and their links; returns the partitions this node leads. */
  private async openFollowers(): Promise<number[]> {
    const leads: number[] = [];
    for (let p = 0; p < this.config.partitions; p++) {
      if (!this.state.replicas[p]!.includes(this.selfId)) continue;
      const lsn = decodeLsn(await this.engine.get(lsnKey(p)));
      this.storedLsn.set(p, lsn);
      if (this.state.parts[p]!.leader === this.selfId) leads.push(p);
      else this.openFollower(p, lsn);
    }
    return leads;
  }

  /** A follower of p, attached to the link of p's leader (subscribing at once when connected). */
  private openFollower(p: number, lsn: number): FollowerPartition {
    const leader = this.state.parts[p]!.leader;
    const fp = new FollowerPartition(
      p,
      leader,
      this.engine,
      this.writer,
      lsn,
      (pp, err) => this.log.warn({ p: pp, err: err.message }, 'replication apply failed; resubscribing'),
      async (pp, h) => {
        // The leader's history describes this copy once it streams from it; written in order with
        // the entries (no sync needed: the engine keeps batches in order across a crash).
        this.state.parts[pp]!.history = new EpochHistory(h);
        await this.state.save([pp], false);
      },
    );
    this.followers.set(p, fp);
    this.linkTo(leader).add(fp);
    return fp;
  }

  private linkTo(leaderId: string): FollowerLink {
    let link = this.links.get(leaderId);
    if (link && !link.isStopped) return link;
    link = new FollowerLink(
      {
        selfId: this.selfId,
        leaderId,
        address: () => {
          const n = nodeAddress(this.topo, leaderId);
          return n && { host: n.host, port: n.peerPort };
        },
        epoch: () => this.state.node.currentEpoch,
        subscription: (p) => ({ pe: this.state.parts[p]!.epoch, h: this.state.parts[p]!.history.entries }),
        maxFrameBytes: this.config.maxFrameBytes,
        secure: () => ({ ...peerLiveness(this.config), ...this.security.outboundPeerOptions(leaderId) }),
        log: (level, msg, extra) => this.log[level](extra ?? {}, msg),
      },
      [],
    );
    this.links.set(leaderId, link);
    if (this.listening) link.start();
    return link;
  }

  /** Stops following p (if it does); resolves with the LSN this node's engine holds for p. */
  async detachFollower(p: number): Promise<number> {
    const fp = this.followers.get(p);
    if (!fp) return this.localLsn(p);
    this.followers.delete(p);
    const link = this.links.get(fp.leader);
    link?.remove(p);
    const lsn = await fp.detach();
    this.storedLsn.set(p, lsn);
    if (link && link.size === 0 && this.links.get(fp.leader) === link) {
      this.links.delete(fp.leader);
      await link.stop();
    }
    return lsn;
  }

  /**
   * Takes this node's role in p's current configuration (persisted by failover.ts before this is
   * called): a leader whose epoch is over steps down and follows the new leader; a follower whose
   * leader changed detaches and follows the new one; a node elected leader opens the partition.
   */
  async applyRole(p: number): Promise<void> {
    const r = this.state.parts[p]!;
    this.refreshRoute(p);
    if (!this.state.replicas[p]!.includes(this.selfId)) return;
    const lp = this.leaders.get(p);
    if (r.leader === this.selfId) {
      if (lp && lp.epoch === r.epoch) return;
      if (lp) await this.stepDown(p, lp, `epoch ${lp.epoch} ended`);
      if (!this.leadersOpened) return; // start() restores and opens it
      const lsn = await this.detachFollower(p);
      if (lsn < 0) {
        this.log.error({ p, epoch: r.epoch }, 'leader without a complete copy; refusing to lead');
        return;
      }
      this.openLeader(p, lsn);
      this.log.info({ p, epoch: r.epoch, lsn }, 'leading partition');
      return;
    }
    if (lp) await this.stepDown(p, lp, `${r.leader} leads epoch ${r.epoch}`);
    const fp = this.followers.get(p);
    if (fp && fp.leader === r.leader) return;
    const lsn = fp ? await this.detachFollower(p) : this.localLsn(p);
    this.openFollower(p, lsn);
  }

  private async stepDown(p: number, lp: LeaderPartition, why: string): Promise<void> {
    this.leaders.delete(p);
    this.log.warn({ p, epoch: lp.epoch, why }, 'stepping down as leader');
    await lp.stepDown(why);
    lp.close();
    this.storedLsn.set(p, decodeLsn(await this.engine.get(lsnKey(p))));
  }

  /** This node's LSN of p: what it leads, follows or holds on disk (-1: incomplete copy). */
  localLsn(p: number): number {
    const lp = this.leaders.get(p);
    if (lp) return lp.committed;
    const fp = this.followers.get(p);
    if (fp) return fp.lsn;
    return this.storedLsn.get(p) ?? -1;
  }

  /** Brings the routing table's entry for p in line with the partition's configuration. */
  private refreshRoute(p: number): void {
    const r = this.state.parts[p]!;
    this.topo.placement[p] = routeOf(p, this.state.replicas[p]!, r.leader, r.epoch, r.isr);
    this.topo.epoch = this.state.node.currentEpoch;
  }

  private async listen(): Promise<void> {
    const server = this.security.createPeerServer((socket) => {
      const conn = new PeerConnection(socket, {
        maxFrameBytes: this.config.maxFrameBytes,
        epoch: () => this.topo.epoch,
        ...peerLiveness(this.config),
        ...this.security.inboundPeerOptions(),
        onMessage: (msg, c) => dispatchPeerMessage(this, msg, c),
        onClose: (c) => {
          this.inbound.delete(c);
          for (const lp of this.leaders.values()) lp.dropConnection(c);
        },
        onProtocolError: (err, c) => {
          this.metrics.badFrames.inc();
          this.log.warn({ err: err.message, remote: socket.remoteAddress }, 'refused a peer frame');
          this.security.onInboundProtocolError(c);
        },
      });
      this.inbound.add(conn);
      this.security.watchInbound(conn);
    });
    this.peerServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.self.peerPort, this.self.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.http = new HttpApi(this);
    await this.http.listen(this.self.port, this.self.host);
    this.listening = true;
    for (const l of this.links.values()) l.start();
  }

  /** The routing table: configurations as this node has them, nodes' liveness from its heartbeats. */
  topology(): Topology {
    this.topo.epoch = this.state.node.currentEpoch;
    for (const n of this.topo.nodes) n.status = this.failover.detector.status(n.id);
    return this.topo;
  }

  leaderOf(p: number): LeaderPartition | undefined {
    return this.leaders.get(p);
  }

  suspects(node: string): boolean {
    return this.failover.detector.suspected(node);
  }

  reachesMajority(): boolean {
    return this.failover.detector.reachesMajority();
  }

  followerOf(p: number): FollowerPartition | undefined {
    return this.followers.get(p);
  }

  /** True once the node is up and its extensions registered (GET /healthz answers 200). */
  get serving(): boolean {
    return this.isServing;
  }

  task(name: string): TaskHandler | undefined {
    return this.tasks.get(name);
  }

  extensionHandlers(): readonly HttpHandler[] {
    return this.httpHandlers;
  }

  /** True while p is led here but not open yet (restoring): its requests get UNAVAILABLE. */
  opening(p: number): boolean {
    return !this.leaders.has(p) && this.topo.placement[p]!.leader === this.selfId;
  }

  holds(p: number): boolean {
    return this.leaders.has(p) || this.followers.has(p);
  }

  registerTask(name: string, handler: TaskHandler): void {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('task name must be a non-empty string');
    if (typeof handler !== 'function') throw new TypeError('task handler must be a function');
    this.tasks.set(name, handler);
  }

  addHttpHandler(handler: HttpHandler): void {
    this.httpHandlers.push(handler);
  }

  /** The cluster as a KvStore from this node, for HTTP extensions (reads from leaders). */
  get store(): KvStore {
    return this.router.store();
  }

  taskContext(): TaskContext {
    return {
      store: this.router.store({ get: 'any', scan: 'local', w: 'all' }),
      expiringStore: (expiresAt: number) => this.router.store({ get: 'any', scan: 'local', w: 'all' }, expiresAt),
      isLeaderFor: (key: KeyLike) => this.leaders.has(partitionOf(keyBytes(key), this.topo.partitions)),
      nodeId: this.selfId,
      maxReplyBytes: this.config.maxFrameBytes,
    };
  }

  leaderState(): ReturnType<MetricsSource['leaderState']> {
    const now = performance.now();
    return [...this.leaders.values()].map((lp) => ({
      p: lp.p,
      lsn: lp.committed,
      epoch: lp.epoch,
      isr: lp.isr.slice(),
      followers: lp.progress().map((f) => {
        const id = f.id;
        const acked = f.acked;
        const oldest = acked < lp.committed ? lp.entryAt(acked + 1) : undefined;
        const lagSeconds = acked >= lp.committed ? 0 : oldest ? (now - oldest.at) / 1000 : Number.NaN;
        return { id, acked, lagSeconds, state: lp.followerState(f) };
      }),
    }));
  }

  followerState(): { p: number; lsn: number; resyncs: number }[] {
    return [...this.followers.values()].map((fp) => ({ p: fp.p, lsn: fp.lsn, resyncs: fp.resyncs }));
  }

  failoverStats(): { failovers: number; leaderlessSeconds: Map<number, number>; epochs: number[] } {
    return {
      failovers: this.failovers,
      leaderlessSeconds: this.failover.leaderlessSeconds,
      epochs: this.state.parts.map((r) => r.epoch),
    };
  }

  /** No node coordinates (every node heartbeats, votes and answers the topology): always a member. */
  isCoordinator(): boolean {
    return false;
  }

  engineStats(): Record<string, number> {
    try {
      return flattenStats(this.engine.stats());
    } catch {
      return {};
    }
  }

  async close(): Promise<void> {
    this.isServing = false;
    this.failover.stop();
    this.nodeHealth.stop();
    await Promise.all([...this.links.values()].map((l) => l.stop()));
    for (const lp of this.leaders.values()) lp.close();
    await this.http?.close();
    for (const c of this.inbound) c.destroy();
    if (this.peerServer) await new Promise<void>((r) => this.peerServer!.close(() => r()));
    this.pool.close();
    await this.engine.close();
    this.log.info('node stopped');
  }
}
