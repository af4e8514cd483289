// `npm run bench:dataframe [-- --rows N]`: stores and reads back an N-row frame (int32, float64, bool,
// string; default 10,000,000 rows) on the embedded engine and on a local 3-node cluster, runs a
// filter + group-by on each, and does the same write and read with an Apache Arrow IPC file on local
// disk as the single-machine reference. Reports MB/s (over the Arrow file's size, the same numerator
// for both), time, peak RSS of this process per phase and of every node, and the issue's targets.
//   --rows N  --seed S  --no-cluster  --no-engine  --runs R (query repetitions, default 3)
//   --chunk-rows N  --concurrency N  --no-settle  --help
// EAU2_BENCH_CPU_PROF=<dir> makes every cluster node write a V8 CPU profile there when it stops;
// EAU2_DF_TRACE=1 makes every query task log its start time and duration on stderr. On the cluster the
// put row notes how many row-chunks each node leads (its share of every query).

import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { diskUsage } from '../lib/disk-usage.js';
import { formatBytes, formatMs } from '../lib/format.js';
import { RssSampler } from '../lib/process-probes.js';
import { renderTextTable } from '../lib/table.js';
import { Engine } from '../../engine/index.js';
import type { KvStore } from '../../kv/index.js';
import { DataFrame, HOLDINGS_TASK } from '../../dataframe/index.js';
import { metaToPlain } from '../../dataframe/meta.js';
import { readArrow, writeArrow } from './arrow.js';
import {
  benchQuery,
  checkResult,
  checksumArrays,
  generate,
  plainQuery,
  sameChecksum,
  scanChecksum,
  toFrame,
  type BenchData,
  type Checksum,
} from './data.js';
import { LocalCluster, peakRssOf } from './local-cluster.js';

// Phases compare memory against a baseline, so garbage from the previous phase must be collected first.
// --peers compares times only and runs without --expose-gc (a flag worker threads refuse when it is
// passed on to them in execArgv, as kv/worker-thread.ts does).
if (
  typeof globalThis.gc !== 'function' &&
  !process.execArgv.includes('--expose-gc') &&
  !process.argv.includes('--peers')
) {
  const r = spawnSync(process.execPath, ['--expose-gc', ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    seed: { type: 'string', default: '42' },
    'no-cluster': { type: 'boolean', default: false },
    'no-engine': { type: 'boolean', default: false },
    'no-settle': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
    runs: { type: 'string', default: '3' },
    'chunk-rows': { type: 'string', default: '65536' },
    concurrency: { type: 'string', default: '8' },
    peers: { type: 'boolean', default: false },
    'no-polars': { type: 'boolean', default: false },
    'no-embedded': { type: 'boolean', default: false },
    'queries-only': { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'npm run bench:dataframe [-- options]\n' +
      '  --rows N          rows in the frame (default 10,000,000; e.g. 1000000 while iterating)\n' +
      '  --seed S          data seed (default 42)\n' +
      '  --runs R          filter+group-by repetitions per store (default 3)\n' +
      '  --chunk-rows N    rows per chunk (default 65,536)\n' +
      '  --concurrency N   row-chunks in flight when storing and scanning (default 8)\n' +
      '  --no-engine       skip the embedded engine\n' +
      '  --no-cluster      skip the 3-node cluster\n' +
      '  --no-settle       measure reads right after the put, while the engines still compact\n' +
      '  --peers           instead: eau2 beside DuckDB and Polars on a flights table (--rows default\n' +
      '                    1,000,000; --runs; --no-cluster; --no-polars; --no-embedded; --queries-only:\n' +
      '                    no loads timed, DuckDB reads a Parquet file cached under the OS temp\n' +
      '                    directory): bench/dataframe/peers.ts\n' +
      'EAU2_BENCH_CPU_PROF=<dir>: each cluster node writes a CPU profile there when it stops\n' +
      'EAU2_BENCH_NODE_FLAGS="--flag ...": node/V8 flags for the cluster node processes\n' +
      'EAU2_DF_TRACE=1: each query task logs node, chunks, start time, duration and cache hits on stderr\n',
  );
  process.exit(0);
}
if (args.peers) {
  const { peersMain } = await import('./peers.js');
  const rowsGiven = process.argv.some((a) => a === '--rows' || a.startsWith('--rows='));
  process.exit(
    await peersMain({
      rows: rowsGiven ? Number(args.rows) : 1_000_000,
      runs: Number(args.runs),
      cluster: !args['no-cluster'],
      polars: !args['no-polars'],
      embedded: !args['no-embedded'],
      queriesOnly: args['queries-only'],
      seed: Number(args.seed),
    }),
  );
}
const ROWS = Number(args.rows);
const SETTLE = !args['no-settle'];
const RUNS = Number(args.runs);
const CHUNK_ROWS = Number(args['chunk-rows']);
const CONCURRENCY = Number(args.concurrency);

interface Phase {
  store: string;
  what: string;
  ms: number;
  mbps?: number;
  baseRss: number;
  peakRss: number;
  /** Peak growth of V8's heap plus array buffers over the phase's start: live data and garbage not yet collected. */
  jsGrowth: number;
  /** CPU ms of this process, and of the cluster's nodes when there is one. */
  cpuMs: number;
  nodesCpuMs?: number;
  note?: string;
}
const phases: Phase[] = [];
let frameBytes = 0; // the Arrow file's size: the common numerator for MB/s

let nodesCpu: (() => number) | undefined; // set while a cluster runs

/**
 * Peak RSS without sampling (Linux): writing 5 to /proc/self/clear_refs resets VmHWM, the kernel's
 * high-water mark of this process's resident set, which then catches every peak; a sampling timer
 * on a busy event loop misses them. Returns false where that is not possible (the sampler then counts).
 */
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return peakRssOf(process.pid) !== undefined;
  } catch {
    return false;
  }
}

