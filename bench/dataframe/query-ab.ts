// Two builds side by side in one process, the same query alternating between them run by run, so
// both see the same load on a shared machine: each build's dataframe code, FakeCluster (3 simulated
// nodes with chunk caches, msgpack round trips) and peers table (500k rows), then per query 10
// warm-up runs of each and RUNS alternating timed runs; per build the wall time per query (fastest,
// 10th and 25th percentile, median: one thread does the nodes' and the client's work) and the mean
// CPU per query. A build is a tree compiled by tsc with node_modules beside it:
//
//   npx tsc -p tsconfig.json --outDir DIR --noEmit false --declaration false --sourceMap false
//   ln -s "$PWD/node_modules" DIR/node_modules
//   node --import tsx bench/dataframe/query-ab.ts DIR_BEFORE DIR_AFTER [RUNS=200] [QUERY]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const [before, after] = [process.argv[2], process.argv[3]];
if (!before || !after) throw new TypeError('usage: query-ab.ts DIR_BEFORE DIR_AFTER [RUNS] [QUERY]');
const runs = Number(process.argv[4] ?? 200);
const only = process.argv[5];
const dirs: string[] = [];

interface Build {
  sql(q: string): Promise<unknown>;
  QUERIES: Record<string, string>;
}

async function setup(root: string): Promise<Build> {
  const at = (p: string): string => join(resolve(root), p);
  const df = await import(at('dataframe/index.js'));
  const { FakeCluster } = await import(at('test/dataframe/fake-cluster.js'));
  const { QUERIES, generate } = await import(at('bench/dataframe/peers.js'));
  const caches = [0, 1, 2].map(() => new df.ChunkCache(256 * 2 ** 20));
  const store = new FakeCluster(3, 16, 2, caches);
  const dir = await mkdtemp(join(tmpdir(), 'eau2-qab-'));
  dirs.push(dir);
  await df.DataFrame.put(store, 'flights', await generate(dir, 500000, 42, false));
  await df.importCsv(store, 'airports', join(dir, 'airports.csv'));
  return { sql: (q: string) => df.DataFrame.sql(store, q), QUERIES };
}

try {
  const a = await setup(before);
  const b = await setup(after);
  const stats = (t: number[]): string => {
    const s = [...t].sort((x, y) => x - y);
    const f = (x: number): string => x.toFixed(2);
    return `min ${f(s[0]!)} p10 ${f(s[Math.floor(s.length / 10)]!)} p25 ${f(s[Math.floor(s.length / 4)]!)} median ${f(s[s.length >> 1]!)}`;
  };
  const mean = (c: number[]): number => c.reduce((x, y) => x + y, 0) / c.length;
  for (const [name, sql] of Object.entries(a.QUERIES)) {
    if (only && name !== only) continue;
    for (let i = 0; i < 10; i++) {
      await a.sql(sql);
      await b.sql(sql);
    }
    const wall: number[][] = [[], []];
    const cpu: number[][] = [[], []];
    for (let i = 0; i < runs; i++) {
      for (const k of i % 2 ? [0, 1] : [1, 0]) {
        const u = process.cpuUsage();
        const w = performance.now();
        await [a, b][k]!.sql(sql);
        wall[k]!.push(performance.now() - w);
        const d = process.cpuUsage(u);
        cpu[k]!.push((d.user + d.system) / 1000);
      }
    }
    console.log(
      `${name}\n  before: wall ${stats(wall[0]!)}; CPU mean ${mean(cpu[0]!).toFixed(2)}\n` +
        `  after:  wall ${stats(wall[1]!)}; CPU mean ${mean(cpu[1]!).toFixed(2)}`,
    );
  }
} finally {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}
