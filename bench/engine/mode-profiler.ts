// CPU profiles of exactly one timed mode, through node:inspector: unlike `node --cpu-prof`, which
// covers the whole child, the untimed fill before a read workload stays out of the profile, so its
// percentages are percentages of the measured work. Covers the main thread only (where the
// event-loop-bound work is); compaction worker threads are not in it.

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/** Sampling every 200 µs: ~5x V8's default, enough samples from a few-second mode to rank
 * functions, at a cost of a few percent of throughput. */
const SAMPLING_INTERVAL_US = 200;

export interface ModeProfiler {
  /** Stops profiling and writes the .cpuprofile to `path`. */
  stop(path: string): Promise<void>;
}

export async function startModeProfile(): Promise<ModeProfiler> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
  await session.post('Profiler.start');
  return {
    async stop(path: string) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(path, JSON.stringify(profile));
      await session.post('Profiler.disable');
      session.disconnect();
    },
  };
}
