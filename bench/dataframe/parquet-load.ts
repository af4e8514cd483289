// `node --import tsx bench/dataframe/parquet-load.ts [--rows N] [--runs R] [--file F] [--store memory|engine|cluster] [--one-engine]`
// (with EAU2_WORKER_LOADER=test/support/worker-loader.mjs, as `npm run bench:dataframe` sets it):
// the Parquet import beside DuckDB's `read_parquet` on the same file, in one run. Writes (once, kept
// under the OS temp directory) an N-row flights-style Parquet file with eau2's exporter (default
// 500,000 rows: int32, date, timestamp, three strings, int32, two nullable doubles; row groups of
// 65,536 rows, snappy), then R times (default 3) each system loads it: DuckDB into a fresh in-memory
// table, eau2 into a fresh store (an Engine in a temporary directory by default; `--store memory` for
// the importer's own cost; `--one-engine` one Engine kept open across the runs, each run a new frame,
// as a long-lived store such as a node's takes them). Prints every run's wall time (eau2's CPU time beside it); the first run
// is cold (eau2: the decoder thread starts and compiles), the best later one is the warm figure;
// CPU time of DuckDB's threads is printed beside its time (process CPU, so in --one-engine mode it
// may include the engine's background work left from the run before).
// Profile with `node --import tsx --cpu-prof ...`.

import { createWriteStream, existsSync, renameSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { Rng } from '../../app/apps/random.js';
import { DataFrame, exportParquet, importParquet } from '../../dataframe/index.js';
import { Engine } from '../../engine/index.js';
import { MemoryStore } from '../../test/support/memory-store.js';
import { LocalCluster } from './local-cluster.js';
import { machineInfo } from '../lib/machine.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '500000' },
    runs: { type: 'string', default: '3' },
    file: { type: 'string' },
    'one-engine': { type: 'boolean', default: false },
    store: { type: 'string', default: 'engine' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'node --import tsx bench/dataframe/parquet-load.ts [--rows N] [--runs R] [--file F] [--store memory|engine|cluster] [--one-engine]\n',
  );
  process.exit(0);
}

async function writeBenchParquet(path: string, rows: number, seed = 11): Promise<void> {
  const rng = new Rng(seed);
  const codes = Array.from({ length: 300 }, (_, k) => `A${String.fromCharCode(65 + (k % 26))}${k}`);
  const carriers = ['AA', 'DL', 'UA', 'WN', 'B6', 'AS', 'NK', 'F9', 'HA', 'G4', 'SY', 'MQ', 'OO', 'YX'];
  const start = Date.UTC(2024, 0, 1) / 1000;
  const id = new Int32Array(rows);
  const day = new Array<number>(rows);
  const dep = new Array<bigint>(rows);
  const carrier = new Array<string>(rows);
  const origin = new Array<string>(rows);
  const dest = new Array<string>(rows);
  const distance = new Int32Array(rows);
  const depDelay = new Array<number | null>(rows);
  const arrDelay = new Array<number | null>(rows);
  for (let i = 0; i < rows; i++) {
    const t = start + Math.floor((i / rows) * 366 * 86400) + rng.int(0, 3600);
    id[i] = i + 1;
    day[i] = Math.floor(t / 86400);
    dep[i] = BigInt(Math.floor(t / 60) * 60) * 1_000_000n;
    carrier[i] = rng.pick(carriers);
    origin[i] = codes[rng.int(0, codes.length - 1)]!;
    dest[i] = codes[rng.int(0, codes.length - 1)]!;
    distance[i] = rng.int(80, 2800);
    depDelay[i] = rng.bool(0.02) ? null : Math.round(-10 + rng.next() ** 3 * 300);
    arrDelay[i] = depDelay[i] === null ? null : depDelay[i]! + rng.int(-20, 20);
  }
  const frame = DataFrame.fromColumns({
    id,
    day: { type: 'd', values: day },
    dep_time: { type: 'T', values: dep },
    carrier,
    origin,
    dest,
    distance,
    dep_delay: { type: 'D', values: depDelay },
    arr_delay: { type: 'D', values: arrDelay },
  });
  const out = createWriteStream(path);
  await exportParquet(frame, out);
  await new Promise<void>((r, j) => out.end(r).on('error', j));
}

async function openEngine(): Promise<{ store: Engine; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'eau2-pq-'));
  return { store: await Engine.open(dir), dir };
}

