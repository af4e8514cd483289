// Answers to peer-protocol requests arriving at a node, from other nodes and from ClusterClient
// (docs/format.md section 8.3). Every body is validated before use; every failure becomes an ERROR
// reply with a stable code, never an exception out of the socket handler. Data requests are answered
// only by a node entitled to: the leader for writes and leader reads, a replica holder for
// follower/any/local reads; others refuse with NOT_LEADER / NO_REPLICA so the sender re-routes.

import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { wireCodeOf } from '../protocol/wire-errors.js';
import type { PeerConnection } from '../protocol/peer-connection.js';
import {
  MsgType,
  PROTOCOL_VERSION,
  REPLICATION_VERSION,
  validateBody,
  type Bodies,
  type Message,
  type ReadMode,
  type WireOp,
} from '../protocol/messages.js';
import type { Logger } from '../log.js';
import type { Topology } from '../topology.js';
import type { Failover } from './failover.js';
import type { FailoverState } from './partition-state.js';
import type { EngineLike } from './engine-api.js';
import type { TaskContext, TaskHandler } from './extensions.js';
import type { FollowerPartition } from './follower-partition.js';
import type { LeaderPartition } from './leader-partition.js';
import type { Router } from './router.js';

/** What answering peer requests needs of the node. */
export interface PeerHost {
  readonly selfId: string;
  readonly engine: EngineLike;
  readonly router: Router;
  readonly failover: Failover;
  readonly state: FailoverState;
  readonly metrics: { countPeerMessage(type: number): void };
  readonly log: Logger;
  readonly writeTimeoutMs: number;
  /** With `pool`, what read-modify-write at the leader needs (rmw.ts). */
  readonly writer: PartitionWriter;
  readonly pool: PeerPool;
  topology(): Topology;
  leaderOf(p: number): LeaderPartition | undefined;
  followerOf(p: number): FollowerPartition | undefined;
  holds(p: number): boolean;
  opening(p: number): boolean;
  leaderState(): unknown;
  followerState(): unknown;
  health(): unknown;
  task(name: string): TaskHandler | undefined;
  taskContext(): TaskContext;
  /** The peer-port gate's per-connection answers: in-flight cap, which member a connection proved to be. */
  readonly security: Pick<NodeSecurity, 'takeInflight' | 'isNode' | 'auditPeer'>;
}
import type { NodeSecurity } from '../security/node-security.js';
import { noReplica, notLeader, opening } from './router.js';
import { EpochHistory } from './epoch-history.js';
import { streamSnapshot } from './leader-resync.js';
import { isWrappedValue, unwrapValue } from '../protocol/stored-value.js';
import { checkValueMeta } from '../security/value-meta.js';
import { MAX_KEY_BYTES } from './stored-format.js';
import { verifyReplica } from './verify.js';
import { rmwFromPeer } from './rmw.js';
import type { PartitionWriter } from './partition-writer.js';
import type { PeerPool } from '../protocol/peer-pool.js';

export function dispatchPeerMessage(node: PeerHost, msg: Message, conn: PeerConnection): void {
  node.metrics.countPeerMessage(msg.type);
  if (msg.type === MsgType.ACK) {
    try {
      const b = validateBody(MsgType.ACK, msg.body);
      // Counted only on the connection of the follower's current stream (fenced by its epoch).
      if (conn.tag) node.leaderOf(b.p)?.ack(conn.tag, b.lsn, conn);
    } catch (e) {
      node.log.warn({ err: (e as Error).message }, 'bad ACK refused');
    }
    return;
  }
  if (msg.type === MsgType.ACK_BATCH) {
    try {
      const b = validateBody(MsgType.ACK_BATCH, msg.body);
      if (conn.tag) for (const [p, lsn] of b.a) node.leaderOf(p)?.ack(conn.tag, lsn, conn);
    } catch (e) {
      node.log.warn({ err: (e as Error).message }, 'bad ACK_BATCH refused');
    }
    return;
  }
  if (msg.id === 0) {
    node.log.warn({ type: msg.type }, 'unexpected one-way message refused');
    return;
  }
  if (!node.security.takeInflight(conn, msg)) return;
  const type = msg.type;
  let r: Promise<unknown>;
  if (type === MsgType.GET || type === MsgType.PUT || type === MsgType.DEL) {
    // The hot requests skip handle()'s async layer: their result is the write's or the read's own
    // promise (one microtask, no async frame), and a GET replies from inside the engine's read.
    try {
      r = hot(node, msg, conn);
    } catch (e) {
      r = Promise.reject(e);
    }
  } else r = handle(node, msg, conn);
  r.then(
    (v) => {
      conn.inflight--;
      node.security.auditPeer(conn, type, 200);
      // A GET has replied already; a write's reply is nil (its LSN stays on the leader).
      if (type === MsgType.GET) return;
      if (msg.fixed) conn.replyFixed(msg.id, null);
      else conn.reply(msg.id, type === MsgType.PUT || type === MsgType.DEL ? null : (v ?? null));
    },
    (e) => {
      conn.inflight--;
      node.security.auditPeer(conn, type, 500);
      const w = wireCodeOf(e);
      // A request in the fixed layout (fixed-frame.ts) is answered in it.
      if (msg.fixed) conn.replyFixedError(msg.id, w.code, w.message);
      else conn.replyError(msg.id, w.code, w.message);
    },
  );
}

