// Folds the runs of each engine x workload x mode into one row of medians, and looks rows up for
// the report and the targets. Medians, not means: one run disturbed by a neighbour on the machine
// should not move the figure.

import { median } from '../lib/histogram.js';
import type { AggregateRow, ModeResult } from './results.js';
import type { ModeName } from './workloads.js';

const keyOf = (r: { engine: string; workload: string; mode: string; concurrency: number }) =>
  `${r.engine}\u0000${r.workload}\u0000${r.mode}\u0000${r.concurrency}`;

/** Median of every numeric field, recursively; null when no run has the field; errors pooled. */
function medianOf(values: unknown[]): unknown {
  const present = values.filter((v) => v !== undefined && v !== null);
  if (present.length === 0) return values.length > 0 && values.every((v) => v === null) ? null : undefined;
  const first = present[0];
  if (typeof first === 'number') return median(present as number[]);
  if (Array.isArray(first)) return [...new Set(present.flatMap((v) => v as unknown[]))];
  if (typeof first === 'object') {
    const keys = new Set(present.flatMap((v) => Object.keys(v as object)));
    const out: Record<string, unknown> = {};
    for (const k of keys) {
      const m = medianOf(present.map((v) => (v as Record<string, unknown>)[k]));
      if (m !== undefined) out[k] = m;
    }
    return out;
  }
  return first;
}

export function aggregate(raw: readonly ModeResult[]): AggregateRow[] {
  const groups = new Map<string, ModeResult[]>();
  for (const r of raw) {
    const k = keyOf(r);
    const g = groups.get(k);
    if (g) g.push(r);
    else groups.set(k, [r]);
  }
  return [...groups.values()].map((g) => {
    const m = medianOf(g) as ModeResult;
    // Run-specific identity fields are not medians: keep them exact.
    m.run = 0;
    return {
      engine: g[0]!.engine,
      workload: g[0]!.workload,
      mode: g[0]!.mode,
      concurrency: g[0]!.concurrency,
      runs: g.length,
      median: m,
    };
  });
}

/** Lookup by engine, workload and mode (the concurrency of a concurrent mode is implied). */
export class RowIndex {
  private readonly byKey = new Map<string, AggregateRow>();

  constructor(readonly rows: readonly AggregateRow[]) {
    for (const r of rows) this.byKey.set(`${r.engine}\u0000${r.workload}\u0000${r.mode}`, r);
  }

  get(engine: string, workload: string, mode: ModeName): AggregateRow | undefined {
    return this.byKey.get(`${engine}\u0000${workload}\u0000${mode}`);
  }

  /** ops/s of subject divided by ops/s of peer for the same workload and mode. */
  ratio(subject: string, peer: string, workload: string, mode: ModeName): number | undefined {
    const a = this.get(subject, workload, mode)?.median.opsPerSec;
    const b = this.get(peer, workload, mode)?.median.opsPerSec;
    return a && b ? a / b : undefined;
  }

  /** The distinct (workload, mode) pairs in the order they were produced. */
  workloadModes(): { workload: string; mode: ModeName; concurrency: number }[] {
    const seen = new Set<string>();
    const out: { workload: string; mode: ModeName; concurrency: number }[] = [];
    for (const r of this.rows) {
      const k = `${r.workload}\u0000${r.mode}`;
      if (seen.has(k)) continue;
      seen.add(k);
      out.push({ workload: r.workload, mode: r.mode, concurrency: r.concurrency });
    }
    return out;
  }
}
