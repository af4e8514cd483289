// Short seeded chaos runs with process faults on a 3-node, replication-factor-2 cluster under write
// load (test/chaos/run.ts): a node killed with SIGKILL and restarted on its data, and a node stopped
// with SIGSTOP for longer than the failover timeout. Whichever node the seed picks (the first-listed
// one included), no w=all-acknowledged write is lost and the replicas converge once it is back.
//   EAU2_SEED=7 npx vitest run test/chaos/process-faults.test.ts

import { describe, expect, it } from 'vitest';
import { BASE_SEED } from '../engine/vfs/seeded-random.js';
import { expectSafe, printOnFailure } from './expect-safe.js';
import { rngOf } from './nemesis.js';
import { runChaos, type ChaosResult } from './run.js';

// A run takes 25-40 s on a quiet 2-core machine; starting and restarting node processes (tsx compiles
// every file) is what grows under load, hence the longer timeout.
const TIMEOUT_MS = 90_000;
/** Smaller than the default run: fewer partitions and clients leave the nodes more of the CPU. */
const SMALL = { partitions: 4 } as const;

describe('chaos: process faults', () => {
  it(
    'a node killed with SIGKILL and restarted loses no w=all-acknowledged write; replicas converge',
    async () => {
      const seed = BASE_SEED;
      let r: ChaosResult | undefined;
      printOnFailure(seed, () => r);
      const target = rngOf(seed).pick(['n1', 'n2', 'n3']);
      r = await runChaos({ seed, cluster: SMALL, faults: [{ kind: 'kill', target, durationMs: 3000, gapMs: 1000 }] });
      expectSafe(r);
      expect(r.ops.some((o) => o.node === target && o.code === 'NO_ANSWER')).toBe(true);
    },
    TIMEOUT_MS,
  );

  it(
    'a node paused past the failover timeout loses no w=all-acknowledged write; replicas converge',
    async () => {
      const seed = BASE_SEED + 1;
      let r: ChaosResult | undefined;
      printOnFailure(seed, () => r);
      const target = rngOf(seed).pick(['n1', 'n2', 'n3']);
      r = await runChaos({
        seed,
        cluster: SMALL,
        faults: [{ kind: 'pause', target, durationMs: 6000, gapMs: 1000 }],
      });
      expectSafe(r);
      expect(r.faults[0]!.healed - r.faults[0]!.start).toBeGreaterThan(r.failoverTimeoutMs);
    },
    TIMEOUT_MS,
  );
});
