// Small things a new user of `eau2 df` and `npm run demo` meets: the export format follows from the
// --out file name, help texts give each default once, and the demo explains its options instead
// of printing a stack trace.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../cluster/index.js';
import { DataFrame } from '../../dataframe/index.js';
import { CLI, REPO, TestCluster } from '../cluster/support/cluster-harness.js';

function run(file: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('eau2 df and npm run demo, as a new user meets them', { timeout: 300_000 }, () => {
  let c: TestCluster;
  const dir = mkdtempSync(join(tmpdir(), 'eau2-df-usage-'));
  beforeAll(async () => {
    c = await TestCluster.start({ nodes: 1, partitions: 2, replicationFactor: 1 });
    const client = await ClusterClient.connect([c.nodes[0]!.url]);
    try {
      await DataFrame.put(client, 'f', DataFrame.fromColumns({ x: Float64Array.from([1, 2]), s: ['a', 'b'] }));
    } finally {
      await client.close();
    }
  });
  afterAll(async () => {
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes the export format from the --out file name', async () => {
    const url = c.nodes[0]!.url;
    for (const [file, check] of [
      ['f.csv', (t: string) => expect(t).toBe('x,s\n1,a\n2,b\n')],
      [
        'f.json',
        (t: string) =>
          expect(JSON.parse(t)).toEqual([
            { x: 1, s: 'a' },
            { x: 2, s: 'b' },
          ]),
      ],
      ['f.ndjson', (t: string) => expect(t.trim().split('\n').length).toBe(2)],
    ] as const) {
      const r = await run(CLI, ['df', 'export', 'f', '-o', join(dir, file), '--url', url]);
      expect(r.status, r.stderr).toBe(0);
      check(readFileSync(join(dir, file), 'utf8'));
    }
    const unknown = await run(CLI, ['df', 'export', 'f', '-o', join(dir, 'f.txt'), '--url', url]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/give --format/);
    const stdout = await run(CLI, ['df', 'export', 'f', '--url', url]);
    expect(stdout.status).toBe(2);
  });

  it('refuses a --delimiter the CSV importer cannot use as a usage error, before reading the file', async () => {
    for (const d of ['"', ';;', '']) {
      const r = await run(CLI, [
        'df',
        'import',
        'g',
        join(dir, 'missing.csv'),
        '--delimiter',
        d,
        '--url',
        c.nodes[0]!.url,
      ]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain('--delimiter: the delimiter must be one character other than a quote');
    }
  });

  it('gives each default once in df show --help', async () => {
    const r = await run(CLI, ['df', 'show', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('(default: 10)');
    expect(r.stdout).not.toMatch(/\(default 10\)/);
  });

  it('explains npm run demo -- --help, and a bad option without a stack trace', async () => {
    const demo = join(REPO, 'app/apps/main.ts');
    const help = await run(demo, ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/usage: npm run demo/);
    const bad = await run(demo, ['--bogus']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/usage: npm run demo/);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });
});
