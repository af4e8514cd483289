// The public surface of eau2's cluster layer (`import ... from 'eau2/cluster'`): the client, the node
// server for embedding, the config and partitioning helpers. Everything else is internal.

export { ClusterClient, type ClusterClientOptions } from './client/cluster-client.js';
export {
  NodeServer,
  type NodeServerOptions,
  type TaskContext,
  type TaskHandler,
  type HttpHandler,
} from './node/node-server.js';
export { loadConfig, parseConfig, type ClusterConfig, type NodeConfig } from './config.js';
export { partitionOf, hashKey } from '../kv/index.js';
export { placePartition, placeAll, type PartitionPlacement } from './placement.js';
export type { Topology, TopologyNode } from './topology.js';
export type { ReadMode, WriteConcern } from './protocol/messages.js';
