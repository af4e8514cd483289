// Issue 3's targets, checked against one run's medians. Each target names the exact figure it
// reads, so "pass" means the same thing every time and a reader can find the number behind it.

import type { RowIndex } from './aggregate.js';
import type { ModeName } from './workloads.js';

type Verdict = 'pass' | 'MISS' | 'n/a';

export interface TargetResult {
  target: string;
  /** The figure, e.g. "3.42x" or "7.9"; "-" when it could not be measured. */
  measured: string;
  verdict: Verdict;
  /** Why n/a, or which figure was used. */
  note: string;
}

const SUBJECT = 'eau2';
const LEVEL = 'classic-level';
const LMDB = 'lmdb';

function ratioTarget(
  idx: RowIndex,
  target: string,
  workload: string,
  mode: ModeName,
  peer: string,
  min: number,
  peerMode: ModeName = mode,
): TargetResult {
  const a = idx.get(SUBJECT, workload, mode)?.median.opsPerSec;
  const b = idx.get(peer, workload, peerMode)?.median.opsPerSec;
  if (!a || !b) {
    return { target, measured: '-', verdict: 'n/a', note: `needs ${SUBJECT} and ${peer} ${workload}/${mode}` };
  }
  const r = a / b;
  return {
    target,
    measured: `${r.toFixed(2)}x`,
    verdict: r >= min ? 'pass' : 'MISS',
    note: `${workload} ${mode} ops/s`,
  };
}

function maxTarget(
  target: string,
  value: number | null | undefined,
  max: number,
  note: string,
  digits = 2,
): TargetResult {
  if (value === null || value === undefined || !Number.isFinite(value)) {
    return { target, measured: '-', verdict: 'n/a', note };
  }
  return { target, measured: value.toFixed(digits), verdict: value <= max ? 'pass' : 'MISS', note };
}

/** Evaluates every target the results allow; `num` says whether the 10M target applies. */
export function evaluateTargets(idx: RowIndex, num: number, concurrency: number): TargetResult[] {
  const out: TargetResult[] = [];
  for (const w of ['fillseq', 'fillrandom', 'overwrite']) {
    out.push(ratioTarget(idx, `${w} awaited >= 3x classic-level`, w, 'awaited', LEVEL, 3));
  }
  out.push(ratioTarget(idx, 'fillbatch >= 1.5x classic-level', 'fillbatch', 'awaited', LEVEL, 1.5));
  const fs = ratioTarget(idx, `fillsync c=${concurrency} >= 5x classic-level`, 'fillsync', 'concurrent', LEVEL, 5);
  if (concurrency !== 64) fs.note += ' (issue states c=64)';
  out.push(fs);
  out.push(ratioTarget(idx, 'readrandom getSync >= 1x classic-level getSync', 'readrandom', 'sync', LEVEL, 1));
  out.push(ratioTarget(idx, 'readrandom getSync >= 0.5x lmdb get', 'readrandom', 'sync', LMDB, 0.5));
  out.push(ratioTarget(idx, 'readrandom async get >= 3x classic-level', 'readrandom', 'awaited', LEVEL, 3));
  out.push(ratioTarget(idx, 'readseq >= 1x classic-level', 'readseq', 'async', LEVEL, 1));
  out.push(ratioTarget(idx, 'readreverse >= 1x classic-level', 'readreverse', 'async', LEVEL, 1));

  const fr = idx.get(SUBJECT, 'fillrandom', 'awaited')?.median.write;
  const wa = fr?.engineWriteAmp ?? fr?.writeAmp;
  out.push(
    maxTarget(
      'fillrandom write amplification <= 10',
      wa,
      10,
      fr?.engineWriteAmp != null ? "engine's own counters" : '/proc/self/io write_bytes through close()',
    ),
  );
  out.push(
    maxTarget(
      'space after compactRange() <= 1.3x live data',
      fr?.spaceAfterCompactBytes != null && fr.liveBytes ? fr.spaceAfterCompactBytes / fr.liveBytes : undefined,
      1.3,
      'fillrandom, allocated bytes / (entries x 116 B)',
    ),
  );
  const lags = (['awaited', 'concurrent'] as const)
    .map((m) => idx.get(SUBJECT, 'fillrandom', m)?.median.lagP99Ms)
    .filter((v): v is number => v !== undefined);
  out.push(
    maxTarget(
      'fillrandom event-loop lag p99 <= 10 ms',
      lags.length ? Math.max(...lags) : undefined,
      10,
      'worst of awaited and concurrent, ms',
      1,
    ),
  );
  if (num >= 10_000_000) {
    out.push(ratioTarget(idx, '10M readrandom getSync >= 1x classic-level', 'readrandom', 'sync', LEVEL, 1));
    out.push(ratioTarget(idx, '10M readrandom async get >= 1x classic-level', 'readrandom', 'awaited', LEVEL, 1));
  } else {
    out.push({
      target: '10M readrandom >= 1x classic-level',
      measured: '-',
      verdict: 'n/a',
      note: 'run with --num 10000000 --workloads readrandom',
    });
  }
  return out;
}
