// The one small interface every engine sits behind in the benchmark, so workloads are written once
// and each engine is measured through its own idiomatic, fastest public API (not a lowest common
// denominator): batched async iterators for classic-level, synchronous get/getRange for lmdb.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export type Bytes = Uint8Array;

export type BenchOp = { type: 'put'; key: Bytes; value: Bytes } | { type: 'del'; key: Bytes };

export interface OpenOptions {
  /** The workload will ask for synced writes: engines whose durability is an open-time setting
   * (lmdb) configure it here; others get `sync` per write. */
  syncWrites: boolean;
}

/** What an engine can do beyond the basics; a figure for a missing capability is "n/a", and the
 * harness test only demands the figures an engine's capabilities promise. */
export interface Capabilities {
  /** A Promise-returning get that does its work off the caller's stack (or at least may). */
  asyncGet: boolean;
  /** A get that returns the value synchronously (classic-level/eau2 getSync, lmdb get). */
  syncGet: boolean;
  /** An async iterator (for await). */
  asyncScan: boolean;
  /** A synchronous iterator (lmdb getRange). */
  syncScan: boolean;
  /** A manual full compaction, to measure space after it. */
  compact: boolean;
  /** Engine-reported write counters (bytes written by WAL/flush/compaction). */
  stats: boolean;
}

export interface BenchDb {
  put(key: Bytes, value: Bytes, sync: boolean): Promise<void>;
  del(key: Bytes, sync: boolean): Promise<void>;
  batch(ops: BenchOp[], sync: boolean): Promise<void>;
  get(key: Bytes): Promise<Bytes | undefined>;
  getSync(key: Bytes): Bytes | undefined;
  /** Async scan over the whole key space; calls onEntry per entry, resolves with the count. */
  scan(reverse: boolean, onEntry: (key: Bytes, value: Bytes) => void): Promise<number>;
  scanSync(reverse: boolean, onEntry: (key: Bytes, value: Bytes) => void): number;
  /** First entry with key >= `key` (db_bench's seekrandom reads one entry per seek). */
  seek(key: Bytes): Promise<[Bytes, Bytes] | undefined>;
  seekSync(key: Bytes): [Bytes, Bytes] | undefined;
  /** Full manual compaction. */
  compact(): Promise<void>;
  /** Engine counters; `engineBytesWritten` and `writeAmplification` are read by the harness. */
  stats(): EngineStats | undefined;
  close(): Promise<void>;
}

export interface EngineStats {
  /** Bytes the engine wrote to files (WAL + flush + compaction), if it counts them. */
  engineBytesWritten?: number;
  /** The engine's own write amplification figure, if it computes one. */
  writeAmplification?: number;
  /** Anything else the engine reports, kept verbatim in the JSON output. */
  raw?: unknown;
}

export interface EngineAdapter {
  /** Stable name used on the command line and in results. */
  readonly name: string;
  readonly capabilities: Capabilities;
  /** Whether the engine can be loaded here (eau2's engine may not exist yet). */
  available(): Promise<boolean>;
  /** One line saying which version and settings were used, recorded with the results. */
  describe(): Promise<string>;
  open(dir: string, opts: OpenOptions): Promise<BenchDb>;
}

/** For adapters lacking a method: throws so a workload that should have been skipped is loud. */
export function unsupported(engine: string, what: string): never {
  throw new Error(`${engine} does not offer ${what}`);
}

/** A dependency's installed version, for the results' record. Walks up from its entry point
 * because some packages (lmdb) do not export their package.json. */
export function packageVersion(name: string): string {
  try {
    let dir = dirname(createRequire(import.meta.url).resolve(name));
    for (let i = 0; i < 6; i++, dir = dirname(dir)) {
      const file = join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === name && pkg.version) return pkg.version;
    }
  } catch {
    // fall through
  }
  return 'unknown';
}
