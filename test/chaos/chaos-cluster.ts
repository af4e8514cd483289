// A cluster of real eau2 node processes on loopback with a LinkProxy between every pair of nodes: each
// node advertises its proxy's port (config advertisePeerPort), so all peer traffic to it passes the
// proxy, which knows the sending node by its process id. Clients use the nodes' HTTP ports directly.
// Processes can be killed (SIGKILL) and restarted, paused (SIGSTOP) and resumed; links cut, one way
// or both, or delayed. stop() kills every process it started, resumes paused ones first, closes the
// proxy and removes the folder, also after a failure.

import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../cluster/config.js';
import { CLI, freePorts, REPO } from '../cluster/support/cluster-harness.js';
import { identifyByPid, LinkProxy } from '../support/link-proxy.js';
import { type Damage, flipTableBit, mountSmallDisk, type SmallDisk } from './nemeses-disk.js';
import { mulberry32 } from '../../engine/util/random.js';

export interface ChaosClusterSpec {
  nodes?: number;
  partitions?: number;
  replicationFactor?: number;
  /** How long a w>1 write waits for followers (the config's writeTimeoutMs; default 2000 here). */
  writeTimeoutMs?: number;
  /** The failover timeout, passed to the nodes when the config knows failoverTimeoutMs. */
  failoverTimeoutMs?: number;
  /** Extra top-level config fields. */
  extra?: Record<string, unknown>;
  /** Each node's data on its own tmpfs of this size, so it can be filled up (root only). */
  smallDiskBytes?: number;
  logLevel?: string;
}

export interface ChaosNode {
  id: string;
  port: number;
  peerPort: number;
  url: string;
  dataDir: string;
}

/** The config's default failover timeout, undefined while the config has none (no failover yet). */
const DEFAULT_FAILOVER_MS = (
  parseConfig({ partitions: 1, nodes: [{ id: 'x', port: 1, peerPort: 2 }] }) as { failoverTimeoutMs?: number }
).failoverTimeoutMs;

/** Tables younger than this are not damaged: the node may still be writing them. */
const TABLE_MIN_AGE_MS = 2000;

/** Whether the nodes fail over (the config knows failoverTimeoutMs). */
const FAILOVER_EXISTS = DEFAULT_FAILOVER_MS !== undefined;

/** The failover timeout the nodes run with: the config's when it has one, else 5 s (the issue's). */
function failoverTimeoutOf(spec: ChaosClusterSpec): number {
  return spec.failoverTimeoutMs ?? DEFAULT_FAILOVER_MS ?? 5000;
}

export class ChaosCluster {
  readonly paused = new Set<string>();
  private readonly logs = new Map<string, string>();
  private stopped = false;

  private constructor(
    readonly dir: string,
    readonly configFile: string,
    readonly nodes: ChaosNode[],
    readonly proxy: LinkProxy,
    readonly failoverTimeoutMs: number,
    /** The current process of each node; the proxy names connections by these pids. */
    readonly procs: Map<string, ChildProcess>,
    private readonly disks: Map<string, SmallDisk> = new Map(),
  ) {}

