// RESP with the cluster's tokens (cluster/security): nothing but AUTH, HELLO, QUIT and RESET before
// authenticating (NOAUTH), a wrong token is WRONGPASS, and roles hold: a read token reads and gets
// NOPERM for writes, a write token writes; ioredis authenticates through HELLO 3 AUTH with the
// token as its password; RESET forgets the authentication.

import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../../cluster/security/tokens.js';
import { authSection, RespCluster } from './resp-support.js';

/** Sends raw RESP on a new connection and collects what comes back within `ms`. */
function raw(port: number, text: string, ms = 500): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
    });
    s.on('error', () => {});
    s.on('connect', () => s.write(text));
    setTimeout(() => {
      s.destroy();
      resolve(got);
    }, ms);
  });
}

describe('RESP authentication and roles', () => {
  let c: RespCluster;
  const reader = createToken('read', 'reader');
  const writer = createToken('write', 'writer');
  const clients: Redis[] = [];

  beforeAll(async () => {
    c = await RespCluster.start({
      nodes: 2,
      replicationFactor: 2,
      security: (dir) => authSection(dir, [reader.entry, writer.entry] as never),
    });
  });
  afterAll(async () => {
    for (const r of clients) r.disconnect();
    await c?.close();
  });

  it('refuses everything but the handshake before AUTH, and wrong tokens', async () => {
    const port = c.respPort('n1');
    expect(await raw(port, 'PING\r\nGET k\r\n')).toBe(
      '-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n',
    );
    expect(await raw(port, 'AUTH nope\r\nAUTH user nope\r\n')).toBe(
      '-WRONGPASS invalid username-password pair or user is disabled.\r\n'.repeat(2),
    );
    expect(await raw(port, `AUTH ${writer.token}\r\nSET k v\r\nRESET\r\nGET k\r\n`)).toBe(
      '+OK\r\n+OK\r\n+RESET\r\n-NOAUTH Authentication required.\r\n',
    );
    expect(await raw(port, 'HELLO 3\r\n')).toMatch(
      /^-NOAUTH HELLO must be called with the client already authenticated/,
    );
  });

  it('holds roles: read tokens read, write tokens write', async () => {
    const port = c.respPort('n2');
    const ro = new Redis({ host: '127.0.0.1', port, password: reader.token });
    const rw = new Redis({
      host: '127.0.0.1',
      port: c.respPort('n1'),
      username: 'writer',
      password: writer.token,
      protocol: 2,
    });
    clients.push(ro, rw);
    expect(await rw.set('shared', 'data')).toBe('OK');
    expect(await rw.incr('count')).toBe(1);
    expect(await ro.get('shared')).toBe('data');
    expect(await ro.scan('0')).toEqual(['0', expect.arrayContaining(['shared', 'count'])]);
    await expect(ro.set('shared', 'x')).rejects.toThrow("NOPERM this user has no permissions to run the 'set' command");
    await expect(ro.incr('count')).rejects.toThrow("NOPERM this user has no permissions to run the 'incr' command");
    await expect(ro.del('shared')).rejects.toThrow('NOPERM');
    expect(await ro.get('shared')).toBe('data');
    expect(await rw.get('count')).toBe('1');
  });
});
