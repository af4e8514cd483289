// Read-modify-write at the partition leader (cluster/node/rmw.ts) through the HTTP API, on three
// in-process nodes with real engines: counters incremented concurrently through every node lose no
// increment; ETags change with every write (the same value written twice included) and make
// If-Match / If-None-Match writes conditional; a `ttl` is turned into an expiry by the leader and
// replicated as data, so every replica hides the value once it passes, after a restart and after
// compaction too; bad conditions and TTLs are refused and change nothing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeServer, parseConfig, type ClusterConfig } from '../../cluster/index.js';
import { createLogger } from '../../cluster/log.js';
import { openEngine } from '../../cluster/node/open-engine.js';
import { storedKey } from '../../cluster/node/stored-format.js';
import { unwrapValue } from '../../cluster/protocol/stored-value.js';
import { partitionOf } from '../../kv/index.js';
import type { Engine } from '../../engine/index.js';
import { eventually, freePorts, sleep } from './support/cluster-harness.js';
import { get, keyPath, put } from './support/http-helpers.js';

describe('read-modify-write over HTTP', () => {
  let dir: string;
  let config: ClusterConfig;
  const nodes = new Map<string, NodeServer>();
  const url = (id: string) => `http://127.0.0.1:${nodes.get(id)!.self.port}`;
  const ids = ['n1', 'n2', 'n3'];

  async function startNode(id: string): Promise<void> {
    nodes.set(
      id,
      await NodeServer.start({ config, nodeId: id, openEngine, logger: createLogger({ level: 'silent' }) }),
    );
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eau2-rmw-'));
    const p = await freePorts(6);
    config = parseConfig({
      partitions: 4,
      replicationFactor: 3,
      nodes: ids.map((id, i) => ({ id, port: p[2 * i], peerPort: p[2 * i + 1], dataDir: join(dir, id) })),
    });
    await Promise.all(ids.map(startNode));
  });

  afterAll(async () => {
    await Promise.all([...nodes.values()].map((n) => n.close().catch(() => {})));
    rmSync(dir, { recursive: true, force: true });
  });

  /** The stored envelope of `key` in node `id`'s own engine (no expiry check by the caller). */
  function localStored(id: string, key: string): Uint8Array | undefined {
    const p = partitionOf(Buffer.from(key), config.partitions);
    return (nodes.get(id)!.engine as unknown as Engine).getSync(storedKey(p, Buffer.from(key)));
  }

  it('concurrent increments through every node lose nothing', async () => {
    const incr = (id: string, by = 1) =>
      fetch(`${url(id)}${keyPath('counter')}?incr=${by}&w=all`, { method: 'POST' }).then(async (r) => {
        expect(r.status).toBe(200);
        return ((await r.json()) as { value: string }).value;
      });
    const results = await Promise.all(Array.from({ length: 90 }, (_, i) => incr(ids[i % 3]!)));
    // Each increment saw a distinct value: serialized at the leader.
    expect(new Set(results).size).toBe(90);
    expect((await get(url('n2'), 'counter')).body).toBe('90');
    expect(await incr('n3', -100)).toBe('-10');
    for (const id of ids) expect(Buffer.from(unwrapValue(localStored(id, 'counter')!).value).toString()).toBe('-10');
    await put(url('n1'), 'text', 'abc');
    const r = await fetch(`${url('n1')}${keyPath('text')}?incr=1`, { method: 'POST' });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { message: string }).message).toBe('value is not an integer or out of range');
    expect((await get(url('n1'), 'text')).body).toBe('abc');
    for (const bad of ['x', '1.5', '99999999999999999999'])
      expect((await fetch(`${url('n1')}${keyPath('counter')}?incr=${bad}`, { method: 'POST' })).status).toBe(400);
    expect((await get(url('n1'), 'counter')).body).toBe('-10');
  });

  it('ETags change on every write and make writes conditional', async () => {
    expect((await put(url('n1'), 'doc', 'v1')).status).toBe(204);
    const a = (await get(url('n2'), 'doc')).headers.get('etag');
    expect(a).toMatch(/^"[^"]+"$/);
    expect((await get(url('n3'), 'doc')).headers.get('etag')).toBe(a); // the leader's version, from any node
    expect((await put(url('n1'), 'doc', 'v1')).status).toBe(204); // the same value again
    const b = (await get(url('n1'), 'doc')).headers.get('etag');
    expect(b).not.toBe(a);
    // If-Match with the old version: 412, nothing written; with the current one: written.
    const stale = await put(url('n3'), 'doc', 'v2', '', { 'if-match': a! });
    expect(stale.status).toBe(412);
    expect(((await stale.json()) as { code: string }).code).toBe('PRECONDITION');
    expect((await get(url('n1'), 'doc')).body).toBe('v1');
    expect((await put(url('n3'), 'doc', 'v2', '', { 'if-match': b! })).status).toBe(204);
    expect((await get(url('n1'), 'doc')).body).toBe('v2');
    // If-None-Match: * creates only.
    expect((await put(url('n2'), 'doc', 'v3', '', { 'if-none-match': '*' })).status).toBe(412);
    expect((await put(url('n2'), 'fresh', 'f', '', { 'if-none-match': '*' })).status).toBe(204);
    expect((await put(url('n2'), 'fresh', 'g', '', { 'if-none-match': '*' })).status).toBe(412);
    expect((await get(url('n2'), 'fresh')).body).toBe('f');
    // If-Match: * needs the key to exist; DELETE with If-Match.
    expect((await put(url('n1'), 'absent', 'x', '', { 'if-match': '*' })).status).toBe(412);
    expect((await get(url('n1'), 'absent')).status).toBe(404);
    const c = (await get(url('n1'), 'doc')).headers.get('etag')!;
    expect((await fetch(url('n2') + keyPath('doc'), { method: 'DELETE', headers: { 'if-match': b! } })).status).toBe(
      412,
    );
    expect((await fetch(url('n2') + keyPath('doc'), { method: 'DELETE', headers: { 'if-match': c } })).status).toBe(
      204,
    );
    expect((await get(url('n1'), 'doc')).status).toBe(404);
    // A content type survives a conditional write.
    await put(url('n1'), 'typed', '{}', '', { 'content-type': 'application/json', 'if-none-match': '*' });
    expect((await get(url('n3'), 'typed')).headers.get('content-type')).toBe('application/json');
  });

  it('a ttl expires the value on every replica, after restart and compaction too', async () => {
    expect((await put(url('n2'), 'short', 's', '?ttl=0.4&w=all')).status).toBe(204);
    expect((await put(url('n2'), 'long', 'l', '?ttl=3600&w=all')).status).toBe(204);
    expect((await put(url('n2'), 'plain', 'p', '?w=all')).status).toBe(204);
    // The expiry is data: the same instant on every replica, ~1 hour after the leader's now.
    const at = ids.map((id) => unwrapValue(localStored(id, 'long')!).expiresAt!);
    expect(new Set(at).size).toBe(1);
    expect(Math.abs(at[0]! - Date.now() - 3_600_000)).toBeLessThan(60_000);
    expect(unwrapValue(localStored('n1', 'plain')!).expiresAt).toBeUndefined();
    await sleep(450);
    expect(await eventually(async () => (await get(url('n1'), 'short')).status === 404)).toBe(true);
    for (const id of ids) {
      expect(localStored(id, 'short')).toBeUndefined();
      expect((await get(url(id), 'short', '?read=local')).status).toBe(404);
      const list = (await (await fetch(`${url(id)}/kv?read=local&limit=1000`)).json()) as { items: { key: string }[] };
      const keys = list.items.map((i) => i.key);
      expect(keys).not.toContain('short');
      expect(keys).toContain('long');
    }
    // A restart (WAL replay) and a full compaction on every node: still gone, the rest intact.
    for (const id of ids) {
      await nodes.get(id)!.close();
      await startNode(id);
      await (nodes.get(id)!.engine as unknown as Engine).compactRange();
    }
    for (const id of ids) {
      expect(localStored(id, 'short')).toBeUndefined();
      expect((await get(url(id), 'long', '?read=local')).body).toBe('l');
      expect(unwrapValue(localStored(id, 'long')!).expiresAt).toBe(at[0]);
    }
    expect((await get(url('n3'), 'plain')).body).toBe('p');
  });

  it('bad ttl values and conditions are refused and change nothing', async () => {
    await put(url('n1'), 'keep', 'k');
    for (const q of ['?ttl=0', '?ttl=-1', '?ttl=abc', '?ttl=1.2345', '?ttl=99999999999'])
      expect((await put(url('n1'), 'keep', 'changed', q)).status).toBe(400);
    expect((await fetch(`${url('n1')}${keyPath('keep')}?ttl=5`, { method: 'DELETE' })).status).toBe(400);
    expect((await put(url('n1'), 'keep', 'changed', '', { 'if-match': 'x'.repeat(2000) })).status).toBe(400);
    expect((await fetch(`${url('n1')}${keyPath('keep')}`, { method: 'POST' })).status).toBe(400);
    expect((await get(url('n1'), 'keep')).body).toBe('k');
  });
});
