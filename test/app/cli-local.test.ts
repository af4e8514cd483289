// `eau2 local` when it cannot have its cluster, and once it runs (a node that dies is restarted): another process holds one of its ports, or a node's
// data directory is locked by another process. It says so in one line naming the node, never
// prints the "Try: ..." banner of a cluster that is not its own, and the node's log holds only
// JSON lines.

import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../engine/index.js';
import { CLI, REPO, freePortLayout } from '../cluster/support/cluster-harness.js';

function local(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, 'local', '--nodes', '1', '--replicas', '1', ...args],
      {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (status) => {
      clearTimeout(kill);
      resolve({ status, stdout, stderr });
    });
  });
}

/** eau2 local's ports for 2 nodes (HTTP base + i, peer base + 100 + i, RESP base + 200 + i), reserved. */
function basePort(): Promise<number> {
  return freePortLayout([0, 1, 100, 101, 200, 201]);
}

describe('eau2 local: its own cluster, or a clear refusal, and supervised nodes', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'eau2-local-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the port held by another process and prints no banner', async () => {
    const port = await basePort();
    // Something else on the port, even one answering /healthz with 200.
    const other = http.createServer((_q, r) =>
      r.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'),
    );
    await new Promise<void>((r) => other.listen(port, '127.0.0.1', r));
    try {
      const r = await local(['--port', String(port), '--dir', join(dir, 'a')]);
      expect(r.status).toBe(1);
      expect(r.stdout).not.toContain('Try:');
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^eau2: port ${port} \\(node n1's HTTP port\\) is in use by another process`)),
      ]);
    } finally {
      other.close();
    }
  });

  it('names the node whose data directory is locked, and its log holds only JSON lines', async () => {
    const port = await basePort();
    const d = join(dir, 'b');
    const holder = await Engine.open(join(d, 'n1'));
    try {
      const r = await local(['--port', String(port), '--dir', d]);
      expect(r.status).toBe(1);
      expect(r.stdout).not.toContain('Try:');
      expect(r.stderr).toMatch(
        new RegExp(`^eau2: node n1 could not start: database is locked by process ${process.pid}\\b`),
      );
      expect(r.stderr).not.toMatch(/every node exited/);
      for (const line of readFileSync(join(d, 'n1.log'), 'utf8').trim().split('\n'))
        expect(() => JSON.parse(line), line).not.toThrow();
    } finally {
      await holder.close();
    }
  });

  it('restarts a node that dies, logging to its file, and stops cleanly after', async () => {
    const port = await basePort();
    const d = join(dir, 'c');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CLI, 'local', '--nodes', '2', '--replicas', '1', '--port', String(port), '--dir', d],
      {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (x: Buffer) => {
      stdout += x.toString();
    });
    child.stderr!.on('data', (x: Buffer) => {
      stderr += x.toString();
    });
    const waitFor = async (what: string, ok: () => boolean | Promise<boolean>, ms = 120_000): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!(await ok())) {
        if (Date.now() > deadline) throw new Error(`no ${what}: ${stdout} ${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    const servingPids = (): number[] =>
      readFileSync(join(d, 'n2.log'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg?: string; pid: number })
        .filter((j) => j.msg === 'node serving')
        .map((j) => j.pid);
    try {
      await waitFor('banner', () => stdout.includes('Try:'));
      const [pid] = servingPids();
      process.kill(pid!, 'SIGKILL');
      await waitFor('restart notice', () => /node n2 exited \(SIGKILL\); restarting it in 0\.5 s/.test(stderr));
      await waitFor('a second start of n2 in its log', () => servingPids().length === 2);
      const health = await fetch(`http://127.0.0.1:${port + 1}/healthz`);
      expect(((await health.json()) as { node: string }).node).toBe('n2');
      child.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      expect(code).toBe(0);
      expect(stdout).toContain('stopped.');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
