// Link faults a node must get over by itself (issue 14), on one 3-node cluster with a LinkProxy.
//
// Half-open peer connections (item 3): every connection open between n1 and n2 loses one
// end (LinkProxy.halfOpen): n1 sees it close, n2 keeps a socket that stays open and silent. New
// connections work. Without heartbeats n2 never noticed: its replication stream from n1 stayed
// silent (its copy fell behind for good) and writes it forwarded to n1 waited out their timeout.
// With them, n2 closes the silent connections after peerSilenceTimeoutMs and opens new ones: its
// copy catches up and forwarded writes succeed again within seconds. Failover is set far off
// (60 s) so that no election hides whether the connections healed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../kv/index.js';
import { ClusterClient } from '../../cluster/index.js';
import { ChaosCluster } from './chaos-cluster.js';

const PARTITIONS = 4;
let c: ChaosCluster;

beforeAll(async () => {
  c = await ChaosCluster.start({
    nodes: 3,
    partitions: PARTITIONS,
    replicationFactor: 3,
    failoverTimeoutMs: 60_000,
    writeTimeoutMs: 2000,
    extra: { peerHeartbeatMs: 200, peerSilenceTimeoutMs: 1500 },
  });
}, 120_000);

afterAll(async () => {
  await c?.stop();
});

async function leaders(): Promise<string[]> {
  const r = await fetch(`${c.node('n1').url}/cluster`);
  const body = (await r.json()) as { partitions: { partition: number; leader: string }[] };
  return body.partitions.map((p) => p.leader);
}

/** A key of a partition led by `leader`, distinct per `tag`. */
function keyLedBy(led: string[], leader: string, tag: string): string {
  for (let i = 0; i < 10_000; i++) {
    const k = `${tag}-${i}`;
    if (led[partitionOf(new TextEncoder().encode(k), PARTITIONS)] === leader) return k;
  }
  throw new Error(`no key led by ${leader}`);
}

