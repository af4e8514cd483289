// The replication connection from this node to one leader node, carrying every partition this node
// follows from it. It (re)connects with backoff, subscribes each partition from its persisted LSN,
// routes the leader's pushes to the partitions, and after a drop waits for queued work to settle
// before resubscribing, so a resubscription always starts from what is really on disk.

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { PeerConnection, type PeerConnectionOptions } from '../protocol/peer-connection.js';
import { MsgType, validateBody, type Message } from '../protocol/messages.js';
import type { FollowerPartition, PushWork } from './follower-partition.js';

export interface FollowerLinkOptions {
  selfId: string;
  leaderId: string;
  address: () => { host: string; port: number } | undefined;
  epoch: () => number;
  maxFrameBytes: number;
  /** TLS and the handshake for connections to the leader (cluster/security). */
  secure?: () => Partial<PeerConnectionOptions>;
  log: (level: 'debug' | 'info' | 'warn', msg: string, extra?: Record<string, unknown>) => void;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;

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
    for (const fp of this.byPartition.values()) {
      conn.request(MsgType.SUBSCRIBE, { p: fp.p, from: fp.lsn, node: this.opts.selfId }).then(
        (r) => {
          this.backoff = MIN_BACKOFF_MS;
          this.opts.log('debug', 'subscribed', {
            p: fp.p,
            from: fp.lsn,
            leader: this.opts.leaderId,
            mode: (r as { mode?: string })?.mode,
          });
        },
        (e: Error) => {
          // The leader refused (not up yet as leader, other epoch): drop and try again later.
          this.opts.log('debug', 'subscribe refused', { p: fp.p, leader: this.opts.leaderId, err: e.message });
          conn.destroy();
        },
      );
    }
  }

  private async onClose(conn: PeerConnection): Promise<void> {
    if (this.conn === conn) this.conn = undefined;
    await Promise.all([...this.byPartition.values()].map((fp) => fp.idle()));
    this.schedule();
  }

  private onMessage(msg: Message, conn: PeerConnection): void {
    if (msg.epoch !== this.opts.epoch()) {
      this.opts.log('warn', 'push with another epoch refused', { leader: this.opts.leaderId, epoch: msg.epoch });
      conn.destroy();
      return;
    }
    let work: PushWork;
    try {
      work = parsePush(msg, conn);
    } catch (e) {
      this.opts.log('warn', 'bad replication message', { leader: this.opts.leaderId, err: (e as Error).message });
      conn.replyError(msg.id, ErrorCode.PROTOCOL, (e as Error).message);
      return;
    }
    const body = work.body;
    const fp = this.byPartition.get(body.p);
    if (!fp) {
      this.opts.log('warn', 'push for a partition not followed from this leader', {
        p: body.p,
        leader: this.opts.leaderId,
      });
      return;
    }
    fp.push(work);
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
export function parsePush(msg: Message, conn: PeerConnection): PushWork {
  switch (msg.type) {
    case MsgType.ENTRIES:
      return { kind: 'entries', conn, body: validateBody(MsgType.ENTRIES, msg.body) };
    case MsgType.RESYNC_BEGIN:
      return { kind: 'begin', conn, body: validateBody(MsgType.RESYNC_BEGIN, msg.body) };
    case MsgType.RESYNC_CHUNK:
      return { kind: 'chunk', conn, body: validateBody(MsgType.RESYNC_CHUNK, msg.body) };
    case MsgType.RESYNC_END:
      return { kind: 'end', conn, body: validateBody(MsgType.RESYNC_END, msg.body) };
    default:
      throw new Eau2Error(ErrorCode.PROTOCOL, `unexpected message type ${msg.type} on a replication link`);
  }
}