/** JS heap + array buffers in use: what this process allocated, whatever the allocator keeps mapped. */
function jsBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

async function measure<T>(store: string, what: string, f: () => Promise<T>, throughput = false): Promise<T> {
  // gc() frees array buffers' memory on a background sweeper, so a baseline taken right after it can
  // still count the last phase's garbage and hide this phase's growth: collect, let it sweep, again.
  globalThis.gc?.();
  await new Promise((r) => setTimeout(r, 200));
  globalThis.gc?.();
  const exactPeak = resetPeakRss();
  const baseRss = process.memoryUsage.rss();
  const s = new RssSampler();
  s.start(20);
  const baseJs = jsBytes();
  let peakJs = baseJs;
  const js = setInterval(() => (peakJs = Math.max(peakJs, jsBytes())), 20);
  const cpu0 = process.cpuUsage();
  const node0 = nodesCpu?.();
  const t0 = performance.now();
  const startEpoch = Date.now();
  const v = await f();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const nodesCpuMs = node0 === undefined ? undefined : nodesCpu!() - node0;
  const peakRss = Math.max(s.stop(), exactPeak ? (peakRssOf(process.pid) ?? 0) : 0);
  clearInterval(js);
  peakJs = Math.max(peakJs, jsBytes());
  phases.push({
    store,
    what,
    ms,
    baseRss,
    peakRss,
    jsGrowth: peakJs - baseJs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    nodesCpuMs,
    mbps: throughput ? frameBytes / 1e6 / (ms / 1000) : undefined,
  });
  // With EAU2_DF_TRACE=1 the nodes log each query task's start and duration; this start lines them up.
  process.stderr.write(
    `  ${store} ${what}: ${formatMs(ms)}${process.env.EAU2_DF_TRACE === '1' ? ` (start=${startEpoch})` : ''}\n`,
  );
  return v;
}

function note(n: string): void {
  phases[phases.length - 1]!.note = n;
}

