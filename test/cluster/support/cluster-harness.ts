// Runs real eau2 node processes on loopback for the cluster tests: free ports from the OS, a temp
// folder holding the config and every node's data, start / kill -9 / restart / wipe of single nodes,
// and a stop() that kills every process it started and removes the folder. Node stderr is kept (the
// tail) so a failing test can show what the nodes said.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePortLayout, freePorts } from '../../../bench/lib/free-ports.js';
import { secureFetch } from '../../../cluster/security/http-fetch.js';

export { freePortLayout, freePorts };

export const REPO = resolve(import.meta.dirname, '../../..');
export const CLI = join(REPO, 'app/cli/main.ts');

/**
 * Runs the CLI as a child process, without blocking this one (whose nodes, in some tests, answer
 * the command); killed after `timeoutMs`.
 */
export function runCli(
  args: string[],
  timeoutMs = 30_000,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

export interface ClusterSpec {
  nodes?: number;
  partitions?: number;
  replicationFactor?: number;
  /** Extra top-level config fields (backlogEntries, maxBodyBytes, ...). */
  extra?: Record<string, unknown>;
  /** The cluster serves HTTPS (config `tls` in extra): its CA's PEM, to reach /healthz. */
  ca?: Buffer;
  /** How long each node may take to become healthy at start (default 30 s). */
  startTimeoutMs?: number;
  /** Nodes' log level (default warn). */
  logLevel?: string;
  /** Folder to put the config in (and resolve its relative paths against); a new temp folder if omitted. */
  dir?: string;
  /** Give every node a respPort (the Redis protocol). */
  resp?: boolean;
}

export interface TestNode {
  id: string;
  port: number;
  peerPort: number;
  dataDir: string;
  url: string;
  respPort?: number;
}

export class TestCluster {
  readonly procs = new Map<string, ChildProcess>();
  private readonly logs = new Map<string, string>();

  private constructor(
    readonly dir: string,
    readonly configFile: string,
    readonly nodes: TestNode[],
    readonly ca?: Buffer,
    readonly logLevel = 'warn',
  ) {}

  static async start(spec: ClusterSpec = {}): Promise<TestCluster> {
    const n = spec.nodes ?? 3;
    const dir = spec.dir ?? mkdtempSync(join(tmpdir(), 'eau2-cluster-'));
    const ports = await freePorts(spec.resp ? 3 * n : 2 * n);
    const respPorts = ports.slice(2 * n);
    const nodes: TestNode[] = Array.from({ length: n }, (_, i) => ({
      id: `n${i + 1}`,
      port: ports[2 * i]!,
      peerPort: ports[2 * i + 1]!,
      dataDir: join(dir, `n${i + 1}`),
      url: `${spec.ca ? 'https' : 'http'}://127.0.0.1:${ports[2 * i]}`,
      ...(spec.resp ? { respPort: respPorts[i]! } : {}),
    }));
    const config = {
      partitions: spec.partitions ?? 8,
      replicationFactor: spec.replicationFactor ?? 2,
      nodes: nodes.map((x) => ({
        id: x.id,
        host: '127.0.0.1',
        port: x.port,
        peerPort: x.peerPort,
        dataDir: x.dataDir,
        ...(x.respPort ? { respPort: x.respPort } : {}),
      })),
      ...spec.extra,
    };
    const configFile = join(dir, 'cluster.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const c = new TestCluster(dir, configFile, nodes, spec.ca, spec.logLevel);
    try {
      for (const x of nodes) c.spawn(x.id);
      await Promise.all(nodes.map((x) => c.waitHealthy(x.id, spec.startTimeoutMs)));
    } catch (e) {
      await c.stop();
      throw e;
    }
    return c;
  }

  node(id: string): TestNode {
    return this.nodes.find((x) => x.id === id)!;
  }

  spawn(id: string): void {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, 'node', '--config', this.configFile, '--id', id, '--log-level', this.logLevel],
      {
        cwd: REPO,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    this.procs.set(id, child);
    child.stderr!.on('data', (d: Buffer) =>
      this.logs.set(id, ((this.logs.get(id) ?? '') + d.toString()).slice(-32000)),
    );
  }

  // 60 s: a node's start (tsx compiling the sources) took 10-25 s on a loaded 2-core machine.
  async waitHealthy(id: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = this.procs.get(id);
      if (p && p.exitCode !== null) throw new Error(`node ${id} exited with ${p.exitCode}: ${this.logs.get(id) ?? ''}`);
      try {
        const r = await secureFetch(`${this.node(id).url}/healthz`, {
          signal: AbortSignal.timeout(1000),
          ...(this.ca ? { ca: this.ca } : {}),
        });
        if (r.status === 200) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline)
        throw new Error(`node ${id} not healthy after ${timeoutMs} ms: ${this.logs.get(id) ?? ''}`);
      await sleep(100);
    }
  }

  /** kill -9 and wait for the process to be gone. */
  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs.get(id);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((res) => {
      p.once('exit', () => res());
      p.kill(signal);
    });
  }

  async restart(id: string): Promise<void> {
    this.spawn(id);
    await this.waitHealthy(id);
  }

  wipe(id: string): void {
    rmSync(this.node(id).dataDir, { recursive: true, force: true });
  }

  log(id: string): string {
    return this.logs.get(id) ?? '';
  }

  async stop(): Promise<void> {
    await Promise.all([...this.procs.keys()].map((id) => this.kill(id)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` until it returns true or the deadline passes (then returns false). */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 15_000, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return true;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}
