// What the engine does after a failed write, flush or compaction (RocksDB's ErrorHandler is the
// model). Every such failure stops writes: the database is `degraded` while it can recover by itself,
// `failed` when only a restart (and the recovery a restart does) can tell what reached the disk.
//
// A full disk (ENOSPC, EDQUOT) is recoverable when nothing half-done is left behind: a WAL append
// that failed part way was cut back to where its group began (db-impl.ts rewindLog), a flush or
// compaction that failed removed its partial outputs, a manifest that failed is replaced by a fresh
// one at the next edit. Then a retry runs in the background with backoff: it waits for free space
// (when the Vfs can tell), makes the cut WAL durable, and flushes the memtables waiting for it;
// when that works, writes are taken again. Any other error, or a cut that failed, is final.

import { Eau2Error, ErrorCode } from '../../kv/index.js';

export type HealthState = 'ok' | 'degraded' | 'failed';

export interface EngineHealth {
  state: HealthState;
  /** Why it is not ok: the failure's message. */
  reason?: string;
  /** `no-space` for a full disk (recovering by itself), `io` for other failures. */
  cause?: 'no-space' | 'io';
  /** Date.now() when it stopped being ok. */
  since?: number;
  /** Automatic retries made since. */
  retries?: number;
}

/** The engine's side of a recovery: db-impl.ts implements it. */
export interface Recoverable {
  bgError: Error | undefined;
  closed: boolean;
  /** Free bytes where the database lives, or undefined if the Vfs cannot tell. */
  freeBytes(): Promise<number | undefined>;
  /** Makes the state a failure left durable and finishes the work it interrupted; throws if it cannot yet. */
  resume(): Promise<void>;
  onRecovered(): void;
}

const FIRST_RETRY_MS = 200;
const MAX_RETRY_MS = 5000;
/** A retry waits until at least this much is free (a flush of a small memtable needs about that). */
const RESUME_FREE_BYTES = 1 << 20;

/** True if `e` (or an error it wraps) is the filesystem saying it is out of space or quota. */
export function isNoSpace(e: unknown): boolean {
  for (let x = e, depth = 0; x && depth < 8; x = (x as { cause?: unknown }).cause, depth++) {
    const code = (x as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
    if (x instanceof Error && /\bENOSPC\b/.test(x.message)) return true;
  }
  return false;
}

export class ErrorHandler {
  private recoverable = false;
  private since = 0;
  private retries = 0;
  private delay = FIRST_RETRY_MS;
  private timer: NodeJS.Timeout | undefined;
  private retrying = false;

  constructor(private readonly db: Recoverable) {}

  /**
   * Records a failure. `recoverable`: the caller left nothing half-done behind (see the header).
   * The first failure sets the state; a later one can only make it final.
   */
  onError(e: unknown, recoverable: boolean): void {
    const err = e instanceof Error ? e : new Error(String(e));
    const db = this.db;
    if (db.bgError) {
      if (!recoverable && this.recoverable && err !== db.bgError) {
        this.recoverable = false;
        db.bgError = err;
      }
      return;
    }
    db.bgError = err;
    this.recoverable = recoverable && isNoSpace(err);
    if (!this.retrying) {
      this.since = Date.now();
      this.retries = 0;
      this.delay = FIRST_RETRY_MS;
    }
    if (this.recoverable) this.schedule();
  }

  /** What writers get while the database is degraded: nothing of their write was applied. */
  refusal(): Eau2Error | Error | undefined {
    const e = this.db.bgError;
    if (!e || !this.recoverable) return e;
    return new Eau2Error(
      ErrorCode.UNAVAILABLE,
      `writes refused until the disk has room again (retrying by itself): ${e.message}`,
      { cause: e, details: { health: 'degraded', cause: 'no-space' } },
    );
  }

  health(): EngineHealth {
    const e = this.db.bgError;
    if (!e) return { state: 'ok' };
    return {
      state: this.recoverable ? 'degraded' : 'failed',
      reason: e.message,
      cause: isNoSpace(e) ? 'no-space' : 'io',
      since: this.since,
      retries: this.retries,
    };
  }

  private schedule(): void {
    if (this.timer || this.db.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.retry();
    }, this.delay);
    this.timer.unref();
    this.delay = Math.min(this.delay * 2, MAX_RETRY_MS);
  }

  private async retry(): Promise<void> {
    const db = this.db;
    if (db.closed || !db.bgError || !this.recoverable || this.retrying) return;
    this.retrying = true;
    this.retries++;
    try {
      const free = await db.freeBytes().catch(() => undefined);
      if (free !== undefined && free < RESUME_FREE_BYTES) return;
      await db.resume();
      if (db.bgError) return;
      this.recoverable = false;
      db.onRecovered();
    } catch (e) {
      // resume() puts what failed back through onError; anything else that escapes it is kept here.
      if (!db.bgError) this.onError(e, false);
    } finally {
      this.retrying = false;
      if (db.bgError && this.recoverable) this.schedule();
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
