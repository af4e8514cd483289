// The Redis protocol port of a node (config `respPort`, docs/api.md "Redis protocol"): RESP2, and
// RESP3 after HELLO 3, on the node's host (loopback unless configured otherwise; TLS when the
// cluster has `tls`). Each connection runs its commands one at a time, in order (a pipeline's SET
// then GET sees the SET), and answers in order; the replies of a pipeline are written together.
//
// Memory per connection is bounded (RespLimits): the decoder holds at most one command
// (maxCommandBytes), reading pauses while maxQueuedCommands / maxQueuedBytes wait, commands stop
// running while more than replyBufferSoftBytes of replies wait in the socket, and a connection
// whose unread replies pass replyBufferHardBytes, or stay over the soft limit for replyStallMs, is
// closed (Redis's client-output-buffer-limit hard and soft limits).
// Connections are capped per node and per client address by `limits` (docs/security.md).

import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log.js';
import { ConnectionLimiter } from '../security/limits.js';
import { httpsServerTls } from '../security/tls.js';
import { roleAllows } from '../security/tokens.js';
import type { SecurityConfig } from '../security/security-config.js';
import { COMMANDS, errorReply } from './resp-commands.js';
import { type RespClient, RespContext, type RespHost, RESP_LIMIT_DEFAULTS, type RespLimits } from './resp-context.js';
import { RespDecoder, RespProtocolError } from './resp-decoder.js';
import { encodeReply, err, type Reply } from './resp-reply.js';

export interface RespServerOptions {
  host: RespHost;
  port: number;
  listenHost: string;
  security: SecurityConfig;
  log: Logger;
  limits?: Partial<RespLimits>;
}

let nextClientId = 1;

/** Commands that only read and change no connection state: a pipelined run of them runs at once. */
const CONCURRENT_READS = new Set(['GET', 'MGET', 'EXISTS', 'STRLEN', 'TTL', 'PTTL', 'PING', 'ECHO']);
const MAX_CONCURRENT_READS = 64;

function commandName(args: Buffer[]): string {
  const a = args[0];
  return a === undefined || a.length > 8 ? '' : a.toString('latin1').toUpperCase();
}

export class RespServer {
  readonly ctx: RespContext;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly conns: ConnectionLimiter;
  private readonly log: Logger;

  constructor(private readonly opts: RespServerOptions) {
    const limits = { ...RESP_LIMIT_DEFAULTS, ...opts.limits };
    this.ctx = new RespContext(opts.host, limits, opts.port);
    this.log = opts.log;
    const l = opts.security.limits;
    this.conns = new ConnectionLimiter(l.maxConnections, l.maxConnectionsPerClient);
    const t = opts.security.tls;
    const onSocket = (s: net.Socket) => this.accept(s);
    if (t) {
      this.server = tls.createServer({ ...httpsServerTls(t), handshakeTimeout: l.handshakeTimeoutMs }, onSocket);
      this.server.on('connection', (s: net.Socket) => this.admit(s));
      this.server.on('tlsClientError', () => {});
    } else {
      this.server = net.createServer((s) => {
        if (this.admit(s)) onSocket(s);
      });
    }
  }

