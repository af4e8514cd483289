// `eau2 node --config FILE --id ID [--data-dir DIR]`: runs one node until SIGINT or SIGTERM, then
// closes it cleanly (engine flushed and unlocked) and exits 0.

import { fstatSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../cluster/index.js';
import { createLogger } from '../../cluster/index.js';
import { NodeServer } from '../../cluster/index.js';
import { openEngine } from '../../cluster/index.js';
import { startResp, type RespServer } from '../../cluster/index.js';
import { isEau2Error, ErrorCode } from '../../kv/index.js';
import { attachDataframe } from '../dataframe-hooks.js';
import { applyNodeV8Flags } from '../v8-flags.js';
import { CliError, EXIT } from './cli-errors.js';

interface NodeOpts {
  config: string;
  id: string;
  dataDir?: string;
  logLevel: string;
  dropDamagedWalTail?: boolean;
}

export function addNodeCommand(program: Command): void {
  program
    .command('node')
    .description('run one node of a cluster described by a config file')
    .requiredOption('-c, --config <file>', 'cluster config file (JSON; see docs/operations.md)')
    .requiredOption('--id <id>', "this node's id in the config")
    .option('--data-dir <dir>', "use this data directory instead of the config's")
    .option(
      '--drop-damaged-wal-tail',
      'start even if the WAL is damaged in its middle: drop the writes after the damage and get them back from the replicas',
    )
    .option(
      '--log-level <level>',
      'log level: trace, debug, info, warn, error, silent',
      process.env.EAU2_LOG_LEVEL ?? 'info',
    )
    .action(async (opts: NodeOpts) => runNode(opts));
}

async function runNode(opts: NodeOpts): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(opts.config);
  } catch (e) {
    throw new CliError((e as Error).message, isEau2Error(e, ErrorCode.INVALID) ? EXIT.USAGE : EXIT.FAILED);
  }
  if (!config.nodes.some((n) => n.id === opts.id)) {
    throw new CliError(
      `no node "${opts.id}" in ${opts.config} (known: ${config.nodes.map((n) => n.id).join(', ')})`,
      EXIT.USAGE,
    );
  }
  const logger = createLogger({ level: opts.logLevel, bindings: { node: opts.id } });
  logger.info({ v8Flags: applyNodeV8Flags() }, 'v8 flags');
  let resp: RespServer | undefined;
  const start: Parameters<typeof NodeServer.start>[0] = {
    config,
    nodeId: opts.id,
    openEngine,
    logger,
    beforeServing: async (n) => {
      await attachDataframe(n, logger);
      resp = await startResp(n);
    },
  };
  if (opts.dataDir) start.dataDir = opts.dataDir;
  if (opts.dropDamagedWalTail) start.walRecovery = 'pointInTime';
  let node: NodeServer;
  try {
    node = await NodeServer.start(start);
  } catch (e) {
    // Logged as one JSON line like every other event, so eau2 local can quote the cause. When
    // stderr is a file (eau2 local's DIR/<id>.log, or 2>node.log) that line is all, so a log file
    // holds only JSON lines; on a terminal or a pipe the plain message follows for whoever reads it
    // (a protected-mode refusal explains its fix there).
    logger.fatal({ err: (e as Error).message, code: (e as { code?: string }).code }, 'node failed to start');
    throw new CliError((e as Error).message, EXIT.FAILED, stderrIsFile());
  }
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      (resp ? resp.close() : Promise.resolve())
        .then(() => node.close())
        .catch((e: Error) => logger.error({ err: e.message }, 'close failed'))
        .finally(resolve);
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });
  // Anything still holding the event loop (a client's keep-alive socket) must not keep us alive.
  process.exit(EXIT.OK);
}

function stderrIsFile(): boolean {
  try {
    return fstatSync(2).isFile();
  } catch {
    return false;
  }
}
