// File I/O of flushes and compactions, through a Vfs: on the worker thread with the Vfs its spec
// names (vfs.ts WorkerVfsSpec; node's filesystem), or in the engine's thread when the Vfs has no
// worker spec (MemVfs, ErrorVfs in tests), so that fault injection reaches exactly the code that
// production runs. Reading inputs and writing outputs off the main thread keeps it from shuttling
// tens of megabytes per compaction, and the worker from idling while it does (34% of a 500k-key
// overwrite, measured).
//
// Tables are written as they are built (TableBuilder with a sink): blocks are gathered in a 1 MiB
// buffer and appended whenever it fills (appendSync: into the page cache), and the file is
// fdatasynced once complete. The worker never holds a whole table: holding every block and a concatenated
// copy besides the input takes a flush of a 7.5 MB memtable of dataframe values to ~29 MiB of array
// buffers in the worker (measured), against the input and 1 MiB this way. A compaction
// reads each input through a 1 MiB readahead window (readahead-file.ts) instead of whole.
//
// Crash safety is the engine's: it fsyncs the directory after these files exist and before a
// manifest edit names them (background.ts).

import { tableName } from '../db/table-cache.js';
import { joinPath, type RandomAccessFile, type Vfs, type WritableFile } from '../vfs/vfs.js';
import { ReadaheadFile } from '../table/readahead-file.js';
import type { TableSink } from '../table/table-builder.js';
import {
  mergeTables,
  type CompactionJob,
  type CompactionOutput,
  type CompactionResult,
  type MergeStats,
} from './compaction-job.js';
import { buildFlushTable, buildFlushTableTo, type FlushJob, type FlushResult } from './flush-job.js';

/** Bytes a table sink gathers before it writes them. */
const SINK_BYTES = 1 << 20;

/** A table file written as it is built: blocks gathered in `buf`, written when it fills. */
class TableFileSink implements TableSink {
  private len = 0;

  constructor(
    readonly file: WritableFile,
    private readonly buf: Uint8Array = new Uint8Array(SINK_BYTES),
  ) {}

  write(bytes: Uint8Array): void {
    const buf = this.buf;
    if (this.len + bytes.length > buf.length) this.drain();
    if (bytes.length >= buf.length) {
      this.file.appendSync(bytes);
      return;
    }
    buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** Writes what is gathered. */
  drain(): void {
    if (this.len === 0) return;
    const n = this.len;
    this.len = 0;
    this.file.appendSync(this.buf.subarray(0, n));
  }

  /** Writes what is gathered, fdatasyncs and closes the file (closed even if that fails). */
  async complete(): Promise<void> {
    try {
      this.drain();
      await this.file.sync();
    } finally {
      await this.file.close();
    }
  }
}

/**
 * A compaction: reads the inputs it was not handed through `vfs`, merges, and with
 * CompactionJob.files set writes each output while the next is built. Between outputs the event
 * loop turns, so the fdatasyncs run meanwhile and (on the worker) a flush sent during a long merge
 * does not wait for all of it. Resolves when every output written is durable.
 *
 * Opening a file is asynchronous and building an output is not, so the file of the next output is
 * opened before the merge reaches it, when entries remain after the last output; one left unused
 * (every remaining entry was dropped) is closed and removed (its number was reserved and is in no
 * Version).
 */
export async function runCompaction(job: CompactionJob, vfs: Vfs): Promise<CompactionResult> {
  const files = job.files;
  const buf = files ? new Uint8Array(SINK_BYTES) : undefined;
  const outputs: CompactionOutput[] = [];
  /** The file output number outputs.length goes to, opened ahead. */
  let ready: WritableFile | undefined;
  /** The sink of the output being built, until it is complete. */
  let open: TableFileSink | undefined;
  const sinkFor = files
    ? (i: number): TableSink | undefined => {
        if (i >= files.outputNumbers.length) return undefined;
        if (ready === undefined || i !== outputs.length) throw new Error(`no file opened for compaction output ${i}`);
        open = new TableFileSink(ready, buf);
        ready = undefined;
        return open;
      }
    : undefined;
  let bytesRead = 0;
  // Inputs not handed over are read through a readahead window each, not whole (readahead-file.ts).
  const opened: RandomAccessFile[] = [];
  try {
    for (const inp of job.inputs) if (!inp.bytes) opened.push(await vfs.openRandom(inp.path));
  } catch (e) {
    for (const f of opened) await f.close().catch(() => undefined);
    throw e;
  }
  let next = 0;
  const inputs = job.inputs.map((inp) => {
    if (inp.bytes) {
      bytesRead += inp.bytes.length;
      return inp;
    }
    const file = opened[next++]!;
    bytesRead += file.size();
    return { number: inp.number, path: inp.path, file: new ReadaheadFile(file) };
  });
  const stats: MergeStats = { entriesIn: 0, entriesDropped: 0 };
  const writes: Promise<void>[] = [];
  let failed: unknown;
  const merge = mergeTables({ ...job, inputs }, stats, sinkFor);
  try {
    for (;;) {
      const n = outputs.length;
      if (files && ready === undefined && n < files.outputNumbers.length && (n === 0 || stats.more !== false))
        ready = await vfs.openWritable(joinPath(files.dir, tableName(files.outputNumbers[n]!)));
      const step = merge.next();
      if (step.done) break;
      const out = step.value;
      if (out.bytes === undefined) {
        // Written to files.outputNumbers[n] as it was built: drained now (the next output reuses the
        // buffer), fdatasynced meanwhile the next one is built.
        const sink = open!;
        open = undefined;
        sink.drain();
        // Remember the first failure without leaving a rejection unobserved while merging goes on.
        writes.push(sink.complete().catch((e) => void (failed ??= e)));
        outputs.push({
          number: files!.outputNumbers[n]!,
          size: out.size,
          smallest: out.smallest,
          largest: out.largest,
          entries: out.entries,
        });
      } else {
        outputs.push(out);
      }
      await new Promise((r) => setImmediate(r));
      if (failed !== undefined) break;
    }
  } finally {
    merge.return(undefined); // closes the merging iterator if the loop stopped early
    // An output abandoned mid-build (a failed write or merge): close its file; it is in no Version.
    if (open !== undefined) await open.file.close().catch(() => undefined);
    if (ready !== undefined) {
      const f = ready;
      await f.close().catch(() => undefined);
      // Left behind only if this fails: the next sweep deletes it (no Version names it).
      await vfs.unlink(f.path).catch(() => undefined);
    }
    await Promise.all(writes);
    for (const f of opened) await f.close().catch(() => undefined);
  }
  if (failed !== undefined) throw failed;
  const entriesExpired = stats.entriesExpired ?? 0;
  return { outputs, bytesRead, entriesIn: stats.entriesIn, entriesDropped: stats.entriesDropped, entriesExpired };
}

/**
 * A flush: builds the table and, with FlushJob.path set, writes it there through `vfs`,
 * fdatasynced; otherwise its bytes come back for the caller to write.
 */
export async function runFlush(job: FlushJob, vfs: Vfs): Promise<FlushResult> {
  if (!job.path) return buildFlushTable(job);
  const sink = new TableFileSink(await vfs.openWritable(job.path));
  let r: FlushResult;
  try {
    r = buildFlushTableTo(job, sink);
  } catch (e) {
    await sink.file.close().catch(() => undefined);
    throw e;
  }
  await sink.complete();
  return r;
}
