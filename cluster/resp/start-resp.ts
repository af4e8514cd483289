// Starts a node's Redis protocol port when its config names one (`respPort`): the application
// shell calls this once the node is up (app/cli/node-command.ts), as it attaches the dataframe layer.

import type { NodeServer } from '../node/node-server.js';
import type { RespLimits } from './resp-context.js';
import { RespServer } from './resp-server.js';

export { RespServer };

/** The node's RESP server, listening on its host and respPort; undefined when it has none. */
export async function startResp(node: NodeServer, limits?: Partial<RespLimits>): Promise<RespServer | undefined> {
  const self = node.self;
  if (self.respPort === undefined) return undefined;
  const server = new RespServer({
    host: node,
    port: self.respPort,
    listenHost: self.host,
    security: node.config.security,
    log: node.log,
    registry: node.metrics.registry,
    ...(limits ? { limits } : {}),
  });
  await server.listen();
  node.log.info({ resp: `${self.host}:${self.respPort}` }, 'Redis protocol (RESP) listening');
  return server;
}
