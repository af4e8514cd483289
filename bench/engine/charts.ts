// SVG charts of the engine benchmark: one file per workload (a group of bars per mode, one bar per
// engine, ops/s) and all.svg with every workload stacked, for a person to look at.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatCount } from '../lib/format.js';
import { describeMachine } from '../lib/machine.js';
import { barChartPanel, stackPanels, type BarChartSpec } from '../lib/svg-chart.js';
import { RowIndex } from './aggregate.js';
import type { BenchReport } from './results.js';
import { subjectOf } from './report.js';
import { WORKLOAD_NAMES, workloadByName, type ModeName } from './workloads.js';

const MODE_ORDER: ModeName[] = ['awaited', 'concurrent', 'async', 'sync'];

export function chartSpecs(report: BenchReport): BarChartSpec[] {
  const engines = report.options.engines.filter((e) => report.rows.some((r) => r.engine === e));
  const idx = new RowIndex(report.rows);
  const subject = subjectOf(report);
  const o = report.options;
  const specs: BarChartSpec[] = [];
  for (const workload of WORKLOAD_NAMES) {
    const rows = report.rows.filter((r) => r.workload === workload);
    if (rows.length === 0) continue;
    const modes = MODE_ORDER.filter((m) => rows.some((r) => r.mode === m));
    specs.push({
      title: workload,
      subtitle: `${workloadByName(workload).description}\nnum=${o.num}, median of ${o.runs} run(s); ${describeMachine(report.machine)}`,
      unit: `operations per second, longer is better; "(${subject} N x)" after a peer's bar = ${subject}'s ops/s / that peer's`,
      series: engines.map((name) => ({ name })),
      groups: modes.map((mode) => {
        const c = rows.find((r) => r.mode === mode)?.concurrency ?? 1;
        const base = idx.get(subject, workload, mode)?.median.opsPerSec;
        return {
          label: mode === 'concurrent' ? `c=${c}` : mode,
          bars: engines.map((e) => {
            const v = idx.get(e, workload, mode)?.median.opsPerSec;
            const rel = v && base && e !== subject ? ` (${subject} ${(base / v).toFixed(2)}x)` : '';
            return { series: e, value: v ?? null, label: v ? `${formatCount(v)}/s${rel}` : undefined };
          }),
        };
      }),
    });
  }
  return specs;
}

/** Writes <workload>.svg for each workload and all.svg; returns the paths written. */
export function writeCharts(report: BenchReport, dir: string): string[] {
  const specs = chartSpecs(report);
  const paths: string[] = [];
  for (const spec of specs) {
    const path = join(dir, `${spec.title}.svg`);
    writeFileSync(path, stackPanels([barChartPanel(spec)]));
    paths.push(path);
  }
  const all = join(dir, 'all.svg');
  writeFileSync(all, stackPanels(specs.map((s) => barChartPanel(s))));
  paths.push(all);
  return paths;
}
