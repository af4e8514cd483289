// What the partial evaluator's scans share: how chunks are loaded, and when a long computation lets
// the event loop run.

import type { ChunkCols } from './eval.js';

export type ChunkLoader = (chunk: number, reads: readonly number[]) => Promise<ChunkCols>;

/**
 * Longest the evaluator computes before letting the event loop run. Chunks served from a node's cache
 * never wait for I/O, so without this a query holds its node's loop for its whole run (10M rows: ~1 s
 * on a loaded machine) and every request to that node waits: measured, a query on one node waited
 * ~600 ms for another node, busy with its own share, to answer the one metadata read it needed.
 */
const YIELD_EVERY_MS = 8;

export function yieldIfDue(last: { t: number }): Promise<void> | undefined {
  const now = performance.now();
  if (now - last.t < YIELD_EVERY_MS) return undefined;
  return new Promise<void>((r) =>
    setImmediate(() => {
      last.t = performance.now();
      r();
    }),
  );
}
