// Where a warm query's time goes on a local 3-node cluster (docs/dataframe.md "Side by side"): per
// query of the peers bench (peers.ts), run R times after two warm-up runs, the median wall time, the
// client's requests per query (round trips) and, for the last run, each request's type, node, start
// and end relative to the query's start; the nodes' CPU and the client's CPU per query; the nodes'
// own task timings (EAU2_DF_TRACE). `--prof DIR` writes a CPU profile of the client per query there;
// EAU2_BENCH_CPU_PROF=<dir> has the nodes write theirs at exit, whose query phase (printed at the end)
// `bench/lib/cpu-profile.ts FILE --last SECONDS` reads.
// `--only NAME` runs one query (a QUERIES key, e.g. "top-k"; "trivial (count over 10 rows)" is the
// floor: the fixed cost of a query that has no work). The nodes' idle CPU (heartbeats,
// metrics) over one second before the queries is printed too, to read the per-query figures against.
// node --import tsx bench/dataframe/query-costs.ts [--rows N] [--runs R] [--prof DIR] [--only NAME]

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFrame, importCsv } from '../../dataframe/index.js';
import { MsgType } from '../../cluster/protocol/messages.js';
import { LocalCluster } from './local-cluster.js';
import { QUERIES, generate } from './peers.js';
import { numberArg } from '../lib/args.js';

const rows = numberArg('rows', 500_000);
const runs = numberArg('runs', 20);
const typeName = new Map(Object.entries(MsgType).map(([k, v]) => [v as number, k]));

const dir = await mkdtemp(join(tmpdir(), 'eau2-qcost-'));
const trace: string[] = [];
const cluster = await LocalCluster.start(3, 2, 16, {
  env: { EAU2_DF_TRACE: '1' },
  onStderr: (id, l) => {
    if (l.startsWith('df.')) trace.push(`${id} ${l}`);
    else process.stderr.write(`${id}: ${l}\n`);
  },
});
try {
  const frame = await generate(dir, rows, 42, false);
  await DataFrame.put(cluster.client, 'flights', frame);
  await importCsv(cluster.client, 'airports', join(dir, 'airports.csv'));
  // The floor: a query whose work is nothing (one chunk of 10 rows), so its cost is the fixed part.
  await DataFrame.put(
    cluster.client,
    'tiny',
    DataFrame.fromColumns({ x: { type: 'I', values: [...Array(10).keys()] } }),
  );
  for (let cpu = cluster.nodesCpuMs(), end = Date.now() + 30_000; Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = cluster.nodesCpuMs();
    if (now - cpu < 100) break;
    cpu = now;
  }
  // Every request the client sends, with its start and end relative to the current query's start.
  const pool = (cluster.client as unknown as { pool: { request: (...a: unknown[]) => Promise<unknown> } }).pool;
  const orig = pool.request.bind(pool);
  let q0 = 0;
  let log: { type: string; node: string; t0: number; t1: number }[] = [];
  pool.request = async (...a: unknown[]) => {
    const t0 = performance.now() - q0;
    try {
      return await orig(...a);
    } finally {
      log.push({
        type: typeName.get(a[1] as number) ?? String(a[1]),
        node: String(a[0]),
        t0,
        t1: performance.now() - q0,
      });
    }
  };
  const idle0 = cluster.nodesCpuMs();
  const idleU = process.cpuUsage();
  const idleT = performance.now();
  await new Promise((r) => setTimeout(r, 2000));
  const idleRate = (cluster.nodesCpuMs() - idle0) / (performance.now() - idleT);
  const iu = process.cpuUsage(idleU);
  const clientIdleRate = (iu.user + iu.system) / 1000 / (performance.now() - idleT);
  console.log(
    `nodes' idle CPU: ${(idleRate * 1000).toFixed(0)} ms/s, client's ${(clientIdleRate * 1000).toFixed(0)} ms/s`,
  );
  const onlyIdx = process.argv.indexOf('--only');
  const only = onlyIdx < 0 ? undefined : process.argv[onlyIdx + 1];
  const phase0 = performance.now();
  const profIdx = process.argv.indexOf('--prof');
  const profDir = profIdx < 0 ? undefined : process.argv[profIdx + 1];
  if (profDir !== undefined) await mkdir(profDir, { recursive: true });
  const prof = profDir === undefined ? undefined : new Session();
  prof?.connect();
  await prof?.post('Profiler.enable');
  const all: Record<string, string> = { ...QUERIES, 'trivial (count over 10 rows)': 'SELECT count(*) AS n FROM tiny' };
  for (const [q, sql] of Object.entries(all)) {
    if (only !== undefined && q !== only) continue;
    for (let i = 0; i < 2; i++) await DataFrame.sql(cluster.client, sql);
    await prof?.post('Profiler.start');
    const walls: number[] = [];
    let reqs = 0;
    let sample = '';
    trace.length = 0;
    const cpu0 = cluster.nodesCpuMs();
    const u0 = process.cpuUsage();
    const p0 = performance.now();
    for (let i = 0; i < runs; i++) {
      log = [];
      q0 = performance.now();
      await DataFrame.sql(cluster.client, sql);
      const w = performance.now() - q0;
      walls.push(w);
      reqs += log.length;
      if (i === runs - 1)
        sample = log
          .map((r) => `${r.type}@${r.node} ${r.t0.toFixed(1)}-${r.t1.toFixed(1)}`)
          .join(', ')
          .concat(` | end ${w.toFixed(1)}`);
    }
    if (prof) {
      const { profile } = await prof.post('Profiler.stop');
      await writeFile(join(profDir!, `client-${q.replace(/\W+/g, '_')}.cpuprofile`), JSON.stringify(profile));
    }
    const nodeCpu = (cluster.nodesCpuMs() - cpu0) / runs;
    // Less the nodes' idle CPU (heartbeats, gossip, metrics) over the same time.
    const nodeNet = nodeCpu - (idleRate * (performance.now() - p0)) / runs;
    const u = process.cpuUsage(u0);
    const clientCpu = (u.user + u.system) / 1000 / runs;
    const clientNet = clientCpu - (clientIdleRate * (performance.now() - p0)) / runs;
    walls.sort((a, b) => a - b);
    const taskMs = trace.map((l) => Number(/ ms=([\d.]+)/.exec(l)?.[1] ?? 'NaN')).sort((a, b) => a - b);
    console.log(
      `${q}: wall median ${walls[runs >> 1]!.toFixed(1)} ms (min ${walls[0]!.toFixed(1)}), requests/query ${(reqs / runs).toFixed(1)}, ` +
        `node CPU/query ${nodeCpu.toFixed(1)} ms (${nodeNet.toFixed(1)} less idle), client CPU/query ${clientCpu.toFixed(1)} ms (${clientNet.toFixed(1)} less idle), ` +
        `node task ms median ${taskMs[taskMs.length >> 1]?.toFixed(1)}`,
    );
    console.log(`  last: ${sample}`);
    console.log(`  trace: ${trace.slice(-3).join(' || ')}`);
  }
  console.log(`query phase: ${((performance.now() - phase0) / 1000).toFixed(1)} s`);
} finally {
  await cluster.stop();
  await rm(dir, { recursive: true, force: true });
}
