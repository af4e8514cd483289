// A pipeline's consecutive writes (SET, INCR, DECR, INCRBY, DECRBY) to distinct keys of partitions
// the node leads are issued together (resp-server.ts CONCURRENT_WRITES): they share engine batches,
// and the answers, the stored values and what the pipeline's later reads see are exactly those of
// running the commands one at a time, in order. Checked against a model on seeded random pipelines
// (keys repeat, so runs break at a repeated key; other nodes' partitions run one at a time).

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../engine/util/random.js';
import { BASE_SEED } from '../../engine/vfs/seeded-random.js';
import { RespCluster } from './resp-support.js';

type Cmd = [string, ...string[]];

/** A random pipeline over `keys` keys and the replies running it in order gives (a model of Redis). */
function randomPipeline(seed: number, length: number, keys: number, prefix: string): { cmds: Cmd[]; want: unknown[] } {
  const r = mulberry32(seed);
  const model = new Map<string, string>();
  const cmds: Cmd[] = [];
  const want: unknown[] = [];
  const counter = (k: string, by: number) => {
    const v = model.get(k);
    if (v !== undefined && !/^-?[0-9]+$/.test(v)) return 'ERR value is not an integer or out of range';
    const n = Number(v ?? '0') + by;
    model.set(k, String(n));
    return n;
  };
  for (let i = 0; i < length; i++) {
    const k = `${prefix}${Math.floor(r() * keys)}`;
    const x = r();
    if (x < 0.35) {
      // Mostly numbers, sometimes text, so a later INCR of the key fails as Redis's does.
      const v = r() < 0.8 ? String(Math.floor(r() * 1000) - 500) : `t${i}`;
      cmds.push(['set', k, v]);
      model.set(k, v);
      want.push('OK');
    } else if (x < 0.5) {
      cmds.push(['incr', k]);
      want.push(counter(k, 1));
    } else if (x < 0.6) {
      cmds.push(['decr', k]);
      want.push(counter(k, -1));
    } else if (x < 0.7) {
      const by = Math.floor(r() * 100) - 50;
      cmds.push(['incrby', k, String(by)]);
      want.push(counter(k, by));
    } else if (x < 0.75) {
      const by = Math.floor(r() * 100) - 50;
      cmds.push(['decrby', k, String(by)]);
      want.push(counter(k, -by));
    } else if (x < 0.8) {
      cmds.push(['set', k, 'nx-value', 'NX']); // not a plain SET: runs alone
      want.push(model.has(k) ? null : 'OK');
      if (!model.has(k)) model.set(k, 'nx-value');
    } else {
      cmds.push(['get', k]);
      want.push(model.get(k) ?? null);
    }
  }
  return { cmds, want };
}

async function run(redis: Redis, cmds: Cmd[]): Promise<unknown[]> {
  const p = redis.pipeline(cmds);
  return (await p.exec())!.map(([e, v]) => (e ? (e as Error).message : v));
}

describe('pipelined writes issued together', () => {
  let single: RespCluster;
  let three: RespCluster;
  const clients: Redis[] = [];
  const client = (c: RespCluster, id: string): Redis => {
    const r = new Redis({ host: '127.0.0.1', port: c.respPort(id), lazyConnect: false, maxRetriesPerRequest: 1 });
    clients.push(r);
    return r;
  };

  beforeAll(async () => {
    [single, three] = await Promise.all([
      RespCluster.start({ nodes: 1, replicationFactor: 1, partitions: 4 }),
      RespCluster.start({ nodes: 3, replicationFactor: 2, partitions: 6 }),
    ]);
  });

  afterAll(async () => {
    for (const r of clients) r.disconnect();
    await Promise.all([single?.close(), three?.close()]);
  });

  it('share engine batches: a pipeline of SETs to distinct keys is not one batch per command', async () => {
    const redis = client(single, 'n1');
    await redis.ping();
    const writer = single.nodes.get('n1')!.writer;
    const before = writer.batches;
    const n = 200;
    const out = await run(
      redis,
      Array.from({ length: n }, (_, i): Cmd => ['set', `batch:${i}`, String(i)]),
    );
    expect(out).toEqual(Array(n).fill('OK'));
    // One at a time, each SET waits for its own batch: n batches. Issued in runs of up to 64: a few.
    expect(writer.batches - before).toBeLessThan(n / 4);
    expect(await redis.mget('batch:0', 'batch:199')).toEqual(['0', '199']);
  });

  it('answer and store exactly what running them one at a time does (seeded random pipelines)', async () => {
    const base = BASE_SEED;
    for (const [name, c] of [
      ['1 node', single],
      ['3 nodes', three],
    ] as const) {
      const redis = client(c, 'n1');
      for (let round = 0; round < 6; round++) {
        const seed = base + round;
        const prefix = `r${name[0]}:${seed}:`;
        const { cmds, want } = randomPipeline(seed, 300, 12, prefix);
        const got = await run(redis, cmds);
        const ctx = `${name}, seed ${seed} (replay: EAU2_SEED=${base})`;
        expect(got.length, ctx).toBe(want.length);
        for (let i = 0; i < want.length; i++)
          if (typeof want[i] === 'string' && (want[i] as string).startsWith('ERR '))
            expect(got[i], `${ctx}, command ${i} ${cmds[i]!.join(' ')}`).toBe(want[i]);
          else expect(got[i], `${ctx}, command ${i} ${cmds[i]!.join(' ')}`).toEqual(want[i]);
        // The final values, read back through another connection, are the model's.
        const keys = Array.from({ length: 12 }, (_, i) => `${prefix}${i}`);
        const finals = await client(c, 'n1').mget(...keys);
        const model = new Map<string, string | null>();
        for (let i = 0; i < cmds.length; i++) {
          const [cmd, k] = cmds[i]!;
          if (cmd === 'get' || (typeof want[i] === 'string' && (want[i] as string).startsWith('ERR'))) continue;
          if (cmd === 'set' && cmds[i]!.length === 3) model.set(k!, cmds[i]![2]!);
          else if (cmd === 'set') {
            if (want[i] === 'OK') model.set(k!, 'nx-value');
          } else model.set(k!, String(want[i]));
        }
        expect(finals, ctx).toEqual(keys.map((k) => model.get(k) ?? null));
      }
    }
  });
});
