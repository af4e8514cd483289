// GET /cluster: the topology as this node knows it (each partition's epoch, leader and in-sync set,
// every node's liveness from this node's heartbeats), with each partition's replication progress
// gathered from the leaders (every node answers a STATUS request about the partitions it leads).
// A node that does not answer within a second, or that the heartbeats find silent, is shown with
// unknown LSNs rather than stalling the page.

import type { ClusterConfig } from '../config.js';
import { MsgType } from '../protocol/messages.js';
import type { PeerPool } from '../protocol/peer-pool.js';
import type { Topology } from '../topology.js';
import type { HealthReport } from '../node/node-health.js';

interface LeaderStatus {
  p: number;
  lsn: number;
  epoch?: number;
  followers: { id: string; acked: number; lagSeconds: number; state?: string }[];
}

/** What GET /cluster needs of the node. */
export interface StatusHost {
  readonly selfId: string;
  /** With `tls`, node addresses are https:// ones. */
  readonly config: Pick<ClusterConfig, 'security'>;
  readonly pool: PeerPool;
  topology(): Topology;
  leaderState(): LeaderStatus[];
  health(): HealthReport;
}

export async function clusterStatus(node: StatusHost): Promise<unknown> {
  const t = node.topology();
  const states = new Map<number, LeaderStatus>();
  const health = new Map<string, HealthReport>();
  await Promise.all(
    t.nodes.map(async (n) => {
      // A node the heartbeats find silent would only hold the page up for the STATUS timeout.
      if (n.id !== node.selfId && n.status === 'down') return;
      try {
        let list: LeaderStatus[];
        if (n.id === node.selfId) {
          list = node.leaderState();
          health.set(n.id, node.health());
        } else {
          const r = (await node.pool.request(n.id, MsgType.STATUS, null, 1000)) as {
            leaders?: LeaderStatus[];
            health?: HealthReport;
          };
          list = r.leaders ?? [];
          if (r.health) health.set(n.id, r.health);
        }
        for (const s of list) {
          // Only the leader of the partition's current epoch reports its progress.
          if (s.epoch === undefined || s.epoch === t.placement[s.p]?.epoch) states.set(s.p, s);
        }
      } catch {
        // unreachable: its partitions show null LSNs
      }
    }),
  );
  return {
    epoch: t.epoch,
    self: node.selfId,
    partitionCount: t.partitions,
    replicationFactor: t.replicationFactor,
    nodes: t.nodes.map((n) => ({
      id: n.id,
      address: `${node.config.security.tls ? 'https' : 'http'}://${n.host}:${n.port}`,
      host: n.host,
      port: n.port,
      peerHost: n.peerHost ?? n.host,
      peerPort: n.peerPort,
      status: n.status,
      // Its own report (/healthz's body); null when it did not answer.
      health: health.get(n.id) ?? null,
    })),
    partitions: t.placement.map((pl) => {
      const s = states.get(pl.partition);
      return {
        partition: pl.partition,
        epoch: pl.epoch,
        leader: pl.leader,
        isr: pl.isr,
        lsn: s?.lsn ?? null,
        followers: pl.followers.map((id) => {
          const f = s?.followers.find((x) => x.id === id);
          return {
            id,
            state: f?.state ?? (pl.isr.includes(id) ? 'in-sync' : 'unknown'),
            lsn: f ? f.acked : null,
            lag: f && s ? Math.max(0, s.lsn - f.acked) : null,
            lagSeconds: f && Number.isFinite(f.lagSeconds) ? f.lagSeconds : null,
          };
        }),
      };
    }),
  };
}
