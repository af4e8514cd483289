// redis-cli in its interactive mode (a terminal: `script` gives it a pseudo-terminal, TERM=dumb
// keeps its line editor from querying the cursor), typing every command eau2 serves, against each
// node of a cluster of `eau2 node` processes, and the same session against a real redis-server:
// every reply must match the same expectation on both, so the expectations are Redis's own (reply
// types, error texts, redis-cli's rendering), not eau2's idea of them. Where eau2 must differ (WAIT
// counts eau2's followers; COMMAND COUNT, CLIENT ID) the expectation is a pattern both satisfy.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, TestCluster } from '../support/cluster-harness.js';

/** Types `commands` into an interactive redis-cli; returns what it printed after each prompt. */
function interactive(port: number, commands: string[]): string[] {
  const r = spawnSync('script', ['-qfec', `redis-cli -p ${port}`, '/dev/null'], {
    input: `${commands.join('\n')}\n`,
    encoding: 'utf8',
    env: { ...process.env, TERM: 'dumb' },
    timeout: 60_000,
  });
  if (r.error) throw r.error;
  // The terminal echoes the typed lines first; redis-cli's prompt then precedes each reply.
  const text = r.stdout.replace(/\r/g, '');
  const prompt = new RegExp(`127\\.0\\.0\\.1:${port}(?:\\[\\d+\\])?> `, 'g');
  const parts = text.split(prompt).slice(1);
  return parts.map((p) => p.replace(/\n$/, ''));
}

/** The session: each command with what redis-cli must print for it (text, or a pattern). */
function session(px: string): [string, string | RegExp][] {
  const now = Date.now();
  // One hash tag for the keys of multi-key writes: eau2 keeps MSETNX atomic within one partition
  // (CROSSSLOT otherwise, as Redis Cluster; docs/api.md), and Redis takes hash-tagged keys as any.
  const m = `{${px}}m`;
  return [
    ['PING', 'PONG'],
    ['PING hi', '"hi"'],
    ['ECHO hello', '"hello"'],
    ['SELECT 0', 'OK'],
    ['CLIENT SETNAME cli', 'OK'],
    ['CLIENT GETNAME', '"cli"'],
    ['CLIENT ID', /^\(integer\) \d+$/],
    ['CLIENT INFO', /^id=\d+ addr=127\.0\.0\.1:\d+ .*name=cli .*resp=2/],
    ['COMMAND COUNT', /^\(integer\) \d+$/],
    ['COMMAND DOCS get', /^1\) "get"\n2\) +1\) "summary"\n +2\) "(Get|Returns) the (string )?value of a key/],
    [
      'AUTH secret',
      '(error) ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
    ],
    [`SET ${px}k v`, 'OK'],
    [`SET ${px}k v2 NX`, '(nil)'],
    [`SET ${px}k v3 XX GET`, '"v"'],
    [`SET ${px}k2 v EX 1000`, 'OK'],
    [`SET ${px}k3 v PX 1000000`, 'OK'],
    [`SET ${px}k4 v EXAT ${Math.floor(now / 1000) + 1000}`, 'OK'],
    [`SET ${px}k5 v PXAT ${now + 1_000_000}`, 'OK'],
    [`SET ${px}k2 w KEEPTTL`, 'OK'],
    [`TTL ${px}k2`, /^\(integer\) (9[5-9]\d|1000)$/],
    [`PTTL ${px}k3`, /^\(integer\) 9[5-9]\d{4}|1000000$/],
    [`TTL ${px}k4`, /^\(integer\) (9[5-9]\d|1000)$/],
    [`PTTL ${px}k5`, /^\(integer\) 9[5-9]\d{4}|1000000$/],
    [`SETNX ${px}k new`, '(integer) 0'],
    [`SETNX ${px}k6 new`, '(integer) 1'],
    [`GETDEL ${px}k6`, '"new"'],
    [`GETDEL ${px}k6`, '(nil)'],
    [`GETEX ${px}k EX 500`, '"v3"'],
    [`TTL ${px}k`, /^\(integer\) (4[5-9]\d|500)$/],
    [`GETEX ${px}k PERSIST`, '"v3"'],
    [`TTL ${px}k`, '(integer) -1'],
    [`MSET ${m}1 a ${m}2 b`, 'OK'],
    [`MGET ${m}1 ${m}2 ${px}nope`, '1) "a"\n2) "b"\n3) (nil)'],
    [`MSETNX ${m}1 x ${m}3 y`, '(integer) 0'],
    [`MSETNX ${m}3 x ${m}4 y`, '(integer) 1'],
    [`EXISTS ${m}1 ${m}2 ${px}nope`, '(integer) 2'],
    [`STRLEN ${m}1`, '(integer) 1'],
    [`APPEND ${m}1 bc`, '(integer) 3'],
    [`GET ${m}1`, '"abc"'],
    [`INCR ${px}c`, '(integer) 1'],
    [`INCRBY ${px}c 10`, '(integer) 11'],
    [`DECR ${px}c`, '(integer) 10'],
    [`DECRBY ${px}c 3`, '(integer) 7'],
    [`INCRBYFLOAT ${px}f 1.5`, '"1.5"'],
    [`INCR ${m}1`, '(error) ERR value is not an integer or out of range'],
    [`EXPIRE ${px}c 100`, '(integer) 1'],
    [`PEXPIRE ${px}c 100000`, '(integer) 1'],
    [`EXPIREAT ${px}c ${Math.floor(now / 1000) + 100}`, '(integer) 1'],
    [`PERSIST ${px}c`, '(integer) 1'],
    [`TTL ${px}c`, '(integer) -1'],
    [`TTL ${px}nope`, '(integer) -2'],
    [`DEL ${m}3 ${m}4 ${px}nope`, '(integer) 2'],
    [`UNLINK ${m}2`, '(integer) 1'],
    [`SCAN 0 MATCH ${m}* COUNT 100000`, `1) "0"\n2) 1) "${m}1"`],
    [`KEYS ${m}*`, `1) "${m}1"`],
    ['DBSIZE', /^\(integer\) \d+$/],
    ['INFO keyspace', /^# Keyspace\ndb0:keys=\d+,expires=\d+,avg_ttl=\d+$/],
    ['WAIT 0 100', /^\(integer\) \d+$/],
    ['HELLO 3', /^1# "server" => "redis"\n2# "version" => "[\d.]+"\n3# "proto" => \(integer\) 3\n/],
    [`GET ${px}nope`, '(nil)'],
    ['RESET', 'RESET'],
    ['FROB x', "(error) ERR unknown command 'FROB', with args beginning with: 'x' "],
    ['QUIT', ''],
  ];
}

