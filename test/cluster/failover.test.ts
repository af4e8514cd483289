// Automatic failover across real node processes on loopback (3 nodes, replication factor 2, a 1.5 s
// failover timeout): a killed leader is replaced under w=all load with no acknowledged write lost,
// the first-listed node is as replaceable as any other, a paused leader steps down and converges
// without two leaders ever sharing an epoch, a write forwarded to a leader that goes silent is not
// held past its silence, and a follower that left the in-sync set is never promoted. Every node's
// GET /cluster is polled to check that views agree once settled.

import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { ClusterClient } from '../../cluster/client/cluster-client.js';
import { keyBytes, partitionOf } from '../../kv/index.js';
import { BASE_SEED, seededRng } from '../engine/vfs/seeded-random.js';
import { eventually, sleep, TestCluster } from './support/cluster-harness.js';
import { dumpLocal } from './support/http-helpers.js';

const PARTITIONS = 6;
const FAILOVER_MS = 1500;
const SPEC = {
  nodes: 3,
  partitions: PARTITIONS,
  replicationFactor: 2,
  extra: { failoverTimeoutMs: FAILOVER_MS, replicaLagMaxMs: 1000, writeTimeoutMs: 3000 },
};

interface PartView {
  partition: number;
  epoch: number;
  leader: string;
  isr: string[];
  followers: { id: string; state: string; lag: number | null }[];
}
interface View {
  self: string;
  nodes: { id: string; status: string }[];
  partitions: PartView[];
}

async function view(c: TestCluster, id: string): Promise<View> {
  const r = await fetch(`${c.node(id).url}/cluster`, { signal: AbortSignal.timeout(3000) });
  return (await r.json()) as View;
}

/** Every node in `ids` answers and has the same epoch and leader for every partition, none in `dead`. */
async function settled(c: TestCluster, ids: string[], dead: string[] = []): Promise<View | undefined> {
  const views = await Promise.all(ids.map((id) => view(c, id)));
  const first = views[0]!;
  for (const v of views)
    for (const p of v.partitions) {
      const q = first.partitions[p.partition]!;
      if (p.epoch !== q.epoch || p.leader !== q.leader || dead.includes(p.leader)) return undefined;
    }
  return first;
}

/** Records, from every node's /cluster, which leader each node names for each (partition, epoch). */
class LeaderLog {
  readonly seen = new Map<string, Set<string>>();
  private stop = false;
  private done: Promise<void> | undefined;

  start(c: TestCluster, ids: string[]): void {
    this.done = (async () => {
      while (!this.stop) {
        await Promise.all(
          ids.map(async (id) => {
            try {
              for (const p of (await view(c, id)).partitions) {
                const k = `${p.partition}@${p.epoch}`;
                let s = this.seen.get(k);
                if (!s) this.seen.set(k, (s = new Set()));
                s.add(p.leader);
              }
            } catch {
              // down or paused
            }
          }),
        );
        await sleep(100);
      }
    })();
  }

  async finish(): Promise<void> {
    this.stop = true;
    await this.done;
  }

  conflicts(): string[] {
    return [...this.seen].filter(([, s]) => s.size > 1).map(([k, s]) => `${k}: ${[...s].join(' and ')}`);
  }
}

/** Writers of distinct keys with w=all through a ClusterClient; records what was acknowledged. */
class Load {
  readonly acked = new Map<string, string>();
  failed = 0;
  private stop = false;
  private runs: Promise<void>[] = [];

  constructor(
    private readonly client: ClusterClient,
    private readonly tag: string,
  ) {}

  start(writers: number): void {
    for (let w = 0; w < writers; w++)
      this.runs.push(
        (async () => {
          for (let i = 0; !this.stop; i++) {
            const key = `${this.tag}-${w}-${i}`;
            const value = `v-${key}`;
            try {
              await this.client.put(key, value, { w: 'all' });
              this.acked.set(key, value);
            } catch {
              this.failed++;
            }
          }
        })(),
      );
  }

  async finish(): Promise<void> {
    this.stop = true;
    await Promise.all(this.runs);
  }
}

