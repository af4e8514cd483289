// The shape of every figure the engine benchmark produces, shared by the child that measures,
// the parent that aggregates, the report, and the harness test that checks nothing is missing.

import type { LatencySummary } from '../lib/histogram.js';
import type { MachineInfo } from '../lib/machine.js';
import type { ModeName } from './workloads.js';

/** One engine x workload x mode x run. */
export interface ModeResult {
  engine: string;
  workload: string;
  mode: ModeName;
  concurrency: number;
  run: number;
  ops: number;
  /** Wall time from the first operation issued to the last one resolved. */
  elapsedMs: number;
  opsPerSec: number;
  /** Key + value bytes moved per second (reads count what they returned), MB = 10^6 bytes. */
  mbPerSec: number;
  latency: LatencySummary;
  /** Event-loop lag while the operations ran (see bench/lib/process-probes.ts). */
  lagP99Ms: number;
  lagMaxMs: number;
  /** Peak resident set size of the child process during the mode. */
  peakRssBytes: number;
  /** Reads: how many keys were found (a wrong count is reported as an error, not hidden). */
  found?: number;
  write?: WriteFigures;
  /** The engine's own counters right after the mode (eau2: stalls, flushes, compactions, block
   * cache hit rate; classic-level: LevelDB's per-level compaction table), kept verbatim. */
  engineStats?: unknown;
  /** Problems seen while measuring (wrong result counts, engine errors). */
  errors: string[];
}

export interface WriteFigures {
  /** Key + value bytes the workload asked to write (key bytes only for deletes). */
  userBytes: number;
  /** /proc/self/io write_bytes from the first operation through close(), background work included. */
  diskWriteBytes: number | null;
  /** diskWriteBytes / userBytes. */
  writeAmp: number | null;
  /** /proc/self/io wchar over the same span: bytes handed to write() calls. */
  wcharBytes: number | null;
  /** The engine's own counters, when it keeps them. */
  engineBytesWritten: number | null;
  engineWriteAmp: number | null;
  /** Allocated bytes of the database directory after close(). */
  spaceBytes: number;
  /** Same, after a full manual compaction (reopen, compact, close); null when unsupported. */
  spaceAfterCompactBytes: number | null;
  /** Entries x (key + value) alive at the end; null when nothing is (deleterandom). */
  liveBytes: number | null;
  /** spaceAfterCompactBytes (or spaceBytes) / liveBytes. */
  spaceAmp: number | null;
}

/** What a child is asked to do. */
export interface ChildJob {
  engine: string;
  workload: string;
  num: number;
  reads: number;
  concurrency: number;
  run: number;
  seed: number;
  /** A fresh directory the child may fill; the parent deletes it afterwards. */
  dir: string;
  /** When set, each timed mode is CPU-profiled into this directory (profileStart/profileStop in child.ts). */
  profileDir?: string;
}

export interface ChildReply {
  ok: boolean;
  results: ModeResult[];
  engineDescription?: string;
  error?: string;
}

/** The median over runs of one engine x workload x mode. */
export interface AggregateRow {
  engine: string;
  workload: string;
  mode: ModeName;
  concurrency: number;
  runs: number;
  /** Each figure is the median of that figure over the runs (not the figures of the median run). */
  median: ModeResult;
}

export interface BenchReport {
  machine: MachineInfo;
  options: {
    num: number;
    reads: number;
    runs: number;
    concurrency: number;
    engines: string[];
    workloads: string[];
    quick: boolean;
  };
  engines: Record<string, string>;
  /** The repository revision measured; engineDirty = uncommitted changes under engine/ at start. */
  revision: { commit: string; engineDirty: boolean };
  /** Engines that were asked for but could not be loaded, with why. */
  unavailable: Record<string, string>;
  rows: AggregateRow[];
  /** Every run's raw result, for anyone who wants spread rather than medians. */
  raw: ModeResult[];
  failures: { engine: string; workload: string; run: number; error: string }[];
  startedAt: string;
  finishedAt: string;
}
