// One TCP connection speaking the peer protocol, used alike by nodes (to each other) and by
// ClusterClient: many requests in flight matched to replies by request id, one-way messages and
// pushes in both directions, outgoing frames coalesced per event-loop turn into one socket write. A frame
// that cannot be understood is answered with a PROTOCOL error when its id can be read and dropped
// otherwise; a length prefix over the limit closes the connection. Nothing a peer sends can throw
// out of here.

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { remoteError } from './wire-errors.js';
import tls from 'node:tls';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import type { Principal } from '../security/tokens.js';
import { decodeEntriesBatch, encodeEntriesBatchFrame, encodeEntriesFrame } from './entries-frame.js';
import { FRAME_HEADER_BYTES, FrameDecoder } from './frame-codec.js';
import {
  decodeFixed,
  encodeFixedError,
  encodeFixedReply,
  encodeFixedRequest,
  FIXED_LAYOUT_VERSION,
  FIXED_MARK,
  fixedRequestId,
  hasFixedLayout,
} from './fixed-frame.js';
import { joinSmall } from './frame-parts.js';
import {
  decodeMessage,
  encodeMessage,
  encodeMessageParts,
  MsgType,
  PROTOCOL_VERSION,
  validateError,
  type Message,
} from './messages.js';

export interface PeerConnectionOptions {
  maxFrameBytes: number;
  /** The sender's epoch, stamped on every outgoing frame. */
  epoch: () => number;
  /** Incoming requests (id != 0) and one-way messages / pushes (id == 0). */
  onMessage?: (msg: Message, conn: PeerConnection) => void;
  onClose?: (conn: PeerConnection) => void;
  /** A frame that was refused; the connection goes on (unless it was fatal). */
  onProtocolError?: (err: Eau2Error, conn: PeerConnection) => void;
  /**
   * connect() only: read the socket into one reused buffer (net's `onread`) instead of a new 64 KiB
   * buffer per read, and copy each frame out of it. Every read otherwise leaves its buffer as garbage
   * that V8 frees late; the cluster client sets this to keep its memory near what it holds.
   */
  reuseReadBuffer?: boolean;
  /**
   * Checked for every decoded frame before anything else (replies included): false drops it. The
   * security layer's gate (cluster/security/peer-auth.ts) answers handshakes and refuses the rest here.
   */
  admit?: (msg: Message, conn: PeerConnection) => boolean;
  /** The frame cap until `raiseFrameLimit()` (an unauthenticated connection's); default maxFrameBytes. */
  initialMaxFrameBytes?: number;
  /** connect() only: speak TLS with these options (CA, and a client certificate for nodes). */
  tls?: tls.ConnectionOptions;
  /** connect() only: run before the connection is handed out (the peer-port handshake). */
  handshake?: (conn: PeerConnection) => Promise<void>;
  /**
   * connect() only: aborting it closes a connection still being opened or handshaken. A peer that
   * accepts but never answers (a stopped process: the kernel completes the TCP handshake) otherwise
   * holds its socket, and the process, until the connect or handshake timeout (3 s).
   */
  signal?: AbortSignal;
  /**
   * Liveness (docs/operations.md, "Peer connections"): a HEARTBEAT frame is sent whenever nothing
   * else was sent for this long, and once at the start. Default DEFAULT_HEARTBEAT_MS; 0: none.
   */
  heartbeatMs?: number;
  /**
   * A connection from which nothing at all arrived for this long is closed (then reopened by its
   * owner), once the other end has sent one HEARTBEAT (an end that never does is an older peer,
   * never timed out). Default DEFAULT_SILENCE_TIMEOUT_MS; 0: never.
   */
  silenceTimeoutMs?: number;
}

/** A half-open link (one end gone, the other silent) heals within about this plus a reconnect. */
const DEFAULT_HEARTBEAT_MS = 500;
const DEFAULT_SILENCE_TIMEOUT_MS = 3000;

function abandoned(host: string, port: number): Eau2Error {
  return new Eau2Error(ErrorCode.UNAVAILABLE, `connection to ${host}:${port} abandoned: its pool was closed`);
}

