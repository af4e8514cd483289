// The replication round trip alone, in one process, by CPU time per replicated write (GC included):
// a leader side (LeaderPartitions behind the node's own dispatchPeerMessage) and a follower side
// (FollowerLink, FollowerPartitions, PartitionWriter) over a loopback socket, 1 KB puts spread over
// 5 partitions, 8 per turn (`--per-turn`: a node in the cluster bench sees 1-4 per partition), each acknowledged by the follower (w=all). The engines are stubs, so
// what is measured is the request and replication path between them: framing, msgpack, dispatch,
// applying into the writer, acknowledging. Rounds alternate between the protocol's two forms:
// `single` (a leader before version 4: ENTRIES and ACK per partition) and `batch` (version 4:
// ENTRIES_BATCH and ACK_BATCH per turn), so both see the same machine load.
//
//   node --import tsx bench/cluster/replication-path.ts [--writes N] [--rounds N] [--per-turn N]

import net from 'node:net';
import { EpochHistory } from '../../cluster/node/epoch-history.js';
import { FollowerPartition } from '../../cluster/node/follower-partition.js';
import { LeaderPartition } from '../../cluster/node/leader-partition.js';
import { PartitionWriter } from '../../cluster/node/partition-writer.js';
import { dispatchPeerMessage } from '../../cluster/node/peer-handlers.js';
import { fakePeerHost, followerLinkTo, stubEngine } from '../../test/cluster/support/peer-host.js';
import { MsgType } from '../../cluster/protocol/messages.js';
import { PeerConnection } from '../../cluster/protocol/peer-connection.js';
import { numberArg } from '../lib/args.js';

const WRITES = numberArg('writes', 100_000);
const ROUNDS = numberArg('rounds', 3);
const PARTITIONS = 5;
const PER_TURN = numberArg('per-turn', 8);

async function pairUp(batch: boolean): Promise<{ leaders: LeaderPartition[]; stop: () => Promise<void> }> {
  const leaders = Array.from(
    { length: PARTITIONS },
    (_, p) =>
      new LeaderPartition(
        p,
        stubEngine(),
        new PartitionWriter(stubEngine()),
        0,
        ['f'],
        { entries: 10_000, bytes: 8 << 20 },
        {},
        { self: 'L', epoch: 1, history: new EpochHistory([[1, 1]]), isr: ['L', 'f'], minInSync: 1 },
      ),
  );
  const node = fakePeerHost((p) => leaders[p]);
  const conns: PeerConnection[] = [];
  const server = net.createServer((s) => {
    const c = new PeerConnection(s, {
      maxFrameBytes: 1 << 26,
      epoch: () => 1,
      onMessage: (m, conn) => {
        // `single`: the leader acts as one before version 4 (it reads no `v` and answers none).
        if (!batch && m.type === MsgType.SUBSCRIBE) delete (m.body as { v?: number }).v;
        dispatchPeerMessage(node, m, conn);
      },
    });
    if (!batch) {
      const reply = c.reply.bind(c);
      c.reply = (id, body) => reply(id, { mode: (body as { mode: string }).mode });
    }
    conns.push(c);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const engine = stubEngine();
  const writer = new PartitionWriter(engine);
  const link = followerLinkTo(
    port,
    leaders.map((_, p) => new FollowerPartition(p, 'L', engine, writer, 0, () => {})),
  );
  link.start();
  while (!leaders.every((lp) => lp.progress()[0]!.live)) await new Promise((r) => setTimeout(r, 10));
  return {
    leaders,
    stop: async () => {
      await link.stop();
      for (const c of conns) c.destroy();
      server.close();
    },
  };
}

/** CPU us per write for `writes` writes (after a warm-up of a tenth as many). */
async function run(batch: boolean, writes: number): Promise<number> {
  const { leaders, stop } = await pairUp(batch);
  const slab = new Uint8Array(64 * 1024);
  const value = (i: number) =>
    slab.subarray((i * 1025) % (slab.length - 1025), ((i * 1025) % (slab.length - 1025)) + 1025);
  let i = 0;
  const go = async (n: number) => {
    for (const end = i + n; i < end; ) {
      const turn: Promise<number>[] = [];
      for (let j = 0; j < PER_TURN; j++, i++)
        turn.push(leaders[i % PARTITIONS]!.write([[Buffer.from(`user${i}`), value(i)]], 'all', 10_000));
      await Promise.all(turn);
    }
  };
  await go(writes / 10);
  const c0 = process.cpuUsage();
  await go(writes);
  const c = process.cpuUsage(c0);
  await stop();
  return (c.user + c.system) / writes;
}

const results: Record<string, number[]> = { single: [], batch: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const mode of r % 2 === 0 ? ['single', 'batch'] : ['batch', 'single']) {
    const us = await run(mode === 'batch', WRITES);
    results[mode]!.push(us);
    console.log(`round ${r + 1} ${mode}: ${us.toFixed(1)} us CPU per replicated write`);
  }
}
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
console.log(
  `median: single ${med(results.single!).toFixed(1)} us, batch ${med(results.batch!).toFixed(1)} us per write (${PARTITIONS} partitions, ${PER_TURN} writes per turn, ${WRITES} writes per round); load average ${(
    await import('node:os')
  )
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
