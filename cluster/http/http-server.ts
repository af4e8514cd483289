// The HTTP API every node serves (docs/api.md): routing by path and method, timing and counting every
// request for /metrics, and turning every failure into a JSON error with a 4xx/5xx status. The admin
// routes live here; the key/value routes in kv-routes.ts. Extensions (the dataframe layer's /df
// routes) are tried before the 404.

import type http from 'node:http';
import type { HealthReport } from '../node/node-health.js';
import { RateLimitedLog } from '../log-limit.js';
import { ErrorCode } from '../../kv/index.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClusterConfig } from '../config.js';
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import type { HttpHandler } from '../node/extensions.js';
import { packageVersion } from '../package-version.js';
import { clusterStatus, type StatusHost } from './cluster-status.js';
import { allow, HttpError, parseQuery, sendError, sendJson } from './http-util.js';
import { handleKv, handleKvList, handleSeedGet, handleSeedPut, type KvRoutesHost } from './kv-routes.js';
import type { NodeMetrics } from './metrics.js';
import { httpNeed } from '../security/roles.js';
import type { VerifyHost } from '../node/verify-compare.js';
import { handleVerify } from './verify-route.js';
import { consoleRoute, handleConsole, type ConsoleHost } from './console-routes.js';
import { SeriesSampler } from './console-series.js';
import type { NodeSecurity } from '../security/node-security.js';

/** What the HTTP API needs of the node. */
export interface HttpHost extends KvRoutesHost, StatusHost, VerifyHost, ConsoleHost {
  readonly config: Pick<ClusterConfig, 'maxBodyBytes' | 'security'>;
  readonly serving: boolean;
  health(): HealthReport;
  readonly metrics: NodeMetrics;
  readonly log: Logger;
  /** Authentication, roles, limits and audit of HTTP requests (cluster/security). */
  readonly security: NodeSecurity;
  extensionHandlers(): readonly HttpHandler[];
}

/** GET /: what this node is, and links to its routes (docs/api.md). */
function describeNode(node: HttpHost): Record<string, unknown> {
  return {
    name: 'eau2',
    version: packageVersion(),
    node: node.selfId,
    epoch: node.topology().epoch,
    serving: node.serving,
    docs: 'docs/api.md (in the eau2 package)',
    links: {
      key: { href: '/kv/{key}', methods: ['GET', 'HEAD', 'PUT', 'DELETE'] },
      keys: { href: '/kv', methods: ['GET'] },
      cluster: { href: '/cluster', methods: ['GET'] },
      health: { href: '/healthz', methods: ['GET'] },
      metrics: { href: '/metrics', methods: ['GET'] },
      seeds: { href: '/', methods: ['PUT', 'POST'] },
      console: { href: '/ui/', methods: ['GET'] },
      // The dataframe layer's routes, when `eau2 node` mounted them.
      ...(node.extensionHandlers().length > 0 ? { dataframes: { href: '/df', methods: ['GET'] } } : {}),
    },
  };
}

/** How much longer an idle connection is kept than advertised (keepAliveTimeout, node-security.ts). */
const KEEP_ALIVE_GRACE_MS = 10_000;

export class HttpApi {
  private readonly server: http.Server;
  /** A failing disk fails every request alike: one line per kind of failure per 10 s, with a count. */
  private readonly failures = new RateLimitedLog(() => this.node.log, 10_000);
  /** The node's sampled history for the console (GET /stats/series). */
  private readonly series: SeriesSampler;

