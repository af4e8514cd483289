// What a chaos run is judged by, once every fault has healed:
// - durability: every w=all-acknowledged write is readable with its value (a counter with at least
//   its last acknowledged value, and only ever a value some client tried); w=1 writes that were
//   acknowledged and are gone are counted, not failed (docs/api.md says what w=1 may lose);
// - convergence: GET /cluster/verify reports every partition identical;
// - one leader per (partition, epoch): from /cluster sampled on every node through the run, no two
//   nodes ever claimed to lead a partition in the same epoch, nor did two nodes' views name different
//   leaders for it (the partition's own `epoch` where /cluster gives one, else the cluster-wide one);
// - availability: per fault, the longest time any partition acknowledged no w=all write, and for the
//   partitions the faulted node led, the time until another node named a new leader (time to
//   failover) and until the first w=all write accepted after the fault began.

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
  /**
   * The longest time any partition acknowledged no w=all write, from the fault's start to the next
   * fault's: w=all, because an isolated old leader may still acknowledge w=1 writes it will lose.
   */
  maxUnavailableMs: number;
  worstPartition: number;
  /** The same over acknowledgements of any w. */
  maxUnavailableAnyMs: number;
  /**
   * Per partition `target` led: `failoverMs`, from the fault's start to the first /cluster sample
   * (from another node) naming another leader (null without samples, or when none did before the
   * heal began); `ms`, to the first w=all write accepted that was sent after the fault began, and
   * whether that came before the heal began.
   */
  recoveryMs: { partition: number; failoverMs: number | null; ms: number | null; beforeHeal: boolean }[];
}

function longestGap(acks: number[], from: number, until: number): number {
  let prev = from;
  let gap = 0;
  for (const t of acks) {
    if (t <= from) continue;
    if (t > until) break;
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return Math.max(gap, until - prev);
}

export function availability(
  ops: Op[],
  faults: FaultRecord[],
  partitions: number,
  end: number,
  samples: ClusterSample[] = [],
): FaultAvailability[] {
  const all: number[][] = Array.from({ length: partitions }, () => []);
  const any: number[][] = Array.from({ length: partitions }, () => []);
  for (const op of ops)
    if (op.ok) {
      any[op.p]!.push(op.end);
      if (op.w === 'all') all[op.p]!.push(op.end);
    }
  for (const a of [...all, ...any]) a.sort((x, y) => x - y);
  return faults.map((f, i) => {
    const until = faults[i + 1]?.start ?? end;
    let worst = 0;
    let worstP = -1;
    let worstAny = 0;
    for (let p = 0; p < partitions; p++) {
      const gap = longestGap(all[p]!, f.start, until);
      if (gap > worst) [worst, worstP] = [gap, p];
      worstAny = Math.max(worstAny, longestGap(any[p]!, f.start, until));
    }
    const recoveryMs = f.led.map((p) => {
      const first = ops
        .filter((o) => o.ok && o.w === 'all' && o.p === p && o.start >= f.start)
        .reduce<number | null>((m, o) => (m === null || o.end < m ? o.end : m), null);
      const moved = samples.find(
        (s) =>
          s.t >= f.start &&
          s.t < f.healStart &&
          s.from !== f.target &&
          s.partitions.some((x) => x.partition === p && x.leader !== f.target),
      );
      return {
        partition: p,
        failoverMs: moved ? moved.t - f.start : null,
        ms: first === null ? null : first - f.start,
        beforeHeal: first !== null && first < f.healStart,
      };
    });
    return {
      kind: f.kind,
      target: f.target,
      durationMs: f.healed - f.start,
      maxUnavailableMs: worst,
      worstPartition: worstP,
      maxUnavailableAnyMs: worstAny,
      recoveryMs,
    };
  });
}

export function percentile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
}
