// A node's store lends values (Router.getWith, what a dataframe query task reads chunks through):
// this node's own copy straight from its engine, the block cache left as the caller asks; another
// node's copy over the wire; and a damaged table of its own read around from a replica, reported,
// never returned. An error thrown by the caller's `use` is the caller's, not a reason to read again.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../engine/index.js';
import { Eau2Error, ErrorCode, isEau2Error, partitionOf, utf8 } from '../../kv/index.js';
import { openEngine } from '../../cluster/node/open-engine.js';
import { Router, type RouterHost } from '../../cluster/node/router.js';
import { storedKey } from '../../cluster/node/stored-format.js';
import { wrapValue } from '../../cluster/protocol/stored-value.js';
import type { PeerPool } from '../../cluster/protocol/peer-pool.js';
import type { Topology } from '../../cluster/topology.js';
import { seededRng } from '../engine/vfs/seeded-random.js';

const root = mkdtempSync(join(tmpdir(), 'eau2-router-getwith-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PARTITIONS = 2;
// n1 leads partition 0 (n2 follows); n2 leads partition 1 (n3 follows): n1 holds no copy of it.
const topology: Topology = {
  epoch: 1,
  partitions: PARTITIONS,
  replicationFactor: 2,
  nodes: ['n1', 'n2', 'n3'].map((id, i) => ({ id, host: '127.0.0.1', port: 1 + i, peerPort: 11 + i, status: 'up' })),
  placement: [
    { partition: 0, leader: 'n1', followers: ['n2'], epoch: 1, isr: ['n1', 'n2'] },
    { partition: 1, leader: 'n2', followers: ['n3'], epoch: 1, isr: ['n2', 'n3'] },
  ],
};

/** Keys of partition p. */
function keysOf(p: number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (partitionOf(utf8(`k${i}`), PARTITIONS) === p) out.push(`k${i}`);
  return out;
}

/** A value of 100-300 KB (a dataframe row-chunk's size: a block of its own) whose bytes depend on i. */
function value(i: number, rng: ReturnType<typeof seededRng>): Uint8Array {
  const v = new Uint8Array(rng.int(100_000, 300_000));
  for (let j = 0; j < v.length; j++) v[j] = (i * 131 + j * 7) & 0xff;
  return v;
}

interface Setup {
  router: Router;
  engine: Engine;
  /** What the fake peers were asked: [node, key]. */
  asked: [string, string][];
  corruptions: number[];
  /** The value each peer answers with (another replica's copy). */
  remote: Map<string, Uint8Array>;
}

async function setup(dir: string, local: Map<string, Uint8Array>): Promise<Setup> {
  let engine: Engine;
  if (local.size > 0) {
    engine = (await openEngine(dir)) as unknown as Engine;
    for (const [k, v] of local) await engine.put(storedKey(0, utf8(k)), wrapValue(v));
    await engine.compactRange();
    await engine.close();
  }
  // Reopened: the block cache starts empty, the values are in tables.
  engine = (await openEngine(dir)) as unknown as Engine;
  const asked: [string, string][] = [];
  const corruptions: number[] = [];
  const remote = new Map<string, Uint8Array>();
  const pool = {
    request: async (node: string, _type: unknown, body: { k: Uint8Array }) => {
      const k = new TextDecoder().decode(body.k);
      asked.push([node, k]);
      const v = remote.get(k);
      return v === undefined ? null : wrapValue(v);
    },
  } as unknown as PeerPool;
  const host: RouterHost = {
    selfId: 'n1',
    engine: engine as never,
    pool,
    writeTimeoutMs: 1000,
    topology: () => topology,
    leaderOf: () => undefined,
    holds: (p) => p === 0,
    opening: () => false,
    onCorruption: (p) => corruptions.push(p),
  };
  return { router: new Router(host), engine, asked, corruptions, remote };
}

const copy = (v: Uint8Array): Uint8Array => Uint8Array.from(v);
/** Byte equality (vitest's toEqual walks a 300 KB array element by element, slowly). */
const same = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a !== undefined && b !== undefined && Buffer.compare(a, b) === 0;

describe('Router.getWith (a node store that lends values)', () => {
  it("lends this node's copies without filling the block cache, and reads others' over the wire", async () => {
    const rng = seededRng();
    const mine = keysOf(0, 13);
    const absent = mine.pop()!;
    const local = new Map(mine.map((k, i) => [k, value(i, rng)]));
    const s = await setup(join(root, 'lend'), local);
    try {
      const store = s.router.store({ get: 'any', scan: 'local', w: 'all' });
      // Several values read before any is checked: each `use` copies, so none sees another's bytes.
      const got = await Promise.all(
        mine.map((k) => store.getWith!(k, copy, { fillCache: false, read: 'leader-first' })),
      );
      got.forEach((v, i) => expect(same(v, local.get(mine[i]!)), mine[i]).toBe(true));
      expect(s.engine.stats().blockCache.entries).toBe(0);
      expect(s.asked).toEqual([]);
      // Without fillCache false the blocks are cached as by get().
      expect(same(await store.getWith!(mine[0]!, copy), local.get(mine[0]!))).toBe(true);
      expect(s.engine.stats().blockCache.entries).toBe(1);
      // A missing key: undefined, `use` not called.
      let called = false;
      expect(await store.getWith!(absent, () => (called = true))).toBeUndefined();
      expect(called).toBe(false);
      // A key of a partition this node holds no copy of is asked of its holders.
      const theirs = keysOf(1, 1)[0]!;
      s.remote.set(theirs, Uint8Array.of(1, 2, 3));
      expect(await store.getWith!(theirs, copy, { fillCache: false })).toEqual(Uint8Array.of(1, 2, 3));
      expect(s.asked.map(([, k]) => k)).toEqual([theirs]);
    } finally {
      await s.engine.close();
    }
  });

  it('reads a damaged block of its own from a replica and reports it; an error of `use` is not retried', async () => {
    const rng = seededRng();
    const mine = keysOf(0, 6);
    const local = new Map(mine.map((k, i) => [k, value(i, rng)]));
    const dir = join(root, 'damaged');
    // Damage one byte inside the first data block of the first table (one value's block).
    const s0 = await setup(dir, local);
    await s0.engine.close();
    const table = readdirSync(dir)
      .filter((f) => f.endsWith('.sst'))
      .sort()[0]!;
    const path = join(dir, table);
    const bytes = readFileSync(path);
    bytes[5_000]! ^= 0x20;
    writeFileSync(path, bytes);
    const s = await setup(dir, new Map());
    try {
      const store = s.router.store({ get: 'any', scan: 'local', w: 'all' });
      // The damaged value is the one the engine refuses (CORRUPTION, never data): exactly one.
      const refused: string[] = [];
      for (const k of mine) {
        try {
          await s.engine.get(storedKey(0, utf8(k)), { fillCache: false });
        } catch (e) {
          expect(isEau2Error(e, ErrorCode.CORRUPTION), String(e)).toBe(true);
          refused.push(k);
        }
      }
      expect(refused.length).toBe(1);
      const damaged = refused[0]!;
      s.remote.set(damaged, local.get(damaged)!);
      // The engine refuses the block (CORRUPTION); the router reads the leader... which is this node,
      // so the follower's copy: the right value, and the damage reported for repair.
      expect(same(await store.getWith!(damaged, copy, { fillCache: false }), local.get(damaged))).toBe(true);
      expect(s.corruptions).toEqual([0]);
      expect(s.asked).toEqual([['n2', damaged]]);
      // The other values are read from this node's copy.
      const others = mine.filter((k) => k !== damaged);
      for (const k of others)
        expect(same(await store.getWith!(k, copy, { fillCache: false }), local.get(k)), k).toBe(true);
      expect(s.asked.length).toBe(1);
      // `use` failing (a chunk that does not decode) fails the read once, without another read.
      const bad = new Eau2Error(ErrorCode.CORRUPTION, 'bad chunk');
      let calls = 0;
      await expect(
        store.getWith!(others[0]!, () => {
          calls++;
          throw bad;
        }),
      ).rejects.toBe(bad);
      expect(calls).toBe(1);
      expect(s.asked.length).toBe(1);
      expect(s.corruptions).toEqual([0]);
      // get() still returns the same value (a copy of its own).
      expect(same(await store.get(others[1]!), local.get(others[1]!))).toBe(true);
    } finally {
      await s.engine.close();
    }
  });
});
