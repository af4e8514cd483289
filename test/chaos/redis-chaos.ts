// The same chaos run against Redis Cluster, for the side-by-side report of `npm run chaos -- --redis`:
// 3 masters + 3 replicas (Debian's redis-server; appendonly, fsync every second, as bench/cluster
// runs it) with cluster-node-timeout set to eau2's failover timeout, so a replica is promoted after
// the same silence. Process faults only (SIGKILL then a restart on the same data, SIGSTOP then
// SIGCONT), on a master drawn by the seed; the workload is eau2's: clients each owning a hash tag
// (one slot), distinct keys and counters, w=all as SET then WAIT 1 (acknowledged only if the replica
// has it), w=1 as a plain SET. Convergence: each master's DEBUG DIGEST equals its replica's. As for
// eau2, one fault at a time unless `overlap`: after each heal the run waits until every master serving
// slots has an online replica again (INFO replication; settle.ts) before the next fault.

import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { redisAvailable } from '../../bench/cluster/redis-target.js';
import { freePorts } from '../../bench/lib/free-ports.js';
import {
  availability,
  checkDurability,
  type DurabilityResult,
  type FaultAvailability,
  type FaultRecord,
} from './checkers.js';
import { nextFault, rngOf, type FaultKind } from './nemesis.js';
import { type RedisNodeState, redisUnsettledReason, type SettleRecord, waitSettled } from './settle.js';
import type { Op, W } from './workload.js';

export interface RedisChaosOptions {
  seed: number;
  durationMs: number;
  kinds: FaultKind[];
  nodeTimeoutMs: number;
  clients?: number;
  /** Faults may overlap (no wait for the replicas to reconnect after a heal). */
  overlap?: boolean;
  settleTimeoutMs?: number;
  log?: (m: string) => void;
}

export interface RedisChaosResult {
  seed: number;
  failoverTimeoutMs: number;
  ops: Op[];
  faults: FaultRecord[];
  durability: DurabilityResult;
  availability: FaultAvailability[];
  converged: boolean | null;
  overlap: boolean;
  settles: SettleRecord[];
  splitBrain: null;
  errors: Record<string, number>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function cli(port: number, ...args: string[]): string {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
}

/** cli() without blocking the event loop (the workload's clients), for the repeated settle polls. */
function cliAsync(port: number, ...args: string[]): Promise<string> {
  return new Promise((res) =>
    execFile('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 5000 }, (_e, out) =>
      res(out ?? ''),
    ),
  );
}

class Servers {
  readonly procs = new Map<number, ChildProcess>();
  readonly paused = new Set<number>();
  constructor(
    readonly dir: string,
    readonly ports: number[],
    private readonly nodeTimeoutMs: number,
  ) {}

  spawn(port: number): void {
    const d = join(this.dir, String(port));
    mkdirSync(d, { recursive: true });
    // biome-ignore format: one flag and its value per line pair
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', d, '--cluster-enabled', 'yes',
      '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(this.nodeTimeoutMs),
      '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--enable-debug-command', 'local',
      '--daemonize', 'no', '--logfile', join(d, 'redis.log')];
    this.procs.set(port, spawn('redis-server', args, { stdio: 'ignore' }));
  }

