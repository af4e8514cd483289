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
import type { Registry } from 'prom-client';
import tls from 'node:tls';
import type { Logger } from '../log.js';
import { partitionOf } from '../../kv/index.js';
import { ConnectionLimiter } from '../security/limits.js';
import { httpsServerTls } from '../security/tls.js';
import { roleAllows } from '../security/tokens.js';
import type { SecurityConfig } from '../security/security-config.js';
import { COMMANDS, type CommandSpec, errorReply } from './resp-commands.js';
import { type RespClient, RespContext, type RespHost, RESP_LIMIT_DEFAULTS, type RespLimits } from './resp-context.js';
import { RespDecoder, RespProtocolError } from './resp-decoder.js';
import { registerRespMetrics } from './resp-metrics.js';
import { encodeReply, err, type Reply, writeChunks } from './resp-reply.js';

export interface RespServerOptions {
  host: RespHost;
  port: number;
  listenHost: string;
  security: SecurityConfig;
  log: Logger;
  limits?: Partial<RespLimits>;
  /** The node's Prometheus registry: the RESP metrics join it (resp-metrics.ts). */
  registry?: Registry;
}

let nextClientId = 1;

/** Commands that only read and change no connection state: a pipelined run of them runs at once. */
const CONCURRENT_READS = new Set(['GET', 'MGET', 'EXISTS', 'STRLEN', 'TTL', 'PTTL', 'PING', 'ECHO']);
const MAX_CONCURRENT_READS = 64;
/**
 * Writes that a pipelined run of issues at once, when each key is distinct and its partition is
 * led by this node: they are issued in order in one synchronous step, so they reach the partition
 * writer in order and share one engine batch (one turn's wait instead of one per command). A
 * forwarded write could be retried behind a later one, so writes to other nodes' partitions run
 * one at a time, as does anything after a write to a key already in the run.
 */
const CONCURRENT_WRITES = new Set(['SET', 'INCR', 'DECR', 'INCRBY', 'DECRBY']);
const MAX_CONCURRENT_WRITES = 64;

/** A command's name and spec (undefined: unknown), looked up once per command. */
interface Lookup {
  name: string;
  lower: string;
  spec: CommandSpec | undefined;
}
const UNKNOWN: Lookup = { name: '', lower: '', spec: undefined };
const LOOKUPS = new Map<string, Lookup>(
  [...COMMANDS].map(([name, spec]) => [name, { name, lower: name.toLowerCase(), spec }]),
);

/** Clients send names upper-case (redis-cli, redis-benchmark, ioredis) or lower-case: both hit. */
for (const [name, l] of [...LOOKUPS]) LOOKUPS.set(name.toLowerCase(), l);

function lookup(a: Buffer | undefined): Lookup {
  if (a === undefined || a.length > 16) return UNKNOWN;
  const text = a.toString('latin1');
  return LOOKUPS.get(text) ?? LOOKUPS.get(text.toUpperCase()) ?? UNKNOWN;
}

/** Counts an error reply under its first word, as Redis's errorstats do (ERR for anything else). */
function countError(errors: Map<string, number>, text: string): void {
  const sp = text.indexOf(' ');
  const word = sp > 0 ? text.slice(0, sp) : text;
  const kind = word.length <= 16 && /^[A-Z]+$/.test(word) ? word : 'ERR';
  errors.set(kind, (errors.get(kind) ?? 0) + 1);
}

const isPromise = <T>(x: T | Promise<T>): x is Promise<T> => typeof (x as { then?: unknown })?.then === 'function';

export class RespServer {
  readonly ctx: RespContext;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly conns: ConnectionLimiter;
  private readonly log: Logger;
  private readonly unregister: (() => void) | undefined;