  /** Counts the connection in, or closes it (over the node-wide or per-address cap). */
  private admit(s: net.Socket): boolean {
    if (this.conns.admit(s) === 'ok') return true;
    this.ctx.stats.rejected++;
    s.end('-ERR max number of clients reached\r\n');
    s.destroy();
    return false;
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.listenHost, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  get port(): number {
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : this.opts.port;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private accept(socket: net.Socket): void {
    const ctx = this.ctx;
    const limits = ctx.limits;
    const auth = this.opts.host.security.authEnabled;
    const now = Date.now();
    const c: RespClient = {
      id: nextClientId++,
      addr: `${socket.remoteAddress}:${socket.remotePort}`,
      laddr: `${socket.localAddress}:${socket.localPort}`,
      createdAt: now,
      lastAt: now,
      lastCmd: 'NULL',
      name: '',
      libName: '',
      libVer: '',
      proto: 2,
      role: auth ? undefined : 'admin',
      user: 'default',
      wrote: new Set(),
      closeAfterReply: false,
    };
    ctx.clients.set(c.id, c);
    ctx.stats.connections++;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const decoder = new RespDecoder(limits);
    const queue: Buffer[][] = [];
    let queuedBytes = 0;
    let running = false;
    let closed = false;
    /** A protocol error: answered (after the replies before it), then the connection closes. */
    let failure: string | undefined;
    let out: (string | Uint8Array)[] = [];
    let outBytes = 0;

    const flush = () => {
      if (out.length === 0 || closed) return;
      const chunks = out.map((x) => (typeof x === 'string' ? Buffer.from(x) : x));
      out = [];
      ctx.stats.netOut += outBytes;
      outBytes = 0;
      socket.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      if (socket.writableLength > limits.replyBufferHardBytes) {
        ctx.stats.overruns++;
        this.log.warn(
          { client: c.addr, bytes: socket.writableLength },
          'RESP client does not read its replies: closed',
        );
        socket.destroy();
      }
    };
    const reply = (r: Reply) => {
      outBytes += encodeReply(r, c.proto, out);
      if (outBytes >= 64 * 1024) flush();
    };
    const pump = async () => {
      if (running) return;
      running = true;
      try {
        while (queue.length > 0 && !closed) {
          if (socket.writableLength > limits.replyBufferSoftBytes) {
            flush();
            const drained = await new Promise<boolean>((r) => {
              const timer = setTimeout(() => r(false), limits.replyStallMs);
              const done = () => {
                clearTimeout(timer);
                r(true);
              };
              socket.once('drain', done);
              socket.once('close', done);
            });
            if (!drained) {
              ctx.stats.overruns++;
              this.log.warn(
                { client: c.addr, bytes: socket.writableLength },
                'RESP client stopped reading its replies: closed',
              );
              socket.destroy();
              return;
            }
            continue;
          }
          // A run of pure reads waiting together runs at once (their replies still in order): they
          // cannot see each other, and every write before them has completed. Anything else runs
          // alone, so a pipeline's reads see its writes.
          let n = 1;
          if (CONCURRENT_READS.has(commandName(queue[0]!)))
            while (n < queue.length && n < MAX_CONCURRENT_READS && CONCURRENT_READS.has(commandName(queue[n]!))) n++;
          const batch = queue.splice(0, n);
          for (const args of batch) for (const a of args) queuedBytes -= a.length;
          if (
            socket.isPaused() &&
            queue.length < limits.maxQueuedCommands / 2 &&
            queuedBytes < limits.maxQueuedBytes / 2
          )
            socket.resume();
          if (n === 1) reply(await this.execute(c, batch[0]!));
          else for (const r of await Promise.all(batch.map((args) => this.execute(c, args)))) reply(r);
          if (c.closeAfterReply) {
            flush();
            closed = true;
            socket.end();
            return;
          }
          // Replies of a pipeline go out together: flush once nothing more is waiting.
          if (queue.length === 0) flush();
        }
        if (failure !== undefined && !closed) {
          reply(err(`ERR ${failure}`));
          flush();
          closed = true;
          socket.end();
          return;
        }
        flush();
      } finally {
        running = false;
      }
    };

    socket.on('data', (chunk: Buffer) => {
      if (failure !== undefined) return;
      ctx.stats.netIn += chunk.length;
      try {
        decoder.push(chunk, (args) => {
          queue.push(args);
          for (const a of args) queuedBytes += a.length;
        });
      } catch (e) {
        // As Redis: the error, then the connection is closed (after the replies before it).
        failure = e instanceof RespProtocolError ? e.message : 'Protocol error';
        socket.pause();
        void pump();
        return;
      }
      if (queue.length >= limits.maxQueuedCommands || queuedBytes >= limits.maxQueuedBytes) socket.pause();
      void pump();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      closed = true;
      queue.length = 0;
      this.sockets.delete(socket);
      ctx.clients.delete(c.id);
    });
  }

  /** One command: checks (auth, name, arity, role), then runs it; every failure is a reply. */
  private async execute(c: RespClient, args: Buffer[]): Promise<Reply> {
    const ctx = this.ctx;
    ctx.stats.commands++;
    const name = args[0]!.toString('latin1').toUpperCase();
    c.lastAt = Date.now();
    c.lastCmd = name.toLowerCase();
    const spec = COMMANDS.get(name);
    if (!spec) {
      let rest = '';
      for (let i = 1; i < args.length && rest.length < 128; i++)
        rest += `'${args[i]!.toString('latin1').slice(0, 128 - rest.length)}' `;
      return err(
        `ERR unknown command '${args[0]!.toString('latin1').slice(0, 128)}', with args beginning with: ${rest}`,
      );
    }
    if (c.role === undefined && !spec.preAuth) return err('NOAUTH Authentication required.');
    if (spec.arity > 0 ? args.length !== spec.arity : args.length < -spec.arity)
      return err(`ERR wrong number of arguments for '${name.toLowerCase()}' command`);
    if (spec.need !== 'conn' && c.role !== undefined && !roleAllows(c.role, spec.need))
      return err(`NOPERM this user has no permissions to run the '${name.toLowerCase()}' command`);
    try {
      return await spec.run(ctx, c, args);
    } catch (e) {
      return errorReply(e);
    }
  }
}
