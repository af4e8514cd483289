// The dataframe layer's keys live in eau2's reserved namespace (first byte 0x00, docs/format.md 7.4):
// user keys written over HTTP cannot land among a frame's records, nor break listings; the HTTP API
// refuses to write or delete reserved keys; and frames stored under layout version 1 (no 0x00
// byte) are moved at first use, leaving users' keys under the old prefixes alone.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../cluster/index.js';
import { DataFrame } from '../../dataframe/index.js';
import { ensureLayout } from '../../dataframe/layout-migration.js';
import { fromUtf8, utf8 } from '../../kv/index.js';
import { TestCluster } from '../cluster/support/cluster-harness.js';
import { MemoryStore } from '../support/memory-store.js';
import { randomFrame, rowsOf, seededRng } from './helpers.js';

async function keys(store: MemoryStore): Promise<string[]> {
  const out: string[] = [];
  for await (const [k] of store.scan()) out.push(fromUtf8(k));
  return out;
}

describe('layout version 1 -> 2', () => {
  it('moves version-1 frames into the reserved namespace and leaves user keys alone', async () => {
    const rng = seededRng();
    const current = new MemoryStore();
    const a = randomFrame(rng, 300);
    const b = randomFrame(rng, 70);
    await DataFrame.put(current, 'a', a, { chunkRows: 64 });
    await DataFrame.put(current, 'b', b, { chunkRows: 64 });
    // The same frames as version 1 wrote them: the keys without their 0x00 byte.
    const old = new MemoryStore();
    for await (const [k, v] of current.scan()) {
      expect(k[0]).toBe(0);
      await old.put(k.subarray(1), v);
    }
    // What users could write under version 1 among them.
    await old.put('df/m/evil', 'hello');
    await old.put('df/c/{a/x}/1', 'mine');
    await old.put('user:1', 'one');
    expect(await ensureLayout(old)).toBe(2);
    expect((await DataFrame.list(old)).map((f) => f.name)).toEqual(['a', 'b']);
    expect(rowsOf(await (await DataFrame.get(old, 'a')).load())).toEqual(rowsOf(a));
    expect(rowsOf(await (await DataFrame.get(old, 'b')).load())).toEqual(rowsOf(b));
    const left = (await keys(old)).filter((k) => !k.startsWith('\u0000'));
    expect(left.sort()).toEqual(['df/c/{a/x}/1', 'df/m/evil', 'user:1']);
    expect((await keys(old)).filter((k) => k.startsWith('\u0000')).sort()).toEqual((await keys(current)).sort());
    // Again (another process): nothing left to move.
    expect(await ensureLayout(new Proxy(old, {}))).toBe(0);
  });
});

describe('reserved keys over HTTP', () => {
  let c: TestCluster;
  let client: ClusterClient;
  beforeAll(async () => {
    c = await TestCluster.start({ nodes: 2, partitions: 4, replicationFactor: 2 });
    client = await ClusterClient.connect([c.nodes[0]!.url]);
    await DataFrame.put(client, 'm', DataFrame.fromColumns({ x: Float64Array.from([1, 2, 3]) }));
  });
  afterAll(async () => {
    await client?.close();
    await c?.stop();
  });

  it('keeps user keys that look like frame records away from the frames', async () => {
    const url = c.nodes[1]!.url;
    for (const k of ['df%2Fm%2Fevil', 'df/m/m', 'df/c/%7Bm/0000000001-00000000/00000000%7D/0000'])
      expect((await fetch(`${url}/kv/${k}`, { method: 'PUT', body: 'hello' })).status, k).toBe(204);
    const list = await fetch(`${url}/df`);
    expect(list.status).toBe(200);
    expect(((await list.json()) as { frames: { name: string }[] }).frames.map((f) => f.name)).toEqual(['m']);
    const rows = await fetch(`${url}/df/m/rows`);
    expect(rows.status).toBe(200);
    expect((await DataFrame.list(client)).map((f) => f.name)).toEqual(['m']);
    expect(fromUtf8((await client.get('df/m/m'))!)).toBe('hello');
  });

  it('refuses to write or delete a reserved key, and changes nothing', async () => {
    const url = c.nodes[0]!.url;
    const meta = '%00df%2Fm%2Fm';
    const before = await fetch(`${url}/kv/${meta}`);
    expect(before.status).toBe(200);
    const stored = Buffer.from(await before.arrayBuffer());
    for (const [method, path, body] of [
      ['PUT', `/kv/${meta}`, 'x'],
      ['DELETE', `/kv/${meta}`, undefined],
      ['PUT', '/kv/%00anything', 'x'],
      ['PUT', '/', JSON.stringify({ key: '0064662f6d2f6d', value: 'x' })],
    ] as const) {
      const r = await fetch(url + path, { method, ...(body === undefined ? {} : { body }) });
      expect(r.status, `${method} ${path}`).toBe(400);
      expect(((await r.json()) as { message: string }).message).toMatch(/reserved/);
    }
    expect(Buffer.from((await client.get(utf8('\u0000df/m/m')))!)).toEqual(stored);
    expect((await fetch(`${url}/kv/%00anything`)).status).toBe(404);
    expect((await DataFrame.get(client, 'm')).nrows).toBe(3);
  });
});
