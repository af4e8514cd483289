// redis-benchmark against eau2's Redis protocol port and against redis-server, side by side
// (bench/resp/README.md): the same client, the same commands (SET, GET, INCR, MSET), without
// pipelining and with 16 commands per pipeline. eau2 runs as real node processes (`eau2 node`,
// one by default, --nodes 3 for a replicated cluster), Redis as one redis-server with appendonly
// yes / appendfsync everysec (its nearest durability to eau2's WAL without fsync per write).
//
//   npm run bench:resp                 # 1 eau2 node vs redis-server, 20,000 requests per test
//   npm run bench:resp -- --nodes 3 --requests 50000 --clients 50 [--skip-redis]
//   npm run bench:resp -- --tests set --pipelines 1 --skip-redis --cpu-prof /tmp/prof   # profiles
//   npm run bench:resp -- --layer [--requests 50000]   # the RESP layer alone, over a fake node (layer.ts)
//   npm run bench:resp -- --tests set,http-put --pipelines 1 --skip-redis   # eau2's HTTP PUT beside RESP SET

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePorts } from '../lib/free-ports.js';
import { machineInfo } from '../lib/machine.js';
import { renderMarkdownTable, renderTextTable, type Column } from '../lib/table.js';
import { redisAvailable } from '../cluster/redis-target.js';
import { layerBench } from './layer.js';
import { nodeProcessArgs } from '../lib/node-process.js';
import { stopProcesses } from '../lib/stop-processes.js';

const REPO = resolve(import.meta.dirname, '../..');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const NODES = arg('nodes', 1);
const REQUESTS = arg('requests', 20_000);
const CLIENTS = arg('clients', 50);
const SKIP_REDIS = process.argv.includes('--skip-redis');
function listArg(name: string, fallback: string): string[] {
  const i = process.argv.indexOf(`--${name}`);
  return (i > 0 ? process.argv[i + 1]! : fallback).split(',');
}
const TESTS = listArg('tests', 'set,get,incr,mset');
const PIPELINES = listArg('pipelines', '1,16').map(Number);
/** A directory: each eau2 node runs with `node --cpu-prof`; its threads write their profiles in DIR/<node id>/ on exit. */
const CPU_PROF = process.argv.includes('--cpu-prof')
  ? resolve(process.argv[process.argv.indexOf('--cpu-prof') + 1]!)
  : undefined;

