// The RESP port's metrics in GET /metrics: commands by name, error replies by kind, connections,
// bytes in and out, protocol errors and the reply-buffer limits (soft pause, hard close, stall
// close), counted as the traffic below makes them; the exposition passes `promtool check metrics`
// (Debian's `prometheus`, which .ci/run installs).

import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RespCluster } from './resp-support.js';

/** The value of the one sample of `name` whose labels include every `labels` pair (0 when absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const found = [...text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))].filter((m) =>
    Object.entries(labels).every(([k, v]) => (m[1] ?? '').split(',').includes(`${k}="${v}"`)),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return found.length === 0 ? 0 : Number(found[0]![2]);
}

/** Sends `bytes` on a fresh connection that never reads; resolves once the server closed it. */
async function neverRead(port: number, bytes: string, closed: () => boolean, what: string): Promise<void> {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  try {
    await new Promise<void>((resolve) => s.on('connect', resolve));
    s.pause();
    s.write(bytes);
    const end = Date.now() + 30_000;
    while (!closed()) {
      if (Date.now() > end) throw new Error(`the server did not close the connection (${what})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    s.destroy();
  }
}

describe('RESP metrics', () => {
  let c: RespCluster;
  let redis: Redis;
  let url: string;
  const scrape = async () => (await fetch(`${url}/metrics`)).text();

  beforeAll(async () => {
    c = await RespCluster.start({
      nodes: 1,
      replicationFactor: 1,
      limits: { replyBufferSoftBytes: 64 * 1024, replyBufferHardBytes: 8 << 20, replyStallMs: 300 },
    });
    url = `http://127.0.0.1:${c.config.nodes[0]!.port}`;
    redis = new Redis({ port: c.respPort('n1'), host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
  });
  afterAll(async () => {
    redis?.disconnect();
    await c?.close();
  });

  it('counts commands by name and error replies by kind, and passes promtool', async () => {
    const before = await scrape();
    for (let i = 0; i < 7; i++) await redis.set(`m:${i}`, `v${i}`);
    for (let i = 0; i < 5; i++) await redis.get(`m:${i}`);
    await expect(redis.call('NOSUCHCOMMAND', 'x')).rejects.toThrow('ERR unknown command');
    await expect(redis.incr('m:0')).rejects.toThrow('ERR value is not an integer');
    await expect(redis.call('AUTH', 'token')).rejects.toThrow('ERR AUTH');
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(delta('eau2_resp_commands_total', { command: 'set' })).toBe(7);
    expect(delta('eau2_resp_commands_total', { command: 'get' })).toBe(5);
    expect(delta('eau2_resp_commands_total', { command: 'incr' })).toBe(1);
    expect(delta('eau2_resp_commands_total', { command: 'unknown' })).toBe(1);
    expect(delta('eau2_resp_errors_total', { kind: 'ERR' })).toBe(3);
    // Requests and replies as sent: 7 x "+OK\r\n" and 5 x "$2\r\nvN\r\n" at least.
    expect(delta('eau2_resp_sent_bytes_total')).toBeGreaterThanOrEqual(7 * 5 + 5 * 8);
    expect(delta('eau2_resp_received_bytes_total')).toBeGreaterThan(7 * 20);
    expect(sample(after, 'eau2_resp_connections')).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'eau2_resp_connections_total')).toBeGreaterThanOrEqual(1);
    expect(sample(after, 'eau2_resp_rejected_connections_total')).toBe(0);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: after, encoding: 'utf8' });
    expect(r.error, 'promtool not found: apt-get install prometheus').toBeUndefined();
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });

  it('counts protocol errors and the reply-buffer limits a connection ran into', async () => {
    const ctx = c.resp.get('n1')!.ctx;
    const before = await scrape();
    // Malformed input: answered with a protocol error, then closed.
    const closedBy = (f: () => number, was: number) => () => f() > was;
    await neverRead(
      c.respPort('n1'),
      '*1\r\n$x\r\n',
      closedBy(() => ctx.stats.protocolErrors, 0),
      'protocol',
    );
    // One reply (24 MiB) larger than the hard limit and what the kernel's socket buffers take: closed.
    await redis.set('huge', 'h'.repeat(1 << 20));
    await neverRead(
      c.respPort('n1'),
      `*25\r\n$4\r\nMGET\r\n${'$4\r\nhuge\r\n'.repeat(24)}`,
      closedBy(() => ctx.stats.replyHardLimitCloses, 0),
      'hard',
    );
    // Replies piling up over the soft limit, one at a time (GETEX runs alone, unlike GET), so under
    // the hard one: paused, then closed for stalling.
    await redis.set('big', 'b'.repeat(200 * 1024));
    await neverRead(
      c.respPort('n1'),
      '*2\r\n$5\r\nGETEX\r\n$3\r\nbig\r\n'.repeat(100),
      closedBy(() => ctx.stats.replyStallCloses, 0),
      'stall',
    );
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(delta('eau2_resp_protocol_errors_total')).toBe(1);
    expect(delta('eau2_resp_reply_buffer_limit_total', { limit: 'hard' })).toBe(1);
    expect(delta('eau2_resp_reply_buffer_limit_total', { limit: 'stall' })).toBe(1);
    expect(delta('eau2_resp_reply_buffer_limit_total', { limit: 'soft' })).toBeGreaterThanOrEqual(1);
    // The node goes on serving.
    expect(await redis.strlen('big')).toBe(200 * 1024);
  });
});
