// The replication connection from this node to one leader node, carrying every partition this node
// follows from it. It (re)connects with backoff, subscribes each partition from its persisted LSN,
// routes the leader's pushes to the partitions, and after a drop waits for queued work to settle
// before resubscribing, so a resubscription always starts from what is really on disk. Partitions
// join and leave as leaderships move (failover); a link left with none stops.

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { PeerConnection, type PeerConnectionOptions } from '../protocol/peer-connection.js';
import { MsgType, REPLICATION_VERSION, validateBody, type Message } from '../protocol/messages.js';
import type { WireOp } from '../protocol/messages.js';
import { DecodedEntriesBatch } from '../protocol/entries-frame.js';
import type { FollowerPartition, ParsedPush } from './follower-partition.js';

export interface FollowerLinkOptions {
  selfId: string;
  leaderId: string;
  address: () => { host: string; port: number } | undefined;
  epoch: () => number;
  /** The partition epoch this node knows for p and its copy's epoch history, sent with SUBSCRIBE. */
  subscription: (p: number) => { pe: number; h: readonly (readonly [number, number])[] };
  maxFrameBytes: number;
  /** TLS and the handshake for connections to the leader (cluster/security). */
  secure?: () => Partial<PeerConnectionOptions>;
  log: (level: 'debug' | 'info' | 'warn', msg: string, extra?: Record<string, unknown>) => void;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;
const RESUBSCRIBE_MS = 200;

export class FollowerLink {
  private conn: PeerConnection | undefined;
  private stopped = false;
  private backoff = MIN_BACKOFF_MS;
  private timer: NodeJS.Timeout | undefined;
  private readonly byPartition = new Map<number, FollowerPartition>();

  constructor(
    private readonly opts: FollowerLinkOptions,
    partitions: FollowerPartition[],
  ) {
    for (const fp of partitions) this.byPartition.set(fp.p, fp);
  }

  start(): void {
    void this.connect();
  }

  get size(): number {
    return this.byPartition.size;
  }

  /** Follows `fp` from this leader too (subscribing at once when connected). */
  add(fp: FollowerPartition): void {
    this.byPartition.set(fp.p, fp);
    if (this.conn && !this.conn.closed) this.subscribe(this.conn, fp);
  }

  /** Stops routing p's pushes here (the caller detaches the partition). */
  remove(p: number): void {
    this.byPartition.delete(p);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const addr = this.opts.address();
    if (!addr) return this.schedule();
    let conn: PeerConnection;
    try {
      conn = await PeerConnection.connect(addr.host, addr.port, {
        maxFrameBytes: this.opts.maxFrameBytes,
        epoch: this.opts.epoch,
        ...this.opts.secure?.(),
        onMessage: (m, c) => this.onMessage(m, c),
        onClose: (c) => void this.onClose(c),
        onProtocolError: (e) =>
          this.opts.log('warn', 'bad frame from leader', { leader: this.opts.leaderId, err: e.message }),
      });
    } catch {
      return this.schedule();
    }
    if (this.stopped) return conn.destroy();
    conn.tag = this.opts.leaderId;
    this.conn = conn;
    for (const fp of this.byPartition.values()) this.subscribe(conn, fp);
  }

  private subscribe(conn: PeerConnection, fp: FollowerPartition): void {
    const sub = this.opts.subscription(fp.p);
    const body = { p: fp.p, from: fp.lsn, node: this.opts.selfId, pe: sub.pe, h: sub.h, v: REPLICATION_VERSION };
    conn.request(MsgType.SUBSCRIBE, body).then(
      (r) => {
        this.backoff = MIN_BACKOFF_MS;
        // A leader of version 4 or later reads ACK_BATCH; an older one answers without `v`.
        const v = (r as { v?: unknown } | null)?.v;
        if (typeof v === 'number' && v >= 4) conn.batchAcks = true;
        this.opts.log('debug', 'subscribed', {
          p: fp.p,
          from: fp.lsn,
          leader: this.opts.leaderId,
          mode: (r as { mode?: string })?.mode,
        });
      },
      (e: Error) => {
        // The leader refused (not leading yet, or another epoch: one of the two learns the newer
        // configuration from the heartbeats): ask again shortly, on the same connection.
        this.opts.log('debug', 'subscribe refused', { p: fp.p, leader: this.opts.leaderId, err: e.message });
        setTimeout(() => {
          if (!this.stopped && this.conn === conn && !conn.closed && this.byPartition.get(fp.p) === fp)
            this.subscribe(conn, fp);
        }, RESUBSCRIBE_MS);
      },
    );
  }

