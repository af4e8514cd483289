// Entry point of `npm run bench:engine`: runs every engine x workload in a child process of its
// own (child.ts), alternating engines so none always runs first on a warm or cold machine, repeats
// --runs times, and writes the medians as a terminal table, results.json, report.md and SVG charts.

import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineInfo } from '../lib/machine.js';
import { adapterByName } from './adapters/registry.js';
import { aggregate } from './aggregate.js';
import { parseOptions, USAGE, type BenchOptions } from './options.js';
import { renderMarkdown, renderText, writeCharts } from './report.js';
import type { BenchReport, ChildJob, ChildReply, ModeResult } from './results.js';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

function runChild(job: ChildJob, opts: BenchOptions): Promise<ChildReply> {
  // The child is TypeScript: under `node --import tsx` it inherits the loader; under another
  // runner (vitest's forks) it gets tsx alone rather than that runner's own flags.
  const execArgv = process.execArgv.some((a) => a.includes('tsx')) ? [...process.execArgv] : ['--import', 'tsx'];
  return new Promise((resolve) => {
    const child = fork(CHILD, [JSON.stringify(job)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let reply: ChildReply | undefined;
    const timer = setTimeout(() => {
      reply ??= { ok: false, results: [], error: `timed out after ${opts.timeoutSec} s` };
      child.kill('SIGKILL');
    }, opts.timeoutSec * 1000);
    child.on('message', (m) => {
      reply = m as ChildReply;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(
        reply ?? { ok: false, results: [], error: `child exited (code ${code}, signal ${signal}) without a result` },
      );
    });
  });
}

/** Which engine code was measured: the commit, and whether engine/ had uncommitted edits. */
function revision(): BenchReport['revision'] {
  const git = (...args: string[]) =>
    execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    return {
      commit: git('rev-parse', '--short', 'HEAD'),
      engineDirty: git('status', '--porcelain', '--', 'engine').length > 0,
    };
  } catch {
    return { commit: 'unknown', engineDirty: false };
  }
}

export async function runBenchmark(opts: BenchOptions, log: (line: string) => void): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const rev = revision();
  const engines: string[] = [];
  const unavailable: Record<string, string> = {};
  for (const name of opts.engines) {
    if (await adapterByName(name).available()) engines.push(name);
    else unavailable[name] = name === 'eau2' ? 'engine/index.ts missing or does not load' : 'cannot be loaded';
  }
  const descriptions: Record<string, string> = {};
  const raw: ModeResult[] = [];
  const failures: BenchReport['failures'] = [];
  mkdirSync(opts.dataDir, { recursive: true });
  let slot = 0;
  for (let run = 1; run <= opts.runs; run++) {
    for (const workload of opts.workloads) {
      // Rotate the engine order every workload and run: engines alternate, none always goes first.
      const order = engines.map((_, i) => engines[(i + slot) % engines.length]!);
      slot++;
      for (const engine of order) {
        const dir = join(opts.dataDir, `${engine}-${workload}-run${run}-${process.pid}`);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        const t0 = performance.now();
        const job: ChildJob = {
          engine,
          workload,
          num: opts.num,
          reads: opts.reads,
          concurrency: opts.concurrency,
          run,
          seed: opts.seed,
          dir,
        };
        if (opts.profile.includes(engine)) {
          job.profileDir = join(opts.out, 'profiles');
          mkdirSync(job.profileDir, { recursive: true });
        }
        const reply = await runChild(job, opts);
        rmSync(dir, { recursive: true, force: true });
        if (reply.engineDescription) descriptions[engine] = reply.engineDescription;
        raw.push(...reply.results);
        const secs = ((performance.now() - t0) / 1000).toFixed(1);
        const summary = reply.results
          .map((r) => `${r.mode === 'concurrent' ? `c=${r.concurrency}` : r.mode} ${Math.round(r.opsPerSec)}/s`)
          .join(', ');
        log(`[run ${run}/${opts.runs}] ${workload.padEnd(12)} ${engine.padEnd(13)} ${secs.padStart(6)} s  ${summary}`);
        if (!reply.ok) {
          failures.push({ engine, workload, run, error: reply.error ?? 'unknown error' });
          log(`  FAILED: ${(reply.error ?? '').split('\n').slice(0, 3).join(' | ')}`);
        }
      }
    }
  }
  return {
    machine: machineInfo(),
    options: {
      num: opts.num,
      reads: opts.reads,
      runs: opts.runs,
      concurrency: opts.concurrency,
      engines: opts.engines,
      workloads: opts.workloads,
      quick: opts.quick,
    },
    engines: descriptions,
    revision: rev,
    unavailable,
    rows: aggregate(raw),
    raw,
    failures,
    startedAt,
    finishedAt: new Date().toISOString(),
  };
}

/** Writes results.json, report.md and the charts into opts.out; returns the text report. */
export function writeOutputs(report: BenchReport, out: string): { text: string; files: string[] } {
  mkdirSync(out, { recursive: true });
  const json = join(out, 'results.json');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  const md = join(out, 'report.md');
  writeFileSync(md, renderMarkdown(report));
  const charts = writeCharts(report, out);
  return { text: renderText(report), files: [json, md, ...charts] };
}

async function main(): Promise<void> {
  let opts: BenchOptions | undefined;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (!opts) {
    process.stdout.write(USAGE);
    return;
  }
  const report = opts.fromReport
    ? (JSON.parse(readFileSync(opts.fromReport, 'utf8')) as BenchReport)
    : await runBenchmark(opts, (line) => process.stderr.write(`${line}\n`));
  const { text, files } = writeOutputs(report, opts.out);
  process.stdout.write(`\n${text}\nwrote:\n${files.map((f) => `  ${f}`).join('\n')}\n`);
  if (report.failures.length > 0) process.exitCode = 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
