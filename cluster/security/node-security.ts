// A node's security, in one place for the node to call (docs/security.md): it builds the two
// listening servers (plain or TLS, with the connection caps and HTTP timeouts of `limits`), decides
// who an HTTP request or a peer connection is and what it may do, supplies the options every
// outgoing peer connection needs (TLS, the node handshake, the "prove yourself first" gate),
// counts every refusal in /metrics and writes the audit log. With no `auth` and no `tls`
// configured it lets everything through, as a loopback-only laptop cluster needs.

import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import { ErrorCode } from '../../kv/index.js';
import type { ClusterConfig } from '../config.js';
import { HttpError } from '../http/http-util.js';
import type { Message } from '../protocol/messages.js';
import type { PeerConnection, PeerConnectionOptions } from '../protocol/peer-connection.js';
import { AuditLog } from './audit.js';
import { ByteBudget, ConnectionLimiter, type Limits } from './limits.js';
import { admitFromProvenRemote, authenticateAsNode, PeerGate, PRE_AUTH_FRAME_BYTES } from './peer-auth.js';
import { checkProtectedMode } from './protected-mode.js';
import { allowed, httpNeed, type Need, peerNeed } from './roles.js';
import { MsgType } from '../protocol/messages.js';

const PEER_TYPE_NAMES = new Map<number, string>(Object.entries(MsgType).map(([k, v]) => [v, k]));
import { httpsServerTls, nodeClientTls, peerServerTls } from './tls.js';
import { bearerToken, type Principal, TokenSet } from './tokens.js';

export class SecurityMetrics {
  readonly unauthenticatedFrames: Counter;
  readonly peerRefused: Counter<'reason'>;
  readonly httpRefused: Counter<'reason'>;
  readonly connectionsRefused: Counter<'port' | 'reason'>;

  constructor(registry: Registry, open: { http: () => number; peer: () => number; bodyBytes: () => number }) {
    const registers = [registry];
    this.unauthenticatedFrames = new Counter({
      name: 'eau2_peer_unauthenticated_frames_total',
      help: 'Peer frames received before the connection authenticated (each closed its connection)',
      registers,
    });
    this.peerRefused = new Counter({
      name: 'eau2_peer_auth_refused_total',
      help: 'Peer handshakes and messages refused: bad-token, bad-proof, forbidden (role too low), busy',
      labelNames: ['reason'],
      registers,
    });
    this.httpRefused = new Counter({
      name: 'eau2_http_refused_total',
      help: 'HTTP requests refused by authentication or limits: unauthenticated, forbidden, busy, body-budget',
      labelNames: ['reason'],
      registers,
    });
    this.connectionsRefused = new Counter({
      name: 'eau2_connections_refused_total',
      help: 'Connections refused over the connection caps, by port (http, peer) and cap (node-full, client-full)',
      labelNames: ['port', 'reason'],
      registers,
    });
    new Gauge({
      name: 'eau2_open_connections',
      help: 'Open connections by port',
      labelNames: ['port'],
      registers,
      collect() {
        this.set({ port: 'http' }, open.http());
        this.set({ port: 'peer' }, open.peer());
      },
    });
    new Gauge({
      name: 'eau2_http_body_bytes_in_flight',
      help: 'Bytes of HTTP request bodies being received (capped by limits.maxBodyBytesInFlight)',
      registers,
      collect() {
        this.set(open.bodyBytes());
      },
    });
  }
}

export interface HttpCaller {
  who: Principal | undefined;
  need: Need;
}

const UNAUTHORIZED_HEADERS = { 'www-authenticate': 'Bearer realm="eau2"' };

export class NodeSecurity {
  readonly limits: Limits;
  readonly tokens: TokenSet;
  readonly bodyBudget: ByteBudget;
  readonly metrics: SecurityMetrics;
  readonly audit: AuditLog;
  private readonly httpConns: ConnectionLimiter;
  private readonly peerConns: ConnectionLimiter;
  private readonly gate: PeerGate | undefined;
  private readonly httpInflight = new WeakMap<net.Socket, number>();

