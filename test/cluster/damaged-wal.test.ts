// A node whose WAL is damaged in its middle: a plain start stops with a message naming the way out,
// and `eau2 node --drop-damaged-wal-tail` starts, dropping the writes after the damage, which come
// back from the replica (led partitions are restored from their follower, followed ones catch up).

import { spawn, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { damageWalMiddle } from '../chaos/nemeses-disk.js';
import { seededRng } from '../engine/vfs/seeded-random.js';
import { dumpLocal, put } from './support/http-helpers.js';
import { CLI, eventually, REPO, TestCluster } from './support/cluster-harness.js';

const PARTITIONS = 4;
const N = 1500;

describe('a WAL damaged in its middle', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await TestCluster.start({ nodes: 2, partitions: PARTITIONS, replicationFactor: 2 });
  }, 60_000);
  afterAll(async () => {
    await c?.stop();
  });

  it('stops a plain start; --drop-damaged-wal-tail starts and the replica fills the gap', async () => {
    const n1 = c.node('n1');
    for (let i = 0; i < N; i += 50)
      await Promise.all(
        Array.from({ length: 50 }, async (_, j) => {
          expect((await put(c.nodes[(i + j) % 2]!.url, `k${i + j}`, `v${i + j}`, '?w=all')).status).toBe(204);
        }),
      );
    await c.kill('n1');
    expect(damageWalMiddle(n1.dataDir, seededRng(0x3a1))).toBeDefined();
    const plain = spawnSync(
      process.execPath,
      ['--import', 'tsx', CLI, 'node', '--config', c.configFile, '--id', 'n1', '--log-level', 'warn'],
      { cwd: REPO, encoding: 'utf8', timeout: 60_000 },
    );
    expect(plain.status).not.toBe(0);
    expect(plain.stderr).toMatch(/CORRUPTION|corruption/);
    expect(plain.stderr).toContain('--drop-damaged-wal-tail');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CLI,
        'node',
        '--config',
        c.configFile,
        '--id',
        'n1',
        '--log-level',
        'warn',
        '--drop-damaged-wal-tail',
      ],
      { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    c.procs.set('n1', child);
    await c.waitHealthy('n1');
    expect(
      await eventually(async () => {
        const [a, b] = await Promise.all([dumpLocal(n1.url, PARTITIONS), dumpLocal(c.node('n2').url, PARTITIONS)]);
        let n = 0;
        for (const m of a.values()) n += m.size;
        return n === N && JSON.stringify([...a]) === JSON.stringify([...b]);
      }, 30_000),
      'n1 holds every write again',
    ).toBe(true);
  }, 180_000);
});
