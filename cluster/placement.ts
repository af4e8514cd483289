// Where each partition lives: a leader and replicationFactor-1 followers, computed from the config
// alone so every node and client derives the same answer without asking anyone. Partition p is led
// by node p mod N and followed by the next nodes round the ring, which gives every node P/N
// leaderships and P*(RF-1)/N followerships (to within one) and never puts two replicas on one node.

import type { ClusterConfig } from './config.js';

export interface PartitionPlacement {
  partition: number;
  leader: string;
  followers: string[];
}

export function placePartition(p: number, nodeIds: readonly string[], replicationFactor: number): PartitionPlacement {
  const n = nodeIds.length;
  const followers: string[] = [];
  for (let k = 1; k < replicationFactor; k++) followers.push(nodeIds[(p + k) % n]!);
  return { partition: p, leader: nodeIds[p % n]!, followers };
}

export function placeAll(
  config: Pick<ClusterConfig, 'partitions' | 'replicationFactor' | 'nodes'>,
): PartitionPlacement[] {
  const ids = config.nodes.map((x) => x.id);
  const out: PartitionPlacement[] = [];
  for (let p = 0; p < config.partitions; p++) out.push(placePartition(p, ids, config.replicationFactor));
  return out;
}

/** The partitions `nodeId` holds a replica of, with its role in each. */
export function rolesOf(
  placement: readonly PartitionPlacement[],
  nodeId: string,
): { leads: number[]; follows: number[] } {
  const leads: number[] = [];
  const follows: number[] = [];
  for (const pl of placement) {
    if (pl.leader === nodeId) leads.push(pl.partition);
    else if (pl.followers.includes(nodeId)) follows.push(pl.partition);
  }
  return { leads, follows };
}
