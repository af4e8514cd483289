// A client's request through a leader, alone, in one process, by CPU time per request (GC and the
// client's own share included): a PeerConnection client sends PUT (with a request id, as
// ClusterClient does) and GET frames, 64 in flight, to the node's own dispatchPeerMessage in front
// of LeaderPartitions, whose entries stream to a follower side (FollowerLink, FollowerPartitions,
// PartitionWriter) that acknowledges them; 1 KB values over 5 partitions, w=1 as the cluster bench
// writes. The engines are stubs, so what is measured is the request path: framing, the client's
// requests and the replies in the fixed layout (docs/format.md 8.8) or in msgpack, the handlers,
// request ids, the leader's write, the reply, the replication push and its ACK. `--layout both`
// (the default) alternates the two layouts round by round, each on a fresh connection and node.
//
//   node --import tsx bench/cluster/request-path.ts [--ops N] [--rounds N] [--mix put|get|a]
//     [--layout fixed|msgpack|both]

import net from 'node:net';
import type { EngineLike } from '../../cluster/node/engine-api.js';
import { EpochHistory } from '../../cluster/node/epoch-history.js';
import { FollowerPartition } from '../../cluster/node/follower-partition.js';
import { LeaderPartition } from '../../cluster/node/leader-partition.js';
import { PartitionWriter } from '../../cluster/node/partition-writer.js';
import { dispatchPeerMessage } from '../../cluster/node/peer-handlers.js';
import { RequestIds } from '../../cluster/node/request-ids.js';
import { MsgType } from '../../cluster/protocol/messages.js';
import { PeerConnection } from '../../cluster/protocol/peer-connection.js';
import { wrapValue } from '../../cluster/protocol/stored-value.js';
import { fakePeerHost, followerLinkTo, stubEngine as stubEngineWith } from '../../test/cluster/support/peer-host.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

const OPS = Number(arg('ops', '100000'));
const ROUNDS = Number(arg('rounds', '3'));
const MIX = arg('mix', 'a');
const PARTITIONS = 5;
const IN_FLIGHT = 64;
const LAYOUT = arg('layout', 'both');
if (!['fixed', 'msgpack', 'both'].includes(LAYOUT)) throw new TypeError('--layout is fixed, msgpack or both');

const stored = wrapValue(new Uint8Array(1024).fill(7));

const stubEngine = (): EngineLike =>
  stubEngineWith({
    get: async () => stored.slice(),
    getWith: async <T>(_k: Uint8Array, use: (v: Uint8Array) => T) => use(stored),
  });

async function setUp(layout: string): Promise<{ client: PeerConnection; stop: () => Promise<void> }> {
  const engine = stubEngine();
  const leaders = Array.from(
    { length: PARTITIONS },
    (_, p) =>
      new LeaderPartition(
        p,
        engine,
        new PartitionWriter(engine),
        0,
        ['f'],
        { entries: 10_000, bytes: 8 << 20 },
        {},
        { self: 'L', epoch: 1, history: new EpochHistory([[1, 1]]), isr: ['L', 'f'], minInSync: 1 },
      ),
  );
  const host = fakePeerHost((p) => leaders[p]);
  const partition = (k: Uint8Array) => k[k.length - 1]! % PARTITIONS;
  Object.assign(host, {
    engine,
    topology: () => ({
      partitions: PARTITIONS,
      placement: leaders.map(() => ({ leader: 'L', followers: ['f'] })),
    }),
    router: {
      partition,
      followersNeeded: () => 0,
      requestIds: new RequestIds(60_000, 100_000),
      readLocal: async () => stored.slice(),
      readLocalWith: async <T>(_p: number, _k: Uint8Array, _m: string, use: (v: Uint8Array) => T) => use(stored),
    },
  });
  const conns: PeerConnection[] = [];
  const server = net.createServer((s) => {
    conns.push(
      new PeerConnection(s, {
        maxFrameBytes: 1 << 26,
        epoch: () => 1,
        onMessage: (m, c) => dispatchPeerMessage(host, m, c),
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const fwriter = new PartitionWriter(engine);
  const link = followerLinkTo(
    port,
    leaders.map((_, p) => new FollowerPartition(p, 'L', engine, fwriter, 0, () => {})),
  );
  link.start();
  while (!leaders.every((lp) => lp.progress()[0]!.live)) await new Promise((r) => setTimeout(r, 10));
  const client = await PeerConnection.connect('127.0.0.1', port, {
    maxFrameBytes: 1 << 26,
    epoch: () => 1,
    reuseReadBuffer: true,
  });
  // As ClusterClient negotiates it with a node of version 5 (negotiateFixedLayout).
  client.fixedLayout = layout === 'fixed';
  return {
    client,
    stop: async () => {
      client.destroy();
      await link.stop();
      for (const c of conns) c.destroy();
      server.close();
    },
  };
}

/** CPU us per request for `ops` requests (after a warm-up of a fifth as many). */
async function run(ops: number, layout: string): Promise<number> {
  const { client, stop } = await setUp(layout);
  let i = 0;
  const one = (): Promise<unknown> => {
    const n = i++;
    const k = Buffer.from(`user${String(n % 20_000).padStart(10, '0')}`);
    const put = MIX === 'put' || (MIX === 'a' && n % 2 === 0);
    return put
      ? client.request(MsgType.PUT, { k, v: stored, rid: `r${n}-${Math.random()}` })
      : client.request(MsgType.GET, { k });
  };
  const go = async (n: number) => {
    const end = i + n;
    const worker = async () => {
      while (i < end) await one();
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  };
  await go(ops / 5);
  const c0 = process.cpuUsage();
  await go(ops);
  const c = process.cpuUsage(c0);
  await stop();
  return (c.user + c.system) / ops;
}

const layouts = LAYOUT === 'both' ? ['msgpack', 'fixed'] : [LAYOUT];
const results = new Map<string, number[]>(layouts.map((l) => [l, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const layout of r % 2 === 0 ? layouts : [...layouts].reverse()) {
    const us = await run(OPS, layout);
    results.get(layout)!.push(us);
    console.log(`round ${r + 1}: ${us.toFixed(1)} us CPU per request (${MIX}, ${layout})`);
  }
}
const load = (await import('node:os'))
  .loadavg()
  .map((x) => x.toFixed(1))
  .join(' ');
for (const [layout, xs] of results) {
  const sorted = [...xs].sort((x, y) => x - y);
  console.log(
    `${layout}: median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} us per request, range ${sorted[0]!.toFixed(1)}-${sorted.at(-1)!.toFixed(1)} (mix ${MIX}, ${OPS} requests per round, ${IN_FLIGHT} in flight); load average ${load}`,
  );
}