  constructor(private readonly opts: RespServerOptions) {
    const limits = { ...RESP_LIMIT_DEFAULTS, ...opts.limits };
    this.ctx = new RespContext(opts.host, limits, opts.port);
    this.log = opts.log;
    this.unregister = opts.registry ? registerRespMetrics(opts.registry, this.ctx) : undefined;
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
    this.unregister?.();
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
      wroteAt: Number.NEGATIVE_INFINITY,
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
      ctx.stats.netOut += outBytes;
      // One write per batch of replies; a single string reply (+OK, :1) goes out as it is.
      socket.write(out.length === 1 && typeof out[0] === 'string' ? out[0] : writeChunks(out, outBytes));
      out = [];
      outBytes = 0;
      if (socket.writableLength > limits.replyBufferHardBytes) {
        ctx.stats.overruns++;
        ctx.stats.replyHardLimitCloses++;
        this.log.warn(
          { client: c.addr, bytes: socket.writableLength },
          'RESP client does not read its replies: closed',
        );
        socket.destroy();
      }
    };
    const reply = (r: Reply) => {
      if (r.k === 'err') countError(ctx.stats.errors, r.s);
      outBytes += encodeReply(r, c.proto, out);
      if (outBytes >= 64 * 1024) flush();
    };
    /** The command running is a write: its completion is noted for DBSIZE (RespContext.countKeys). */
    let writing = false;
    /** After a command's reply: stop if it was QUIT; else carry on with the queue. */
    const replied = (): boolean => {
      if (writing) {
        writing = false;
        c.wroteAt = ctx.clock();
      }
      if (c.closeAfterReply) {
        flush();
        closed = true;
        socket.end();
        running = false;
        return false;
      }
      // Replies of a pipeline go out together: flush once nothing more is waiting.
      if (queue.length === 0) flush();
      return true;
    };
    const resumeOne = (r: Reply) => {
      reply(r);
      if (replied()) run();
    };
    const resumeMany = (rs: Reply[]) => {
      for (const r of rs) reply(r);
      if (replied()) run();
    };
    const waitDrain = () => {
      ctx.stats.replySoftLimitPauses++;
      flush();
      const timer = setTimeout(() => stalled(), limits.replyStallMs);
      const done = () => {
        clearTimeout(timer);
        socket.off('drain', done);
        socket.off('close', done);
        run();
      };
      const stalled = () => {
        socket.off('drain', done);
        socket.off('close', done);
        ctx.stats.overruns++;
        ctx.stats.replyStallCloses++;
        this.log.warn(
          { client: c.addr, bytes: socket.writableLength },
          'RESP client stopped reading its replies: closed',
        );
        running = false;
        socket.destroy();
      };
      socket.once('drain', done);
      socket.once('close', done);
    };
    /**
     * Runs the queue, in order, one command (or one run of reads) at a time. Synchronous while the
     * commands answer at once; a command that must wait continues the loop from its callback, so
     * a command costs no await chain of its own. `running` stays true until the queue is empty.
     */
    const run = (): void => {
      while (queue.length > 0 && !closed) {
        if (socket.writableLength > limits.replyBufferSoftBytes) {
          waitDrain();
          return;
        }
        // A run of pure reads waiting together runs at once (their replies still in order): they
        // cannot see each other, and every write before them has completed. Anything else runs
        // alone, so a pipeline's reads see its writes.
        const first = lookup(queue[0]![0]);
        let n = 1;
        let writeRun = false;
        if (CONCURRENT_READS.has(first.name))
          while (n < queue.length && n < MAX_CONCURRENT_READS && CONCURRENT_READS.has(lookup(queue[n]![0]).name)) n++;
        else if (queue.length > 1 && this.localWrite(queue[0]!, first)) {
          const keys = new Set<string>([queue[0]![1]!.toString('latin1')]);
          while (n < queue.length && n < MAX_CONCURRENT_WRITES) {
            const args = queue[n]!;
            if (!this.localWrite(args, lookup(args[0]))) break;
            const k = args[1]!.toString('latin1');
            if (keys.has(k)) break;
            keys.add(k);
            n++;
          }
          writeRun = n > 1;
        }
        const batch = n === 1 ? [queue.shift()!] : queue.splice(0, n);
        for (const args of batch) for (const a of args) queuedBytes -= a.length;
        if (socket.isPaused() && queue.length < limits.maxQueuedCommands / 2 && queuedBytes < limits.maxQueuedBytes / 2)
          socket.resume();
        if (n === 1) {
          writing = first.spec?.need === 'write';
          const r = this.execute(c, batch[0]!, first);
          if (isPromise(r)) {
            r.then(resumeOne, (e: unknown) => resumeOne(errorReply(e)));
            return;
          }
          reply(r);
        } else {
          writing = writeRun;
          const rs = batch.map((args) => {
            const r = this.execute(c, args, lookup(args[0]));
            return isPromise(r) ? r.catch(errorReply) : r;
          });
          void Promise.all(rs).then(resumeMany);
          return;
        }
        if (!replied()) return;
      }
      if (failure !== undefined && !closed) {
        reply(err(`ERR ${failure}`));
        flush();
        closed = true;
        socket.end();
      } else flush();
      running = false;
    };
    const pump = () => {
      if (running) return;
      running = true;
      run();
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
        ctx.stats.protocolErrors++;
        socket.pause();
        void pump();
        return;
      }
      if ((queue.length >= limits.maxQueuedCommands || queuedBytes >= limits.maxQueuedBytes) && !socket.isPaused()) {
        ctx.stats.inputPauses++;
        socket.pause();
      }
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

  /**
   * A write that may join a pipelined run (CONCURRENT_WRITES): a plain `SET k v` or a counter
   * command whose key's partition this node leads and is not restoring.
   */
  private localWrite(args: Buffer[], l: Lookup): boolean {
    if (!CONCURRENT_WRITES.has(l.name) || args.length < 2 || args.length > 3) return false;
    if (l.name === 'SET' ? args.length !== 3 : (args.length === 3) !== l.name.endsWith('BY')) return false;
    const host = this.ctx.host;
    const p = partitionOf(args[1]!, host.topology().partitions);
    return host.leaderOf(p) !== undefined && !host.opening(p);
  }

  /**
   * One command: checks (auth, name, arity, role), then runs it; every failure is a reply (a
   * returned promise may reject: the caller answers with errorReply).
   */
  private execute(c: RespClient, args: Buffer[], { lower, spec }: Lookup): Reply | Promise<Reply> {
    const ctx = this.ctx;
    ctx.stats.commands++;
    c.lastAt = Date.now();
    const byCommand = ctx.stats.byCommand;
    const counted = spec ? lower : 'unknown';
    byCommand.set(counted, (byCommand.get(counted) ?? 0) + 1);
    if (!spec) {
      c.lastCmd = args[0]!.toString('latin1').slice(0, 64).toLowerCase();
      let rest = '';
      for (let i = 1; i < args.length && rest.length < 128; i++)
        rest += `'${args[i]!.toString('latin1').slice(0, 128 - rest.length)}' `;
      return err(
        `ERR unknown command '${args[0]!.toString('latin1').slice(0, 128)}', with args beginning with: ${rest}`,
      );
    }
    c.lastCmd = lower;
    if (c.role === undefined && !spec.preAuth) return err('NOAUTH Authentication required.');
    if (spec.arity > 0 ? args.length !== spec.arity : args.length < -spec.arity)
      return err(`ERR wrong number of arguments for '${lower}' command`);
    if (spec.need !== 'conn' && c.role !== undefined && !roleAllows(c.role, spec.need))
      return err(`NOPERM this user has no permissions to run the '${lower}' command`);
    try {
      return spec.run(ctx, c, args);
    } catch (e) {
      return errorReply(e);
    }
  }
}