/** Waits until this process and the nodes use under 5% of a core for 0.5 s (at most 60 s). */
async function settle(label: string): Promise<void> {
  const cpu = (): number => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000 + (nodesCpu?.() ?? 0);
  };
  const t0 = performance.now();
  let last = cpu();
  while (performance.now() - t0 < 60_000) {
    await new Promise((r) => setTimeout(r, 500));
    const now = cpu();
    if (now - last < 25) return;
    last = now;
  }
  process.stderr.write(`  ${label}: still busy after 60 s of settling; measuring anyway\n`);
}

/** ", per leader a / b / c" on a cluster: the row-chunks each node leads, which its query share is. */
async function leaderShares(store: KvStore, meta: Parameters<typeof metaToPlain>[0]): Promise<string> {
  const runner = store as Partial<{ runTask(name: string, payload: unknown): Promise<unknown[]> }>;
  if (typeof runner.runTask !== 'function') return '';
  const held = (await runner.runTask(HOLDINGS_TASK, { meta: metaToPlain(meta) })) as {
    nodeId: string;
    chunks: number[];
  }[];
  return `, per leader ${held.map((h) => h.chunks.length).join(' / ')}`;
}

async function runOn(
  label: string,
  store: KvStore,
  frame: DataFrame,
  want: Checksum,
  answer: ReturnType<typeof plainQuery>,
): Promise<void> {
  const meta = await measure(
    label,
    'put',
    () => DataFrame.put(store, 'bench', frame, { chunkRows: CHUNK_ROWS, concurrency: CONCURRENCY }),
    true,
  );
  note(`${meta.nchunks} chunks${await leaderShares(store, meta)}`);
  if (SETTLE) {
    // A put is done when acknowledged, but the engines then flush and compact for seconds (10M rows:
    // several seconds of node CPU), which would be billed to whatever is measured next. Wait for that
    // background work to finish, so reads measure reads; the wait is its own row in the table.
    await measure(label, 'settle (background compaction)', () => settle(label));
  }
  const got = await measure(label, 'get (scan all)', () => scanChecksum(store, 'bench', CONCURRENCY), true);
  if (!sameChecksum(got, want)) throw new Error(`${label}: read-back checksum differs`);
  const lf = await DataFrame.get(store, 'bench');
  for (let r = 0; r < RUNS; r++) {
    const res = await measure(label, `filter+group-by #${r + 1}`, () => benchQuery(lf.query()));
    const bad = checkResult(res, answer);
    if (bad) throw new Error(`${label}: query result wrong: ${bad}`);
    note(`${res.nrows} groups, checked`);
  }
}

