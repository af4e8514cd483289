// redis-cli, unchanged, against node processes started by `eau2 node` with a respPort: commands
// given as arguments and piped on stdin (as a user types them), --scan with a pattern, INFO, and
// expiry across a SIGKILL and restart of every node (the WAL replays the expiry with the value).

import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, TestCluster } from '../support/cluster-harness.js';

function cli(port: number, args: string[], input?: string): { out: string; status: number | null } {
  const r = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', input, timeout: 30_000 });
  return { out: r.stdout + r.stderr, status: r.status };
}

describe('redis-cli against eau2 nodes', () => {
  let c: TestCluster;
  const port = (id: string) => c.node(id).respPort!;

  beforeAll(async () => {
    c = await TestCluster.start({ nodes: 3, partitions: 4, replicationFactor: 2, resp: true });
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('runs commands from its arguments and from stdin, on any node', () => {
    expect(cli(port('n1'), ['set', 'greeting', 'hello']).out).toBe('OK\n');
    expect(cli(port('n2'), ['get', 'greeting']).out).toBe('hello\n');
    expect(cli(port('n3'), ['incrby', 'visits', '5']).out).toBe('5\n');
    const typed = [
      'SET user:1 alice',
      'SET user:2 bob EX 1000',
      'TTL user:2',
      'MGET user:1 nobody user:2',
      'INCR visits',
      'GETDEL user:1',
      'EXISTS user:1',
      'FROB x',
      '',
    ].join('\n');
    expect(cli(port('n3'), [], typed).out).toBe(
      // redis-cli ends an error with an empty line, as it does against Redis.
      "OK\nOK\n1000\nalice\n\nbob\n6\nalice\n0\nERR unknown command 'FROB', with args beginning with: 'x' \n\n",
    );
    // Redis's reply types as redis-cli prints them in a terminal-less run with --no-raw.
    expect(cli(port('n1'), ['--no-raw', 'get', 'nothing']).out).toBe('(nil)\n');
    expect(cli(port('n1'), ['--no-raw', 'incr', 'visits']).out).toBe('(integer) 7\n');
    expect(cli(port('n1'), ['--no-raw', 'mget', 'greeting', 'nothing']).out).toBe('1) "hello"\n2) (nil)\n');
  });

  it('--scan lists every key once, with a pattern too', () => {
    const lines = Array.from({ length: 250 }, (_, i) => `SET item:${i} v`).join('\n');
    cli(port('n2'), [], `${lines}\n`);
    const all = cli(port('n1'), ['--scan']).out.trim().split('\n');
    expect(new Set(all).size).toBe(all.length);
    expect(all.filter((k) => k.startsWith('item:')).length).toBe(250);
    const some = cli(port('n3'), ['--scan', '--pattern', 'item:1*']).out.trim().split('\n');
    expect(some.sort()).toEqual(
      Array.from({ length: 250 }, (_, i) => `item:${i}`)
        .filter((k) => k.startsWith('item:1'))
        .sort(),
    );
    expect(cli(port('n1'), ['dbsize']).out).toBe(`${all.length}\n`);
  });

  it('INFO has the Redis sections with eau2 figures', () => {
    const info = cli(port('n2'), ['info']).out;
    for (const s of ['Server', 'Clients', 'Memory', 'Persistence', 'Stats', 'Replication', 'Keyspace'])
      expect(info).toContain(`# ${s}`);
    expect(info).toContain('eau2_node:n2');
    expect(info).toMatch(/eau2_partitions:4/);
    expect(info).toMatch(/db0:keys=\d+,expires=\d+/);
    expect(cli(port('n2'), ['info', 'stats']).out).toMatch(/^# Stats\r?\ntotal_connections_received:\d+/);
  });

  it('expiry survives a SIGKILL of every node: the expired stays gone, the rest keeps its TTL', async () => {
    expect(cli(port('n1'), ['set', 'brief', 'x', 'PX', '1500']).out).toBe('OK\n');
    expect(cli(port('n1'), ['set', 'lasting', 'y', 'EX', '5000']).out).toBe('OK\n');
    expect(cli(port('n1'), ['wait', '1', '5000']).out).toBe('1\n');
    for (const n of c.nodes) await c.kill(n.id, 'SIGKILL');
    await sleep(1600);
    for (const n of c.nodes) c.spawn(n.id);
    await Promise.all(c.nodes.map((n) => c.waitHealthy(n.id, 90_000)));
    expect(cli(port('n2'), ['get', 'brief']).out).toBe('\n');
    expect(cli(port('n3'), ['exists', 'brief']).out).toBe('0\n');
    expect(cli(port('n3'), ['get', 'lasting']).out).toBe('y\n');
    const ttl = Number(cli(port('n2'), ['ttl', 'lasting']).out);
    expect(ttl).toBeGreaterThan(4000);
    expect(ttl).toBeLessThanOrEqual(5000);
  });
});
