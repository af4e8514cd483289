// The assertions every short chaos run makes, whatever its faults: nothing acknowledged with w=all is
// lost, counters never go back past a w=all acknowledgement nor hold a value nobody wrote, the replicas
// converge (verify says identical), the cluster settles after every heal (its in-sync sets full again;
// run.ts waits for that before the next fault), no two nodes ever led a partition in one epoch, and the faults
// really hurt (some writes failed while they lasted) while the cluster kept taking writes.

import { expect, onTestFailed } from 'vitest';
import { BASE_SEED } from '../engine/vfs/seeded-random.js';
import { summary, type ChaosResult } from './run.js';

/**
 * Registers the run's seed and summary to be printed if the current test fails. Each test derives its
 * run's seed from BASE_SEED (BASE_SEED + a per-test offset), so the replay sets EAU2_SEED to the
 * base, which gives every test in the file the seed it had.
 */
export function printOnFailure(seed: number, result: () => ChaosResult | undefined): void {
  onTestFailed(() => {
    const r = result();
    console.error(
      `chaos test failed with run seed ${seed} (replay: EAU2_SEED=${BASE_SEED})${r ? `\n${summary(r)}` : ''}`,
    );
  });
}

export function expectSafe(r: ChaosResult): void {
  const d = r.durability;
  expect(d.wAllAcked).toBeGreaterThan(0);
  expect(d.wAllLost.map((o) => o.key)).toEqual([]);
  expect(d.counterViolations).toEqual([]);
  expect('error' in r.verify ? r.verify.error : r.verify.identical).toBe(true);
  expect(r.splitBrain).toEqual([]);
  const unsettled = r.settles.filter((x) => !x.settled);
  expect(unsettled, 'the cluster did not settle after a heal').toEqual([]);
  for (const f of r.faults) {
    const during = r.ops.filter((o) => o.start >= f.start && o.end <= f.healed);
    expect(during.filter((o) => o.ok).length, `${f.kind}(${f.target}): writes accepted during it`).toBeGreaterThan(0);
  }
}
