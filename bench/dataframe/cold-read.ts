// `node --import tsx bench/dataframe/cold-read.ts --dir D [--rows N] [--write] [steps...]`: where the
// time of a cold query goes on one node, in one process (docs/dataframe.md, "Cold queries"). With
// --write, stores a flights-style frame of N rows (default 3,300,000: one node's share of the peers
// bench's 10M), a 400k-row copy of its shape (flights_w) and the airports into an Engine in D, and
// compacts it. Then it reopens the Engine (block cache empty, table readers opened as a node's are)
// and runs the steps in order, printing each one's wall, CPU and system CPU time and block-cache misses:
//   raw:COLS     every chunk of the named columns read with getSync (engine read + copy)
//   view:COLS    the same through getWith (the value lent, not copied)
//   decode:COLS  getWith + decodeChunk into a column
//   sql:Q        one of the peers bench's queries, embedded (fg, topk, join, median), or a top-k of the
//                latest rows by dep_time (latest) or by id (latest_id), every column, or a search
//                (find: the rows of a rare destination with a long delay)
//   node:Q       the same query as a cluster node runs its share (pushed-down task, node chunk cache)
//   nodew:Q      the query on flights_w (compiles the code without reading flights' chunks)
//   drop         empties the block cache (reopens the Engine) and the chunk cache
// COLS: comma-separated column names. EAU2_COLD_TIMES=1 adds each step's monotonic start and end (us),
// the clock of `node --cpu-prof` profiles, to cut a step out of one. Syscall counts: run it under
// `strace -c -f`. --cluster [--rows N] runs sql:Q, sqlw:Q (on flights_w) and pause[:ms] steps on a
// local 3-node cluster instead, adding the nodes' CPU per query and each node's longest event-loop
// stall during it (bench/lib/stall-probe.cjs; with EAU2_BENCH_CPU_PROF=<dir>, the nodes write CPU
// profiles there).

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Rng } from '../../app/apps/random.js';
import { Packr } from 'msgpackr';
import { ChunkCache, DataFrame, dataframeTasks } from '../../dataframe/index.js';
import type { KvStore, TaskRunner } from '../../kv/index.js';
import { decodeChunk } from '../../dataframe/chunk-codec.js';
import { chunkKey, metaKey } from '../../dataframe/layout.js';
import { decodeMeta, rowsInChunk, slotOf, type FrameMeta } from '../../dataframe/meta.js';
import { Engine } from '../../engine/index.js';

