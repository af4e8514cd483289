// What a node offers to the code that extends it (the application wires the dataframe layer in
// through these): tasks run on every node by ClusterClient.runTask, and extra HTTP routes. A leaf
// module, so the node's parts and its extensions can name these types without importing the node.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KvStore } from '../../kv/index.js';

export interface TaskContext {
  /** This node's view: reads its own copy where it holds the partition, writes go through leaders. */
  store: KvStore;
  isLeaderFor(key: Uint8Array | string): boolean;
  nodeId: string;
}
export type TaskHandler = (ctx: TaskContext, payload: unknown) => Promise<unknown>;
/** Extra HTTP routes: resolve true when the request was handled. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
