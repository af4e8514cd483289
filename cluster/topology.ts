// The topology every node and client routes by: the epoch, the nodes with their addresses and
// liveness as the coordinator sees it, and each partition's leader and followers. It is computed from
// the config (placement is deterministic) and published by the coordinator with its epoch; the epoch
// only grows, and a message stamped with another epoch than the receiver's is refused, which is what
// will let a later failover move leaderships without two leaders accepting writes for one partition.

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

export interface Topology {
  epoch: number;
  partitions: number;
  replicationFactor: number;
  coordinator: string;
  nodes: TopologyNode[];
  placement: PartitionPlacement[];
}

const INITIAL_EPOCH = 1;

export function topologyFromConfig(config: ClusterConfig, epoch = INITIAL_EPOCH): Topology {
  return {
    epoch,
    partitions: config.partitions,
    replicationFactor: config.replicationFactor,
    coordinator: config.nodes[0]!.id,
    nodes: config.nodes.map((n) => ({
      id: n.id,
      host: n.host,
      port: n.port,
      peerHost: n.advertisePeerHost ?? n.host,
      peerPort: n.advertisePeerPort ?? n.peerPort,
      status: 'unknown',
    })),
    placement: placeAll(config),
  };
}

/** Where to dial node `id`'s peer port: its advertised address (undefined for an unknown node). */
export function nodeAddress(t: Topology, id: string): { host: string; peerPort: number } | undefined {
  const n = t.nodes.find((x) => x.id === id);
  return n && { host: n.peerHost ?? n.host, peerPort: n.peerPort };
}

/** Checks a topology received from the network (a node or the HTTP API) before routing by it. */
export function parseTopology(raw: unknown): Topology {
  const bad = (what: string): Eau2Error => new Eau2Error(ErrorCode.PROTOCOL, `bad topology: ${what}`);
  if (typeof raw !== 'object' || raw === null) throw bad('not an object');
  const t = raw as Record<string, unknown>;
  const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
  if (!isInt(t.epoch) || !isInt(t.partitions) || t.partitions < 1 || !isInt(t.replicationFactor)) throw bad('numbers');
  if (typeof t.coordinator !== 'string' || !Array.isArray(t.nodes) || !Array.isArray(t.placement)) throw bad('fields');
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
  const placement = t.placement.map((x: unknown, i: number): PartitionPlacement => {
    const o = x as Record<string, unknown>;
    if (o?.partition !== i || typeof o.leader !== 'string' || !ids.has(o.leader) || !Array.isArray(o.followers))
      throw bad(`partition ${i}`);
    const followers = o.followers.map((f: unknown) => {
      if (typeof f !== 'string' || !ids.has(f)) throw bad(`partition ${i} follower`);
      return f;
    });
    return { partition: i, leader: o.leader, followers };
  });
  if (placement.length !== t.partitions) throw bad('placement length');
  return {
    epoch: t.epoch,
    partitions: t.partitions,
    replicationFactor: t.replicationFactor,
    coordinator: t.coordinator,
    nodes,
    placement,
  };
}
