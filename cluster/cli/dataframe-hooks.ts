// Wiring of the dataframe layer into nodes and the CLI, done here (the composition root) so the
// cluster core never imports dataframe/. Each piece is optional: a module or export that is missing
// simply adds nothing. The modules are imported by computed specifiers so the cluster still builds
// while the dataframe layer is being written.

import type { Command } from 'commander';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KvStore } from '../../engine/kv-store.js';
import { ClusterClient } from '../client/cluster-client.js';
import type { Logger } from '../log.js';
import type { NodeServer, TaskHandler } from '../node/node-server.js';
import { defaultUrl } from './kv-commands.js';

async function load(rel: string): Promise<Record<string, unknown> | undefined> {
  const url = new URL(rel, import.meta.url).href;
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const missing = err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(rel.split('/').pop()!.replace(/\.js$/, ''));
    if (!missing) process.stderr.write(`eau2: warning: cannot load ${rel}: ${err?.message ?? String(e)}\n`);
    return undefined;
  }
}

/** Registers dataframe tasks and mounts the /df routes on a node, where the layer offers them. */
export async function attachDataframe(node: NodeServer, log: Logger): Promise<void> {
  const index = await load('../../dataframe/index.js');
  const tasks = index?.dataframeTasks;
  if (tasks && typeof tasks === 'object') {
    for (const [name, handler] of Object.entries(tasks as Record<string, unknown>)) {
      if (typeof handler === 'function') node.registerTask(name, handler as TaskHandler);
    }
    log.info({ tasks: Object.keys(tasks) }, 'dataframe tasks registered');
  }
  const http = await load('../../dataframe/http.js');
  const handle = http?.handleDfHttp;
  if (typeof handle === 'function') {
    const store = node.store;
    node.addHttpHandler(async (req: IncomingMessage, res: ServerResponse) => {
      const path = req.url ?? '';
      if (path !== '/df' && !path.startsWith('/df/') && !path.startsWith('/df?')) return false;
      return (await (handle as (req: IncomingMessage, res: ServerResponse, store: KvStore) => Promise<boolean>)(req, res, store)) === true;
    });
    log.info('dataframe HTTP routes mounted at /df');
  }
}

/** Adds `eau2 df ...` when dataframe/cli.ts offers registerDfCommands(program, openStore). */
export async function addDataframeCommands(program: Command): Promise<void> {
  const cli = await load('../../dataframe/cli.js');
  const register = cli?.registerDfCommands;
  if (typeof register !== 'function') return;
  const openStore = ({ url }: { url?: string } = {}): Promise<ClusterClient> => ClusterClient.connect([url ?? defaultUrl()]);
  (register as (p: Command, open: typeof openStore) => void)(program, openStore);
}
