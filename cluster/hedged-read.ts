// Tail-tolerant reads of a replica ("The Tail at Scale", Dean & Barroso 2013: hedged requests). A
// read that may be served by several replicas asks one; if it has not answered within that
// replica's hedge delay, the next one is asked too, and the first answer wins. A failure moves on
// to the next at once. The hedge delay adapts to each replica: its mean latency plus four mean
// deviations (TCP's retransmission timeout, RFC 6298), at least MIN_HEDGE_MS and at most the
// configured replica read timeout. A replica that did not answer within its delay is slow: it is
// asked last for SLOW_AVOID_MS. Used by the node's router and by ClusterClient.

import { performance } from 'node:perf_hooks';

/** Shortest hedge delay: below it, a hedge would double the load for nothing on loopback noise. */
const MIN_HEDGE_MS = 20;
/** How long a replica that missed its hedge delay is asked last. */
const SLOW_AVOID_MS = 5000;
/** Weight of a new sample in the latency mean and deviation (RFC 6298's alpha and beta). */
const ALPHA = 0.125;
const BETA = 0.25;

interface Stats {
  mean: number;
  dev: number;
}

export class ReplicaLatency {
  private readonly stats = new Map<string, Stats>();
  private readonly slowUntil = new Map<string, number>();
  /** Hedges sent (a replica missed its delay), for /metrics and tests. */
  hedges = 0;

  constructor(
    /** The most a replica is waited for before the next is asked. */
    readonly maxMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  observe(node: string, ms: number): void {
    const s = this.stats.get(node);
    if (!s) {
      this.stats.set(node, { mean: ms, dev: ms / 2 });
      return;
    }
    s.dev = (1 - BETA) * s.dev + BETA * Math.abs(s.mean - ms);
    s.mean = (1 - ALPHA) * s.mean + ALPHA * ms;
  }

  /** How long to wait for `node` before asking another replica too. */
  hedgeDelay(node: string): number {
    const s = this.stats.get(node);
    const d = s ? s.mean + 4 * s.dev : this.maxMs / 4;
    return Math.min(this.maxMs, Math.max(MIN_HEDGE_MS, d));
  }

  markSlow(node: string): void {
    this.slowUntil.set(node, this.now() + SLOW_AVOID_MS);
  }

  slow(node: string): boolean {
    const t = this.slowUntil.get(node);
    if (t === undefined) return false;
    if (t > this.now()) return true;
    this.slowUntil.delete(node);
    return false;
  }

  /** `nodes` with the slow ones moved last, order otherwise kept. */
  order(nodes: readonly string[]): string[] {
    return [...nodes.filter((n) => !this.slow(n)), ...nodes.filter((n) => this.slow(n))];
  }
}

/**
 * Asks `candidates` in order (each with `ask`), the next one when the last asked has not answered
 * within its hedge delay or has failed; resolves with the first answer, rejects with the last
 * error once every candidate failed. Answers that come after the first still update the latencies.
 * Only the first `hedgeable` candidates are asked on a hedge; the rest (replicas believed down) only
 * once every one before them has failed: asking a node known to be down because a live replica is
 * slow would cost a request and mark the live one slow, which puts it behind the down one next time.
 */
export function hedgedRead<T>(
  candidates: readonly string[],
  ask: (node: string) => Promise<T>,
  lat: ReplicaLatency,
  now: () => number = () => performance.now(),
  hedgeable: number = candidates.length,
): Promise<T> {
  if (candidates.length === 0) return Promise.reject(new TypeError('hedgedRead needs a candidate'));
  return new Promise<T>((resolve, reject) => {
    let next = 0;
    let failed = 0;
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const launch = (): void => {
      if (settled || next >= candidates.length) return;
      const node = candidates[next++]!;
      const t0 = now();
      if (timer) clearTimeout(timer);
      timer =
        next < Math.min(hedgeable, candidates.length)
          ? setTimeout(() => {
              lat.markSlow(node);
              lat.hedges++;
              launch();
            }, lat.hedgeDelay(node))
          : undefined;
      ask(node).then(
        (v) => {
          lat.observe(node, now() - t0);
          if (settled) return;
          settled = true;
          if (timer) clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          failed++;
          if (settled) return;
          if (next < candidates.length) launch();
          else if (failed === next) {
            settled = true;
            if (timer) clearTimeout(timer);
            reject(e);
          }
        },
      );
    };
    launch();
  });
}
