// The leader-fault scenarios (scenarios.ts), each a short seeded chaos run on a 3-node,
// replication-factor-2 cluster with failoverTimeoutMs 2000: the faulted node (the first-listed one
// killed, a seeded one killed, paused, cut off both ways, cut off one way or the other) leads
// partitions, and each of them must take w=all writes again on another node before the fault heals,
// within failoverTimeoutMs + 5 s (expectFailover), with nothing w=all-acknowledged lost, no two
// leaders in one (partition, epoch), and every replica identical after the heal (expectSafe).
//   EAU2_SEED=7 npx vitest run test/chaos/failover.test.ts   (each scenario runs with EAU2_SEED + its offset)

import { describe, expect, it } from 'vitest';
import { printOnFailure } from './expect-safe.js';
import { runChaos, type ChaosResult } from './run.js';
import { expectFailover, FAILOVER_SCENARIOS } from './scenarios.js';

// A run takes 25-50 s on a 2-core machine (three node processes started by tsx, a 8 s fault, verify);
// the bound leaves room for a loaded one. runChaos kills every process it started, also on failure.
const TIMEOUT_MS = 120_000;

/**
 * With the first-listed node dead, the others still serve the topology (their /cluster, sampled during
 * the fault, names the new leaders) and still take a node in: n1, restarted, is heard and adopts the
 * configurations elected without it (its own /cluster shows them, none led by itself).
 */
function expectFirstNodeReplaceable(r: ChaosResult): void {
  const f = r.faults[0]!;
  expect(f.target).toBe('n1');
  const during = r.samples.filter((s) => s.t >= f.start && s.t < f.healStart && s.from !== 'n1');
  expect(new Set(during.map((s) => s.from))).toEqual(new Set(['n2', 'n3']));
  const last = during.at(-1)!;
  for (const p of f.led) expect(last.partitions[p]!.leader).not.toBe('n1');
  const back = r.samples.filter((s) => s.t >= f.healed && s.from === 'n1').at(-1);
  expect(back, 'n1 answered /cluster after its restart').toBeDefined();
  for (const p of f.led) {
    const mine = back!.partitions[p]!;
    expect(mine.leader).not.toBe('n1');
    expect(mine.epoch!).toBeGreaterThan(1);
  }
}

describe('chaos: leader faults fail over', () => {
  for (const s of FAILOVER_SCENARIOS)
    it(
      s.name,
      async () => {
        let r: ChaosResult | undefined;
        printOnFailure(s.seed, () => r);
        r = await runChaos(s.options);
        expectFailover(r);
        const f = s.options.faults![0]!;
        if (f.kind === 'kill' && f.target === 'n1') expectFirstNodeReplaceable(r);
      },
      TIMEOUT_MS,
    );
});
