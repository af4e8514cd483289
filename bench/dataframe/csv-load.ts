// `node --import tsx bench/dataframe/csv-load.ts [--rows N] [--runs R] [--file F] [--store memory|engine] [--one-engine] [--duckdb]`:
// the CSV import on its own. Generates (once, kept under the OS temp directory) an N-row CSV with
// int32, string, float64, timestamp and date columns (default 500,000 rows, ~26 MB), then imports it
// R times (default 3) into a fresh store and prints each run's wall time, CPU time and MB/s; the first
// run is cold (modules, JIT), the best of the later ones is the warm figure. With --store memory (the
// default) the store is the tests' in-memory KvStore, so the figure is the importer's own cost: parsing,
// type inference, conversion, encoding; with --store engine, an Engine in a temporary directory (the
// embedded path; --one-engine: one Engine kept open across the runs, each run importing a new frame,
// as a long-lived store such as a node's takes them). --duckdb also loads the same file R times with DuckDB's read_csv (a fresh in-memory
// database each run, in this process, so CPU time counts its threads too) and prints eau2/DuckDB.
// Profile with `node --import tsx --cpu-prof ...` (and the cluster's nodes with EAU2_BENCH_CPU_PROF=<dir>):
// each run then prints its span on the profiles' clock, and `node --import tsx bench/lib/cpu-profile.ts
// FILE --window FROM TO` reads the samples of those runs alone (the warm imports, without start-up).

import { createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../../app/apps/random.js';
import { importCsv } from '../../dataframe/index.js';
import { Engine } from '../../engine/index.js';
import { MemoryStore } from '../../test/support/memory-store.js';
import { machineInfo } from '../lib/machine.js';
import { LocalCluster } from './local-cluster.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: '500000' },
    runs: { type: 'string', default: '3' },
    file: { type: 'string' },
    'one-engine': { type: 'boolean', default: false },
    store: { type: 'string', default: 'memory' },
    duckdb: { type: 'boolean', default: false },
    threads: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'node --import tsx bench/dataframe/csv-load.ts [--rows N] [--runs R] [--file F] [--store memory|engine|cluster] [--one-engine] [--duckdb] [--threads T]\n',
  );
  process.exit(0);
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** Writes the bench's CSV: id (I), city (S, 300 values), amount (D), at (T, ascending), day (d). */
export async function writeBenchCsv(path: string, rows: number, seed = 7): Promise<void> {
  const rng = new Rng(seed);
  const cities = Array.from({ length: 300 }, (_, k) => `city-${k}`);
  const out = createWriteStream(path);
  const write = (s: string): Promise<void> | undefined =>
    out.write(s) ? undefined : new Promise((r) => out.once('drain', () => r()));
  await write('id,city,amount,at,day\n');
  let t = Date.UTC(2024, 0, 1) / 1000;
  let buf = '';
  for (let i = 0; i < rows; i++) {
    t += rng.int(0, 120);
    const d = new Date(t * 1000);
    const date = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
    const ts = `${date}T${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}Z`;
    const amount = (rng.next() * 1000).toFixed(rng.int(1, 4));
    buf += `${rng.int(0, 2_000_000_000)},${rng.pick(cities)},${amount},${ts},${date}\n`;
    if (buf.length > 1 << 16) {
      const w = write(buf);
      buf = '';
      if (w) await w;
    }
  }
  out.end(buf);
  await new Promise<void>((r, j) => out.on('finish', r).on('error', j));
}

async function openEngine(): Promise<{ store: Engine; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'eau2-csv-'));
  return { store: await Engine.open(dir), dir };
}

