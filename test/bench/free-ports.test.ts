import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePortLayout, freePorts, reservePort } from '../../bench/lib/free-ports.js';

const modulePath = fileURLToPath(new URL('../../bench/lib/free-ports.ts', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A node child that takes a port with freePorts, prints "pid port" and waits. */
async function holder(viaShell: boolean): Promise<{ proc: ChildProcess; pid: number; port: number }> {
  const script = `const m = await import(${JSON.stringify(modulePath)}); const [p] = await m.freePorts(1); console.log(process.pid + ' ' + p); setInterval(() => {}, 1000);`;
  const nodeArgs = ['--import', 'tsx', '--input-type=module', '-e', script];
  // Through a shell that execs into `sleep`, the node process's parent never reaps it: once killed
  // it stays a zombie, which still answers kill(pid, 0).
  const proc = viaShell
    ? spawn('sh', ['-c', `"${process.execPath}" "$@" & exec sleep 60`, 'sh', ...nodeArgs], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    : spawn(process.execPath, nodeArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  const [chunk] = (await once(proc.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  const [pid, port] = chunk.toString().trim().split(' ').map(Number);
  expect(pid, `holder printed ${chunk.toString()}`).toBeGreaterThan(0);
  expect(port, `holder printed ${chunk.toString()}`).toBeGreaterThan(0);
  return { proc, pid: pid ?? 0, port: port ?? 0 };
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('freePorts', () => {
  it('hands out distinct free ports, each reserved for this process', async () => {
    const ports = await freePorts(6);
    expect(new Set(ports).size).toBe(6);
    for (const p of ports) expect(p).toBeGreaterThanOrEqual(20_000);
    // Reserved for this process: asking for one again here is refused.
    for (const p of ports) expect(reservePort(p)).toBe(false);
  });

  it('a port reserved by another live process is not handed out; a dead one is taken over', async () => {
    const { proc, port } = await holder(false);
    expect(reservePort(port)).toBe(false);
    proc.kill('SIGKILL');
    await once(proc, 'exit');
    expect(reservePort(port)).toBe(true);
  });

  it('a lock held by a zombie is taken over', async () => {
    const { pid, port } = await holder(true);
    expect(reservePort(port)).toBe(false);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
      } catch {
        return true;
      }
    }, 'the holder to become a zombie');
    expect(reservePort(port)).toBe(true);
  });

  it('reserves every port of a layout derived from one base, so no other process is handed one', async () => {
    const offsets = [0, 1, 100, 101, 200, 201];
    const base = await freePortLayout(offsets);
    for (const o of offsets) {
      // Held by this process: asking again here says taken, as it would for another process.
      expect(reservePort(base + o), `base + ${o}`).toBe(false);
      expect(fs.readFileSync(`${os.tmpdir()}/eau2-test-ports/${base + o}`, 'utf8')).toBe(String(process.pid));
    }
  });
});
