// Where keys go: murmur3_32 hashing (reference vectors), Redis-style hash tags, deterministic and even
// placement of leaders and followers, the stored-key and stored-value layouts, and config validation.

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../cluster/config.js';
import { hashKey, murmur3, partitionOf } from '../../kv/index.js';
import { placeAll, rolesOf } from '../../cluster/placement.js';
import { nodeAddress, parseTopology, topologyFromConfig } from '../../cluster/topology.js';
import {
  decodeLsn,
  encodeLsn,
  LSN_RESYNCING,
  partitionRange,
  storedKey,
  userKeyOf,
} from '../../cluster/node/stored-format.js';
import { isWrappedValue, unwrapValue, wrapValue } from '../../cluster/protocol/stored-value.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString();

describe('partitioning', () => {
  it('hashes with murmur3_32, seed 0 (reference vectors)', () => {
    expect(murmur3(new Uint8Array(0))).toBe(0);
    expect(murmur3(Buffer.from('hello'))).toBe(0x248bfa47);
    expect(murmur3(Buffer.from('The quick brown fox jumps over the lazy dog'))).toBe(0x2e4ff723);
  });

  it('hashes only the first non-empty {hash tag}', () => {
    expect(text(hashKey(Buffer.from('{user1}.name')))).toBe('user1');
    expect(text(hashKey(Buffer.from('a{b}{c}')))).toBe('b');
    expect(text(hashKey(Buffer.from('{}x')))).toBe('{}x');
    expect(text(hashKey(Buffer.from('no{tag')))).toBe('no{tag');
    expect(partitionOf('{df:7}.col.a', 16)).toBe(partitionOf('{df:7}.col.b', 16));
  });

  it('spreads keys over every partition', () => {
    const counts = new Array(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[partitionOf(`key:${i}`, 16)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });

  it('places a leader and distinct followers, evenly, the same way every time', () => {
    const nodes = ['a', 'b', 'c', 'd'].map((id, i) => ({ id, host: 'h', port: 1 + i, peerPort: 100 + i, dataDir: id }));
    const pl = placeAll({ partitions: 16, replicationFactor: 3, nodes });
    expect(placeAll({ partitions: 16, replicationFactor: 3, nodes })).toEqual(pl);
    for (const p of pl) expect(new Set([p.leader, ...p.followers]).size).toBe(3);
    for (const n of nodes) {
      const r = rolesOf(pl, n.id);
      expect(r.leads.length).toBe(4);
      expect(r.follows.length).toBe(8);
    }
  });
});

describe('stored layout', () => {
  it('prefixes user keys with the partition as u16 big-endian, and ranges stay inside it', () => {
    const k = storedKey(0x0102, Buffer.from('ab'));
    expect([...k]).toEqual([1, 2, 0x61, 0x62]);
    expect(text(userKeyOf(k))).toBe('ab');
    const r = partitionRange(5);
    expect([...r.gte!]).toEqual([0, 5]);
    expect([...r.lt!]).toEqual([0, 6]);
  });

  it('keeps content type and encoding with the value', () => {
    const w = wrapValue(Buffer.from('hi'), { contentType: 'text/plain', contentEncoding: 'gzip' });
    expect(unwrapValue(w)).toMatchObject({ contentType: 'text/plain', contentEncoding: 'gzip' });
    expect(text(unwrapValue(w).value)).toBe('hi');
    expect([...wrapValue(Buffer.from('x'))]).toEqual([0, 0x78]);
    expect(() => unwrapValue(Uint8Array.of(7))).toThrow();
    expect(
      [wrapValue(Buffer.from('x')), w, Uint8Array.of(7), Uint8Array.of(), Uint8Array.of(1, 0, 9)].map(isWrappedValue),
    ).toEqual([true, true, false, false, false]);
  });

  it('encodes LSNs as 8 bytes big-endian and the resync marker as one zero byte', () => {
    expect([...encodeLsn(258)]).toEqual([0, 0, 0, 0, 0, 0, 1, 2]);
    expect(decodeLsn(encodeLsn(2 ** 40 + 5))).toBe(2 ** 40 + 5);
    expect([...encodeLsn(2 ** 32 + 0x01020304)]).toEqual([0, 0, 0, 1, 1, 2, 3, 4]);
    expect(decodeLsn(encodeLsn(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => decodeLsn(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))).toThrow(/2\^53/);
    expect(decodeLsn(encodeLsn(LSN_RESYNCING))).toBe(LSN_RESYNCING);
    expect(decodeLsn(undefined)).toBe(0);
  });
});

describe('config', () => {
  const ok = {
    partitions: 4,
    replicationFactor: 2,
    nodes: [
      { id: 'n1', port: 1, peerPort: 2 },
      { id: 'n2', port: 3, peerPort: 4 },
    ],
  };

  it('fills defaults and resolves data dirs against the config folder', () => {
    const c = parseConfig(ok, '/srv/eau2');
    expect(c.nodes[0]!.host).toBe('127.0.0.1');
    expect(c.nodes[1]!.dataDir).toBe('/srv/eau2/data/n2');
    expect(c.maxBodyBytes).toBe(16 * 1024 * 1024);
    expect(c.memtableBytes).toBe(64 * 1024 * 1024);
    expect(parseConfig({ ...ok, memtableBytes: 1 << 20 }).memtableBytes).toBe(1 << 20);
  });

  it('advertises each node at its listen address unless advertisePeerHost/advertisePeerPort say otherwise', () => {
    const c = parseConfig({
      ...ok,
      nodes: [{ ...ok.nodes[0], advertisePeerHost: '10.0.0.7', advertisePeerPort: 9002 }, ok.nodes[1]],
    });
    expect(c.nodes[0]).toMatchObject({
      host: '127.0.0.1',
      peerPort: 2,
      advertisePeerHost: '10.0.0.7',
      advertisePeerPort: 9002,
    });
    expect(c.nodes[1]).toMatchObject({ advertisePeerHost: '127.0.0.1', advertisePeerPort: 4 });
    const t = topologyFromConfig(c);
    expect(t.nodes.map((n) => [n.host, n.peerHost, n.peerPort])).toEqual([
      ['127.0.0.1', '10.0.0.7', 9002],
      ['127.0.0.1', '127.0.0.1', 4],
    ]);
    expect(nodeAddress(t, 'n1')).toEqual({ host: '10.0.0.7', peerPort: 9002 });
    expect(nodeAddress(t, 'nope')).toBeUndefined();
    // A topology from a node that predates the field dials the node's host.
    const old = JSON.parse(JSON.stringify(t)) as Record<string, unknown> & { nodes: Record<string, unknown>[] };
    for (const n of old.nodes) delete n.peerHost;
    expect(nodeAddress(parseTopology(old), 'n2')).toEqual({ host: '127.0.0.1', peerPort: 4 });
  });

  it('refuses mistakes with a message naming the field', () => {
    const bad: [unknown, RegExp][] = [
      [{ ...ok, partitions: 0 }, /partitions/],
      [{ ...ok, partitions: 70000 }, /partitions/],
      [{ ...ok, replicationFactor: 3 }, /replicationFactor/],
      [{ ...ok, nodes: [] }, /nodes/],
      [{ ...ok, nodes: [ok.nodes[0], ok.nodes[0]] }, /duplicate|twice/],
      [{ ...ok, color: 'blue' }, /unknown field "color"/],
      [{ ...ok, nodes: [{ id: 'n1', port: 'x', peerPort: 2 }] }, /port/],
      [[], /object/],
      [{ ...ok, memtableBytes: 1000 }, /memtableBytes/],
      [{ ...ok, nodes: [{ ...ok.nodes[0], advertisePeerPort: 0 }] }, /advertisePeerPort/],
      [{ ...ok, nodes: [{ ...ok.nodes[0], advertisePeerHost: '' }] }, /advertisePeerHost/],
      [
        {
          ...ok,
          nodes: [
            { ...ok.nodes[0], advertisePeerPort: 9 },
            { ...ok.nodes[1], advertisePeerPort: 9 },
          ],
        },
        /advertised peer address 127.0.0.1:9 is used twice/,
      ],
    ];
    for (const [raw, re] of bad) expect(() => parseConfig(raw)).toThrowError(re);
  });
});
