// The Redis protocol through ioredis, unchanged, against three in-process nodes: ioredis's own
// examples for strings, counters, expiry and SCAN; pipelines (in order, reading their own writes);
// RESP2 and RESP3 (ioredis 6 says HELLO 3 by default); Redis's reply types and error strings;
// counters incremented through every node at once losing nothing; expiry replicated as data and
// honoured after a restart and a compaction; WAIT; and a connection's limits.

import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedKey } from '../../../cluster/node/stored-format.js';
import { unwrapValue } from '../../../cluster/protocol/stored-value.js';
import type { Engine } from '../../../engine/index.js';
import { partitionOf } from '../../../kv/index.js';
import { eventually, sleep } from '../support/cluster-harness.js';
import { RespCluster } from './resp-support.js';

const IDS = ['n1', 'n2', 'n3'];

describe('RESP through ioredis', () => {
  let c: RespCluster;
  const clients: Redis[] = [];
  const client = (id: string, protocol: 2 | 3 = 3): Redis => {
    const r = new Redis({
      host: '127.0.0.1',
      port: c.respPort(id),
      protocol,
      lazyConnect: false,
      maxRetriesPerRequest: 1,
    });
    clients.push(r);
    return r;
  };

  beforeAll(async () => {
    c = await RespCluster.start({
      replicationFactor: 3,
      limits: {
        maxBulkBytes: 1 << 20,
        replyBufferSoftBytes: 64 * 1024,
        replyBufferHardBytes: 4 << 20,
        replyStallMs: 1000,
        // DBSIZE shows a connection its own writes while key counts are quick; "quick" must not
        // depend on this machine's load here.
        keyCountWaitMs: 60_000,
      },
    });
  });

  afterAll(async () => {
    for (const r of clients) r.disconnect();
    await c?.close();
  });

  function localStored(id: string, key: string): Uint8Array | undefined {
    const p = partitionOf(Buffer.from(key), c.config.partitions);
    return (c.nodes.get(id)!.engine as unknown as Engine).getSync(storedKey(p, Buffer.from(key)));
  }

  it("runs ioredis's string, counter and expiry examples unchanged, over RESP2 and RESP3", async () => {
    for (const [id, protocol] of [
      ['n1', 3],
      ['n2', 2],
    ] as const) {
      const redis = client(id, protocol);
      const k = (s: string) => `${protocol}:${s}`;
      expect(await redis.set(k('mykey'), 'value')).toBe('OK');
      expect(await redis.get(k('mykey'))).toBe('value');
      expect(await redis.get(k('missing'))).toBeNull();
      expect(await redis.set(k('key'), 100, 'EX', 10)).toBe('OK');
      expect(await redis.ttl(k('key'))).toBeGreaterThanOrEqual(9);
      expect(await redis.pttl(k('key'))).toBeGreaterThan(9000);
      expect(await redis.ttl(k('mykey'))).toBe(-1);
      expect(await redis.ttl(k('missing'))).toBe(-2);
      expect(await redis.incr(k('counter'))).toBe(1);
      expect(await redis.incrby(k('counter'), 41)).toBe(42);
      expect(await redis.decr(k('counter'))).toBe(41);
      expect(await redis.decrby(k('counter'), 40)).toBe(1);
      expect(await redis.incrbyfloat(k('float'), '10.5')).toBe('10.5');
      expect(await redis.incrbyfloat(k('float'), '0.1')).toBe('10.6');
      expect(await redis.append(k('mykey'), '!')).toBe(6);
      expect(await redis.strlen(k('mykey'))).toBe(6);
      expect(await redis.mset(k('a'), '1', k('b'), '2')).toBe('OK');
      expect(await redis.mget(k('a'), k('missing'), k('b'))).toEqual(['1', null, '2']);
      expect(await redis.exists(k('a'), k('a'), k('missing'))).toBe(2);
      expect(await redis.setnx(k('a'), 'x')).toBe(0);
      expect(await redis.set(k('a'), 'x', 'NX')).toBeNull();
      expect(await redis.set(k('a'), 'x', 'XX', 'GET')).toBe('1');
      expect(await redis.set(k('nope'), 'x', 'XX')).toBeNull();
      expect(await redis.getdel(k('a'))).toBe('x');
      expect(await redis.get(k('a'))).toBeNull();
      expect(await redis.getex(k('b'), 'PX', 60_000)).toBe('2');
      expect(await redis.pttl(k('b'))).toBeGreaterThan(50_000);
      expect(await redis.persist(k('b'))).toBe(1);
      expect(await redis.persist(k('b'))).toBe(0);
      expect(await redis.expire(k('b'), 100, 'NX')).toBe(1);
      expect(await redis.expire(k('b'), 50, 'GT')).toBe(0);
      expect(await redis.expire(k('b'), 50, 'LT')).toBe(1);
      expect(await redis.set(k('b'), 'new', 'KEEPTTL')).toBe('OK');
      expect(await redis.ttl(k('b'))).toBeGreaterThan(40);
      expect(await redis.del(k('b'), k('mykey'), k('missing'))).toBe(2);
      expect(await redis.msetnx(`{${protocol}}x`, '1', `{${protocol}}y`, '2')).toBe(1);
      expect(await redis.msetnx(`{${protocol}}x`, '1', `{${protocol}}z`, '2')).toBe(0);
      expect(await redis.echo('hello')).toBe('hello');
      expect(await redis.ping()).toBe('PONG');
      expect(await redis.select(0)).toBe('OK');
    }
  });

  it('answers with Redis error strings', async () => {
    const redis = client('n3');
    await redis.set('text', 'abc');
    const msg = (p: Promise<unknown>) =>
      p.then(
        () => 'no error',
        (e: Error) => e.message,
      );
    expect(await msg(redis.incr('text'))).toBe('ERR value is not an integer or out of range');
    expect(await msg(redis.incrbyfloat('text', '1'))).toBe('ERR value is not a valid float');
    expect(await msg(redis.call('FOO', 'a', 'b'))).toBe(
      "ERR unknown command 'FOO', with args beginning with: 'a' 'b' ",
    );
    expect(await msg(redis.call('GET'))).toBe("ERR wrong number of arguments for 'get' command");
    expect(await msg(redis.call('SET', 'k', 'v', 'EX', '0'))).toBe("ERR invalid expire time in 'set' command");
    expect(await msg(redis.call('SET', 'k', 'v', 'NX', 'XX'))).toBe('ERR syntax error');
    expect(await msg(redis.call('SELECT', '1'))).toBe('ERR DB index is out of range');
    expect(await msg(redis.call('INCRBY', 'c', 'x'))).toBe('ERR value is not an integer or out of range');
    expect(await msg(redis.call('HELLO', '4'))).toBe('NOPROTO unsupported protocol version');
    expect(await msg(redis.call('CLIENT', 'NOPE'))).toBe("ERR unknown subcommand 'NOPE'. Try CLIENT HELP.");
    expect(await msg(redis.call('MSETNX', 'a1', '1', 'b2', '2'))).toBe(
      "CROSSSLOT Keys in request don't hash to the same slot",
    );
    await redis.set('big', '9223372036854775807');
    expect(await msg(redis.incr('big'))).toBe('ERR increment or decrement would overflow');
    expect(await msg(redis.set(Buffer.from([0, 1]), 'x'))).toMatch(
      /^ERR keys beginning with the byte 0x00 are reserved/,
    );
    expect(await msg(redis.del(Buffer.from([0, 1])))).toMatch(/^ERR keys beginning with the byte 0x00 are reserved/);
    expect(await redis.get('text')).toBe('abc');
  });

  it('pipelines run in order and read their own writes', async () => {
    const redis = client('n2');
    const p = redis.pipeline();
    for (let i = 0; i < 500; i++) {
      p.set(`p:${i}`, String(i));
      p.incr(`p:${i}`);
      p.get(`p:${i}`);
    }
    const out = await p.exec();
    for (let i = 0; i < 500; i++) {
      expect(out![3 * i]).toEqual([null, 'OK']);
      expect(out![3 * i + 1]).toEqual([null, i + 1]);
      expect(out![3 * i + 2]).toEqual([null, String(i + 1)]);
    }
    // Runs of reads run together but answer in order, and see the writes before them.
    const q = redis.pipeline();
    for (let i = 0; i < 100; i++) q.get(`p:${i}`);
    q.set('p:0', 'changed');
    q.get('p:0').mget('p:0', 'p:1').exists('p:0', 'nope').strlen('p:0').ping();
    const got = (await q.exec())!.map(([e, v]) => (e ? e.message : v));
    expect(got.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => String(i + 1)));
    expect(got.slice(100)).toEqual(['OK', 'changed', ['changed', '2'], 1, 7, 'PONG']);
  });

  it('counters incremented through every node at once lose nothing', async () => {
    const rs = IDS.map((id) => client(id));
    await Promise.all(rs.map((r) => Promise.all(Array.from({ length: 100 }, () => r.incr('shared')))));
    expect(await rs[0]!.get('shared')).toBe('300');
    expect(await rs[1]!.wait(2, 5000)).toBe(2);
    for (const id of IDS) expect(Buffer.from(unwrapValue(localStored(id, 'shared')!).value).toString()).toBe('300');
  });

  it('SCAN visits every key once, with MATCH and COUNT; KEYS and DBSIZE agree', async () => {
    const redis = client('n1');
    const want = new Set<string>();
    const p = redis.pipeline();
    for (let i = 0; i < 300; i++) {
      const key = `scan:${String(i).padStart(3, '0')}`;
      want.add(key);
      p.set(key, 'x');
    }
    await p.exec();
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const s = redis.scanStream({ match: 'scan:*', count: 37 });
      s.on('data', (keys: string[]) => seen.push(...keys));
      s.on('end', resolve);
      s.on('error', reject);
    });
    expect(seen.length).toBe(300);
    expect(new Set(seen)).toEqual(want);
    expect((await redis.keys('scan:1?[05]')).sort()).toEqual([
      'scan:100',
      'scan:105',
      'scan:110',
      'scan:115',
      'scan:120',
      'scan:125',
      'scan:130',
      'scan:135',
      'scan:140',
      'scan:145',
      'scan:150',
      'scan:155',
      'scan:160',
      'scan:165',
      'scan:170',
      'scan:175',
      'scan:180',
      'scan:185',
      'scan:190',
      'scan:195',
    ]);
    // Nothing else writes now, and this connection wrote last: its DBSIZE counts afresh.
    const all = await redis.keys('*');
    expect(await redis.dbsize()).toBe(all.length);
    await expect(redis.scan('12345678901234')).rejects.toThrow('ERR invalid cursor');
  });

  it('HELLO, CLIENT, COMMAND and INFO answer as Redis does', async () => {
    const r3 = client('n1', 3);
    const r2 = client('n1', 2);
    const hello = (await r2.call('HELLO', '3')) as unknown[];
    expect(hello.slice(0, 6)).toEqual(['server', 'redis', 'version', '7.0.0', 'proto', 3]);
    expect(await r3.client('SETNAME', 'me')).toBe('OK');
    expect(await r3.client('GETNAME')).toBe('me');
    expect(typeof (await r3.client('ID'))).toBe('number');
    expect(await r3.client('INFO')).toMatch(/^id=\d+ addr=127\.0\.0\.1:\d+ .* name=me .* resp=3 /);
    expect(await r3.call('COMMAND', 'COUNT')).toBeGreaterThan(35);
    const docs = (await r3.call('COMMAND', 'DOCS', 'set')) as unknown[];
    expect(docs[0]).toBe('set');
    const info = (await r3.info()) as string;
    for (const s of ['# Server', '# Clients', '# Memory', '# Persistence', '# Stats', '# Replication', '# Keyspace'])
      expect(info).toContain(s);
    expect(info).toMatch(/connected_clients:\d+/);
    expect(info).toMatch(/db0:keys=\d+,expires=\d+/);
    expect(await r2.info('replication')).toMatch(/^# Replication\r\nrole:master\r\n/);
  });

  it('expiry is data: every replica hides it, after a restart and a compaction too', async () => {
    const redis = client('n2');
    await redis.set('soon', 'x', 'PX', 300);
    await redis.set('later', 'y', 'EX', 3600);
    await redis.set('gone', 'z', 'PXAT', Date.now() - 1000); // in the past: never stored
    expect(await redis.get('gone')).toBeNull();
    expect(await redis.wait(2, 5000)).toBe(2);
    const at = IDS.map((id) => unwrapValue(localStored(id, 'later')!).expiresAt);
    expect(new Set(at).size).toBe(1);
    await sleep(400);
    expect(await redis.get('soon')).toBeNull();
    expect(await redis.exists('soon')).toBe(0);
    expect(await redis.keys('soon')).toEqual([]);
    for (const id of IDS) expect(localStored(id, 'soon')).toBeUndefined();
    // Restart every node on its data, then compact each engine.
    for (const id of IDS) {
      await c.stopNode(id);
      await c.startNode(id);
      await (c.nodes.get(id)!.engine as unknown as Engine).compactRange();
    }
    const again = client('n3');
    expect(await again.get('soon')).toBeNull();
    expect(await again.get('later')).toBe('y');
    const ttl = await again.ttl('later');
    expect(ttl).toBeGreaterThan(3000);
    expect(ttl).toBeLessThanOrEqual(3600);
    for (const id of IDS) expect(unwrapValue(localStored(id, 'later')!).expiresAt).toBe(at[0]);
  });

  it('a too-long bulk is a protocol error that closes only that connection', async () => {
    const port = c.respPort('n1');
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let got = '';
      s.on('data', (d) => {
        got += d.toString();
      });
      s.on('close', () => resolve(got));
      s.write(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${(1 << 20) + 1}\r\n`);
    });
    expect(reply).toBe('-ERR Protocol error: invalid bulk length\r\n');
    expect(await client('n1').ping()).toBe('PONG');
  });

  it('a client that never reads its replies is closed past the output limit; others go on', async () => {
    const redis = client('n1');
    await redis.set('large', 'v'.repeat(512 * 1024));
    const port = c.respPort('n1');
    const ctx = c.resp.get('n1')!.ctx;
    const before = ctx.clients.size;
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    try {
      await new Promise<void>((resolve) => s.on('connect', resolve));
      s.pause(); // never read
      const get = '*2\r\n$3\r\nGET\r\n$5\r\nlarge\r\n';
      s.write(get.repeat(200)); // ~100 MiB of replies asked for; stalled over 64 KiB for 1 s: closed
      // The server closes it (a paused client may not see the FIN): its connection is gone there.
      expect(await eventually(async () => ctx.stats.overruns > 0 && ctx.clients.size === before, 30_000)).toBe(true);
    } finally {
      s.destroy();
    }
    expect(await redis.strlen('large')).toBe(512 * 1024);
  });
});
