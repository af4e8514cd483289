// A shuffle join that is running when a node dies (docs/dataframe.md "A node down", "Joins"). Real
// 3-node cluster, replication 2, the dead node's failover held off (failoverTimeoutMs longer than
// the test: it stays the leader of its partitions, shown up), so nothing may wait for a failover.
// The node is killed at one phase of the join each time, at a point the test chooses through the
// client's task calls (no sleeping): a scatter that wrote all its pieces and died before its answer
// came back; after every scatter answered, before the first bucket join; a node that answered a
// bucket join and died before its next. The join must finish with the answer an in-process join
// (MemoryStore, broadcast) gives, every row exactly once, and leave no piece a node that is up leads.
// Seeded: EAU2_TEST_SEED=<seed> replays a run.

import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { ClusterClient } from '../../cluster/index.js';
import { DataFrame, type Value } from '../../dataframe/index.js';
import { metaToPlain } from '../../dataframe/meta.js';
import { BUCKET_JOIN_TASK, SCATTER_TASK } from '../../dataframe/query/shuffle-tasks.js';
import { runTaskAt } from '../../dataframe/query/tasks.js';
import { readMeta } from '../../dataframe/storage.js';
import { partitionOf, type KeyLike, type KvStore, type ValueLike, type WriteOptions } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { TestCluster, eventually } from '../cluster/support/cluster-harness.js';
import { rowsOf } from './helpers.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);

let cluster: TestCluster | undefined;
const clients: ClusterClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await cluster?.stop();
  cluster = undefined;
});

/** Left and right frames with an I key over a range where most keys repeat on both sides, some null. */
function framePair(rng: Rng): { left: DataFrame; right: DataFrame } {
  const key = (): number | null => (rng.bool(0.05) ? null : rng.int(0, 400));
  const nl = 4000;
  const nr = 1500;
  const left = DataFrame.fromColumns({
    k: { type: 'I', values: Array.from({ length: nl }, key) },
    id: { type: 'I', values: Array.from({ length: nl }, (_, i) => i) },
    g: { type: 'S', values: Array.from({ length: nl }, () => `g${rng.int(0, 9)}`) },
  });
  const right = DataFrame.fromColumns({
    k: { type: 'I', values: Array.from({ length: nr }, key) },
    v: { type: 'I', values: Array.from({ length: nr }, () => rng.int(-1000, 1000)) },
  });
  return { left, right };
}

const cmp = (a: Value, b: Value): number => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1);
/** Rows in one order, whatever order a shuffle join gave them in. */
const sorted = (rows: Value[][]): Value[][] =>
  rows.sort((a, b) => {
    for (let i = 0; i < a.length; i++) {
      const c = cmp(a[i]!, b[i]!);
      if (c !== 0) return c;
    }
    return 0;
  });

/** The queries each phase runs: every joined row, and a group-by over them; left and inner joins. */
function queries(forceShuffle: boolean): { name: string; run: (store: KvStore) => Promise<Value[][]> }[] {
  const opts = forceShuffle ? { broadcastLimitBytes: 16, buckets: 8 } : {};
  const join = async (store: KvStore, how: 'left' | 'inner') =>
    (await DataFrame.get(store, 'fl')).join(await DataFrame.get(store, 'fr'), { on: 'k', how, ...opts });
  return [
    {
      name: 'every row of a left join',
      run: async (s) => sorted(rowsOf(await (await join(s, 'left')).select(['id', 'k', 'g', 'v']).collect())),
    },
    {
      name: 'a group-by over an inner join',
      run: async (s) =>
        sorted(rowsOf(await (await join(s, 'inner')).groupBy('g').agg({ '*': 'count', v: 'sum', id: 'sum' }))),
    },
  ];
}

type Phase = 'scatter' | 'between' | 'buckets';

/**
 * The client with its task calls watched: `phase` says when the victim is killed. A call the
 * victim answered and that is followed by its death is sent to it again, so the join sees what it
 * would see had the node died just before answering (a lost connection), and never that answer.
 */
