// The benches' server stop: a process that ends on SIGTERM is waited for; one that ignores it is
// killed once the grace period is over, and the bench says so.

import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stopProcesses } from '../../bench/lib/stop-processes.js';

const ignoresTerm = "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000);";
const endsOnTerm = "console.log('up'); setInterval(() => {}, 1000);";

function start(code: string) {
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
  const up = new Promise<void>((res) => proc.stdout!.once('data', () => res()));
  return { proc, up };
}

describe('stopProcesses', () => {
  afterEach(() => vi.restoreAllMocks());

  it('waits for a process that ends on SIGTERM and says nothing', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { proc, up } = start(endsOnTerm);
    await up;
    await stopProcesses([{ proc, name: 'polite' }], 10_000);
    expect(proc.signalCode).toBe('SIGTERM');
    expect(err).not.toHaveBeenCalled();
  });

  it('kills a process still running after the grace period, with its name and detail', async () => {
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    const a = start(ignoresTerm);
    const b = start(endsOnTerm);
    await Promise.all([a.up, b.up]);
    const t0 = performance.now();
    await stopProcesses(
      [
        { proc: a.proc, name: 'stubborn', detail: () => 'log tail' },
        { proc: b.proc, name: 'polite' },
      ],
      300,
    );
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(a.proc.signalCode).toBe('SIGKILL');
    expect(b.proc.signalCode).toBe('SIGTERM');
    expect(err).toHaveBeenCalledTimes(1);
    expect(String(err.mock.calls[0]![0])).toMatch(
      /^stubborn \(pid \d+\) had not exited 0\.3 s after SIGTERM: killed \(log tail\)$/,
    );
  });

  it('returns at once for processes already gone', async () => {
    const { proc, up } = start(endsOnTerm);
    await up;
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
    await stopProcesses([{ proc, name: 'gone' }], 10_000);
    expect(proc.signalCode).toBe('SIGKILL');
  });
});