  constructor(
    private readonly config: ClusterConfig,
    private readonly selfId: string,
    registry: Registry,
    private readonly log: Logger,
    private readonly members: () => readonly string[],
  ) {
    const s = config.security;
    this.limits = s.limits;
    this.tokens = new TokenSet(s.auth?.tokens ?? []);
    this.bodyBudget = new ByteBudget(s.limits.maxBodyBytesInFlight);
    this.httpConns = new ConnectionLimiter(s.limits.maxConnections, s.limits.maxConnectionsPerClient);
    this.peerConns = new ConnectionLimiter(s.limits.maxConnections, s.limits.maxConnectionsPerClient);
    this.metrics = new SecurityMetrics(registry, {
      http: () => this.httpConns.open,
      peer: () => this.peerConns.open,
      bodyBytes: () => this.bodyBudget.used,
    });
    this.audit = new AuditLog(log, s.auth?.audit === true);
    if (s.auth) {
      this.gate = new PeerGate({
        selfId,
        secret: s.auth.peerSecret,
        isMember: (id) => this.members().includes(id),
        tokens: this.tokens,
        requireNodeCert: s.tls !== undefined,
        onUnauthenticatedFrame: (msg, conn) => {
          this.metrics.unauthenticatedFrames.inc();
          this.log.warn(
            { remote: conn.socket.remoteAddress, type: msg?.type },
            'peer frame before authentication; connection closed',
          );
        },
        onRefused: (reason, conn, detail) => {
          this.metrics.peerRefused.inc({ reason });
          this.log.warn({ remote: conn.socket.remoteAddress, reason, detail }, 'peer request refused');
        },
        onAuthenticated: (who, conn) => {
          if (who.kind === 'token')
            this.audit.record({
              who,
              need: 'read',
              method: 'PEER',
              route: 'AUTH_TOKEN',
              status: 200,
              remote: conn.socket.remoteAddress,
            });
        },
      });
    }
  }

  get authEnabled(): boolean {
    return this.config.security.auth !== undefined;
  }

  /** Protected mode: throws when this node may not start as configured. */
  checkStart(host: string): void {
    checkProtectedMode({ id: this.selfId, host }, this.config.security);
  }

  // ---- HTTP

