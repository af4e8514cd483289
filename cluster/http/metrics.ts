// Prometheus metrics of one node (GET /metrics, prom-client): HTTP and peer request rates and
// latencies, replication progress and lag per partition, the node's role, disk and build, and the
// engine's own stats (engine-metrics.ts). Names follow Prometheus's conventions: base units
// (seconds, bytes), counters end in _total, one metric per meaning. Gauges that mirror state are
// filled at scrape time from the node, so the hot path only bumps counters. docs/operations.md
// lists them all.

import { readdirSync, statfsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { packageVersion } from '../package-version.js';
import { MsgType } from '../protocol/messages.js';
import type { HealthReport } from '../node/node-health.js';
import { registerEngineMetrics } from './engine-metrics.js';

const TYPE_NAMES = new Map<number, string>(Object.entries(MsgType).map(([k, v]) => [v, k]));

export interface MetricsSource {
  /** Per led partition: committed LSN and, per follower, acknowledged LSN and seconds behind. */
  leaderState(): {
    p: number;
    lsn: number;
    epoch?: number;
    isr?: string[];
    followers: { id: string; acked: number; lagSeconds: number; state?: string }[];
  }[];
  /** Per followed partition: applied LSN (-1 while resyncing). */
  followerState(): { p: number; lsn: number; resyncs: number }[];
  engineStats(): Record<string, number>;
  /** Failover counters: elections this node won, and per partition seconds without a reachable leader. */
  failoverStats?(): { failovers: number; leaderlessSeconds: Map<number, number>; epochs: number[] };
  health(): HealthReport;
  /** Damaged tables repaired from replicas, repairs that failed, reads answered by another replica. */
  repairCounts(): { repaired: number; failures: number; corruptReads: number };
  /** True while this node is the cluster's coordinator. */
  isCoordinator(): boolean;
  /** The node's engine directory. */
  readonly dataDir: string;
}

/** Bytes of the files under `dir` (the engine's directory is flat, but look one level down too). */
function directoryBytes(dir: string, depth = 0): number {
  let n = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    try {
      if (e.isFile()) n += statSync(p).size;
      else if (e.isDirectory() && depth < 2) n += directoryBytes(p, depth + 1);
    } catch {
      // deleted meanwhile (a compaction's input)
    }
  }
  return n;
}

/** How often the event-loop lag (`nodejs_eventloop_lag_*`) is sampled. */
const EVENT_LOOP_SAMPLE_MS = 100;

