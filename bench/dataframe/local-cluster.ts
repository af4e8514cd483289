// A local eau2 cluster for the dataframe benchmark: N real node processes on loopback (free ports
// from the OS, a temp folder for config and data), a ClusterClient, and each node's peak RSS read
// from /proc/<pid>/status (VmHWM) so the report can show every process's memory, not just ours.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ClusterClient } from '../../cluster/index.js';
import { freePorts } from '../lib/free-ports.js';
import { nodeProcessArgs } from '../lib/node-process.js';
import { procCpuSeconds } from '../lib/process-probes.js';
import { stopProcesses } from '../lib/stop-processes.js';

const REPO = resolve(import.meta.dirname, '../..');

/** Peak resident set of a process in bytes (Linux), or undefined. */
export function peakRssOf(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used, in ms (Linux), or 0. */
function cpuMsOf(pid: number): number {
  return procCpuSeconds(pid) * 1000;
}

export class LocalCluster {
  private constructor(
    readonly dir: string,
    readonly procs: { id: string; proc: ChildProcess }[],
    readonly client: ClusterClient,
    /** Each node's HTTP address. */
    readonly urls: string[],
  ) {}

  /**
   * `opts.env` is added to the nodes' environment; with `opts.onStderr`, each node's stderr goes to
   * it line by line (with the node's id) instead of this process's stderr.
   */
  static async start(
    nodes = 3,
    replicationFactor = 2,
    partitions = 16,
    opts: { env?: Record<string, string>; onStderr?: (id: string, line: string) => void } = {},
  ): Promise<LocalCluster> {
    const dir = await mkdtemp(join(tmpdir(), 'eau2-dfbench-'));
    const ports = await freePorts(2 * nodes);
    const config = {
      partitions,
      replicationFactor,
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
    // EAU2_BENCH_CPU_PROF=<dir>: each node writes a V8 CPU profile there when it exits (read it with
    // bench/lib/cpu-profile.ts), as in the cluster bench.
    const prof = process.env.EAU2_BENCH_CPU_PROF
      ? ['--cpu-prof', '--cpu-prof-dir', resolve(process.env.EAU2_BENCH_CPU_PROF)]
      : [];
    // EAU2_BENCH_NODE_FLAGS="--flag ...": more node/V8 flags for the node processes (to compare).
    const extra = (process.env.EAU2_BENCH_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f !== '');
    const procs = config.nodes.map((n) => ({
      id: n.id,
      proc: spawn(process.execPath, nodeProcessArgs(file, n.id, [...extra, ...prof]), {
        cwd: REPO,
        stdio: ['ignore', 'ignore', opts.onStderr ? 'pipe' : 'inherit'],
        ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
      }),
    }));
    const onStderr = opts.onStderr;
    if (onStderr)
      for (const { id, proc } of procs) {
        let rest = '';
        proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
          const lines = (rest + d).split('\n');
          rest = lines.pop()!;
          for (const l of lines) onStderr(id, l);
        });
      }
    const urls = config.nodes.map((n) => `http://127.0.0.1:${n.port}`);
    // A node answers /healthz before it has loaded the dataframe layer (tasks, then /df routes), so
    // wait for /df itself: once it answers 200, the node also runs dataframe tasks.
    for (const u of urls) {
      const deadline = Date.now() + 60_000;
      for (;;) {
        try {
          if ((await fetch(`${u}/df`)).status === 200) break;
        } catch {
          // still starting
        }
        if (Date.now() > deadline) throw new Error(`${u} did not serve /df within 60 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return new LocalCluster(dir, procs, await ClusterClient.connect(urls, { timeoutMs: 120_000 }), urls);
  }

  /** CPU ms used by all node processes so far. */
  nodesCpuMs(): number {
    return this.procs.reduce((t, { proc }) => t + (proc.pid === undefined ? 0 : cpuMsOf(proc.pid)), 0);
  }

  nodePeakRss(): { id: string; bytes: number | undefined }[] {
    return this.procs.map(({ id, proc }) => ({ id, bytes: proc.pid === undefined ? undefined : peakRssOf(proc.pid) }));
  }

  async stop(): Promise<void> {
    await this.client.close();
    await stopProcesses(this.procs.map(({ id, proc }) => ({ proc, name: `eau2 node ${id}` })));
    rmSync(this.dir, { recursive: true, force: true });
  }
}