/** The liveness options of a node's peer connections, from its config's fields. */
export function peerLiveness(c: { peerHeartbeatMs: number; peerSilenceTimeoutMs: number }): {
  heartbeatMs: number;
  silenceTimeoutMs: number;
} {
  return { heartbeatMs: c.peerHeartbeatMs, silenceTimeoutMs: c.peerSilenceTimeoutMs };
}

interface Watched {
  conn: PeerConnection;
  heartbeatMs: number;
  silenceMs: number;
}

/**
 * The connections whose liveness is checked, per heartbeat period: one timer for all the
 * connections of a process with the same period, rather than one each. A node holds a connection
 * per peer in each direction, per followed leader and per client, and each timer of its own woke the
 * idle process at its own moment (bench/cluster/README.md, the idle cluster); checked together
 * they cost one wake-up per period. Every connection is still checked once per period.
 */
const watched = new Map<number, { timer: NodeJS.Timeout; conns: Set<Watched> }>();

function watchLiveness(w: Watched): void {
  let group = watched.get(w.heartbeatMs);
  if (group === undefined) {
    const conns = new Set<Watched>();
    const timer = setInterval(() => {
      for (const c of conns) c.conn.checkLiveness(c.heartbeatMs, c.silenceMs);
    }, w.heartbeatMs);
    timer.unref();
    group = { timer, conns };
    watched.set(w.heartbeatMs, group);
  }
  group.conns.add(w);
}

/** The liveness timers running: one per heartbeat period some open connection uses (for tests). */
export function livenessTimers(): number {
  return watched.size;
}

function unwatchLiveness(w: Watched): void {
  const group = watched.get(w.heartbeatMs);
  if (group === undefined || !group.conns.delete(w) || group.conns.size > 0) return;
  clearInterval(group.timer);
  watched.delete(w.heartbeatMs);
}

/** The reused read buffer's size: what net allocates per read when it owns the buffers. */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * ENTRIES groups of several partitions waiting for the turn's socket write, sent as one
 * ENTRIES_BATCH frame (docs/format.md 8.4). It takes more groups only while it is the last frame
 * queued, so frames keep the order they were sent in.
 */
class EntriesBatch {
  readonly groups = new Map<number, Uint8Array[]>();
  entries = 0;
  bytes = 0;
}

/** Acknowledgements of several partitions waiting for the turn's socket write (ACK_BATCH). */
class AckBatch {
  readonly acks = new Map<number, number>();
}

type Outgoing = Uint8Array | EntriesBatch | AckBatch;

/** An ENTRIES_BATCH frame takes no more entries than this, nor more entries' bytes than the next. */
const MAX_BATCH_ENTRIES = 1024;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
  take: ((body: unknown) => unknown) | undefined;
}

export class PeerConnection {
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private out: Outgoing[] = [];
  /** The ENTRIES_BATCH / ACK_BATCH still taking groups: the last frame queued, or undefined. */
  private openEntries: EntriesBatch | undefined;
  private openAcks: AckBatch | undefined;
  private flushScheduled = false;
  /**
   * The other end reads ENTRIES_BATCH (its SUBSCRIBE announced replication protocol version 4):
   * sendEntries joins every partition's entries of a turn into one frame.
   */
  batchEntries = false;
  /** The other end reads ACK_BATCH (its SUBSCRIBE reply announced version 4): sendAck joins acks. */
  batchAcks = false;
  /**
   * The other end reads GET, PUT and DEL in the fixed layout (it answered TOPOLOGY {v} with version
   * 5 or later: negotiateFixedLayout): request() sends them so. A node needs no such flag: it reads
   * either layout, and answers each request in the layout it came in.
   */
  fixedLayout = false;
  private closedErr: Eau2Error | undefined;
  /** Free-form tag for the owner (e.g. the remote node id). */
  tag = '';
  /** Who the remote proved to be (peer-auth.ts); undefined until then, and always without auth. */
  principal: Principal | undefined;
  /** Set when the handshake failed: every later frame is dropped until the socket closes. */
  refuseAll = false;
  private lastSent = 0;
  private lastReceived = performance.now();
  private lastCheck = performance.now();
  /** The other end sends heartbeats, so its silence means the link is gone. */
  private heartbeating = false;
  /**
   * False on an accepted connection until its first heartbeat is sent, which then goes at once
   * whatever else was sent: until the connecting end has one it cannot time this end out, and a
   * link cut in that window would stay open and silent on its side. A connecting end keeps to
   * "nothing else sent": its first frames may have to be a handshake.
   */
  private greeted = false;
  private liveness: Watched | undefined;
  /** connect() with a handshake, until it completes: no heartbeat is sent. */
  handshaking = false;