  async waitPong(port: number): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (cli(port, 'ping').trim() !== 'PONG') {
      if (Date.now() > deadline) throw new Error(`redis on ${port} did not start`);
      await sleep(100);
    }
  }

  async kill(port: number): Promise<void> {
    const p = this.procs.get(port);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((r) => {
      p.once('exit', () => r());
      p.kill('SIGKILL');
    });
    this.paused.delete(port);
  }

  async stop(): Promise<void> {
    for (const port of this.paused) this.procs.get(port)?.kill('SIGCONT');
    await Promise.all(this.ports.map((p) => this.kill(p)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Every node's replication and cluster state, for the settle check. */
async function redisStates(s: Servers): Promise<RedisNodeState[]> {
  // Masters serving slots, as the first node that answers CLUSTER NODES sees them (masters() without
  // blocking); a node with no answer is unsettled anyway.
  let nodes = '';
  for (const port of s.ports) if ((nodes = await cliAsync(port, 'cluster', 'nodes')).trim()) break;
  const serving = new Set<number>();
  for (const line of nodes.trim().split('\n')) {
    const f = line.split(' ');
    if (f[2]?.includes('master') && f.length > 8) serving.add(Number(f[1]!.split('@')[0]!.split(':')[1]));
  }
  return Promise.all(
    s.ports.map(async (port) => ({
      port,
      clusterInfo: await cliAsync(port, 'cluster', 'info'),
      replication: await cliAsync(port, 'info', 'replication'),
      servesSlots: serving.has(port),
    })),
  );
}

/** Ports of the masters and each master's slot ranges, from CLUSTER NODES of a live node. */
function masters(s: Servers): Map<number, [number, number][]> {
  for (const port of s.ports) {
    if (s.paused.has(port)) continue;
    const text = cli(port, 'cluster', 'nodes');
    if (!text.trim()) continue;
    const out = new Map<number, [number, number][]>();
    for (const line of text.trim().split('\n')) {
      const f = line.split(' ');
      if (!f[2]?.includes('master') || f[2].includes('fail')) continue;
      const p = Number(f[1]!.split('@')[0]!.split(':')[1]);
      const ranges = f.slice(8).map((r): [number, number] => {
        const [a, b] = r.split('-').map(Number);
        return [a!, b ?? a!];
      });
      if (ranges.length > 0) out.set(p, ranges);
    }
    return out;
  }
  return new Map();
}

export async function runRedisChaos(o: RedisChaosOptions): Promise<RedisChaosResult | { skipped: string }> {
  const have = redisAvailable();
  if (!have.ok) return { skipped: have.why ?? 'redis-server missing' };
  const log = o.log ?? (() => {});
  const rng = rngOf(o.seed);
  const ports = await freePorts(6);
  const s = new Servers(mkdtempSync(join(tmpdir(), 'eau2-chaos-redis-')), ports, o.nodeTimeoutMs);
  let client: Cluster | undefined;
  try {
    for (const p of ports) s.spawn(p);
    for (const p of ports) await s.waitPong(p);
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '1', '--cluster-yes'],
      { encoding: 'utf8' },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stderr || create.stdout}`);
    const deadline = Date.now() + 30_000;
    while (!ports.every((p) => cli(p, 'cluster', 'info').includes('cluster_state:ok'))) {
      if (Date.now() > deadline) throw new Error('redis cluster did not reach cluster_state:ok');
      await sleep(200);
    }
    log('redis cluster up');
    client = new Cluster(
      ports.map((port) => ({ host: '127.0.0.1', port })),
      {
        redisOptions: { connectTimeout: 1000, commandTimeout: 5000, maxRetriesPerRequest: 0 },
        slotsRefreshTimeout: 2000,
      },
    );
    client.on('error', () => {});
    const c = client;
    const nClients = o.clients ?? 16;
    const slots = Array.from({ length: nClients }, (_, i) => Number(cli(ports[0]!, 'cluster', 'keyslot', `{c${i}}`)));
    const ops: Op[] = [];
    let running = true;
    const loops = Array.from({ length: nClients }, async (_, i) => {
      let seq = 0;
      for (let j = 0; running; j++) {
        const w: W = j % 2 === 0 ? 'all' : '1';
        const counter = j % 4 === 3;
        seq++;
        const key = counter ? `ctr/{c${i}}/w${w}` : `a/{c${i}}/${j}`;
        const value = counter ? String(seq) : `${i}:${j}:${w}`;
        const start = Date.now();
        const op: Op = {
          client: i,
          kind: counter ? 'counter' : 'append',
          key,
          value,
          seq,
          w,
          p: i,
          node: 'redis',
          start,
          end: start,
          ok: false,
          status: 0,
        };
        try {
          if (w === 'all') {
            const res = await c.pipeline().set(key, value).wait(1, 2000).exec();
            const acks = res?.[1]?.[1];
            if (res?.[0]?.[0] || res?.[1]?.[0]) throw res[0]![0] ?? res[1]![0];
            op.ok = typeof acks === 'number' && acks >= 1;
            if (!op.ok) op.code = 'WAIT_0_REPLICAS';
          } else {
            await c.set(key, value);
            op.ok = true;
          }
        } catch (e) {
          op.code = ((e as Error).message ?? 'ERROR').split(' ')[0]!.slice(0, 24);
          // A client that only learns the new master from a MOVED would keep timing out on the dead
          // one: ask for the slots again, as an application following failovers would.
          c.refreshSlotsCache();
        }
        op.end = Date.now();
        ops.push(op);
        await sleep(25);
      }
    });
    await sleep(1500);
    const faults: FaultRecord[] = [];
    const settles: SettleRecord[] = [];
    const t0 = Date.now();
    const spec = { nodes: ['m'], kinds: o.kinds, failoverTimeoutMs: o.nodeTimeoutMs };
    while (Date.now() - t0 < o.durationMs) {
      const f = nextFault(rng, spec);
      const ms = masters(s);
      const port = rng.pick([...ms.keys()].sort());
      const led = slots
        .map((slot, i) => [slot, i] as const)
        .filter(([slot]) => ms.get(port)!.some(([a, b]) => slot >= a && slot <= b))
        .map(([, i]) => i);
      log(`redis fault ${faults.length + 1}: ${f.kind} master :${port} for ${f.durationMs} ms`);
      const start = Date.now();
      if (f.kind === 'kill') await s.kill(port);
      else {
        s.procs.get(port)!.kill('SIGSTOP');
        s.paused.add(port);
      }
      await sleep(f.durationMs);
      const healStart = Date.now();
      if (f.kind === 'kill') {
        s.spawn(port);
        await s.waitPong(port);
      } else {
        s.procs.get(port)!.kill('SIGCONT');
        s.paused.delete(port);
      }
      faults.push({ kind: f.kind, target: `:${port}`, start, healStart, healed: Date.now(), led });
      if (!o.overlap) {
        const w = await waitSettled(
          async () => redisUnsettledReason(await redisStates(s)),
          o.settleTimeoutMs ?? 60_000,
        );
        settles.push({ fault: faults.length, ...w });
        log(
          w.settled
            ? `redis settled in ${w.ms} ms (at first: ${w.firstWhy ?? 'settled'})`
            : `redis NOT settled after ${w.ms} ms: ${w.why}`,
        );
      }
      await sleep(f.gapMs);
    }
    await sleep(1000);
    running = false;
    await Promise.all(loops);
    const end = Date.now();
    // Converged: every master's dataset digest equals its replicas'.
    let converged: boolean | null = null;
    const settle = Date.now() + 30_000;
    while (Date.now() < settle) {
      const digests = new Map<string, string[]>();
      let unsupported = false;
      for (const p of ports) {
        const role = cli(p, 'role').split('\n');
        const d = cli(p, 'debug', 'digest').trim();
        if (!/^[0-9a-f]{40}$/.test(d)) unsupported = true;
        const master = role[0] === 'master' ? String(p) : role[2]?.trim();
        if (!master) continue;
        digests.set(master, [...(digests.get(master) ?? []), d]);
      }
      if (unsupported) break;
      converged = [...digests.values()].every((l) => l.length >= 2 && l.every((d) => d === l[0]));
      if (converged) break;
      await sleep(1000);
    }
    const values = new Map<string, string>();
    const keys = [...new Set(ops.map((x) => x.key))];
    for (let i = 0; i < keys.length; i += 200) {
      const part = keys.slice(i, i + 200);
      const got = await Promise.all(part.map((k) => c.get(k).catch(() => null)));
      part.forEach((k, j) => got[j] !== null && got[j] !== undefined && values.set(k, got[j]!));
    }
    const errors: Record<string, number> = {};
    for (const x of ops) if (!x.ok) errors[x.code ?? '?'] = (errors[x.code ?? '?'] ?? 0) + 1;
    return {
      seed: o.seed,
      failoverTimeoutMs: o.nodeTimeoutMs,
      ops,
      faults,
      durability: checkDurability(ops, { values }),
      availability: availability(ops, faults, nClients, end),
      converged,
      overlap: o.overlap ?? false,
      settles,
      splitBrain: null,
      errors,
    };
  } finally {
    client?.disconnect();
    await s.stop();
  }
}
