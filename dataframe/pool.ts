// Bounded parallelism for chunk I/O. Chunk reads and writes are independent KV operations, so running
// several at once hides store (and network) latency; bounding how many are in flight bounds memory,
// which is what lets a frame larger than RAM be stored or scanned.

/**
 * Runs fn(0..n-1) with at most `concurrency` calls in flight. On the first failure no new calls
 * start; the promise rejects with that failure once the calls already running have settled.
 */
export async function forEachLimit(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < n) {
      const i = next++;
      try {
        await fn(i);
      } catch (e) {
        if (!failed) firstError = e;
        failed = true;
      }
    }
  };
  const k = Math.max(1, Math.min(concurrency, n));
  await Promise.all(Array.from({ length: k }, worker));
  if (failed) throw firstError;
}

/**
 * Yields fn(items[0]), fn(items[1]), ... in order while keeping up to `ahead` later calls running:
 * a prefetching scan whose memory is bounded by `ahead` results. Abandoning the iteration stops new
 * calls (running ones finish and are dropped).
 */
export async function* mapOrdered<T, R>(
  items: readonly T[],
  ahead: number,
  fn: (item: T) => Promise<R>,
): AsyncGenerator<R> {
  const window: Promise<R>[] = [];
  let next = 0;
  const fill = (): void => {
    while (next < items.length && window.length < Math.max(1, ahead)) {
      const p = fn(items[next++]!);
      p.catch(() => undefined); // observed below; avoids an unhandled rejection if the consumer stops early
      window.push(p);
    }
  };
  fill();
  while (window.length > 0) {
    const r = await window.shift()!;
    fill();
    yield r;
  }
}

/** A counting semaphore for callers that produce work as they go (the streaming writer). */
export class Limiter {
  private running = 0;
  private readonly waiters: (() => void)[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private error: unknown;
  private failed = false;

  constructor(private readonly limit: number) {}

  /** Number of tasks started and not yet settled. */
  get active(): number {
    return this.running;
  }

  /** Resolves when a slot is free. Rejects with the first task failure, if any. */
  async acquire(): Promise<void> {
    while (this.running >= this.limit && !this.failed) await new Promise<void>((r) => this.waiters.push(r));
    if (this.failed) throw this.error;
  }

  /** Throws the first task failure, if any. */
  check(): void {
    if (this.failed) throw this.error;
  }

  /** Starts a task (call after acquire). Its failure is reported by the next acquire or drain. */
  start(task: () => Promise<void>): void {
    this.running++;
    const p = task()
      .catch((e: unknown) => {
        if (!this.failed) this.error = e;
        this.failed = true;
      })
      .finally(() => {
        this.running--;
        this.inflight.delete(p);
        this.waiters.shift()?.();
      });
    this.inflight.add(p);
  }

  /** Waits for every started task; rejects with the first failure. */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
    if (this.failed) throw this.error;
  }
}