  /** `reader` set: the socket was opened with `onread` and hands its bytes to the reader, not to 'data'. */
  constructor(
    readonly socket: net.Socket,
    private readonly opts: PeerConnectionOptions,
    reader?: { conn?: PeerConnection },
  ) {
    this.decoder = new FrameDecoder(opts.initialMaxFrameBytes ?? opts.maxFrameBytes);
    socket.setNoDelay(true);
    const heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    const silenceMs = opts.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS;
    // TCP keepalive finds a peer host that vanished even where no heartbeat runs (the kernel's
    // probe interval and count then apply: minutes, so the heartbeats do the real work).
    socket.setKeepAlive(true, silenceMs > 0 ? silenceMs : 10_000);
    if (heartbeatMs > 0) {
      this.liveness = { conn: this, heartbeatMs, silenceMs };
      watchLiveness(this.liveness);
      setImmediate(() => {
        if (!this.greeted) this.checkLiveness(heartbeatMs, silenceMs);
      });
    }
    if (reader) reader.conn = this;
    else socket.on('data', (chunk: Buffer) => this.onData(chunk, false));
    socket.on('error', () => {}); // 'close' follows; the error is reported to pending requests there
    socket.on('close', () => this.onClosed());
  }

  static async connect(
    host: string,
    port: number,
    opts: PeerConnectionOptions,
    timeoutMs = 3000,
  ): Promise<PeerConnection> {
    const conn = await PeerConnection.open(host, port, opts, timeoutMs);
    if (!opts.handshake) return conn;
    conn.handshaking = true;
    const abandon = (): void => conn.destroy();
    opts.signal?.addEventListener('abort', abandon, { once: true });
    try {
      if (opts.signal?.aborted) throw abandoned(host, port);
      await opts.handshake(conn);
    } catch (e) {
      conn.destroy();
      throw e;
    } finally {
      opts.signal?.removeEventListener('abort', abandon);
    }
    conn.handshaking = false;
    return conn;
  }

