// Short seeded chaos runs with network faults through the proxy between nodes (test/support/
// link-proxy.ts): a node cut off from the others both ways, then only what it sends, then only what it
// receives (silent, half-open links), then every link of a node slowed. No w=all-acknowledged write is
// lost and the replicas converge once the links heal.
//   EAU2_SEED=7 npx vitest run test/chaos/network-faults.test.ts

import { describe, it } from 'vitest';
import { BASE_SEED } from '../engine/vfs/seeded-random.js';
import { expectSafe, printOnFailure } from './expect-safe.js';
import { rngOf } from './nemesis.js';
import { runChaos, type ChaosResult } from './run.js';

// A run takes 25-40 s on a quiet 2-core machine; starting node processes (tsx compiles every file) is
// what grows under load, hence the longer timeout.
const TIMEOUT_MS = 90_000;

describe('chaos: network faults', () => {
  it(
    'a node partitioned away both ways: nothing w=all-acknowledged lost, replicas converge',
    async () => {
      const seed = BASE_SEED + 2;
      let r: ChaosResult | undefined;
      printOnFailure(seed, () => r);
      const target = rngOf(seed).pick(['n1', 'n2', 'n3']);
      r = await runChaos({ seed, faults: [{ kind: 'partition', target, durationMs: 4000, gapMs: 1500 }] });
      expectSafe(r);
    },
    TIMEOUT_MS,
  );

  it(
    'one-way cuts, what a node sends then what it receives: nothing w=all-acknowledged lost',
    async () => {
      const seed = BASE_SEED + 4;
      let r: ChaosResult | undefined;
      printOnFailure(seed, () => r);
      const rng = rngOf(seed);
      const ids = ['n1', 'n2', 'n3'];
      r = await runChaos({
        seed,
        faults: [
          { kind: 'oneway-out', target: rng.pick(ids), durationMs: 3000, gapMs: 1000 },
          { kind: 'oneway-in', target: rng.pick(ids), durationMs: 3000, gapMs: 1000 },
        ],
      });
      expectSafe(r);
    },
    TIMEOUT_MS,
  );

  it(
    'every link of a node slowed: nothing w=all-acknowledged lost, replicas converge',
    async () => {
      const seed = BASE_SEED + 3;
      let r: ChaosResult | undefined;
      printOnFailure(seed, () => r);
      r = await runChaos({
        seed,
        faults: [{ kind: 'latency', target: rngOf(seed).pick(['n1', 'n2', 'n3']), durationMs: 4000, gapMs: 1000 }],
      });
      expectSafe(r);
    },
    TIMEOUT_MS,
  );
});
