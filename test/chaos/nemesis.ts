// The faults a chaos run injects, one at a time, and the seeded scheduler that picks them: which fault,
// on which node (the first-listed node included), for how long, and the quiet gap before the next.
// Process faults: SIGKILL then a restart on the same data; SIGSTOP then SIGCONT, longer than the
// failover timeout. Network faults through the proxy: a node cut off both ways, one way (what it
// sends, or what it receives: the half-open, silent link), or every link of a node delayed. Disk
// faults (nemeses-disk.ts): the node's small filesystem filled up, then freed (needs root, to mount
// the tmpfs: diskKindsAvailable() says whether they can run here); a flipped bit in one of its
// tables, healed by the node itself (scrub, read detour, repair from a replica).

import { mulberry32 } from '../../engine/util/random.js';
import type { ChaosCluster } from './chaos-cluster.js';

export const FAULT_KINDS = [
  'kill',
  'pause',
  'partition',
  'oneway-out',
  'oneway-in',
  'latency',
  'disk-full',
  'corrupt-table',
] as const;
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

/** Faults that need the nodes' data on small tmpfs mounts, which only root can make. */
const ROOT_KINDS: readonly FaultKind[] = ['disk-full'];

/** True when this process may mount a tmpfs (root): the 'disk-full' nemesis can run. */
export function diskKindsAvailable(): boolean {
  return process.getuid?.() === 0;
}

/**
 * `kinds` without those this machine cannot run, and a sentence saying which were left out and why
 * (undefined when none were): a run never passes silently over a fault it did not inject.
 */
export function runnableKinds(kinds: readonly FaultKind[]): { kinds: FaultKind[]; skipped?: string } {
  if (diskKindsAvailable()) return { kinds: [...kinds] };
  const out = kinds.filter((k) => !ROOT_KINDS.includes(k));
  const left = kinds.filter((k) => ROOT_KINDS.includes(k));
  return left.length === 0
    ? { kinds: out }
    : { kinds: out, skipped: `fault ${left.join(', ')} NOT RUN: mounting the small tmpfs it needs takes root` };
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
    case 'disk-full':
      return c.fillDisk(f.target);
    case 'corrupt-table':
      await c.corruptTable(f.target, Math.floor(f.durationMs));
      return;
  }
}

/** Undoes `f`; resolves once the node serves again (a killed node restarted). */
export async function heal(c: ChaosCluster, f: PlannedFault): Promise<void> {
  switch (f.kind) {
    case 'kill':
      return c.restart(f.target);
    case 'pause':
      return c.resume(f.target);
    case 'disk-full':
      return c.freeDisk(f.target);
    case 'corrupt-table':
      return; // nothing to undo: the node finds the damage and repairs it from a replica
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
