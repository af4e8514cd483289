// The topology every node and client routes by: the nodes with their addresses and liveness as the
// answering node sees it, and each partition's replicas (fixed by the config's placement), its
// current leader, epoch and in-sync set (which failover moves: docs/failover.md).
// `epoch` is the answering node's currentEpoch, the highest epoch it has seen. Two views of one
// partition are ordered by the partition's epoch: the higher one is newer.

import type { ClusterConfig } from './config.js';
import { placeAll, type PartitionPlacement } from './placement.js';
import { Eau2Error, ErrorCode } from '../kv/index.js';

export type NodeStatus = 'up' | 'down' | 'unknown';

export interface TopologyNode {
  id: string;
  host: string;
  port: number;
  /** The advertised peer host (config advertisePeerHost; absent: `host`); with peerPort, what others dial. */
  peerHost?: string;
  peerPort: number;
  status: NodeStatus;
}

/** A partition's replicas: `leader` and `followers` (the other replicas, in placement order). */
export interface PartitionRoute extends PartitionPlacement {
  /** The partition's epoch: the configuration with the higher epoch is newer. */
  epoch: number;
  /** In-sync replicas, the leader included. */
  isr: string[];
}

export interface Topology {
  epoch: number;
  partitions: number;
  replicationFactor: number;
  nodes: TopologyNode[];
  placement: PartitionRoute[];
}

const INITIAL_EPOCH = 1;

export function topologyFromConfig(config: ClusterConfig, epoch = INITIAL_EPOCH): Topology {
  return {
    epoch,
    partitions: config.partitions,
    replicationFactor: config.replicationFactor,
    nodes: config.nodes.map((n) => ({
      id: n.id,
      host: n.host,
      port: n.port,
      peerHost: n.advertisePeerHost ?? n.host,
      peerPort: n.advertisePeerPort ?? n.peerPort,
      status: 'unknown',
    })),
    placement: placeAll(config).map((pl) => ({ ...pl, epoch: INITIAL_EPOCH, isr: [pl.leader, ...pl.followers] })),
  };
}

/** Where to dial node `id`'s peer port: its advertised address (undefined for an unknown node). */
export function nodeAddress(t: Topology, id: string): { host: string; peerPort: number } | undefined {
  const n = t.nodes.find((x) => x.id === id);
  return n && { host: n.peerHost ?? n.host, peerPort: n.peerPort };
}

/** The route of a partition with `leader` among `replicas` (the placement's leader then followers). */
export function routeOf(
  p: number,
  replicas: readonly string[],
  leader: string,
  epoch: number,
  isr: readonly string[],
): PartitionRoute {
  return { partition: p, leader, followers: replicas.filter((id) => id !== leader), epoch, isr: isr.slice() };
}

/** `mine` updated with every partition `theirs` knows at a higher epoch (both from one cluster). */
export function mergeTopology(mine: Topology, theirs: Topology): Topology {
  if (theirs.partitions !== mine.partitions) return theirs.epoch > mine.epoch ? theirs : mine;
  const placement = mine.placement.map((pl, i) => {
    const t = theirs.placement[i]!;
    return t.epoch > pl.epoch ? t : pl;
  });
  return { ...theirs, epoch: Math.max(mine.epoch, theirs.epoch), placement };
}

/** Checks a topology received from the network (a node or the HTTP API) before routing by it. */
export function parseTopology(raw: unknown): Topology {
  const bad = (what: string): Eau2Error => new Eau2Error(ErrorCode.PROTOCOL, `bad topology: ${what}`);
  if (typeof raw !== 'object' || raw === null) throw bad('not an object');
  const t = raw as Record<string, unknown>;
  const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  if (!isInt(t.epoch) || !isInt(t.partitions) || t.partitions < 1 || !isInt(t.replicationFactor)) throw bad('numbers');
  if (!Array.isArray(t.nodes) || !Array.isArray(t.placement)) throw bad('fields');
  const nodes = t.nodes.map((n: unknown): TopologyNode => {
    const o = n as Record<string, unknown>;
    if (typeof o?.id !== 'string' || typeof o.host !== 'string' || !isInt(o.port) || !isInt(o.peerPort))
      throw bad('node');
    if (o.peerHost !== undefined && typeof o.peerHost !== 'string') throw bad('node peerHost');
    const status = o.status === 'up' || o.status === 'down' ? o.status : 'unknown';
    const peerHost = typeof o.peerHost === 'string' ? o.peerHost : o.host;
    return { id: o.id, host: o.host, port: o.port, peerHost, peerPort: o.peerPort, status };
  });
  const ids = new Set(nodes.map((n) => n.id));
  const placement = t.placement.map((x: unknown, i: number): PartitionRoute => {
    const o = x as Record<string, unknown>;
    if (o?.partition !== i || typeof o.leader !== 'string' || !ids.has(o.leader) || !Array.isArray(o.followers))
      throw bad(`partition ${i}`);
    const followers = o.followers.map((f: unknown) => {
      if (typeof f !== 'string' || !ids.has(f)) throw bad(`partition ${i} follower`);
      return f;
    });
    // Older nodes send neither: one epoch, every replica in sync.
    const epoch = isInt(o.epoch) ? o.epoch : 0;
    const isr = Array.isArray(o.isr)
      ? o.isr.map((f: unknown) => {
          if (typeof f !== 'string' || !ids.has(f)) throw bad(`partition ${i} isr`);
          return f;
        })
      : [o.leader, ...followers];
    return { partition: i, leader: o.leader, followers, epoch, isr };
  });
  if (placement.length !== t.partitions) throw bad('placement length');
  return {
    epoch: t.epoch,
    partitions: t.partitions,
    replicationFactor: t.replicationFactor,
    nodes,
    placement,
  };
}
