// A node with a damaged table: reads that meet the damage are answered from the other replica (never
// an error, never a wrong value), the table is dropped and its partitions repaired from the replica
// by themselves, and afterwards the node's own copy equals the other's. Logged, and counted in
// /metrics (eau2_corrupt_reads_total, eau2_table_repairs_total).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flipTableBit } from '../chaos/nemeses-disk.js';
import { seededRng } from '../engine/vfs/seeded-random.js';
import { dumpLocal, get, put } from './support/http-helpers.js';
import { eventually, TestCluster } from './support/cluster-harness.js';

const PARTITIONS = 4;
const N = 1500;
const val = (i: number) => `value-${i}-${'x'.repeat(100 + (i % 150))}`;

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

describe('a damaged table on one node', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await TestCluster.start({
      nodes: 2,
      partitions: PARTITIONS,
      replicationFactor: 2,
      extra: { memtableBytes: 64 * 1024, scrubBytesPerSecond: 64 * 1024 * 1024 },
    });
  }, 60_000);
  afterAll(async () => {
    await c?.stop();
  });

  it('is read around, then repaired from the replica', async () => {
    const rng = seededRng(0xc0de);
    const n1 = c.node('n1');
    for (let i = 0; i < N; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, j) => {
          const r = await put(c.nodes[(i + j) % 2]!.url, `k${i + j}`, val(i + j), '?w=all');
          expect(r.status).toBe(204);
        }),
      );
    }
    // A clean stop: its last sweep has deleted obsolete tables, so the bit flipped is in a live one.
    await c.kill('n1', 'SIGTERM');
    const damage = flipTableBit(n1.dataDir, rng);
    expect(damage).toBeDefined();
    await c.restart('n1');
    // Every key through n1, answered from its own copy where it can and from n2 where not.
    for (let i = 0; i < N; i++) {
      const g = await get(n1.url, `k${i}`, '?read=any');
      expect(g.status, `k${i}: ${g.body.slice(0, 200)} (${damage!.file}@${damage!.offset})`).toBe(200);
      expect(g.body).toBe(val(i));
    }
    const metrics = async () => (await fetch(`${n1.url}/metrics`)).text();
    // Whichever meets the damage first (the scrub, a read: eau2_corrupt_reads_total, a compaction),
    // the table is repaired.
    expect(
      await eventually(async () => metric(await metrics(), 'eau2_table_repairs_total') >= 1, 30_000),
      `repaired: ${c.log('n1')}`,
    ).toBe(true);
    expect(
      await eventually(async () => {
        const h = (await (await fetch(`${n1.url}/healthz`)).json()) as { damagedTables?: number; status: string };
        return h.status === 'ok' && h.damagedTables === undefined;
      }, 30_000),
    ).toBe(true);
    // n1's own copy is whole again and equals n2's.
    expect(
      await eventually(async () => {
        const [a, b] = await Promise.all([dumpLocal(n1.url, PARTITIONS), dumpLocal(c.node('n2').url, PARTITIONS)]);
        let n = 0;
        for (const m of a.values()) n += m.size;
        return n === N && JSON.stringify([...a]) === JSON.stringify([...b].map(([p, m]) => [p, m]));
      }, 30_000),
      'copies equal',
    ).toBe(true);
    // Writes go on to every partition.
    for (let i = 0; i < 20; i++) expect((await put(n1.url, `after${i}`, 'ok', '?w=all')).status).toBe(204);
  }, 180_000);
});
