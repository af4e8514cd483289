// What a chaos run is judged by, once every fault has healed:
// - durability: every w=all-acknowledged write is readable with its value (a counter with at least
//   its last acknowledged value, and only ever a value some client tried); w=1 writes that were
//   acknowledged and are gone are counted, not failed (docs/api.md says what w=1 may lose);
// - convergence: GET /cluster/verify reports every partition identical;
// - one leader per (partition, epoch): from /cluster sampled on every node through the run, no two
//   nodes ever claimed to lead a partition in the same epoch, nor did two nodes' views name different
//   leaders for it (the partition's own `epoch` where /cluster gives one, else the cluster-wide one);
// - availability: per fault, the longest time any partition took no write, and for the partitions the
//   faulted node led, the time until the first write accepted after the fault began.

import type { Op } from './workload.js';

export interface FinalState {
  /** key -> value, read from the partitions' leaders after the heal. */
  values: Map<string, string>;
}

export interface DurabilityResult {
  wAllAcked: number;
  wAllLost: Op[];
  w1Acked: number;
  w1Lost: Op[];
  /** Counters holding a value no client ever wrote, or older than their last w=all acknowledgement. */
  counterViolations: { key: string; found: string | undefined; lastAcked: number }[];
}

export function checkDurability(ops: Op[], state: FinalState): DurabilityResult {
  const out: DurabilityResult = { wAllAcked: 0, wAllLost: [], w1Acked: 0, w1Lost: [], counterViolations: [] };
  const counters = new Map<string, { lastAckedAll: number; lastAckedAny: number; tried: Set<string> }>();
  for (const op of ops) {
    if (op.kind === 'counter') {
      let c = counters.get(op.key);
      if (!c) counters.set(op.key, (c = { lastAckedAll: 0, lastAckedAny: 0, tried: new Set() }));
      c.tried.add(op.value);
      if (op.ok) {
        c.lastAckedAny = Math.max(c.lastAckedAny, op.seq);
        if (op.w === 'all') c.lastAckedAll = Math.max(c.lastAckedAll, op.seq);
      }
    }
    if (!op.ok) continue;
    if (op.w === 'all') out.wAllAcked++;
    else out.w1Acked++;
    if (op.kind !== 'append') continue;
    if (state.values.get(op.key) !== op.value) (op.w === 'all' ? out.wAllLost : out.w1Lost).push(op);
  }
  for (const [key, c] of counters) {
    const found = state.values.get(key);
    const n = found === undefined ? 0 : Number(found);
    if ((found !== undefined && !c.tried.has(found)) || n < c.lastAckedAll)
      out.counterViolations.push({ key, found, lastAcked: c.lastAckedAll });
    else if (n < c.lastAckedAny) {
      // A w=1 acknowledgement of a counter that went back: a lost w=1 write.
      const lost = ops.find((o) => o.key === key && o.ok && o.seq === c.lastAckedAny);
      if (lost) out.w1Lost.push(lost);
    }
  }
  return out;
}

/** One GET /cluster answer from one node. */
export interface ClusterSample {
  t: number;
  from: string;
  epoch: number;
  partitions: { partition: number; leader: string; epoch?: number }[];
}

export interface SplitBrain {
  partition: number;
  epoch: number;
  leaders: string[];
}

/**
 * Every (partition, epoch) with more than one leader: claimed by two nodes (each saying in its own
 * /cluster that it leads), or named differently by two nodes' views. Either would mean the epoch did
 * not decide the leadership uniquely.
 */
export function checkOneLeaderPerEpoch(samples: ClusterSample[]): SplitBrain[] {
  const leaders = new Map<string, Set<string>>();
  for (const s of samples)
    for (const pt of s.partitions) {
      const k = `${pt.partition}/${pt.epoch ?? s.epoch}`;
      let set = leaders.get(k);
      if (!set) leaders.set(k, (set = new Set()));
      set.add(pt.leader);
    }
  const out: SplitBrain[] = [];
  for (const [k, set] of leaders)
    if (set.size > 1) {
      const [p, e] = k.split('/').map(Number);
      out.push({ partition: p!, epoch: e!, leaders: [...set].sort() });
    }
  return out;
}

export interface FaultRecord {
  kind: string;
  target: string;
  /** ms since the epoch: fault injected; heal begun (links restored, SIGCONT sent, restart begun); healed
   * (for a kill: the restarted node serves). */
  start: number;
  healStart: number;
  healed: number;
  /** Partitions `target` led when the fault began. */
  led: number[];
}

export interface FaultAvailability {
  kind: string;
  target: string;
  durationMs: number;
  /** The longest time any partition accepted no write, from the fault's start to the next fault's. */
  maxUnavailableMs: number;
  worstPartition: number;
  /**
   * Per partition `target` led: ms from the fault's start to the first write accepted that was sent
   * after it, and whether that came before the heal began (a failover) or only after (the node back).
   */
  recoveryMs: { partition: number; ms: number | null; beforeHeal: boolean }[];
}

export function availability(ops: Op[], faults: FaultRecord[], partitions: number, end: number): FaultAvailability[] {
  const acks: number[][] = Array.from({ length: partitions }, () => []);
  for (const op of ops) if (op.ok) acks[op.p]!.push(op.end);
  for (const a of acks) a.sort((x, y) => x - y);
  return faults.map((f, i) => {
    const until = faults[i + 1]?.start ?? end;
    let worst = 0;
    let worstP = -1;
    for (let p = 0; p < partitions; p++) {
      let prev = f.start;
      let gap = 0;
      for (const t of acks[p]!) {
        if (t <= f.start) continue;
        if (t > until) break;
        gap = Math.max(gap, t - prev);
        prev = t;
      }
      gap = Math.max(gap, until - prev);
      if (gap > worst) [worst, worstP] = [gap, p];
    }
    const recoveryMs = f.led.map((p) => {
      const first = ops
        .filter((o) => o.ok && o.p === p && o.start >= f.start)
        .reduce<number | null>((m, o) => (m === null || o.end < m ? o.end : m), null);
      return {
        partition: p,
        ms: first === null ? null : first - f.start,
        beforeHeal: first !== null && first < f.healed,
      };
    });
    return {
      kind: f.kind,
      target: f.target,
      durationMs: f.healed - f.start,
      maxUnavailableMs: worst,
      worstPartition: worstP,
      recoveryMs,
    };
  });
}

export function percentile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}
