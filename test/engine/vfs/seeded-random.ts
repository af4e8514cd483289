// Deterministic randomness for tests: every test draws from a generator seeded from EAU2_SEED (or a
// fixed default), and prints the seed if it fails, so a failure can be replayed exactly:
//   EAU2_SEED=1234 npx vitest run test/engine/wal

import { onTestFailed } from 'vitest';
import { mulberry32 } from '../../../engine/util/random.js';

export interface Rng {
  readonly seed: number;
  /** Float in [0, 1). */
  next(): number;
  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number;
  bytes(n: number): Uint8Array;
  pick<T>(xs: readonly T[]): T;
}

export const BASE_SEED = process.env.EAU2_SEED ? Number(process.env.EAU2_SEED) : 0x5eed;

/** A generator for the current test; call inside a test so the seed is printed on failure. */
export function seededRng(seed: number = BASE_SEED): Rng {
  onTestFailed(() => {
    console.error(`test failed with seed ${seed} (replay: EAU2_SEED=${seed})`);
  });
  const next = mulberry32(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  return {
    seed,
    next,
    int,
    bytes(n) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i += 4) {
        const v = Math.floor(next() * 4294967296);
        for (let k = 0; k < 4 && i + k < n; k++) b[i + k] = (v >>> (8 * k)) & 0xff;
      }
      return b;
    },
    pick: (xs) => xs[int(0, xs.length - 1)]!,
  };
}