async function main(): Promise<void> {
  const rows = Number(args.rows);
  const runs = Number(args.runs);
  const file = args.file ?? join(tmpdir(), `eau2-bench-parquet-${rows}.parquet`);
  if (!existsSync(file)) {
    process.stderr.write(`writing ${file} ...\n`);
    await writeBenchParquet(`${file}.tmp`, rows);
    renameSync(`${file}.tmp`, file);
  }
  const size = statSync(file).size;
  const m = machineInfo();
  process.stdout.write(
    `parquet-load: ${file} (${(size / 1e6).toFixed(1)} MB), eau2 store ${args.store}; ${m.cpuModel} x${m.nproc}, ` +
      `Node ${m.node}, load ${m.loadAverage.join(' ')}, ${m.date}\n`,
  );
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  const times = { duck: [] as number[], eau2: [] as number[] };
  const cpus = { duck: [] as number[], eau2: [] as number[] };
  // --one-engine: one Engine for every run (a long-lived store, as a node's), each run a new frame.
  const shared = args['one-engine'] ? await openEngine() : undefined;
  // --store cluster: a local 3-node cluster (16 partitions, 2 replicas), as the peers bench's.
  const cluster = args.store === 'cluster' ? await LocalCluster.start(3, 2, 16) : undefined;
  for (let r = 0; r < runs; r++) {
    const duckCpu0 = process.cpuUsage();
    let t0 = performance.now();
    await duck.run(`CREATE OR REPLACE TABLE t AS SELECT * FROM read_parquet('${file}')`);
    times.duck.push(performance.now() - t0);
    const duckCpu = process.cpuUsage(duckCpu0);
    cpus.duck.push((duckCpu.user + duckCpu.system) / 1000);

    let dir: string | undefined;
    let store: MemoryStore | Engine | LocalCluster['client'];
    if (shared) store = shared.store;
    else if (cluster) store = cluster.client;
    else if (args.store === 'engine') ({ store, dir } = await openEngine());
    else store = new MemoryStore();
    const nodes0 = cluster?.nodesCpuMs() ?? 0;
    const wal0 = store instanceof Engine ? store.stats().walBytesWritten : 0;
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    t0 = performance.now();
    const res = await importParquet(store, `bench${r}`, file);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    // Near 1: bound by this thread's work (conversion, encoding); lower: waiting for the decoder or the store.
    const elu = performance.eventLoopUtilization(elu0).utilization;
    // The bytes the engine logged (its WAL records: the stored chunks and their keys), for CPU per MB.
    const walMb = store instanceof Engine ? (store.stats().walBytesWritten - wal0) / 1e6 : 0;
    times.eau2.push(ms);
    cpus.eau2.push((cpu.user + cpu.system) / 1000);
    process.stdout.write(
      `run ${r + 1}: DuckDB ${times.duck[r]!.toFixed(0)} ms (CPU ${cpus.duck[r]!.toFixed(0)} ms, its threads); eau2 ${res.rows} rows ${ms.toFixed(0)} ms ` +
        `(CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, this thread and the decoder's; this thread busy ` +
        `${(elu * 100).toFixed(0)}%${cluster ? `; nodes' CPU ${(cluster.nodesCpuMs() - nodes0).toFixed(0)} ms` : ''}` +
        `${walMb > 0 ? `; ${walMb.toFixed(1)} MB to the WAL` : ''}), load ${machineInfo().loadAverage[0]}\n`,
    );
    if (shared || cluster) continue;
    await store.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
  await cluster?.stop();
  if (shared) {
    await shared.store.close();
    await rm(shared.dir, { recursive: true, force: true });
  }
  duck.closeSync();
  const warm = (xs: number[]): number => (xs.length > 1 ? Math.min(...xs.slice(1)) : xs[0]!);
  const w = { duck: warm(times.duck), eau2: warm(times.eau2) };
  process.stdout.write(
    `cold: DuckDB ${times.duck[0]!.toFixed(0)} ms, eau2 ${times.eau2[0]!.toFixed(0)} ms; ` +
      `warm (best after the first): DuckDB ${w.duck.toFixed(0)} ms, eau2 ${w.eau2.toFixed(0)} ms ` +
      `(eau2 / DuckDB ${(w.eau2 / w.duck).toFixed(2)}x); best CPU after the first: DuckDB ${warm(cpus.duck).toFixed(0)} ms, ` +
      `eau2 ${warm(cpus.eau2).toFixed(0)} ms (${(warm(cpus.eau2) / warm(cpus.duck)).toFixed(2)}x) ` +
      `(load ${machineInfo().loadAverage.join(' ')})\n`,
  );
}

await main();