  static async start(spec: ChaosClusterSpec = {}): Promise<ChaosCluster> {
    const n = spec.nodes ?? 3;
    const dir = mkdtempSync(join(tmpdir(), 'eau2-chaos-'));
    const ports = await freePorts(2 * n);
    const disks = new Map<string, SmallDisk>();
    const dataDir = (id: string): string => {
      if (spec.smallDiskBytes === undefined) return join(dir, id);
      const disk = mountSmallDisk(join(dir, `${id}-disk`), spec.smallDiskBytes);
      disks.set(id, disk);
      return join(disk.mount, id);
    };
    let nodes: ChaosNode[];
    try {
      nodes = Array.from({ length: n }, (_, i) => ({
        id: `n${i + 1}`,
        port: ports[2 * i]!,
        peerPort: ports[2 * i + 1]!,
        url: `http://127.0.0.1:${ports[2 * i]}`,
        dataDir: dataDir(`n${i + 1}`),
      }));
    } catch (e) {
      for (const d of disks.values()) d.unmount();
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    const procs = new Map<string, ChildProcess>();
    const proxy = await LinkProxy.start(
      nodes.map((x) => ({ id: x.id, host: '127.0.0.1', port: x.peerPort })),
      identifyByPid(() => new Map([...procs].filter(([, p]) => p.pid !== undefined).map(([id, p]) => [p.pid!, id]))),
    );
    const failoverTimeoutMs = failoverTimeoutOf(spec);
    const config = {
      partitions: spec.partitions ?? 8,
      replicationFactor: spec.replicationFactor ?? 2,
      writeTimeoutMs: spec.writeTimeoutMs ?? 2000,
      ...(FAILOVER_EXISTS ? { failoverTimeoutMs } : {}),
      nodes: nodes.map((x) => ({
        id: x.id,
        host: '127.0.0.1',
        port: x.port,
        peerPort: x.peerPort,
        advertisePeerPort: proxy.port(x.id),
        dataDir: x.dataDir,
      })),
      ...spec.extra,
    };
    const configFile = join(dir, 'cluster.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const c = new ChaosCluster(dir, configFile, nodes, proxy, failoverTimeoutMs, procs, disks);
    try {
      for (const x of nodes) c.spawn(x.id, spec.logLevel ?? 'warn');
      await Promise.all(nodes.map((x) => c.waitHealthy(x.id)));
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  node(id: string): ChaosNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new TypeError(`no node ${id}`);
    return n;
  }

  get ids(): string[] {
    return this.nodes.map((n) => n.id);
  }

  private spawn(id: string, logLevel = 'warn'): void {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, 'node', '--config', this.configFile, '--id', id, '--log-level', logLevel],
      { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.procs.set(id, child);
    const keep = process.env.EAU2_CHAOS_LOGS; // a folder: every node's whole log, for a post-mortem
    child.stderr!.on('data', (d: Buffer) => {
      this.logs.set(id, ((this.logs.get(id) ?? '') + d.toString()).slice(-20_000));
      if (keep) appendFileSync(join(keep, `${id}.log`), d);
    });
  }

  alive(id: string): boolean {
    const p = this.procs.get(id);
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** 'running', 'paused', or how the process ended (for reports). */
  state(id: string): string {
    const p = this.procs.get(id);
    if (!p) return 'not started';
    if (p.exitCode !== null) return `exited with code ${p.exitCode}`;
    if (p.signalCode !== null) return `killed by ${p.signalCode}`;
    return this.paused.has(id) ? 'paused' : 'running';
  }

  async waitHealthy(id: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.alive(id)) throw new Error(`node ${id} exited: ${this.log(id)}`);
      try {
        const r = await fetch(`${this.node(id).url}/healthz`, { signal: AbortSignal.timeout(1000) });
        if (r.status === 200) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`node ${id} not healthy after ${timeoutMs} ms: ${this.log(id)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(id: string): Promise<void> {
    const p = this.procs.get(id);
    if (!p || !this.alive(id)) return;
    await new Promise<void>((res) => {
      p.once('exit', () => res());
      p.kill('SIGKILL');
    });
    this.paused.delete(id);
  }

  /**
   * Starts a killed node again on its data and waits until it serves: up to 3 minutes, since tsx
   * compiles every file again and a loaded 2-core machine has taken over a minute for that.
   */
  async restart(id: string): Promise<void> {
    if (this.alive(id)) return;
    this.spawn(id);
    await this.waitHealthy(id, 180_000);
  }

  pause(id: string): void {
    if (!this.alive(id)) return;
    this.procs.get(id)!.kill('SIGSTOP');
    this.paused.add(id);
  }

  resume(id: string): void {
    if (!this.paused.delete(id)) return;
    if (this.alive(id)) this.procs.get(id)!.kill('SIGCONT');
  }

  /** Cuts every link between `id` and the other nodes, both ways. */
  isolate(id: string): void {
    this.proxy.partition(
      [id],
      this.ids.filter((x) => x !== id),
    );
  }

  /** Cuts one direction: `out` = what `id` sends to the others, else what it receives from them. */
  cutOneWay(id: string, direction: 'out' | 'in'): void {
    for (const o of this.ids)
      if (o !== id) {
        if (direction === 'out') this.proxy.cut(id, o);
        else this.proxy.cut(o, id);
      }
  }

  /** Delays every chunk to and from `id` by `ms`. */
  slow(id: string, ms: number): void {
    for (const o of this.ids)
      if (o !== id) {
        this.proxy.delay(id, o, ms);
        this.proxy.delay(o, id, ms);
      }
  }

  /** Fills the node's small disk: its next writes meet ENOSPC. Needs spec.smallDiskBytes. */
  fillDisk(id: string): void {
    const d = this.disks.get(id);
    if (!d) throw new Error(`node ${id} has no small disk to fill (ChaosClusterSpec.smallDiskBytes, root)`);
    d.fill();
  }

  /** Frees what fillDisk() took. */
  freeDisk(id: string): void {
    this.disks.get(id)?.free();
  }

  /**
   * Flips one bit in one of the node's tables (seeded by `seed`): one written at least 2 s before,
   * so never a table the node is still writing. A node that has none yet (a slow workload has not
   * filled a memtable) is sent filler writes until it flushes one (keys under `nemesis/`, which the
   * workload's checks ignore). Throws if it has none within 60 s (a fault not injected must not pass).
   */
  async corruptTable(id: string, seed = 1): Promise<Damage> {
    const deadline = Date.now() + 60_000;
    let filled = 0;
    for (let round = 0; ; round++) {
      const d = flipTableBit(this.node(id).dataDir, { next: mulberry32(seed) }, TABLE_MIN_AGE_MS);
      if (d) return d;
      if (Date.now() > deadline) throw new Error(`node ${id} wrote no table to damage within 60 s`);
      if (round % 25 === 24) filled = await this.fillerWrites(id, filled);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** 64 writes of 4 KiB through node `id` (w=all: on every replica), numbered from `from`. */
  private async fillerWrites(id: string, from: number): Promise<number> {
    const body = 'f'.repeat(4096);
    await Promise.all(
      Array.from({ length: 64 }, async (_, i) => {
        try {
          await fetch(`${this.node(id).url}/kv/nemesis%2Ffiller%2F${from + i}?w=all`, {
            method: 'PUT',
            body,
            signal: AbortSignal.timeout(5000),
          });
        } catch {
          // the next round tries again
        }
      }),
    );
    return from + 64;
  }

  /** Removes every network fault. */
  healNetwork(): void {
    this.proxy.heal();
  }

  log(id: string): string {
    return this.logs.get(id) ?? '';
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const id of [...this.paused]) this.resume(id);
    await Promise.all(this.ids.map((id) => this.kill(id)));
    await this.proxy.close();
    for (const d of this.disks.values()) d.unmount();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
