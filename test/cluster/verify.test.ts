// Replica verification (GET /cluster/verify): identical replicas are reported identical, also while
// writes go on (summaries are compared at one LSN); a replica changed behind replication's back is
// reported with the token range and the keys that differ, down through several levels of the hash
// tree when a range holds many keys. Nodes run in this process so a test can write into one node's
// engine directly.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient, NodeServer, parseConfig, type ClusterConfig } from '../../cluster/index.js';
import { createLogger } from '../../cluster/log.js';
import { openEngine } from '../../cluster/node/open-engine.js';
import { storedKey } from '../../cluster/node/stored-format.js';
import { wrapValue } from '../../cluster/protocol/stored-value.js';
import { verifyCluster, type VerifyReport } from '../../cluster/node/verify-compare.js';
import { tokenOf } from '../../cluster/node/verify.js';
import { partitionOf } from '../../kv/index.js';
import { CLI, freePorts, REPO } from './support/cluster-harness.js';

const PARTITIONS = 6;
let dir: string;
let config: ClusterConfig;
const nodes = new Map<string, NodeServer>();
let client: ClusterClient;
let url: string;

async function verify(q = ''): Promise<VerifyReport> {
  const r = await fetch(`${url}/cluster/verify${q}`);
  expect(r.status).toBe(200);
  return (await r.json()) as VerifyReport;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eau2-verify-'));
  const p = await freePorts(6);
  config = parseConfig({
    partitions: PARTITIONS,
    replicationFactor: 2,
    nodes: [0, 1, 2].map((i) => ({
      id: `n${i + 1}`,
      port: p[2 * i],
      peerPort: p[2 * i + 1],
      dataDir: join(dir, `n${i + 1}`),
    })),
  });
  for (const id of ['n1', 'n2', 'n3'])
    nodes.set(
      id,
      await NodeServer.start({ config, nodeId: id, openEngine, logger: createLogger({ level: 'silent' }) }),
    );
  url = `http://127.0.0.1:${config.nodes[2]!.port}`;
  client = await ClusterClient.connect([url]);
  for (let i = 0; i < 3000; i += 500)
    await client.batch(
      Array.from({ length: 500 }, (_, j) => ({ type: 'put' as const, key: `k${i + j}`, value: `v${i + j}` })),
      { w: 'all' },
    );
});

afterAll(async () => {
  await client?.close();
  await Promise.all([...nodes.values()].map((n) => n.close()));
  rmSync(dir, { recursive: true, force: true });
});

/** The leader and the follower of `key`'s partition. */
function replicasOf(key: string): { p: number; leader: NodeServer; follower: NodeServer } {
  const p = partitionOf(key, PARTITIONS);
  const pl = client.topology.placement[p]!;
  return { p, leader: nodes.get(pl.leader)!, follower: nodes.get(pl.followers[0]!)! };
}

