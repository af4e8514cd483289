// The figures of a chaos run, for eau2 and Redis Cluster alike, and their side-by-side table: faults
// injected, operations tried / acknowledged / lost, time to failover (p50/p99 over the partitions the
// faulted node led, counting only failovers before the fault was healed), and availability per fault
// kind (the longest time any partition acknowledged no w=all write), and how long the cluster took to
// settle after each heal before the next fault (settle.ts; none when faults may overlap).

import { percentile, type DurabilityResult, type FaultAvailability, type FaultRecord } from './checkers.js';
import type { SettleRecord } from './settle.js';
import type { Op } from './workload.js';

export interface RunFigures {
  system: string;
  seed: number;
  minutes: number;
  failoverTimeoutMs: number;
  faults: Record<string, number>;
  tried: number;
  acked: { all: number; one: number };
  lost: { all: number; one: number; counterViolations: number };
  /**
   * Time to failover over the partitions the faulted node led: until another node's /cluster named
   * a new leader (eau2), or until the first w=all write accepted (Redis), if before the heal began.
   */
  failoverMs: { p50: number | null; p99: number | null; count: number };
  /** Led partitions that took writes again only once the fault was healed (no failover). */
  recoveredOnlyAfterHeal: number;
  /** Per fault kind: the longest time any partition acknowledged no w=all write (max and median over the faults). */
  unavailableMs: Record<string, { max: number; p50: number | null }>;
  converged: boolean | null;
  splitBrain: number | null;
  errors: Record<string, number>;
  /** From each heal until settled (null: faults allowed to overlap, no wait). */
  settleMs: { p50: number | null; max: number | null; count: number; unsettled: number } | null;
}

export function figures(
  system: string,
  r: {
    seed: number;
    failoverTimeoutMs: number;
    ops: Op[];
    faults: FaultRecord[];
    durability: DurabilityResult;
    availability: FaultAvailability[];
    converged: boolean | null;
    splitBrain: number | null;
    errors: Record<string, number>;
    overlap: boolean;
    settles: SettleRecord[];
    /** Whether leaders were sampled from /cluster (time to failover from them), else from writes. */
    sampled: boolean;
  },
  minutes: number,
): RunFigures {
  const faults: Record<string, number> = {};
  for (const f of r.faults) faults[f.kind] = (faults[f.kind] ?? 0) + 1;
  const failovers: number[] = [];
  let after = 0;
  const byKind = new Map<string, number[]>();
  for (const a of r.availability) {
    for (const x of a.recoveryMs) {
      // eau2: when another node named a new leader (its /cluster); Redis: the first WAITed write.
      const t = r.sampled ? x.failoverMs : x.beforeHeal ? x.ms : null;
      if (t !== null) failovers.push(t);
      else after++;
    }
    let l = byKind.get(a.kind);
    if (!l) byKind.set(a.kind, (l = []));
    l.push(a.maxUnavailableMs);
  }
  const d = r.durability;
  return {
    system,
    seed: r.seed,
    minutes,
    failoverTimeoutMs: r.failoverTimeoutMs,
    faults,
    tried: r.ops.length,
    acked: { all: d.wAllAcked, one: d.w1Acked },
    lost: { all: d.wAllLost.length, one: d.w1Lost.length, counterViolations: d.counterViolations.length },
    failoverMs: { p50: percentile(failovers, 0.5), p99: percentile(failovers, 0.99), count: failovers.length },
    recoveredOnlyAfterHeal: after,
    unavailableMs: Object.fromEntries(
      [...byKind].map(([k, l]) => [k, { max: Math.max(...l), p50: percentile(l, 0.5) }]),
    ),
    converged: r.converged,
    splitBrain: r.splitBrain,
    errors: r.errors,
    settleMs: r.overlap
      ? null
      : {
          p50: percentile(
            r.settles.filter((x) => x.settled).map((x) => x.ms),
            0.5,
          ),
          max: r.settles.some((x) => x.settled)
            ? Math.max(...r.settles.filter((x) => x.settled).map((x) => x.ms))
            : null,
          count: r.settles.length,
          unsettled: r.settles.filter((x) => !x.settled).length,
        },
  };
}

const ms = (v: number | null): string => (v === null ? '-' : `${(v / 1000).toFixed(1)} s`);

/** A Markdown table, one column per system. */
export function renderFigures(runs: RunFigures[]): string {
  const kinds = [...new Set(runs.flatMap((r) => Object.keys(r.unavailableMs)))].sort();
  const rows: [string, (r: RunFigures) => string][] = [
    ['seed / minutes', (r) => `${r.seed} / ${r.minutes}`],
    ['failover timeout', (r) => ms(r.failoverTimeoutMs)],
    [
      'faults injected',
      (r) =>
        Object.entries(r.faults)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || 'none',
    ],
    ['writes tried', (r) => String(r.tried)],
    ['acknowledged w=all / w=1', (r) => `${r.acked.all} / ${r.acked.one}`],
    ['lost w=all / w=1', (r) => `${r.lost.all} / ${r.lost.one}`],
    ['counter violations', (r) => String(r.lost.counterViolations)],
    [
      'time to failover p50 / p99 (n)',
      (r) => `${ms(r.failoverMs.p50)} / ${ms(r.failoverMs.p99)} (${r.failoverMs.count})`,
    ],
    ['led partitions back only after the heal', (r) => String(r.recoveredOnlyAfterHeal)],
    ...kinds.map((k): [string, (r: RunFigures) => string] => [
      `longest without w=all writes, ${k} (max / p50)`,
      (r) => (r.unavailableMs[k] ? `${ms(r.unavailableMs[k].max)} / ${ms(r.unavailableMs[k].p50)}` : '-'),
    ]),
    [
      'settled after each heal p50 / max (faults; not settled in 60 s)',
      (r) =>
        r.settleMs === null
          ? 'not waited (--overlap)'
          : `${ms(r.settleMs.p50)} / ${ms(r.settleMs.max)} (${r.settleMs.count}; ${r.settleMs.unsettled})`,
    ],
    ['replicas identical after heal', (r) => (r.converged === null ? 'n/a' : r.converged ? 'yes' : 'NO')],
    ['two leaders in one epoch', (r) => (r.splitBrain === null ? 'n/a' : String(r.splitBrain))],
  ];
  const head = `| | ${runs.map((r) => r.system).join(' | ')} |\n| --- | ${runs.map(() => '---').join(' | ')} |`;
  return [head, ...rows.map(([name, f]) => `| ${name} | ${runs.map(f).join(' | ')} |`)].join('\n');
}
