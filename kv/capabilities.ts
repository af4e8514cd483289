// Optional capabilities a KvStore may implement besides get/put/scan. A layer above the store asks
// for one through its guard here rather than probing the store's properties itself, so every layer
// reads a capability the same way and the type checker sees who offers it (ClusterClient declares
// `implements TaskRunner, Partitioned`).

import type { KeyLike, KvStore } from './kv-store.js';

/** What a task (a function run where the data lives, see TaskRunner) is given. */
export interface TaskContext {
  /**
   * The store the task reads. On a cluster node: the node's own copy of the partitions it holds
   * (writes go through the leaders); in-process: the whole store.
   */
  store: KvStore;
  /** True iff this node is the current leader of the partition `key` maps to (always, in-process). */
  isLeaderFor(key: KeyLike): boolean;
  /** The node the task runs on, for its results and logs. */
  nodeId: string;
  /**
   * True when `store` holds every partition, so any key may be read through it (a task run
   * in-process). Absent on a cluster node, whose store holds only the node's partitions.
   */
  wholeStore?: boolean;
  /**
   * On a cluster node: `store` with every value it writes carrying the expiry `expiresAt` (ms since
   * the Unix epoch, the writing leader's clock): from then on the value reads as absent on every
   * replica, and compaction drops it (docs/format.md 2.1, 8.6). For temporary data that must not
   * outlive a task whose cleanup may never run. Absent in-process.
   */
  expiringStore?(expiresAt: number): KvStore;
  /**
   * On a cluster node: the largest reply it sends (its frame limit); a task whose result may be
   * larger pages it. Absent in-process (no limit).
   */
  maxReplyBytes?: number;
}

/** A store that can run a named task on every node and return each node's result (ClusterClient). */
export interface TaskRunner {
  runTask(name: string, payload: unknown): Promise<unknown[]>;
  /**
   * Optional: runs task `name` on node `node` only and resolves with its result. With it and a
   * topology that names followers (Partitioned), a caller can place work on the replicas that are
   * up when a node is down.
   */
  runTaskOn?(node: string, name: string, payload: unknown): Promise<unknown>;
  /** Optional: the largest reply runTaskOn can carry (a ClusterClient's frame limit). */
  readonly maxReplyBytes?: number;
  /**
   * Optional: whether a request lately failed to reach `node` (a ClusterClient's 2 s suspicion). A
   * caller placing work with runTaskOn prefers another replica meanwhile.
   */
  unreachable?(node: string): boolean;
}

export function isTaskRunner(store: KvStore): store is KvStore & TaskRunner {
  return typeof (store as Partial<TaskRunner>).runTask === 'function';
}

/** How a partitioned store spreads its keys: the partition count and each partition's leader. */
export interface PartitionLeaders {
  readonly partitions: number;
  /** Each partition's leader and, when the store shows them, its followers. */
  readonly placement: readonly { readonly leader: string; readonly followers?: readonly string[] }[];
  /** When the store shows them: its nodes, and whether each is known to be 'down'. */
  readonly nodes?: readonly { readonly id: string; readonly status?: string }[];
}

/** A store whose keys are spread over partitions by partitionOf (ClusterClient). */
export interface Partitioned {
  /** The current partitioning (a snapshot: it may change as the cluster does). */
  readonly topology: PartitionLeaders;
}

/**
 * The store's partitioning if it is Partitioned and shows a consistent one (a partition count and a
 * leader for each partition), else undefined.
 */
export function partitionLeadersOf(store: KvStore): PartitionLeaders | undefined {
  if (!('topology' in store)) return undefined;
  let t: unknown;
  try {
    t = (store as Partial<Partitioned>).topology;
  } catch {
    return undefined;
  }
  if (t === null || typeof t !== 'object') return undefined;
  const { partitions, placement } = t as { partitions?: unknown; placement?: unknown };
  if (typeof partitions !== 'number' || !Number.isInteger(partitions) || partitions < 1) return undefined;
  if (!Array.isArray(placement) || placement.length !== partitions) return undefined;
  if (!placement.every((p) => typeof (p as { leader?: unknown } | null)?.leader === 'string')) return undefined;
  const nodes = (t as { nodes?: unknown }).nodes;
  return {
    partitions,
    placement: placement as PartitionLeaders['placement'],
    ...(Array.isArray(nodes) ? { nodes: nodes as PartitionLeaders['nodes'] } : {}),
  };
}
