// Rate-limited logging for failures that repeat: with a full disk every write fails alike, and one
// log line per failed request grew a node's log by 31,180 lines in 80 s. The first failure of a kind
// is logged at once; more of that kind within the window are counted, and the next one logged after
// it says how many were left out (`suppressed`).

import type { Logger } from './log.js';

interface Window {
  until: number;
  suppressed: number;
}

/** Kinds remembered at most; past it the oldest is forgotten (memory stays bounded). */
const MAX_KINDS = 256;

export class RateLimitedLog {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly log: () => Logger,
    private readonly windowMs: number,
  ) {}

  warn(kind: string, obj: Record<string, unknown>, msg: string): void {
    const now = Date.now();
    const w = this.windows.get(kind);
    if (w && now < w.until) {
      w.suppressed++;
      return;
    }
    const suppressed = w?.suppressed ?? 0;
    this.windows.delete(kind);
    if (this.windows.size >= MAX_KINDS) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(kind, { until: now + this.windowMs, suppressed: 0 });
    this.log().warn(suppressed > 0 ? { ...obj, suppressed } : obj, msg);
  }
}
