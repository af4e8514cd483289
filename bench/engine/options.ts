// Command-line options of `npm run bench:engine`, parsed with node:util's parseArgs (no dependency
// needed for a dozen flags). Everything has a default so a bare run measures what issue 3 asks.

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ENGINE_NAMES } from './adapters/registry.js';
import { WORKLOAD_NAMES, WORKLOADS } from './workloads.js';

export interface BenchOptions {
  num: number;
  reads: number;
  runs: number;
  concurrency: number;
  engines: string[];
  workloads: string[];
  quick: boolean;
  out: string;
  dataDir: string;
  seed: number;
  /** Engines whose timed modes are CPU-profiled (one .cpuprofile per mode in <out>/profiles). */
  profile: string[];
  timeoutSec: number;
  /** Re-render the outputs of an earlier run's results.json instead of running anything. */
  fromReport?: string;
}

const QUICK_NUM = 2000;

const DEFAULT_OUT = fileURLToPath(new URL('./out', import.meta.url));

export const USAGE = `Usage: npm run bench:engine -- [options]

  --num N            entries per workload (default 1000000; --quick: ${QUICK_NUM})
  --reads N          operations for readrandom, readmissing, seekrandom (default: --num)
  --runs N           repeat every engine x workload N times and report medians (default 1)
  --concurrency N    operations in flight in the concurrent mode (default 64)
  --engines LIST     comma-separated, from: ${ENGINE_NAMES.join(', ')} (default: all)
  --workloads LIST   comma-separated, from: ${WORKLOAD_NAMES.join(', ')} (default: all)
  --quick            tiny run (--num ${QUICK_NUM}) to check the harness end to end
  --out DIR          where results.json, report.md and the SVG charts go (default bench/engine/out)
  --data-dir DIR     where the databases are created (default: the OS temp directory)
  --seed N           seed for key orders and values (default 42)
  --profile LIST     CPU-profile these engines' timed modes (main thread; <out>/profiles/*.cpuprofile)
  --timeout SEC      kill a child that runs longer than this (default 3600)
  --report FILE      run nothing: re-render the tables and charts of an earlier results.json
  --help             this text

Workloads:
${WORKLOADS.map((w) => `  ${w.name.padEnd(13)} ${w.description}`).join('\n')}
`;

function positiveInt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isInteger(n) || n <= 0) throw new TypeError(`--${name} must be a positive integer, got "${v}"`);
  return n;
}

function list(name: string, v: string | undefined, known: readonly string[]): string[] {
  if (v === undefined || v === '') return [...known];
  const items = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const i of items)
    if (!known.includes(i)) throw new TypeError(`--${name}: unknown "${i}" (known: ${known.join(', ')})`);
  return items;
}

/** Parses argv (without node and script); returns undefined when --help was asked for. */
export function parseOptions(argv: string[]): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      num: { type: 'string' },
      reads: { type: 'string' },
      runs: { type: 'string' },
      concurrency: { type: 'string' },
      engines: { type: 'string' },
      workloads: { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      'data-dir': { type: 'string' },
      seed: { type: 'string' },
      profile: { type: 'string' },
      timeout: { type: 'string' },
      report: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const quick = values.quick ?? false;
  const num = positiveInt('num', values.num, quick ? QUICK_NUM : 1_000_000);
  return {
    num,
    reads: positiveInt('reads', values.reads, num),
    runs: positiveInt('runs', values.runs, 1),
    concurrency: positiveInt('concurrency', values.concurrency, 64),
    engines: list('engines', values.engines, ENGINE_NAMES),
    workloads: list('workloads', values.workloads, WORKLOAD_NAMES),
    quick,
    out: values.out ?? DEFAULT_OUT,
    dataDir: values['data-dir'] ?? join(tmpdir(), 'eau2-bench-engine'),
    seed: positiveInt('seed', values.seed, 42),
    profile: values.profile ? list('profile', values.profile, ENGINE_NAMES) : [],
    timeoutSec: positiveInt('timeout', values.timeout, 3600),
    ...(values.report ? { fromReport: values.report } : {}),
  };
}