function withKill(client: ClusterClient, victim: string, phase: Phase, kill: () => Promise<void>): KvStore {
  let killed: Promise<void> | undefined;
  const killOnce = () => (killed ??= kill());
  const runTaskOn = async (node: string, name: string, payload: unknown): Promise<unknown> => {
    if (killed) await killed;
    if (phase === 'between' && name === BUCKET_JOIN_TASK) await killOnce();
    const r = await client.runTaskOn(node, name, payload);
    const dies =
      node === victim &&
      !killed &&
      ((phase === 'scatter' && name === SCATTER_TASK) || (phase === 'buckets' && name === BUCKET_JOIN_TASK));
    if (!dies) return r;
    await killOnce();
    return client.runTaskOn(node, name, payload);
  };
  return new Proxy(client, {
    get(target, prop) {
      if (prop === 'runTaskOn') return runTaskOn;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as unknown as KvStore;
}

describe('a shuffle join while a node dies', () => {
  const CASES: { phase: Phase; failover: boolean; what: string }[] = [
    { phase: 'scatter', failover: false, what: 'during the scatter' },
    { phase: 'between', failover: false, what: 'between scatter and bucket joins' },
    { phase: 'buckets', failover: false, what: 'during the bucket joins' },
    { phase: 'between', failover: true, what: 'between scatter and bucket joins, failed over before them' },
  ];
  for (const [n, { phase, failover, what }] of CASES.entries()) {
    it(`answers as with every node up: a node killed ${what}`, async () => {
      const seed = (SEED ^ Math.imul(n + 1, 0x9e3779b1)) >>> 0;
      onTestFailed(() => console.error(`[faults-shuffle] ${what}: replay with EAU2_TEST_SEED=${SEED}`));
      const { left, right } = framePair(new Rng(seed));
      const mem = new MemoryStore();
      await DataFrame.put(mem, 'fl', left, { chunkRows: 150 });
      await DataFrame.put(mem, 'fr', right, { chunkRows: 100 });
      const ref = await Promise.all(queries(false).map((q) => q.run(mem)));

      const c = (cluster = await TestCluster.start({
        nodes: 3,
        partitions: 8,
        replicationFactor: 2,
        // Without failover: longer than the test. With it: the default 5 s.
        extra: failover ? {} : { failoverTimeoutMs: 600_000 },
      }));
      const urls = c.nodes.map((x) => x.url);
      const writer = await ClusterClient.connect(urls, { w: 'all', retryMs: 2000 });
      clients.push(writer);
      // w=all: every chunk is on both replicas before the kill.
      await DataFrame.put(writer, 'fl', left, { chunkRows: 150 });
      await DataFrame.put(writer, 'fr', right, { chunkRows: 100 });

      const victim = 'n1';
      const client = await ClusterClient.connect(urls, { retryMs: 2000 });
      clients.push(client);
      let kills = 0;
      const store = withKill(client, victim, phase, async () => {
        kills++;
        await c.kill(victim);
        if (!failover) return;
        // The join goes on once every partition the victim led has a new leader (bounded).
        const moved = await eventually(async () => {
          await client.refresh();
          const t = client.topology;
          return (
            t.nodes?.find((x) => x.id === victim)?.status === 'down' && t.placement.every((p) => p.leader !== victim)
          );
        }, 60_000);
        expect(moved, "the victim's partitions failed over").toBe(true);
      });
      // The first query meets the kill; the next runs with the node already dead.
      for (const [i, q] of queries(true).entries()) {
        expect(await q.run(store), q.name).toEqual(ref[i]);
        expect(kills, 'the victim was killed during the first join').toBe(1);
      }

      // Every piece a node that is up leads is deleted (after a failover, every piece); the dead
      // node's expire (shuffleTtlMs).
      if (failover) await client.refresh();
      const led = new Set(client.topology.placement.flatMap((p, i) => (p.leader === victim ? [] : [i])));
      const left_over: string[] = [];
      for await (const [k] of client.scan({ gte: '\0df/t/', lt: '\0df/t0' }, { read: 'leader-first' }))
        if (led.has(partitionOf(k, client.topology.partitions))) left_over.push(Buffer.from(k).toString());
      expect(left_over).toEqual([]);
    }, 240_000);
  }
});

describe('a scatter', () => {
  // What lets a bucket join read a dead node's pieces from its followers: when the scatter answers,
  // a w=all write in the partition of its pieces has completed after all of them (a follower
  // acknowledges a position in the partition's log). Without it, a node killed just after its
  // scatter answered could take pieces no follower had received yet.
  it("answers after a w=all write in its pieces' partition that follows every piece", async () => {
    const rng = new Rng(SEED);
    onTestFailed(() => console.error(`[faults-shuffle] scatter: replay with EAU2_TEST_SEED=${SEED}`));
    const mem = new MemoryStore();
    await DataFrame.put(mem, 'fl', framePair(rng).left, { chunkRows: 150 });
    const meta = (await readMeta(mem, 'fl'))!;
    const events: { at: 'start' | 'end'; key: string; w: unknown }[] = [];
    const put = async (key: KeyLike, value: ValueLike, opts?: WriteOptions): Promise<void> => {
      events.push({ at: 'start', key: String(key), w: opts?.w });
      await mem.put(key, value, opts);
      events.push({ at: 'end', key: String(key), w: opts?.w });
    };
    const store = new Proxy(mem, {
      get(target, prop) {
        if (prop === 'put') return put;
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as KvStore;
    const shuffle = { id: 'ab'.repeat(12), side: 'l', keys: ['k'], buckets: 4, dropNullKeys: true };
    const res = (await runTaskAt(store, undefined, SCATTER_TASK, { meta: metaToPlain(meta), shuffle })) as {
      pieces: unknown[];
    };
    expect(res.pieces.length).toBeGreaterThan(1);
    const tag = (key: string): string | undefined => /\{([^}]*)\}/.exec(key)?.[1];
    const pieceEnds = events.filter((e) => e.at === 'end' && e.w !== 'all');
    expect(pieceEnds.length).toBe(res.pieces.length * meta.fields.length);
    const syncs = events.filter((e) => e.w === 'all');
    expect(syncs.map((e) => e.at)).toEqual(['start', 'end']);
    expect(events.at(-1)).toBe(syncs[1]);
    // The same hash tag: the same partition as every piece, whatever the partitioning.
    for (const e of pieceEnds) expect(tag(e.key)).toBe(tag(syncs[0]!.key));
    expect(events.indexOf(syncs[0]!)).toBeGreaterThan(events.indexOf(pieceEnds.at(-1)!));
  });
});