async function putFull(
  node: string,
  key: string,
  value: string,
  w: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; code?: string }> {
  const r = await fetch(`${c.node(node).url}/kv/${key}?w=${w}`, {
    method: 'PUT',
    body: value,
    headers,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await r.text();
  return { status: r.status, code: text ? (JSON.parse(text) as { code?: string }).code : undefined };
}

async function put(node: string, key: string, value: string, w: string): Promise<number> {
  return (await putFull(node, key, value, w)).status;
}

async function getLocal(node: string, key: string): Promise<string | undefined> {
  const r = await fetch(`${c.node(node).url}/kv/${key}?read=local`, { signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  return r.status === 200 ? text : undefined;
}

async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('half-open peer connections', () => {
  it('are closed when silent and reopened: replication and forwarded writes heal within seconds', async () => {
    const led = await leaders();
    expect(led).toContain('n1');
    const before = keyLedBy(led, 'n1', 'before');
    // Every connection between n1 and n2 is in use (replication, heartbeats, a forwarded write).
    await until('a w=all write through n2', async () => (await put('n2', before, 'b', 'all')) === 204, 20_000);
    await until('n2 holds the write', async () => (await getLocal('n2', before)) === 'b', 10_000);

    const broken = c.proxy.halfOpen('n2', 'n1');
    expect(broken).toBeGreaterThanOrEqual(2); // n2's replication link and its pool connection, at least

    // Written on n1 (w=1: n1 may have shrunk its in-sync set meanwhile); n2 must get it by itself.
    const after = keyLedBy(led, 'n1', 'after');
    expect(await put('n1', after, 'a', '1')).toBe(204);
    await until(
      'n2 catches up on n1 after the half-open cut',
      async () => (await getLocal('n2', after)) === 'a',
      12_000,
    );

    // A write n2 forwards to n1 succeeds again (over a new connection).
    const fwd = keyLedBy(led, 'n1', 'fwd');
    await until('a write forwarded by n2 to n1', async () => (await put('n2', fwd, 'f', '1')) === 204, 12_000);
    expect(await getLocal('n1', fwd)).toBe('f');
  }, 120_000);
});

// Ambiguous answers (item 5): n2 forwards a write to n1, n1 applies it, and its answer never comes
// back (n1 -> n2 cut). n2 used to answer 503 UNAVAILABLE "peer connection closed", which reads as
// "not applied", though it was. Now: 504 UNKNOWN_OUTCOME. Retried with the same Idempotency-Key
// after another client wrote the key again, the leader answers from memory instead of applying the
// old value a second time over the newer one.
describe('a write whose answer is lost', () => {
  it('fails with UNKNOWN_OUTCOME, and its retry with the same request id is not applied twice', async () => {
    c.healNetwork();
    const led = await leaders();
    const key = keyLedBy(led, 'n1', 'ambiguous');
    await until('forwarding through n2 works', async () => (await put('n2', key, 'warm', '1')) === 204, 20_000);
    c.proxy.cut('n1', 'n2');
    const first = await putFull('n2', key, 'old', '1', { 'idempotency-key': 'req-1' });
    expect(first).toEqual({ status: 504, code: 'UNKNOWN_OUTCOME' });
    expect(await getLocal('n1', key)).toBe('old'); // it was applied: the answer was right not to say "no"
    c.healNetwork();
    expect(await put('n1', key, 'new', '1')).toBe(204); // another client's later write
    let retry: { status: number; code?: string } | undefined;
    await until(
      'the retry through n2 is answered',
      async () => (retry = await putFull('n2', key, 'old', '1', { 'idempotency-key': 'req-1' })).status === 204,
      20_000,
    );
    expect(retry!.status).toBe(204);
    expect(await getLocal('n1', key)).toBe('new');
  }, 120_000);

  it('fails with UNKNOWN_OUTCOME for a read-modify-write too (an increment forwarded by n2)', async () => {
    c.healNetwork();
    const led = await leaders();
    const key = keyLedBy(led, 'n1', 'ambiguous-incr');
    const incr = async (node: string): Promise<{ status: number; code?: string }> => {
      const r = await fetch(`${c.node(node).url}/kv/${key}?incr=1&w=1`, {
        method: 'POST',
        signal: AbortSignal.timeout(15_000),
      });
      const body = (await r.json()) as { code?: string };
      return { status: r.status, code: body.code };
    };
    await until('an increment forwarded through n2 works', async () => (await incr('n2')).status === 200, 20_000);
    c.proxy.cut('n1', 'n2');
    expect(await incr('n2')).toEqual({ status: 504, code: 'UNKNOWN_OUTCOME' });
    expect(await getLocal('n1', key)).toBe('2'); // applied: "unknown" was the truthful answer
    c.healNetwork();
  }, 120_000);
});

// Slow replicas (item 4): with n3 paused (SIGSTOP), reads a client sends to a replica used to wait
// for the request's whole timeout when they chose n3 (10 s by default; 30 s here, with the
// connections' silence timeout off so that only hedging can end the wait). Now each read asks
// another replica once n3 misses its hedge delay (at most replicaReadTimeoutMs, 1 s), and n3 is
// asked last for a while. Every read must answer with the value written, each well within 10 s.
describe('a paused replica', () => {
  it('does not hold up reads: they hedge to another replica', async () => {
    c.healNetwork();
    const keys = Array.from({ length: 12 }, (_, i) => `slow-${i}`);
    for (const k of keys) await until(`write ${k}`, async () => (await put('n1', k, `v-${k}`, 'all')) === 204, 20_000);
    const client = await ClusterClient.connect([c.node('n1').url], {
      read: 'follower',
      timeoutMs: 30_000,
      retryMs: 60_000,
      silenceTimeoutMs: 0,
    });
    try {
      c.pause('n3');
      for (const k of keys) {
        const t0 = Date.now();
        const v = await client.get(k);
        expect(v && new TextDecoder().decode(v), k).toBe(`v-${k}`);
        expect(Date.now() - t0, `read of ${k} waited for the paused replica`).toBeLessThan(10_000);
      }
    } finally {
      c.resume('n3');
      await client.close();
    }
  }, 180_000);
});
