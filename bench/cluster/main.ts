// npm run bench:cluster — YCSB load, A, B, C and F (1 KB records, zipfian keys, 64 requests in
// flight) against a local 3-node eau2 cluster with 2 replicas (ClusterClient) and a Redis Cluster of
// 3 masters + 3 replicas (ioredis), with replication lag measured on both. Every phase lasts a fixed
// time; each system gets the same warm-up; the systems run alternately for several rounds (fresh
// servers each time) and the table shows medians with their spread. Prints the table and writes
// bench/results/cluster-<time>.json (or --out FILE). Options (README.md): --duration S
// --load-duration S (default: --duration) --warmup S
// --rounds N --records N --in-flight N --seed N --workloads load,A,... --skip-redis --client-layout fixed|msgpack
// --memtable-bytes N --out FILE; --quick (or EAU2_BENCH_QUICK=1) for a smoke run.

import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { median } from '../lib/histogram.js';
import { describeMachine, machineInfo } from '../lib/machine.js';
import { procCpuSeconds } from '../lib/process-probes.js';
import { renderMarkdownTable, renderTextTable, type Column } from '../lib/table.js';
import { bucketQuantile, Eau2Cluster } from './eau2-target.js';
import { LagProbe, type LagTarget } from './lag-probe.js';
import { RedisCluster, redisAvailable } from './redis-target.js';
import { load, run, WORKLOADS, type RunResult, type Target } from './ycsb.js';
import { numberArg } from '../lib/args.js';

function strArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const QUICK = process.argv.includes('--quick') || process.env.EAU2_BENCH_QUICK === '1';
const DURATION_S = numberArg('duration', QUICK ? 2 : 20);
const LOAD_S = numberArg('load-duration', DURATION_S);
const WARMUP_S = numberArg('warmup', QUICK ? 1 : 5);
const ROUNDS = Math.max(1, Math.floor(numberArg('rounds', QUICK ? 1 : 3)));
const RECORDS = numberArg('records', QUICK ? 2_000 : 20_000);
const IN_FLIGHT = numberArg('in-flight', 64);
const SEED = numberArg('seed', 42);
const MEMTABLE_BYTES = numberArg('memtable-bytes', 0);
/** `msgpack`: the client sends GET/PUT/DEL as msgpack, not in the fixed layout (docs/format.md 8.8). */
const CLIENT_LAYOUT = strArg('client-layout') ?? 'fixed';
if (CLIENT_LAYOUT !== 'fixed' && CLIENT_LAYOUT !== 'msgpack')
  throw new TypeError('--client-layout is fixed or msgpack');
const PHASES = (strArg('workloads') ?? ['load', ...WORKLOADS.map((w) => w.name)].join(',')).split(',');
for (const p of PHASES) {
  if (p !== 'load' && !WORKLOADS.some((w) => w.name === p)) throw new TypeError(`unknown workload ${p}`);
}
if (PHASES[0] !== 'load' && PHASES.includes('load')) throw new TypeError('load must be the first phase');
const OUT = strArg('out');

/** One phase of one round on one system. */
interface PhaseResult extends RunResult {
  round: number;
  /** Server CPU (all server processes, from /proc) per operation and per write, microseconds. */
  cpuUsPerOp: number;
  cpuUsPerWrite: number | null;
  /** This process's CPU (the YCSB client and the lag probe) per operation, microseconds. */
  clientCpuUsPerOp: number;
  lagP50Ms: number | null;
  lagP99Ms: number | null;
  lagSamples: number;
  lagTimeouts: number;
  ackP99Ms?: number;
  /** Young-generation collections of all nodes per 1,000 writes (eau2 only). */
  minorGcPer1kWrites?: number;
}

/** One system under test, started fresh for each round. */
interface System {
  target: Target;
  lag: LagTarget;
  pids(): number[];
  ackBuckets?: () => Promise<Map<number, number>>;
  minorGcs?: () => Promise<number>;
  stop(): Promise<void>;
}

async function startEau2(): Promise<System> {
  const c = await Eau2Cluster.start(3, 2, 16, MEMTABLE_BYTES > 0 ? { memtableBytes: MEMTABLE_BYTES } : {}, {
    fixedLayout: CLIENT_LAYOUT === 'fixed',
  });
  return {
    target: c.target(),
    lag: c.lagTarget(),
    pids: () => c.pids(),
    ackBuckets: () => c.ackBuckets(),
    minorGcs: () => c.minorGcs(),
    stop: () => c.stop(),
  };
}

