// One engine x one workload, in a process of its own (forked by main.ts): fills what the workload
// needs untimed, then times each mode and sends the figures back over IPC. A process per job keeps
// one engine's caches, threads, heap and page-cache habits from colouring the next one's numbers.

import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { diskUsage } from '../lib/disk-usage.js';
import { Probe } from '../lib/process-probes.js';
import type { BenchDb, BenchOp, EngineAdapter } from './adapters/adapter.js';
import { adapterByName } from './adapters/registry.js';
import {
  makeKey,
  makeMissingKey,
  permutation,
  sequential,
  uniform,
  ValueSource,
  KEY_SIZE,
  VALUE_SIZE,
} from './keys.js';
import type { ChildJob, ChildReply, ModeResult, WriteFigures } from './results.js';
import {
  runAwaited,
  runConcurrent,
  runScan,
  runSync,
  startModeProfile,
  type LoopResult,
  type ModeProfiler,
} from './runner.js';
import { BATCH_SIZE, modeLabel, modesFor, workloadByName, type Mode, type Workload } from './workloads.js';

const ENTRY_BYTES = KEY_SIZE + VALUE_SIZE;

/** Starts a CPU profile of one mode when the job asks for profiles. */
async function profileStart(job: ChildJob): Promise<ModeProfiler | undefined> {
  return job.profileDir ? startModeProfile() : undefined;
}

async function profileStop(prof: ModeProfiler | undefined, job: ChildJob, w: Workload, mode: Mode): Promise<void> {
  if (!prof || !job.profileDir) return;
  await prof.stop(join(job.profileDir, `${job.engine}-${w.name}-${modeLabel(mode)}-run${job.run}.cpuprofile`));
}

/** Stores keys 0..num-1 in random order, BATCH_SIZE per batch: the fastest way every engine
 * offers, and random order so the LSM engines end up with overlapping tables as in real use. */
async function prefill(db: BenchDb, num: number, seed: number): Promise<void> {
  const order = permutation(num, seed ^ 0x5eed);
  const values = new ValueSource(seed ^ 0xfa11);
  for (let base = 0; base < num; base += BATCH_SIZE) {
    const ops: BenchOp[] = [];
    for (let i = base; i < Math.min(num, base + BATCH_SIZE); i++) {
      ops.push({ type: 'put', key: makeKey(order[i]!), value: values.next() });
    }
    await db.batch(ops, false);
  }
}

/** Quiet time that counts as settled (shorter for tiny databases, e.g. --quick), how often to look,
 * and the most to wait. */
const SETTLE_QUIET_MS = 3000;
const SETTLE_QUIET_SMALL_MS = 500;
const SETTLE_SMALL_NUM = 100_000;
const SETTLE_POLL_MS = 100;
const SETTLE_MAX_MS = 20 * 60 * 1000;

/**
 * Waits until the engine's background work (flushes, compactions) left behind by the untimed fill
 * has finished, so the timed reads measure reads and not the fill's backlog. The same rule for every
 * engine: its own counters (eau2's stats, LevelDB's "leveldb.stats" compaction table, lmdb's stats)
 * unchanged for the quiet time. Returns the milliseconds waited.
 */
async function settle(db: BenchDb, num: number): Promise<number> {
  const quietMs = num < SETTLE_SMALL_NUM ? SETTLE_QUIET_SMALL_MS : SETTLE_QUIET_MS;
  const t0 = performance.now();
  let last = JSON.stringify(db.stats()?.raw ?? null);
  let quietSince = t0;
  while (performance.now() - quietSince < quietMs && performance.now() - t0 < SETTLE_MAX_MS) {
    await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
    const now = JSON.stringify(db.stats()?.raw ?? null);
    if (now !== last) {
      last = now;
      quietSince = performance.now();
    }
  }
  return performance.now() - t0;
}

function reportSettle(job: ChildJob, w: Workload, waitedMs: number): void {
  const how =
    waitedMs >= SETTLE_MAX_MS
      ? `still busy after ${(SETTLE_MAX_MS / 60_000).toFixed(0)} min, timed anyway`
      : `settled ${(waitedMs / 1000).toFixed(1)} s after the fill`;
  process.stderr.write(`${job.engine} ${w.name}: background work ${how}\n`);
}