  private async onClose(conn: PeerConnection): Promise<void> {
    if (this.conn === conn) this.conn = undefined;
    await Promise.all([...this.byPartition.values()].map((fp) => fp.idle()));
    this.schedule();
  }

  private onMessage(msg: Message, conn: PeerConnection): void {
    // Pushes are fenced per partition, not by the envelope's epoch: a stream belongs to the epoch
    // it was subscribed at, its leader cuts it when it steps down, and a partition whose leader
    // changed is detached here before it follows anyone else.
    if (msg.type === MsgType.ENTRIES_BATCH) return this.onBatch(msg, conn);
    let work: ParsedPush;
    try {
      work = parsePush(msg, conn);
    } catch (e) {
      this.opts.log('warn', 'bad replication message', { leader: this.opts.leaderId, err: (e as Error).message });
      conn.replyError(msg.id, ErrorCode.PROTOCOL, (e as Error).message);
      return;
    }
    const body = work.body;
    const fp = this.byPartition.get(body.p);
    if (!fp || fp.isDetached) {
      this.opts.log('warn', 'push for a partition not followed from this leader', {
        p: body.p,
        leader: this.opts.leaderId,
      });
      return;
    }
    fp.push(work);
  }

  /**
   * Every partition's entries in one frame: each group goes to its partition's queue as an ENTRIES
   * push would, in frame order. A group for a partition not followed from this leader (any more:
   * detached mid-batch by a failover) is dropped alone; the others are applied and acknowledged.
   * Nothing of a frame that does not validate is applied.
   */
  private onBatch(msg: Message, conn: PeerConnection): void {
    if (msg.body instanceof DecodedEntriesBatch) return this.onDecodedBatch(msg.body, conn);
    let body: { g: [number, [number, WireOp[]][]][] };
    try {
      body = validateBody(MsgType.ENTRIES_BATCH, msg.body);
    } catch (e) {
      this.opts.log('warn', 'bad replication message', { leader: this.opts.leaderId, err: (e as Error).message });
      return;
    }
    // Only a leader that read this node's SUBSCRIBE `v` sends batches: it reads ACK_BATCH too.
    conn.batchAcks = true;
    let dropped: number[] | undefined;
    for (const [p, e] of body.g) {
      const fp = this.byPartition.get(p);
      if (!fp || fp.isDetached) {
        (dropped ??= []).push(p);
        continue;
      }
      fp.push({ kind: 'entries', conn, body: { p, e } });
    }
    if (dropped)
      this.opts.log('warn', 'push for a partition not followed from this leader', {
        p: dropped,
        leader: this.opts.leaderId,
      });
  }

  /** onBatch for a frame read straight into engine operations (PeerConnection, entries-frame.ts). */
  private onDecodedBatch(body: DecodedEntriesBatch, conn: PeerConnection): void {
    conn.batchAcks = true;
    let dropped: number[] | undefined;
    for (const g of body.groups) {
      const fp = this.byPartition.get(g.p);
      if (!fp || fp.isDetached) {
        (dropped ??= []).push(g.p);
        continue;
      }
      fp.push({ kind: 'ops', conn, g });
    }
    if (dropped)
      this.opts.log('warn', 'push for a partition not followed from this leader', {
        p: dropped,
        leader: this.opts.leaderId,
      });
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  get leaderId(): string {
    return this.opts.leaderId;
  }

  /** Drops the connection: the link reconnects and subscribes every partition from its LSN again. */
  resubscribe(): void {
    this.conn?.destroy();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.conn?.destroy();
    await Promise.all([...this.byPartition.values()].map((fp) => fp.idle()));
  }
}

/** Validates a replication push (ENTRIES, RESYNC_*) into work for a FollowerPartition. Throws PROTOCOL. */
export function parsePush(msg: Message, conn: PeerConnection): ParsedPush {
  switch (msg.type) {
    case MsgType.ENTRIES:
      return { kind: 'entries', conn, body: validateBody(MsgType.ENTRIES, msg.body) };
    case MsgType.RESYNC_BEGIN:
      return { kind: 'begin', conn, body: validateBody(MsgType.RESYNC_BEGIN, msg.body) };
    case MsgType.RESYNC_CHUNK:
      return { kind: 'chunk', conn, body: validateBody(MsgType.RESYNC_CHUNK, msg.body) };
    case MsgType.RESYNC_END:
      return { kind: 'end', conn, body: validateBody(MsgType.RESYNC_END, msg.body) };
    case MsgType.EPOCHS:
      return { kind: 'epochs', conn, body: validateBody(MsgType.EPOCHS, msg.body) };
    default:
      throw new Eau2Error(ErrorCode.PROTOCOL, `unexpected message type ${msg.type} on a replication link`);
  }
}
