// The eau2 side of the cluster benchmark: a local 3-node cluster (2 replicas, 16 partitions) of real
// node processes on loopback, driven through ClusterClient; plus its own replication-ack metric
// (eau2_replication_ack_seconds, from every node's /metrics).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ClusterClient } from '../../cluster/index.js';
import type { LagTarget } from './lag-probe.js';
import type { Target } from './ycsb.js';

const REPO = resolve(import.meta.dirname, '../..');

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<net.Server>((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => res(s));
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

export class Eau2Cluster {
  private constructor(private readonly dir: string, private readonly procs: ChildProcess[], readonly urls: string[], readonly client: ClusterClient) {}

  static async start(nodes = 3, replicationFactor = 2, partitions = 16): Promise<Eau2Cluster> {
    const dir = mkdtempSync(join(tmpdir(), 'eau2-bench-'));
    const ports = await freePorts(2 * nodes);
    const config = {
      partitions, replicationFactor,
      nodes: Array.from({ length: nodes }, (_, i) => ({ id: `n${i + 1}`, host: '127.0.0.1', port: ports[2 * i], peerPort: ports[2 * i + 1], dataDir: join(dir, `n${i + 1}`) })),
    };
    const file = join(dir, 'cluster.json');
    writeFileSync(file, JSON.stringify(config));
    const procs = config.nodes.map((n) => spawn(process.execPath, ['--import', 'tsx', join(REPO, 'cluster/cli/main.ts'), 'node', '--config', file, '--id', n.id, '--log-level', 'warn'], {
      cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'],
    }));
    const urls = config.nodes.map((n) => `http://127.0.0.1:${n.port}`);
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
    const client = await ClusterClient.connect(urls);
    return new Eau2Cluster(dir, procs, urls, client);
  }

  target(): Target {
    const c = this.client;
    return { name: 'eau2', read: (k) => c.get(k), update: (k, v) => c.put(k, v) };
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

  /** Max over nodes of the leader-measured ack-time quantiles (seconds), last 60 s window. */
  async ackQuantiles(): Promise<{ p50: number; p99: number }> {
    let p50 = 0;
    let p99 = 0;
    for (const u of this.urls) {
      const text = await (await fetch(`${u}/metrics`)).text();
      const q = (x: string): number => Number(new RegExp(`^eau2_replication_ack_seconds\\{quantile="${x}"[^}]*\\} (\\S+)`, 'm').exec(text)?.[1] ?? 0);
      p50 = Math.max(p50, q('0.5') || 0);
      p99 = Math.max(p99, q('0.99') || 0);
    }
    return { p50, p99 };
  }

  async stop(): Promise<void> {
    await this.client.close();
    await Promise.all(this.procs.map((p) => new Promise<void>((res) => {
      if (p.exitCode !== null) return res();
      p.once('exit', () => res());
      p.kill('SIGTERM');
    })));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