async function expectAllReadable(client: ClusterClient, acked: Map<string, string>): Promise<void> {
  const missing: string[] = [];
  for (const [k, v] of acked) {
    const got = await client.get(k);
    if (got === undefined || Buffer.from(got).toString() !== v) missing.push(k);
  }
  expect(missing, `acknowledged w=all writes lost: ${missing.slice(0, 10).join(', ')}`).toEqual([]);
}

/** Every replica of every partition holds exactly its leader's keys and values. */
async function expectReplicasIdentical(c: TestCluster, ids: string[]): Promise<void> {
  let detail = '';
  const ok = await eventually(
    async () => {
      const v = await settled(c, ids);
      if (!v) return false;
      const dumps = new Map<string, Map<number, Map<string, string>>>();
      for (const id of ids) dumps.set(id, await dumpLocal(c.node(id).url, PARTITIONS));
      for (const p of v.partitions) {
        const want = dumps.get(p.leader)?.get(p.partition) ?? new Map();
        for (const f of p.followers) {
          const have = dumps.get(f.id)?.get(p.partition) ?? new Map();
          if (have.size !== want.size || [...want].some(([k, x]) => have.get(k) !== x)) {
            detail = `partition ${p.partition}: ${f.id} has ${have.size} keys, leader ${p.leader} ${want.size}`;
            return false;
          }
        }
      }
      return true;
    },
    30_000,
    300,
  );
  expect(ok, `replicas differ: ${detail}`).toBe(true);
}

function ledBy(v: View, id: string): number[] {
  return v.partitions.filter((p) => p.leader === id).map((p) => p.partition);
}

