// Runs compaction and flush jobs off the main thread on one long-lived worker (a flush runs between
// two output tables of a compaction in progress: compaction-worker.ts). Under vitest/tsx the sources
// are TypeScript, which a worker cannot load by itself; then the worker bootstraps tsx first.

import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { CompactionJob, CompactionResult } from './compaction-job.js';
import { runCompaction, runFlush } from './table-files.js';
import type { FlushJob, FlushResult } from './flush-job.js';

type Pending = { resolve: (r: never) => void; reject: (e: Error) => void };

export class CompactionRunner {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly useWorker: boolean) {}

  private start(): Worker {
    const url = new URL('./compaction-worker.js', import.meta.url);
    const isTs = import.meta.url.endsWith('.ts');
    let w: Worker;
    if (isTs) {
      // Resolved from this file, not the process's working directory; require.resolve finds tsx's
      // CommonJS build of the API, whose ESM twin sits beside it.
      const api = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/\.cjs$/, '.mjs');
      const entry = new URL('./compaction-worker.ts', import.meta.url).href;
      w = new Worker(
        `import(${JSON.stringify(api)}).then((m) => { (m.register ?? m.default.register)(); return import(${JSON.stringify(entry)}); })`,
        { eval: true },
      );
    } else {
      w = new Worker(url);
    }
    w.on(
      'message',
      (msg: {
        id: number;
        result?: unknown;
        error?: { message: string; code?: string; details?: Record<string, unknown> };
      }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (this.pending.size === 0) w.unref();
        if (msg.error) {
          const code = (msg.error.code as ErrorCode | undefined) ?? ErrorCode.IO;
          p.reject(
            new Eau2Error(code in ErrorCode ? code : ErrorCode.IO, msg.error.message, { details: msg.error.details }),
          );
        } else p.resolve(msg.result as never);
      },
    );
    const fail = (e: Error): void => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.worker = null;
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (this.pending.size > 0) fail(new Error(`compaction worker exited with code ${code}`));
      this.worker = null;
    });
    // An idle worker must not keep the process alive when the application forgets close(); a busy
    // one must, or a caller awaiting its result could see the process exit under it. (Attaching a
    // 'message' listener refs the worker again, so this comes after the listeners.)
    w.unref();
    return w;
  }

  run(job: CompactionJob): Promise<CompactionResult> {
    if (!this.useWorker) return runCompaction(job);
    const transfer: ArrayBuffer[] = [];
    for (const inp of job.inputs) if (inp.bytes) addTransferable(transfer, inp.bytes);
    return this.post({ job }, transfer);
  }

  flush(job: FlushJob): Promise<FlushResult> {
    if (!this.useWorker) return runFlush(job);
    // The entries are a view from offset 0 of a buffer only this job uses (EntryBufferWriter.finish):
    // moved whole, however much of it is filled.
    const buf = job.entries.buffer;
    return this.post({ flush: job }, job.entries.byteOffset === 0 && buf instanceof ArrayBuffer ? [buf] : []);
  }

  private post<R>(body: { job: CompactionJob } | { flush: FlushJob }, transfer: ArrayBuffer[]): Promise<R> {
    if (!this.worker) this.worker = this.start();
    const id = this.nextId++;
    const w = this.worker;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: never) => void, reject });
      w.ref();
      w.postMessage({ id, ...body }, transfer);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}

/**
 * Buffers that own their whole ArrayBuffer are moved, not copied (a structured clone of tens of
 * megabytes would block the event loop); views into shared or pooled memory are copied.
 */
function addTransferable(transfer: ArrayBuffer[], b: Uint8Array): void {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer)
    transfer.push(b.buffer);
}
