// What a node offers to the code that extends it (the application wires the dataframe layer in
// through these): tasks run on every node by ClusterClient.runTask, and extra HTTP routes. A leaf
// module, so the node's parts and its extensions can name these types without importing the node.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TaskContext } from '../../kv/index.js';

export type { TaskContext };
export type TaskHandler = (ctx: TaskContext, payload: unknown) => Promise<unknown>;
/** Extra HTTP routes: resolve true when the request was handled. */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
