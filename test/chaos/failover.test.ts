// The leader-fault scenarios (scenarios.ts), each a short seeded chaos run on a 3-node,
// replication-factor-2 cluster with failoverTimeoutMs 2000: the faulted node (the first-listed one
// killed, a seeded one killed, paused, cut off both ways, cut off one way) leads partitions, and each
// of them must take w=all writes again on another node before the fault heals, within
// failoverTimeoutMs + 5 s (expectFailover), with nothing w=all-acknowledged lost, no two leaders in one
// (partition, epoch), and every replica identical after the heal (expectSafe).
//   EAU2_SEED=7 npx vitest run test/chaos/failover.test.ts   (EAU2_SEED shifts every scenario's seed)

import { describe, it } from 'vitest';
import { printOnFailure } from './expect-safe.js';
import { runChaos, type ChaosResult } from './run.js';
import { expectFailover, FAILOVER_SCENARIOS } from './scenarios.js';

// A run takes 30-45 s on a quiet 2-core machine (three node processes started by tsx, an 8 s fault,
// verify); the bound leaves room for a loaded machine. The processes are killed by runChaos's finally.
const TIMEOUT_MS = 120_000;

describe('chaos: leader faults fail over', () => {
  for (const s of FAILOVER_SCENARIOS)
    it(
      s.name,
      async () => {
        let r: ChaosResult | undefined;
        printOnFailure(s.seed, () => r);
        r = await runChaos(s.options);
        expectFailover(r);
      },
      TIMEOUT_MS,
    );
});