  /** The HTTP or HTTPS server, with the timeouts and connection caps of `limits`. */
  createHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): http.Server {
    const l = this.limits;
    // Node checks the header and request timeouts only every connectionsCheckingInterval (30 s by
    // default): checked each second, a slow client is cut close to its timeout.
    const opts = {
      maxHeaderSize: l.maxHeaderBytes,
      connectionsCheckingInterval: Math.min(1000, l.headersTimeoutMs, l.bodyTimeoutMs),
    };
    // Node's requestTimeout did not cut every upload stalled mid-body once its handler was reading
    // it (seen in the slow-body attack test), so each request also gets its own body deadline.
    const withDeadline = (req: IncomingMessage, res: ServerResponse): void => {
      const timer = setTimeout(() => {
        if (!req.complete) req.socket.destroy();
      }, l.bodyTimeoutMs);
      timer.unref();
      const clear = (): void => clearTimeout(timer);
      req.once('end', clear);
      req.once('close', clear);
      handler(req, res);
    };
    const t = this.config.security.tls;
    const server = t
      ? https.createServer({ ...opts, ...httpsServerTls(t), handshakeTimeout: l.handshakeTimeoutMs }, withDeadline)
      : http.createServer(opts, withDeadline);
    server.headersTimeout = l.headersTimeoutMs;
    server.requestTimeout = l.bodyTimeoutMs;
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket: net.Socket) => {
      const v = this.httpConns.admit(socket);
      if (v === 'ok') return;
      this.metrics.connectionsRefused.inc({ port: 'http', reason: v });
      const status = v === 'node-full' ? '503 Service Unavailable' : '429 Too Many Requests';
      const body = JSON.stringify({
        code: ErrorCode.BUSY,
        message:
          v === 'node-full'
            ? `this node has ${l.maxConnections} open connections (limits.maxConnections); retry later`
            : `too many connections from your address (limits.maxConnectionsPerClient = ${l.maxConnectionsPerClient})`,
      });
      // Before TLS there is no way to say why: the connection is just closed.
      if (t) socket.destroy();
      else
        socket.end(
          `HTTP/1.1 ${status}\r\nconnection: close\r\nretry-after: 1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
    });
    return server;
  }

  /**
   * Who is calling and whether they may: throws 401 (no or unknown token) or 403 (role too low), or
   * 429 when the connection already has limits.maxInflightPerConnection requests being served.
   * `done` must be called when the request ends.
   */
  authorizeHttp(req: IncomingMessage, method: string, path: string): HttpCaller & { done: () => void } {
    const sock = req.socket;
    const n = (this.httpInflight.get(sock) ?? 0) + 1;
    if (n > this.limits.maxInflightPerConnection) {
      this.metrics.httpRefused.inc({ reason: 'busy' });
      throw new HttpError(
        429,
        ErrorCode.BUSY,
        `more than ${this.limits.maxInflightPerConnection} requests in flight on this connection`,
        { 'retry-after': '1' },
      );
    }
    const need = httpNeed(method, path);
    let who: Principal | undefined;
    if (this.authEnabled && need !== 'open') {
      const token = bearerToken(req.headers.authorization);
      who = this.tokens.verify(token);
      if (!who) {
        this.metrics.httpRefused.inc({ reason: 'unauthenticated' });
        throw new HttpError(
          401,
          ErrorCode.UNAUTHENTICATED,
          token === undefined
            ? 'this node requires a token: send Authorization: Bearer <token> (docs/security.md)'
            : 'unknown token',
          UNAUTHORIZED_HEADERS,
        );
      }
      if (!allowed(who, need)) {
        this.metrics.httpRefused.inc({ reason: 'forbidden' });
        throw new HttpError(
          403,
          ErrorCode.FORBIDDEN,
          `token "${who.kind === 'token' ? who.name : ''}" has role ${who.kind === 'token' ? who.role : ''}; ${method} ${path.slice(0, 100)} needs ${need}`,
        );
      }
    }
    this.httpInflight.set(sock, n);
    let released = false;
    return {
      who,
      need,
      done: () => {
        if (released) return;
        released = true;
        const m = (this.httpInflight.get(sock) ?? 1) - 1;
        if (m <= 0) this.httpInflight.delete(sock);
        else this.httpInflight.set(sock, m);
      },
    };
  }

  // ---- Peer port

  /** The peer-port server (TCP, or TLS asking nodes for their certificate), with the connection caps. */
  createPeerServer(onSocket: (socket: net.Socket) => void): net.Server {
    const t = this.config.security.tls;
    const admit = (socket: net.Socket): boolean => {
      const v = this.peerConns.admit(socket);
      if (v === 'ok') return true;
      this.metrics.connectionsRefused.inc({ port: 'peer', reason: v });
      socket.destroy();
      return false;
    };
    if (!t) return net.createServer((socket) => admit(socket) && onSocket(socket));
    const server = tls.createServer(
      { ...peerServerTls(t), handshakeTimeout: this.limits.handshakeTimeoutMs },
      onSocket,
    );
    // Counted (and refused) before the TLS handshake costs anything.
    server.on('connection', (socket: net.Socket) => admit(socket));
    server.on('tlsClientError', () => {});
    return server;
  }

  /** What an inbound peer connection needs: the gate and the pre-authentication frame cap. */
  inboundPeerOptions(): Pick<PeerConnectionOptions, 'admit' | 'initialMaxFrameBytes'> {
    const gate = this.gate;
    if (!gate) return {};
    return { admit: (m, c) => gate.admit(m, c), initialMaxFrameBytes: PRE_AUTH_FRAME_BYTES };
  }

  /** Starts the handshake clock of an inbound connection (with auth): unproven after it, it is closed. */
  watchInbound(conn: PeerConnection): void {
    if (!this.gate) return;
    const timer = setTimeout(() => {
      if (!conn.principal) {
        this.metrics.peerRefused.inc({ reason: 'handshake-timeout' });
        conn.destroy();
      }
    }, this.limits.handshakeTimeoutMs);
    timer.unref();
    conn.socket.once('close', () => clearTimeout(timer));
  }

  /** A frame that failed to decode: before authentication it closes the connection. */
  onInboundProtocolError(conn: PeerConnection): void {
    if (this.gate && !conn.principal) this.gate.refuseUnauthenticated(undefined, conn);
  }

  /** Whether an authenticated inbound connection may take one more request (limits.maxInflightPerConnection). */
  takeInflight(conn: PeerConnection, msg: Message): boolean {
    if (msg.id === 0) return true;
    // A member's connection carries every request its own clients forwarded (those are capped where
    // they came in), so it is not capped again here.
    if (conn.principal?.kind === 'node') {
      conn.inflight++;
      return true;
    }
    if (conn.inflight >= this.limits.maxInflightPerConnection) {
      this.metrics.peerRefused.inc({ reason: 'busy' });
      conn.replyError(msg.id, ErrorCode.BUSY, `more than ${this.limits.maxInflightPerConnection} requests in flight`);
      return false;
    }
    conn.inflight++;
    return true;
  }

  /**
   * The audit line of a client's peer-port request that wrote (PUT, DEL, BATCH); nodes' requests are
   * forwarded ones, audited where the client's request came in.
   */
  auditPeer(conn: PeerConnection, type: number, status: number): void {
    const who = conn.principal;
    if (who?.kind !== 'token') return;
    const need = peerNeed(type);
    if (need === 'read') return;
    this.audit.record({
      who,
      need,
      method: 'PEER',
      route: PEER_TYPE_NAMES.get(type) ?? `0x${type.toString(16)}`,
      status,
      remote: conn.socket.remoteAddress,
    });
  }

  /** Whether `conn` proved to be member `node` (always true without auth). */
  isNode(conn: PeerConnection, node: string): boolean {
    if (!this.gate) return true;
    return conn.principal?.kind === 'node' && conn.principal.node === node;
  }

  /** Options for a connection this node opens to node `peerId`: TLS, the handshake, the gate. */
  outboundPeerOptions(peerId: string): Pick<PeerConnectionOptions, 'tls' | 'handshake' | 'admit'> {
    const s = this.config.security;
    const out: Pick<PeerConnectionOptions, 'tls' | 'handshake' | 'admit'> = {};
    if (s.tls) out.tls = nodeClientTls(s.tls);
    const auth = s.auth;
    if (auth) {
      out.handshake = (c) => authenticateAsNode(c, { selfId: this.selfId, peerId, secret: auth.peerSecret });
      out.admit = admitFromProvenRemote;
    }
    return out;
  }
}
