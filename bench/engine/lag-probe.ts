// Event-loop lag of eau2's write path, beside what the machine allows at that minute. On a shared
// 2-core machine the lag of a busy event loop follows the load average more than the engine: a loop
// doing nothing but 2 ms slices of arithmetic (no garbage, no worker) measured p99 6 ms at load 7.7
// and 13-37 ms at load 14-17. So this runs that garbage-free loop first (the floor), then fillrandom
// straight into the engine (no harness around it), and reports both with every main-thread GC pause
// (PerformanceObserver 'gc'), so a lag figure can be read against its floor and its GC.
//
//   node --import tsx bench/engine/lag-probe.ts [--num 1000000] [--concurrency 1] [--floor-ms 5000]
//
// Prints one JSON object. Keys and values are the harness's (keys.ts): fillrandom's order and values.

import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver, constants, type IntervalHistogram } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Engine } from '../../engine/index.js';
import { makeKey, permutation, ValueSource } from './keys.js';

const { values: args } = parseArgs({
  options: {
    num: { type: 'string', default: '1000000' },
    concurrency: { type: 'string', default: '1' },
    'floor-ms': { type: 'string', default: '5000' },
    seed: { type: 'string', default: '42' },
  },
});
const num = Number(args.num);
const concurrency = Number(args.concurrency);
const floorMs = Number(args['floor-ms']);
const seed = Number(args.seed);

interface LagFigures {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
}

function lagOf(h: IntervalHistogram): LagFigures {
  const ms = (ns: number) => Math.round(ns / 1e4) / 100;
  return { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max), samples: h.count };
}

/** Main-thread GC pauses while a phase runs, by kind. */
class GcPauses {
  private readonly pauses = { minor: [] as number[], major: [] as number[], other: [] as number[] };
  private readonly obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      const into =
        kind === constants.NODE_PERFORMANCE_GC_MINOR
          ? 'minor'
          : kind === constants.NODE_PERFORMANCE_GC_MAJOR
            ? 'major'
            : 'other';
      this.pauses[into].push(e.duration);
    }
  });
  start(): this {
    this.obs.observe({ entryTypes: ['gc'] });
    return this;
  }
  stop() {
    this.obs.disconnect();
    const sum = (xs: number[]) => ({
      count: xs.length,
      totalMs: Math.round(xs.reduce((a, b) => a + b, 0)),
      over5ms: xs.filter((x) => x > 5).length,
      over10ms: xs.filter((x) => x > 10).length,
      maxMs: Math.round(Math.max(0, ...xs) * 10) / 10,
    });
    return { scavenges: sum(this.pauses.minor), markCompacts: sum(this.pauses.major), other: sum(this.pauses.other) };
  }
}

/** The floor: 2 ms slices of garbage-free arithmetic, yielding like the engine does (setImmediate). */
async function floor(ms: number): Promise<LagFigures> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) {
    const s = performance.now();
    while (performance.now() - s < 2) x += Math.sqrt(x + 1);
    await new Promise((r) => setImmediate(r));
  }
  h.disable();
  if (x < 0) console.log(x); // keep the arithmetic
  return lagOf(h);
}

const load0 = loadavg()[0]!;
const floorLag = await floor(floorMs);

const dir = mkdtempSync(join(tmpdir(), 'eau2-lag-'));
try {
  const db = await Engine.open(dir);
  const order = permutation(num, seed ^ 0x0de7);
  const values = new ValueSource(seed ^ 0x7a1e);
  const h = monitorEventLoopDelay({ resolution: 1 });
  const gc = new GcPauses().start();
  h.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  const writer = async () => {
    while (next < num) {
      const i = next++;
      await db.put(makeKey(order[i]!), values.next());
    }
  };
  await Promise.all(Array.from({ length: concurrency }, writer));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  h.disable();
  const gcPauses = gc.stop();
  const stats = db.stats();
  await db.close();
  console.log(
    JSON.stringify(
      {
        num,
        concurrency,
        loadAverage1m: [load0, loadavg()[0]],
        floorLag,
        putsPerSec: Math.round(num / (elapsed / 1000)),
        // Every thread of the process: the compaction worker's merges are in it.
        cpuUsPerPut: Math.round(((cpu.user + cpu.system) / num) * 100) / 100,
        lag: lagOf(h),
        gc: gcPauses,
        engine: {
          flushes: stats.flushes,
          compactions: stats.compactions,
          slowdowns: stats.slowdowns,
          stops: stats.stops,
        },
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
