// Replication protocol version 4 between a real leader side (LeaderPartitions answering through
// dispatchPeerMessage, the node's own handler) and a real follower side (FollowerLink,
// FollowerPartitions, PartitionWriter) over loopback: every partition's entries of a turn in one
// ENTRIES_BATCH, answered by one ACK_BATCH sent only once the follower's engine committed them; a
// partition fenced (detached) between the leader's send and the follower's receipt is dropped alone;
// and peers of older versions on either side keep ENTRIES and ACK per partition.

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { EngineLike, EngineOp } from '../../cluster/node/engine-api.js';
import { EpochHistory } from '../../cluster/node/epoch-history.js';
import type { FollowerLink } from '../../cluster/node/follower-link.js';
import { FollowerPartition } from '../../cluster/node/follower-partition.js';
import { LeaderPartition } from '../../cluster/node/leader-partition.js';
import type { PartitionWriter } from '../../cluster/node/partition-writer.js';
import { PartitionWriter as Writer } from '../../cluster/node/partition-writer.js';
import { dispatchPeerMessage, type PeerHost } from '../../cluster/node/peer-handlers.js';
import { fakePeerHost, followerLinkTo, stubEngine } from './support/peer-host.js';
import { decodeLsn, lsnKey } from '../../cluster/node/stored-format.js';
import { type Message, MsgType, validateBody } from '../../cluster/protocol/messages.js';
import { PeerConnection } from '../../cluster/protocol/peer-connection.js';

const PARTS = [1, 2, 3];
const enc = (s: string) => new TextEncoder().encode(s);

/** A follower's engine: each batch commits 5 ms after it is issued; `persisted` is each partition's committed LSN record. */
function slowEngine(): EngineLike & { persisted: Map<number, number>; ops: Map<number, number> } {
  const persisted = new Map<number, number>();
  const ops = new Map<number, number>();
  const e = {
    ...stubEngine(),
    persisted,
    ops,
    async batch(list: EngineOp[]): Promise<void> {
      await new Promise((r) => setTimeout(r, 5));
      for (const op of list) {
        const k = Buffer.from(op.key);
        if (k[0] === 0xff && k[1] === 0xff && k[2] === 0x01) {
          const p = k.readUInt16BE(3);
          if (Buffer.from(lsnKey(p)).equals(k)) persisted.set(p, decodeLsn((op as { value: Uint8Array }).value));
        } else {
          const p = k.readUInt16BE(0);
          ops.set(p, (ops.get(p) ?? 0) + 1);
        }
      }
    },
  };
  return e as unknown as EngineLike & { persisted: Map<number, number>; ops: Map<number, number> };
}

function leaderOf(p: number): LeaderPartition {
  const engine = { health: () => ({ state: 'ok' }) } as unknown as EngineLike;
  const writer = { apply: () => Promise.resolve() } as unknown as PartitionWriter;
  return new LeaderPartition(
    p,
    engine,
    writer,
    0,
    ['f'],
    { entries: 1000, bytes: 1 << 24 },
    {},
    { self: 'L', epoch: 1, history: new EpochHistory([[1, 1]]), isr: ['L', 'f'], minInSync: 1 },
  );
}

/** What dispatchPeerMessage needs of a node for SUBSCRIBE, ACK and ACK_BATCH. */
function host(leaders: Map<number, LeaderPartition>): PeerHost {
  return fakePeerHost((p) => leaders.get(p));
}

interface Setup {
  leaders: Map<number, LeaderPartition>;
  /** Frames the leader side received, and the follower's persisted LSN per partition when each ACK arrived. */
  received: Message[];
  ackedBeyondPersisted: string[];
  engine: ReturnType<typeof slowEngine>;
  fps: Map<number, FollowerPartition>;
  link: FollowerLink;
  port: number;
}

const open: { close(): void }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) o.close();
});

const until = async (cond: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond(), what).toBe(true);
};

/**
 * A leader of PARTS and a follower of them. `oldLeader`: the leader side behaves as a node before
 * version 4 (it ignores SUBSCRIBE's `v` and answers without one).
 */