  private static open(
    host: string,
    port: number,
    opts: PeerConnectionOptions,
    timeoutMs: number,
  ): Promise<PeerConnection> {
    return new Promise((resolve, reject) => {
      // TLS sockets read through 'data' (net's `onread` is for plain sockets).
      const reader: { conn?: PeerConnection } | undefined = opts.reuseReadBuffer && !opts.tls ? {} : undefined;
      const socket = opts.tls
        ? tls.connect({ ...opts.tls, host, port, ...(net.isIP(host) ? {} : { servername: host }) })
        : net.connect({
            host,
            port,
            onread: reader && {
              buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
              // The buffer is reused for the next read, so the decoder copies whatever it keeps.
              callback: (n: number, buf: Uint8Array) => {
                reader.conn?.onData(buf.subarray(0, n), true);
                return true;
              },
            },
          });
      const timer = setTimeout(() => socket.destroy(new Error(`connect to ${host}:${port} timed out`)), timeoutMs);
      const abandon = (): void => void socket.destroy(abandoned(host, port));
      if (opts.signal?.aborted) abandon();
      else opts.signal?.addEventListener('abort', abandon, { once: true });
      socket.once('close', () => opts.signal?.removeEventListener('abort', abandon));
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', abandon);
        socket.removeAllListeners('error');
        const conn = new PeerConnection(socket, opts, reader);
        conn.greeted = true; // the connecting end: see `greeted`
        resolve(conn);
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(new Eau2Error(ErrorCode.UNAVAILABLE, `cannot connect to ${host}:${port}: ${e.message}`, { cause: e }));
      });
    });
  }

  /** After authentication: frames up to the configured maxFrameBytes. */
  raiseFrameLimit(): void {
    this.decoder.setLimit(this.opts.maxFrameBytes);
  }

  /** Requests received and not yet answered (the node's per-connection in-flight cap counts these). */
  inflight = 0;

  get closed(): boolean {
    return this.closedErr !== undefined;
  }

  /** Bytes queued in the socket: senders of bulk streams wait for drain() when this grows. */
  get queuedBytes(): number {
    let n = this.socket.writableLength;
    for (const b of this.out) n += b instanceof Uint8Array ? b.length : b instanceof EntriesBatch ? b.bytes : 0;
    return n;
  }

  drain(): Promise<void> {
    if (this.closed) return Promise.reject(this.closedErr);
    this.flush();
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        if (this.closed) reject(this.closedErr);
        else resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /**
   * Sends a request and resolves with the REPLY body, or rejects with the ERROR as an Eau2Error.
   * Binaries in `body` of LARGE_PART_BYTES or more are written to the socket as they are, not copied:
   * the caller must not modify them until the request settles. A request that times out with such
   * parts destroys the connection, so none of them can still be waiting to be written once the
   * caller has its rejection. (Replies and pushes are copied when encoded, as their values may come
   * from the engine's buffers.)
   *
   * With `take`, the REPLY body is handed to it synchronously as the frame is decoded, and the
   * request resolves with what it returns (rejects with what it throws). The body's binaries are
   * views lent for that call only: the frame's memory is reused for a later frame once it returns,
   * so `take` must copy or decode whatever it keeps. A reader of large values then allocates
   * nothing per value (ClusterClient.getWith).
   */
  request(type: number, body: unknown, timeoutMs = 10_000, take?: (body: unknown) => unknown): Promise<unknown> {
    if (this.closedErr) return Promise.reject(this.closedErr);
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    const epoch = this.opts.epoch();
    const frame =
      (this.fixedLayout && hasFixedLayout(type) ? encodeFixedRequest(type, id, epoch, body) : undefined) ??
      encodeMessageParts(type, id, epoch, body);
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.pending.delete(id);
              if (Array.isArray(frame)) this.destroy(); // its uncopied values may still be queued
              reject(
                new Eau2Error(ErrorCode.TIMEOUT, `request type 0x${type.toString(16)} timed out after ${timeoutMs} ms`),
              );
            }, timeoutMs)
          : undefined;
      this.pending.set(id, { resolve, reject, timer, take });
      this.write(frame);
    });
  }

  /** A one-way message or push (id 0). */
  send(type: number, body: unknown): void {
    if (!this.closedErr) this.write(encodeMessage(type, 0, this.opts.epoch(), body));
  }

  /**
   * An ENTRIES push of partition `p` whose entries are already encoded (entries-frame.ts): their
   * bytes go to the socket as they are, so they must not change until written (an EntryArena's
   * never do).
   */
  sendEntries(p: number, entries: readonly Uint8Array[]): void {
    if (this.closedErr) return;
    if (!this.batchEntries) {
      this.write(encodeEntriesFrame(this.opts.epoch(), p, entries));
      return;
    }
    // With batching, every partition's entries of the turn go out in one ENTRIES_BATCH: one frame
    // for the follower to decode, dispatch and answer with one ACK_BATCH, instead of one per
    // partition. A partition's later entries join its group (its LSNs stay consecutive).
    let b = this.openEntries;
    if (b === undefined || b.entries + entries.length > MAX_BATCH_ENTRIES || b.bytes >= MAX_BATCH_BYTES) {
      b = new EntriesBatch();
      this.enqueue(b);
      this.openEntries = b;
    }
    const g = b.groups.get(p);
    if (g === undefined) b.groups.set(p, entries.slice());
    else for (const e of entries) g.push(e);
    b.entries += entries.length;
    for (const e of entries) b.bytes += e.length;
  }

  /**
   * A follower's acknowledgement that partition `p` is applied up to `lsn`: an ACK, or with
   * `batchAcks` a place in the turn's ACK_BATCH (a partition acknowledged twice in one turn keeps
   * the higher LSN, which is what the leader would retain from the two in order).
   */
  sendAck(p: number, lsn: number): void {
    if (this.closedErr) return;
    if (!this.batchAcks) {
      this.send(MsgType.ACK, { p, lsn });
      return;
    }
    let b = this.openAcks;
    if (b === undefined) {
      b = new AckBatch();
      this.enqueue(b);
      this.openAcks = b;
    }
    const prev = b.acks.get(p);
    if (prev === undefined || lsn > prev) b.acks.set(p, lsn);
  }

  /**
   * A reply over the frame limit is answered with TOO_LARGE instead: the peer's decoder (whose limit
   * is the same by default) would refuse the frame and close the connection, failing every request
   * on it as if the node were unreachable.
   */
  reply(id: number, body: unknown): void {
    if (this.closedErr || id === 0) return;
    const bytes = encodeMessage(MsgType.REPLY, id, this.opts.epoch(), body ?? null);
    const len = bytes.length - FRAME_HEADER_BYTES;
    if (len > this.opts.maxFrameBytes) {
      this.replyError(
        id,
        ErrorCode.TOO_LARGE,
        `the reply is ${len} bytes, over the frame limit of ${this.opts.maxFrameBytes} bytes (maxFrameBytes)`,
      );
      return;
    }
    this.write(bytes);
  }

  replyError(id: number, code: string, message: string): void {
    if (!this.closedErr && id !== 0) this.write(encodeMessage(MsgType.ERROR, id, this.opts.epoch(), { code, message }));
  }

  /**
   * The REPLY to a request that came in the fixed layout (Message.fixed): `value` (copied) or nil,
   * in that layout.
   */
  replyFixed(id: number, value: Uint8Array | null | undefined): void {
    if (this.closedErr || id === 0) return;
    const epoch = this.opts.epoch();
    this.write(encodeFixedReply(id, epoch, value) ?? encodeMessage(MsgType.REPLY, id, epoch, value ?? null));
  }

  /** The ERROR to a request that came in the fixed layout, in that layout. */
  replyFixedError(id: number, code: string, message: string): void {
    if (this.closedErr || id === 0) return;
    const epoch = this.opts.epoch();
    this.write(
      encodeFixedError(id, epoch, code, message) ?? encodeMessage(MsgType.ERROR, id, epoch, { code, message }),
    );
  }

  close(): void {
    this.socket.end();
    this.socket.destroySoon();
  }

  /** Closes at once: from here on the connection counts as closed, before the socket reports it. */
  destroy(): void {
    this.closedErr ??= new Eau2Error(ErrorCode.UNAVAILABLE, 'peer connection closed');
    this.socket.destroy();
  }

  // Flushed on setImmediate rather than per microtask: replies to a group of writes resolve in many
  // separate microtasks, and one socket write for the whole event-loop turn measured ~10% more
  // replicated puts/s (3.6-3.9k -> 4.1-4.3k, 3 nodes x 2 replicas, 1 KB values, 64 in flight).
  private write(bytes: Uint8Array | Uint8Array[]): void {
    // Any other frame closes the open batches: what is sent after it must arrive after it.
    this.openEntries = undefined;
    this.openAcks = undefined;
    if (bytes instanceof Uint8Array) this.enqueue(bytes);
    else for (const b of bytes) this.enqueue(b);
  }

  private enqueue(item: Outgoing): void {
    this.lastSent = performance.now();
    this.out.push(item);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    this.openEntries = undefined;
    this.openAcks = undefined;
    if (this.out.length === 0 || this.closedErr) return;
    const parts = this.encodeOut(this.out);
    this.out = [];
    if (parts.length === 1) {
      this.socket.write(parts[0]!);
      return;
    }
    // Small frames are joined into one write; large values (frame-parts.ts) are written as they are
    // between them: corked, the socket hands them all to one writev instead of copying them.
    const out = joinSmall(parts);
    if (out.length === 1) {
      this.socket.write(out[0]!);
      return;
    }
    this.socket.cork();
    for (const b of out) this.socket.write(b);
    this.socket.uncork();
  }

  /** The queued frames as buffers to write, batches encoded now (their groups are complete). */
  private encodeOut(out: Outgoing[]): Uint8Array[] {
    let parts: Uint8Array[] | undefined;
    for (let i = 0; i < out.length; i++) {
      const item = out[i]!;
      if (item instanceof Uint8Array) {
        parts?.push(item);
        continue;
      }
      parts ??= out.slice(0, i) as Uint8Array[];
      if (item instanceof EntriesBatch) {
        for (const b of encodeEntriesBatchFrame(this.opts.epoch(), [...item.groups])) parts.push(b);
      } else parts.push(encodeMessage(MsgType.ACK_BATCH, 0, this.opts.epoch(), { a: [...item.acks] }));
    }
    return parts ?? (out as Uint8Array[]);
  }

  /**
   * Sends a HEARTBEAT when nothing was sent for a period (and the first one at once), and closes a
   * connection silent for silenceMs. A check that runs late means this process stalled (a long GC,
   * SIGSTOP): the bytes that arrived meanwhile are still unread, so the peer gets a full timeout
   * again instead of being blamed for our stall.
   */
  checkLiveness(heartbeatMs: number, silenceMs: number): void {
    if (this.closedErr) return;
    const now = performance.now();
    // Nothing but the handshake may be sent before it completes (the other end's gate closes the
    // connection on any other frame), and its own deadlines bound it.
    if (this.handshaking || (this.opts.admit && !this.principal)) {
      this.lastCheck = now;
      this.lastReceived = now;
      return;
    }
    const late = now - this.lastCheck > 2 * heartbeatMs;
    this.lastCheck = now;
    if (late) this.lastReceived = now;
    if (this.heartbeating && silenceMs > 0 && now - this.lastReceived > silenceMs) {
      this.closedErr = new Eau2Error(
        ErrorCode.UNAVAILABLE,
        `peer connection silent for ${Math.round(now - this.lastReceived)} ms: closed`,
        { details: { reason: 'PEER_SILENT' } },
      );
      this.socket.destroy();
      return;
    }
    if (!this.greeted || this.lastSent === 0 || now - this.lastSent >= heartbeatMs) {
      this.greeted = true;
      this.write(encodeMessage(MsgType.HEARTBEAT, 0, 0, null));
    }
  }

  private onData(chunk: Uint8Array, reused: boolean): void {
    this.lastReceived = performance.now();
    try {
      this.decoder.push(chunk, (body) => this.onFrame(body), reused);
    } catch (e) {
      // Only the decoder throws here: framing is lost, so the connection is useless.
      const err = e instanceof Eau2Error ? e : new Eau2Error(ErrorCode.PROTOCOL, String(e), { cause: e });
      this.opts.onProtocolError?.(err, this);
      this.destroy();
    }
  }

  /** Handles one frame body; true when nothing kept a view of it (the decoder may reuse its memory). */
  private onFrame(body: Uint8Array): boolean {
    if (this.refuseAll) return true;
    let msg: Message;
    try {
      // A follower's hot frame is read straight into engine operations (entries-frame.ts); any
      // other layout of it falls through to msgpack, which refuses what is wrong.
      // A client's GET, PUT or DEL and their replies may come in the fixed layout (fixed-frame.ts).
      if (body[0] === FIXED_MARK) msg = decodeFixed(body);
      else {
        const batch = body[1] === MsgType.ENTRIES_BATCH && body[0] === 0x94 ? decodeEntriesBatch(body) : undefined;
        msg = batch
          ? { type: MsgType.ENTRIES_BATCH, id: batch.id, epoch: batch.epoch, body: batch.body }
          : decodeMessage(body);
      }
    } catch (e) {
      this.opts.onProtocolError?.(e as Eau2Error, this);
      if (body[0] === FIXED_MARK) this.refuseFixed(body, e as Eau2Error);
      return true;
    }
    // Admitted like any frame: before authentication a heartbeat is refused as the rest are.
    if (this.opts.admit && !this.opts.admit(msg, this)) return true;
    if (msg.type === MsgType.HEARTBEAT) {
      this.heartbeating = true;
      return true;
    }
    if (msg.type === MsgType.REPLY || msg.type === MsgType.ERROR) {
      const p = this.pending.get(msg.id);
      if (!p) return true; // late reply to a request that timed out
      this.pending.delete(msg.id);
      if (p.timer) clearTimeout(p.timer);
      if (msg.type === MsgType.ERROR) {
        const we = validateErrorSafe(msg.body);
        p.reject(remoteError(we.code, we.message));
        return true;
      }
      if (!p.take) {
        p.resolve(msg.body);
        return false;
      }
      let out: unknown;
      try {
        out = p.take(msg.body);
      } catch (e) {
        p.reject(e as Error);
        return true;
      }
      p.resolve(out);
      return true;
    }
    try {
      this.opts.onMessage?.(msg, this);
    } catch (e) {
      // A handler bug must not take the connection (or the process) down with it.
      if (msg.fixed) this.replyFixedError(msg.id, ErrorCode.PROTOCOL, (e as Error).message);
      else this.replyError(msg.id, ErrorCode.PROTOCOL, (e as Error).message);
    }
    return false;
  }

  /**
   * A fixed-layout frame that did not decode: its id sits at a fixed place, so a request is answered
   * with the PROTOCOL error at once (its sender need not wait for a timeout), and a reply fails the
   * request it answers. Not before authentication (the gate closes such a connection).
   */
  private refuseFixed(body: Uint8Array, err: Eau2Error): void {
    const id = fixedRequestId(body);
    if (id !== 0) {
      if (this.opts.admit === undefined || this.principal !== undefined)
        this.replyError(id, ErrorCode.PROTOCOL, err.message);
      return;
    }
    const type = body.length >= 6 ? body[1] : undefined;
    if (type !== MsgType.REPLY && type !== MsgType.ERROR) return;
    const replyId = ((body[2]! << 24) | (body[3]! << 16) | (body[4]! << 8) | body[5]!) >>> 0;
    const p = this.pending.get(replyId);
    if (!p) return;
    this.pending.delete(replyId);
    if (p.timer) clearTimeout(p.timer);
    p.reject(err);
  }

  private onClosed(): void {
    if (this.liveness) unwatchLiveness(this.liveness);
    this.closedErr ??= new Eau2Error(ErrorCode.UNAVAILABLE, 'peer connection closed');
    // Each request still waiting was written (or queued to be): what it asked may have been done.
    const afterSend = new Eau2Error(ErrorCode.UNAVAILABLE, this.closedErr.message, {
      details: { ...this.closedErr.details, afterSend: true },
    });
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(afterSend);
    }
    this.pending.clear();
    this.out = [];
    this.openEntries = undefined;
    this.openAcks = undefined;
    this.opts.onClose?.(this);
  }
}