  constructor(private readonly node: HttpHost) {
    // HTTP or HTTPS, with the header/body timeouts and connection caps of `limits` (cluster/security).
    this.server = node.security.createHttpServer((req, res) => void this.handle(req, res));
    this.series = new SeriesSampler(node);
    // Node destroys a keep-alive connection the moment its idle timer fires, unless the server has
    // a 'timeout' listener. Clients stop reusing a connection shortly before the advertised timeout
    // (undici: 2 s before), but a node stalled longer than that (a loaded machine, a long GC) wakes
    // with a request waiting in the socket and runs its timers before reading it: it would close
    // the connection under that request ("other side closed" / ECONNRESET in the client). So the
    // first idle timeout only starts a grace period; the connection closes when a second one passes
    // with nothing read (Node 24's keepAliveTimeoutBuffer does the same).
    const idleSince = new WeakMap<Socket, number>();
    this.server.on('timeout', (socket: Socket) => {
      if (idleSince.get(socket) === socket.bytesRead) socket.destroy();
      else {
        idleSince.set(socket, socket.bytesRead);
        socket.setTimeout(KEEP_ALIVE_GRACE_MS);
      }
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      // A head over limits.maxHeaderBytes is 431 (counted); anything else unparsable is 400.
      const tooBig = err.code === 'HPE_HEADER_OVERFLOW';
      if (tooBig) node.security.metrics.httpRefused.inc({ reason: 'header-too-large' });
      socket.end(
        tooBig
          ? 'HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n{"code":"TOO_LARGE","message":"request head exceeds limits.maxHeaderBytes"}'
          : 'HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n{"code":"INVALID","message":"malformed HTTP request"}',
      );
    });
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.series.start();
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.series.stop();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const t0 = process.hrtime.bigint();
    let route = 'other';
    let status = 500;
    let caller: ReturnType<typeof this.node.security.authorizeHttp> | undefined;
    try {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      const qs = q < 0 ? '' : url.slice(q + 1);
      const method = req.method ?? 'GET';
      // Who is calling and whether their role allows this (401/403/429), before anything is read.
      caller = this.node.security.authorizeHttp(req, method, path);
      const consoleLabel = consoleRoute(method, path, req.headers.accept);
      if (consoleLabel !== undefined) {
        route = consoleLabel;
        status = (await handleConsole(this.node, this.series, req, res, method, path, qs, caller.who))!;
      } else if (path.startsWith('/kv/')) {
        route = '/kv/:key';
        status = await handleKv(this.node, req, res, method, path.slice(4), qs);
      } else if (path === '/kv' || path === '/kv/') {
        route = '/kv';
        allow(method, ['GET']);
        status = await handleKvList(this.node, res, qs);
      } else if (path === '/') {
        route = '/';
        allow(method, ['GET', 'PUT', 'POST']);
        if (method === 'GET' || method === 'HEAD') {
          parseQuery(qs, []);
          status = 200;
          sendJson(res, 200, describeNode(this.node));
        } else
          status =
            method === 'PUT'
              ? await handleSeedPut(this.node, req, res, qs)
              : await handleSeedGet(this.node, req, res, qs);
      } else if (path === '/healthz') {
        route = '/healthz';
        allow(method, ['GET']);
        parseQuery(qs, []);
        // 503 while starting, and while the engine refuses writes (degraded: a full disk, recovering by
        // itself; failed: until a restart): a load balancer takes the node out, an operator sees why.
        const h = this.node.health();
        const ok = this.node.serving && h.status === 'ok';
        status = ok ? 200 : 503;
        sendJson(res, status, {
          ...h,
          status: this.node.serving ? h.status : 'starting',
          node: this.node.selfId,
          epoch: this.node.topology().epoch,
        });
      } else if (path === '/cluster') {
        route = '/cluster';
        allow(method, ['GET']);
        parseQuery(qs, []);
        status = 200;
        sendJson(res, 200, await clusterStatus(this.node));
      } else if (path === '/cluster/verify') {
        route = '/cluster/verify';
        allow(method, ['GET']);
        status = await handleVerify(this.node, res, qs);
      } else if (path === '/metrics') {
        route = '/metrics';
        allow(method, ['GET']);
        parseQuery(qs, []);
        const text = await this.node.metrics.registry.metrics();
        status = 200;
        res.writeHead(200, { 'content-type': this.node.metrics.registry.contentType });
        res.end(text);
      } else {
        route = 'extension';
        for (const h of this.node.extensionHandlers()) {
          if (await h(req, res)) {
            status = res.statusCode;
            return;
          }
        }
        route = 'unknown';
        throw new HttpError(404, ErrorCode.NOT_FOUND, `no route ${method} ${path.slice(0, 200)}`);
      }
    } catch (e) {
      status = sendError(res, e);
      if (status >= 500)
        this.failures.warn(
          `${status} ${(e as { code?: string }).code ?? ''}`,
          { err: (e as Error).message, url: req.url?.slice(0, 200) },
          'request failed',
        );
    } finally {
      caller?.done();
      this.node.security.audit.record({
        who: caller?.who,
        need: caller?.need ?? httpNeed(req.method ?? 'GET', (req.url ?? '/').split('?')[0]!),
        method: req.method ?? '',
        route,
        status,
        remote: req.socket?.remoteAddress,
      });
      this.node.metrics.httpRequests.inc({ method: req.method ?? '', route, status: String(status) });
      this.node.metrics.httpSeconds.observe(
        { method: req.method ?? '', route, status: String(status) },
        Number(process.hrtime.bigint() - t0) / 1e9,
      );
    }
  }
}
