// A follower that comes back rejoins the in-sync set of the partitions others lead promptly, however
// long the operator lets a leader be silent before failing it over (docs/failover.md "In-sync
// replicas"): the leader adds it once it streams and has acknowledged what w=all writers were told,
// which no failure-detector timer gates. Here the failover timeout is 10 minutes: a node is killed,
// the leaders of the partitions it follows take writes until they have shrunk it out of their ISR,
// and once it is restarted every one of them must hold it in sync again, caught up, long before
// that timeout (and with no failover: the dead node's own partitions wait for it, by design).

import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { keyBytes, partitionOf } from '../../kv/index.js';
import { eventually, TestCluster } from './support/cluster-harness.js';

const PARTITIONS = 16;
const FAILOVER_MS = 600_000;
/** Far below FAILOVER_MS, and room for a loaded 2-core machine: the rejoin takes about a second. */
const REJOIN_BOUND_MS = 30_000;

interface View {
  partitions: {
    partition: number;
    epoch: number;
    leader: string;
    isr: string[];
    lsn: number | null;
    followers: { id: string; state: string; lag: number | null }[];
  }[];
}

async function view(c: TestCluster, id: string): Promise<View> {
  const r = await fetch(`${c.node(id).url}/cluster`, { signal: AbortSignal.timeout(3000) });
  return (await r.json()) as View;
}

/** The first key of the form `<prefix><i>` that falls in partition p. */
function keyIn(p: number, prefix: string): string {
  for (let i = 0; ; i++) if (partitionOf(keyBytes(`${prefix}${i}`), PARTITIONS) === p) return `${prefix}${i}`;
}

describe('a restarted follower with a long failover timeout', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('is back in the in-sync set of every partition it follows, caught up, long before the timeout', async () => {
    const c = (cluster = await TestCluster.start({
      nodes: 3,
      partitions: PARTITIONS,
      replicationFactor: 2,
      extra: { failoverTimeoutMs: FAILOVER_MS, replicaLagMaxMs: 1000 },
      logLevel: 'info',
    }));
    onTestFailed(() => {
      for (const n of c.nodes) console.log(`--- ${n.id}\n${c.log(n.id).slice(-6000)}`);
    });
    const before = await view(c, 'n2');
    const followed = before.partitions.filter((p) => p.leader !== 'n1' && p.followers.some((f) => f.id === 'n1'));
    expect(followed.length).toBeGreaterThan(0);

    await c.kill('n1');
    // Writes to every partition n1 follows, until each leader has taken n1 out of its ISR.
    let round = 0;
    const shrunk = await eventually(
      async () => {
        round++;
        for (const p of followed) {
          const key = keyIn(p.partition, `r${round}-`);
          const r = await fetch(`${c.node('n2').url}/kv/${key}`, { method: 'PUT', body: `v${round}` });
          expect(r.status).toBe(204);
        }
        const v = await view(c, 'n2');
        return followed.every((p) => !v.partitions[p.partition]!.isr.includes('n1'));
      },
      30_000,
      200,
    );
    expect(shrunk).toBe(true);

    const t0 = performance.now();
    await c.restart('n1');
    const healthyMs = performance.now() - t0;
    let last: View | undefined;
    const rejoined = await eventually(
      async () => {
        last = await view(c, 'n2');
        return followed.every((p) => {
          const q = last!.partitions[p.partition]!;
          const f = q.followers.find((x) => x.id === 'n1');
          return q.isr.includes('n1') && f?.state === 'in-sync' && f.lag === 0;
        });
      },
      REJOIN_BOUND_MS,
      100,
    );
    const rejoinMs = performance.now() - t0;
    console.log(`restart to healthy ${healthyMs.toFixed(0)} ms, restart to every ISR ${rejoinMs.toFixed(0)} ms`);
    expect(
      rejoined,
      JSON.stringify(last?.partitions.filter((p) => followed.some((q) => q.partition === p.partition))),
    ).toBe(true);
    // Nothing failed over: the rejoin did not wait for, nor cause, an election.
    for (const p of last!.partitions) expect(p.epoch).toBe(before.partitions[p.partition]!.epoch);
  }, 120_000);
});
