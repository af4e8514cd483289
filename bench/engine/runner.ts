// The timed loops: awaited one by one, N in flight, synchronous, and scans. Each records one
// latency sample per operation with a single performance.now() per operation (the end of one
// operation is the start of the next), so timing costs the same ~40 ns for every engine.
//
// Also CPU profiles of exactly one timed mode, through node:inspector: unlike `node --cpu-prof`,
// which covers the whole child, the untimed fill before a read workload stays out of the profile,
// so its percentages are percentages of the measured work. Main thread only (where the event-loop
// bound work is); compaction worker threads are not in it.

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { Histogram } from '../lib/histogram.js';

/** Synchronous loops hand the event loop back this often, so timers, I/O callbacks and our own
 * lag/RSS probes still run; 1,024 sub-microsecond reads keep each slice well under a millisecond. */
const SYNC_SLICE = 1024;

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export interface LoopResult {
  elapsedMs: number;
  /** Bytes moved, as counted by the op callbacks (key + value). */
  bytes: number;
  hist: Histogram;
}

/** An operation on entry `i` of the workload's order; resolves to the bytes it moved. */
export type AsyncOp = (i: number) => Promise<number>;
export type SyncOp = (i: number) => number;

/** One operation at a time: issue, await, record, next. */
export async function runAwaited(n: number, op: AsyncOp): Promise<LoopResult> {
  const hist = new Histogram();
  let bytes = 0;
  const start = performance.now();
  let t = start;
  for (let i = 0; i < n; i++) {
    bytes += await op(i);
    const now = performance.now();
    hist.recordMs(now - t);
    t = now;
  }
  return { elapsedMs: t - start, bytes, hist };
}

/** `concurrency` workers share one cursor; each op's latency runs from its own issue to its own
 * resolution, so queueing inside the engine shows up in the percentiles, as a client would see it. */
export async function runConcurrent(n: number, concurrency: number, op: AsyncOp): Promise<LoopResult> {
  const hist = new Histogram();
  let bytes = 0;
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < n) {
      const i = next++;
      const t0 = performance.now();
      bytes += await op(i);
      hist.recordMs(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return { elapsedMs: performance.now() - start, bytes, hist };
}

/** Synchronous calls in slices of SYNC_SLICE; the time spent away in the event loop between
 * slices is excluded from both the latency samples and the elapsed time. */
export async function runSync(n: number, op: SyncOp): Promise<LoopResult> {
  const hist = new Histogram();
  let bytes = 0;
  let elapsedMs = 0;
  for (let base = 0; base < n; base += SYNC_SLICE) {
    const end = Math.min(n, base + SYNC_SLICE);
    const sliceStart = performance.now();
    let t = sliceStart;
    for (let i = base; i < end; i++) {
      bytes += op(i);
      const now = performance.now();
      hist.recordMs(now - t);
      t = now;
    }
    elapsedMs += t - sliceStart;
    await yieldToLoop();
  }
  return { elapsedMs, bytes, hist };
}

/** A scan calling back once per entry; the latency sample of an entry is the time since the
 * previous one, so a batch fetch shows up as one slow entry followed by fast ones (that is what
 * p99 vs p50 of a scan means). Returns the entry count alongside. */
export async function runScan(
  scan: (onEntry: (key: Uint8Array, value: Uint8Array) => void) => Promise<number> | number,
): Promise<LoopResult & { entries: number }> {
  const hist = new Histogram();
  let bytes = 0;
  const start = performance.now();
  let t = start;
  const entries = await scan((k, v) => {
    bytes += k.length + v.length;
    const now = performance.now();
    hist.recordMs(now - t);
    t = now;
  });
  const end = performance.now();
  return { elapsedMs: end - start, bytes, hist, entries };
}

/** Sampling every 200 µs: ~5x V8's default, enough samples from a few-second mode to rank
 * functions, at a cost of a few percent of throughput. */
const SAMPLING_INTERVAL_US = 200;

export interface ModeProfiler {
  /** Stops profiling and writes the .cpuprofile to `path`. */
  stop(path: string): Promise<void>;
}

export async function startModeProfile(): Promise<ModeProfiler> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
  await session.post('Profiler.start');
  return {
    async stop(path: string) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(path, JSON.stringify(profile));
      await session.post('Profiler.disable');
      session.disconnect();
    },
  };
}
