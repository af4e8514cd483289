// Worker-thread entry point: receives compaction and flush jobs, answers with their results,
// transferring output buffers instead of copying them. Jobs with file paths do their own I/O
// (table-files.ts). A compaction lets the worker's event loop turn between output tables, so a
// flush (a few milliseconds of work) sent during a long merge is not stuck behind all of it.

import { parentPort } from 'node:worker_threads';
import type { CompactionJob } from './compaction-job.js';
import type { FlushJob } from './flush-job.js';
import { runCompaction, runFlush } from './table-files.js';

type Msg = { id: number; job: CompactionJob; flush?: undefined } | { id: number; flush: FlushJob; job?: undefined };

function buffersOf(outs: Array<{ bytes?: Uint8Array }>): ArrayBuffer[] {
  const t: ArrayBuffer[] = [];
  for (const o of outs) if (o.bytes) t.push(o.bytes.buffer as ArrayBuffer);
  return t;
}

parentPort!.on('message', (msg: Msg) => {
  void (async () => {
    try {
      if (msg.flush) {
        const result = await runFlush(msg.flush);
        parentPort!.postMessage({ id: msg.id, result }, buffersOf([result]));
      } else {
        const result = await runCompaction(msg.job);
        parentPort!.postMessage({ id: msg.id, result }, buffersOf(result.outputs));
      }
    } catch (e) {
      const err = e as Error & { code?: string; details?: unknown };
      parentPort!.postMessage({ id: msg.id, error: { message: err.message, code: err.code, details: err.details } });
    }
  })();
});
