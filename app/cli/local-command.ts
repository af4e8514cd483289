// `eau2 local` (and `npm start`): a whole cluster on this machine. It writes DIR/cluster.json the first
// time (loopback addresses, one data folder per node under DIR), starts one `eau2 node` process per
// node with its log in DIR/<id>.log, waits until every node answers /healthz, prints the endpoints
// and a first command to try, and stops them all on Ctrl-C or SIGTERM. Run again with the same DIR,
// it reuses the config and so finds the data.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, closeSync } from 'node:fs';
import net from 'node:net';
import { basename, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { createToken, loadConfig, makeLocalPki, secureFetch, type ClusterConfig } from '../../cluster/index.js';
import { CliError, EXIT } from './cli-errors.js';

interface LocalOpts {
  nodes: string;
  replicas: string;
  partitions: string;
  dir: string;
  port: string;
  logLevel: string;
  secure?: boolean;
}

/** Exits within 30 s of a start, in a row, after which a node is not restarted any more. */
const MAX_QUICK_EXITS = 5;

function int(v: string, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!/^[0-9]+$/.test(v) || n < min || n > max)
    throw new CliError(`--${name} must be an integer in [${min}, ${max}]`, EXIT.USAGE);
  return n;
}

export function addLocalCommand(program: Command): void {
  program
    .command('local')
    .description('run a whole cluster on this machine (Ctrl-C stops it; run again to find its data)')
    .option('-n, --nodes <n>', 'number of nodes', '3')
    .option('-r, --replicas <n>', 'replicas per partition (replication factor)', '2')
    .option('-p, --partitions <n>', 'number of partitions (fixed for the life of the cluster)', '16')
    .option('-d, --dir <dir>', 'folder for the config, data and logs', './data')
    .option(
      '--port <port>',
      'HTTP port of the first node; node i uses port+i, peer ports start at port+100, RESP (Redis) ports at port+200',
      '7101',
    )
    .option('--log-level <level>', 'node log level (logs go to DIR/<id>.log)', 'info')
    .option('--secure', 'with TLS (a throwaway CA), a peer secret and an admin token, all made in DIR')
    .action(async (o: LocalOpts, cmd: Command) => runLocal(o, cmd));
}

function makeConfig(o: LocalOpts): object {
  const nodes = int(o.nodes, 'nodes', 1, 64);
  const replicas = int(o.replicas, 'replicas', 1, nodes);
  const partitions = int(o.partitions, 'partitions', 1, 4096);
  const port = int(o.port, 'port', 1, 65535 - 200 - nodes);
  return {
    partitions,
    replicationFactor: replicas,
    nodes: Array.from({ length: nodes }, (_, i) => ({
      id: `n${i + 1}`,
      host: '127.0.0.1',
      port: port + i,
      peerPort: port + 100 + i,
      respPort: port + 200 + i,
      dataDir: `n${i + 1}`,
    })),
  };
}

/**
 * `--secure`: a throwaway CA and a node certificate for loopback (DIR/tls), a peer secret and an admin
 * token (DIR/peer.secret, DIR/admin.token, both readable by the owner only), and the config fields
 * that use them. The CA's key is not kept: nothing else can be signed with it.
 */
async function secureConfig(dir: string): Promise<Record<string, unknown>> {
  const pki = await makeLocalPki(365);
  mkdirSync(join(dir, 'tls'), { recursive: true });
  writeFileSync(join(dir, 'tls', 'ca.pem'), pki.ca.cert);
  writeFileSync(join(dir, 'tls', 'node.pem'), pki.nodes.cert);
  writeFileSync(join(dir, 'tls', 'node-key.pem'), pki.nodes.key, { mode: 0o600 });
  writeFileSync(join(dir, 'peer.secret'), `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const admin = createToken('admin', 'local-admin');
  writeFileSync(join(dir, 'admin.token'), `${admin.token}\n`, { mode: 0o600 });
  return {
    auth: { peerSecretFile: 'peer.secret', tokens: [admin.entry], audit: true },
    tls: { cert: 'tls/node.pem', key: 'tls/node-key.pem', ca: 'tls/ca.pem' },
  };
}

/** The cause a node logged before exiting (its last error line in DIR/<id>.log), if any. */
function loggedCause(logFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.trimEnd().split('\n').slice(-20).reverse();
  for (const l of lines) {
    try {
      const j = JSON.parse(l) as { level?: number; err?: string; msg?: string };
      if ((j.level ?? 0) >= 50) return j.err ?? j.msg;
    } catch {
      // not a log line
    }
  }
  return undefined;
}

/** Refuses to start when another process holds a port of the cluster, naming the port and the node. */
async function checkPortsFree(config: ClusterConfig): Promise<void> {
  for (const n of config.nodes)
    for (const [port, what] of [
      [n.port, 'HTTP'],
      [n.peerPort, 'peer'],
      ...(n.respPort === undefined ? [] : ([[n.respPort, 'RESP (Redis protocol)']] as const)),
    ] as const) {
      const free = await new Promise<boolean>((res) => {
        const s = net.createServer();
        s.once('error', () => res(false));
        s.listen(port, n.host, () => s.close(() => res(true)));
      });
      if (!free)
        throw new CliError(
          `port ${port} (node ${n.id}'s ${what} port) is in use by another process, perhaps another eau2 cluster: stop it, or start this one with another --port and --dir`,
        );
    }
}

