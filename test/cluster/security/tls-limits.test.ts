// TLS (HTTPS, TLS between nodes, clients verifying the CA), `eau2 token create` and
// `eau2 local --secure`, protected mode, and the connection limits (idle and slow connections,
// huge headers) with the node's memory bounded and other clients served.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../../cluster/client/cluster-client.js';
import { secureFetch } from '../../../cluster/security/http-fetch.js';
import { makeLocalPki } from '../../../cluster/security/tls.js';
import { createToken, sha256Hex } from '../../../cluster/security/tokens.js';
import { CLI, eventually, freePorts, REPO, sleep, TestCluster } from '../support/cluster-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'eau2-sec-tls-'));
const clusters: TestCluster[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const ch of children) if (ch.exitCode === null) ch.kill('SIGKILL');
  await Promise.all(clusters.map((x) => x.stop()));
  rmSync(dir, { recursive: true, force: true });
});

function eau2(args: string[], env: Record<string, string> = {}, input?: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, EAU2_TOKEN: '', EAU2_CA: '', ...env },
    ...(input !== undefined ? { input } : {}),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('TLS', { timeout: 300_000 }, () => {
  it('serves HTTPS and TLS between nodes; clients verify the CA; a wrong CA is refused', async () => {
    const pki = await makeLocalPki(1);
    const other = await makeLocalPki(1);
    writeFileSync(join(dir, 'ca.pem'), pki.ca.cert);
    writeFileSync(join(dir, 'other-ca.pem'), other.ca.cert);
    writeFileSync(join(dir, 'node.pem'), pki.nodes.cert);
    writeFileSync(join(dir, 'node-key.pem'), pki.nodes.key);
    writeFileSync(join(dir, 'peer.secret'), 'z'.repeat(40));
    const admin = createToken('admin', 'ops');
    const c = await TestCluster.start({
      nodes: 2,
      partitions: 4,
      replicationFactor: 2,
      startTimeoutMs: 120_000,
      ca: Buffer.from(pki.ca.cert),
      logLevel: 'info',
      extra: {
        auth: { peerSecretFile: join(dir, 'peer.secret'), tokens: [admin.entry], audit: true },
        tls: { cert: join(dir, 'node.pem'), key: join(dir, 'node-key.pem'), ca: join(dir, 'ca.pem') },
      },
    });
    clusters.push(c);
    const url = c.node('n1').url;
    expect(url.startsWith('https://')).toBe(true);
    // Writes with w=all need the follower: nodes speak TLS, with certificates, to each other.
    const client = await ClusterClient.connect([url], { token: admin.token, ca: pki.ca.cert, w: 'all' });
    for (let i = 0; i < 20; i++) await client.put(`t${i}`, `v${i}`);
    expect(Buffer.from((await client.get('t7'))!).toString()).toBe('v7');
    await client.close();
    const r = await secureFetch(`${c.node('n2').url}/kv/t3`, {
      ca: Buffer.from(pki.ca.cert),
      headers: { authorization: `Bearer ${admin.token}` },
    });
    expect(await r.text()).toBe('v3');
    // Another CA: refused by the client, over HTTPS and on the peer port.
    await expect(secureFetch(`${url}/healthz`, { ca: Buffer.from(other.ca.cert) })).rejects.toThrow(/certificate/);
    await expect(ClusterClient.connect([url], { token: admin.token, ca: other.ca.cert })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
    // Plain HTTP to the HTTPS port gets nothing served.
    await expect(fetch(`http://127.0.0.1:${new URL(url).port}/healthz`)).rejects.toThrow();
    // The CLI with --ca and --token, or $EAU2_CA and $EAU2_TOKEN.
    const ca = join(dir, 'ca.pem');
    expect(eau2(['put', 'cli-key', 'cli-value', '--url', url, '--ca', ca, '--token', admin.token]).status).toBe(0);
    const got = eau2(['get', 'cli-key', '--url', c.node('n2').url], { EAU2_CA: ca, EAU2_TOKEN: admin.token });
    expect(got.stdout).toBe('cli-value');
    const noToken = eau2(['get', 'cli-key', '--url', url, '--ca', ca]);
    expect(noToken.status).toBe(1);
    expect(noToken.stderr).toMatch(/401 UNAUTHENTICATED.*--token/);
    const wrongCa = eau2(['get', 'cli-key', '--url', url, '--ca', join(dir, 'other-ca.pem'), '--token', admin.token]);
    expect(wrongCa.status).toBe(1);
    // Audit lines name the token, never contain it; reads are not audited, writes are.
    await sleep(200);
    const log = c.log('n1') + c.log('n2');
    expect(log).not.toContain(admin.token);
    expect(log).not.toContain(readFileSync(join(dir, 'peer.secret'), 'utf8'));
    const audits = log
      .split('\n')
      .filter((l) => l.includes('"audit":true'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audits).toContainEqual(
      expect.objectContaining({ who: 'ops', role: 'admin', method: 'PUT', route: '/kv/:key', status: 204 }),
    );
    expect(audits).toContainEqual(expect.objectContaining({ who: 'ops', method: 'PEER', route: 'PUT', status: 200 }));
    expect(audits.some((a) => a.method === 'GET' && a.route === '/kv/:key')).toBe(false);
  });
});

describe('eau2 token create and eau2 local --secure', { timeout: 300_000 }, () => {
  it('token create prints a token and the config line that admits it', () => {
    const r = eau2(['token', 'create', '--role', 'write', '--name', 'ci']);
    expect(r.status).toBe(0);
    const [token, line] = r.stdout.trim().split('\n');
    expect(JSON.parse(line!)).toEqual({ name: 'ci', sha256: sha256Hex(token!), role: 'write' });
    expect(eau2(['token', 'create', '--role', 'root']).status).toBe(2);
  });

  it('local --secure starts a TLS cluster with an admin token and says how to use it', async () => {
    const ldir = join(dir, 'local');
    const [base] = await freePorts(1);
    // eau2 local uses port..port+n-1 and port+100..: pick a base whose neighbours are likely free too.
    const port = 20_000 + (base! % 20_000);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, 'local', '--secure', '--nodes', '1', '--replicas', '1', '--partitions', '2'].concat([
        '--dir',
        ldir,
        '--port',
        String(port),
        '--log-level',
        'warn',
      ]),
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    expect(await eventually(async () => out.includes('Ctrl-C') || child.exitCode !== null, 180_000)).toBe(true);
    expect(out).toContain('Secured');
    expect(out).toContain(`https://127.0.0.1:${port}`);
    const token = readFileSync(join(ldir, 'admin.token'), 'utf8').trim();
    expect(out).toContain(`EAU2_TOKEN=${token}`);
    const env = { EAU2_TOKEN: token, EAU2_CA: join(ldir, 'tls', 'ca.pem') };
    const url = `https://127.0.0.1:${port}`;
    expect(eau2(['put', 'greeting', 'hello', '--url', url], env).status).toBe(0);
    expect(eau2(['get', 'greeting', '--url', url], env).stdout).toBe('hello');
    expect(eau2(['get', 'greeting', '--url', url], { EAU2_CA: env.EAU2_CA }).status).toBe(1);
    await new Promise<void>((r) => {
      child.once('exit', () => r());
      child.kill('SIGTERM');
    });
  });
});

describe('protected mode', { timeout: 300_000 }, () => {
  it('a node on a non-loopback address without auth refuses to start and says how to fix it', async () => {
    const [p1, p2] = await freePorts(2);
    const cfg = join(dir, 'exposed.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        partitions: 2,
        nodes: [{ id: 'n1', host: '0.0.0.0', port: p1, peerPort: p2, dataDir: join(dir, 'exposed') }],
      }),
    );
    const r = eau2(['node', '--config', cfg, '--id', 'n1']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/protected mode/);
    expect(r.stderr).toMatch(/"insecure": true/);
    expect(r.stderr).toMatch(/eau2 token create/);
  });
});