async function startRedis(): Promise<System> {
  const c = await RedisCluster.start();
  return { target: c.target(), lag: c.lagTarget(), pids: () => c.pids(), stop: () => c.stop() };
}

function cpuOf(s: System): number {
  return s.pids().reduce((n, pid) => n + procCpuSeconds(pid), 0);
}

/** A warm-up on keys of their own ('warm...'): JIT, connections and allocators, the same for both systems. */
async function warmUp(s: System): Promise<void> {
  if (WARMUP_S <= 0) return;
  const a = WORKLOADS.find((w) => w.name === 'A')!;
  await run(s.target, a, 1_000, WARMUP_S * 1000, IN_FLIGHT, SEED - 1, 'warm');
}

async function phase(s: System, name: string, round: number): Promise<PhaseResult> {
  const probe = new LagProbe(s.lag);
  const acks0 = s.ackBuckets ? await s.ackBuckets() : undefined;
  const gc0 = s.minorGcs ? await s.minorGcs() : undefined;
  const cpu0 = cpuOf(s);
  const client0 = process.cpuUsage();
  probe.start(`${s.target.name}-${round}-${name}`);
  const w = WORKLOADS.find((x) => x.name === name);
  const r = w
    ? await run(s.target, w, RECORDS, DURATION_S * 1000, IN_FLIGHT, SEED + name.charCodeAt(0))
    : await load(s.target, RECORDS, LOAD_S * 1000, IN_FLIGHT, SEED);
  const cpu = cpuOf(s) - cpu0;
  const client = process.cpuUsage(client0);
  await probe.stop();
  const lag = probe.hist.summary();
  const out: PhaseResult = {
    ...r,
    round,
    cpuUsPerOp: (cpu * 1e6) / r.ops,
    cpuUsPerWrite: r.writes > 0 ? (cpu * 1e6) / r.writes : null,
    clientCpuUsPerOp: (client.user + client.system) / r.ops,
    lagP50Ms: lag.count ? lag.p50Ms : null,
    lagP99Ms: lag.count ? lag.p99Ms : null,
    lagSamples: lag.count,
    lagTimeouts: probe.timeouts,
  };
  if (s.ackBuckets && acks0) {
    const p99 = bucketQuantile(acks0, await s.ackBuckets(), 0.99);
    if (p99 !== null) out.ackP99Ms = p99 * 1000;
  }
  if (s.minorGcs && gc0 !== undefined && r.writes > 0) {
    out.minorGcPer1kWrites = ((await s.minorGcs()) - gc0) / (r.writes / 1000);
  }
  console.error(
    `round ${round} ${s.target.name} ${name}: ${Math.round(r.opsPerSec)} ops/s, p99 ${r.latency.p99Ms.toFixed(2)} ms, ` +
      `errors ${r.errors}, server CPU ${out.cpuUsPerOp.toFixed(0)} us/op, client CPU ${out.clientCpuUsPerOp.toFixed(0)} us/op, lag p99 ${out.lagP99Ms?.toFixed(1) ?? '-'} ms, ` +
      `load average ${loadavg()[0]!.toFixed(1)}`,
  );
  return out;
}