function check(where: string, port: number, px: string): void {
  const steps = session(px);
  const out = interactive(
    port,
    steps.map((s) => s[0]),
  );
  expect(out.length, `${where}: one reply per command`).toBe(steps.length);
  const wrong: string[] = [];
  for (let i = 0; i < steps.length; i++) {
    const [cmd, want] = steps[i]!;
    const got = out[i] ?? '(no reply)';
    if (typeof want === 'string' ? got !== want : !want.test(got))
      wrong.push(`${where}: ${cmd}\n  want ${String(want)}\n  got  ${JSON.stringify(got)}`);
  }
  expect(wrong.join('\n')).toBe('');
}

describe('redis-cli, interactive, every command', () => {
  let c: TestCluster;
  let redis: ChildProcess | undefined;
  let redisPort = 0;
  let redisDir = '';

  beforeAll(async () => {
    expect(
      spawnSync('sh', ['-c', 'command -v script redis-cli redis-server']).status,
      'needs script, redis-tools, redis-server',
    ).toBe(0);
    c = await TestCluster.start({ nodes: 3, partitions: 4, replicationFactor: 2, resp: true });
    [redisPort] = (await freePorts(1)) as [number];
    redisDir = mkdtempSync(join(tmpdir(), 'eau2-redis-'));
    redis = spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--dir', redisDir],
      {
        stdio: 'ignore',
      },
    );
    const end = Date.now() + 20_000;
    while (spawnSync('redis-cli', ['-p', String(redisPort), 'ping'], { encoding: 'utf8' }).stdout.trim() !== 'PONG') {
      if (Date.now() > end) throw new Error('redis-server did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => {
    redis?.kill('SIGKILL');
    if (redisDir) rmSync(redisDir, { recursive: true, force: true });
    await c?.stop();
  });

  it('answers as redis-server does', () => {
    check('redis-server', redisPort, 'r:');
  });

  it('works on every node of the cluster', () => {
    for (const n of c.nodes) check(n.id, n.respPort!, `${n.id}:`);
  });
});
