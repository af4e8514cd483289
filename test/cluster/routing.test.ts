// The routing both ClusterClient and a node's Router use (cluster/routing.ts).
import { describe, expect, it } from 'vitest';
import { partitionOf } from '../../kv/index.js';
import { MsgType } from '../../cluster/protocol/messages.js';
import {
  byteRange,
  fetchRemotePage,
  groupByPartition,
  modeFor,
  replicaCandidates,
  ReplicaChooser,
} from '../../cluster/routing.js';
import type { NodeStatus, Topology } from '../../cluster/topology.js';

function topo(status: Record<string, NodeStatus>): Topology {
  const ids = ['a', 'b', 'c'];
  return {
    epoch: 1,
    partitions: 1,
    replicationFactor: 3,
    nodes: ids.map((id, i) => ({ id, host: '127.0.0.1', port: 1000 + i, peerPort: 2000 + i, status: status[id]! })),
    placement: [{ partition: 0, leader: 'a', followers: ['b', 'c'], epoch: 1, isr: ['a', 'b', 'c'] }],
  };
}

function chosen(t: Topology, mode: 'leader' | 'follower' | 'any' | 'local', n = 12): Set<string> {
  const c = new ReplicaChooser();
  const out = new Set<string>();
  for (let i = 0; i < n; i++) out.add(c.choose(t, 0, mode));
  return out;
}

describe('replica choice', () => {
  it('leader reads go to the leader whatever the statuses say', () => {
    expect(chosen(topo({ a: 'down', b: 'up', c: 'up' }), 'leader')).toEqual(new Set(['a']));
  });

  it("a node in status 'unknown' is a candidate; only 'down' is skipped", () => {
    const t = topo({ a: 'up', b: 'unknown', c: 'down' });
    expect(replicaCandidates(t, 0, 'follower')).toEqual(['b']);
    expect(replicaCandidates(t, 0, 'any')).toEqual(['a', 'b']);
    expect(chosen(t, 'follower')).toEqual(new Set(['b']));
    expect(chosen(t, 'any')).toEqual(new Set(['a', 'b']));
    // a fresh cluster (everyone 'unknown', as topologyFromConfig starts it) spreads reads
    expect(chosen(topo({ a: 'unknown', b: 'unknown', c: 'unknown' }), 'follower')).toEqual(new Set(['b', 'c']));
  });

  it('round-robins over the candidates, and falls back to the leader when none is left', () => {
    const t = topo({ a: 'up', b: 'up', c: 'up' });
    const c = new ReplicaChooser();
    expect([0, 1, 2, 3].map(() => c.choose(t, 0, 'follower'))).toEqual(['b', 'c', 'b', 'c']);
    expect(chosen(topo({ a: 'up', b: 'down', c: 'down' }), 'follower')).toEqual(new Set(['a']));
    expect(chosen(t, 'local')).toEqual(new Set(['a', 'b', 'c'])); // reads like any
  });

  it('a request to the leader is sent as a leader read', () => {
    const t = topo({ a: 'up', b: 'up', c: 'up' });
    expect(modeFor(t, 0, 'a', 'any')).toBe('leader');
    expect(modeFor(t, 0, 'b', 'any')).toBe('any');
    expect(modeFor(t, 0, 'c', 'follower')).toBe('follower');
  });
});

describe('grouping, ranges and pages', () => {
  it('groups keys by their partition, keeping their order', () => {
    const keys = Array.from({ length: 200 }, (_, i) => Buffer.from(`k${i}`));
    const groups = groupByPartition(keys, (k) => k, 8);
    let n = 0;
    for (const [p, g] of groups) {
      for (const k of g) expect(partitionOf(k, 8)).toBe(p);
      const idx = g.map((k) => keys.indexOf(k));
      expect(idx).toEqual([...idx].sort((x, y) => x - y));
      n += g.length;
    }
    expect(n).toBe(keys.length);
  });

  it("converts KvStore's range to bytes and leaves out what is unset", () => {
    expect(byteRange()).toEqual({});
    const r = byteRange({ gte: 'a', lt: Uint8Array.of(0x62), reverse: true, limit: 3 });
    expect(Buffer.from(r.gte!).toString()).toBe('a');
    expect([...r.lt!]).toEqual([0x62]);
    expect(r.reverse).toBe(true);
    expect(r.limit).toBe(3);
    expect('gt' in r || 'lte' in r).toBe(false);
  });

  it('asks for a page with a SCAN and reads the reply', async () => {
    const sent: unknown[] = [];
    const send = async (node: string, type: number, body: unknown) => {
      sent.push({ node, type, body });
      return { e: [[Uint8Array.of(1), Uint8Array.of(2)]], more: true };
    };
    const page = await fetchRemotePage(send, 'b', 3, { gte: Uint8Array.of(0), reverse: false, limit: 5 }, 'any');
    expect(page).toEqual({ entries: [[Uint8Array.of(1), Uint8Array.of(2)]], more: true });
    expect(sent).toEqual([
      {
        node: 'b',
        type: MsgType.SCAN,
        body: {
          p: 3,
          gt: undefined,
          gte: Uint8Array.of(0),
          lt: undefined,
          lte: undefined,
          rev: false,
          lim: 5,
          r: 'any',
        },
      },
    ]);
    const empty = await fetchRemotePage(async () => ({}), 'b', 0, { reverse: true, limit: 1 }, 'leader');
    expect(empty).toEqual({ entries: [], more: false });
  });
});