function figures(job: ChildJob, w: Workload, mode: Mode, loop: LoopResult, ops: number, probe: Probe): ModeResult {
  const p = probe.stop();
  return {
    engine: job.engine,
    workload: w.name,
    mode: mode.name,
    concurrency: mode.concurrency,
    run: job.run,
    ops,
    elapsedMs: loop.elapsedMs,
    opsPerSec: ops / (loop.elapsedMs / 1000),
    mbPerSec: loop.bytes / 1e6 / (loop.elapsedMs / 1000),
    latency: loop.hist.summary(),
    lagP99Ms: p.lag.p99Ms,
    lagMaxMs: p.lag.maxMs,
    peakRssBytes: p.peakRssBytes,
    errors: [],
  };
}

async function measureRead(job: ChildJob, w: Workload, mode: Mode, db: BenchDb): Promise<ModeResult> {
  const ops = w.ops(job.num, job.reads);
  const draws = uniform(ops, job.num, job.seed ^ 0x4ead);
  let found = 0;
  const prof = await profileStart(job);
  const probe = new Probe().start();
  let loop: LoopResult;
  if (w.kind === 'scan') {
    const reverse = w.name === 'readreverse';
    const scan = await runScan((onEntry) =>
      mode.name === 'sync' ? db.scanSync(reverse, onEntry) : db.scan(reverse, onEntry),
    );
    found = scan.entries;
    loop = scan;
  } else {
    const missing = w.name === 'readmissing';
    const key = (i: number) => (missing ? makeMissingKey(draws[i]!) : makeKey(draws[i]!));
    const count = (v: Uint8Array | undefined) => (v === undefined ? 0 : (found++, KEY_SIZE + v.length));
    const countEntry = (e: [Uint8Array, Uint8Array] | undefined) =>
      e === undefined ? 0 : (found++, e[0].length + e[1].length);
    if (w.kind === 'seek') {
      if (mode.name === 'sync') loop = await runSync(ops, (i) => countEntry(db.seekSync(key(i))));
      else if (mode.name === 'awaited') loop = await runAwaited(ops, async (i) => countEntry(await db.seek(key(i))));
      else loop = await runConcurrent(ops, mode.concurrency, async (i) => countEntry(await db.seek(key(i))));
    } else if (mode.name === 'sync') loop = await runSync(ops, (i) => count(db.getSync(key(i))));
    else if (mode.name === 'awaited') loop = await runAwaited(ops, async (i) => count(await db.get(key(i))));
    else loop = await runConcurrent(ops, mode.concurrency, async (i) => count(await db.get(key(i))));
  }
  const r = figures(job, w, mode, loop, w.kind === 'scan' ? found : ops, probe);
  await profileStop(prof, job, w, mode);
  r.engineStats = db.stats()?.raw;
  r.found = found;
  const expected = w.name === 'readmissing' ? 0 : ops;
  if (found !== expected) r.errors.push(`${w.name}/${mode.name}: found ${found} entries, expected ${expected}`);
  return r;
}

