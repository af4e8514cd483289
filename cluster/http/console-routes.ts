// The web console's routes on every node (docs/api.md "Console"): `GET /ui` serves the console's
// static assets (built by esbuild from console/ into dist/console at `npm run build`; nothing is
// fetched from anywhere else), `GET /` from a browser points there, and the JSON the console reads that no
// other route gives: `GET /stats` (this node's version, uptime, memory, disk and LSM shape),
// `GET /stats/series` (its sampled history, console-series.ts) and `GET /whoami` (the caller's role,
// so the console hides what the role may not do). `node=<id>` on the two /stats routes asks that node
// instead, passing the caller's token on, so a console on any node sees them all.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, fromUtf8 } from '../../kv/index.js';
import type { ClusterConfig } from '../config.js';
import type { HealthReport } from '../node/node-health.js';
import { secureFetch } from '../security/http-fetch.js';
import type { Principal } from '../security/tokens.js';
import type { Topology } from '../topology.js';
import type { SeriesSampler } from './console-series.js';
import type { MetricsSource } from './metrics.js';
import type { StatusHost } from './cluster-status.js';
import { allow, HttpError, parseQuery, percentDecode, sendJson } from './http-util.js';

/** What the console's routes need of the node. */
export interface ConsoleHost {
  readonly selfId: string;
  readonly config: Pick<ClusterConfig, 'security'>;
  topology(): Topology;
  health(): HealthReport;
  leaderState: StatusHost['leaderState'];
  followerState: MetricsSource['followerState'];
  engineStats(): Record<string, number>;
}

const STARTED = Date.now();
/** A /stats answer asked of another node must come back within this, or the node is shown unreachable. */
const PROXY_TIMEOUT_MS = 2000;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

// Everything comes from this node; images previewed in the key browser are blob: URLs.
const CSP =
  "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";

/** The package's root: the folder above this file holding eau2's package.json (source or dist/). */
function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'eau2') return dir;
    } catch {
      // not here; go up
    }
    dir = dirname(dir);
  }
  return undefined;
}