async function setup(opts: { oldLeader?: boolean; follower?: boolean } = {}): Promise<Setup> {
  const leaders = new Map(PARTS.map((p) => [p, leaderOf(p)]));
  const node = host(leaders);
  const received: Message[] = [];
  const ackedBeyondPersisted: string[] = [];
  const engine = slowEngine();
  const checkAck = (p: number, lsn: number) => {
    if (lsn > (engine.persisted.get(p) ?? 0)) ackedBeyondPersisted.push(`p${p}@${lsn}`);
  };
  const server = net.createServer((s) => {
    const c = new PeerConnection(s, {
      maxFrameBytes: 1 << 26,
      epoch: () => 1,
      onMessage: (m, conn) => {
        received.push(m);
        if (m.type === MsgType.ACK) {
          const b = m.body as { p: number; lsn: number };
          checkAck(b.p, b.lsn);
        }
        if (m.type === MsgType.ACK_BATCH)
          for (const [p, lsn] of (m.body as { a: [number, number][] }).a) checkAck(p, lsn);
        if (opts.oldLeader && m.type === MsgType.SUBSCRIBE) delete (m.body as { v?: number }).v;
        dispatchPeerMessage(node, m, conn);
      },
      onClose: (conn) => {
        for (const lp of leaders.values()) lp.dropConnection(conn);
      },
    });
    if (opts.oldLeader) {
      const reply = c.reply.bind(c);
      c.reply = (id, body) =>
        reply(id, body && typeof body === 'object' ? { mode: (body as { mode: string }).mode } : body);
    }
    open.push({ close: () => c.destroy() });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  open.push({ close: () => server.close() });
  const port = (server.address() as net.AddressInfo).port;
  const writer = new Writer(engine);
  const fps = new Map(PARTS.map((p) => [p, new FollowerPartition(p, 'L', engine, writer, 0, () => {})]));
  const link = followerLinkTo(port, opts.follower === false ? [] : [...fps.values()]);
  if (opts.follower !== false) {
    link.start();
    open.push({ close: () => void link.stop() });
    await until(() => [...leaders.values()].every((lp) => lp.progress()[0]!.live), 'every partition streams');
  }
  return { leaders, received, ackedBeyondPersisted, engine, fps, link, port };
}

const types = (ms: Message[]) => ms.map((m) => m.type);

describe('replication protocol version 4', () => {
  it('streams every partition of a turn in one ENTRIES_BATCH and acknowledges them in one ACK_BATCH, after the follower persisted them', async () => {
    const s = await setup();
    for (let round = 0; round < 5; round++) {
      const lsns = await Promise.all(
        PARTS.map((p) => s.leaders.get(p)!.write([[enc(`k${round}`), enc('\0v')]], 'all', 5000)),
      );
      expect(lsns).toEqual([round + 1, round + 1, round + 1]);
    }
    expect(types(s.received)).not.toContain(MsgType.ACK);
    const batches = s.received.filter((m) => m.type === MsgType.ACK_BATCH);
    // Each round's three writes were one frame each way: one ACK_BATCH naming all three partitions.
    expect(
      batches.map((m) =>
        validateBody(MsgType.ACK_BATCH, m.body)
          .a.map(([p]) => p)
          .sort(),
      ),
    ).toEqual(Array.from({ length: 5 }, () => PARTS));
    expect(s.ackedBeyondPersisted).toEqual([]);
    for (const p of PARTS)
      expect([s.engine.persisted.get(p), s.fps.get(p)!.lsn, s.leaders.get(p)!.acked.get('f')]).toEqual([5, 5, 5]);
  });

  it('drops the group of a partition fenced mid-batch and applies and acknowledges the others', async () => {
    const s = await setup();
    await Promise.all(PARTS.map((p) => s.leaders.get(p)!.write([[enc('a'), enc('\0v')]], 'all', 5000)));
    // Partition 2 moves away on the follower (a failover detaches it) while its old leader still
    // streams it: the next batch holds 1, 2 and 3.
    s.link.remove(2);
    await s.fps.get(2)!.detach();
    const before = s.received.length;
    const w1 = s.leaders.get(1)!.write([[enc('b'), enc('\0v')]], 'all', 5000);
    const w2 = s.leaders.get(2)!.write([[enc('b'), enc('\0v')]], 0, 5000);
    const w3 = s.leaders.get(3)!.write([[enc('b'), enc('\0v')]], 'all', 5000);
    expect(await Promise.all([w1, w2, w3])).toEqual([2, 2, 2]);
    await new Promise((r) => setTimeout(r, 50));
    const acks = s.received.slice(before).filter((m) => m.type === MsgType.ACK_BATCH);
    expect(acks.map((m) => validateBody(MsgType.ACK_BATCH, m.body).a)).toEqual([
      [
        [1, 2],
        [3, 2],
      ],
    ]);
    expect([s.engine.persisted.get(1), s.engine.persisted.get(2), s.engine.persisted.get(3)]).toEqual([2, 1, 2]);
    expect([s.engine.ops.get(1), s.engine.ops.get(2), s.engine.ops.get(3)]).toEqual([2, 1, 2]);
    expect(s.leaders.get(2)!.acked.get('f')).toBe(1);
    expect(s.ackedBeyondPersisted).toEqual([]);
  });

  it('a follower of version 4 acknowledges an older leader with ACK per partition', async () => {
    const s = await setup({ oldLeader: true });
    for (let round = 0; round < 3; round++)
      await Promise.all(PARTS.map((p) => s.leaders.get(p)!.write([[enc(`k${round}`), enc('\0v')]], 'all', 5000)));
    expect(types(s.received)).not.toContain(MsgType.ACK_BATCH);
    expect(s.received.filter((m) => m.type === MsgType.ACK)).toHaveLength(9);
    for (const p of PARTS) expect(s.leaders.get(p)!.acked.get('f')).toBe(3);
    expect(s.ackedBeyondPersisted).toEqual([]);
  });

  it('a leader of version 4 streams ENTRIES per partition to a follower that announced no version', async () => {
    const s = await setup({ follower: false });
    const got: Message[] = [];
    const c = await PeerConnection.connect('127.0.0.1', s.port, {
      maxFrameBytes: 1 << 26,
      epoch: () => 1,
      onMessage: (m, conn) => {
        got.push(m);
        if (m.type === MsgType.ENTRIES) {
          const b = validateBody(MsgType.ENTRIES, m.body);
          conn.send(MsgType.ACK, { p: b.p, lsn: b.e.at(-1)![0] }); // as a node before version 4 does
        }
      },
    });
    open.push({ close: () => c.destroy() });
    for (const p of PARTS) {
      const r = (await c.request(MsgType.SUBSCRIBE, { p, from: 0, node: 'f', pe: 1, h: [[1, 1]] })) as { mode: string };
      expect(r.mode).toBe('stream');
    }
    await Promise.all(PARTS.map((p) => s.leaders.get(p)!.write([[enc('k'), enc('\0v')]], 'all', 5000)));
    const pushes = got.filter((m) => m.type !== MsgType.EPOCHS && m.type !== MsgType.HEARTBEAT);
    expect(types(pushes)).toEqual([MsgType.ENTRIES, MsgType.ENTRIES, MsgType.ENTRIES]);
    expect(pushes.map((m) => validateBody(MsgType.ENTRIES, m.body).p).sort()).toEqual(PARTS);
  });
});