async function main(): Promise<void> {
  const seed = Number(args.seed);
  process.stderr.write(
    `dataframe benchmark: ${ROWS} rows, seed ${seed}, chunks of ${CHUNK_ROWS} rows, concurrency ${CONCURRENCY}\n`,
  );
  let data: BenchData | undefined = generate(ROWS, seed);
  const want = checksumArrays(data);
  const answer = plainQuery(data);
  const work = await mkdtemp(join(tmpdir(), 'eau2-dfbench-'));
  const nodeRss: { id: string; bytes: number | undefined }[] = [];
  try {
    const arrowFile = join(work, 'frame.arrow');
    const t0 = performance.now();
    frameBytes = await writeArrow(data, arrowFile);
    const firstArrowMs = performance.now() - t0; // warm-up run: Arrow's JIT paths, page cache
    process.stderr.write(`  arrow warm-up write: ${formatMs(firstArrowMs)}, file ${formatBytes(frameBytes)}\n`);
    const d = data;
    await measure('arrow file', 'write', () => writeArrow(d, arrowFile), true);
    const got = await measure('arrow file', 'read (all values)', () => readArrow(arrowFile), true);
    if (!sameChecksum(got, want)) throw new Error('arrow: read-back checksum differs');
    await measure('plain loop', 'filter+group-by', async () => plainQuery(d));
    note('in-memory arrays, one thread: the floor');

    const frame = toFrame(data);
    if (!args['no-engine']) {
      const engineDir = join(work, 'engine');
      const engine = await Engine.open(engineDir);
      try {
        await runOn('engine', engine, frame, want, answer);
      } finally {
        await engine.close();
      }
      phases.find((p) => p.store === 'engine' && p.what === 'put')!.note +=
        `, ${formatBytes(diskUsage(engineDir).allocatedBytes)} on disk`;
    }

    if (!args['no-cluster']) {
      const cluster = await LocalCluster.start(3, 2, 16);
      nodesCpu = () => cluster.nodesCpuMs();
      try {
        await runOn('3-node cluster', cluster.client, frame, want, answer);
        nodeRss.push(...cluster.nodePeakRss());
      } finally {
        nodesCpu = undefined;
        await cluster.stop();
      }
    }
    data = undefined;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  report(nodeRss);
}

function report(nodeRss: { id: string; bytes: number | undefined }[]): void {
  const mb = frameBytes / 1e6;
  const rows = phases.map((p) => [
    p.store,
    p.what,
    formatMs(p.ms),
    p.mbps === undefined ? '' : p.mbps.toFixed(1),
    formatMs(p.cpuMs),
    p.nodesCpuMs === undefined ? '' : formatMs(p.nodesCpuMs),
    formatBytes(p.peakRss),
    formatBytes(p.peakRss - p.baseRss),
    formatBytes(p.jsGrowth),
    p.note ?? '',
  ]);
  const out: string[] = [];
  out.push(
    `\n${ROWS.toLocaleString('en-US')} rows (int32, float64, bool, string); Arrow IPC file ${mb.toFixed(1)} MB = the MB in MB/s`,
  );
  out.push(
    `machine: ${os.cpus().length} cores, load average at the end ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} (other work on the machine inflates wall times; CPU columns do not)\n`,
  );
  out.push(
    renderTextTable(
      [
        { header: 'store' },
        { header: 'phase' },
        { header: 'time', align: 'right' },
        { header: 'MB/s', align: 'right' },
        { header: 'client CPU', align: 'right' },
        { header: 'nodes CPU', align: 'right' },
        { header: 'peak RSS', align: 'right' },
        { header: 'RSS growth', align: 'right' },
        { header: 'JS+buffers growth', align: 'right' },
        { header: 'notes' },
      ],
      rows,
    ),
  );
  if (nodeRss.length)
    out.push(`\ncluster nodes' peak RSS: ${nodeRss.map((n) => `${n.id} ${formatBytes(n.bytes)}`).join(', ')}`);
  const get = (store: string, what: string): Phase | undefined =>
    phases.find((p) => p.store === store && p.what.startsWith(what));
  const aw = get('arrow file', 'write')!;
  const ar = get('arrow file', 'read')!;
  const rowChunkBytes = (frameBytes / ROWS) * CHUNK_ROWS;
  const budget = CONCURRENCY * rowChunkBytes;
  out.push(
    `\ntargets (chunk budget = ${CONCURRENCY} row-chunks in flight x ${formatBytes(rowChunkBytes)} = ${formatBytes(budget)}):`,
  );
  for (const store of ['engine', '3-node cluster']) {
    const put = get(store, 'put');
    const scan = get(store, 'get');
    if (!put || !scan) continue;
    const queries = phases.filter((p) => p.store === store && p.what.startsWith('filter')).map((p) => p.ms);
    const best = Math.min(...queries);
    const growth = Math.max(put.peakRss - put.baseRss, scan.peakRss - scan.baseRss);
    const jsGrowth = Math.max(put.jsGrowth, scan.jsGrowth);
    out.push(
      `  ${store}: put ${(put.mbps! / aw.mbps!).toFixed(2)}x Arrow write (target >= 0.3), ` +
        `get ${(scan.mbps! / ar.mbps!).toFixed(2)}x Arrow read (target >= 0.5), ` +
        `best filter+group-by ${formatMs(best)} (first ${formatMs(queries[0]!)})${store === '3-node cluster' ? ' (target < 1 s)' : ''}, ` +
        `client RSS growth ${formatBytes(growth)} (JS heap + buffers ${formatBytes(jsGrowth)}) vs 2 x budget ${formatBytes(2 * budget)}` +
        (store === 'engine' ? ' (this process also runs the engine)' : ''),
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
});
