// Turns aggregated rows into what a person reads: tables (throughput with ratios against every
// peer, latency and resources, write costs, the targets), rendered as plain text for the
// terminal and as Markdown for report.md and bench/README.md; and SVG charts, one per workload
// (a group of bars per mode, one bar per engine, ops/s) plus all.svg with every workload stacked.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatBytes, formatCount, formatMs, formatRatio } from '../lib/format.js';
import { describeMachine } from '../lib/machine.js';
import type { Column, Row } from '../lib/table.js';
import { barChartPanel, stackPanels, type BarChartSpec } from '../lib/svg-chart.js';
import { renderMarkdownTable, renderTextTable } from '../lib/table.js';
import { RowIndex } from './aggregate.js';
import type { AggregateRow, BenchReport } from './results.js';
import { evaluateTargets } from './targets.js';
import { WORKLOAD_NAMES, workloadByName, type ModeName } from './workloads.js';

export interface Table {
  title: string;
  columns: Column[];
  rows: Row[];
}

const MODE_ORDER: ModeName[] = ['awaited', 'concurrent', 'async', 'sync'];

const modeText = (mode: ModeName, c: number) => (mode === 'concurrent' ? `c=${c}` : mode);

/** Rows sorted by workload (db_bench order), mode, then engine order of --engines. */
function sorted(rows: readonly AggregateRow[], engines: readonly string[]): AggregateRow[] {
  return [...rows].sort(
    (a, b) =>
      WORKLOAD_NAMES.indexOf(a.workload) - WORKLOAD_NAMES.indexOf(b.workload) ||
      MODE_ORDER.indexOf(a.mode) - MODE_ORDER.indexOf(b.mode) ||
      engines.indexOf(a.engine) - engines.indexOf(b.engine),
  );
}

/** The engine the ratios are about: eau2 when it ran, else the first engine. */
function subjectOf(report: BenchReport): string {
  const ran = new Set(report.rows.map((r) => r.engine));
  return ran.has('eau2') ? 'eau2' : (report.options.engines.find((e) => ran.has(e)) ?? 'eau2');
}