async function waitFor(check: () => Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not start within ${ms} ms`);
}

const ping = (port: number) => async () =>
  spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8', timeout: 5000 }).stdout.trim() === 'PONG';

interface Server {
  port: number;
  /** eau2's HTTP port (the http-put test); none for Redis. */
  httpPort?: number;
  /** The server's processes (their CPU time is read from /proc around each test). */
  pids: number[];
  stop(): Promise<void>;
}

/**
 * CPU seconds (user + system, every thread) the processes used so far, from /proc/PID/stat; NaN
 * where /proc does not exist. Divided by the requests of a test it gives CPU per request, which a
 * loaded machine changes far less than it changes requests/s.
 */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime: fields 14 and 15 of the line
    } catch {
      return Number.NaN;
    }
  }
  return ticks / 100; // USER_HZ, 100 on Linux
}

async function startEau2(dir: string): Promise<Server> {
  const ports = await freePorts(3 * NODES);
  const config = {
    partitions: 16,
    replicationFactor: Math.min(2, NODES),
    nodes: Array.from({ length: NODES }, (_, i) => ({
      id: `n${i + 1}`,
      host: '127.0.0.1',
      port: ports[3 * i],
      peerPort: ports[3 * i + 1],
      respPort: ports[3 * i + 2],
      dataDir: join(dir, `n${i + 1}`),
    })),
  };
  const file = join(dir, 'cluster.json');
  writeFileSync(file, JSON.stringify(config));
  const procs: ChildProcess[] = config.nodes.map((n) =>
    spawn(
      process.execPath,
      nodeProcessArgs(file, n.id, CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', join(CPU_PROF, n.id)] : []),
      {
        cwd: REPO,
        stdio: 'ignore',
        env: { ...process.env, EAU2_WORKER_LOADER: join(REPO, 'test/support/worker-loader.mjs') },
      },
    ),
  );
  const port = config.nodes[0]!.respPort!;
  await waitFor(ping(port), 'eau2');
  for (const n of config.nodes) await waitFor(ping(n.respPort!), `eau2 ${n.id}`);
  return {
    port,
    httpPort: config.nodes[0]!.port,
    pids: procs.map((p) => p.pid!),
    stop: async () => {
      await stopProcesses(procs.map((proc, i) => ({ proc, name: `eau2 node n${i + 1}` })));
    },
  };
}

async function startRedis(dir: string): Promise<Server> {
  const [port] = await freePorts(1);
  const d = join(dir, 'redis');
  mkdirSync(d);
  const p = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      d,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
    ],
    { stdio: 'ignore' },
  );
  await waitFor(ping(port!), 'redis-server');
  return {
    port: port!,
    pids: [p.pid!],
    stop: () => stopProcesses([{ proc: p, name: `redis-server on ${port}` }]),
  };
}

interface Result {
  system: string;
  test: string;
  pipeline: number;
  rps: number;
  p50: number;
  p99: number;
  /** CPU time the server's processes used per request, microseconds. */
  cpuUs: number;
}

/**
 * `PUT /kv/key:N` with a 3-byte value (redis-benchmark's SET), N random below 100,000, from
 * CLIENTS keep-alive connections each sending its next request when the last is answered (as
 * redis-benchmark -P 1 does); requests/s and latency percentiles as redis-benchmark reports them.
 */
async function httpPut(httpPort: number, n: number): Promise<{ rps: number; p50: number; p99: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  const body = Buffer.from('xxx');
  const lat: number[] = [];
  let issued = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const t0 = performance.now();
      const req = request(
        {
          host: '127.0.0.1',
          port: httpPort,
          method: 'PUT',
          path: `/kv/key:${Math.floor(Math.random() * 100_000)}`,
          agent,
          headers: { 'content-length': body.length },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode !== 204 && res.statusCode !== 200) reject(new Error(`PUT answered ${res.statusCode}`));
            lat.push(performance.now() - t0);
            resolve();
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (issued < n) {
        issued++;
        await one();
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  return { rps: n / secs, p50: lat[Math.floor(lat.length / 2)]!, p99: lat[Math.floor(lat.length * 0.99)]! };
}

async function benchmark(system: string, server: Server): Promise<Result[]> {
  const out: Result[] = [];
  const port = String(server.port);
  // Warm-up (not measured): eau2's first requests run its code before the JIT compiled it.
  spawnSync('redis-benchmark', ['-h', '127.0.0.1', '-p', port, '-t', 'set,get', '-n', '5000', '-q'], {
    timeout: 60_000,
  });
  for (const P of PIPELINES)
    for (const test of TESTS) {
      const n = REQUESTS * (P === 1 ? 1 : 4);
      const cpu0 = cpuSeconds(server.pids);
      if (test === 'http-put') {
        // HTTP has no pipelining: -P 1 only, and eau2 only.
        if (P !== 1 || server.httpPort === undefined) continue;
        const h = await httpPut(server.httpPort, n);
        const cpu = cpuSeconds(server.pids) - cpu0;
        out.push({ system, test: 'HTTP PUT', pipeline: 1, ...h, cpuUs: (cpu * 1e6) / n });
        continue;
      }
      const r = spawnSync(
        'redis-benchmark',
        ['-h', '127.0.0.1', '-p', port, '-t', test, '-n', String(n), '-c', String(CLIENTS), '-P', String(P)].concat([
          '-r',
          '100000',
          '--csv',
        ]),
        { encoding: 'utf8', timeout: 120_000 },
      );
      const cpu = cpuSeconds(server.pids) - cpu0;
      if (r.status !== 0)
        throw new Error(`redis-benchmark failed (${r.status ?? r.signal}): ${r.stderr}${r.error ?? ''}`);
      for (const line of r.stdout.trim().split('\n').slice(1)) {
        const f = line.split(',').map((x) => x.replace(/"/g, ''));
        out.push({
          system,
          test: f[0]!,
          pipeline: P,
          rps: Number(f[1]),
          p50: Number(f[4]),
          p99: Number(f[6]),
          cpuUs: (cpu * 1e6) / n,
        });
      }
    }
  return out;
}

async function main(): Promise<void> {
  if (process.argv.includes('--layer')) return layerBench(REQUESTS);
  for (const tool of ['redis-benchmark', 'redis-cli'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      throw new Error(`${tool} is not installed (Debian: redis-tools)`);
  const dir = mkdtempSync(join(tmpdir(), 'eau2-bench-resp-'));
  const results: Result[] = [];
  const started = machineInfo();
  try {
    const eau2 = await startEau2(dir);
    try {
      results.push(...(await benchmark(`eau2 (${NODES} node${NODES > 1 ? 's' : ''})`, eau2)));
    } finally {
      await eau2.stop();
    }
    if (!SKIP_REDIS) {
      const ok = redisAvailable();
      if (!ok.ok) console.log(`redis-server: ${ok.why}; eau2 alone`);
      else {
        const redis = await startRedis(dir);
        try {
          results.push(...(await benchmark('redis', redis)));
        } finally {
          await redis.stop();
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const columns: Column[] = [
    { header: 'test' },
    { header: '-P', align: 'right' },
    { header: 'system' },
    { header: 'requests/s', align: 'right' },
    { header: 'p50 ms', align: 'right' },
    { header: 'p99 ms', align: 'right' },
    { header: 'CPU µs/req', align: 'right' },
    { header: 'vs redis', align: 'right' },
  ];
  const rows = results
    .sort((a, b) => a.test.localeCompare(b.test) || a.pipeline - b.pipeline || a.system.localeCompare(b.system))
    .map((r) => {
      const redis = results.find((x) => x.system === 'redis' && x.test === r.test && x.pipeline === r.pipeline);
      const vs = r.system !== 'redis' && redis ? `${(r.rps / redis.rps).toFixed(2)}x` : '-';
      return [
        r.test,
        String(r.pipeline),
        r.system,
        Math.round(r.rps).toLocaleString('en-US'),
        r.p50.toFixed(2),
        r.p99.toFixed(2),
        Number.isFinite(r.cpuUs) ? r.cpuUs.toFixed(0) : '-',
        vs,
      ];
    });
  const end = machineInfo();
  console.log(renderTextTable(columns, rows, `redis-benchmark -n ${REQUESTS} -c ${CLIENTS} -r 100000`));
  console.log(
    `\n${started.date}, ${started.nproc} x ${started.cpuModel}, Node ${started.node}, load ${started.loadAverage[0]} -> ${end.loadAverage[0]}\n`,
  );
  console.log(renderMarkdownTable(columns, rows));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
