// ClusterClient as a KvStore over the binary protocol, against node servers on real engines (run in
// this process so tasks can be registered): reads, writes, atomic batches, ordered scans across
// partitions, read modes and write concerns, tasks on every node, and re-routing after a node restarts.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient, NodeServer, parseConfig, type ClusterConfig } from '../../cluster/index.js';
import { createLogger } from '../../cluster/log.js';
import { openEngine } from '../../cluster/node/open-engine.js';
import { isEau2Error } from '../../kv/index.js';
import { freePorts } from './support/cluster-harness.js';
import { seededRng } from '../engine/vfs/seeded-random.js';

const text = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : Buffer.from(b).toString();

describe('ClusterClient', () => {
  let dir: string;
  let config: ClusterConfig;
  const nodes = new Map<string, NodeServer>();
  let client: ClusterClient;

  let boomCalls = 0;

  async function startNode(id: string): Promise<void> {
    const n = await NodeServer.start({ config, nodeId: id, openEngine, logger: createLogger({ level: 'silent' }) });
    n.registerTask('count-led', async (ctx) => {
      let n = 0;
      for await (const [k] of ctx.store.scan({ gte: 'c:', lt: 'c;' })) if (ctx.isLeaderFor(k)) n++;
      return { node: ctx.nodeId, n };
    });
    n.registerTask('boom', async () => {
      boomCalls++;
      throw new Error('task failed on purpose');
    });
    nodes.set(id, n);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eau2-client-'));
    const p = await freePorts(6);
    config = parseConfig({
      partitions: 6,
      replicationFactor: 2,
      nodes: [0, 1, 2].map((i) => ({
        id: `n${i + 1}`,
        port: p[2 * i],
        peerPort: p[2 * i + 1],
        dataDir: join(dir, `n${i + 1}`),
      })),
    });
    await Promise.all(['n1', 'n2', 'n3'].map(startNode));
    client = await ClusterClient.connect([`http://127.0.0.1:${config.nodes[1]!.port}`]);
  });
  afterAll(async () => {
    await client?.close();
    await Promise.all([...nodes.values()].map((n) => n.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('puts, gets and deletes, with binary keys and missing keys as undefined', async () => {
    await client.put('a', 'alpha');
    await client.put(Uint8Array.of(0xff, 0, 1), Uint8Array.of(9, 9));
    expect(text(await client.get('a'))).toBe('alpha');
    expect([...(await client.get(Uint8Array.of(0xff, 0, 1)))!]).toEqual([9, 9]);
    expect(await client.get('missing')).toBeUndefined();
    await client.del('a');
    expect(await client.get('a')).toBeUndefined();
  });

  it('getWith lends each value to its callback, large ones from reused reply memory, without mixing them up', async () => {
    const rng = seededRng();
    const values = Array.from({ length: 60 }, (_, i) =>
      rng.bytes(i % 3 === 0 ? rng.int(0, 500) : rng.int(40_000, 400_000)),
    );
    await Promise.all(values.map((v, i) => client.put(`lent:${i}`, v)));
    // Values kept from get() (the caller's own) must survive the reply memory being reused.
    const owned = await Promise.all(values.map((_, i) => client.get(`lent:${i}`)));
    for (let round = 0; round < 3; round++) {
      const got = await Promise.all(
        values.map((v, i) => client.getWith(`lent:${i}`, (lent) => Buffer.from(lent).equals(v))),
      );
      expect(
        got.every((ok) => ok === true),
        `round ${round}`,
      ).toBe(true);
    }
    owned.forEach((v, i) => expect(Buffer.from(v!).equals(values[i]!), `owned value ${i}`).toBe(true));
    let calls = 0;
    expect(await client.getWith('lent:missing', () => ++calls)).toBeUndefined();
    expect(calls).toBe(0);
  });

  it('getWith rejects with what its callback throws, calling it once (no retry)', async () => {
    await client.put('lent:boom', new Uint8Array(100_000));
    const boom = new Error('cannot decode');
    let calls = 0;
    const err = await client
      .getWith('lent:boom', () => {
        calls++;
        throw boom;
      })
      .catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(calls).toBe(1);
    expect(await client.getWith('lent:boom', (v) => v.length)).toBe(100_000);
  });

  it('applies a batch spanning partitions and scans in order across them', async () => {
    const ops = Array.from({ length: 60 }, (_, i) => ({
      type: 'put' as const,
      key: `s:${String(i).padStart(3, '0')}`,
      value: `v${i}`,
    }));
    await client.batch(ops, { w: 'all' });
    const keys: string[] = [];
    for await (const [k] of client.scan({ gte: 's:', lt: 's;' })) keys.push(text(k)!);
    expect(keys).toEqual(ops.map((o) => o.key));
    const rev: string[] = [];
    for await (const [k] of client.scan({ gt: 's:010', lte: 's:020', reverse: true, limit: 5 })) rev.push(text(k)!);
    expect(rev).toEqual(['s:020', 's:019', 's:018', 's:017', 's:016']);
    const it = client.scan({ gte: 's:' });
    expect(text((await it.next())![0])).toBe('s:000');
    await it.close();
  });

  it('refuses a key too long for the engine without failing the writes issued beside it', async () => {
    // Every write a node issues in one microtask shares one engine batch: a key the engine would
    // refuse must be refused per request, or it would fail its neighbours (and their partitions).
    const long = new Uint8Array(65535).fill(0x61);
    const writes = Array.from({ length: 20 }, (_, i) => client.put(`n:${i}`, `v${i}`));
    const bad = client.put(long, 'x').then(
      () => undefined,
      (e: unknown) => e,
    );
    await Promise.all(writes);
    expect(isEau2Error(await bad, 'TOO_LARGE')).toBe(true);
    for (let i = 0; i < 20; i++) expect(text(await client.get(`n:${i}`))).toBe(`v${i}`);
    await client.put('n:after', 'still leading');
    expect(text(await client.get('n:after'))).toBe('still leading');
  });

  it('reads a w=all write from a follower and refuses a w larger than the replicas', async () => {
    await client.put('f', 'follow-me', { w: 'all' });
    expect(text(await client.get('f', { read: 'follower' }))).toBe('follow-me');
    expect(text(await client.get('f', { read: 'any' }))).toBe('follow-me');
    let err: unknown;
    try {
      await client.put('f', 'x', { w: 3 });
    } catch (e) {
      err = e;
    }
    expect(isEau2Error(err, 'INVALID')).toBe(true);
    expect(text(await client.get('f'))).toBe('follow-me');
  });

  it('runs a task on every node, each seeing its own copy', async () => {
    await client.batch(
      Array.from({ length: 30 }, (_, i) => ({ type: 'put' as const, key: `c:${i}`, value: 'x' })),
      { w: 'all' },
    );
    const results = (await client.runTask('count-led', null)) as { node: string; n: number }[];
    expect(results.map((r) => r.node)).toEqual(['n1', 'n2', 'n3']);
    expect(results.reduce((n, r) => n + r.n, 0)).toBe(30);
    let err: unknown;
    try {
      await client.runTask('no-such-task', null);
    } catch (e) {
      err = e;
    }
    expect(isEau2Error(err, 'NOT_FOUND')).toBe(true);
  });

  it('reports a task that fails without running it again', async () => {
    let err: unknown;
    try {
      await client.runTask('boom', null);
    } catch (e) {
      err = e;
    }
    expect(isEau2Error(err, 'IO')).toBe(true);
    expect((err as Error).message).toContain('task failed on purpose');
    expect(boomCalls).toBe(3);
  });

  it('gives one frozen copy of the topology until the topology changes', async () => {
    const a = client.topology;
    expect(client.topology).toBe(a);
    expect(Object.isFrozen(a) && Object.isFrozen(a.placement) && Object.isFrozen(a.placement[0])).toBe(true);
    expect(() => {
      (a.placement as { leader: string }[])[0]!.leader = 'elsewhere';
    }).toThrow(TypeError);
    await client.refresh();
    const b = client.topology;
    expect(b).not.toBe(a);
    expect(b).toEqual(a);
    expect(client.topology).toBe(b);
  });

  it('re-routes after a node restarts and its connections died', async () => {
    await nodes.get('n1')!.close();
    await startNode('n1');
    for (let i = 0; i < 12; i++) await client.put(`r:${i}`, `v${i}`);
    for (let i = 0; i < 12; i++) expect(text(await client.get(`r:${i}`))).toBe(`v${i}`);
  });
});