export function buildTables(report: BenchReport): Table[] {
  const engines = report.options.engines.filter((e) => report.rows.some((r) => r.engine === e));
  const idx = new RowIndex(sorted(report.rows, engines));
  const subject = subjectOf(report);
  const peers = engines.filter((e) => e !== subject);
  const pairs = idx.workloadModes();
  const tables: Table[] = [];

  tables.push({
    title: `Throughput, ops/s (median of ${report.options.runs} run${report.options.runs > 1 ? 's' : ''}); ratios = ${subject} / peer`,
    columns: [
      { header: 'workload' },
      { header: 'mode' },
      ...engines.map((e) => ({ header: e, align: 'right' as const })),
      ...peers.map((p) => ({ header: `vs ${p}`, align: 'right' as const })),
    ],
    rows: pairs.map(({ workload, mode, concurrency }) => [
      workload,
      modeText(mode, concurrency),
      ...engines.map((e) => formatCount(idx.get(e, workload, mode)?.median.opsPerSec)),
      ...peers.map((p) => formatRatio(idx.ratio(subject, p, workload, mode))),
    ]),
  });

  const detail: Row[] = [];
  for (const { workload, mode, concurrency } of pairs) {
    for (const e of engines) {
      const m = idx.get(e, workload, mode)?.median;
      if (!m) continue;
      detail.push([
        workload,
        modeText(mode, concurrency),
        e,
        formatCount(m.opsPerSec),
        m.mbPerSec.toFixed(1),
        formatMs(m.latency.p50Ms),
        formatMs(m.latency.p99Ms),
        formatMs(m.latency.p999Ms),
        formatMs(m.lagP99Ms),
        formatBytes(m.peakRssBytes),
      ]);
    }
  }
  tables.push({
    title: 'Latency and resources (latency per operation; for fillbatch per batch of 1000; for scans per entry)',
    columns: [
      { header: 'workload' },
      { header: 'mode' },
      { header: 'engine' },
      { header: 'ops/s', align: 'right' },
      { header: 'MB/s', align: 'right' },
      { header: 'p50', align: 'right' },
      { header: 'p99', align: 'right' },
      { header: 'p99.9', align: 'right' },
      { header: 'loop lag p99', align: 'right' },
      { header: 'peak RSS', align: 'right' },
    ],
    rows: detail,
  });

  const writes: Row[] = [];
  for (const { workload, mode, concurrency } of pairs) {
    for (const e of engines) {
      const w = idx.get(e, workload, mode)?.median.write;
      if (!w) continue;
      writes.push([
        workload,
        modeText(mode, concurrency),
        e,
        formatBytes(w.userBytes),
        formatBytes(w.diskWriteBytes),
        w.writeAmp === null ? '-' : w.writeAmp.toFixed(2),
        formatBytes(w.wcharBytes),
        w.engineWriteAmp === null || w.engineWriteAmp === undefined ? '-' : w.engineWriteAmp.toFixed(2),
        formatBytes(w.spaceBytes),
        formatBytes(w.spaceAfterCompactBytes),
        w.spaceAmp === null ? '-' : w.spaceAmp.toFixed(2),
      ]);
    }
  }
  tables.push({
    title: 'Writes: bytes to disk through close() (/proc/self/io), write amplification, space on disk',
    columns: [
      { header: 'workload' },
      { header: 'mode' },
      { header: 'engine' },
      { header: 'user data', align: 'right' },
      { header: 'disk written', align: 'right' },
      { header: 'WA', align: 'right' },
      { header: 'write() bytes', align: 'right' },
      { header: 'WA (engine)', align: 'right' },
      { header: 'space', align: 'right' },
      { header: 'after compact', align: 'right' },
      { header: 'space amp', align: 'right' },
    ],
    rows: writes,
  });

  if (report.rows.some((r) => r.engine === 'eau2')) {
    tables.push({
      title: 'Issue 3 targets (eau2)',
      columns: [
        { header: 'target' },
        { header: 'measured', align: 'right' },
        { header: 'verdict' },
        { header: 'figure' },
      ],
      rows: evaluateTargets(idx, report.options.num, report.options.concurrency).map((t) => [
        t.target,
        t.measured,
        t.verdict,
        t.note,
      ]),
    });
  }
  return tables;
}

function header(report: BenchReport): string[] {
  const o = report.options;
  return [
    `eau2 engine benchmark: num=${o.num} reads=${o.reads} runs=${o.runs} concurrency=${o.concurrency}${o.quick ? ' (quick)' : ''}`,
    `machine: ${describeMachine(report.machine)}`,
    `load average (1/5/15 min) at the end: ${report.machine.loadAverage?.join(' / ') ?? 'not recorded'}`,
    // Older results.json files (re-rendered with --report) may lack the revision.
    `revision: ${report.revision?.commit ?? 'not recorded'}${report.revision?.engineDirty ? ' + uncommitted changes in engine/' : ''}`,
    ...Object.entries(report.engines).map(([e, d]) => `engine ${e}: ${d}`),
    ...Object.entries(report.unavailable).map(([e, why]) => `engine ${e}: NOT RUN (${why})`),
    ...report.failures.map((f) => `FAILED ${f.engine} ${f.workload} run ${f.run}: ${f.error.split('\n')[0]}`),
    ...[...new Set(report.rows.flatMap((r) => r.median.errors.map((e) => `${r.engine}: ${e}`)))].map(
      (e) => `ERROR ${e}`,
    ),
  ];
}

export function renderText(report: BenchReport): string {
  const parts = [header(report).join('\n')];
  for (const t of buildTables(report)) parts.push(renderTextTable(t.columns, t.rows, `\n${t.title}`));
  return `${parts.join('\n')}\n`;
}

export function renderMarkdown(report: BenchReport): string {
  const parts = [
    header(report)
      .map((l) => `- ${l}`)
      .join('\n'),
  ];
  for (const t of buildTables(report)) parts.push(`### ${t.title}\n\n${renderMarkdownTable(t.columns, t.rows)}`);
  return `${parts.join('\n\n')}\n`;
}

function chartSpecs(report: BenchReport): BarChartSpec[] {
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