const { values: args, positionals } = parseArgs({
  options: {
    dir: { type: 'string' },
    rows: { type: 'string', default: '3300000' },
    write: { type: 'boolean', default: false },
    cluster: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
if (!args.dir && !args.cluster) throw new TypeError('--dir is required');
const dir = args.dir ?? '';
const rows = Number(args.rows);

const QUERIES: Record<string, string> = {
  fg: 'SELECT origin, count(*) AS n, avg(dep_delay) AS avg_delay FROM flights WHERE dep_delay > 0 GROUP BY origin ORDER BY origin',
  topk: 'SELECT id, origin, dep_delay FROM flights WHERE dep_delay IS NOT NULL ORDER BY dep_delay DESC, id LIMIT 10',
  join: 'SELECT a.state, count(*) AS n FROM flights f JOIN airports a ON f.dest = a.code GROUP BY a.state ORDER BY a.state',
  median: 'SELECT median(dep_delay) AS m FROM flights',
  // The latest rows of a frame written in time order: every chunk but the last is beaten on its zone.
  latest: 'SELECT * FROM flights ORDER BY dep_time DESC LIMIT 10',
  latest_id: 'SELECT * FROM flights ORDER BY id DESC LIMIT 10',
  // A search: the rows of a rare destination with a long delay, every column.
  find: "SELECT * FROM flights WHERE dest = 'NLX' AND dep_delay > 288",
};

function frame(n: number): { flights: DataFrame; airports: DataFrame } {
  const rng = new Rng(42);
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const codes = Array.from({ length: 300 }, (_, k) => `${letters[k % 26]! + letters[Math.floor(k / 26) % 26]!}X`);
  const id = new Int32Array(n);
  const origin = new Array<string>(n);
  const dest = new Array<string>(n);
  const distance = new Int32Array(n);
  const depDelay = new Array<number | null>(n);
  // Departures in time order over a year, minute precision, up to an hour late against row order.
  const depTime = new BigInt64Array(n);
  const t0 = Date.UTC(2024, 0, 1) / 1000;
  for (let i = 0; i < n; i++) {
    id[i] = i + 1;
    origin[i] = codes[rng.skewed(codes.length)]!;
    dest[i] = codes[rng.skewed(codes.length)]!;
    distance[i] = rng.int(80, 2800);
    depDelay[i] = rng.bool(0.02) ? null : Math.round(-10 + rng.next() ** 3 * 300);
    const t = t0 + Math.floor((i / n) * 366 * 86400) + rng.int(0, 3600);
    depTime[i] = BigInt(Math.floor(t / 60) * 60) * 1_000_000n;
  }
  const flights = DataFrame.fromColumns({
    id,
    origin,
    dest,
    distance,
    dep_delay: { type: 'D', values: depDelay },
    dep_time: { type: 'T', values: depTime },
  });
  const airports = DataFrame.fromColumns({ code: codes, state: codes.map((_, k) => `S${k % 50}`) });
  return { flights, airports };
}

if (args.cluster) {
  // The same frame on a local 3-node cluster (RF 2, as the peers bench's): each step is a query
  // (sql:NAME), timed by wall clock, the client's CPU and the nodes' CPU (from /proc).
  const { LocalCluster } = await import('./local-cluster.js');
  // Each node's longest event-loop stall during a step, from bench/lib/stall-probe.cjs.
  const stalls: { id: string; us: bigint; ms: number }[] = [];
  const probe = join(import.meta.dirname, '../lib/stall-probe.cjs');
  const cluster = await LocalCluster.start(3, 2, 16, {
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${probe}`.trim() },
    onStderr: (id, line) => {
      const m = /^EAU2_STALL (\d+) ([\d.]+)$/.exec(line);
      if (m) stalls.push({ id, us: BigInt(m[1]!), ms: Number(m[2]) });
      else process.stderr.write(`${id}: ${line}\n`);
    },
  });
  const longestStalls = (from: bigint, to: bigint): string =>
    cluster.procs
      .map(({ id }) =>
        Math.max(0, ...stalls.filter((s) => s.id === id && s.us >= from && s.us <= to).map((s) => s.ms)).toFixed(0),
      )
      .join('/');
  try {
    const { flights, airports } = frame(rows);
    await DataFrame.put(cluster.client, 'flights', flights);
    await DataFrame.put(cluster.client, 'airports', airports);
    // sqlw:NAME runs the query on a small frame of the same shape: the code it runs gets compiled
    // (JIT) without reading flights' chunks, so a later sql:NAME shows the reads alone.
    await DataFrame.put(cluster.client, 'flights_w', frame(Math.min(rows, 400_000)).flights);
    for (let cpu = cluster.nodesCpuMs(), deadline = Date.now() + 30_000; Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = cluster.nodesCpuMs();
      if (now - cpu < 100) break;
      cpu = now;
    }
    for (const step of positionals) {
      const [what, arg = ''] = step.split(':');
      if (what === 'pause') {
        // A quiet gap, so a node's CPU profile (EAU2_BENCH_CPU_PROF) shows each step as its own burst.
        await new Promise((r) => setTimeout(r, Number(arg || 1500)));
        continue;
      }
      if (what !== 'sql' && what !== 'sqlw') throw new TypeError(`--cluster runs sql:NAME steps only, not ${step}`);
      const sql = what === 'sqlw' ? QUERIES[arg]!.replace('FROM flights', 'FROM flights_w') : QUERIES[arg]!;
      const t0 = performance.now();
      const m0 = process.hrtime.bigint() / 1000n;
      const c0 = process.cpuUsage();
      const n0 = cluster.nodesCpuMs();
      const df = await DataFrame.sql(cluster.client, sql);
      const c = process.cpuUsage(c0);
      const wall = performance.now() - t0;
      const nodesCpu = cluster.nodesCpuMs() - n0;
      const m1 = process.hrtime.bigint() / 1000n;
      // The probe reports each 100 ms window once it ends.
      await new Promise((r) => setTimeout(r, 250));
      console.log(
        `${step.padEnd(12)} wall ${wall.toFixed(1).padStart(7)} ms  client cpu ${((c.user + c.system) / 1000).toFixed(1).padStart(6)} ms  nodes cpu ${nodesCpu.toFixed(0).padStart(5)} ms  longest stall ${longestStalls(m0, m1 + 120_000n)} ms  ${df.nrows} rows${process.env.EAU2_COLD_TIMES ? `  (monotonic us ${m0}-${m1})` : ''}`,
      );
    }
  } finally {
    await cluster.stop();
  }
  process.exit(0);
}

const path = join(dir, 'engine');
if (args.write) {
  await mkdir(dir, { recursive: true });
  const e = await Engine.open(path);
  const { flights, airports } = frame(rows);
  await DataFrame.put(e, 'flights', flights);
  await DataFrame.put(e, 'airports', airports);
  await DataFrame.put(e, 'flights_w', frame(Math.min(rows, 400_000)).flights);
  await e.compactRange();
  await e.close();
  process.stderr.write(`wrote ${rows} rows into ${path}\n`);
}

let engine = await Engine.open(path);
const metaOf = async (): Promise<FrameMeta> => decodeMeta((await engine.get(metaKey('flights')))!, 'flights');
const meta = await metaOf();

function keys(cols: string): { key: string; col: number; chunk: number }[] {
  const out: { key: string; col: number; chunk: number }[] = [];
  const idx = cols.split(',').map((c) => {
    const i = meta.fields.findIndex((f) => f.name === c);
    if (i < 0) throw new TypeError(`no column ${c}`);
    return i;
  });
  for (let chunk = 0; chunk < meta.nchunks; chunk++)
    for (const col of idx) out.push({ key: chunkKey(meta.name, meta.version, slotOf(meta, chunk), col), col, chunk });
  return out;
}

// node:NAME runs a query as a cluster node runs its share: the pushed-down task with a node's chunk
// cache (EAU2_DF_CACHE_MB's default), reading through engine.get as the node's router does, payload
// and result through a msgpack round trip as over the wire.
const chunkCache = new ChunkCache(128 * 2 ** 20);
const wire = new Packr({ useRecords: false });
function nodeStore(): KvStore & TaskRunner {
  const store: KvStore = {
    get: (k, o) => engine.get(k, o?.fillCache === undefined ? undefined : { fillCache: o.fillCache }),
    getWith: (k, use, o) => engine.getWith(k, use, o?.fillCache === undefined ? undefined : { fillCache: o.fillCache }),
    put: (k, v) => engine.put(k, v),
    del: (k) => engine.del(k),
    batch: (ops) => engine.batch(ops),
    scan: (r) => engine.scan(r),
  };
  return {
    ...store,
    runTask: async (name, payload) => {
      const ctx = { store, isLeaderFor: () => true, wholeStore: true, nodeId: 'n1', chunkCache };
      const r = await dataframeTasks[name]!(ctx as never, wire.unpack(wire.pack(payload)));
      return [wire.unpack(wire.pack(r))];
    },
  };
}

for (const step of positionals) {
  const [what, arg = ''] = step.split(':');
  const t0 = performance.now();
  const m0 = process.hrtime.bigint() / 1000n;
  const c0 = process.cpuUsage();
  const s0 = engine.stats();
  let note = '';
  if (what === 'raw') {
    let bytes = 0;
    for (const { key } of keys(arg)) bytes += engine.getSync(key)!.length;
    note = `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  } else if (what === 'view') {
    let bytes = 0;
    for (const { key } of keys(arg)) bytes += (await engine.getWith(key, (v) => v.length))!;
    note = `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  } else if (what === 'decode') {
    let n = 0;
    for (const { key, col, chunk } of keys(arg)) {
      const c = await engine.getWith(key, (v) => decodeChunk(v, key, meta.fields[col]!.type, rowsInChunk(meta, chunk)));
      n += c!.length;
    }
    note = `${n} values`;
  } else if (what === 'sql') {
    const df = await DataFrame.sql(engine, QUERIES[arg]!);
    note = `${df.nrows} rows`;
  } else if (what === 'node' || what === 'nodew') {
    const sql = what === 'nodew' ? QUERIES[arg]!.replace('FROM flights', 'FROM flights_w') : QUERIES[arg]!;
    const df = await DataFrame.sql(nodeStore(), sql);
    note = `${df.nrows} rows, chunk cache ${(chunkCache.bytes / 2 ** 20).toFixed(1)} MiB`;
  } else if (what === 'drop') {
    await engine.close();
    engine = await Engine.open(path);
    chunkCache.clear();
  } else throw new TypeError(`unknown step ${step}`);
  const c = process.cpuUsage(c0);
  const s1 = engine.stats() as unknown as { blockCache?: { misses: number; hits: number } };
  const bc0 = (s0 as unknown as { blockCache?: { misses: number; hits: number } }).blockCache;
  const misses = s1.blockCache && bc0 ? s1.blockCache.misses - bc0.misses : NaN;
  console.log(
    `${step.padEnd(28)} wall ${(performance.now() - t0).toFixed(1).padStart(7)} ms  cpu ${((c.user + c.system) / 1000).toFixed(1).padStart(7)} ms (sys ${(c.system / 1000).toFixed(1)})  block misses ${misses}  ${note}${process.env.EAU2_COLD_TIMES ? `  (monotonic us ${m0}-${process.hrtime.bigint() / 1000n})` : ''}`,
  );
}
await engine.close();
