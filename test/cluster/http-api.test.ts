// The HTTP API on a live cluster: ordered listing (paged, both directions), Content-Type and
// Content-Encoding kept with values, binary keys, the seeds' JSON API; and above all bad input, which
// never takes a node down and never changes data. Malformed HTTP requests get a 4xx with a
// JSON {code, message}; malformed peer frames (random bytes, truncated frames, huge length prefixes,
// bodies of the wrong shape, stale epochs, unsolicited replication pushes) are refused. Before and
// after, every node's full copy is compared.

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRng } from '../engine/vfs/seeded-random.js';
import { FrameDecoder } from '../../cluster/protocol/frame-codec.js';
import { decodeMessage, encodeMessage, MsgType, type Message } from '../../cluster/protocol/messages.js';
import { dumpLocal, get, keyPath, put } from './support/http-helpers.js';
import { sleep, TestCluster } from './support/cluster-harness.js';

const PARTITIONS = 4;

async function snapshot(c: TestCluster): Promise<string> {
  const all = await Promise.all(c.nodes.map((n) => dumpLocal(n.url, PARTITIONS)));
  return JSON.stringify(all.map((m) => [...m].sort((a, b) => a[0] - b[0]).map(([p, kv]) => [p, [...kv].sort()])));
}

/** Opens a raw TCP connection, writes `bytes`, collects decoded replies until closed or `waitMs`. */
async function rawPeer(
  port: number,
  bytes: Uint8Array[],
  waitMs = 300,
): Promise<{ replies: Message[]; closedByServer: boolean }> {
  const replies: Message[] = [];
  const dec = new FrameDecoder(1 << 24);
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let closedByServer = false;
    s.on('data', (d) => dec.push(d, (b) => replies.push(decodeMessage(b))));
    s.on('error', () => {});
    s.on('close', () => {
      closedByServer = true;
    });
    s.on('connect', async () => {
      for (const b of bytes) {
        s.write(b);
        await sleep(5);
      }
      setTimeout(() => {
        const wasClosed = closedByServer;
        s.destroy();
        resolve({ replies, closedByServer: wasClosed });
      }, waitMs);
    });
  });
}