async function waitHealthy(
  config: ClusterConfig,
  children: Map<string, ChildProcess>,
  dir: string,
  timeoutMs: number,
): Promise<void> {
  const tls = config.security.tls;
  const scheme = tls ? 'https' : 'http';
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(config.nodes.map((n) => n.id));
  while (pending.size > 0) {
    for (const n of config.nodes) {
      if (!pending.has(n.id)) continue;
      const child = children.get(n.id);
      if (child && (child.exitCode !== null || child.signalCode !== null)) {
        const log = join(dir, `${n.id}.log`);
        const cause = loggedCause(log);
        throw new CliError(
          `node ${n.id} could not start: ${cause ?? `it exited (${child.signalCode ?? `code ${child.exitCode}`})`}; see ${log}`,
        );
      }
      try {
        const r = await secureFetch(`${scheme}://${n.host}:${n.port}/healthz`, {
          signal: AbortSignal.timeout(1000),
          ...(tls ? { ca: tls.ca } : {}),
        });
        const body = (await r.json().catch(() => ({}))) as HealthBody;
        const state = startState(n.id, r.status, body);
        if (state === 'degraded')
          process.stderr.write(
            `eau2: node ${n.id} is up but ${String(body.status)}: ${String(body.reason ?? 'see its log')}\n`,
          );
        if (state !== 'waiting') pending.delete(n.id);
      } catch {
        // not up yet
      }
    }
    if (pending.size === 0) break;
    if (Date.now() > deadline)
      throw new CliError(`nodes ${[...pending].join(', ')} did not become healthy in ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** What a node's /healthz answer says about the start: the fields startState reads. */
export interface HealthBody {
  node?: unknown;
  status?: unknown;
  reason?: unknown;
}

/**
 * Whether node `id` has started, from its /healthz answer. Only the node this command started counts
 * (another process on the port answers too). A node that is up but degraded or failed (a full disk,
 * a damaged engine) answers 503 with its own id: it has started, and waiting would only hide the
 * reason, which the caller prints.
 */
export function startState(id: string, httpStatus: number, body: HealthBody): 'up' | 'degraded' | 'waiting' {
  if (body.node !== id) return 'waiting';
  if (httpStatus === 200) return 'up';
  if (httpStatus === 503 && (body.status === 'degraded' || body.status === 'failed')) return 'degraded';
  return 'waiting';
}

async function runLocal(o: LocalOpts, cmd: Command): Promise<void> {
  const dir = resolve(o.dir);
  const file = join(dir, 'cluster.json');
  mkdirSync(dir, { recursive: true });
  if (existsSync(file)) {
    const given = ['nodes', 'replicas', 'partitions', 'port'].filter((k) => cmd.getOptionValueSource(k) === 'cli');
    if (given.length > 0)
      process.stderr.write(
        `eau2: ${file} exists: using it, so --${given.join(', --')} ignored (remove ${dir} to start over)\n`,
      );
  } else {
    const cfg = { ...makeConfig(o), ...(o.secure ? await secureConfig(dir) : {}) };
    writeFileSync(file, `${JSON.stringify(cfg, null, 2)}\n`);
  }
  const config = loadConfig(file);
  if (o.secure && !config.security.auth)
    process.stderr.write(`eau2: ${file} exists without "auth": --secure ignored (remove ${dir} to start over)\n`);
  await checkPortsFree(config);
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  let started = false;
  // Re-run this same CLI (bin/eau2.js, or main.ts under tsx: execArgv carries the loader).
  const script = process.argv[1]!;
  // Supervision: a node that exits on its own once the cluster is up is restarted after a backoff
  // (0.5 s, doubling up to 30 s), logged here with the cause from its log; one that keeps exiting
  // within 30 s of its start is given up after MAX_QUICK_EXITS, and when every node is given up
  // eau2 local says why and exits 1.
  const quickExits = new Map<string, number>();
  const restartTimers = new Set<NodeJS.Timeout>();
  const givenUp = new Map<string, string>();
  let allGivenUp: (() => void) | undefined;
  const startNode = (n: ClusterConfig['nodes'][number]): void => {
    const logFile = join(dir, `${n.id}.log`);
    const log = openSync(logFile, 'a');
    const t0 = Date.now();
    const child = spawn(
      process.execPath,
      [...process.execArgv, script, 'node', '--config', file, '--id', n.id, '--log-level', o.logLevel],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    children.set(n.id, child);
    child.on('exit', (code, signal) => {
      // During start-up, waitHealthy reports the exit with its cause.
      if (stopping || !started) return;
      const how = signal ?? `code ${code}`;
      const cause = loggedCause(logFile);
      const quick = Date.now() - t0 < 30_000 ? (quickExits.get(n.id) ?? 0) + 1 : 1;
      quickExits.set(n.id, quick);
      if (quick > MAX_QUICK_EXITS) {
        const why = `node ${n.id} exited ${quick} times in a row within 30 s of starting (last: ${how}${cause ? `, ${cause}` : ''}); see ${logFile}`;
        process.stderr.write(`eau2: ${why}; not restarting it\n`);
        givenUp.set(n.id, why);
        if (givenUp.size === config.nodes.length) allGivenUp?.();
        return;
      }
      const delay = Math.min(30_000, 500 * 2 ** (quick - 1));
      process.stderr.write(
        `eau2: node ${n.id} exited (${how}${cause ? `: ${cause}` : ''}); restarting it in ${delay / 1000} s; see ${logFile}\n`,
      );
      const timer = setTimeout(() => {
        restartTimers.delete(timer);
        if (!stopping) startNode(n);
      }, delay);
      restartTimers.add(timer);
    });
  };
  for (const n of config.nodes) startNode(n);
  const stopAll = async (): Promise<void> => {
    stopping = true;
    for (const t of restartTimers) clearTimeout(t);
    const live = [...children.values()].filter((c) => c.exitCode === null && c.signalCode === null);
    await Promise.all(
      live.map(
        (c) =>
          new Promise<void>((res) => {
            const kill = setTimeout(() => c.kill('SIGKILL'), 10_000);
            c.once('exit', () => {
              clearTimeout(kill);
              res();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    await waitHealthy(config, children, dir, 60_000);
    started = true;
  } catch (e) {
    await stopAll();
    throw e;
  }
  const first = config.nodes[0]!;
  const scheme = config.security.tls ? 'https' : 'http';
  const base = `${scheme}://${first.host}:${first.port}`;
  const last = config.nodes[config.nodes.length - 1]!;
  const tokenFile = join(dir, 'admin.token');
  const secured = config.security.auth !== undefined && existsSync(tokenFile);
  const caFile = config.security.tls?.caFile;
  const curl = `curl${caFile ? ` --cacert ${caFile}` : ''}${secured ? ' -H "Authorization: Bearer $EAU2_TOKEN"' : ''}`;
  const secureLines = secured
    ? [
        `Secured: ${caFile ? 'TLS with a throwaway CA, ' : ''}a peer secret and an admin token (${tokenFile}). Use them with:`,
        `  export EAU2_TOKEN=${readFileSync(tokenFile, 'utf8').trim()}${caFile ? ` EAU2_CA=${caFile}` : ''}`,
        '',
      ]
    : [];
  const out = [
    `eau2 local cluster: ${config.nodes.length} nodes, ${config.partitions} partitions, ${config.replicationFactor} replicas each`,
    `data, config and logs in ${dir}`,
    '',
    ...config.nodes.map(
      (n) =>
        `  ${n.id}  ${scheme}://${n.host}:${n.port}  peer ${n.host}:${n.peerPort}${n.respPort ? `  resp ${n.host}:${n.respPort}` : ''}`,
    ),
    '',
    `Console: ${base}/ui/  (every node serves it)`,
    '',
    ...secureLines,
    'Try:',
    `  ${curl} -X PUT -H 'content-type: text/plain' --data-binary 'hello, eau2' ${base}/kv/greeting`,
    `  ${curl} ${scheme}://${last.host}:${last.port}/kv/greeting`,
    ...(last.respPort
      ? [
          `  redis-cli -h ${last.host} -p ${last.respPort}${scheme === 'https' ? ' --tls --cacert <ca> --pass <token>' : ''} get greeting`,
        ]
      : []),
    `  ${commandLine(script)} status --url ${base}`,
    '',
    'Ctrl-C stops the cluster; run the same command again to find your data.',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  await new Promise<void>((resolveDone, rejectDone) => {
    const onSignal = (): void => {
      process.stdout.write('stopping the cluster...\n');
      stopAll().then(resolveDone, rejectDone);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // Every node given up: nothing is left to run.
    allGivenUp = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      rejectDone(new CliError(`every node has stopped for good:\n  ${[...givenUp.values()].join('\n  ')}`));
    };
  });
  process.stdout.write('stopped.\n');
}

/**
 * How to run this same command from the current folder: `eau2` when it was started through its
 * installed name (npm link, a global install, npx in a project), else `node <path>` as in a clone
 * (README), with the loader flags a development run (tsx) needs.
 */
function commandLine(script: string): string {
  if (basename(script) === 'eau2' && process.execArgv.length === 0) return 'eau2';
  return ['node', ...process.execArgv, relative(process.cwd(), script)].join(' ');
}