describe('GET /cluster/verify', () => {
  it('reports every partition identical when the replicas are', async () => {
    const r = await verify();
    expect(r.identical).toBe(true);
    expect(r.partitions.map((x) => x.status)).toEqual(Array(PARTITIONS).fill('identical'));
    for (const x of r.partitions) {
      expect(x.replicas).toHaveLength(2);
      expect(x.replicas[0]!.lsn).toBe(x.replicas[1]!.lsn);
      expect(x.replicas[0]!.keys).toBeGreaterThan(0);
    }
    expect(r.partitions.reduce((n, x) => n + x.replicas[0]!.keys!, 0)).toBe(3000);
  });

  it('never reports a divergence while writes go on', async () => {
    let stop = false;
    let n = 0;
    const writer = (async () => {
      while (!stop) await client.put(`live${n++ % 200}`, `x${n}`);
    })();
    try {
      for (let i = 0; i < 5; i++) {
        const r = await verify('?attempts=20');
        for (const x of r.partitions) expect(x.status === 'identical' || x.status === 'behind').toBe(true);
      }
    } finally {
      stop = true;
      await writer;
    }
    expect(n).toBeGreaterThan(0);
  });

  it('names the range and keys of a replica changed behind replication, and only that partition', async () => {
    const changed = 'k17';
    const { p, leader, follower } = replicasOf(changed);
    const extra = Array.from({ length: 3000 }, (_, i) => `extra${i}`).find((k) => partitionOf(k, PARTITIONS) === p)!;
    await follower.engine.batch([
      { type: 'put', key: storedKey(p, Buffer.from(changed)), value: wrapValue(Buffer.from('not v17')) },
      { type: 'put', key: storedKey(p, Buffer.from(extra)), value: wrapValue(Buffer.from('only here')) },
    ]);
    const r = await verify();
    expect(r.identical).toBe(false);
    const bad = r.partitions.filter((x) => x.status !== 'identical');
    expect(bad.map((x) => x.partition)).toEqual([p]);
    expect(bad[0]!.status).toBe('differ');
    const keys = bad[0]!.ranges.flatMap((g) => g.keys);
    expect(keys.map((k) => k.key).sort()).toEqual([changed, extra].sort());
    const ch = keys.find((k) => k.key === changed)!;
    expect(ch.replicas[leader.selfId]).not.toBeNull();
    expect(ch.replicas[follower.selfId]).not.toBeNull();
    expect(ch.replicas[leader.selfId]).not.toBe(ch.replicas[follower.selfId]);
    expect(keys.find((k) => k.key === extra)!.replicas[leader.selfId]).toBeNull();
    for (const g of bad[0]!.ranges)
      for (const k of g.keys) {
        const t = tokenOf(Buffer.from(k.hex, 'hex'));
        expect(t >= g.lo && t < g.hi).toBe(true);
      }
    // Undo, so the next test starts from identical replicas.
    await follower.engine.batch([
      { type: 'put', key: storedKey(p, Buffer.from(changed)), value: wrapValue(Buffer.from('v17')) },
      { type: 'del', key: storedKey(p, Buffer.from(extra)) },
    ]);
    expect((await verify(`?partition=${p}`)).identical).toBe(true);
  });

  it('descends through levels of sub-ranges when a differing range holds many keys', async () => {
    const { p, leader } = replicasOf('k5');
    const k = Buffer.from('k5');
    await leader.engine.batch([{ type: 'del', key: storedKey(p, k) }]);
    // Fan-out 2 and lists of at most 16 keys: the partition's ~500 keys are split in halves five
    // times or more before a range is small enough to list.
    const r = await verifyCluster(nodes.get('n1')!, { partitions: [p], fanout: 2, leafKeys: 16 });
    expect(r.partitions).toHaveLength(1);
    const x = r.partitions[0]!;
    expect(x.status).toBe('differ');
    expect(x.ranges).toHaveLength(1);
    const g = x.ranges[0]!;
    expect(g.hi - g.lo).toBeLessThanOrEqual(2 ** 27);
    expect(Object.values(g.counts).every((n) => n <= 16)).toBe(true);
    expect(g.differingKeys).toBe(1);
    expect(g.keys[0]!.key).toBe('k5');
    expect(g.keys[0]!.replicas[leader.selfId]).toBeNull();
    await leader.engine.batch([{ type: 'put', key: storedKey(p, k), value: wrapValue(Buffer.from('v5')) }]);
    expect((await verify()).identical).toBe(true);
  });

  it('eau2 verify prints each partition and exits 1 while a replica differs, 0 once they agree', async () => {
    // Not spawnSync: the nodes answering the command run in this process.
    const run = (args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'verify', '--url', url, ...args], {
          cwd: REPO,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.on('exit', (status) => resolve({ status, stdout, stderr }));
      });
    const ok = await run([]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('every partition identical');
    const { p, follower } = replicasOf('k9');
    await follower.engine.batch([{ type: 'del', key: storedKey(p, Buffer.from('k9')) }]);
    const bad = await run(['--partition', String(p)]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain(`partition ${p}  differ`);
    expect(bad.stdout).toMatch(new RegExp(`"k9" \\(6b39\\): .*${follower.selfId} missing`));
    expect((await run(['--partition', 'x'])).status).toBe(2);
    await follower.engine.batch([
      { type: 'put', key: storedKey(p, Buffer.from('k9')), value: wrapValue(Buffer.from('v9')) },
    ]);
    expect((await verify()).identical).toBe(true);
    // Each run of the command starts a process that compiles the CLI with tsx: slow under load.
  }, 90_000);

  it('refuses bad options with 400', async () => {
    for (const q of ['?partition=99', '?fanout=1', '?attempts=x', '?color=red']) {
      const r = await fetch(`${url}/cluster/verify${q}`);
      expect(r.status, q).toBe(400);
    }
  });
});