async function runSystem(
  name: string,
  start: () => Promise<System>,
  round: number,
  into: Map<string, PhaseResult[]>,
): Promise<void> {
  // Each step's time goes to stderr: when a run is slow (a smoke run on a loaded machine), the
  // output says which step took the time.
  const step = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    const v = await f();
    console.error(`round ${round} ${name}: ${what} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return v;
  };
  const s = await step('started', start);
  try {
    await step('warmed up', () => warmUp(s));
    for (const p of PHASES) {
      const key = `${p}/${name}`;
      const list = into.get(key) ?? [];
      list.push(await phase(s, p, round));
      into.set(key, list);
    }
  } finally {
    await step('stopped', () => s.stop());
  }
}

/** "median (min-max)" of the present values; '-' if none. */
function spread(values: (number | null | undefined)[], digits = 0, thousands = false): string {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (v.length === 0) return '-';
  const f = (x: number) => (thousands ? Math.round(x).toLocaleString('en-US') : x.toFixed(digits));
  const m = f(median(v));
  return v.length === 1 ? m : `${m} (${f(Math.min(...v))}-${f(Math.max(...v))})`;
}

function medianOr(values: (number | null | undefined)[]): number | undefined {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length ? median(v) : undefined;
}

async function main(): Promise<void> {
  const avail = process.argv.includes('--skip-redis') ? { ok: false, why: 'skipped (--skip-redis)' } : redisAvailable();
  const redisNote = avail.ok ? '' : `Redis Cluster not measured: ${avail.why}`;
  const systems: [string, () => Promise<System>][] = [['eau2', startEau2]];
  if (avail.ok) systems.push(['redis', startRedis]);
  const loadStart = loadavg();
  const results = new Map<string, PhaseResult[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate which system goes first, so neither always runs on the fresher (or busier) machine.
    const order = round % 2 === 1 ? systems : [...systems].reverse();
    for (const [name, start] of order) await runSystem(name, start, round, results);
  }
  const loadEnd = loadavg();

  const cols: Column[] = [
    { header: 'workload' },
    { header: 'system' },
    { header: 'ops/s', align: 'right' },
    { header: 'p50 ms', align: 'right' },
    { header: 'p99 ms', align: 'right' },
    { header: 'lag p99 ms', align: 'right' },
    { header: 'ack p99 ms', align: 'right' },
    { header: 'CPU us/op', align: 'right' },
    { header: 'client CPU us/op', align: 'right' },
    { header: 'minor GCs/1k writes', align: 'right' },
    { header: 'vs redis', align: 'right' },
  ];
  const rows: string[][] = [];
  for (const wl of PHASES) {
    const base = results.get(`${wl}/redis`);
    for (const [name] of systems) {
      const rs = results.get(`${wl}/${name}`);
      if (!rs) continue;
      const ratio =
        base && name !== 'redis'
          ? `${(median(rs.map((r) => r.opsPerSec)) / median(base.map((r) => r.opsPerSec))).toFixed(2)}x`
          : '-';
      rows.push([
        wl,
        name,
        spread(
          rs.map((r) => r.opsPerSec),
          0,
          true,
        ),
        spread(
          rs.map((r) => r.latency.p50Ms),
          2,
        ),
        spread(
          rs.map((r) => r.latency.p99Ms),
          1,
        ),
        spread(
          rs.map((r) => r.lagP99Ms),
          1,
        ),
        spread(
          rs.map((r) => r.ackP99Ms),
          1,
        ),
        spread(rs.map((r) => r.cpuUsPerOp)),
        spread(rs.map((r) => r.clientCpuUsPerOp)),
        spread(
          rs.map((r) => r.minorGcPer1kWrites),
          1,
        ),
        ratio,
      ]);
    }
  }
  const m = machineInfo();
  const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' ');
  const title =
    `YCSB: ${RECORDS} records of 1 KB, ${DURATION_S} s per phase after a ${WARMUP_S} s warm-up, ${ROUNDS} round(s), ` +
    `${IN_FLIGHT} in flight, zipfian; eau2 3 nodes x 2 replicas x 16 partitions; Redis Cluster 3+3, appendfsync everysec; ` +
    'median (min-max) over rounds';
  console.log(renderTextTable(cols, rows, title));
  if (redisNote) console.log(redisNote);
  console.log(describeMachine(m));
  console.log(`load average (1, 5, 15 min) at the start: ${la(loadStart)}; at the end: ${la(loadEnd)}`);
  const file = OUT
    ? resolve(OUT)
    : join(
        resolve(import.meta.dirname, '../results'),
        `cluster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
      );
  mkdirSync(dirname(file), { recursive: true });
  const summary = Object.fromEntries(
    [...results].map(([k, rs]) => [
      k,
      {
        opsPerSec: medianOr(rs.map((r) => r.opsPerSec)),
        cpuUsPerOp: medianOr(rs.map((r) => r.cpuUsPerOp)),
        cpuUsPerWrite: medianOr(rs.map((r) => r.cpuUsPerWrite)),
        clientCpuUsPerOp: medianOr(rs.map((r) => r.clientCpuUsPerOp)),
        lagP99Ms: medianOr(rs.map((r) => r.lagP99Ms)),
      },
    ]),
  );
  writeFileSync(
    file,
    JSON.stringify(
      {
        records: RECORDS,
        durationS: DURATION_S,
        loadDurationS: LOAD_S,
        warmupS: WARMUP_S,
        rounds: ROUNDS,
        inFlight: IN_FLIGHT,
        seed: SEED,
        phases: PHASES,
        machine: m,
        loadAverage: { start: loadStart, end: loadEnd },
        redisNote,
        summary,
        results: Object.fromEntries(results),
      },
      null,
      2,
    ),
  );
  console.log(`\nMarkdown:\n\n${renderMarkdownTable(cols, rows)}\n\nresults: ${file}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