const ROOT = packageRoot();
const VERSION = ((): string => {
  try {
    return (JSON.parse(readFileSync(join(ROOT ?? '.', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

/** Where the built console lives: EAU2_CONSOLE_DIR, else dist/console in the package. */
function consoleDir(): string {
  return process.env.EAU2_CONSOLE_DIR || join(ROOT ?? '.', 'dist', 'console');
}

let assets: Map<string, { body: Buffer; type: string }> | undefined;

/** The built files, read once: a fixed set of names, so no request path ever reaches the filesystem. */
function loadAssets(): Map<string, { body: Buffer; type: string }> {
  if (assets) return assets;
  const dir = consoleDir();
  if (!existsSync(join(dir, 'index.html')))
    throw new HttpError(
      503,
      ErrorCode.UNAVAILABLE,
      `the console is not built (no ${join(dir, 'index.html')}): run npm run build`,
    );
  const out = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const ext = name.slice(name.lastIndexOf('.'));
    const type = TYPES[ext];
    if (type) out.set(name, { body: readFileSync(join(dir, name)), type });
  }
  assets = out;
  return out;
}

function serveAsset(res: ServerResponse, method: string, name: string): number {
  const a = loadAssets().get(name);
  if (!a) throw new HttpError(404, ErrorCode.NOT_FOUND, `no console file ${name.slice(0, 100)}`);
  res.writeHead(200, {
    'content-type': a.type,
    'content-length': a.body.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy': CSP,
    'referrer-policy': 'no-referrer',
  });
  res.end(method === 'HEAD' ? undefined : a.body);
  return 200;
}

/** GET /stats for this node. */
function nodeStats(host: ConsoleHost): unknown {
  const e = host.engineStats();
  const levels: { level: number; files: number; bytes: number; compactionScore: number }[] = [];
  for (let l = 0; e[`levels_${l}_files`] !== undefined; l++)
    levels.push({
      level: l,
      files: e[`levels_${l}_files`]!,
      bytes: e[`levels_${l}_bytes`] ?? 0,
      compactionScore: e[`levels_${l}_compactionScore`] ?? 0,
    });
  const health = host.health();
  const mem = process.memoryUsage();
  return {
    node: host.selfId,
    version: VERSION,
    node_version: process.version,
    pid: process.pid,
    startedAt: new Date(STARTED).toISOString(),
    uptimeSeconds: Math.round((Date.now() - STARTED) / 1000),
    memory: { rss: mem.rss, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal, external: mem.external },
    disk: { tablesBytes: e.liveBytes ?? null, freeBytes: health.diskFreeBytes ?? null, low: health.diskLow ?? false },
    health,
    leads: host
      .leaderState()
      .map((s) => s.p)
      .sort((a, b) => a - b),
    follows: host
      .followerState()
      .map((s) => s.p)
      .sort((a, b) => a - b),
    engine: {
      levels,
      memtableBytes: e.memtableBytes ?? null,
      immutableMemtables: e.immutableMemtables ?? null,
      writeAmplification: e.writeAmplification ?? null,
      flushes: e.flushes ?? null,
      compactions: e.compactions ?? null,
      compactionBytesWritten: e.compactionBytesWritten ?? null,
      stallMs: e.stallMs ?? null,
      slowdowns: e.slowdowns ?? null,
      stops: e.stops ?? null,
      blockCacheHitRate: e.blockCache_hitRate ?? null,
      blockCacheBytes: e.blockCache_bytes ?? null,
      blockCacheCapacity: e.blockCache_capacity ?? null,
      lastSequence: e.lastSequence ?? null,
    },
  };
}

/** Asks node `id` for `path` with the caller's token; its answer (status and JSON) is passed on. */
async function proxy(host: ConsoleHost, req: IncomingMessage, res: ServerResponse, id: string, path: string) {
  const n = host.topology().nodes.find((x) => x.id === id);
  if (!n) throw new HttpError(404, ErrorCode.NOT_FOUND, `no node ${JSON.stringify(id.slice(0, 64))}`);
  const tls = host.config.security.tls;
  const headers: Record<string, string> = {};
  if (req.headers.authorization) headers.authorization = req.headers.authorization;
  let r: Response;
  try {
    r = await secureFetch(`${tls ? 'https' : 'http'}://${n.host}:${n.port}${path}`, {
      headers,
      signal: AbortSignal.timeout(PROXY_TIMEOUT_MS),
      ...(tls ? { ca: tls.ca } : {}),
    });
  } catch (e) {
    throw new HttpError(503, ErrorCode.UNAVAILABLE, `node ${id} did not answer: ${(e as Error).message}`);
  }
  const text = await r.text();
  res.writeHead(r.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
  return r.status;
}

/**
 * The label /metrics counts a console path under (undefined: not a console path). `GET /` is the
 * console's only for a browser (it accepts HTML): programs get the node's description (http-server.ts).
 */
export function consoleRoute(method: string, path: string, accept = ''): string | undefined {
  if (path === '/') return (method === 'GET' || method === 'HEAD') && accept.includes('text/html') ? '/' : undefined;
  if (path === '/ui' || path.startsWith('/ui/')) return '/ui';
  if (path === '/stats' || path === '/stats/series' || path === '/whoami') return path;
  return undefined;
}

/**
 * Serves the console's routes; resolves the status, or undefined for a path that is not one of them.
 * `who` is the caller as authenticated by the node (undefined without `auth`).
 */
export async function handleConsole(
  host: ConsoleHost,
  series: SeriesSampler,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  path: string,
  qs: string,
  who: Principal | undefined,
): Promise<number | undefined> {
  if (path === '/' && (method === 'GET' || method === 'HEAD')) {
    parseQuery(qs, []);
    res.writeHead(302, { location: '/ui/', 'content-length': 0 });
    res.end();
    return 302;
  }
  if (path === '/ui' || path.startsWith('/ui/')) {
    allow(method, ['GET', 'HEAD']);
    if (path === '/ui') {
      // Relative asset URLs resolve against /ui/, so the page lives there.
      res.writeHead(301, { location: '/ui/', 'content-length': 0 });
      res.end();
      return 301;
    }
    const name = path.slice(4);
    return serveAsset(res, method, name === '' ? 'index.html' : name);
  }
  if (path === '/stats' || path === '/stats/series') {
    allow(method, ['GET']);
    const raw = parseQuery(qs, ['node']).get('node');
    const node = raw === undefined ? undefined : fromUtf8(percentDecode(raw));
    if (node !== undefined && node !== host.selfId) return proxy(host, req, res, node, path);
    sendJson(res, 200, path === '/stats' ? nodeStats(host) : series.report());
    return 200;
  }
  if (path === '/whoami') {
    allow(method, ['GET']);
    parseQuery(qs, []);
    const auth = host.config.security.auth !== undefined;
    // Without auth every caller may do everything; a node (peer) principal never reaches HTTP.
    const role = !auth ? 'admin' : who?.kind === 'token' ? who.role : 'read';
    sendJson(res, 200, { auth, name: who?.kind === 'token' ? who.name : null, role, node: host.selfId });
    return 200;
  }
  return undefined;
}
