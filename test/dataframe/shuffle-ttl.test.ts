// Shuffle pieces expire (docs/dataframe.md "Joins"): a node that dies after writing its pieces of a
// join, before the join's cleanup ran, leaves them on its followers, where nothing deletes them. With
// the pieces written to expire (JoinOptions.shuffleTtlMs; a short bound here), they are gone from
// every replica once the bound has passed, with no operator. Real 3-node cluster, replication 2.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bench/dataframe/local-cluster.js';
import { DataFrame } from '../../dataframe/index.js';
import { metaToPlain } from '../../dataframe/meta.js';
import { SCATTER_TASK } from '../../dataframe/query/shuffle-tasks.js';
import { readMeta } from '../../dataframe/storage.js';
import type { ReadOptions } from '../../kv/index.js';
import { seededRng } from './helpers.js';

let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await LocalCluster.start(3, 2, 8);
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

/** A short bound, but long enough for the checks before it passes on a loaded machine. */
const TTL_MS = 20_000;

describe('shuffle pieces expire', () => {
  it('pieces of a node killed mid-join are gone from its followers after the bound', async () => {
    const rng = seededRng();
    const client = cluster.client;
    const n = 3000;
    await DataFrame.put(
      client,
      'ttl_left',
      DataFrame.fromColumns({
        k: Int32Array.from({ length: n }, () => rng.int(0, 200)),
        v: Float64Array.from({ length: n }, () => rng.next()),
      }),
      { chunkRows: 100 },
    );
    const meta = (await readMeta(client, 'ttl_left'))!;
    const id = randomBytes(12).toString('hex');
    const range = { gte: `\0df/t/${id}/`, lt: `\0df/t/${id}0` };
    const count = async (read: ReadOptions['read']): Promise<number> => {
      let k = 0;
      for await (const _ of client.scan(range, { read })) k++;
      return k;
    };

    // The first half of a join on node n1: it scatters the chunks it leads into pieces it holds.
    const victim = 'n1';
    const started = Date.now();
    const res = (await client.runTaskOn(victim, SCATTER_TASK, {
      meta: metaToPlain(meta),
      shuffle: { id, side: 'l', keys: ['k'], buckets: 4, dropNullKeys: true, ttlMs: TTL_MS },
    })) as { pieces: unknown[] };
    const returned = Date.now();
    expect(res.pieces.length).toBeGreaterThan(0);
    // One key per piece and column, and the scatter's closing w=all write (it expires alike).
    const keys = res.pieces.length * 2 + 1;
    expect(await count('leader')).toBe(keys);
    // Replicated (w=1, so asynchronously) to the followers, which are what survives the node.
    const deadline = Date.now() + 15_000;
    while ((await count('follower')) !== keys) {
      expect(Date.now(), 'pieces did not reach the followers').toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }

    // The node dies before the join's bucket tasks and cleanup: nobody will delete its pieces.
    const proc = cluster.procs.find((p) => p.id === victim)!.proc;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
    const before = await count('leader-first');
    // Still inside the bound (checked, so the count below means what it says): the copies are there.
    expect(Date.now() - started, 'the checks before the bound took too long').toBeLessThan(TTL_MS);
    expect(before).toBe(keys);

    // Past the bound (from the latest moment the node could have stamped them): gone everywhere.
    const wait = returned + TTL_MS + 500 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    expect(await count('leader-first')).toBe(0);
  }, 120_000);
});
