// npm run bench:cluster — YCSB A, B, C and F (1 KB records, zipfian keys, 64 requests in flight)
// against a local 3-node eau2 cluster with 2 replicas (ClusterClient) and a Redis Cluster of 3
// masters + 3 replicas (ioredis), in the same run, with replication lag measured on both. Prints a
// table and writes bench/results/cluster-<time>.json. Options: --records N --ops N --in-flight N
// --seed N --skip-redis --memtable-bytes N (the nodes' memtableBytes; default: the config's default).

import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { describeMachine, machineInfo } from '../lib/machine.js';
import { renderMarkdownTable, renderTextTable, type Column } from '../lib/table.js';
import { bucketQuantile, Eau2Cluster } from './eau2-target.js';
import { LagProbe, type LagTarget } from './lag-probe.js';
import { RedisCluster, redisAvailable } from './redis-target.js';
import { load, run, WORKLOADS, type RunResult, type Target } from './ycsb.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const RECORDS = arg('records', 20_000);
const OPS = arg('ops', 40_000);
const IN_FLIGHT = arg('in-flight', 64);
const SEED = arg('seed', 42);
const MEMTABLE_BYTES = arg('memtable-bytes', 0);

interface SystemResult {
  system: string;
  runs: (RunResult & { lagP50Ms: number | null; lagP99Ms: number | null; lagSamples: number; ackP99Ms?: number })[];
}

async function bench(
  t: Target,
  lag: LagTarget,
  ackBuckets?: () => Promise<Map<number, number>>,
): Promise<SystemResult> {
  const out: SystemResult = { system: t.name, runs: [] };
  const l = await load(t, RECORDS, IN_FLIGHT, SEED);
  console.error(`${t.name}: load ${RECORDS} records: ${Math.round(l.opsPerSec)} ops/s`);
  out.runs.push({ ...l, lagP50Ms: null, lagP99Ms: null, lagSamples: 0 });
  for (const w of WORKLOADS) {
    const probe = new LagProbe(lag);
    const acks0 = ackBuckets ? await ackBuckets() : undefined;
    probe.start(`${t.name}-${w.name}`);
    const r = await run(t, w, RECORDS, OPS, IN_FLIGHT, SEED + w.name.charCodeAt(0));
    await probe.stop();
    const s = probe.hist.summary();
    const row = { ...r, lagP50Ms: s.count ? s.p50Ms : null, lagP99Ms: s.count ? s.p99Ms : null, lagSamples: s.count };
    if (ackBuckets && acks0) {
      const p99 = bucketQuantile(acks0, await ackBuckets(), 0.99);
      if (p99 !== null) Object.assign(row, { ackP99Ms: p99 * 1000 });
    }
    out.runs.push(row);
    console.error(
      `${t.name}: workload ${w.name}: ${Math.round(r.opsPerSec)} ops/s, p50 ${r.latency.p50Ms.toFixed(2)} ms, p99 ${r.latency.p99Ms.toFixed(2)} ms, errors ${r.errors}, server CPU ${r.cpuUsPerOp.toFixed(0)} us/op`,
    );
  }
  return out;
}

async function main(): Promise<void> {
  const results: SystemResult[] = [];
  let redisNote = '';
  const eau2 = await Eau2Cluster.start(3, 2, 16, MEMTABLE_BYTES > 0 ? { memtableBytes: MEMTABLE_BYTES } : {});
  try {
    results.push(await bench(eau2.target(), eau2.lagTarget(), () => eau2.ackBuckets()));
  } finally {
    await eau2.stop();
  }
  const avail = process.argv.includes('--skip-redis') ? { ok: false, why: 'skipped (--skip-redis)' } : redisAvailable();
  if (avail.ok) {
    const redis = await RedisCluster.start();
    try {
      results.push(await bench(redis.target(), redis.lagTarget()));
    } finally {
      await redis.stop();
    }
  } else {
    redisNote = `Redis Cluster not measured: ${avail.why}`;
  }

  const cols: Column[] = [
    { header: 'workload' },
    { header: 'system' },
    { header: 'ops/s', align: 'right' },
    { header: 'p50 ms', align: 'right' },
    { header: 'p99 ms', align: 'right' },
    { header: 'lag p50 ms', align: 'right' },
    { header: 'lag p99 ms', align: 'right' },
    { header: 'eau2 ack p99 ms', align: 'right' },
    { header: 'server CPU us/op', align: 'right' },
    { header: 'vs redis', align: 'right' },
  ];
  const redis = results.find((r) => r.system === 'redis');
  const rows: string[][] = [];
  for (const wl of ['load', ...WORKLOADS.map((w) => w.name)]) {
    for (const s of results) {
      const r = s.runs.find((x) => x.workload === wl);
      if (!r) continue;
      const base = redis?.runs.find((x) => x.workload === wl);
      rows.push([
        wl,
        s.system,
        Math.round(r.opsPerSec).toLocaleString('en-US'),
        r.latency.p50Ms.toFixed(2),
        r.latency.p99Ms.toFixed(2),
        r.lagP50Ms === null ? '-' : r.lagP50Ms.toFixed(2),
        r.lagP99Ms === null ? '-' : r.lagP99Ms.toFixed(2),
        r.ackP99Ms === undefined ? '-' : r.ackP99Ms.toFixed(2),
        r.cpuUsPerOp.toFixed(0),
        base && s.system === 'eau2' ? `${(r.opsPerSec / base.opsPerSec).toFixed(2)}x` : '-',
      ]);
    }
  }
  const m = machineInfo();
  const title = `YCSB: ${RECORDS} records of 1 KB, ${OPS} ops per workload, ${IN_FLIGHT} in flight, zipfian; eau2 3 nodes x 2 replicas x 16 partitions; Redis Cluster 3+3, appendfsync everysec`;
  console.log(renderTextTable(cols, rows, title));
  if (redisNote) console.log(redisNote);
  console.log(describeMachine(m));
  console.log(
    `load average at the end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} (other processes on this machine slow both systems alike)`,
  );
  const dir = resolve(import.meta.dirname, '../results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `cluster-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      { records: RECORDS, ops: OPS, inFlight: IN_FLIGHT, seed: SEED, machine: m, redisNote, results },
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
