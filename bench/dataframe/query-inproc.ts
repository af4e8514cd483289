// A warm query's CPU without a cluster's processes and sockets: the peers table (peers.ts) stored
// on a FakeCluster (test/dataframe/fake-cluster.ts: 3 simulated nodes in this process, each with
// its chunk cache, payloads and results through msgpack as on the wire), each of the peers bench's
// queries run R times after ten warm-up runs. The three nodes' tasks run one after another, so the time in
// them (and in encoding their results) is theirs alone and the rest of a query is the client's.
// Prints per query the fastest, 10th-percentile and median wall time of a query (one thread does
// all of it: on a shared machine the fast runs are the ones least disturbed), the CPU per query,
// the nodes' and the client's shares of the wall time, and a digest of the answer (equal digests:
// equal answers). `--prof DIR` writes a CPU profile per query there.
//
//   node --import tsx bench/dataframe/query-inproc.ts [--rows N] [--runs R] [--only NAME] [--prof DIR]

import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { ChunkCache, DataFrame, dataframeTasks, importCsv } from '../../dataframe/index.js';
import { FakeCluster } from '../../test/dataframe/fake-cluster.js';
import { numberArg } from '../lib/args.js';
import { QUERIES, generate } from './peers.js';

const rows = numberArg('rows', 500_000);
const runs = numberArg('runs', 100);
const argOf = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
};
const only = argOf('only');
const profDir = argOf('prof');

const wire = new Packr({ useRecords: false });
const caches = [0, 1, 2].map(() => new ChunkCache(256 * 2 ** 20));
let nodeMs = 0;

/** The nodes' tasks one after another, each timed with its result's encoding. */
class SequentialCluster extends FakeCluster {
  override async runTask(name: string, payload: unknown): Promise<unknown[]> {
    const task = dataframeTasks[name];
    if (!task) throw new TypeError(`no task ${name}`);
    const self = this as unknown as { nodeView(id: number): FakeCluster };
    const out: unknown[] = [];
    for (let id = 0; id < this.nodeCount; id++) {
      const p = wire.unpack(wire.pack(payload));
      const t = performance.now();
      const r = await task(
        {
          store: self.nodeView(id),
          nodeId: `n${id}`,
          isLeaderFor: (k) => this.leaderOf(k) === id,
          chunkCache: caches[id],
        },
        p,
      );
      const bytes = wire.pack(r);
      nodeMs += performance.now() - t;
      out.push(wire.unpack(bytes));
    }
    return out;
  }
}

const dir = await mkdtemp(join(tmpdir(), 'eau2-qinproc-'));
try {
  const store = new SequentialCluster(3, 16, 2, caches);
  await DataFrame.put(store, 'flights', await generate(dir, rows, 42, false));
  await importCsv(store, 'airports', join(dir, 'airports.csv'));
  const prof = profDir === undefined ? undefined : new Session();
  if (prof) {
    await mkdir(profDir!, { recursive: true });
    prof.connect();
    await prof.post('Profiler.enable');
    await prof.post('Profiler.setSamplingInterval', { interval: 100 });
  }
  const digest = (df: DataFrame): string =>
    createHash('sha1')
      .update(JSON.stringify([...df.rows()], (_, v) => (typeof v === 'bigint' ? String(v) : v)))
      .digest('hex')
      .slice(0, 10);
  for (const [name, sql] of Object.entries(QUERIES)) {
    if (only !== undefined && name !== only) continue;
    let answer = '';
    for (let i = 0; i < 10; i++) answer = digest(await DataFrame.sql(store, sql));
    await prof?.post('Profiler.start');
    nodeMs = 0;
    const walls: number[] = [];
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) {
      const w = performance.now();
      await DataFrame.sql(store, sql);
      walls.push(performance.now() - w);
    }
    const wall = (performance.now() - t0) / runs;
    const u = process.cpuUsage(u0);
    if (prof) {
      const { profile } = await prof.post('Profiler.stop');
      await writeFile(join(profDir!, `${name.replace(/\W+/g, '_')}.cpuprofile`), JSON.stringify(profile));
    }
    walls.sort((a, b) => a - b);
    const f = (x: number): string => x.toFixed(2);
    console.log(
      `${name}: wall min ${f(walls[0]!)} p10 ${f(walls[Math.floor(runs / 10)]!)} median ${f(walls[runs >> 1]!)} ms; ` +
        `CPU ${f((u.user + u.system) / 1000 / runs)} ms a query; of the wall time: nodes ${f(nodeMs / runs)}, ` +
        `client ${f(wall - nodeMs / runs)} ms; answer ${answer}`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