function validateErrorSafe(body: unknown): { code: string; message: string } {
  try {
    return validateError(body);
  } catch {
    return { code: ErrorCode.PROTOCOL, message: 'malformed error reply' };
  }
}

/**
 * A client's side of the negotiation, once per connection (its handshake, after authentication):
 * TOPOLOGY `{v: PROTOCOL_VERSION}`. A node of version 5 or later answers with the topology and its
 * `v`, and the connection's GET, PUT and DEL then go in the fixed layout; an older node ignores the
 * body and answers the topology alone, and the connection keeps msgpack. A refusal (a token whose
 * role may not read the topology) keeps msgpack too; a connection that fails or does not answer
 * fails the connect as UNAVAILABLE, so the caller retries elsewhere. Returns the topology answered,
 * or undefined.
 */
export async function negotiateFixedLayout(conn: PeerConnection, timeoutMs = 3000): Promise<unknown> {
  let t: unknown;
  try {
    t = await conn.request(MsgType.TOPOLOGY, { v: PROTOCOL_VERSION }, timeoutMs);
  } catch (e) {
    if (conn.closed || (e instanceof Eau2Error && (e.code === ErrorCode.TIMEOUT || e.code === ErrorCode.UNAVAILABLE)))
      throw new Eau2Error(ErrorCode.UNAVAILABLE, `peer connection failed while negotiating: ${(e as Error).message}`, {
        cause: e,
      });
    return undefined;
  }
  const v = typeof t === 'object' && t !== null ? (t as { v?: unknown }).v : undefined;
  conn.fixedLayout = typeof v === 'number' && v >= FIXED_LAYOUT_VERSION;
  return t;
}
