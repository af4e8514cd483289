// Stopping the servers a benchmark started: SIGTERM, then SIGKILL for any still running after a
// grace period. A bench must end by itself however a server behaves: Redis, for one, keeps running
// when its shutdown fails (it will not exit if it could not persist), and a server starved of CPU
// on a loaded machine may take long to finish a graceful stop.

import type { ChildProcess } from 'node:child_process';

export interface StoppableProcess {
  proc: ChildProcess;
  /** For the message when it had to be killed, e.g. "redis-server on 7001". */
  name: string;
  /** More to say when it had to be killed (e.g. the tail of its log). */
  detail?: () => string;
}

/** Stops every process still running and resolves once all have exited. */
export async function stopProcesses(list: readonly StoppableProcess[], graceMs = 15_000): Promise<void> {
  await Promise.all(
    list.map(
      ({ proc, name, detail }) =>
        new Promise<void>((res) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return res();
          const kill = setTimeout(() => {
            const more = detail?.();
            console.error(
              `${name} (pid ${proc.pid}) had not exited ${graceMs / 1000} s after SIGTERM: killed${more ? ` (${more})` : ''}`,
            );
            proc.kill('SIGKILL');
          }, graceMs);
          proc.once('exit', () => {
            clearTimeout(kill);
            res();
          });
          proc.kill('SIGTERM');
        }),
    ),
  );
}
