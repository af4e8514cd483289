// The CSV importer's parallel path: the file is cut into byte ranges that parse threads
// (csv-worker.ts) split into records and convert into typed column pieces, while this thread hands
// the pieces, in file order, to the frame writer, which encodes and stores them. The types are
// decided before (importCsv infers them from its sample exactly as on one thread), so a range's
// values are converted where they are parsed.
//
// Where the ranges are cut: after a record delimiter found at or after each nominal offset, which
// lies inside a quoted field when a field holds a line break there. A range is used only once the
// range before it, parsed from a true record start, is found to end exactly where it starts; else it
// is parsed again from where the range before it ended (csv-worker.ts). Every record is thus read from
// a true record start, as on one thread, and the frame is the same; a file whose quoted line breaks
// fall on many cuts costs up to one more parse of those ranges.
//
// Memory: at most `2 x threads` ranges are being parsed or wait to be written, each about
// `rangeBytes` of text (a range is longer only by the record that crosses its end), plus the
// writer's window.

import type { Worker } from 'node:worker_threads';
import { Eau2Error, ErrorCode, startModuleWorker } from '../../kv/index.js';
import { makeColumn, StringColumn, type Column, type NullBitmap } from '../column.js';
import { describeValue, type Field } from '../schema.js';
import type { DataFrameWriter } from '../writer.js';
import { recordError } from './csv-records.js';
import type { Piece, RangeJob, RangeReply } from './csv-worker.js';
import { aTypeName } from './text-values.js';

/** Nominal bytes per range: ~35,000 rows of a typical table, a few ms of parsing each. */
export const DEFAULT_RANGE_BYTES = 2 * 1024 * 1024;
/** Files smaller than this are parsed on the importing thread: starting threads would cost more. */
export const PARALLEL_MIN_BYTES = 4 * 1024 * 1024;
/** How long an idle parse thread is kept for the next import. */
const IDLE_MS = 10_000;

type Reply = RangeReply | { id: number; failure: string };

const idle: ParseThread[] = [];

class ParseThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: RangeReply) => void; reject: (e: Error) => void }>();
  private dead: Error | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    this.worker = startModuleWorker(import.meta.url, 'csv-worker');
    this.worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (!p) return;
      if ('failure' in m) p.reject(new Error(m.failure));
      else p.resolve(m);
    });
    const die = (e: Error): void => {
      this.dead ??= e;
      for (const p of this.pending.values()) p.reject(this.dead);
      this.pending.clear();
      const k = idle.indexOf(this);
      if (k >= 0) idle.splice(k, 1);
    };
    this.worker.on('error', (e) => die(new Error(`a CSV parse thread stopped: ${e.message}`)));
    this.worker.on('exit', (code) => die(new Error(`a CSV parse thread exited (${code})`)));
  }

  get load(): number {
    return this.pending.size;
  }

  static acquire(n: number): ParseThread[] {
    const out: ParseThread[] = [];
    while (out.length < n) {
      const t = idle.pop() ?? new ParseThread();
      clearTimeout(t.timer);
      t.worker.ref();
      out.push(t);
    }
    return out;
  }

  parse(job: RangeJob): Promise<RangeReply> {
    if (this.dead) return Promise.reject(this.dead);
    const p = new Promise<RangeReply>((resolve, reject) => {
      this.pending.set(job.id, { resolve, reject });
      this.worker.postMessage(job);
    });
    p.catch(() => {}); // awaited in file order, or dropped when an earlier range fails
    return p;
  }

  /** Kept for the next import if healthy and idle (up to 4 kept), else ended. */
  release(): void {
    if (this.dead || this.pending.size > 0 || idle.length >= 4) {
      this.dead ??= new Error('the parse thread was released');
      void this.worker.terminate();
      return;
    }
    this.worker.unref();
    this.timer = setTimeout(() => {
      const k = idle.indexOf(this);
      if (k >= 0) idle.splice(k, 1);
      void this.worker.terminate();
    }, IDLE_MS);
    this.timer.unref();
    idle.push(this);
  }
}

/** Starts `n` parse threads ahead of use (their start-up overlaps the sample's parse). */
export function parseThreads(n: number): ParseThread[] {
  return ParseThread.acquire(n);
}

export function releaseThreads(threads: ParseThread[]): void {
  for (const t of threads) t.release();
}

