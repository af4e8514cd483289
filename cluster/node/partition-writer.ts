// Every replicated write a node applies to its engine goes through here: a leader's writes of each
// partition it leads and a follower's runs of streamed entries. What is issued within one turn of
// the event loop (every socket read and timer that turn serves: the commands of all the clients
// whose requests arrived together, the runs of every followed partition) becomes ONE atomic engine
// batch holding the data and, per partition touched, one LSN record with that partition's highest
// LSN. The group goes to the engine from setImmediate, after the poll phase has run every ready
// socket's callback, as Redis writes its AOF once per event-loop iteration (beforeSleep): one WAL
// record, one write(2) and one LSN record per partition for all of them, where a group per
// microtask gave each client's write its own (measured: redis-benchmark SET -P 1 with 50
// clients, bench/resp/README.md). The batch is atomic, so each partition's stored LSN still describes
// exactly the data stored with it (docs/format.md 8.6), and batches reach the engine in the order
// they are issued, so a partition's copy follows its log order. One LSN record per partition per
// batch instead of one per write: fewer memtable inserts and WAL records per replicated write.
// Until its group commits, each write a leader issues stays readable here (latest()): a
// read-modify-write at the leader (rmw.ts) reads this overlay, then the engine, and issues its write
// in the same synchronous step, so no other write of the key can fall between its read and its
// write. A follower's runs stay out of the overlay (a key id, a map entry and an object per write
// that nothing reads): nothing reads a followed partition's keys through it, and a follower becomes
// leader only after detaching, which waits for its runs to commit (FollowerPartition.detach).

import type { EngineLike, EngineOp } from './engine-api.js';
import { encodeLsn, lsnKey } from './stored-format.js';

/** A group this large (payload bytes) goes to the engine at once rather than waiting for the turn to end. */
const MAX_GROUP_BYTES = 4 * 1024 * 1024;

interface Group {
  ops: EngineOp[];
  /** Partition -> highest LSN in this group. */
  lsns: Map<number, number>;
  bytes: number;
  done: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
  /** Overlay keys (latin1 of the stored key) this group wrote. */
  keys: string[];
}

interface Pending {
  value: Uint8Array | null;
  group: Group;
}

const latin1Slice = (
  Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }
).latin1Slice;

/**
 * A stored key as a Map key: one byte per char, so equal bytes give equal strings. Buffer's
 * latin1Slice on the key itself: no Buffer view per call (a quarter of the cost of
 * Buffer.from(...).toString('latin1')).
 */
function keyId(k: Uint8Array): string {
  return latin1Slice.call(k, 0, k.length);
}

export class PartitionWriter {
  private group: Group | undefined;
  /** Issued writes not yet committed by the engine, newest per stored key. */
  private readonly pending = new Map<string, Pending>();
  /** Engine batches issued and writes they carried (for tests and stats). */
  batches = 0;
  writes = 0;

  constructor(private readonly engine: EngineLike) {}

  /**
   * Applies `ops` (stored keys) as partition p's log up to `lsn`, together with whatever else is
   * issued in this turn of the event loop. REQUIRES: for each partition, calls come in increasing LSN order.
   * Resolves once the engine has committed the whole group; rejects (every write of the group) if it
   * failed. `overlay` false (a follower's runs): latest() and settled() do not see these writes.
   */
  apply(p: number, ops: readonly EngineOp[], lsn: number, overlay = true): Promise<void> {
    let g = this.group;
    if (!g) g = this.group = this.newGroup();
    for (const op of ops) {
      g.ops.push(op);
      g.bytes += op.key.length + (op.type === 'put' ? op.value.length : 0);
      if (!overlay) continue;
      const id = keyId(op.key);
      g.keys.push(id);
      this.pending.set(id, { value: op.type === 'put' ? op.value : null, group: g });
    }
    g.lsns.set(p, lsn);
    this.writes++;
    if (g.bytes >= MAX_GROUP_BYTES) this.flush(g);
    return g.done;
  }

  /**
   * The newest write of `storedKey` issued but not yet committed: its value, null for a delete,
   * undefined when none is in flight (the engine's copy is the latest).
   */
  latest(storedKey: Uint8Array): Uint8Array | null | undefined {
    return this.pending.get(keyId(storedKey))?.value;
  }

  /** Settles once the write latest() reports for `storedKey` is committed (or failed). */
  settled(storedKey: Uint8Array): Promise<void> | undefined {
    return this.pending.get(keyId(storedKey))?.group.done.then(
      () => {},
      () => {},
    );
  }

  private forget(g: Group): void {
    for (const id of g.keys) if (this.pending.get(id)?.group === g) this.pending.delete(id);
  }

  private newGroup(): Group {
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const g: Group = { ops: [], lsns: new Map(), bytes: 0, done, resolve, reject, keys: [] };
    setImmediate(() => this.flush(g));
    return g;
  }

  private flush(g: Group): void {
    if (this.group !== g) return; // already flushed because it grew large
    this.group = undefined;
    for (const [p, lsn] of g.lsns) g.ops.push({ type: 'put', key: lsnKey(p), value: encodeLsn(lsn) });
    this.batches++;
    let done: Promise<void>;
    try {
      done = this.engine.batch(g.ops);
    } catch (e) {
      done = Promise.reject(e); // a synchronous throw must reach every waiter too
    }
    done.then(
      () => {
        this.forget(g);
        g.resolve();
      },
      (e) => {
        this.forget(g);
        g.reject(e);
      },
    );
  }
}
