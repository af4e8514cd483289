// Repairing a damaged table from the replicas (Cassandra's "repair after scrub" is the model). The
// engine's scrub (or a read) finds a table whose checksums fail; the node takes the table out of its
// engine and gets every partition whose keys it held back from another replica:
// - a partition it follows is marked resyncing (persisted first, so a crash in between resyncs it
//   again) and resubscribed from nothing: the leader streams it a full copy (leader-resync.ts);
// - a partition it leads stops taking writes, waits (a few seconds at most) for a follower to have
//   every entry it committed, and is pulled back in full from the most advanced follower (restore.ts,
//   as at start-up); then it leads again. Until then its requests are refused as UNAVAILABLE.
// The node's metadata (each partition's LSN, the epoch) lives in the same engine: if the table held
// some of it, the node writes what it knows back. Nothing is dropped unless every affected partition
// has a replica on another node to come back from; otherwise the damage is logged and left in place.

import type { Logger } from '../log.js';
import type { Topology } from '../topology.js';
import type { EngineLike } from './engine-api.js';

export interface RepairHost {
  readonly engine: EngineLike;
  readonly log: Logger;
  readonly selfId: string;
  topology(): Topology;
  /**
   * Before the table is dropped: a followed partition is marked resyncing (persisted; its reads go
   * to other replicas from now on), a led one stops taking writes, waits for a follower to have all
   * it committed, stops leading (its reads go to the followers) and is marked resyncing too.
   */
  prepareRepair(p: number): Promise<void>;
  /**
   * After the drop: a followed partition resyncs in full, from a resync begun after the drop; a led
   * one is restored from a follower and only then leads again.
   */
  refill(p: number): Promise<void>;
  /** Writes every partition's LSN record and the epoch again from memory. */
  rewriteMeta(): Promise<void>;
}

interface Damaged {
  file: number;
  smallest: Uint8Array;
  largest: Uint8Array;
  reason: string;
}

/** The node's metadata lives under this prefix (stored-format.ts). */
const META_PREFIX = 0xffff;

/** The partition of a stored key: its two-byte prefix (META_PREFIX for the node's metadata). */
function prefixOf(k: Uint8Array): number {
  return k.length >= 2 ? (k[0]! << 8) | k[1]! : 0;
}

export class TableRepair {
  private running: Promise<void> | undefined;
  /** Tables taken out and whose partitions were brought back. */
  repaired = 0;
  /** Repairs that could not run or failed (logged; retried at the next check). */
  failures = 0;
  /** Reads that met a damaged table and were answered from another replica. */
  corruptReads = 0;

  constructor(private readonly host: RepairHost) {}

  /** Starts repairing what the engine reports damaged, unless a repair is already running. */
  check(): void {
    if (this.running) return;
    const tables = this.host.engine.damagedTables?.() ?? [];
    if (tables.length === 0 || !this.host.engine.dropTable) return;
    this.running = this.repairAll(tables).finally(() => {
      this.running = undefined;
    });
  }

  /** Resolves when the repair running now (if any) is over. */
  async idle(): Promise<void> {
    await this.running;
  }

  private async repairAll(tables: Damaged[]): Promise<void> {
    for (const t of tables) {
      try {
        await this.repair(t);
      } catch (e) {
        this.failures++;
        this.host.log.error({ file: t.file, err: (e as Error).message }, 'table repair failed; retrying later');
      }
    }
  }

  private async repair(t: Damaged): Promise<void> {
    const host = this.host;
    const topo = host.topology();
    const first = prefixOf(t.smallest);
    const last = Math.min(prefixOf(t.largest), topo.partitions - 1);
    const parts: number[] = [];
    for (let p = first; p <= last && p < topo.partitions; p++) {
      const pl = topo.placement[p]!;
      if (pl.leader === host.selfId || pl.followers.includes(host.selfId)) parts.push(p);
    }
    const lonely = parts.filter((p) => {
      const pl = topo.placement[p]!;
      return [pl.leader, ...pl.followers].filter((id) => id !== host.selfId).length === 0;
    });
    if (lonely.length > 0) {
      this.failures++;
      host.log.error(
        { file: t.file, partitions: lonely, reason: t.reason },
        'damaged table holds partitions with no other replica: cannot repair it; keeping it',
      );
      return;
    }
    host.log.warn(
      { file: t.file, partitions: parts, reason: t.reason },
      'damaged table: dropping it and repairing its partitions from their replicas',
    );
    await Promise.all(parts.map((p) => host.prepareRepair(p)));
    await host.engine.dropTable!(t.file);
    if (prefixOf(t.largest) === META_PREFIX) await host.rewriteMeta();
    await Promise.all(parts.map((p) => host.refill(p)));
    this.repaired++;
    host.log.info({ file: t.file, partitions: parts }, 'damaged table repaired from replicas');
  }
}
