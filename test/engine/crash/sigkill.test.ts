// Crash safety against a real process kill: a child writes as fast as it can and is killed with
// SIGKILL at a random moment. Reopened, the database must hold a prefix of the write order
// containing every acknowledged write (a killed process loses nothing it handed to the kernel,
// and synced writes would survive a power cut as well — see power-cut.test.ts).

import { afterAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../../engine/index.js';
import { BASE_SEED, seededRng } from '../vfs/seeded-random.js';

const dec = new TextDecoder();
const root = mkdtempSync(join(tmpdir(), 'eau2-kill-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const child = join(import.meta.dirname, 'writer-child.ts');

/** Runs the writer until it has acknowledged `killAfter` writes (or 20 s pass), then SIGKILLs it. */
function runAndKill(dir: string, seed: number, killAfter: number): Promise<Array<{ i: number; sync: boolean }>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, dir, String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acked: Array<{ i: number; sync: boolean }> = [];
    let buf = '';
    let stderr = '';
    let killed = false;
    const kill = () => {
      if (!killed) {
        killed = true;
        p.kill('SIGKILL');
      }
    };
    const timer = setTimeout(kill, 20_000);
    p.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'ready') continue;
        const [i, s] = line.split(' ');
        acked.push({ i: Number(i), sync: s === '1' });
        if (acked.length >= killAfter) kill();
      }
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited (${code}) before it was killed: ${stderr}`));
      resolve(acked);
    });
  });
}

describe('SIGKILL at random moments', () => {
  test('each reopened database holds a prefix of the writes including every acknowledged one', async () => {
    const rng = seededRng(BASE_SEED + 77);
    for (let t = 0; t < 6; t++) {
      const dir = join(root, `db${t}`);
      // Several kills of the same directory: recovery itself gets interrupted and recovered.
      let expectedAtLeast = 0;
      for (let round = 0; round < 2; round++) {
        const acked = await runAndKill(dir, rng.int(1, 1e9), rng.int(30, 1500));
        const db = await Engine.open(dir);
        const present: number[] = [];
        for await (const [k] of db.iterator()) present.push(Number(dec.decode(k).slice(1)));
        await db.close();
        present.forEach((n, idx) => expect(n, `hole at write ${idx} (trial ${t}, seed ${rng.seed})`).toBe(idx));
        const maxAcked = acked.reduce((m, a) => Math.max(m, a.i), -1);
        // A restarted writer begins again at k000000, so earlier rounds only raise the floor.
        expect(present.length, `acknowledged write ${maxAcked} lost (trial ${t})`).toBeGreaterThan(
          Math.max(maxAcked, expectedAtLeast - 1),
        );
        expectedAtLeast = present.length;
      }
    }
  }, 240_000);
});