async function main(): Promise<void> {
  const rows = Number(args.rows);
  const runs = Number(args.runs);
  const file = args.file ?? join(tmpdir(), `eau2-bench-csv-${rows}.csv`);
  if (!existsSync(file)) {
    process.stderr.write(`writing ${file} ...\n`);
    await writeBenchCsv(`${file}.tmp`, rows);
    const { renameSync } = await import('node:fs');
    renameSync(`${file}.tmp`, file);
  }
  const size = statSync(file).size;
  const m = machineInfo();
  process.stdout.write(
    `csv-load: ${file} (${(size / 1e6).toFixed(1)} MB), store ${args.store}; ${m.cpuModel} x${m.nproc}, ` +
      `Node ${m.node}, load ${m.loadAverage.join(' ')}, ${m.date}\n`,
  );
  const times: number[] = [];
  const cpus: number[] = [];
  // --one-engine: one Engine for every run (a long-lived store, as a node's), each run a new frame.
  const shared = args['one-engine'] ? await openEngine() : undefined;
  // --store cluster: a local 3-node cluster (16 partitions, 2 replicas), as the peers bench's; each run
  // a new frame, the nodes' CPU printed beside the client's.
  const cluster = args.store === 'cluster' ? await LocalCluster.start(3, 2, 16) : undefined;
  const profiling =
    process.execArgv.includes('--cpu-prof') || (cluster !== undefined && process.env.EAU2_BENCH_CPU_PROF !== undefined);
  for (let r = 0; r < runs; r++) {
    let store: MemoryStore | Engine | LocalCluster['client'];
    let dir: string | undefined;
    if (shared) store = shared.store;
    else if (cluster) store = cluster.client;
    else if (args.store === 'engine') ({ store, dir } = await openEngine());
    else store = new MemoryStore();
    const nodes0 = cluster?.nodesCpuMs() ?? 0;
    const mono0 = process.hrtime.bigint() / 1000n;
    const elu0 = performance.eventLoopUtilization();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await importCsv(
      store,
      `bench${r}`,
      file,
      args.threads === undefined ? {} : { parseThreads: Number(args.threads) },
    );
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    // How busy this thread's event loop was: near 1, the import is bound by the client's own work;
    // lower, it waited (for the store, or for worker threads).
    const elu = performance.eventLoopUtilization(elu0).utilization;
    times.push(ms);
    cpus.push((cpu.user + cpu.system) / 1e3);
    process.stdout.write(
      `run ${r + 1}: ${res.rows} rows, schema ${res.meta.fields.map((f) => f.type).join('')}, ` +
        `${(ms / 1000).toFixed(2)} s (CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s, main thread busy ` +
        `${(elu * 100).toFixed(0)}%${cluster ? `, nodes' CPU ${((cluster.nodesCpuMs() - nodes0) / 1000).toFixed(2)} s` : ''}), ` +
        `${(size / 1e6 / (ms / 1000)).toFixed(1)} MB/s, load ${machineInfo().loadAverage[0]}\n`,
    );
    // The run's span on CLOCK_MONOTONIC in microseconds, the clock of V8's CPU profiles (`--cpu-prof`,
    // the nodes' with EAU2_BENCH_CPU_PROF): a profile's samples cut to it show one import alone.
    if (profiling)
      process.stdout.write(`run ${r + 1} window (monotonic us): ${mono0} ${process.hrtime.bigint() / 1000n}\n`);
    if (shared || cluster) continue;
    await store.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }
  await cluster?.stop();
  if (shared) {
    await shared.store.close();
    await rm(shared.dir, { recursive: true, force: true });
  }
  const best = (ts: number[]): number => (ts.length > 1 ? Math.min(...ts.slice(1)) : ts[0]!);
  const warm = best(times);
  process.stdout.write(
    `warm (best after the first): ${(warm / 1000).toFixed(2)} s, ${(size / 1e6 / (warm / 1000)).toFixed(1)} MB/s\n`,
  );
  if (!args.duckdb) return;
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const duckTimes: number[] = [];
  const duckCpus: number[] = [];
  for (let r = 0; r < runs; r++) {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await conn.run(`CREATE TABLE bench AS SELECT * FROM read_csv('${file.replaceAll("'", "''")}')`);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    duckTimes.push(ms);
    duckCpus.push((cpu.user + cpu.system) / 1e3);
    process.stdout.write(
      `duckdb run ${r + 1}: ${(ms / 1000).toFixed(2)} s (CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s), ` +
        `${(size / 1e6 / (ms / 1000)).toFixed(1)} MB/s\n`,
    );
    conn.closeSync();
    db.closeSync();
  }
  const duckWarm = best(duckTimes);
  process.stdout.write(
    `duckdb warm: ${(duckWarm / 1000).toFixed(2)} s; eau2 speed / DuckDB speed: ${(duckWarm / warm).toFixed(2)}x wall, ` +
      `${(best(duckCpus) / best(cpus)).toFixed(2)}x CPU (best CPU after the first: eau2 ` +
      `${(best(cpus) / 1000).toFixed(2)} s, DuckDB ${(best(duckCpus) / 1000).toFixed(2)} s) ` +
      `(load ${machineInfo().loadAverage.join(' ')})\n`,
  );
}

await main();