describe('limits', { timeout: 300_000 }, () => {
  it('idle, slow and oversized connections are refused with the node serving others, memory bounded', async () => {
    const c = await TestCluster.start({
      nodes: 1,
      partitions: 2,
      replicationFactor: 1,
      startTimeoutMs: 120_000,
      extra: { limits: { maxConnectionsPerClient: 20, headersTimeoutMs: 1000, maxHeaderBytes: 4096 } },
    });
    clusters.push(c);
    const port = c.node('n1').port;
    const rss = async (): Promise<number> => {
      const text = await (await fetch(`${c.node('n1').url}/metrics`)).text();
      return Number(/^process_resident_memory_bytes\{[^}]*\} (\d+)/m.exec(text)![1]);
    };
    const before = await rss();
    // 30 idle connections from one address: past 20, each is answered 429 and closed.
    const idle: net.Socket[] = [];
    const answers: string[] = [];
    for (let i = 0; i < 30; i++) {
      const s = net.connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.on('data', (d: Buffer) => answers.push(d.toString('latin1').split('\r\n')[0]!));
      idle.push(s);
    }
    expect(await eventually(async () => answers.filter((a) => a.includes('429')).length >= 10, 5000)).toBe(true);
    // Another client address is still served.
    const other = await new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/healthz', localAddress: '127.0.0.2' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(other).toBe(200);
    // Slow headers: cut after limits.headersTimeoutMs (408), which frees the slots.
    for (const s of idle) s.write('GET /healthz HTTP/1.1\r\nhost: x\r\n');
    expect(await eventually(async () => idle.every((s) => s.destroyed || s.readableEnded), 8000)).toBe(true);
    for (const s of idle) s.destroy();
    // A head over limits.maxHeaderBytes: 431.
    const big = await fetch(`${c.node('n1').url}/healthz`, { headers: { 'x-pad': 'a'.repeat(8192) } });
    expect(big.status).toBe(431);
    // Many short-lived slow connections do not grow the node.
    for (let round = 0; round < 5; round++) {
      const socks = Array.from({ length: 20 }, () => {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => {});
        s.write(`PUT /kv/x HTTP/1.1\r\nhost: x\r\nx-pad: ${'b'.repeat(3000)}`);
        return s;
      });
      await sleep(300);
      for (const s of socks) s.destroy();
    }
    // Once the server has seen them close (their slots are freed), a client from the same address is served.
    expect(await eventually(async () => (await fetch(`${c.node('n1').url}/healthz`)).status === 200, 10_000)).toBe(
      true,
    );
    expect((await rss()) - before).toBeLessThan(64 * 1024 * 1024);
  });
});
