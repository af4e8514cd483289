// The cluster benchmark end to end in a smoke run (--quick: 1 round, phases of ~1 s): it starts a
// real eau2 cluster (and a Redis Cluster when redis-server is installed), runs every phase with its
// lag probe, and writes a JSON result whose figures are all present and sane. No speed is asserted.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '../..');
const haveRedis = spawnSync('sh', ['-c', 'command -v redis-server && command -v redis-cli']).status === 0;

interface Phase {
  workload: string;
  ops: number;
  writes: number;
  errors: number;
  cpuUsPerOp: number;
  lagSamples: number;
  round: number;
  minorGcPer1kWrites?: number;
}

describe('bench:cluster smoke run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eau2-cluster-bench-test-'));
  let child: ChildProcess | undefined;

  afterAll(() => {
    // The bench and every server it started share its process group.
    if (child?.pid && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('measures every phase of both systems', { timeout: 270_000 }, async () => {
    const out = join(dir, 'result.json');
    const args = ['--import', 'tsx', 'bench/cluster/main.ts', '--quick', '--duration', '1', '--warmup', '0.5'];
    args.push('--records', '500', '--in-flight', '16', '--out', out);
    if (!haveRedis) args.push('--skip-redis');
    child = spawn(process.execPath, args, { cwd: REPO, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    // A run takes ~20 s on an idle machine, longer on a loaded one (starting the nodes from the
    // TypeScript sources is most of it). One that has not ended within four minutes is stuck, and
    // what it printed (each step's time) says where; the test's own timeout would drop that.
    const code = await new Promise<number | null | 'stuck'>((res) => {
      const t = setTimeout(() => res('stuck'), 240_000);
      child!.once('exit', (c) => {
        clearTimeout(t);
        res(c);
      });
    });
    if (code === 'stuck') {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }
    expect(code, `bench output:\n${output}`).toBe(0);
    const r = JSON.parse(readFileSync(out, 'utf8')) as {
      phases: string[];
      results: Record<string, Phase[]>;
      loadAverage: { start: number[]; end: number[] };
    };
    expect(r.phases).toEqual(['load', 'A', 'B', 'C', 'F']);
    expect(r.loadAverage.start).toHaveLength(3);
    const systems = haveRedis ? ['eau2', 'redis'] : ['eau2'];
    for (const wl of r.phases) {
      for (const s of systems) {
        const runs = r.results[`${wl}/${s}`];
        expect(runs, `${wl}/${s}`).toHaveLength(1);
        const p = runs![0]!;
        expect(p.workload).toBe(wl);
        expect(p.errors, `${wl}/${s}`).toBe(0);
        if (wl === 'load') expect(p.ops).toBeGreaterThanOrEqual(500);
        else expect(p.ops).toBeGreaterThan(0);
        if (wl !== 'C') expect(p.writes).toBeGreaterThan(0);
        else expect(p.writes).toBe(0);
        expect(p.cpuUsPerOp, `${wl}/${s}`).toBeGreaterThan(0);
        if (s === 'eau2' && wl !== 'C') expect(p.minorGcPer1kWrites).toBeGreaterThanOrEqual(0);
      }
    }
    expect(output).toContain('median (min-max) over rounds');
  });
});
