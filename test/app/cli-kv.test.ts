// eau2 put/get/del/scan/status against a running cluster, as a new user meets them: stored bytes
// printed exactly (no Content-Encoding decoding), every key reachable (`.`, `..`, binary, newlines
// and tabs), the node's own answer for a refused upload, usage errors caught before any request,
// something that is not eau2 named as such, several endpoints, and a degraded cluster reported.

import { spawn } from 'node:child_process';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeAll } from '../../cluster/placement.js';
import { partitionOf, utf8 } from '../../kv/index.js';
import { CLI, REPO, TestCluster } from '../cluster/support/cluster-harness.js';
import { freePorts } from '../cluster/support/cluster-harness.js';

interface Run {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

function eau2(args: string[], input?: Uint8Array | string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: REPO,
      env: { ...process.env, EAU2_URL: '', ...env },
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('close', (status) => resolve({ status, stdout: Buffer.concat(out), stderr: err }));
    child.stdin.end(input);
  });
}

// Each run of the command starts a process that compiles the CLI with tsx: seconds on a loaded machine.
describe('eau2 put/get/del/scan/status', { timeout: 300_000 }, () => {
  let c: TestCluster;
  let url: string;
  let other: http.Server;
  let otherUrl: string;
  beforeAll(async () => {
    c = await TestCluster.start({ nodes: 2, partitions: 4, replicationFactor: 2, extra: { maxBodyBytes: 4096 } });
    url = c.nodes[0]!.url;
    other = http.createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>nope</h1>'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    otherUrl = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    other?.close();
    await c?.stop();
  });

  it('prints the stored bytes exactly, whatever Content-Encoding says', async () => {
    const gz = gzipSync('hello');
    expect((await eau2(['put', 'gz', '-e', 'gzip', '--url', url], gz)).status).toBe(0);
    expect((await eau2(['get', 'gz', '--url', url])).stdout).toEqual(gz);
    expect((await eau2(['put', 'fake-br', 'plain text', '-e', 'br', '--url', url])).status).toBe(0);
    const r = await eau2(['get', 'fake-br', '--url', url]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.toString()).toBe('plain text');
  });

  it('reaches every key: . and .., binary keys in hex, newlines and tabs', async () => {
    for (const k of ['.', '..', 'a/../b', '%2e', 'line\nbreak\tand tab']) {
      expect((await eau2(['put', k, `value of ${k}`, '--url', url])).status, k).toBe(0);
      expect((await eau2(['get', k, '--url', url])).stdout.toString(), k).toBe(`value of ${k}`);
    }
    expect((await eau2(['put', '--hex', 'ff00fe', '00ff', '--url', url])).status).toBe(0);
    expect((await eau2(['get', '--hex', 'ff00fe', '--url', url])).stdout.toString()).toBe('00ff\n');
    expect((await eau2(['del', '.', '--url', url])).status).toBe(0);
    expect((await eau2(['get', '.', '--url', url])).status).toBe(1);
    expect((await eau2(['get', '..', '--url', url])).status).toBe(0);
    const scan = (await eau2(['scan', '--url', url, '--limit', '10000'])).stdout.toString();
    const lines = scan.split('\n').filter((l) => l !== '');
    expect(lines).toContain('line\\nbreak\\tand tab\tvalue of line\\nbreak\\tand tab');
    expect(lines).toContain('\\xff\\x00\\xfe\t\\x00\\xff');
    for (const l of lines) expect(l.split('\t').length, l).toBe(2);
    const json = (await eau2(['scan', '--json', '--url', url])).stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { hex: string; value64: string });
    expect(json.find((j) => j.hex === 'ff00fe')?.value64).toBe(Buffer.of(0, 0xff).toString('base64'));
  });

  it('pages a scan with a hint that works and holds no raw NUL byte', async () => {
    for (let i = 0; i < 5; i++) expect((await eau2(['put', `page:${i}`, `${i}`, '--url', url])).status).toBe(0);
    const first = await eau2(['scan', '-p', 'page:', '-l', '2', '--url', url]);
    expect(first.stdout.toString()).toBe('page:0\t0\npage:1\t1\n');
    expect(first.stderr).not.toContain('\u0000');
    const hint = /continue with (.*)\)/.exec(first.stderr)![1]!;
    expect(hint).toBe("--after 'page:1'");
    const next = await eau2(['scan', '-p', 'page:', '-l', '2', '--after', 'page:1', '--url', url]);
    expect(next.stdout.toString()).toBe('page:2\t2\npage:3\t3\n');
  });

  it("reports the node's 413 for a value over maxBodyBytes", async () => {
    const r = await eau2(['put', 'big', '--url', url], Buffer.alloc(1 << 20, 1));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/413 TOO_LARGE/);
  });

  it('refuses bad option values before any request, with exit code 2', async () => {
    for (const args of [
      ['put', 'k', 'v', '-w', 'abc'],
      ['get', 'k', '-r', 'bogus'],
      ['scan', '-l', '0'],
      ['scan', '-l', 'x'],
      ['get', '--hex', 'zz'],
      ['get', 'k', '--url', 'ftp://x'],
    ]) {
      // The URL leads nowhere: a round trip would fail with exit code 1, not 2.
      const r = await eau2([...args, ...(args.includes('--url') ? [] : ['--url', 'http://127.0.0.1:9'])]);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
    }
  });

  it('says when the server is not an eau2 node, instead of "not found"', async () => {
    const r = await eau2(['get', 'k', '--url', otherUrl]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/is not an eau2 node/);
    expect(r.stderr).not.toMatch(/not found/);
  });

  it('takes several endpoints in --url and EAU2_URL, skipping those it cannot reach', async () => {
    const [dead] = await freePorts(1);
    expect((await eau2(['put', 'multi', 'v', '--url', `http://127.0.0.1:${dead},${url}`])).status).toBe(0);
    const r = await eau2(['get', 'multi'], undefined, { EAU2_URL: `http://127.0.0.1:${dead}, ${c.nodes[1]!.url}` });
    expect(r.stdout.toString()).toBe('v');
    const none = await eau2(['get', 'multi', '--url', `http://127.0.0.1:${dead}`]);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/cannot reach the cluster/);
  });

  it('shows a down node plainly and exits 1 while the cluster is degraded', async () => {
    const ok = await eau2(['status', '--url', url]);
    expect(ok.status, ok.stderr).toBe(0);
    await c.kill('n2');
    try {
      let r: Run | undefined;
      for (let i = 0; i < 60; i++) {
        r = await eau2(['status', '--url', url]);
        if (r.status !== 0) break;
        await new Promise((res) => setTimeout(res, 250));
      }
      expect(r!.status).toBe(1);
      expect(r!.stdout.toString()).toMatch(/n2 .*DOWN/);
      expect(r!.stdout.toString()).toMatch(/DEGRADED: n2 down/);
      expect(r!.stdout.toString()).not.toMatch(/n2 \(\d+, 0\)/);
      expect(r!.stderr).toMatch(/degraded/);
      // A write to a partition n2 leads names the node and the partition, not a port.
      const key = Array.from({ length: 100 }, (_, i) => `led-by-n2:${i}`).find(
        (k) =>
          placeAll({ partitions: 4, replicationFactor: 2, nodes: c.nodes.map((n) => ({ ...n, host: '127.0.0.1' })) })[
            partitionOf(utf8(k), 4)
          ]!.leader === 'n2',
      )!;
      const put = await eau2(['put', key, 'v', '--url', url]);
      expect(put.status).toBe(1);
      expect(put.stderr).toMatch(/503 UNAVAILABLE: node n2, leader of partition \d+, is unreachable/);
    } finally {
      await c.restart('n2');
    }
  });
});
