// The directory lock after a crash: a LOCK left by a process that no longer runs is taken over,
// including one killed a moment ago whose parent has not reaped it yet (a zombie still answers
// kill(pid, 0)), and one whose pid now belongs to another process. A live owner keeps it.

import { afterAll, describe, expect, test } from 'vitest';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../../engine/index.js';
import { BASE_SEED, seededRng } from './seeded-random.js';

const root = mkdtempSync(join(tmpdir(), 'eau2-lock-'));
const started: ChildProcess[] = [];
afterAll(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const writer = join(import.meta.dirname, '..', 'crash', 'writer-child.ts');

function procComm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function procState(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/**
 * Starts `cmd` in the background of a shell that then becomes `sleep`, which never reaps children:
 * once killed, the background process stays a zombie (as a node killed under a supervisor that has
 * not waited for it yet). Resolves with the background process's pid and the shell's stdout.
 */
function underNonReapingParent(cmd: string): Promise<{ pid: number; parent: ChildProcess; lines: string[] }> {
  const parent = spawn('sh', ['-c', `${cmd} & echo "pid $!"; exec sleep 120`], { stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(parent);
  const lines: string[] = [];
  let buf = '';
  return new Promise((resolve, reject) => {
    parent.on('error', reject);
    parent.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('pid ')) {
          // Until the shell has become sleep it reaps its children itself: a child killed before
          // that is gone, not a zombie. So the background process is handed over only then.
          const pid = Number(line.slice(4));
          void until('the shell to become sleep', () => procComm(parent.pid!) === 'sleep').then(
            () => resolve({ pid, parent, lines }),
            reject,
          );
        } else lines.push(line);
      }
    });
  });
}

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('LOCK of a process that no longer runs', () => {
  test('a zombie owner does not hold the lock', async () => {
    const { pid, parent } = await underNonReapingParent('sleep 120');
    process.kill(pid, 'SIGKILL');
    await until('the zombie', () => procState(pid) === 'Z');
    const dir = join(root, 'zombie');
    const db0 = await Engine.open(dir);
    await db0.close();
    // Both LOCK formats: the pid alone (older), and pid with start time.
    for (const text of [`${pid}\n`, `${pid} 1\n`]) {
      writeFileSync(join(dir, 'LOCK'), text);
      const db = await Engine.open(dir);
      await db.close();
    }
    parent.kill('SIGKILL');
  });

  test('a reused pid (another start time) does not hold the lock; the recorded owner does', async () => {
    const { pid, parent } = await underNonReapingParent('sleep 120');
    const dir = join(root, 'reused');
    const db0 = await Engine.open(dir);
    await db0.close();
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const start = s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
    writeFileSync(join(dir, 'LOCK'), `${pid} ${start}\n`);
    await expect(Engine.open(dir)).rejects.toMatchObject({ code: 'LOCKED' });
    writeFileSync(join(dir, 'LOCK'), `${pid} ${Number(start) + 1}\n`);
    const db = await Engine.open(dir);
    await db.close();
    parent.kill('SIGKILL');
  });

  test('kill-and-restart loop: reopened at once after every SIGKILL, holding every acknowledged write', async () => {
    const rng = seededRng(BASE_SEED + 606);
    const dir = join(root, 'loop');
    for (let round = 0; round < 4; round++) {
      const { pid, parent, lines } = await underNonReapingParent(
        `'${process.execPath}' --import tsx '${writer}' '${dir}' ${rng.int(1, 1e9)}`,
      );
      const killAfter = rng.int(1, 400);
      await until('the writer', () => lines.length > killAfter);
      process.kill(pid, 'SIGKILL');
      const acked = lines.filter((l) => l !== 'ready').map((l) => Number(l.split(' ')[0]));
      // A signal is delivered asynchronously: wait until the process has died (a zombie, never
      // reaped by its parent here), as a supervisor restarts once it sees the exit.
      await until('the kill', () => procState(pid) === 'Z' || procState(pid) === undefined);
      const db = await Engine.open(dir);
      for (const i of acked) {
        expect(
          await db.get(`k${String(i).padStart(6, '0')}`),
          `write ${i} (round ${round}, seed ${rng.seed})`,
        ).toBeDefined();
      }
      await db.close();
      parent.kill('SIGKILL');
    }
  }, 120_000);
});
