// The db_bench workloads and the modes each runs in. This file only says *what* is measured
// (keys, order, op count, modes); child.ts does the measuring. Names and semantics follow
// LevelDB's db_bench so numbers can be read next to LevelDB's own published ones.

import type { Capabilities } from './adapters/adapter.js';

type WorkloadKind = 'write' | 'batch' | 'read' | 'scan' | 'seek';

export interface Workload {
  name: string;
  kind: WorkloadKind;
  /** One line for the README and --help. */
  description: string;
  /** Keys already stored before timing starts (filled in random order, in batches, untimed). */
  prefill: boolean;
  /** Writes ask for fdatasync before they resolve. */
  sync: boolean;
  /** Operations timed, given --num and --reads. */
  ops(num: number, reads: number): number;
  /** Entries alive after the workload, for space amplification; undefined = not meaningful. */
  liveEntries?(num: number, ops: number): number;
}

export const BATCH_SIZE = 1000;

export const WORKLOADS: readonly Workload[] = [
  {
    name: 'fillseq',
    kind: 'write',
    description: 'put num keys in ascending order into an empty database',
    prefill: false,
    sync: false,
    ops: (num) => num,
    liveEntries: (num) => num,
  },
  {
    name: 'fillrandom',
    kind: 'write',
    description: 'put num keys in random order (each exactly once) into an empty database',
    prefill: false,
    sync: false,
    ops: (num) => num,
    liveEntries: (num) => num,
  },
  {
    name: 'overwrite',
    kind: 'write',
    description: 'put num keys in random order over a database that already holds all of them',
    prefill: true,
    sync: false,
    ops: (num) => num,
    liveEntries: (num) => num,
  },
  {
    name: 'fillsync',
    kind: 'write',
    description: 'put num/100 keys in random order, each write fdatasync-ed before it resolves',
    prefill: false,
    sync: true,
    ops: (num) => Math.max(1, Math.floor(num / 100)),
    liveEntries: (_num, ops) => ops,
  },
  {
    name: 'fillbatch',
    kind: 'batch',
    description: `put num keys in ascending order, ${BATCH_SIZE} per atomic batch`,
    prefill: false,
    sync: false,
    ops: (num) => num,
    liveEntries: (num) => num,
  },
  {
    name: 'readrandom',
    kind: 'read',
    description: 'get --reads keys drawn uniformly from the num stored ones (all found)',
    prefill: true,
    sync: false,
    ops: (_num, reads) => reads,
  },
  {
    name: 'readmissing',
    kind: 'read',
    description: 'get --reads keys that sort between stored keys and are never found',
    prefill: true,
    sync: false,
    ops: (_num, reads) => reads,
  },
  {
    name: 'readseq',
    kind: 'scan',
    description: 'iterate over all num entries in ascending order',
    prefill: true,
    sync: false,
    ops: (num) => num,
  },
  {
    name: 'readreverse',
    kind: 'scan',
    description: 'iterate over all num entries in descending order',
    prefill: true,
    sync: false,
    ops: (num) => num,
  },
  {
    name: 'seekrandom',
    kind: 'seek',
    description: 'open an iterator at a random stored key (gte), read one entry, close it; --reads times',
    prefill: true,
    sync: false,
    ops: (_num, reads) => reads,
  },
  {
    name: 'deleterandom',
    kind: 'write',
    description: 'delete all num stored keys in random order',
    prefill: true,
    sync: false,
    ops: (num) => num,
    liveEntries: () => 0,
  },
];

export const WORKLOAD_NAMES = WORKLOADS.map((w) => w.name);

export function workloadByName(name: string): Workload {
  const w = WORKLOADS.find((x) => x.name === name);
  if (!w) throw new TypeError(`unknown workload "${name}" (known: ${WORKLOAD_NAMES.join(', ')})`);
  return w;
}

/**
 * How operations are issued:
 * - awaited:    one operation at a time, each awaited before the next starts (db_bench's model).
 * - concurrent: `concurrency` operations in flight; a new one starts as soon as one resolves.
 *               This is how a server with many clients drives an engine, and what group commit and
 *               a thread pool are for.
 * - sync:       a synchronous call (getSync, lmdb's get/getRange) in a tight loop that yields to
 *               the event loop every 1,024 operations, as a well-behaved server would.
 * - async:      scans only: the engine's asynchronous iterator, consumed with await.
 */
export type ModeName = 'awaited' | 'concurrent' | 'sync' | 'async';

export interface Mode {
  name: ModeName;
  /** Operations in flight (1 except for concurrent). */
  concurrency: number;
}

/** Display label: "awaited", "c=64", "sync", "async". */
export function modeLabel(m: Mode): string {
  return m.name === 'concurrent' ? `c=${m.concurrency}` : m.name;
}

/** Every mode a workload runs in, whatever the engine. */
function allModes(w: Workload, concurrency: number): Mode[] {
  const c: Mode = { name: 'concurrent', concurrency };
  const awaited: Mode = { name: 'awaited', concurrency: 1 };
  const sync: Mode = { name: 'sync', concurrency: 1 };
  switch (w.kind) {
    case 'write':
      return [awaited, c];
    case 'batch':
      return [awaited];
    case 'read':
    case 'seek':
      return [awaited, c, sync];
    case 'scan':
      return [{ name: 'async', concurrency: 1 }, sync];
  }
}

/** The modes an engine can run: reads and scans need the matching capability. */
export function modesFor(w: Workload, caps: Capabilities, concurrency: number): Mode[] {
  return allModes(w, concurrency).filter((m) => {
    if (w.kind === 'read') return m.name === 'sync' ? caps.syncGet : caps.asyncGet;
    if (w.kind === 'seek' || w.kind === 'scan') return m.name === 'sync' ? caps.syncScan : caps.asyncScan;
    return true;
  });
}
