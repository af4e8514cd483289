// A test stand-in for a ClusterClient: N nodes, each a MemoryStore holding the partitions it leads AND
// copies of partitions it follows, placed by murmur3_32 of the key's hash tag exactly as DESIGN.md
// says. It implements runTask the way the cluster contract asks: every up node runs the named task over
// its own store with isLeaderFor, and payloads and results cross a msgpack round trip like the wire.
// Because followers hold copies, a task that ignored isLeaderFor would double count, and tests see it.

import { Packr } from 'msgpackr';
import type { BatchOp, KeyLike, KvIterator, KvStore, Range, ValueLike } from '../../kv/index.js';
import { compareBytes, fromUtf8, hashKey as kvHashKey, partitionOf as kvPartitionOf, utf8 } from '../../kv/index.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { dataframeTasks, type ChunkCache } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';

/** The cluster's hash key: the text inside the first {...}, else the whole key. */
export function hashKey(key: string): string {
  return fromUtf8(kvHashKey(utf8(key)));
}

/** The cluster's partition function (kv/partition.ts). */
export function partitionOf(key: string, partitions: number): number {
  return kvPartitionOf(key, partitions);
}

const wire = new Packr({ useRecords: false });
const roundTrip = <T>(x: T): T => wire.unpack(wire.pack(x)) as T;

export class FakeCluster implements KvStore {
  readonly nodes: MemoryStore[];
  readonly down = new Set<number>();
  /** Set to make every node claim every chunk (a broken isLeaderFor), to prove the merger notices. */
  brokenLeadership = false;
  taskRuns = 0;

  constructor(
    readonly nodeCount = 3,
    readonly partitions = 16,
    readonly replication = 2,
    /** Per node, the chunk cache its tasks get (as a real node's dataframe hook gives them one). */
    readonly caches?: ChunkCache[],
  ) {
    this.nodes = Array.from({ length: nodeCount }, () => new MemoryStore());
  }

  /**
   * What a task on node `id` sees as its store, like a real node's: a key of a partition the node
   * holds is read from its own copy; any other key is read from that key's leader; writes go to
   * every replica of the key (through its leader, on a real node), a batch's ops each to its own
   * partition (a node's batch spans partitions, atomic within each); a scan reads the node's own copy.
   */
  private nodeView(id: number): KvStore {
    const own = this.nodes[id]!;
    return {
      get: (key) => (this.replicas(key).includes(id) ? own.get(key) : this.get(key)),
      put: (key, value) => this.put(key, value),
      del: (key) => this.del(key),
      batch: async (ops) => {
        for (const op of ops) await (op.type === 'put' ? this.put(op.key, op.value) : this.del(op.key));
      },
      scan: (range) => own.scan(range),
    };
  }

  /**
   * What a ClusterClient's `topology` shows, in the parts the dataframe writer reads to balance
   * row-chunks over leaders (partition p led by node p mod N, as leaderOf says). Tests turn it off to
   * stand in for a store that shows none.
   */
  showTopology = true;

  get topology():
    | { partitions: number; placement: { partition: number; leader: string; followers: string[] }[] }
    | undefined {
    if (!this.showTopology) return undefined;
    return {
      partitions: this.partitions,
      placement: Array.from({ length: this.partitions }, (_, p) => ({
        partition: p,
        leader: `n${p % this.nodeCount}`,
        followers: Array.from(
          { length: Math.min(this.replication, this.nodeCount) - 1 },
          (_, i) => `n${(p + i + 1) % this.nodeCount}`,
        ),
      })),
    };
  }

  private text(k: KeyLike): string {
    return typeof k === 'string' ? k : fromUtf8(k);
  }

  leaderOf(key: KeyLike): number {
    return partitionOf(this.text(key), this.partitions) % this.nodeCount;
  }

  private replicas(key: KeyLike): number[] {
    const l = this.leaderOf(key);
    return Array.from({ length: Math.min(this.replication, this.nodeCount) }, (_, i) => (l + i) % this.nodeCount);
  }

  async get(key: KeyLike): Promise<Uint8Array | undefined> {
    return this.nodes[this.leaderOf(key)]!.get(key);
  }

  async put(key: KeyLike, value: ValueLike): Promise<void> {
    for (const n of this.replicas(key)) await this.nodes[n]!.put(key, value);
  }

  async del(key: KeyLike): Promise<void> {
    for (const n of this.replicas(key)) await this.nodes[n]!.del(key);
  }

  async batch(ops: BatchOp[]): Promise<void> {
    const parts = new Set(ops.map((o) => partitionOf(this.text(o.key), this.partitions)));
    if (parts.size > 1) throw new Eau2Error(ErrorCode.INVALID, 'fake cluster: a batch must stay within one partition');
    for (const op of ops) {
      if (op.type === 'put') await this.put(op.key, op.value);
      else await this.del(op.key);
    }
  }

  /** A merged scan over each key's leader copy (what a real client's scan returns). */
  scan(range: Range = {}): KvIterator {
    const { limit, reverse, ...bounds } = range;
    const ready = (async () => {
      const all: [Uint8Array, Uint8Array][] = [];
      for (let n = 0; n < this.nodeCount; n++) {
        for await (const [k, v] of this.nodes[n]!.scan(bounds)) if (this.leaderOf(k) === n) all.push([k, v]);
      }
      all.sort((a, b) => compareBytes(a[0], b[0]));
      if (reverse) all.reverse();
      return limit !== undefined && limit >= 0 ? all.slice(0, limit) : all;
    })();
    let pos = 0;
    const next = async (): Promise<[Uint8Array, Uint8Array] | undefined> => (await ready)[pos++];
    return {
      next,
      close: async () => undefined,
      [Symbol.asyncIterator]: () => ({
        next: async () => {
          const e = await next();
          return e ? { value: e, done: false as const } : { value: undefined, done: true as const };
        },
      }),
    };
  }

  async runTask(name: string, payload: unknown): Promise<unknown[]> {
    this.taskRuns++;
    const up = this.nodes.map((_, id) => ({ id })).filter(({ id }) => !this.down.has(id));
    return Promise.all(up.map(({ id }) => this.runAsNode(id, name, payload)));
  }

  /**
   * Runs task `name` as node `id` runs it (its own store view, leadership and chunk cache), the
   * payload and the result through a msgpack round trip. A subclass adding `runTaskOn` (as a
   * ClusterClient has) builds on it, so that queries place chunks on nodes as on a real cluster.
   */
  protected async runAsNode(id: number, name: string, payload: unknown): Promise<unknown> {
    const task = dataframeTasks[name];
    if (!task) throw new Eau2Error(ErrorCode.INVALID, `no task ${name}`);
    const result = await task(
      {
        store: this.nodeView(id),
        nodeId: `n${id}`,
        isLeaderFor: (k) => this.brokenLeadership || this.leaderOf(k) === id,
        chunkCache: this.caches?.[id],
      },
      roundTrip(payload),
    );
    return roundTrip(result);
  }

  /** How many keys each node leads (to check a frame is spread). */
  async ledKeyCounts(prefix: string): Promise<number[]> {
    const out = this.nodes.map(() => 0);
    for (let n = 0; n < this.nodeCount; n++) {
      for await (const [k] of this.nodes[n]!.scan({ gte: prefix })) {
        if (!fromUtf8(k).startsWith(prefix)) break;
        if (this.leaderOf(k) === n) out[n]!++;
      }
    }
    return out;
  }
}
