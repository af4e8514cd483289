// Runs the engine benchmark end to end in --quick mode (tiny --num) so the harness never rots:
// every available engine must produce every figure its capabilities promise, for every workload
// and mode, and the JSON, Markdown and SVG outputs must be written. No timing assertions.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adapterByName } from '../../bench/engine/adapters/registry.js';
import { runBenchmark, writeOutputs } from '../../bench/engine/main.js';
import { parseOptions } from '../../bench/engine/options.js';
import type { BenchReport, ModeResult } from '../../bench/engine/results.js';
import { modesFor, WORKLOADS } from '../../bench/engine/workloads.js';

const root = mkdtempSync(join(tmpdir(), 'bench-engine-test-'));
const out = join(root, 'out');
let report: BenchReport;
let text: string;
let files: string[];

beforeAll(async () => {
  const opts = parseOptions(['--quick', '--num', '1000', '--out', out, '--data-dir', join(root, 'data')])!;
  report = await runBenchmark(opts, () => {});
  ({ text, files } = writeOutputs(report, out));
}, 240_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);

function expectAllFigures(r: ModeResult, write: boolean, compacted: boolean, engineStats: boolean): void {
  const where = `${r.engine} ${r.workload} ${r.mode}`;
  expect(r.errors, where).toEqual([]);
  expect(r.opsPerSec, where).toBeGreaterThan(0);
  expect(finite(r.mbPerSec), where).toBe(true);
  for (const k of ['p50Ms', 'p99Ms', 'p999Ms'] as const) expect(finite(r.latency[k]), `${where} ${k}`).toBe(true);
  expect(finite(r.lagP99Ms), where).toBe(true);
  expect(r.peakRssBytes, where).toBeGreaterThan(0);
  if (!write) {
    expect(r.write, where).toBeUndefined();
    return;
  }
  const w = r.write!;
  expect(w, where).toBeDefined();
  expect(w.userBytes, where).toBeGreaterThan(0);
  if (process.platform === 'linux') {
    expect(finite(w.diskWriteBytes), where).toBe(true);
    expect(finite(w.writeAmp), where).toBe(true);
  }
  expect(w.spaceBytes, where).toBeGreaterThan(0);
  expect(w.spaceAfterCompactBytes !== null, `${where} space after compaction`).toBe(compacted);
  expect(finite(w.engineWriteAmp), `${where} engine write amplification`).toBe(engineStats);
  if (r.workload !== 'deleterandom') expect(finite(w.spaceAmp), where).toBe(true);
}

describe('engine benchmark --quick', () => {
  it('runs without failures and knows which engines it measured', () => {
    expect(report.failures).toEqual([]);
    expect(Object.keys(report.engines).length).toBeGreaterThanOrEqual(2);
    // classic-level and lmdb are dev dependencies: they must always run.
    expect(report.engines['classic-level']).toBeDefined();
    expect(report.engines.lmdb).toBeDefined();
  });

  it('every engine produced every figure of every workload and mode it offers', () => {
    for (const engine of Object.keys(report.engines)) {
      const caps = adapterByName(engine).capabilities;
      for (const w of WORKLOADS) {
        const modes = modesFor(w, caps, report.options.concurrency);
        expect(modes.length, `${engine} ${w.name}`).toBeGreaterThan(0);
        for (const [i, m] of modes.entries()) {
          const row = report.rows.find((r) => r.engine === engine && r.workload === w.name && r.mode === m.name);
          expect(row, `${engine} ${w.name} ${m.name}`).toBeDefined();
          const isWrite = w.kind === 'write' || w.kind === 'batch';
          expectAllFigures(row!.median, isWrite, isWrite && i === 0 && caps.compact, isWrite && caps.stats);
        }
      }
    }
  });

  it('reads found exactly what the workload stored', () => {
    for (const r of report.rows) {
      if (r.workload === 'readmissing') expect(r.median.found, r.engine).toBe(0);
      if (r.workload === 'readseq' || r.workload === 'readreverse')
        expect(r.median.found, r.engine).toBe(report.options.num);
      if (r.workload === 'readrandom' || r.workload === 'seekrandom')
        expect(r.median.found, r.engine).toBe(report.options.reads);
    }
  });

  it('writes results.json, report.md, one SVG per workload and all.svg', () => {
    for (const f of files) expect(existsSync(f), f).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchReport;
    expect(json.rows.length).toBe(report.rows.length);
    expect(json.machine.nproc).toBeGreaterThan(0);
    for (const w of WORKLOADS) {
      const svg = readFileSync(join(out, `${w.name}.svg`), 'utf8');
      expect(svg, w.name).toContain('</svg>');
    }
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('| workload |');
  });

  it('prints a table with a ratio column against each peer', () => {
    const engines = Object.keys(report.engines);
    const subject = engines.includes('eau2') ? 'eau2' : report.options.engines.find((e) => engines.includes(e))!;
    for (const peer of engines.filter((e) => e !== subject)) expect(text).toContain(`vs ${peer}`);
    if (engines.includes('eau2')) expect(text).toContain('Issue 3 targets');
  });
});