/** GET, PUT and DEL, as handle() answers them. Throws (the caller turns it into the rejection). */
function hot(node: PeerHost, msg: Message, conn: PeerConnection): Promise<unknown> {
  // The envelope's epoch is the sender's currentEpoch: see handle().
  if (msg.epoch > node.state.node.currentEpoch) node.failover.heartbeatSoon();
  // A body decoded from the fixed layout is checked already (fixed-frame.ts decodeFixed).
  const fixed = msg.fixed === true;
  if (msg.type === MsgType.GET) {
    const b = fixed ? (msg.body as Bodies[typeof MsgType.GET]) : validateBody(MsgType.GET, msg.body);
    const p = node.router.partition(b.k);
    const mode = b.r ?? 'leader';
    mayRead(node, p, mode);
    // The reply is encoded (copied) from the engine's own memory, as the value is read.
    const id = msg.id;
    return node.router.readLocalWith(
      p,
      b.k,
      mode,
      fixed ? (v) => conn.replyFixed(id, v) : (v) => conn.reply(id, v ?? null),
    );
  }
  const timeout = node.writeTimeoutMs;
  if (msg.type === MsgType.PUT) {
    const b = fixed ? (msg.body as Bodies[typeof MsgType.PUT]) : validateBody(MsgType.PUT, msg.body);
    const v = checkValue(b.v);
    const p = node.router.partition(checkKey(b.k));
    const need = node.router.followersNeeded(p, b.w);
    return node.router.requestIds.run(p, b.rid, () => leading(node, p).write([[b.k, v]], need, timeout));
  }
  const b = fixed ? (msg.body as Bodies[typeof MsgType.DEL]) : validateBody(MsgType.DEL, msg.body);
  const p = node.router.partition(checkKey(b.k));
  const need = node.router.followersNeeded(p, b.w);
  return node.router.requestIds.run(p, b.rid, () => leading(node, p).write([[b.k, null]], need, timeout));
}

/** With auth, a member may speak only for itself: the node named in a body must be the one proven. */
function mustBe(node: PeerHost, conn: PeerConnection, id: string): void {
  if (!node.security.isNode(conn, id))
    throw new Eau2Error(ErrorCode.FORBIDDEN, `this connection authenticated as another node than "${id.slice(0, 64)}"`);
}

/**
 * A write's key must fit the engine's limit here, per request: the node's writer commits every
 * write of an event-loop turn as one engine batch, so a key the engine refuses would fail the others too.
 */
function checkKey(k: Uint8Array): Uint8Array {
  if (k.length > MAX_KEY_BYTES)
    throw new Eau2Error(ErrorCode.TOO_LARGE, `the key is ${k.length} bytes; at most ${MAX_KEY_BYTES}`);
  return k;
}

function checkValue(v: Uint8Array): Uint8Array {
  if (!isWrappedValue(v))
    throw new Eau2Error(ErrorCode.PROTOCOL, 'value lacks a valid stored-value header (docs/format.md 8.6)');
  // Metadata is sent back as HTTP headers on reads: refused here as over HTTP (value-meta.ts).
  if (v[0] !== 0) checkValueMeta(unwrapValue(v));
  return v;
}

function mayRead(node: PeerHost, p: number, mode: ReadMode): void {
  const leader = node.topology().placement[p]!.leader;
  if (mode === 'leader') {
    if (leader !== node.selfId) throw notLeader(p, node.selfId, leader);
  } else if (!node.holds(p)) throw noReplica(p, node.selfId);
}

function leading(node: PeerHost, p: number) {
  const lp = node.leaderOf(p);
  if (!lp && node.opening(p)) throw opening(p);
  if (!lp) throw notLeader(p, node.selfId, node.topology().placement[p]!.leader);
  return lp;
}

