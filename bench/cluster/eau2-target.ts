// The eau2 side of the cluster benchmark: a local 3-node cluster (2 replicas, 16 partitions) of real
// node processes on loopback, driven through ClusterClient; plus its own replication-ack metric
// (eau2_replication_ack_seconds, from every node's /metrics).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ClusterClient, type ClusterClientOptions } from '../../cluster/index.js';
import type { LagTarget } from './lag-probe.js';
import type { Target } from './ycsb.js';
import { freePorts } from '../lib/free-ports.js';
import { nodeProcessArgs } from '../lib/node-process.js';
import { stopProcesses } from '../lib/stop-processes.js';

const REPO = resolve(import.meta.dirname, '../..');

export class Eau2Cluster {
  private constructor(
    private readonly dir: string,
    private readonly procs: ChildProcess[],
    readonly urls: string[],
    readonly client: ClusterClient,
  ) {}

  /** `extra`: more cluster config fields (e.g. memtableBytes). */
  static async start(
    nodes = 3,
    replicationFactor = 2,
    partitions = 16,
    extra: Record<string, unknown> = {},
    clientOptions: ClusterClientOptions = {},
  ): Promise<Eau2Cluster> {
    const dir = mkdtempSync(join(tmpdir(), 'eau2-bench-'));
    const ports = await freePorts(2 * nodes);
    const config = {
      partitions,
      replicationFactor,
      ...extra,
      nodes: Array.from({ length: nodes }, (_, i) => ({
        id: `n${i + 1}`,
        host: '127.0.0.1',
        port: ports[2 * i],
        peerPort: ports[2 * i + 1],
        dataDir: join(dir, `n${i + 1}`),
      })),
    };
    const file = join(dir, 'cluster.json');
    writeFileSync(file, JSON.stringify(config));
    // EAU2_BENCH_CPU_PROF=<dir>: each node writes a V8 CPU profile there when it exits (bench/lib/cpu-profile.ts reads it).
    const prof = process.env.EAU2_BENCH_CPU_PROF
      ? ['--cpu-prof', '--cpu-prof-dir', resolve(process.env.EAU2_BENCH_CPU_PROF)]
      : [];
    // EAU2_BENCH_NODE_ARGS: more node flags for the nodes, e.g. --perf-basic-prof for `perf record`.
    const nodeArgs = (process.env.EAU2_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
    const procs = config.nodes.map((n) =>
      spawn(process.execPath, nodeProcessArgs(file, n.id, [...prof, ...nodeArgs]), {
        cwd: REPO,
        stdio: ['ignore', 'ignore', 'inherit'],
      }),
    );
    const urls = config.nodes.map((n) => `http://127.0.0.1:${n.port}`);
    let client: ClusterClient;
    try {
      for (const u of urls) {
        const deadline = Date.now() + 60_000;
        for (;;) {
          try {
            if ((await fetch(`${u}/healthz`)).ok) break;
          } catch {
            // starting
          }
          if (Date.now() > deadline) throw new Error(`${u} did not start`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      client = await ClusterClient.connect(urls, clientOptions);
    } catch (e) {
      // Nodes left running would keep this process alive (and their ports taken) after the error.
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    return new Eau2Cluster(dir, procs, urls, client);
  }

  target(): Target {
    const c = this.client;
    return {
      name: 'eau2',
      read: (k) => c.get(k),
      update: (k, v) => c.put(k, v),
    };
  }

  lagTarget(): LagTarget {
    const c = this.client;
    return {
      writePrimary: (k, v) => c.put(k, v),
      readReplica: async (k) => {
        const v = await c.get(k, { read: 'follower' });
        return v === undefined ? undefined : Buffer.from(v).toString();
      },
    };
  }

  /** The node processes: their CPU is read from /proc, as Redis's is. */
  pids(): number[] {
    return this.procs.map((p) => p.pid!);
  }

  /** Young-generation (scavenge) collections so far, summed over the nodes (prom-client's gc metric). */
  async minorGcs(): Promise<number> {
    let n = 0;
    for (const u of this.urls) {
      const text = await (await fetch(`${u}/metrics`)).text();
      n += Number(/^nodejs_gc_duration_seconds_count\{[^}]*kind="minor"[^}]*\} (\S+)/m.exec(text)?.[1] ?? 0);
    }
    return n;
  }

  /** Cumulative bucket counts of eau2_replication_ack_seconds summed over the nodes (le -> count). */
  async ackBuckets(): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const u of this.urls) {
      const text = await (await fetch(`${u}/metrics`)).text();
      for (const m of text.matchAll(/^eau2_replication_ack_seconds_bucket\{le="([^"]+)"[^}]*\} (\S+)/gm)) {
        const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
        out.set(le, (out.get(le) ?? 0) + Number(m[2]));
      }
    }
    return out;
  }

  async stop(): Promise<void> {
    await this.client.close();
    await stopProcesses(this.procs.map((proc, i) => ({ proc, name: `eau2 node n${i + 1}` })));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The q-quantile (seconds) of the acknowledgements between two bucket snapshots, interpolating
 * linearly inside the bucket, as Prometheus's histogram_quantile does.
 */
export function bucketQuantile(before: Map<number, number>, after: Map<number, number>, q: number): number | null {
  const les = [...after.keys()].sort((a, b) => a - b);
  const counts = les.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < les.length; i++) {
    if (counts[i]! >= rank) {
      const lo = i === 0 ? 0 : les[i - 1]!;
      const hi = les[i]!;
      if (!Number.isFinite(hi)) return lo;
      const below = i === 0 ? 0 : counts[i - 1]!;
      const inBucket = counts[i]! - below;
      return lo + (hi - lo) * (inBucket > 0 ? (rank - below) / inBucket : 0);
    }
  }
  return les[les.length - 2] ?? null;
}