export class NodeMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpSeconds: Histogram<'method' | 'route' | 'status'>;
  /** Peer messages received, by wire type (plain numbers: prom-client's labelled inc was ~1.5% of a node's CPU). */
  private readonly peerCounts = new Float64Array(256);
  readonly ackSeconds: Histogram;
  readonly badFrames: Counter;

  countPeerMessage(type: number): void {
    this.peerCounts[type & 0xff]!++;
  }

  constructor(nodeId: string, source: MetricsSource) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: nodeId });
    // The event-loop lag histogram samples on a timer: prom-client's default, every 10 ms, woke an
    // idle node 100 times a second (a fifth of an idle cluster's CPU, bench/cluster/README.md);
    // every 100 ms still catches any stall of 100 ms or more.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    // prom-client names three gauges with a counter's _total suffix (promtool refuses them); each is
    // the sum of its per-type gauge without the suffix (nodejs_active_handles{type}, ...).
    for (const n of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`nodejs_active_${n}_total`);
    this.httpRequests = new Counter({
      name: 'eau2_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpSeconds = new Histogram({
      name: 'eau2_http_request_duration_seconds',
      help: 'HTTP request latency, by method, route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    });
    const peerCounts = this.peerCounts;
    new Counter({
      name: 'eau2_peer_messages_total',
      help: 'Peer-protocol messages received, by type',
      labelNames: ['type'],
      registers,
      collect() {
        this.reset();
        for (let t = 0; t < 256; t++)
          if (peerCounts[t]! > 0) this.inc({ type: TYPE_NAMES.get(t) ?? 'UNKNOWN' }, peerCounts[t]!);
      },
    });
    this.badFrames = new Counter({
      name: 'eau2_peer_bad_frames_total',
      help: 'Peer frames refused as malformed',
      registers,
    });
    // A histogram, not a summary: it is observed on every acknowledgement, and a prom-client summary
    // (a t-digest) cost ~3% of a node's CPU there; quantiles come from the buckets (bench/cluster).
    this.ackSeconds = new Histogram({
      name: 'eau2_replication_ack_seconds',
      help: 'Time from a write being streamed by its leader to a follower acknowledging it',
      registers,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
    });
    new Gauge({
      name: 'eau2_replication_lag_entries',
      help: 'Entries a follower is behind its leader (reported by the leader)',
      labelNames: ['partition', 'follower'],
      registers,
      collect() {
        this.reset();
        for (const s of source.leaderState())
          for (const f of s.followers)
            this.set({ partition: String(s.p), follower: f.id }, Math.max(0, s.lsn - f.acked));
      },
    });
    new Gauge({
      name: 'eau2_replication_lag_seconds',
      help: 'Age of the oldest write a follower has not acknowledged (0 when caught up)',
      labelNames: ['partition', 'follower'],
      registers,
      collect() {
        this.reset();
        for (const s of source.leaderState())
          for (const f of s.followers) this.set({ partition: String(s.p), follower: f.id }, f.lagSeconds);
      },
    });
    new Gauge({
      name: 'eau2_partition_lsn',
      help: 'Last LSN applied on this node, per partition and role',
      labelNames: ['partition', 'role'],
      registers,
      collect() {
        this.reset();
        for (const s of source.leaderState()) this.set({ partition: String(s.p), role: 'leader' }, s.lsn);
        for (const s of source.followerState()) this.set({ partition: String(s.p), role: 'follower' }, s.lsn);
      },
    });
    new Counter({
      name: 'eau2_replication_resyncs_total',
      help: 'Full resyncs this node completed as a follower since it started',
      labelNames: ['partition'],
      registers,
      collect() {
        this.reset();
        for (const s of source.followerState()) if (s.resyncs > 0) this.inc({ partition: String(s.p) }, s.resyncs);
      },
    });
    new Counter({
      name: 'eau2_failovers_total',
      help: 'Elections this node won: partitions it took over from a failed leader',
      registers,
      collect() {
        this.reset();
        const f = source.failoverStats?.();
        if (f) this.inc(f.failovers);
      },
    });
    new Counter({
      name: 'eau2_partition_leaderless_seconds_total',
      help: 'Seconds each partition had no reachable leader, as seen from this node',
      labelNames: ['partition'],
      registers,
      collect() {
        this.reset();
        const f = source.failoverStats?.();
        if (f) for (const [p, s] of f.leaderlessSeconds) this.inc({ partition: String(p) }, s);
      },
    });
    new Gauge({
      name: 'eau2_partition_epoch',
      help: "Each partition's epoch as this node knows it",
      labelNames: ['partition'],
      registers,
      collect() {
        this.reset();
        const f = source.failoverStats?.();
        if (f) f.epochs.forEach((e, p) => this.set({ partition: String(p) }, e));
      },
    });
    const STATES = { ok: 0, degraded: 1, failed: 2 } as const;
    new Gauge({
      name: 'eau2_health',
      help: 'Engine state: 0 ok, 1 degraded (writes refused, recovering by itself, e.g. a full disk), 2 failed',
      registers,
      collect() {
        this.set(STATES[source.health().status]);
      },
    });
    new Gauge({
      name: 'eau2_disk_free_bytes',
      help: 'Bytes free on the filesystem of the data directory (statfs, checked every 2 s)',
      registers,
      collect() {
        const f = source.health().diskFreeBytes;
        if (f === undefined) this.reset();
        else this.set(f);
      },
    });
    new Gauge({
      name: 'eau2_damaged_tables',
      help: 'Tables the engine found damaged (scrub or read) and not yet repaired',
      registers,
      collect() {
        this.set(source.health().damagedTables ?? 0);
      },
    });
    for (const [name, key, help] of [
      ['eau2_table_repairs_total', 'repaired', 'Damaged tables dropped and their partitions repaired from replicas'],
      ['eau2_table_repair_failures_total', 'failures', 'Table repairs that could not run or failed'],
      ['eau2_corrupt_reads_total', 'corruptReads', 'Reads that met a damaged table and went to another replica'],
    ] as const) {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(source.repairCounts()[key]);
        },
      });
    }
    new Gauge({
      name: 'eau2_disk_low',
      help: '1 while eau2_disk_free_bytes is under the diskFreeWarnBytes config',
      registers,
      collect() {
        this.set(source.health().diskLow ? 1 : 0);
      },
    });
    new Gauge({
      name: 'eau2_partitions',
      help: 'Partitions this node holds, by role (leader or follower)',
      labelNames: ['role'],
      registers,
      collect() {
        this.set({ role: 'leader' }, source.leaderState().length);
        this.set({ role: 'follower' }, source.followerState().length);
      },
    });
    new Gauge({
      name: 'eau2_node_role',
      help: "1 for this node's role in the cluster (coordinator or member), 0 for the other",
      labelNames: ['role'],
      registers,
      collect() {
        const c = source.isCoordinator();
        this.set({ role: 'coordinator' }, c ? 1 : 0);
        this.set({ role: 'member' }, c ? 0 : 1);
      },
    });
    new Gauge({
      name: 'eau2_build_info',
      help: 'Always 1; the labels give the eau2 version this node runs',
      labelNames: ['version'],
      registers,
    }).set({ version: packageVersion() }, 1);
    new Gauge({
      name: 'eau2_disk_used_bytes',
      help: "Bytes of the files in the node's data directory",
      registers,
      collect() {
        this.set(directoryBytes(source.dataDir));
      },
    });
    new Gauge({
      name: 'eau2_disk_size_bytes',
      help: 'Size of the filesystem of the data directory',
      registers,
      collect() {
        try {
          const f = statfsSync(source.dataDir);
          this.set(f.blocks * f.bsize);
        } catch {
          this.set(Number.NaN);
        }
      },
    });
    registerEngineMetrics(this.registry, () => source.engineStats());
  }
}
