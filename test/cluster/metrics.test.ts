// GET /metrics as Prometheus users expect it: the output passes `promtool check metrics`
// (Prometheus's own parser and linter: base units, _total counters, help texts), and it has one
// metric per meaning with the labels and values docs/operations.md gives. promtool comes from
// Debian's `prometheus` package (.ci/run installs it).

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { put } from './support/http-helpers.js';
import { TestCluster } from './support/cluster-harness.js';

const REPO = join(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/** Metric families: name -> TYPE, from the # TYPE lines. */
function types(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** The value of the one sample of `name` whose labels include every `labels` pair. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const found = [...text.matchAll(new RegExp(`^${name}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))].filter((m) =>
    Object.entries(labels).every(([k, v]) => (m[1] ?? '').split(',').includes(`${k}="${v}"`)),
  );
  if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
  return Number(found[0]![2]);
}

describe('GET /metrics', () => {
  let c: TestCluster;
  let n1: string;
  let n2: string;
  beforeAll(async () => {
    c = await TestCluster.start({ nodes: 2, partitions: 4, replicationFactor: 2 });
    for (let i = 0; i < 50; i++)
      expect((await put(c.nodes[0]!.url, `m:${i}`, `value ${i}`, '?w=all')).status).toBe(204);
    await fetch(`${c.nodes[1]!.url}/kv/m%3A1`);
    await fetch(`${c.nodes[1]!.url}/kv/absent`);
    n1 = await (await fetch(`${c.nodes[0]!.url}/metrics`)).text();
    n2 = await (await fetch(`${c.nodes[1]!.url}/metrics`)).text();
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('passes promtool check metrics on every node', () => {
    for (const text of [n1, n2]) {
      const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(r.error, 'promtool not found: apt-get install prometheus').toBeUndefined();
      expect(`${r.stdout}${r.stderr}`).toBe('');
      expect(r.status).toBe(0);
    }
  });

  it('names one meaning per metric: base units, counters ending in _total', () => {
    const t = types(n1);
    expect(t.has('eau2_engine')).toBe(false);
    for (const [name, type] of t) {
      if (!name.startsWith('eau2_')) continue;
      expect(name, name).not.toMatch(/_(ms|millis|milliseconds|kb|mb|mib)(_|$)/);
      if (type === 'counter') expect(name, name).toMatch(/_total$/);
      else expect(name, name).not.toMatch(/_total$/);
    }
    expect(t.get('eau2_replication_resyncs_total')).toBe('counter');
    expect(t.get('eau2_engine_compaction_seconds_total')).toBe('counter');
    expect(t.get('eau2_engine_stall_seconds_total')).toBe('counter');
    expect(t.get('eau2_engine_wal_written_bytes_total')).toBe('counter');
    expect(t.get('eau2_engine_memtable_bytes')).toBe('gauge');
    expect(n1).not.toMatch(/level="\d+"[^}]*\} .*\n.*_level\b/);
  });

  it('labels request durations with method, route and status', () => {
    expect(
      sample(n2, 'eau2_http_request_duration_seconds_count', { method: 'GET', route: '/kv/:key', status: '200' }),
    ).toBe(1);
    expect(
      sample(n2, 'eau2_http_request_duration_seconds_count', { method: 'GET', route: '/kv/:key', status: '404' }),
    ).toBe(1);
    expect(
      sample(n1, 'eau2_http_request_duration_seconds_count', { method: 'PUT', route: '/kv/:key', status: '204' }),
    ).toBe(50);
  });

  it('gives disk usage, a key count estimate, the node role, partitions per role and build info', () => {
    for (const text of [n1, n2]) {
      expect(sample(text, 'eau2_disk_used_bytes')).toBeGreaterThan(0);
      expect(sample(text, 'eau2_disk_free_bytes')).toBeGreaterThan(0);
      expect(sample(text, 'eau2_disk_size_bytes')).toBeGreaterThanOrEqual(sample(text, 'eau2_disk_free_bytes'));
      // Both nodes hold every partition (2 nodes, 2 replicas): all 50 keys, plus the node's own records.
      expect(sample(text, 'eau2_engine_estimated_keys')).toBeGreaterThanOrEqual(50);
      expect(sample(text, 'eau2_build_info', { version: VERSION })).toBe(1);
      expect(
        sample(text, 'eau2_partitions', { role: 'leader' }) + sample(text, 'eau2_partitions', { role: 'follower' }),
      ).toBe(4);
    }
    // No node coordinates (failover: every node heartbeats and votes): the first-listed one too is a member.
    for (const n of [n1, n2]) {
      expect(sample(n, 'eau2_node_role', { role: 'coordinator' })).toBe(0);
      expect(sample(n, 'eau2_node_role', { role: 'member' })).toBe(1);
    }
    expect(sample(n1, 'eau2_engine_writes_total')).toBeGreaterThan(0);
    // The healing side of the engine, each under its own name.
    expect(sample(n1, 'eau2_health')).toBe(0);
    expect(sample(n1, 'eau2_damaged_tables')).toBe(0);
    expect(sample(n1, 'eau2_engine_background_errors_total')).toBe(0);
    expect(types(n1).get('eau2_engine_scrub_verified_bytes_total')).toBe('counter');
    expect(types(n1).get('eau2_engine_wal_damage_dropped')).toBe('gauge');
    expect(sample(n1, 'eau2_engine_level_tables', { level: '0' })).toBeGreaterThanOrEqual(0);
  });
});