describe('HTTP API and bad input', () => {
  let c: TestCluster;
  let before: string;

  beforeAll(async () => {
    c = await TestCluster.start({
      nodes: 3,
      partitions: PARTITIONS,
      replicationFactor: 2,
      extra: { maxBodyBytes: 4096 },
    });
    for (let i = 0; i < 40; i++) expect((await put(c.nodes[i % 3]!.url, `k${i}`, `v${i}`, '?w=all')).status).toBe(204);
    before = await snapshot(c);
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('lists keys in order across partitions, page by page, forward and reverse', async () => {
    const all = Array.from({ length: 40 }, (_, i) => `k${i}`).sort();
    const u = c.nodes[2]!.url;
    const pages = async (reverse: boolean): Promise<string[]> => {
      const out: string[] = [];
      let bound = '';
      for (let guard = 0; guard < 20; guard++) {
        const r = await fetch(`${u}/kv?limit=7&prefix=k${reverse ? '&reverse=true' : ''}${bound}`);
        const j = (await r.json()) as { items: { key: string }[]; next?: string | null; nextEnd?: string | null };
        out.push(...j.items.map((x) => x.key));
        const more = reverse ? j.nextEnd : j.next;
        if (!more) return out;
        bound = reverse ? `&end=${more}` : `&start=${more}`;
      }
      throw new Error('too many pages');
    };
    expect(await pages(false)).toEqual(all);
    expect(await pages(true)).toEqual([...all].reverse());
  });

  it('answers malformed HTTP requests with a 4xx JSON error and changes nothing', async () => {
    const u = c.nodes[1]!.url;
    const cases: [string, string, RequestInit, number][] = [
      ['malformed JSON', '/', { method: 'PUT', body: '{bad' }, 400],
      ['bad hex key', '/', { method: 'PUT', body: JSON.stringify({ key: 'zz', value: 'x' }) }, 400],
      ['odd hex key', '/', { method: 'PUT', body: JSON.stringify({ key: 'abc', value: 'x' }) }, 400],
      ['missing value', '/', { method: 'PUT', body: JSON.stringify({ key: '6b31' }) }, 400],
      ['unknown field', '/', { method: 'PUT', body: JSON.stringify({ key: '6b31', value: 'x', extra: 1 }) }, 400],
      ['JSON array', '/', { method: 'PUT', body: '[1,2]' }, 400],
      ['empty raw key', '/', { method: 'POST', body: '' }, 400],
      ['w=0', '/kv/k1?w=0', { method: 'PUT', body: 'x' }, 400],
      ['w=abc', '/kv/k1?w=abc', { method: 'PUT', body: 'x' }, 400],
      ['w over replicas', '/kv/k1?w=3', { method: 'PUT', body: 'x' }, 400],
      ['unknown option', '/kv/k1?sync=1', { method: 'PUT', body: 'x' }, 400],
      ['repeated option', '/kv/k1?w=1&w=2', { method: 'PUT', body: 'x' }, 400],
      ['bad read mode', '/kv/k1?read=nearest', {}, 400],
      ['empty key', '/kv/', { method: 'PUT', body: 'x' }, 400],
      ['bad escape', '/kv/%ZZ', { method: 'PUT', body: 'x' }, 400],
      ['body over the limit', '/kv/k1', { method: 'PUT', body: 'x'.repeat(5000) }, 413],
      [
        'seed body over the limit',
        '/',
        { method: 'PUT', body: JSON.stringify({ key: '6b31', value: 'x'.repeat(5000) }) },
        413,
      ],
      ['method', '/kv/k1', { method: 'PATCH', body: 'x' }, 405],
      ['limit=0', '/kv?limit=0', {}, 400],
      ['limit=abc', '/kv?limit=abc', {}, 400],
      ['values=maybe', '/kv?values=maybe', {}, 400],
      ['no route', '/nope', {}, 404],
      ['healthz option', '/healthz?x=1', {}, 400],
    ];
    for (const [what, path, init, status] of cases) {
      const r = await fetch(u + path, init);
      expect(r.status, what).toBe(status);
      const j = (await r.json()) as { code?: unknown; message?: unknown };
      expect(typeof j.code, what).toBe('string');
      expect(typeof j.message, what).toBe('string');
    }
    // Bytes that are not HTTP at all.
    const raw = await new Promise<string>((resolve) => {
      const s = net.connect(c.nodes[1]!.port, '127.0.0.1', () => s.write('GARBAGE \x00\x01\r\n\r\n'));
      let out = '';
      s.on('data', (d) => (out += d.toString()));
      s.on('close', () => resolve(out));
      s.on('error', () => resolve(out));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400/);
    expect(await snapshot(c)).toBe(before);
  });

  it('refuses malformed peer frames and stays up with its data unchanged', async () => {
    const rng = seededRng();
    const r = (): number => rng.next();
    const port = c.nodes[0]!.peerPort;
    // Random bytes, many times.
    for (let i = 0; i < 20; i++) {
      const n = 1 + Math.floor(r() * 4096);
      await rawPeer(port, [Uint8Array.from({ length: n }, () => Math.floor(r() * 256))], 20);
    }
    // A truncated frame, then the connection ends.
    const full = encodeMessage(MsgType.TOPOLOGY, 1, 1, null);
    await rawPeer(port, [full.subarray(0, full.length - 2)], 50);
    // A huge length prefix: refused and the connection closed, nothing buffered.
    const huge = await rawPeer(port, [Uint8Array.of(0xff, 0xff, 0xff, 0xf0, 1, 2, 3)], 300);
    expect(huge.closedByServer).toBe(true);
    // A frame whose body is not msgpack, then a good request on the same connection: the framing
    // survives a bad body, so the good request is answered.
    const notMsgpack = Uint8Array.of(0, 0, 0, 2, 0xc1, 0xc1);
    const recovered = await rawPeer(port, [notMsgpack, encodeMessage(MsgType.TOPOLOGY, 9, 1, null)]);
    expect(recovered.replies.map((m) => [m.type, m.id])).toContainEqual([MsgType.REPLY, 9]);
    // Requests of the wrong shape, a stale partition epoch (n1 leads partition 0 at epoch 1; a
    // subscription for epoch 0 is refused), and a value without the stored-value header.
    const k = Buffer.from('k1');
    const bad = await rawPeer(port, [
      encodeMessage(MsgType.PUT, 11, 1, { k: 'not bytes', v: Uint8Array.of(0, 1) }),
      encodeMessage(MsgType.SUBSCRIBE, 12, 0, { p: 0, from: 0, node: 'n2', pe: 0, h: [] }),
      encodeMessage(MsgType.PUT, 13, 1, { k, v: Uint8Array.of(9, 9) }),
      encodeMessage(MsgType.BATCH, 14, 1, { p: 9999, ops: [] }),
      encodeMessage(MsgType.SCAN, 15, 1, { p: 0, lim: 'all' }),
      encodeMessage(MsgType.TASK, 16, 1, { name: 'no-such-task', payload: null }),
      encodeMessage(MsgType.ENTRIES, 0, 1, { p: 0, e: [[1, [[k, Uint8Array.of(0, 0x58)]]]] }),
      encodeMessage(MsgType.ACK, 0, 1, { p: 0, lsn: 1e9 }),
      encodeMessage(MsgType.RESYNC_BEGIN, 0, 1, { p: 0, lsn: 0 }),
    ]);
    const errors = new Map(
      bad.replies.filter((m) => m.type === MsgType.ERROR).map((m) => [m.id, (m.body as { code: string }).code]),
    );
    expect(errors.get(11)).toBe('PROTOCOL');
    expect(errors.get(12)).toBe('STALE_EPOCH');
    expect(errors.get(13)).toBe('PROTOCOL');
    expect(errors.get(14)).toBe('INVALID');
    expect(errors.get(15)).toBe('PROTOCOL');
    expect(errors.get(16)).toBe('NOT_FOUND');
    expect(bad.replies.filter((m) => m.type === MsgType.REPLY)).toEqual([]);
    for (const n of c.nodes) expect((await fetch(`${n.url}/healthz`)).status, n.id).toBe(200);
    expect(await snapshot(c)).toBe(before);
    const metrics = await (await fetch(`${c.nodes[0]!.url}/metrics`)).text();
    expect(metrics).toMatch(/eau2_peer_bad_frames_total\{[^}]*\} [1-9]/);
  });

  // Last: it writes, and the tests above compare the data with what beforeAll wrote.
  it("keeps Content-Type and Content-Encoding, reaches binary keys, and speaks the seeds' API", async () => {
    const [a, b, c3] = c.nodes.map((n) => n.url);
    const bin = Uint8Array.of(0xff, 0x00, 0x7b, 0x2f);
    const r = await put(a!, bin, Buffer.from('gzipped?'), '?w=all', {
      'content-type': 'text/plain; charset=utf-8',
      'content-encoding': 'identity',
    });
    expect(r.status).toBe(204);
    for (const u of [b!, c3!]) {
      const g = await get(u, bin);
      expect(g.status).toBe(200);
      expect(g.body).toBe('gzipped?');
      expect(g.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(g.headers.get('content-encoding')).toBe('identity');
    }
    const seeded = await fetch(`${b}/`, {
      method: 'PUT',
      body: JSON.stringify({ key: '736565642d6b6579', content_type: 'text/csv', encoding: 'utf-8', value: 'a,b\n1,2' }),
    });
    expect(seeded.status).toBe(200);
    const fetched = await fetch(`${c3}/`, { method: 'POST', body: 'seed-key' });
    expect(await fetched.json()).toEqual({
      'seed-key': { content_type: 'text/csv', encoding: 'utf-8', value: 'a,b\n1,2' },
    });
    const viaKv = await get(a!, 'seed-key');
    expect(viaKv.headers.get('content-type')).toBe('text/csv');
    expect((await fetch(`${a}/`, { method: 'POST', body: 'no-such-key' })).status).toBe(404);
    expect((await fetch(`${a}${keyPath('never-written')}`, { method: 'DELETE' })).status).toBe(204);
  });
});
