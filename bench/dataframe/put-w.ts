// What a frame's write concern costs on a local 3-node cluster (2 replicas, 16 partitions): DataFrame.put
// of one generated frame with w=1 and w=all, alternately, R times each, printing each put's wall time
// and the nodes' CPU time. node --import tsx bench/dataframe/put-w.ts [--rows N] [--runs R]

import { DataFrame } from '../../dataframe/index.js';
import { mulberry32 } from '../../engine/util/random.js';
import { LocalCluster } from './local-cluster.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
};
const rows = arg('--rows', 1_000_000);
const runs = arg('--runs', 3);

const rand = mulberry32(42);
const int = (n: number): number => Math.floor(rand() * n);
const codes = Array.from({ length: 300 }, (_, k) => `C${k}`);
const frame = DataFrame.fromColumns({
  id: Int32Array.from({ length: rows }, (_, i) => i),
  origin: Array.from({ length: rows }, () => codes[int(codes.length)]!),
  delay: Float64Array.from({ length: rows }, () => int(200) - 20),
  distance: Int32Array.from({ length: rows }, () => 100 + int(3000)),
});

const cluster = await LocalCluster.start(3, 2, 16);
try {
  const times: Record<string, number[]> = { '1': [], all: [] };
  for (let r = 0; r < runs; r++) {
    for (const w of r % 2 === 0 ? ([1, 'all'] as const) : (['all', 1] as const)) {
      const cpu0 = cluster.nodesCpuMs();
      const t0 = performance.now();
      await DataFrame.put(cluster.client, `f${String(w)}`, frame, { w });
      const ms = performance.now() - t0;
      times[String(w)]!.push(ms);
      console.log(`w=${w}: ${ms.toFixed(0)} ms, nodes' CPU ${(cluster.nodesCpuMs() - cpu0).toFixed(0)} ms`);
    }
  }
  const med = (a: number[]): number => a.slice().sort((x, y) => x - y)[a.length >> 1]!;
  console.log(
    `${rows} rows, median of ${runs}: w=1 ${med(times['1']!).toFixed(0)} ms, w=all ${med(times.all!).toFixed(0)} ms`,
  );
} finally {
  await cluster.stop();
}
