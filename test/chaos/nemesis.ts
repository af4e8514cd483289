// The faults a chaos run injects, one at a time, and the seeded scheduler that picks them: which fault,
// on which node (the first-listed node included), for how long, and the quiet gap before the next.
// Process faults: SIGKILL then a restart on the same data; SIGSTOP then SIGCONT, longer than the
// failover timeout. Network faults through the proxy: a node cut off both ways, one way (what it
// sends, or what it receives: the half-open, silent link), or every link of a node delayed.

import { mulberry32 } from '../../engine/util/random.js';
import type { ChaosCluster } from './chaos-cluster.js';

export const FAULT_KINDS = ['kill', 'pause', 'partition', 'oneway-out', 'oneway-in', 'latency'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Added latency for a 'latency' fault, each way. */
const LATENCY_MS = 150;

export interface PlannedFault {
  kind: FaultKind;
  target: string;
  /** How long the fault lasts before it is healed. */
  durationMs: number;
  /** Quiet time after the heal (and the restart, for a kill) before the next fault. */
  gapMs: number;
}

/** Injects `f`; resolves once it is in effect. */
export async function inject(c: ChaosCluster, f: PlannedFault): Promise<void> {
  switch (f.kind) {
    case 'kill':
      return c.kill(f.target);
    case 'pause':
      return c.pause(f.target);
    case 'partition':
      return c.isolate(f.target);
    case 'oneway-out':
      return c.cutOneWay(f.target, 'out');
    case 'oneway-in':
      return c.cutOneWay(f.target, 'in');
    case 'latency':
      return c.slow(f.target, LATENCY_MS);
  }
}

/** Undoes `f`; resolves once the node serves again (a killed node restarted). */
export async function heal(c: ChaosCluster, f: PlannedFault): Promise<void> {
  switch (f.kind) {
    case 'kill':
      return c.restart(f.target);
    case 'pause':
      return c.resume(f.target);
    default:
      return c.healNetwork();
  }
}

export interface Rng {
  next(): number;
  int(lo: number, hi: number): number;
  pick<T>(xs: readonly T[]): T;
}

export function rngOf(seed: number): Rng {
  const next = mulberry32(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(next() * (hi - lo + 1));
  return { next, int, pick: (xs) => xs[int(0, xs.length - 1)]! };
}

export interface ScheduleOptions {
  nodes: string[];
  kinds: readonly FaultKind[];
  /** Faults last from failoverTimeoutMs + 1 s to failoverTimeoutMs + 4 s (process and network alike). */
  failoverTimeoutMs: number;
  gapMs?: [number, number];
}

/** The next fault, drawn from `rng`. */
export function nextFault(rng: Rng, o: ScheduleOptions): PlannedFault {
  const [gLo, gHi] = o.gapMs ?? [2000, 5000];
  return {
    kind: rng.pick(o.kinds),
    target: rng.pick(o.nodes),
    durationMs: o.failoverTimeoutMs + rng.int(1000, 4000),
    gapMs: rng.int(gLo, gHi),
  };
}
