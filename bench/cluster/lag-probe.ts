// Replication lag as a client sees it, measured the same way on both systems while a workload runs:
// write a fresh probe key to the primary copy, then read it from a replica in a tight loop until it
// appears. The time from the write's acknowledgement to the first replica read that sees it is one
// sample (an upper bound on the lag, within one read's round trip).

import { Histogram } from '../lib/histogram.js';

export interface LagTarget {
  writePrimary(key: string, value: string): Promise<void>;
  readReplica(key: string): Promise<string | undefined>;
}

export class LagProbe {
  private stopped = false;
  private done: Promise<void> | undefined;
  readonly hist = new Histogram();
  timeouts = 0;

  constructor(
    private readonly t: LagTarget,
    private readonly everyMs = 25,
    private readonly giveUpMs = 2000,
  ) {}

  start(tag: string): void {
    this.done = (async () => {
      for (let n = 0; !this.stopped; n++) {
        const key = `probe:${tag}:${n}`;
        const value = String(n);
        try {
          await this.t.writePrimary(key, value);
          const t0 = process.hrtime.bigint();
          for (;;) {
            if ((await this.t.readReplica(key)) === value) {
              this.hist.recordNs(Number(process.hrtime.bigint() - t0));
              break;
            }
            if (Number(process.hrtime.bigint() - t0) / 1e6 > this.giveUpMs) {
              this.timeouts++;
              break;
            }
          }
        } catch {
          this.timeouts++;
        }
        await new Promise((r) => setTimeout(r, this.everyMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}
