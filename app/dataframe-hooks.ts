// Wiring of the dataframe layer into nodes and the CLI, done here in the application (the
// composition root above the layers), so cluster/ never imports dataframe/. The modules are imported
// lazily: `eau2 get` should not pay for loading the dataframe layer, and only `eau2 node` and
// `eau2 df` need it.

import type { Command } from 'commander';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ClusterClient, httpHelpers, type Logger, type NodeServer } from '../cluster/index.js';
import { credentials } from './cli/kv-commands.js';
import { endpoints } from './cli/node-http.js';

/** Bytes of decoded dataframe chunks a node keeps between queries: EAU2_DF_CACHE_MB, default 128 MiB. */
function nodeChunkCacheBytes(log: Logger): number {
  const env = process.env.EAU2_DF_CACHE_MB;
  const mb = env === undefined || env === '' ? 128 : Number(env);
  if (!(mb >= 0)) {
    log.warn({ EAU2_DF_CACHE_MB: env }, 'ignoring a bad EAU2_DF_CACHE_MB; using 128');
    return 128 * 1024 * 1024;
  }
  return Math.floor(mb * 1024 * 1024);
}

/**
 * Groups a query run by the node for an HTTP or console client may gather (EAU2_DF_MAX_GROUPS,
 * default 1,000,000): the node holds them while it merges.
 */
function nodeMaxGroups(log: Logger, fallback: number): number {
  const env = process.env.EAU2_DF_MAX_GROUPS;
  if (env === undefined || env === '') return fallback;
  const n = Number(env);
  if (!Number.isSafeInteger(n) || n < 1) {
    log.warn({ EAU2_DF_MAX_GROUPS: env }, `ignoring a bad EAU2_DF_MAX_GROUPS; using ${fallback}`);
    return fallback;
  }
  return n;
}

/**
 * Registers the dataframe tasks (queries pushed to the data) and mounts /df on a node. Every task
 * shares one node-wide cache of decoded chunks, so a repeated query skips the engine reads, checksums
 * and decoding of the chunks it read last time. The /df routes answer through the node's HTTP
 * helpers, so their errors have the API's shape and status mapping.
 */
export async function attachDataframe(node: NodeServer, log: Logger): Promise<void> {
  const { dataframeTasks, ChunkCache, handleDfHttp, setSqlPreload, DEFAULT_HTTP_MAX_GROUPS } = await import(
    '../dataframe/index.js'
  );
  const maxGroups = nodeMaxGroups(log, DEFAULT_HTTP_MAX_GROUPS);
  // A node loads the SQL path only for a POST /df/sql, not when it serves a frame's rows.
  setSqlPreload(false);
  const chunkCache = new ChunkCache(nodeChunkCacheBytes(log));
  for (const [name, handler] of Object.entries(dataframeTasks)) {
    node.registerTask(name, (ctx, payload) => handler({ ...ctx, chunkCache }, payload));
  }
  const store = node.store;
  // The console's placement and query routes (app/console-df-routes.ts) first: /df's own 404s the rest.
  const { Clients, bearer, consoleDfHandler } = await import('./console-df-routes.js');
  const clients = new Clients(node);
  node.addHttpHandler(consoleDfHandler(node, clients, maxGroups));
  // POST /df/sql runs its plans through a client of this cluster with the caller's token: the
  // receiving node merges, the nodes holding the chunks compute (as from any client).
  const sqlStore = (req: IncomingMessage) => clients.get(bearer(req));
  node.addHttpHandler(async (req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '';
    if (path !== '/df' && !path.startsWith('/df/') && !path.startsWith('/df?')) return false;
    return handleDfHttp(req, res, store, httpHelpers, { sqlStore, maxGroups });
  });
  log.debug({ tasks: Object.keys(dataframeTasks) }, 'dataframe tasks registered, /df mounted');
}

/** Adds `eau2 df ...`; the commands reach the cluster through a ClusterClient. */
export async function addDataframeCommands(program: Command): Promise<void> {
  const { registerDfCommands } = await import('./cli/df-commands.js');
  // One command per process: `eau2 sql` and `eau2 df query` load the SQL path themselves, the others
  // (an import, an export) never need it.
  const { setSqlPreload } = await import('../dataframe/index.js');
  setSqlPreload(false);
  // A secured cluster's token and CA come from $EAU2_TOKEN and $EAU2_CA (docs/security.md).
  registerDfCommands(program, ({ url }) =>
    ClusterClient.connect(
      endpoints(url).map((u) => u.origin),
      credentials({}),
    ),
  );
}
