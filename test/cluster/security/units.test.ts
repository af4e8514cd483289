// Unit tests of the security modules (cluster/security/): tokens, roles, protected mode, limits,
// metadata checks, the config section, the PKI of `eau2 local --secure`.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isEau2Error, ErrorCode } from '../../../kv/index.js';
import { parseConfig } from '../../../cluster/config.js';
import { MsgType } from '../../../cluster/protocol/messages.js';
import { AuditLog, auditLine, audited } from '../../../cluster/security/audit.js';
import { ByteBudget, ConnectionLimiter, LIMIT_DEFAULTS } from '../../../cluster/security/limits.js';
import { checkProtectedMode, isLoopback } from '../../../cluster/security/protected-mode.js';
import { allowed, httpNeed, peerNeed } from '../../../cluster/security/roles.js';
import { parseSecurityConfig } from '../../../cluster/security/security-config.js';
import { bearerToken, createToken, roleAllows, sha256Hex, TokenSet } from '../../../cluster/security/tokens.js';
import { checkValueMeta } from '../../../cluster/security/value-meta.js';

const dir = mkdtempSync(join(tmpdir(), 'eau2-sec-units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secretFile = join(dir, 'peer.secret');
writeFileSync(secretFile, 'a'.repeat(64) + '\n');

describe('tokens', () => {
  it('creates tokens whose config entry verifies them, and nothing else', () => {
    const a = createToken('write', 'ci');
    const b = createToken('admin', 'ops');
    expect(a.entry).toEqual({ name: 'ci', sha256: sha256Hex(a.token), role: 'write' });
    expect(a.token).not.toBe(b.token);
    const set = new TokenSet([a.entry, b.entry]);
    expect(set.verify(a.token)).toEqual({ kind: 'token', name: 'ci', role: 'write' });
    expect(set.verify(b.token)).toEqual({ kind: 'token', name: 'ops', role: 'admin' });
    expect(set.verify(`${a.token}x`)).toBeUndefined();
    expect(set.verify(a.entry.sha256)).toBeUndefined(); // the hash is not a token
    expect(set.verify('')).toBeUndefined();
    expect(set.verify(undefined)).toBeUndefined();
    expect(set.verify('x'.repeat(100_000))).toBeUndefined();
    expect(() => createToken('root' as never, 'x')).toThrow(TypeError);
    expect(() => createToken('read', 'bad name')).toThrow(TypeError);
  });

  it('reads bearer tokens from Authorization headers only in the Bearer form', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('orders roles read < write < admin', () => {
    expect(roleAllows('admin', 'write')).toBe(true);
    expect(roleAllows('write', 'read')).toBe(true);
    expect(roleAllows('read', 'write')).toBe(false);
    expect(roleAllows('write', 'admin')).toBe(false);
  });
});

describe('roles', () => {
  it('maps every HTTP route to what it needs', () => {
    expect(httpNeed('GET', '/healthz')).toBe('open');
    expect(httpNeed('GET', '/metrics')).toBe('read');
    expect(httpNeed('GET', '/cluster')).toBe('read');
    expect(httpNeed('GET', '/kv/a')).toBe('read');
    expect(httpNeed('GET', '/kv')).toBe('read');
    expect(httpNeed('PUT', '/kv/a')).toBe('write');
    expect(httpNeed('DELETE', '/kv/a')).toBe('write');
    expect(httpNeed('POST', '/')).toBe('read');
    expect(httpNeed('PUT', '/')).toBe('write');
    expect(httpNeed('GET', '/df')).toBe('read');
    expect(httpNeed('GET', '/df/x')).toBe('read');
    expect(httpNeed('POST', '/df/sql')).toBe('read');
    expect(httpNeed('POST', '/df/x')).toBe('write');
    expect(httpNeed('POST', '/admin/nodes')).toBe('admin');
    expect(httpNeed('GET', '/verify')).toBe('admin');
    expect(httpNeed('POST', '/backup')).toBe('admin');
    expect(httpNeed('POST', '/cluster/move')).toBe('admin');
    expect(httpNeed('POST', '/something-new')).toBe('admin');
    expect(httpNeed('GET', '/something-new')).toBe('read');
  });

  it('keeps replication, registration and restore for members', () => {
    for (const t of [
      MsgType.REGISTER,
      MsgType.SUBSCRIBE,
      MsgType.ACK,
      MsgType.ENTRIES,
      MsgType.RESYNC_BEGIN,
      MsgType.RESYNC_CHUNK,
      MsgType.RESYNC_END,
      MsgType.PULL,
      0x99,
    ])
      expect(peerNeed(t)).toBe('node');
    expect(peerNeed(MsgType.GET)).toBe('read');
    expect(peerNeed(MsgType.PUT)).toBe('write');
    const admin = { kind: 'token', name: 'a', role: 'admin' } as const;
    expect(allowed(admin, 'node')).toBe(false);
    expect(allowed({ kind: 'node', node: 'n1' }, 'node')).toBe(true);
    expect(allowed(undefined, 'read')).toBe(false);
    expect(allowed(undefined, 'open')).toBe(true);
  });
});

describe('protected mode', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
      expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', 'example.com', '192.168.1.1']) expect(isLoopback(h)).toBe(false);
  });

  it('refuses a non-loopback node without auth unless insecure', () => {
    const n = { id: 'n1', host: '0.0.0.0' };
    expect(() => checkProtectedMode(n, { insecure: false })).toThrow(/protected mode.*"auth".*"insecure": true/s);
    expect(() => checkProtectedMode(n, { insecure: true })).not.toThrow();
    expect(() => checkProtectedMode(n, { insecure: false, auth: {} })).not.toThrow();
    expect(() => checkProtectedMode({ id: 'n1', host: '127.0.0.1' }, { insecure: false })).not.toThrow();
  });
});

