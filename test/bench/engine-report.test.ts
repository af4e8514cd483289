// The engine benchmark's aggregation and verdicts on synthetic results: medians over runs, ratio
// lookups, issue 3's targets (pass, MISS, n/a) and the rendered tables. No engines are run here.

import { describe, expect, it } from 'vitest';
import { aggregate, RowIndex } from '../../bench/engine/aggregate.js';
import { buildTables, renderText } from '../../bench/engine/report.js';
import type { BenchReport, ModeResult } from '../../bench/engine/results.js';
import { evaluateTargets } from '../../bench/engine/targets.js';
import { machineInfo } from '../../bench/lib/machine.js';
import type { ModeName } from '../../bench/engine/workloads.js';

function result(
  engine: string,
  workload: string,
  mode: ModeName,
  opsPerSec: number,
  run = 1,
  extra: Partial<ModeResult> = {},
): ModeResult {
  return {
    engine,
    workload,
    mode,
    concurrency: mode === 'concurrent' ? 64 : 1,
    run,
    ops: 1000,
    elapsedMs: 1000,
    opsPerSec,
    mbPerSec: 1,
    latency: { count: 1000, minMs: 0, meanMs: 0.01, p50Ms: 0.01, p99Ms: 0.1, p999Ms: 1, maxMs: 2 },
    lagP99Ms: 1,
    lagMaxMs: 2,
    peakRssBytes: 1e8,
    errors: [],
    ...extra,
  };
}

function report(raw: ModeResult[], num = 1_000_000): BenchReport {
  return {
    machine: machineInfo(),
    options: {
      num,
      reads: num,
      runs: 3,
      concurrency: 64,
      engines: ['eau2', 'classic-level', 'lmdb'],
      workloads: [],
      quick: false,
    },
    engines: { eau2: 'e', 'classic-level': 'c', lmdb: 'l' },
    revision: { commit: 'abc', engineDirty: false },
    unavailable: {},
    rows: aggregate(raw),
    raw,
    failures: [],
    startedAt: '',
    finishedAt: '',
  };
}

describe('aggregate', () => {
  it('takes the median of each figure over runs, independently', () => {
    const rows = aggregate([
      result('eau2', 'fillseq', 'awaited', 100, 1, { lagP99Ms: 9 }),
      result('eau2', 'fillseq', 'awaited', 300, 2, { lagP99Ms: 1 }),
      result('eau2', 'fillseq', 'awaited', 200, 3, { lagP99Ms: 5 }),
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.runs).toBe(3);
    expect(rows[0]!.median.opsPerSec).toBe(200);
    expect(rows[0]!.median.lagP99Ms).toBe(5);
  });

  it('keeps null write figures null and pools errors', () => {
    const w = {
      userBytes: 1,
      diskWriteBytes: 2,
      writeAmp: 2,
      wcharBytes: 2,
      engineBytesWritten: null,
      engineWriteAmp: null,
      spaceBytes: 3,
      spaceAfterCompactBytes: null,
      liveBytes: 1,
      spaceAmp: 3,
    };
    const rows = aggregate([
      result('lmdb', 'fillseq', 'awaited', 1, 1, { write: w, errors: ['x'] }),
      result('lmdb', 'fillseq', 'awaited', 1, 2, { write: w, errors: ['x', 'y'] }),
    ]);
    expect(rows[0]!.median.write!.spaceAfterCompactBytes).toBeNull();
    expect(rows[0]!.median.write!.spaceBytes).toBe(3);
    expect(rows[0]!.median.errors).toEqual(['x', 'y']);
  });

  it('ratios divide the subject by the peer for the same workload and mode', () => {
    const idx = new RowIndex(
      aggregate([result('eau2', 'readrandom', 'sync', 300), result('lmdb', 'readrandom', 'sync', 100)]),
    );
    expect(idx.ratio('eau2', 'lmdb', 'readrandom', 'sync')).toBe(3);
    expect(idx.ratio('eau2', 'lmdb', 'readrandom', 'awaited')).toBeUndefined();
  });
});

describe('issue 3 targets', () => {
  it('passes, misses, or says n/a for each target', () => {
    const idx = new RowIndex(
      aggregate([
        result('eau2', 'fillseq', 'awaited', 300),
        result('classic-level', 'fillseq', 'awaited', 100),
        result('eau2', 'fillrandom', 'awaited', 200, 1, { lagP99Ms: 12 }),
        result('classic-level', 'fillrandom', 'awaited', 100),
      ]),
    );
    const t = evaluateTargets(idx, 1_000_000, 64);
    const by = (prefix: string) => t.find((x) => x.target.startsWith(prefix))!;
    expect(by('fillseq').verdict).toBe('pass');
    expect(by('fillseq').measured).toBe('3.00x');
    expect(by('fillrandom awaited').verdict).toBe('MISS');
    expect(by('overwrite').verdict).toBe('n/a');
    expect(by('fillrandom event-loop').verdict).toBe('MISS');
    expect(by('10M').verdict).toBe('n/a');
  });
});

describe('report tables', () => {
  it('has a throughput table with one ratio column per peer and a targets table', () => {
    const r = report([
      result('eau2', 'readrandom', 'sync', 900),
      result('classic-level', 'readrandom', 'sync', 300),
      result('lmdb', 'readrandom', 'sync', 1800),
    ]);
    const [throughput] = buildTables(r);
    expect(throughput!.columns.map((c) => c.header)).toEqual([
      'workload',
      'mode',
      'eau2',
      'classic-level',
      'lmdb',
      'vs classic-level',
      'vs lmdb',
    ]);
    expect(throughput!.rows[0]).toEqual(['readrandom', 'sync', '900', '300', '1.80k', '3.00x', '0.50x']);
    const text = renderText(r);
    expect(text).toContain('Issue 3 targets (eau2)');
    expect(text).toContain('readrandom getSync >= 0.5x lmdb get');
  });
});
