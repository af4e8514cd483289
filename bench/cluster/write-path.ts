// A node's replicated-write path below the network, in one process, measured by CPU time per write
// with the GC and the engine's threads included: PartitionWriter on the real engine (64 MiB
// memtable, as a node opens it), fed as a node under YCSB writes feeds it: per event-loop turn, 64
// single-put writes as a leader issues them (one LSN each, 1 KB values, 16 partitions, half of them
// led) and as many as runs of streamed entries a follower applies (several LSNs per run). What is
// measured is the engine write and the writer's bookkeeping per replicated write, the work both
// replicas do; the cluster bench cannot resolve a change of a few us per write on a shared machine,
// this can, since it counts CPU time rather than throughput.
//
//   node --import tsx bench/cluster/write-path.ts [--writes N] [--memtable-bytes N]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import type { EngineOp } from '../../cluster/node/engine-api.js';
import { openEngine } from '../../cluster/node/open-engine.js';
import { PartitionWriter } from '../../cluster/node/partition-writer.js';
import { storedKey } from '../../cluster/node/stored-format.js';
import { numberArg } from '../lib/args.js';

const WRITES = numberArg('writes', 300_000);
const MEMTABLE_BYTES = numberArg('memtable-bytes', 64 * 1024 * 1024);
const WARMUP = 30_000;
const PARTITIONS = 16;
const PER_TURN = 64;
/** Entries per follower run: what one ENTRIES frame of a partition carries under 64 in flight. */
const RUN = 4;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'eau2-write-path-'));
  const real = await openEngine(dir, { memtableBytes: MEMTABLE_BYTES });
  // --stub-engine: the writer's own work alone (the engine accepts every batch at once).
  const engine = process.argv.includes('--stub-engine')
    ? ({ ...real, batch: () => Promise.resolve(), close: () => real.close() } as typeof real)
    : real;
  const writer = new PartitionWriter(engine);
  const lsns = new Array<number>(PARTITIONS).fill(0);
  const values = Array.from({ length: 64 }, (_, i) => {
    const v = new Uint8Array(1025).fill(97 + (i % 26));
    v[0] = 0; // stored-value header: plain
    return v;
  });
  let minor = 0;
  let major = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === 1) minor++;
      else if (kind === 4) major++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  let n = 0;
  const key = (): Uint8Array => Buffer.from(`user${String((n * 7919) % 200_000).padStart(10, '0')}`, 'latin1');
  let c0 = process.cpuUsage();
  let t0 = performance.now();
  let gc0 = { minor, major };
  try {
    while (n < WRITES + WARMUP) {
      if (n >= WARMUP && t0 === 0) {
        c0 = process.cpuUsage();
        t0 = performance.now();
        gc0 = { minor, major };
      }
      if (n === 0) t0 = 0;
      const turn: Promise<void>[] = [];
      // Led partitions (even): one write per LSN, as LeaderPartition.write issues them.
      for (let j = 0; j < PER_TURN / 2; j++, n++) {
        const p = 2 * (n % (PARTITIONS / 2));
        const op: EngineOp = { type: 'put', key: storedKey(p, key()), value: values[n & 63]! };
        turn.push(writer.apply(p, [op], ++lsns[p]!));
      }
      // Followed partitions (odd): runs of RUN entries, as FollowerPartition.applyEntries issues them.
      for (let j = 0; j < PER_TURN / 2; j += RUN) {
        const p = 2 * (((n / RUN) % (PARTITIONS / 2)) | 0) + 1;
        const ops: EngineOp[] = [];
        for (let r = 0; r < RUN; r++, n++) ops.push({ type: 'put', key: storedKey(p, key()), value: values[n & 63]! });
        lsns[p]! += RUN;
        turn.push(writer.apply(p, ops, lsns[p]!, false));
      }
      await Promise.all(turn);
    }
    const cpu = process.cpuUsage(c0);
    const ms = performance.now() - t0;
    await new Promise((r) => setImmediate(r)); // let the gc observer deliver
    const writes = n - WARMUP;
    const mem = process.memoryUsage();
    console.log(
      `write path: ${writes} writes of 1 KB, ${PER_TURN} per turn, ${PARTITIONS} partitions: ` +
        `${((cpu.user + cpu.system) / writes).toFixed(2)} us CPU per write (${((ms * 1000) / writes).toFixed(2)} us wall), ` +
        `${(writer.batches / (writer.writes / PER_TURN)).toFixed(2)} engine batches per turn, ` +
        `${(((minor - gc0.minor) * 1000) / writes).toFixed(2)} scavenges and ${(((major - gc0.major) * 1000) / writes).toFixed(2)} ` +
        `mark-compacts per 1,000 writes, heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB`,
    );
  } finally {
    obs.disconnect();
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