async function measureWrite(
  job: ChildJob,
  w: Workload,
  mode: Mode,
  adapter: EngineAdapter,
  dir: string,
  withCompaction: boolean,
): Promise<ModeResult> {
  const ops = w.ops(job.num, job.reads);
  let db = await adapter.open(dir, { syncWrites: w.sync });
  if (w.prefill) {
    await prefill(db, job.num, job.seed);
    // overwrite and deleterandom time writes over a full database, not over the fill's backlog.
    reportSettle(job, w, await settle(db, job.num));
  }
  const order =
    w.name === 'fillseq' || w.kind === 'batch' ? sequential(job.num) : permutation(job.num, job.seed ^ 0x0de7);
  const values = new ValueSource(job.seed ^ 0x7a1e);
  const isDelete = w.name === 'deleterandom';
  const prof = await profileStart(job);
  const probe = new Probe().start();
  let loop: LoopResult;
  if (w.kind === 'batch') {
    const batches = Math.ceil(ops / BATCH_SIZE);
    loop = await runAwaited(batches, async (b) => {
      const batch: BenchOp[] = [];
      for (let i = b * BATCH_SIZE; i < Math.min(ops, (b + 1) * BATCH_SIZE); i++) {
        batch.push({ type: 'put', key: makeKey(order[i]!), value: values.next() });
      }
      await db.batch(batch, w.sync);
      return batch.length * ENTRY_BYTES;
    });
  } else {
    const op = isDelete
      ? async (i: number) => (await db.del(makeKey(order[i]!), w.sync), KEY_SIZE)
      : async (i: number) => (await db.put(makeKey(order[i]!), values.next(), w.sync), ENTRY_BYTES);
    loop = mode.name === 'awaited' ? await runAwaited(ops, op) : await runConcurrent(ops, mode.concurrency, op);
  }
  // Bytes written count through close(): flushes and compactions the writes caused are part of
  // their cost even when they finish after the last write resolved.
  const stats = adapter.capabilities.stats ? db.stats() : undefined;
  await db.close();
  const r = figures(job, w, mode, loop, ops, probe);
  const io = probe.ioSoFar();
  // After the I/O is read: the profile file the profiler writes is not the workload's.
  await profileStop(prof, job, w, mode);
  const userBytes = ops * (isDelete ? KEY_SIZE : ENTRY_BYTES);
  const spaceBytes = diskUsage(dir).allocatedBytes;
  let spaceAfterCompactBytes: number | null = null;
  if (withCompaction) {
    db = await adapter.open(dir, { syncWrites: false });
    await db.compact();
    await db.close();
    spaceAfterCompactBytes = diskUsage(dir).allocatedBytes;
  }
  const live = w.liveEntries?.(job.num, ops);
  const liveBytes = live === undefined || live === 0 ? null : live * ENTRY_BYTES;
  const write: WriteFigures = {
    userBytes,
    diskWriteBytes: io ? io.writeBytes : null,
    writeAmp: io ? io.writeBytes / userBytes : null,
    wcharBytes: io ? io.wchar : null,
    engineBytesWritten: stats?.engineBytesWritten ?? null,
    engineWriteAmp: stats?.writeAmplification ?? null,
    spaceBytes,
    spaceAfterCompactBytes,
    liveBytes,
    spaceAmp: liveBytes === null ? null : (spaceAfterCompactBytes ?? spaceBytes) / liveBytes,
  };
  r.write = write;
  if (stats) r.engineStats = stats.raw;
  return r;
}

async function runJob(job: ChildJob): Promise<ChildReply> {
  const adapter = adapterByName(job.engine);
  const w = workloadByName(job.workload);
  const modes = modesFor(w, adapter.capabilities, job.concurrency);
  const results: ModeResult[] = [];
  const reply: ChildReply = { ok: true, results, engineDescription: await adapter.describe() };
  try {
    if (w.kind === 'write' || w.kind === 'batch') {
      for (const [idx, mode] of modes.entries()) {
        const dir = join(job.dir, `${w.name}-${mode.name}`);
        mkdirSync(dir, { recursive: true });
        // A full compaction costs as much as the workload: measure space after it once, in the
        // awaited mode, which is the one the space target is stated for.
        results.push(await measureWrite(job, w, mode, adapter, dir, idx === 0 && adapter.capabilities.compact));
        rmSync(dir, { recursive: true, force: true });
      }
    } else {
      const dir = join(job.dir, w.name);
      mkdirSync(dir, { recursive: true });
      const db = await adapter.open(dir, { syncWrites: false });
      await prefill(db, job.num, job.seed);
      reportSettle(job, w, await settle(db, job.num));
      for (const mode of modes) results.push(await measureRead(job, w, mode, db));
      await db.close();
    }
  } catch (err) {
    reply.ok = false;
    reply.error = err instanceof Error ? (err.stack ?? err.message) : String(err);
  }
  return reply;
}

const job = JSON.parse(process.argv[2] ?? '{}') as ChildJob;
const reply = await runJob(job);
if (process.send) process.send(reply, () => process.exit(0));
else {
  process.stdout.write(`${JSON.stringify(reply, null, 2)}\n`);
  process.exit(0);
}
