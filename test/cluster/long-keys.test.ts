// The documented key limit holds over HTTP: a 65,534-byte key, every byte percent-encoded in the
// path (196,602 characters), is stored and read back, on the node that leads it and through another
// node that forwards it; a request line past the header limit is a 431, not a dropped connection.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRng } from '../engine/vfs/seeded-random.js';
import { get, keyPath, put } from './support/http-helpers.js';
import { TestCluster } from './support/cluster-harness.js';

describe('keys up to the documented limit over HTTP', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await TestCluster.start({ nodes: 2, partitions: 4, replicationFactor: 2 });
  }, 60_000);
  afterAll(async () => {
    await c?.stop();
  });

  it('a 65,534-byte key round-trips through every node', async () => {
    const rng = seededRng(0x7e57);
    const key = rng.bytes(65_534);
    for (const n of c.nodes) {
      const value = `v-${n.id}`;
      const r = await put(n.url, key, value, '?w=all');
      expect(r.status, await r.text()).toBe(204);
      for (const m of c.nodes) {
        const g = await get(m.url, key, '?read=any');
        expect(g.status).toBe(200);
        expect(g.body).toBe(value);
      }
    }
  });

  it('a longer key is refused as INVALID; a request line past 256 KiB is 431 TOO_LARGE', async () => {
    const n = c.nodes[0]!;
    const r = await fetch(n.url + keyPath(new Uint8Array(65_535).fill(0x61)));
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ code: 'INVALID' });
    const huge = await fetch(`${n.url}/kv/${'a'.repeat(300_000)}`);
    expect(huge.status).toBe(431);
  });
});
