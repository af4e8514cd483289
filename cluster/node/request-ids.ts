// Request ids a leader remembers (docs/api.md, "Retrying writes"): a client retrying a write whose
// outcome it does not know sends the same id, and the leader answers from what it remembers instead
// of applying the write a second time: a write still in progress is joined, one that succeeded is
// answered as done. A write that failed is forgotten at once, so its retry runs again: every failure
// but a timeout means "not applied", and a w>1 write whose followers timed out is already applied
// here, so running it again writes the same operations and waits for the followers again.
// Memory is bounded: at most maxEntries ids, each kept ttlMs, the oldest dropped first. Only the
// leader that took the write knows its id: after a failover, a retry at the new leader applies the
// write again (docs/failover.md says what an unacknowledged write may then do).

interface Entry {
  key: string;
  at: number;
  /** The write while it runs; undefined once it succeeded (then `value` is its result). */
  done: Promise<unknown> | undefined;
  value: unknown;
}

export class RequestIds {
  private readonly entries = new Map<string, Entry>();
  /**
   * Every entry in the order it was made, from `head` on: the oldest is found without an iterator
   * per call. A failed write's entry stays here after it left the map, and is skipped then.
   */
  private order: Entry[] = [];
  private head = 0;
  /** Retries answered from memory (for /metrics and tests). */
  replayed = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /**
   * Runs `write` for request `id` of partition p once: a second call with the same id while the
   * first runs, or within ttlMs after it succeeded, resolves or rejects with the first's outcome.
   * Without an id (or with ttlMs 0) every call runs. A write that throws at once is a rejection too.
   * An id that succeeded keeps its result, not its promise: the ids live for ttlMs (100,000 of them
   * at the default cap), and a settled promise per id would sit in the old generation for nothing.
   */
  run<T>(p: number, id: string | undefined, write: () => Promise<T>): Promise<T> {
    if (id === undefined || this.ttlMs === 0) return call(write);
    const now = this.now();
    this.expire(now);
    const key = `${p}:${id}`;
    const have = this.entries.get(key);
    if (have) {
      this.replayed++;
      return (have.done ?? Promise.resolve(have.value)) as Promise<T>;
    }
    const entry: Entry = { key, at: now, done: undefined, value: undefined };
    const done = call(write).then(
      (v) => {
        entry.done = undefined;
        entry.value = v;
        return v;
      },
      (e: unknown) => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
        throw e;
      },
    );
    entry.done = done;
    this.entries.set(key, entry);
    this.order.push(entry);
    while (this.entries.size > this.maxEntries && this.head < this.order.length) this.dropOldest();
    // Failed writes' entries, gone from the map, are left here: bounded by compacting.
    if (this.order.length - this.head > 2 * this.maxEntries + 1024) {
      this.order = this.order.slice(this.head).filter((e) => this.entries.get(e.key) === e);
      this.head = 0;
    }
    return done;
  }

  /** Drops the ids older than ttlMs, oldest first. */
  private expire(now: number): void {
    while (this.head < this.order.length && now - this.order[this.head]!.at >= this.ttlMs) this.dropOldest();
  }

  private dropOldest(): void {
    const e = this.order[this.head]!;
    this.order[this.head++] = undefined as unknown as Entry;
    if (this.entries.get(e.key) === e) this.entries.delete(e.key);
    if (this.head > 4096 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}

function call<T>(write: () => Promise<T>): Promise<T> {
  try {
    return write();
  } catch (e) {
    return Promise.reject(e);
  }
}
