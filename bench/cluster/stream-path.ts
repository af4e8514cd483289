// A leader's replication stream path alone, in one process, measured by CPU time per write with the
// GC included: LeaderPartition.write for 1 KB puts spread over 5 partitions, each with one subscribed
// follower whose ENTRIES frames are joined per event-loop turn as PeerConnection.flush joins them,
// while each partition's backlog fills to its default 8 MiB and then rolls. The values are views into
// 64 KiB buffers, as a node's decoded requests are views into its socket reads. The engine is a stub,
// so what is measured is the cluster's own work: numbering, the backlog, encoding the stream.
//
//   node --import tsx bench/cluster/stream-path.ts [--writes N]
//
// The cluster bench (main.ts) cannot resolve a change of a few us per write on a shared machine; this
// can, and it runs unchanged against any revision whose LeaderPartition has the same constructor.

import { performance } from 'node:perf_hooks';
import type { EngineLike } from '../../cluster/node/engine-api.js';
import { LeaderPartition } from '../../cluster/node/leader-partition.js';
import { EpochHistory } from '../../cluster/node/epoch-history.js';
import { PartitionWriter } from '../../cluster/node/partition-writer.js';
import { encodeMessage } from '../../cluster/protocol/messages.js';
import { joinSmall } from '../../cluster/protocol/frame-parts.js';
import type { PeerConnection } from '../../cluster/protocol/peer-connection.js';
import { stubEngine } from '../../test/cluster/support/peer-host.js';
import { numberArg } from '../lib/args.js';

const WRITES = numberArg('writes', 400_000);
const WARMUP = 50_000;
const PARTITIONS = 5;
const PER_TURN = 64;

const engine: EngineLike = stubEngine();

/** A follower connection that joins each turn's frames into socket-write buffers and counts their bytes. */
class CountingConn {
  out: Uint8Array[] = [];
  bytes = 0;
  queuedBytes = 0;
  closed = false;
  send(type: number, body: unknown): void {
    this.out.push(encodeMessage(type, 0, 1, body));
  }
  /** Set when the revision has entries-frame.ts (older ones send ENTRIES through send()). */
  sendEntries: ((p: number, entries: readonly Uint8Array[]) => void) | undefined;
  flush(): void {
    for (const b of joinSmall(this.out)) this.bytes += b.length;
    this.out = [];
  }
  destroy(): void {}
}

async function main(): Promise<void> {
  let encodeEntriesFrame: ((epoch: number, p: number, e: readonly Uint8Array[]) => Uint8Array[]) | undefined;
  try {
    encodeEntriesFrame = (await import('../../cluster/protocol/entries-frame.js')).encodeEntriesFrame;
  } catch {
    // an older revision: LeaderPartition sends ENTRIES through send()
  }
  const conn = new CountingConn();
  if (encodeEntriesFrame) conn.sendEntries = (p, e) => void conn.out.push(...encodeEntriesFrame!(1, p, e));
  const writer = new PartitionWriter(engine);
  const leaders = Array.from(
    { length: PARTITIONS },
    (_, p) =>
      new LeaderPartition(
        p,
        engine,
        writer,
        0,
        ['f'],
        { entries: 10_000, bytes: 8 * 1024 * 1024 },
        {},
        { self: 'l', epoch: 1, history: new EpochHistory([[1, 1]]), isr: ['l', 'f'], minInSync: 1 },
      ),
  );
  for (const lp of leaders) lp.subscribe('f', conn as unknown as PeerConnection, 0);
  const values = Array.from({ length: 64 }, (_, i) => {
    const v = new Uint8Array(1025).fill(i);
    v[0] = 0; // stored-value header: plain
    return v;
  });
  let chunk = Buffer.allocUnsafe(64 * 1024);
  let off = 0;
  let c0 = process.cpuUsage();
  let t0 = performance.now();
  for (let i = 0; i < WRITES + WARMUP; i += PER_TURN) {
    if (i === WARMUP) {
      c0 = process.cpuUsage();
      t0 = performance.now();
    }
    const turn: Promise<number>[] = [];
    for (let j = 0; j < PER_TURN; j++) {
      const n = i + j;
      if (off + 1100 > chunk.length) {
        chunk = Buffer.allocUnsafe(64 * 1024);
        off = 0;
      }
      const k = chunk.subarray(off, off + 14);
      k.write(`user${String(n % 20_000).padStart(10, '0')}`, 'latin1');
      off += 14;
      chunk.set(values[n & 63]!, off);
      const v = chunk.subarray(off, off + 1025);
      off += 1025;
      turn.push(leaders[n % PARTITIONS]!.write([[k, v]], 0, 10_000));
    }
    await Promise.all(turn);
    await new Promise((r) => setImmediate(r));
    conn.flush();
  }
  const cpu = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  const mem = process.memoryUsage();
  console.log(
    `stream path: ${WRITES} writes of 1 KB over ${PARTITIONS} partitions, ${PER_TURN} per turn: ` +
      `${((cpu.user + cpu.system) / WRITES).toFixed(2)} us CPU per write (${((ms * 1000) / WRITES).toFixed(2)} us wall), ` +
      `heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB, external ${(mem.external / 2 ** 20).toFixed(0)} MiB, ` +
      `${(conn.bytes / WRITES).toFixed(0)} bytes streamed per write`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