describe('automatic failover', () => {
  let c: TestCluster | undefined;
  let client: ClusterClient | undefined;

  afterEach(async () => {
    await client?.close();
    client = undefined;
    if (c) {
      for (const id of c.procs.keys()) c.procs.get(id)?.kill('SIGCONT');
      await c.stop();
    }
    c = undefined;
  });

  function logs(): void {
    if (c) for (const n of c.nodes) console.error(`--- ${n.id}\n${c.log(n.id)}`);
  }

  async function killLeaderUnderLoad(victim: string): Promise<{ load: Load; took: number }> {
    c = await TestCluster.start(SPEC);
    onTestFailed(logs);
    const others = c.nodes.map((n) => n.id).filter((id) => id !== victim);
    client = await ClusterClient.connect(
      c.nodes.map((n) => n.url),
      { timeoutMs: 5000 },
    );
    const before = (await settled(
      c,
      c.nodes.map((n) => n.id),
    ))!;
    expect(ledBy(before, victim).length).toBeGreaterThan(0);
    const load = new Load(client, `kill-${victim}`);
    load.start(4);
    await sleep(800);
    const t0 = Date.now();
    await c.kill(victim);
    let took = 0;
    const moved = await eventually(
      async () => {
        const v = await settled(c!, others, [victim]);
        if (!v) return false;
        took = Date.now() - t0;
        return true;
      },
      FAILOVER_MS + 5000,
      100,
    );
    expect(moved, `no new leader for ${victim}'s partitions within ${FAILOVER_MS + 5000} ms`).toBe(true);
    // Writes go on at the new leaders.
    const n0 = load.acked.size;
    expect(await eventually(async () => load.acked.size > n0 + 20, 10_000)).toBe(true);
    await load.finish();
    const after = (await settled(c, others))!;
    for (const p of ledBy(before, victim)) expect(after.partitions[p]!.epoch).toBeGreaterThan(1);
    // Each failover is counted by the node that won it, and the time without a leader is counted.
    let failovers = 0;
    let leaderless = 0;
    for (const id of others) {
      const text = await (await fetch(`${c.node(id).url}/metrics`)).text();
      for (const m of text.matchAll(/^eau2_failovers_total\{[^}]*\} (\S+)$/gm)) failovers += Number(m[1]);
      for (const m of text.matchAll(/^eau2_partition_leaderless_seconds_total\{[^}]*\} (\S+)$/gm))
        leaderless += Number(m[1]);
    }
    // At least one per partition moved (a loaded machine can cause an extra one).
    expect(failovers).toBeGreaterThanOrEqual(ledBy(before, victim).length);
    expect(leaderless).toBeGreaterThan(0);
    await expectAllReadable(client, load.acked);
    return { load, took };
  }

  it('replaces a killed leader under w=all load, losing no acknowledged write', async () => {
    const { load, took } = await killLeaderUnderLoad('n2');
    console.log(`failover of n2 took ${took} ms; ${load.acked.size} w=all writes acknowledged, ${load.failed} failed`);
    // n2 comes back as a follower, catches up, and every replica ends identical.
    await c!.restart('n2');
    await expectReplicasIdentical(c!, ['n1', 'n2', 'n3']);
    const v = (await settled(c!, ['n1', 'n2', 'n3']))!;
    expect(ledBy(v, 'n2')).toEqual([]);
  }, 120_000);

  it('fails over the first-listed node like any other; the rest still serve topology and registrations', async () => {
    await killLeaderUnderLoad('n1');
    // Topology from the survivors, with n1 shown down.
    for (const id of ['n2', 'n3']) {
      const v = await view(c!, id);
      expect(v.nodes.find((n) => n.id === 'n1')?.status).toBe('down');
    }
    // n1 restarts: the others hear it (its registration is its heartbeat) and it follows.
    await c!.restart('n1');
    expect(
      await eventually(async () => (await view(c!, 'n3')).nodes.find((n) => n.id === 'n1')?.status === 'up', 10_000),
    ).toBe(true);
    await expectReplicasIdentical(c!, ['n1', 'n2', 'n3']);
    // Back in the in-sync set of the partitions it follows.
    let last = '';
    const rejoined = await eventually(async () => {
      const v = await view(c!, 'n2');
      last = JSON.stringify(v.partitions.map((p) => [p.partition, p.epoch, p.leader, p.isr, p.followers]));
      return v.partitions.every((p) => p.isr.length === 2);
    }, 15_000);
    expect(rejoined, `in-sync sets as n2 sees them: ${last}`).toBe(true);
  }, 120_000);

  it('a paused leader steps down when resumed, converges, and no epoch ever has two leaders', async () => {
    const seed = BASE_SEED + 21;
    onTestFailed(() => console.log(`seed ${seed} (EAU2_SEED=${seed})`));
    const rng = seededRng(seed);
    c = await TestCluster.start(SPEC);
    onTestFailed(logs);
    const ids = c.nodes.map((n) => n.id);
    const victim = ids[Math.floor(rng.next() * ids.length)]!;
    const others = ids.filter((id) => id !== victim);
    client = await ClusterClient.connect(
      c.nodes.map((n) => n.url),
      { timeoutMs: 5000 },
    );
    const leaders = new LeaderLog();
    leaders.start(c, ids);
    const load = new Load(client, 'pause');
    load.start(3);
    await sleep(500);
    const before = (await settled(c, ids))!;
    c.procs.get(victim)!.kill('SIGSTOP');
    expect(await eventually(async () => (await settled(c!, others, [victim])) !== undefined, FAILOVER_MS + 5000)).toBe(
      true,
    );
    await sleep(FAILOVER_MS);
    c.procs.get(victim)!.kill('SIGCONT');
    // The resumed node learns the new epochs, steps down and follows; the views agree again.
    expect(
      await eventually(async () => {
        const v = await settled(c!, ids);
        return v !== undefined && ledBy(v, victim).length === 0;
      }, 15_000),
    ).toBe(true);
    await load.finish();
    await leaders.finish();
    expect(leaders.conflicts()).toEqual([]);
    for (const p of ledBy(before, victim)) expect((await view(c, victim)).partitions[p]!.epoch).toBeGreaterThan(1);
    await expectAllReadable(client, load.acked);
    await expectReplicasIdentical(c, ids);
    console.log(`paused ${victim}: ${load.acked.size} w=all writes acknowledged, ${load.failed} failed (seed ${seed})`);
  }, 120_000);

  it('a write forwarded to a leader that goes silent is answered at once, then follows the failover', async () => {
    c = await TestCluster.start(SPEC);
    onTestFailed(logs);
    const v0 = (await settled(c, ['n1', 'n2', 'n3']))!;
    // Partition 0: led by n1, followed by n2; n3 forwards its writes.
    expect(v0.partitions[0]!.leader).toBe('n1');
    let key = '';
    for (let i = 0; !key; i++) if (partitionOf(keyBytes(`fwd-${i}`), PARTITIONS) === 0) key = `fwd-${i}`;
    const put = async (v: string) => {
      const t = Date.now();
      const r = await fetch(`${c!.node('n3').url}/kv/${key}?w=all`, {
        method: 'PUT',
        body: v,
        signal: AbortSignal.timeout(30_000),
      });
      const body = r.status === 204 ? {} : ((await r.json()) as { code?: string });
      return { status: r.status, code: body.code, ms: Date.now() - t };
    };
    expect((await put('before')).status).toBe(204);
    c.procs.get('n1')!.kill('SIGSTOP');
    // In flight to the paused leader: given up once n3's heartbeats find n1 silent (UNKNOWN_OUTCOME), not held for the request's own timeout (writeTimeoutMs + 1 s; it was
    // writeTimeoutMs + 5 s = 8 s here).
    const during = await put('during');
    expect([during.status, during.code]).toEqual([504, 'UNKNOWN_OUTCOME']);
    expect(during.ms).toBeLessThan(SPEC.extra.writeTimeoutMs + 4000);
    // Once n2 leads partition 0, the same node forwards there: the write is acknowledged.
    expect(
      await eventually(async () => (await view(c!, 'n3')).partitions[0]!.leader === 'n2', FAILOVER_MS + 5000),
    ).toBe(true);
    expect((await put('after')).status).toBe(204);
    c.procs.get('n1')!.kill('SIGCONT');
  }, 120_000);

  it('never promotes a follower that left the in-sync set', async () => {
    c = await TestCluster.start(SPEC);
    onTestFailed(logs);
    client = await ClusterClient.connect(
      c.nodes.map((n) => n.url),
      { timeoutMs: 8000 },
    );
    const v0 = (await settled(c, ['n1', 'n2', 'n3']))!;
    // Partition 0: led by n1, followed by n2 (placement). Keys of partition 0 only.
    const p0 = v0.partitions[0]!;
    expect([p0.leader, p0.followers[0]!.id]).toEqual(['n1', 'n2']);
    const keys: string[] = [];
    for (let i = 0; keys.length < 30; i++)
      if (partitionOf(keyBytes(`isr-${i}`), PARTITIONS) === 0) keys.push(`isr-${i}`);
    await client.put(keys[0]!, 'before', { w: 'all' });
    // n2 stops: it leaves partition 0's in-sync set, and w=all writes are acknowledged without it.
    c.procs.get('n2')!.kill('SIGSTOP');
    const acked = new Map<string, string>([[keys[0]!, 'before']]);
    for (const k of keys.slice(1)) {
      await client.put(k, `after-${k}`, { w: 'all' });
      acked.set(k, `after-${k}`);
    }
    expect((await view(c, 'n3')).partitions[0]!.isr).toEqual(['n1']);
    // The leader dies and n2 comes back: n2 lacks those writes, so it must not lead partition 0.
    await c.kill('n1');
    c.procs.get('n2')!.kill('SIGCONT');
    await sleep(3 * FAILOVER_MS + 1000);
    for (const id of ['n2', 'n3']) {
      const p = (await view(c, id)).partitions[0]!;
      expect(p.leader, `${id} names a leader for partition 0`).toBe('n1');
      expect(p.epoch).toBe(1);
    }
    // n1 returns: it leads partition 0 again, n2 catches up and every acknowledged write is there.
    await c.restart('n1');
    await expectAllReadable(client, acked);
    await expectReplicasIdentical(c, ['n1', 'n2', 'n3']);
  }, 120_000);
});