describe('limits', () => {
  it('caps connections in all and per client address, and frees them on close', async () => {
    const lim = new ConnectionLimiter(3, 2);
    const fake = (addr: string): net.Socket => {
      const s = new net.Socket();
      Object.defineProperty(s, 'remoteAddress', { value: addr });
      return s;
    };
    const a1 = fake('10.0.0.1');
    expect(lim.admit(a1)).toBe('ok');
    expect(lim.admit(fake('10.0.0.1'))).toBe('ok');
    expect(lim.admit(fake('10.0.0.1'))).toBe('client-full');
    expect(lim.admit(fake('10.0.0.2'))).toBe('ok');
    expect(lim.admit(fake('10.0.0.3'))).toBe('node-full');
    a1.emit('close');
    expect(lim.open).toBe(2);
    expect(lim.admit(fake('10.0.0.1'))).toBe('ok');
  });

  it('keeps a byte budget', () => {
    const b = new ByteBudget(100);
    expect(b.take(60)).toBe(true);
    expect(b.take(50)).toBe(false);
    b.give(60);
    expect(b.take(100)).toBe(true);
    expect(b.used).toBe(100);
  });
});

describe('value metadata', () => {
  it('refuses control characters, blanks and long values', () => {
    expect(() => checkValueMeta({ contentType: 'text/plain; charset=utf-8' })).not.toThrow();
    expect(() => checkValueMeta({ contentEncoding: 'gzip' })).not.toThrow();
    for (const bad of ['text/plain\r\nSet-Cookie: x', 'a\nb', 'a\0b', '', ' ', 'x'.repeat(300), 'caf\u00e9', 'a\x7f']) {
      let err: unknown;
      try {
        checkValueMeta({ contentType: bad });
      } catch (e) {
        err = e;
      }
      expect(isEau2Error(err, ErrorCode.INVALID), JSON.stringify(bad)).toBe(true);
    }
  });
});

describe('security config', () => {
  const base = { partitions: 4, nodes: [{ id: 'n1', port: 1, peerPort: 2 }] };

  it('has defaults and no auth', () => {
    const c = parseConfig(base, dir);
    expect(c.security.auth).toBeUndefined();
    expect(c.security.insecure).toBe(false);
    expect(c.security.limits).toEqual(LIMIT_DEFAULTS);
  });

  it('parses auth, reading the secret from its file', () => {
    const t = createToken('admin', 'ops');
    const c = parseConfig({ ...base, auth: { peerSecretFile: 'peer.secret', tokens: [t.entry], audit: true } }, dir);
    expect(c.security.auth!.peerSecret.toString()).toBe('a'.repeat(64));
    expect(c.security.auth!.tokens).toEqual([t.entry]);
    expect(c.security.auth!.audit).toBe(true);
  });

  it('refuses bad auth, tls and limits fields with a clear message', () => {
    const bad: [unknown, RegExp][] = [
      [{ auth: { peerSecretFile: 'missing' } }, /cannot read auth.peerSecretFile/],
      [{ auth: { peerSecretFile: 'peer.secret', tokens: [{ name: 'a', sha256: 'xyz', role: 'read' }] } }, /sha256/],
      [
        { auth: { peerSecretFile: 'peer.secret', tokens: [{ name: 'a', sha256: 'a'.repeat(64), role: 'root' }] } },
        /role/,
      ],
      [{ auth: { peerSecretFile: 'peer.secret', token: [] } }, /unknown field "token"/],
      [{ tls: { cert: 'x', key: 'y', ca: 'z' } }, /cannot read tls.cert/],
      [{ limits: { maxConnections: 0 } }, /limits.maxConnections/],
      [{ limits: { nope: 1 } }, /unknown field "nope"/],
      [{ insecure: 'yes' }, /insecure/],
    ];
    for (const [extra, re] of bad) expect(() => parseSecurityConfig(extra as Record<string, unknown>, dir)).toThrow(re);
    writeFileSync(join(dir, 'short.secret'), 'short');
    expect(() => parseSecurityConfig({ auth: { peerSecretFile: 'short.secret' } }, dir)).toThrow(/at least 16 bytes/);
  });
});

describe('audit', () => {
  it('records writes and admin actions, never reads, never credentials', () => {
    expect(audited('read')).toBe(false);
    expect(audited('write')).toBe(true);
    expect(audited('admin')).toBe(true);
    const lines: unknown[] = [];
    const fakeLog = { info: (o: unknown) => lines.push(o) } as never;
    const log = new AuditLog(fakeLog, true);
    const who = { kind: 'token', name: 'ci', role: 'write' } as const;
    log.record({ who, need: 'read', method: 'GET', route: '/kv/:key', status: 200 });
    log.record({ who, need: 'write', method: 'PUT', route: '/kv/:key', status: 204 });
    expect(lines).toEqual([auditLine({ who, need: 'write', method: 'PUT', route: '/kv/:key', status: 204 })]);
    expect(lines[0]).toMatchObject({ audit: true, who: 'ci', role: 'write', route: '/kv/:key', status: 204 });
    new AuditLog(fakeLog, false).record({ who, need: 'write', method: 'PUT', route: '/kv/:key', status: 204 });
    expect(lines.length).toBe(1);
  });
});
