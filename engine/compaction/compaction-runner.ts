// Runs compaction and flush jobs off the main thread on one long-lived worker (a flush runs between
// two output tables of a compaction in progress: compaction-worker.ts), which does the jobs' file
// I/O through the Vfs the engine's Vfs names (WorkerVfsSpec). A Vfs without one (MemVfs; an
// ErrorVfs injecting faults) gets its jobs run in this thread, through the Vfs itself. The worker
// starts as kv/worker-thread.ts says (EAU2_WORKER_LOADER under a TypeScript loader).

import type { Worker } from 'node:worker_threads';
import { Eau2Error, ErrorCode, startModuleWorker } from '../../kv/index.js';
import type { CompactionJob, CompactionResult } from './compaction-job.js';
import { runCompaction, runFlush } from './table-files.js';
import type { FlushJob, FlushResult } from './flush-job.js';
import type { Vfs } from '../vfs/vfs.js';

type Pending = { resolve: (r: never) => void; reject: (e: Error) => void };

export class CompactionRunner {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  /** Jobs go to the worker: workers are enabled and the worker can open the Vfs's files. */
  readonly useWorker: boolean;

  constructor(
    useWorker: boolean,
    private readonly vfs: Vfs,
  ) {
    this.useWorker = useWorker && vfs.workerSpec !== undefined;
  }

  private start(): Worker {
    const w = startModuleWorker(import.meta.url, 'compaction-worker', { vfs: this.vfs.workerSpec });
    w.on(
      'message',
      (msg: {
        id: number;
        result?: unknown;
        error?: { message: string; code?: string; details?: Record<string, unknown> };
        spent?: ArrayBuffer;
      }) => {
        if (msg.spent) this.keepEntryBuffer(msg.spent);
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

  /**
   * Starts the worker ahead of its first job, if jobs go to one and it is not running: a thread
   * loads its modules for tens of milliseconds (a second or more under tsx), and a flush that had
   * to wait for that held writers up once the immutable memtables were full. The started worker
   * stays unreferenced until it has a job, as when started by one.
   */
  warm(): void {
    if (this.useWorker && !this.worker && !this.closed) this.worker = this.start();
  }

  /** Whether the worker thread is running (or starting). */
  get started(): boolean {
    return this.worker !== null;
  }

  run(job: CompactionJob): Promise<CompactionResult> {
    if (!this.useWorker) return runCompaction(job, this.vfs);
    const transfer: ArrayBuffer[] = [];
    for (const inp of job.inputs) if (inp.bytes) addTransferable(transfer, inp.bytes);
    return this.post({ job }, transfer);
  }

  /**
   * Flush entry buffers the worker has sent back, for the next flushes' EntryBufferWriter: a fresh
   * buffer of a memtable's size is zero-filled and page-faulted in as the entries are copied, which
   * made that copy cost several times a memcpy (75 ms per 20 MB flushed, on the loaded 2-core
   * machine). At most two, the flushes that can be queued (maxImmutableMemtables' default).
   */
  private readonly entryBuffers: ArrayBuffer[] = [];

  /** Flushes that copied into a buffer sent back (for tests). */
  entryBuffersReused = 0;

  private keepEntryBuffer(b: ArrayBuffer): void {
    if (this.closed || b.byteLength === 0) return;
    if (this.entryBuffers.length >= 2) {
      // Keep the larger ones: flushes vary in size, and a small buffer fits fewer of them.
      const i = this.entryBuffers[0]!.byteLength <= this.entryBuffers[1]!.byteLength ? 0 : 1;
      if (this.entryBuffers[i]!.byteLength >= b.byteLength) return;
      this.entryBuffers.splice(i, 1);
    }
    this.entryBuffers.push(b);
  }

  /** A buffer of at least `capacity` bytes sent back by the worker, or undefined (allocate one). */
  takeEntryBuffer(capacity: number): ArrayBuffer | undefined {
    let best = -1;
    for (let i = 0; i < this.entryBuffers.length; i++) {
      const n = this.entryBuffers[i]!.byteLength;
      if (n >= capacity && (best < 0 || n < this.entryBuffers[best]!.byteLength)) best = i;
    }
    if (best < 0) return undefined;
    this.entryBuffersReused++;
    return this.entryBuffers.splice(best, 1)[0];
  }

  flush(job: FlushJob): Promise<FlushResult> {
    if (!this.useWorker) return runFlush(job, this.vfs);
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

  private closed = false;

  async close(): Promise<void> {
    this.closed = true;
    this.entryBuffers.length = 0;
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
