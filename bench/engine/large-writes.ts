// `node --import tsx bench/engine/large-writes.ts [--mb N] [--value-kb K] [--per-batch B] [--prof DIR]`
//
// The engine's CPU per stored MB for large values, the shape of a dataframe import: batches of B
// values of K KiB each (incompressible bytes), awaited one after another into a fresh Engine, until
// N MB are stored; then close() (so the flushes the writes caused are counted). Prints the process's
// CPU time (all threads: the writing thread and the engine's flush worker) per MB of keys and values,
// the wall time, the minor page faults (first touches of fresh memory, all threads) per MB, and the
// young and full garbage collections seen. EAU2_WORKER_LOADER must be set as in
// package.json (the flush worker runs under tsx).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Engine } from '../../engine/index.js';

const { values: args } = parseArgs({
  options: {
    mb: { type: 'string', default: '64' },
    'value-kb': { type: 'string', default: '512' },
    'per-batch': { type: 'string', default: '8' },
  },
});
const totalBytes = Number(args.mb) * 1e6;
const valueBytes = Number(args['value-kb']) * 1024;
const perBatch = Number(args['per-batch']);

let seed = 12345;
const pool = new Uint8Array(valueBytes * 4);
for (let i = 0; i < pool.length; i++) {
  seed = (seed * 1103515245 + 12345) >>> 0;
  pool[i] = seed >>> 24;
}

let minor = 0;
let major = 0;
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
    else minor++;
  }
});
obs.observe({ entryTypes: ['gc'] });

const dir = mkdtempSync(join(tmpdir(), 'eau2-large-writes-'));
try {
  const engine = await Engine.open(dir);
  // Warm-up: JIT and the flush worker's start, outside the measurement.
  for (let i = 0; i < 16; i++) await engine.put(`warm${i}`, pool.subarray(0, valueBytes));
  await new Promise((r) => setTimeout(r, 500));
  minor = 0;
  major = 0;
  const faults0 = process.resourceUsage().minorPageFault;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let stored = 0;
  let n = 0;
  while (stored < totalBytes) {
    const ops = [];
    for (let b = 0; b < perBatch; b++, n++) {
      const at = (n * 7919) % (pool.length - valueBytes);
      const key = new TextEncoder().encode(`chunk/${String(n).padStart(10, '0')}`);
      ops.push({ type: 'put' as const, key, value: pool.subarray(at, at + valueBytes) });
      stored += key.length + valueBytes;
    }
    await engine.batch(ops);
  }
  const writeMs = performance.now() - t0;
  const cpuWrite = process.cpuUsage(cpu0);
  await engine.close();
  const cpu = process.cpuUsage(cpu0);
  const faults = process.resourceUsage().minorPageFault - faults0;
  const wall = performance.now() - t0;
  const mb = stored / 1e6;
  const ms = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
  console.log(
    `large-writes: ${mb.toFixed(1)} MB in ${n} values of ${args['value-kb']} KiB, ${perBatch} a batch; ` +
      `writes ${writeMs.toFixed(0)} ms (CPU ${(ms(cpuWrite) / mb).toFixed(2)} ms/MB); through close ${wall.toFixed(0)} ms, ` +
      `CPU ${(ms(cpu) / mb).toFixed(2)} ms/MB (sys ${(cpu.system / 1000 / mb).toFixed(2)}); ` +
      `page faults ${(faults / mb).toFixed(0)}/MB; GCs ${minor} young, ${major} full`,
  );
} finally {
  obs.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