export interface RangePlan {
  file: string;
  size: number;
  delimiter: string;
  newline: '\n' | '\r\n' | '\r';
  /** Fields per record (the first record's). */
  width: number;
  header: boolean;
  fields: readonly Field[];
  nulls: string[] | undefined;
  /** Per column, whether its type was inferred (the error then says how to fix it). */
  guessed: readonly boolean[];
  rangeBytes: number;
  onBytes: (bytes: number) => void;
}

function columnOf(p: Piece, rows: number): Column {
  const nulls: NullBitmap | undefined = p.nulls ? new Uint8Array(p.nulls) : undefined;
  switch (p.type) {
    case 'S': {
      if ('dict' in p) {
        const codes =
          p.codeBytes === 1
            ? new Uint8Array(p.codes)
            : p.codeBytes === 2
              ? new Uint16Array(p.codes)
              : new Uint32Array(p.codes);
        return new StringColumn(undefined, rows, nulls, { dict: p.dict, codes });
      }
      const ends = new Uint32Array(p.ends);
      const vals = new Array<string>(rows);
      let a = 0;
      for (let i = 0; i < rows; i++) {
        const b = ends[i]!;
        vals[i] = p.joined.slice(a, b);
        a = b;
      }
      return makeColumn('S', vals, rows, nulls);
    }
    case 'I':
    case 'd':
      return makeColumn(p.type, new Int32Array(p.values), rows, nulls);
    case 'D':
      return makeColumn('D', new Float64Array(p.values), rows, nulls);
    case 'B':
      return makeColumn('B', new Uint8Array(p.values), rows, nulls);
    case 'L':
    case 'T':
      return makeColumn(p.type, new BigInt64Array(p.values), rows, nulls);
  }
}

let nextJob = 1;

/**
 * Parses the whole file (header included) on `threads` and appends its rows to `writer` in file
 * order. Throws the import's error (INVALID naming the record) at the first range that holds one.
 */
export async function writeRanges(writer: DataFrameWriter, threads: ParseThread[], plan: RangePlan): Promise<void> {
  const { size, rangeBytes } = plan;
  const count = Math.max(1, Math.ceil(size / rangeBytes));
  const window = 2 * threads.length;
  const types = plan.fields.map((f) => f.type);
  const names = plan.fields.map((f) => f.name);
  const job = (k: number, from: number, aligned: boolean, skipHeader: boolean): RangeJob => ({
    id: nextJob++,
    file: plan.file,
    from,
    to: k + 1 >= count ? size : (k + 1) * rangeBytes,
    aligned,
    delimiter: plan.delimiter,
    newline: plan.newline,
    width: plan.width,
    types,
    names,
    nulls: plan.nulls,
    first: from === 0,
    skipHeader,
  });
  const leastLoaded = (): ParseThread => threads.reduce((a, b) => (b.load < a.load ? b : a));
  const inflight = new Map<number, Promise<RangeReply>>();
  let dispatched = 0;
  /** Records read so far in the file (the header is record 1). */
  let records = 0;
  /** Where the next range must start: the byte after the last record read. */
  let at = 0;
  for (let k = 0; k < count; k++) {
    while (dispatched < count && dispatched < k + window) {
      const d = dispatched++;
      inflight.set(d, leastLoaded().parse(job(d, d * rangeBytes, d === 0, d === 0 && plan.header)));
    }
    let reply = await inflight.get(k)!;
    inflight.delete(k);
    // Parsed from the wrong place (a cut inside a quoted field), or before the header was read: again,
    // from where the records read so far end.
    const needHeader = plan.header && records === 0;
    if (reply.start !== at || (needHeader && reply.records > 0 && !reply.skippedHeader))
      reply = await leastLoaded().parse(job(k, at, true, needHeader));
    if (reply.parseError) {
      const { record, what } = reply.parseError;
      throw recordError(records + record, what);
    }
    if (reply.valueError) {
      const { record, col, text } = reply.valueError;
      const f = plan.fields[col]!;
      throw new Eau2Error(
        ErrorCode.INVALID,
        `record ${records + record}, column ${JSON.stringify(f.name)}: ` +
          `${describeValue(text)} is not ${aTypeName(f.type)}; ` +
          (plan.guessed[col]
            ? 'the type was inferred from a sample: give a schema or sample all rows'
            : 'check the schema'),
      );
    }
    records += reply.records;
    at = reply.end;
    if (reply.rows > 0) {
      const batch: Record<string, Column> = {};
      reply.cols!.forEach((p, i) => (batch[names[i]!] = columnOf(p, reply.rows)));
      await writer.appendColumns(batch);
    }
    plan.onBytes(at);
  }
  if (at !== size) throw new Error(`the CSV ranges ended at byte ${at} of ${size}`);
}
