// Worker-thread entry point: receives compaction and flush jobs, answers with their results,
// transferring output buffers instead of copying them. Jobs with file paths do their own I/O
// (table-files.ts) through the Vfs the engine's Vfs names in its WorkerVfsSpec (workerData.vfs). A compaction lets the worker's event loop turn between output tables, so a
// flush (a few milliseconds of work) sent during a long merge is not stuck behind all of it.

import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { CompactionJob } from './compaction-job.js';
import type { FlushJob } from './flush-job.js';
import { runCompaction, runFlush } from './table-files.js';
import type { Vfs, WorkerVfsSpec } from '../vfs/vfs.js';

/** The Vfs jobs do their I/O through, built once from the engine's spec. */
let vfs: Promise<Vfs> | undefined;

async function loadVfs(spec: WorkerVfsSpec): Promise<Vfs> {
  const mod = (await import(spec.module)) as Record<string, unknown>;
  const factory = mod[spec.name];
  if (typeof factory !== 'function') throw new Error(`${spec.module} exports no function ${spec.name}`);
  return (await factory(spec.arg)) as Vfs;
}

type Msg = { id: number; job: CompactionJob; flush?: undefined } | { id: number; flush: FlushJob; job?: undefined };

function buffersOf(outs: Array<{ bytes?: Uint8Array }>): ArrayBuffer[] {
  const t: ArrayBuffer[] = [];
  for (const o of outs) if (o.bytes) t.push(o.bytes.buffer as ArrayBuffer);
  return t;
}

/**
 * The nice value this thread runs at. On Linux a nice value belongs to a thread, and setPriority
 * without a pid sets the calling thread's: when the event-loop thread and this one both want the
 * CPU, the loop thread gets ~3/4 of what they share instead of half (a thread idle in its loop
 * leaves the worker all of it). RocksDB lowers its background threads' CPU priority the same way
 * (Env::LowerThreadPoolCPUPriority). Measured on the shared 2-core machine at load 7-10
 * (bench/README.md): fillrandom loop lag p99 26-46 -> 18-20 ms with fillbatch no slower; nice 10
 * gave overwrite's lag 8-14 ms but cost fillbatch 25-47%. Elsewhere the call would apply to the
 * whole process, so it is made on Linux only.
 */
const WORKER_NICE = 5;
if (process.platform === 'linux') {
  try {
    setPriority(WORKER_NICE);
  } catch {
    // Not permitted (some containers): run at the process's priority.
  }
}

parentPort!.on('message', (msg: Msg) => {
  void (async () => {
    try {
      vfs ??= loadVfs((workerData as { vfs: WorkerVfsSpec }).vfs);
      if (msg.flush) {
        const result = await runFlush(msg.flush, await vfs);
        // The entry buffer goes back for the next flush to copy into (CompactionRunner.takeEntryBuffer):
        // nothing of it is referenced once the table is built (its bounds are copies).
        const spent = msg.flush.entries.buffer as ArrayBuffer;
        parentPort!.postMessage({ id: msg.id, result, spent }, [...buffersOf([result]), spent]);
      } else {
        const result = await runCompaction(msg.job, await vfs);
        parentPort!.postMessage({ id: msg.id, result }, buffersOf(result.outputs));
      }
    } catch (e) {
      const err = e as Error & { code?: string; details?: unknown };
      parentPort!.postMessage({ id: msg.id, error: { message: err.message, code: err.code, details: err.details } });
    }
  })();
});
