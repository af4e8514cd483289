// A node's own health, as /healthz, /cluster and /metrics report it: its engine's state (ok, degraded
// while a full disk keeps writes refused and the engine retries by itself, failed after any other
// write error), the free space where its data lives against a warning threshold, and the tables the
// engine's scrub found damaged. Checked every couple of seconds: each change of state is logged once
// (not once per refused request), and `onEngineOk` runs at every check that finds the engine ok, so
// the node takes writes again for the partitions it stopped leading.

import { statfsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { Logger } from '../log.js';
import type { EngineLike } from './engine-api.js';

export interface HealthReport {
  /** `ok`, or what keeps the node from taking writes: `degraded` (recovering by itself) or `failed`. */
  status: 'ok' | 'degraded' | 'failed';
  reason?: string;
  cause?: string;
  /** Bytes free where the node's data lives (statfs), when known. */
  diskFreeBytes?: number;
  /** True when diskFreeBytes is under the config's diskFreeWarnBytes. */
  diskLow?: boolean;
  /** Tables the engine found damaged and not repaired yet. */
  damagedTables?: number;
}

const CHECK_MS = 2000;
/** A report reads the free space again when the last figure is older than this. */
const FRESH_MS = 500;

export class NodeHealth {
  private timer: NodeJS.Timeout | undefined;
  private lastState = 'ok';
  private freeBytes: number | undefined;
  private low = false;
  private measuredAt = 0;

  constructor(
    private readonly engine: EngineLike,
    private readonly dataDir: string,
    private readonly warnBytes: number,
    private readonly log: Logger,
    private readonly onEngineOk: () => void,
    /** Runs at every check (the node starts repairs of damaged tables from here). */
    private readonly onCheck: () => void = () => {},
  ) {}

  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  report(): HealthReport {
    // The engine's state is read live, so the disk figure beside it must not be the one from before
    // the disk filled up: a report re-reads it (one statfs) when the periodic one is not fresh.
    if (Date.now() - this.measuredAt > FRESH_MS) {
      try {
        this.setFree(statfsSync(this.dataDir));
      } catch {
        this.freeBytes = undefined;
      }
    }
    const h = this.engine.health?.() ?? { state: 'ok' as const };
    const out: HealthReport = { status: h.state };
    if (h.reason !== undefined) out.reason = h.reason;
    if (h.cause !== undefined) out.cause = h.cause;
    if (this.freeBytes !== undefined) {
      out.diskFreeBytes = this.freeBytes;
      out.diskLow = this.low;
    }
    const damaged = this.engine.damagedTables?.().length ?? 0;
    if (damaged > 0) out.damagedTables = damaged;
    return out;
  }

  /** Free bytes as last measured (for /metrics). */
  diskFree(): number | undefined {
    return this.freeBytes;
  }

  diskLow(): boolean {
    return this.low;
  }

  private setFree(s: { bavail: number; bsize: number }): void {
    this.measuredAt = Date.now();
    this.freeBytes = s.bavail * s.bsize;
    const low = this.freeBytes < this.warnBytes;
    if (low !== this.low)
      this.log[low ? 'warn' : 'info'](
        { freeBytes: this.freeBytes, warnBytes: this.warnBytes },
        low ? 'disk space low' : 'disk space back above the warning threshold',
      );
    this.low = low;
  }

  async check(): Promise<void> {
    this.onCheck();
    try {
      this.setFree(await statfs(this.dataDir));
    } catch {
      this.freeBytes = undefined;
    }
    const h = this.engine.health?.();
    const state = h?.state ?? 'ok';
    if (state !== this.lastState) {
      if (state === 'ok') this.log.info({ was: this.lastState }, 'engine healthy again: writes resume');
      else
        this.log[state === 'failed' ? 'error' : 'warn'](
          { state, cause: h?.cause, reason: h?.reason },
          state === 'degraded' ? 'engine degraded: writes refused until it recovers' : 'engine failed: writes refused',
        );
      this.lastState = state;
    }
    // At every check that finds the engine ok, not only on a change seen between two checks: a
    // failure (a full disk) and the engine's own recovery can both fall between two checks, and the
    // partitions that stopped leading would then stay stopped.
    if (state === 'ok') this.onEngineOk();
  }
}
