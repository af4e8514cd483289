// Summarises a V8 .cpuprofile (from `node --cpu-prof`) as "where did the time go": self time per
// function, with file:line, as a share of all samples. This is the table an engine owner needs to
// act on a missed target; DevTools shows the same data but not as text one can paste in a report.
//
// CLI: node --import tsx bench/lib/cpu-profile.ts FILE.cpuprofile [--top N] [--inclusive] [--last SECONDS]
//      [--window FROM_US TO_US] (the samples between two CLOCK_MONOTONIC times, in microseconds)

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface FunctionCost {
  /** "name (file:line)"; V8's pseudo-frames such as (garbage collector) keep their own name. */
  name: string;
  selfMs: number;
  selfPct: number;
  /** Time with this function anywhere on the stack (counted once per sample even if recursive). */
  totalMs: number;
  totalPct: number;
}

function label(f: CallFrame): string {
  const fn = f.functionName || '(anonymous)';
  if (!f.url) return fn;
  const file = f.url.replace(/^file:\/\//, '').replace(/^.*?\/(node_modules|engine|bench|cluster|dataframe)\//, '$1/');
  return `${fn} (${file}:${f.lineNumber + 1})`;
}

/** Self and inclusive time per function, most expensive (by self time) first. */
export function summarizeProfile(p: CpuProfile): FunctionCost[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Weight samples by their time delta when present (sampling intervals vary under load).
  const weight = new Map<number, number>();
  if (p.samples && p.timeDeltas && p.samples.length === p.timeDeltas.length) {
    for (let i = 0; i < p.samples.length; i++) {
      const next = p.timeDeltas[i + 1] ?? p.timeDeltas[i]!;
      weight.set(p.samples[i]!, (weight.get(p.samples[i]!) ?? 0) + Math.max(0, next) / 1000);
    }
  } else {
    const per =
      (p.endTime - p.startTime) /
      1000 /
      Math.max(
        1,
        p.nodes.reduce((n, x) => n + (x.hitCount ?? 0), 0),
      );
    for (const n of p.nodes) if (n.hitCount) weight.set(n.id, n.hitCount * per);
  }
  const total = [...weight.values()].reduce((a, b) => a + b, 0) || 1;
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, ms] of weight) {
    const node = byId.get(id);
    if (!node) continue;
    const name = label(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + ms);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = label(byId.get(cur)!.callFrame);
      if (seen.has(n)) continue;
      seen.add(n);
      incl.set(n, (incl.get(n) ?? 0) + ms);
    }
  }
  return [...incl.keys()]
    .map((name) => {
      const s = self.get(name) ?? 0;
      const t = incl.get(name) ?? 0;
      return { name, selfMs: s, selfPct: (100 * s) / total, totalMs: t, totalPct: (100 * t) / total };
    })
    .sort((a, b) => b.selfMs - a.selfMs);
}

/** A plain-text table of the top N functions. */
export function renderProfileSummary(costs: readonly FunctionCost[], top = 25, by: 'self' | 'total' = 'self'): string {
  const rows = [...costs].sort((a, b) => (by === 'self' ? b.selfMs - a.selfMs : b.totalMs - a.totalMs)).slice(0, top);
  const lines = ['  self%   self ms  total%  function'];
  for (const c of rows) {
    lines.push(
      `${c.selfPct.toFixed(1).padStart(7)} ${c.selfMs.toFixed(0).padStart(9)} ${c.totalPct.toFixed(1).padStart(7)}  ${c.name}`,
    );
  }
  return lines.join('\n');
}

/**
 * The profile's last `seconds` only (its samples after the cut): a profile written at a process's
 * exit, read for the phase that ended the run (the query phase of bench/dataframe/query-costs.ts).
 */
export function lastSeconds(p: CpuProfile, seconds: number): CpuProfile {
  return between(p, p.endTime - seconds * 1e6, p.endTime);
}

/**
 * The profile's samples taken from `from` to `to`, in microseconds of CLOCK_MONOTONIC (the clock of
 * a profile's timestamps; a process's `process.hrtime.bigint() / 1000n`): one phase of a run, such
 * as the imports between the run lines bench/dataframe/csv-load.ts prints when profiled.
 */
function between(p: CpuProfile, from: number, to: number): CpuProfile {
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  let t = p.startTime;
  (p.timeDeltas ?? []).forEach((d, i) => {
    t += d;
    if (t < from || t > to) return;
    samples.push(p.samples![i]!);
    timeDeltas.push(d);
  });
  const hits = new Map<number, number>();
  for (const s of samples) hits.set(s, (hits.get(s) ?? 0) + 1);
  const nodes = p.nodes.map((n) => ({ ...n, hitCount: hits.get(n.id) ?? 0 }));
  return { ...p, nodes, samples, timeDeltas, startTime: Math.max(p.startTime, from), endTime: Math.min(p.endTime, to) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const topIdx = args.indexOf('--top');
  const top = topIdx >= 0 ? Number(args[topIdx + 1]) : 25;
  const lastIdx = args.indexOf('--last');
  const last = lastIdx >= 0 ? Number(args[lastIdx + 1]) : undefined;
  const winIdx = args.indexOf('--window');
  const win = winIdx >= 0 ? [Number(args[winIdx + 1]), Number(args[winIdx + 2])] : undefined;
  const by = args.includes('--inclusive') ? 'total' : 'self';
  const files = args.filter(
    (a, i) =>
      !a.startsWith('--') &&
      (topIdx < 0 || i !== topIdx + 1) &&
      (lastIdx < 0 || i !== lastIdx + 1) &&
      (winIdx < 0 || (i !== winIdx + 1 && i !== winIdx + 2)),
  );
  for (const f of files) {
    const whole = JSON.parse(readFileSync(f, 'utf8')) as CpuProfile;
    const p = win ? between(whole, win[0]!, win[1]!) : last === undefined ? whole : lastSeconds(whole, last);
    process.stdout.write(`${basename(f)} (${((p.endTime - p.startTime) / 1e6).toFixed(1)} s)\n`);
    process.stdout.write(`${renderProfileSummary(summarizeProfile(p), top, by)}\n\n`);
  }
}
