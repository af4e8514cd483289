// The public surface of eau2's cluster layer (`import ... from 'eau2/cluster'`): the client, the node
// server for embedding (with the real engine's opener and the logger), the config and partitioning
// helpers, and the HTTP helpers a node's HTTP extensions answer with. Everything else is internal.

export { ClusterClient, type ClusterClientOptions } from './client/cluster-client.js';
export {
  NodeServer,
  type NodeServerOptions,
  type TaskContext,
  type TaskHandler,
  type HttpHandler,
} from './node/node-server.js';
export { openEngine } from './node/open-engine.js';
export { startResp, RespServer } from './resp/start-resp.js';
export { createLogger, type Logger } from './log.js';
export { httpHelpers, percentEncode, type HttpHelpers } from './http/http-util.js';
export { loadConfig, parseConfig, type ClusterConfig, type NodeConfig } from './config.js';
export { partitionOf, hashKey } from '../kv/index.js';
export { placePartition, placeAll, type PartitionPlacement } from './placement.js';
export type { Topology, TopologyNode } from './topology.js';
export type { ReadMode, WriteConcern } from './protocol/messages.js';
export { createToken, ROLES, type Role } from './security/tokens.js';
export { makeLocalPki } from './security/tls.js';
export { secureFetch, type SecureFetchInit } from './security/http-fetch.js';
export type { VerifyReport, PartitionReport, RangeDiff, KeyDiff } from './node/verify-compare.js';
