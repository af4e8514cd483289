// Worker-thread entry point: receives CompactionJobs, answers with their results, transferring the
// output buffers instead of copying them.

import { parentPort } from 'node:worker_threads';
import { runCompactionJob, type CompactionJob } from './compaction-job.js';

parentPort!.on('message', (msg: { id: number; job: CompactionJob }) => {
  try {
    const result = runCompactionJob(msg.job);
    parentPort!.postMessage(
      { id: msg.id, result },
      result.outputs.map((o) => o.bytes.buffer as ArrayBuffer),
    );
  } catch (e) {
    const err = e as Error & { code?: string; details?: unknown };
    parentPort!.postMessage({ id: msg.id, error: { message: err.message, code: err.code, details: err.details } });
  }
});
