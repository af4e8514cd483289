// What a benchmark watches in its own process while a phase runs: bytes written to disk
// (/proc/self/io), peak resident memory, and event-loop lag (perf_hooks.monitorEventLoopDelay).
// One `Probe` starts all three and stops them together, so every phase reports the same figures.

import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Counters from /proc/self/io (Linux only). They cover every thread of the process: LevelDB's
 * and lmdb's background threads and our worker_threads alike. */
export interface ProcIo {
  /** Bytes passed to read()/write()-family syscalls, cached or not. */
  rchar: number;
  wchar: number;
  /** Bytes this process caused to be fetched from / sent to the storage layer. The kernel charges
   * write_bytes when a page is dirtied (write() or a store into a shared mmap), so it is known
   * at once, before writeback; rewriting an already-dirty page is not charged again. */
  readBytes: number;
  writeBytes: number;
  /** Dirty bytes that were never written back because their file was truncated or deleted. */
  cancelledWriteBytes: number;
}

/** The current counters, or undefined where /proc/self/io does not exist (macOS, Windows). */
export function readProcIo(): ProcIo | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/io', 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s*(\\d+)`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  return {
    rchar: field('rchar'),
    wchar: field('wchar'),
    readBytes: field('read_bytes'),
    writeBytes: field('write_bytes'),
    cancelledWriteBytes: field('cancelled_write_bytes'),
  };
}

/** after - before, field by field; undefined if either side is. */
export function diffProcIo(before: ProcIo | undefined, after: ProcIo | undefined): ProcIo | undefined {
  if (!before || !after) return undefined;
  return {
    rchar: after.rchar - before.rchar,
    wchar: after.wchar - before.wchar,
    readBytes: after.readBytes - before.readBytes,
    writeBytes: after.writeBytes - before.writeBytes,
    cancelledWriteBytes: after.cancelledWriteBytes - before.cancelledWriteBytes,
  };
}

/** Peak RSS over a phase. process.resourceUsage().maxRSS is the peak over the whole process
 * lifetime (including a fill phase before the measured one), so we sample instead; a phase that
 * never yields to the event loop is still covered by the samples taken at start and stop. */
export class RssSampler {
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;

  start(intervalMs = 50): void {
    this.peak = process.memoryUsage.rss();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }

  /** Peak bytes seen since start(). */
  stop(): number {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    return this.peak;
  }
}

interface LagSummary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Event-loop lag: how late a 1 ms libuv timer fires. A phase that holds the loop for 200 ms in
 * one go shows up as one 200 ms sample, which is exactly what a server sharing the loop would feel.
 * Caveat: a phase that never returns to the loop at all produces no sample until it ends. */
class LagSampler {
  private h: IntervalHistogram | undefined;

  start(resolutionMs = 1): void {
    this.h = monitorEventLoopDelay({ resolution: resolutionMs });
    this.h.enable();
  }

  stop(): LagSummary {
    const h = this.h;
    if (!h) return { p50Ms: 0, p99Ms: 0, maxMs: 0 };
    h.disable();
    this.h = undefined;
    // The histogram is in ns and measures the delay past the timer's own interval.
    const ms = (ns: number) => (Number.isFinite(ns) ? ns / 1e6 : 0);
    if (h.count === 0) return { p50Ms: 0, p99Ms: 0, maxMs: 0 };
    return { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
  }
}

export interface ProbeResult {
  elapsedMs: number;
  io: ProcIo | undefined;
  peakRssBytes: number;
  lag: LagSummary;
}

/** Starts all probes; stop() returns what they saw. Use one per measured phase. */
export class Probe {
  private readonly rss = new RssSampler();
  private readonly lag = new LagSampler();
  private io0: ProcIo | undefined;
  private t0 = 0;

  start(): this {
    this.io0 = readProcIo();
    this.rss.start();
    this.lag.start();
    this.t0 = performance.now();
    return this;
  }

  stop(): ProbeResult {
    const elapsedMs = performance.now() - this.t0;
    const lag = this.lag.stop();
    const peakRssBytes = this.rss.stop();
    return { elapsedMs, io: diffProcIo(this.io0, readProcIo()), peakRssBytes, lag };
  }

  /** Bytes written since start(), without stopping (e.g. to include a close() after timing). */
  ioSoFar(): ProcIo | undefined {
    return diffProcIo(this.io0, readProcIo());
  }
}

/** Clock ticks per second of /proc/<pid>/stat's times (sysconf(_SC_CLK_TCK), 100 on Linux). */
const CLK_TCK = 100;

/**
 * CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat
 * (fields 14 and 15); with `tid`, that one thread's, from /proc/<pid>/task/<tid>/stat. 0 where it
 * cannot be read (gone, or not Linux). The same figure for any server, whatever it is written in.
 */
export function procCpuSeconds(pid: number, tid?: number): number {
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}
