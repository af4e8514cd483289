// Behaviour of the shared benchmark helpers in bench/lib: the histogram's percentiles, the probes,
// the tables and the SVG chart. Deterministic: seeded data, no timing assertions.

import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diskUsage } from '../../bench/lib/disk-usage.js';
import { formatBytes, formatCount, formatMs, formatRatio } from '../../bench/lib/format.js';
import { Histogram, median, percentileOf } from '../../bench/lib/histogram.js';
import { describeMachine, machineInfo } from '../../bench/lib/machine.js';
import { diffProcIo, Probe, readProcIo } from '../../bench/lib/process-probes.js';
import { barChartSvg } from '../../bench/lib/svg-chart.js';
import { renderMarkdownTable, renderTextTable } from '../../bench/lib/table.js';
import { rng } from '../../bench/engine/keys.js';

describe('Histogram', () => {
  it('percentiles stay within 2% of the exact nearest-rank value', () => {
    const seed = 1234;
    const next = rng(seed);
    const h = new Histogram();
    const values: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      // Log-uniform over 100 ns .. 100 ms, like real latencies.
      const ns = Math.floor(100 * 10 ** (next() * 6));
      values.push(ns);
      h.recordNs(ns);
    }
    for (const p of [50, 90, 99, 99.9]) {
      const exact = percentileOf(values, p);
      const got = h.percentileNs(p);
      expect(Math.abs(got - exact) / exact, `p${p} seed ${seed}`).toBeLessThan(0.02);
    }
    expect(h.percentileNs(100)).toBe(Math.max(...values));
  });

  it('is exact for small integer values and reports milliseconds in its summary', () => {
    const h = new Histogram();
    for (const ns of [1, 2, 3, 4, 5]) h.recordNs(ns);
    expect(h.percentileNs(50)).toBe(3);
    h.recordMs(2);
    const s = h.summary();
    expect(s.count).toBe(6);
    expect(s.maxMs).toBe(2);
  });

  it('merges another histogram and is empty-safe', () => {
    const a = new Histogram();
    const b = new Histogram();
    expect(a.summary().p99Ms).toBe(0);
    a.recordNs(1000);
    b.recordNs(3000);
    a.merge(b);
    expect(a.count).toBe(2);
    expect(a.summary().maxMs).toBeCloseTo(0.003);
  });

  it('clamps absurdly large values instead of overflowing its buckets', () => {
    const h = new Histogram();
    h.recordNs(2 ** 60);
    expect(h.percentileNs(50)).toBeGreaterThan(0);
  });

  it('median handles odd, even and empty lists', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});

describe('process probes', () => {
  it('reads /proc/self/io on Linux and diffs counters field by field', () => {
    const io = readProcIo();
    if (process.platform !== 'linux') {
      expect(io).toBeUndefined();
      return;
    }
    expect(io!.wchar).toBeGreaterThanOrEqual(0);
    const d = diffProcIo({ ...io!, writeBytes: 10 }, { ...io!, writeBytes: 25 });
    expect(d!.writeBytes).toBe(15);
    expect(diffProcIo(undefined, io)).toBeUndefined();
  });

  it('a probe reports elapsed time, peak RSS and a lag summary', async () => {
    const p = new Probe().start();
    await new Promise((r) => setTimeout(r, 20));
    const r = p.stop();
    expect(r.elapsedMs).toBeGreaterThan(0);
    expect(r.peakRssBytes).toBeGreaterThan(0);
    expect(Number.isFinite(r.lag.p99Ms)).toBe(true);
  });
});

describe('disk usage and machine info', () => {
  it('sums allocated and apparent bytes over nested files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-du-'));
    try {
      mkdirSync(join(dir, 'sub'));
      writeFileSync(join(dir, 'a'), Buffer.alloc(10_000, 1));
      writeFileSync(join(dir, 'sub', 'b'), Buffer.alloc(5_000, 1));
      const u = diskUsage(dir);
      expect(u.files).toBe(2);
      expect(u.apparentBytes).toBe(15_000);
      expect(u.allocatedBytes).toBeGreaterThanOrEqual(15_000);
      expect(diskUsage(join(dir, 'missing')).files).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('describes the machine with core count, CPU and Node version', () => {
    const m = machineInfo();
    expect(m.nproc).toBeGreaterThan(0);
    expect(describeMachine(m)).toContain(process.version);
  });
});

describe('formatting and tables', () => {
  it('formats counts, bytes, durations and ratios compactly', () => {
    expect(formatCount(1_234_567)).toBe('1.23M');
    expect(formatCount(45_600)).toBe('45.6k');
    expect(formatCount(980)).toBe('980');
    expect(formatCount(undefined)).toBe('-');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatMs(0.0123)).toBe('12.3µs');
    expect(formatMs(25_000)).toBe('25.0s');
    expect(formatRatio(3.214)).toBe('3.21x');
    expect(formatRatio(0)).toBe('-');
  });

  it('renders aligned text and Markdown tables from the same rows', () => {
    const cols = [{ header: 'name' }, { header: 'ops/s', align: 'right' as const }];
    const rows = [
      ['a', '1.00M'],
      ['longer|name', '9'],
    ];
    expect(renderTextTable(cols, rows, 'T')).toBe(
      ['T', 'name         ops/s', '-----------  -----', 'a            1.00M', 'longer|name      9'].join('\n'),
    );
    expect(renderMarkdownTable(cols, rows)).toBe(
      ['| name | ops/s |', '| --- | ---: |', '| a | 1.00M |', '| longer\\|name | 9 |'].join('\n'),
    );
  });
});

describe('SVG bar chart', () => {
  it('draws one bar per finite value, n/a for missing ones, and escapes text', () => {
    const svg = barChartSvg({
      title: 'reads <fast> & slow',
      unit: 'ops/s',
      series: [{ name: 'x' }, { name: 'y' }],
      groups: [
        {
          label: 'sync',
          bars: [
            { series: 'x', value: 10 },
            { series: 'y', value: null },
          ],
        },
        {
          label: 'async',
          bars: [
            { series: 'x', value: 5 },
            { series: 'y', value: 2.5 },
          ],
        },
      ],
    });
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('reads &lt;fast&gt; &amp; slow');
    expect(svg).not.toContain('<fast>');
    // Background + 2 legend swatches + 3 bars.
    expect(svg.match(/<rect /g)?.length).toBe(6);
    expect(svg).toContain('>n/a<');
  });
});
