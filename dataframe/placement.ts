// Where a writer puts its row-chunks on a cluster: an equal share on every partition leader.
//
// A row-chunk's hash tag `<name>/<version>/<slot>` decides its partition (DESIGN.md: murmur3_32 of
// the tag, modulo the partition count), and a query's time is its slowest node's: each node
// evaluates the row-chunks it leads. With slot = chunk number, 153 row-chunks hashed over 16
// partitions gave the three leaders 73, 39 and 41 of them in one bench run. So when the store shows
// its topology (ClusterClient.topology), the writer takes the leaders in turn and gives row-chunk i
// the lowest unused slot whose tag hashes to a partition of leader i mod N, and records the slots in
// the metadata (docs/format.md 7.3). Slots stay dense (a leader of k of P partitions owns about k/P
// of all slots), so a version's extent is still found and deleted by its highest slot (storage.ts).
//
// The topology comes from the store's Partitioned capability (kv/capabilities.ts) and the partition
// function is kv's partitionOf (murmur3 of the hash tag), the one the cluster routes by; on a store
// that is not Partitioned, row-chunk i keeps slot i.

import { murmur3, type PartitionLeaders, utf8 } from '../kv/index.js';
import { MAX_CHUNKS, chunkHashTag } from './layout.js';

/**
 * The partition a hash tag maps to: kv's partitionOf of any key carrying the tag as its hash tag
 * (murmur3 of the tag's bytes, modulo the partition count), computed without building such a key.
 */
export function partitionOfTag(tag: string, partitions: number): number {
  return murmur3(utf8(tag)) % partitions;
}

/** Hands out the slot of each successive row-chunk of one version, balanced over the leaders. */
export class SlotPlanner {
  /** Leader number of each partition. */
  private readonly leaderOf: Int32Array;
  private readonly leaders: number;
  /** Per leader, slots already hashed to it and not yet handed out, ascending. */
  private readonly free: number[][];
  private cursor = 0;
  private chunk = 0;

  constructor(
    private readonly name: string,
    private readonly version: string,
    private readonly map: PartitionLeaders,
  ) {
    const ids = new Map<string, number>();
    this.leaderOf = Int32Array.from(map.placement, (p) => {
      let n = ids.get(p.leader);
      if (n === undefined) ids.set(p.leader, (n = ids.size));
      return n;
    });
    this.leaders = ids.size;
    this.free = Array.from({ length: this.leaders }, () => []);
  }

  /** The slot for the next row-chunk. */
  next(): number {
    const q = this.free[this.chunk++ % this.leaders]!;
    while (q.length === 0) {
      const s = this.cursor++;
      if (s >= MAX_CHUNKS) throw new TypeError('frame has too many chunks; raise chunkRows');
      this.free[this.leaderOf[partitionOfTag(chunkHashTag(this.name, this.version, s), this.map.partitions)]!]!.push(s);
    }
    return q.shift()!;
  }
}
