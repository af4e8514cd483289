// Parsing on a thread of its own, with a deadline: what a node does with the SQL its HTTP clients send
// (parse-worker.ts says why). One thread per process, started on first use and parsing one statement
// at a time; a statement past its deadline ends the thread (the parser cannot be interrupted
// otherwise) and fails TOO_LARGE, and the next one starts a new thread. Between statements the thread
// does not keep the process alive, and it ends after IDLE_MS unused.

import type { Worker } from 'node:worker_threads';
import type { SelectStatement } from 'pgsql-ast-parser';
import { Eau2Error, ErrorCode, startModuleWorker } from '../../kv/index.js';

/** How long a statement may take to parse: EAU2_SQL_PARSE_MS, default 10 s. */
function parseDeadlineMs(): number {
  const v = Number(process.env.EAU2_SQL_PARSE_MS);
  return Number.isFinite(v) && v > 0 ? v : 10_000;
}

const IDLE_MS = 30_000;

interface Job {
  id: number;
  text: string;
  ms: number;
  resolve: (st: SelectStatement) => void;
  reject: (e: Error) => void;
}

type FromWorker =
  | { ready: true }
  | { id: number; statement: SelectStatement }
  | { id: number; error: { code?: ErrorCode; message: string; details?: Record<string, unknown> } };

let worker: Worker | undefined;
let ready = false;
let current: (Job & { timer?: NodeJS.Timeout }) | undefined;
const queue: Job[] = [];
let idleTimer: NodeJS.Timeout | undefined;
let nextId = 1;

function start(): Worker {
  const w = startModuleWorker(import.meta.url, 'parse-worker');
  ready = false;
  w.on('message', (m: FromWorker) => {
    if (w !== worker) return;
    if ('ready' in m) {
      ready = true;
      pump();
      return;
    }
    const job = current;
    if (!job || job.id !== m.id) return;
    clearTimeout(job.timer);
    current = undefined;
    if ('statement' in m) job.resolve(m.statement);
    else
      job.reject(
        m.error.code
          ? new Eau2Error(m.error.code, m.error.message, m.error.details ? { details: m.error.details } : {})
          : new Error(m.error.message),
      );
    pump();
  });
  const stopped = (why: string): void => {
    if (w !== worker) return; // ended on purpose
    worker = undefined;
    const job = current;
    current = undefined;
    clearTimeout(job?.timer);
    job?.reject(new Error(`the SQL parser's thread stopped: ${why}`));
    pump();
  };
  w.on('error', (e) => stopped(e.message));
  w.on('exit', (code) => stopped(`exit code ${code}`));
  return w;
}

function pump(): void {
  if (current) return;
  const job = queue.shift();
  if (!job) {
    worker?.unref();
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      const w = worker;
      worker = undefined;
      void w?.terminate();
    }, IDLE_MS).unref();
    return;
  }
  clearTimeout(idleTimer);
  worker ??= start();
  worker.ref();
  if (!ready) {
    queue.unshift(job); // sent once the thread has loaded the parser: its start-up is not the statement's time
    return;
  }
  current = job;
  current.timer = setTimeout(() => {
    const w = worker;
    worker = undefined;
    current = undefined;
    void w?.terminate();
    job.reject(
      new Eau2Error(
        ErrorCode.TOO_LARGE,
        `the statement took more than ${job.ms} ms to parse (EAU2_SQL_PARSE_MS): shorten it, e.g. a long chain of UNION ALL or of OR`,
      ),
    );
    pump();
  }, job.ms);
  worker.postMessage({ id: job.id, text: job.text });
}

/** The statement parsed on the parser's thread: as parse.ts's parseOne, within `ms` milliseconds. */
export function parseOffThread(text: string, ms = parseDeadlineMs()): Promise<SelectStatement> {
  return new Promise((resolve, reject) => {
    queue.push({ id: nextId++, text, ms, resolve, reject });
    pump();
  });
}
