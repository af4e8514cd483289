// Expiry and counters across an automatic failover, through redis-cli against node processes
// (3 nodes, 2 replicas, a 1.5 s failover timeout): the leader of the keys' partition is killed; the
// promoted follower serves the same values with the same absolute expiry (the expiry is data,
// replicated with the value), an expiring key still expires on time, and INCR goes on from the
// replicated count.

import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../../kv/index.js';
import { eventually, sleep, TestCluster } from '../support/cluster-harness.js';

const PARTITIONS = 4;

function cli(port: number, args: string[]): string {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 30_000 }).stdout.trim();
}

async function leaderOf(c: TestCluster, id: string, p: number): Promise<string | undefined> {
  try {
    const r = await fetch(`${c.node(id).url}/cluster`, { signal: AbortSignal.timeout(3000) });
    const v = (await r.json()) as { partitions: { partition: number; leader: string }[] };
    return v.partitions.find((x) => x.partition === p)?.leader;
  } catch {
    return undefined;
  }
}

describe('RESP across a failover', () => {
  let c: TestCluster | undefined;
  afterAll(async () => {
    await c?.stop();
  });

  it('keeps values, absolute expiries and counters when the leader is killed', async () => {
    c = await TestCluster.start({
      nodes: 3,
      partitions: PARTITIONS,
      replicationFactor: 2,
      resp: true,
      extra: { failoverTimeoutMs: 1500, replicaLagMaxMs: 1000, writeTimeoutMs: 3000 },
    });
    const p = partitionOf(Buffer.from('f'), PARTITIONS); // every key below has the hash tag {f}
    const leader = (await leaderOf(c, 'n1', p))!;
    const survivor = c.nodes.map((n) => n.id).find((id) => id !== leader)!;
    const port = c.node(survivor).respPort!;
    expect(cli(port, ['set', '{f}long', 'kept', 'EX', '3600'])).toBe('OK');
    expect(cli(port, ['set', '{f}short', 'brief', 'PX', '6000'])).toBe('OK');
    expect(cli(port, ['incrby', '{f}count', '41'])).toBe('41');
    expect(cli(port, ['wait', '1', '5000'])).toBe('1');
    const longAt = Date.now() + Number(cli(port, ['pttl', '{f}long']));
    const shortAt = Date.now() + Number(cli(port, ['pttl', '{f}short']));

    await c.kill(leader, 'SIGKILL');
    expect(
      await eventually(async () => {
        const l = await leaderOf(c!, survivor, p);
        return l !== undefined && l !== leader;
      }, 30_000),
    ).toBe(true);
    // The new leader answers with the same values and the same expiry instants (to the clock's ms).
    expect(await eventually(async () => cli(port, ['get', '{f}long']) === 'kept', 15_000)).toBe(true);
    expect(Math.abs(Date.now() + Number(cli(port, ['pttl', '{f}long'])) - longAt)).toBeLessThan(1000);
    expect(cli(port, ['incr', '{f}count'])).toBe('42');
    const left = shortAt - Date.now();
    if (left > 0) {
      expect(cli(port, ['get', '{f}short'])).toBe('brief');
      await sleep(left + 100);
    }
    expect(cli(port, ['get', '{f}short'])).toBe('');
    expect(cli(port, ['exists', '{f}short'])).toBe('0');
  });
});
