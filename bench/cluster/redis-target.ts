// The Redis side of the cluster benchmark: a Redis Cluster of 3 masters and 3 replicas (Debian's
// redis-server, appendonly yes with appendfsync everysec) on loopback ports, driven through ioredis.
// If redis-server is missing the caller installs it with apt-get, or reports that it could not.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import type { LagTarget } from './lag-probe.js';
import type { Target } from './ycsb.js';
import { freePorts } from '../lib/free-ports.js';
import { stopProcesses } from '../lib/stop-processes.js';

export function redisAvailable(): { ok: boolean; why?: string } {
  const have = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  if (have('redis-server') && have('redis-cli')) return { ok: true };
  const r = spawnSync(
    'sh',
    ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server'],
    { stdio: 'ignore', timeout: 300_000 },
  );
  if (r.status === 0 && have('redis-server')) return { ok: true };
  return { ok: false, why: 'redis-server is not installed and apt-get install redis-server failed' };
}

export class RedisCluster {
  private constructor(
    private readonly dir: string,
    private readonly procs: ChildProcess[],
    readonly ports: number[],
    readonly client: Cluster,
    readonly replicaClient: Cluster,
  ) {}

  static async start(): Promise<RedisCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'eau2-bench-redis-'));
    // Each server's cluster bus gets a port of its own (`cluster-port`, Redis 7): by default it is
    // the client port + 10,000, which nothing reserved and which can fall in the kernel's ephemeral
    // range, where another process's outgoing connection may hold it and the server cannot start.
    const all = await freePorts(12);
    const ports = all.slice(0, 6);
    const busPorts = all.slice(6);
    const procs: ChildProcess[] = [];
    try {
      for (const [i, port] of ports.entries()) {
        const d = join(dir, String(port));
        mkdirSync(d);
        procs.push(
          spawn(
            'redis-server',
            [
              '--port',
              String(port),
              '--cluster-port',
              String(busPorts[i]),
              '--bind',
              '127.0.0.1',
              '--dir',
              d,
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              'nodes.conf',
              '--appendonly',
              'yes',
              '--appendfsync',
              'everysec',
              '--save',
              '',
              '--daemonize',
              'no',
              '--logfile',
              join(d, 'redis.log'),
            ],
            { stdio: 'ignore' },
          ),
        );
      }
      for (const port of ports) {
        const deadline = Date.now() + 20_000;
        while (
          spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8', timeout: 5_000 }).stdout?.trim() !==
          'PONG'
        ) {
          if (Date.now() > deadline)
            throw new Error(`redis on ${port} did not start: ${logTail(join(dir, String(port)))}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const create = spawnSync(
        'redis-cli',
        ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
        { encoding: 'utf8', timeout: 60_000 },
      );
      if (create.status !== 0)
        throw new Error(
          `redis-cli --cluster create failed (${create.signal ?? create.status}): ${create.stderr || create.stdout}`,
        );
      const deadline = Date.now() + 30_000;
      for (;;) {
        const info = ports.map(
          (p) =>
            spawnSync('redis-cli', ['-p', String(p), 'cluster', 'info'], { encoding: 'utf8', timeout: 5_000 }).stdout ??
            '',
        );
        if (info.every((s) => s.includes('cluster_state:ok'))) break;
        if (Date.now() > deadline) throw new Error('redis cluster did not reach cluster_state:ok');
        await new Promise((r) => setTimeout(r, 200));
      }
      const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
      const client = new Cluster(nodes, { scaleReads: 'master' });
      const replicaClient = new Cluster(nodes, { scaleReads: 'slave' });
      try {
        await Promise.all(
          [client, replicaClient].map(
            (c) =>
              new Promise<void>((res, rej) => {
                const t = setTimeout(() => rej(new Error('ioredis did not become ready within 30 s')), 30_000);
                c.once('ready', () => {
                  clearTimeout(t);
                  res();
                });
                c.once('error', (e) => {
                  clearTimeout(t);
                  rej(e);
                });
              }),
          ),
        );
      } catch (e) {
        client.disconnect();
        replicaClient.disconnect();
        throw e;
      }
      return new RedisCluster(dir, procs, ports, client, replicaClient);
    } catch (e) {
      // Servers left running would keep this process alive (and the ports taken) after the error.
      await stopAll(procs, dir, ports);
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
  }

  target(): Target {
    const c = this.client;
    return {
      name: 'redis',
      read: (k) => c.getBuffer(k),
      update: async (k, v) => {
        await c.set(k, Buffer.from(v.buffer, v.byteOffset, v.length));
      },
    };
  }

  /** The six redis-server processes: their CPU is read from /proc. */
  pids(): number[] {
    return this.procs.map((p) => p.pid!);
  }

  lagTarget(): LagTarget {
    return {
      writePrimary: async (k, v) => {
        await this.client.set(k, v);
      },
      readReplica: async (k) => (await this.replicaClient.get(k)) ?? undefined,
    };
  }

  async stop(): Promise<void> {
    this.client.disconnect();
    this.replicaClient.disconnect();
    await stopAll(this.procs, this.dir, this.ports);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Every server stopped (SIGTERM, then SIGKILL past the grace period), with its log's tail if killed. */
async function stopAll(procs: readonly ChildProcess[], dir: string, ports: readonly number[]): Promise<void> {
  await stopProcesses(
    procs.map((proc, i) => ({
      proc,
      name: `redis-server on ${ports[i]}`,
      detail: () => logTail(join(dir, String(ports[i]))),
    })),
  );
}

/** The last lines of a server's log, for an error saying why it did not start. */
function logTail(d: string): string {
  try {
    return readFileSync(join(d, 'redis.log'), 'utf8').trim().split('\n').slice(-3).join(' | ');
  } catch {
    return 'no log';
  }
}