async function handle(node: PeerHost, msg: Message, conn: PeerConnection): Promise<unknown> {
  const t = node.topology();
  switch (msg.type) {
    case MsgType.REGISTER: {
      // Nodes of older versions register with the first node each second: any node takes it as a
      // heartbeat now, and answers with the topology as before.
      const b = validateBody(MsgType.REGISTER, msg.body);
      mustBe(node, conn, b.node);
      node.failover.detector.heard(b.node);
      return t;
    }
    // Heartbeats, votes and in-sync changes speak for a node: only that node may send them.
    case MsgType.PING: {
      const g = validateBody(MsgType.PING, msg.body);
      mustBe(node, conn, g.n);
      return node.failover.onPing(g);
    }
    case MsgType.VOTE: {
      const v = validateBody(MsgType.VOTE, msg.body);
      mustBe(node, conn, v.c);
      return node.failover.onVote(v);
    }
    case MsgType.ISR_UPDATE: {
      const u = validateBody(MsgType.ISR_UPDATE, msg.body);
      mustBe(node, conn, u.l);
      return node.failover.onIsrUpdate(u);
    }
    case MsgType.TOPOLOGY:
      // A client asking with its version (fixed-frame.ts negotiateFixedLayout) learns this node's.
      return validateBody(MsgType.TOPOLOGY, msg.body) === null ? t : { ...t, v: PROTOCOL_VERSION };
    case MsgType.STATUS:
      return {
        node: node.selfId,
        epoch: t.epoch,
        leaders: node.leaderState(),
        followers: node.followerState(),
        health: node.health(),
      };
    case MsgType.VERIFY:
      return verifyReplica(node, validateBody(MsgType.VERIFY, msg.body));
  }
  // The envelope's epoch is the sender's currentEpoch: a higher one means a configuration this node
  // has not heard of yet. Requests are not refused for it (each partition is fenced by its own
  // epoch); the heartbeats bring the news now.
  if (msg.epoch > node.state.node.currentEpoch) node.failover.heartbeatSoon();
  const timeout = node.writeTimeoutMs;
  switch (msg.type) {
    case MsgType.BATCH: {
      const b = validateBody(MsgType.BATCH, msg.body);
      if (b.p >= t.partitions) throw new Eau2Error(ErrorCode.INVALID, `no partition ${b.p}`);
      const ops: WireOp[] = b.ops.map(([k, v]) => {
        if (node.router.partition(checkKey(k)) !== b.p)
          throw new Eau2Error(ErrorCode.INVALID, `a key of the batch is not in partition ${b.p}`);
        return [k, v === null ? null : checkValue(v)];
      });
      const need = node.router.followersNeeded(b.p, b.w);
      await node.router.requestIds.run(b.p, b.rid, () => leading(node, b.p).write(ops, need, timeout));
      return null;
    }
    case MsgType.RMW: {
      const b = validateBody(MsgType.RMW, msg.body);
      return rmwFromPeer(node, b, b.w);
    }
    case MsgType.SCAN: {
      const b = validateBody(MsgType.SCAN, msg.body);
      if (b.p >= t.partitions) throw new Eau2Error(ErrorCode.INVALID, `no partition ${b.p}`);
      mayRead(node, b.p, b.r ?? 'leader');
      const page = await node.router.localPage(b.p, {
        gt: b.gt,
        gte: b.gte,
        lt: b.lt,
        lte: b.lte,
        reverse: b.rev === true,
        limit: Math.max(1, b.lim),
      });
      return { e: page.entries, more: page.more };
    }
    case MsgType.SUBSCRIBE: {
      const b = validateBody(MsgType.SUBSCRIBE, msg.body);
      mustBe(node, conn, b.node);
      if (b.p >= t.partitions) throw new Eau2Error(ErrorCode.INVALID, `no partition ${b.p}`);
      const lp = leading(node, b.p);
      if (b.pe !== undefined && b.pe > lp.epoch) node.failover.heartbeatSoon();
      conn.tag = b.node;
      // A follower of version 4 or later reads ENTRIES_BATCH: its partitions' entries share frames.
      if (b.v !== undefined && b.v >= 4) conn.batchEntries = true;
      const follower = b.pe === undefined ? undefined : { epoch: b.pe, history: new EpochHistory(b.h ?? []) };
      return { mode: lp.subscribe(b.node, conn, b.from, follower), v: REPLICATION_VERSION };
    }
    case MsgType.PULL: {
      // A leader whose copy is behind this follower's takes the whole partition back (restore.ts).
      const b = validateBody(MsgType.PULL, msg.body);
      const fp = node.followerOf(b.p);
      if (!fp || fp.lsn < 0) throw noReplica(b.p, node.selfId);
      return { lsn: await streamSnapshot(node.engine, b.p, conn) };
    }
    case MsgType.TASK: {
      const b = validateBody(MsgType.TASK, msg.body);
      const h = node.task(b.name);
      if (!h) throw new Eau2Error(ErrorCode.NOT_FOUND, `no task "${b.name}" on node ${node.selfId}`);
      return h(node.taskContext(), b.payload);
    }
    default:
      throw new Eau2Error(ErrorCode.PROTOCOL, `message type 0x${msg.type.toString(16)} is not a request`);
  }
}
