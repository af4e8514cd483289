// The eau2 command: help and version, conventional exit codes, and `eau2 local` end to end: it starts
// the nodes, serves put/get through the CLI, stops every node on SIGTERM, and finds its data when run
// again on the same folder.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, REPO, freePortLayout } from '../cluster/support/cluster-harness.js';

function eau2(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: REPO,
    encoding: 'utf8',
    input,
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** eau2 local's ports for 2 nodes (HTTP base + i, peer base + 100 + i, RESP base + 200 + i), reserved. */
function localBase(): Promise<number> {
  return freePortLayout([0, 1, 100, 101, 200, 201]);
}

describe('eau2 CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eau2-cli-'));
  const children: ChildProcess[] = [];
  afterAll(async () => {
    // A test that failed midway leaves its `eau2 local` running: SIGTERM first, so that it stops its
    // node processes (a SIGKILL of it alone leaves them running, on the next test's ports), then
    // SIGKILL whatever has not exited within 20 s.
    await Promise.all(
      children
        .filter((c) => c.exitCode === null && c.signalCode === null)
        .map(
          (c) =>
            new Promise<void>((resolve) => {
              const t = setTimeout(() => {
                c.kill('SIGKILL');
                resolve();
              }, 20_000);
              c.once('exit', () => {
                clearTimeout(t);
                resolve();
              });
              c.kill('SIGTERM');
            }),
        ),
    );
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('explains itself and exits with conventional codes', () => {
    const help = eau2(['--help']);
    expect(help.status).toBe(0);
    for (const cmd of ['node', 'local', 'put', 'get', 'del', 'scan', 'status']) expect(help.stdout).toContain(cmd);
    expect(eau2(['local', '--help']).stdout).toContain('--replicas');
    expect(eau2(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(eau2(['frobnicate']).status).toBe(2);
    const down = eau2(['get', 'k', '--url', 'http://127.0.0.1:9']);
    expect(down.status).toBe(1);
    expect(down.stderr).toMatch(/cannot reach/);
  });

  async function startLocal(base: number): Promise<{ child: ChildProcess; out: () => string }> {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        CLI,
        'local',
        '--nodes',
        '2',
        '--replicas',
        '2',
        '--partitions',
        '4',
        '--dir',
        dir,
        '--port',
        String(base),
        '--log-level',
        'warn',
      ],
      {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const deadline = Date.now() + 40_000;
    while (!out.includes('Ctrl-C')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`eau2 local did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { child, out: () => out };
  }

  async function stop(child: ChildProcess): Promise<number | null> {
    return new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });
  }

  let base = 0;

  it('runs a local cluster that serves the commands, and stops it on SIGTERM', { timeout: 240_000 }, async () => {
    base = await localBase();
    const url = `http://127.0.0.1:${base}`;
    const first = await startLocal(base);
    try {
      await servesAndStops(first, url);
    } finally {
      // Failed before its own stop: the next test starts a cluster on the same ports.
      if (first.child.exitCode === null && first.child.signalCode === null) await stop(first.child);
    }
  });

  async function servesAndStops(first: { child: ChildProcess; out: () => string }, url: string): Promise<void> {
    expect(first.out()).toContain(`http://127.0.0.1:${base + 1}`);
    expect(first.out()).toContain(`Console: ${url}/ui/`);
    // Each CLI run starts a TypeScript process (seconds on a busy machine): one per command.
    expect(eau2(['put', 'greeting', 'hello', '--url', url, '-w', 'all']).status).toBe(0);
    expect(eau2(['put', 'piped', '--url', url], 'from stdin').status).toBe(0);
    const got = eau2(['get', 'greeting', '--url', `http://127.0.0.1:${base + 1}`]);
    expect(got.status).toBe(0);
    expect(got.stdout).toBe('hello');
    expect(eau2(['scan', '--url', url]).stdout).toBe('greeting\thello\npiped\tfrom stdin\n');
    expect(eau2(['status', '--url', url]).stdout).toContain('n2');
    // Every node speaks the Redis protocol on the port printed for it.
    expect(first.out()).toContain(`resp 127.0.0.1:${base + 201}`);
    const cli = spawnSync('redis-cli', ['-p', String(base + 201), 'get', 'greeting'], { encoding: 'utf8' });
    expect(cli.stdout).toBe('hello\n');
    expect(await stop(first.child)).toBe(0);
    expect(first.out()).toContain('stopped.');
    // Every node process is gone: its HTTP port is free again.
    expect(await portFree(base)).toBe(true);
    expect(await portFree(base + 1)).toBe(true);
  }

  it('finds its data when run again on the same folder', async () => {
    expect(base).toBeGreaterThan(0);
    const url = `http://127.0.0.1:${base}`;
    const second = await startLocal(base);
    expect(await (await fetch(`${url}/kv/greeting`)).text()).toBe('hello');
    expect(eau2(['del', 'greeting', '--url', url]).status).toBe(0);
    expect(eau2(['get', 'greeting', '--url', url]).status).toBe(1); // not found
    expect(await stop(second.child)).toBe(0);
  });
});
