// HTTP keep-alive between a node and fetch (undici) under load. The node advertises
// `Keep-Alive: timeout=5` and undici stops reusing an idle connection 2 s before that; when the
// node's process is stalled for longer than those 2 s (a loaded machine) while a request is on its
// way, the node's idle timer used to fire before it read the request, so it closed the connection
// under the request and fetch failed with "other side closed" (the flaky replication suite). A
// stall is made here with SIGSTOP/SIGCONT.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, TestCluster } from './support/cluster-harness.js';

describe('keep-alive connections of a stalled node', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await TestCluster.start({ nodes: 1, partitions: 2, replicationFactor: 1 });
  });
  afterAll(async () => {
    c.procs.get('n1')?.kill('SIGCONT');
    await c.stop();
  });

  it('answers a request sent on an idle connection just before its advertised timeout, however late it reads it', async () => {
    const url = c.node('n1').url;
    const first = await fetch(`${url}/healthz`);
    expect(first.headers.get('keep-alive')).toBe('timeout=5');
    await first.text();
    // The connection is idle on both sides; undici reuses it for 3 s.
    await sleep(1500);
    const proc = c.procs.get('n1')!;
    proc.kill('SIGSTOP');
    try {
      const reply = fetch(`${url}/kv/ka-probe`, { method: 'DELETE' });
      // The node wakes up past its 5 s idle deadline with the request waiting in its socket.
      await sleep(5000);
      proc.kill('SIGCONT');
      expect((await reply).status).toBe(204);
    } finally {
      proc.kill('SIGCONT');
    }
  });
});
