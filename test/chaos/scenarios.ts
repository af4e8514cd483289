// Leader-fault scenarios that only a cluster with automatic failover passes: the faulted node leads
// partitions, and each of them must take w=all writes again within failoverTimeoutMs + 5 s, before
// the fault heals, with nothing w=all-acknowledged lost and the replicas identical afterwards. Not a
// test file: test/chaos/failover.test.ts runs each of them. The nodes run with a 2 s failover
// timeout so that each run stays well under a minute.

import { expect } from 'vitest';
import { BASE_SEED } from '../engine/vfs/seeded-random.js';
import { expectSafe } from './expect-safe.js';
import { rngOf, type FaultKind } from './nemesis.js';
import type { ChaosOptions, ChaosResult } from './run.js';

const FAILOVER_TIMEOUT_MS = 2000;
/** The bound: every partition takes writes again within failoverTimeoutMs + 5 s. */
const GRACE_MS = 5000;

export interface Scenario {
  name: string;
  seed: number;
  options: ChaosOptions;
}

function scenario(
  name: string,
  seed: number,
  kinds: FaultKind[],
  target?: string,
  more: { clientsAtTarget?: boolean; writeTimeoutMs?: number } = {},
): Scenario {
  const rng = rngOf(seed);
  const at = target ?? rng.pick(['n1', 'n2', 'n3']);
  return {
    name,
    seed,
    options: {
      seed,
      cluster: { failoverTimeoutMs: FAILOVER_TIMEOUT_MS, writeTimeoutMs: more.writeTimeoutMs },
      home: more.clientsAtTarget ? at : undefined,
      // Long enough that a failover must happen before the heal for the checks to pass.
      faults: kinds.map((kind) => ({
        kind,
        target: at,
        durationMs: FAILOVER_TIMEOUT_MS + GRACE_MS + 1000,
        gapMs: 3000,
      })),
    },
  };
}

export const FAILOVER_SCENARIOS: Scenario[] = [
  scenario(
    'the first-listed node killed: its partitions fail over, nothing w=all lost',
    BASE_SEED + 10,
    ['kill'],
    'n1',
  ),
  scenario('a leader killed (seeded node): its partitions fail over', BASE_SEED + 11, ['kill']),
  scenario('a leader paused past the failover timeout: failover, then the old leader is fenced', BASE_SEED + 12, [
    'pause',
  ]),
  scenario('a leader cut off both ways: the majority side fails over, the isolated one stops', BASE_SEED + 13, [
    'partition',
  ]),
  scenario('a leader that cannot send (one-way, silent): its partitions fail over', BASE_SEED + 14, ['oneway-out']),
  // It hears the new configurations but reaches nobody: the clients it has must be sent elsewhere at
  // once, not after writeTimeoutMs (the config's default, longer than the failover timeout here),
  // and the partitions it follows must drop it from their in-sync sets without waiting for its answer.
  scenario(
    'a leader that cannot send, every client at it: all partitions take w=all writes within the bound',
    BASE_SEED + 16,
    ['oneway-out'],
    undefined,
    { clientsAtTarget: true, writeTimeoutMs: 5000 },
  ),
  scenario('a leader that cannot receive (one-way): its partitions fail over, it fences itself', BASE_SEED + 15, [
    'oneway-in',
  ]),
];

/**
 * What failover adds to expectSafe: each partition the faulted node led named a new leader on another
 * node and acknowledged a w=all write again before the heal, within failoverTimeoutMs + 5 s, and no
 * partition went longer than that without a w=all acknowledgement.
 */
export function expectFailover(r: ChaosResult): void {
  expectSafe(r);
  const bound = r.failoverTimeoutMs + GRACE_MS;
  for (const a of r.availability) {
    expect(a.recoveryMs.length, `${a.kind}(${a.target}) led partitions`).toBeGreaterThan(0);
    for (const x of a.recoveryMs) {
      const what = `${a.kind}(${a.target}) partition ${x.partition}`;
      expect(x.failoverMs, `${what}: time to a new leader`).not.toBeNull();
      expect(x.beforeHeal, `${what}: w=all writes again before the heal`).toBe(true);
      expect(x.ms!, `${what}: w=all writes again within ${bound} ms`).toBeLessThanOrEqual(bound);
    }
    expect(a.maxUnavailableMs, `${a.kind}(${a.target}): longest without w=all writes`).toBeLessThanOrEqual(bound);
  }
}
