// The disk nemeses in the chaos harness (nemesis.ts, nemeses-disk.ts) under write load on a 3-node,
// replication-factor-2 cluster: a flipped bit in one of a node's tables (the node finds it and
// repairs the table from a replica), and a node's data filesystem filled up and freed again (writes
// refused while it is full, resumed by themselves). Nothing w=all-acknowledged is lost and the
// replicas converge (expectSafe). The disk-full run needs root (it mounts a tmpfs per node): without
// it, that test is reported as NOT RUN, by name, in the output.
//   EAU2_SEED=7 npx vitest run test/chaos/disk-nemeses.test.ts

import { describe, expect, it } from 'vitest';
import { BASE_SEED } from '../engine/vfs/seeded-random.js';
import { expectSafe, printOnFailure } from './expect-safe.js';
import { diskKindsAvailable, rngOf } from './nemesis.js';
import { runChaos, type ChaosResult } from './run.js';

const TIMEOUT_MS = 120_000;
const SMALL = { partitions: 4 } as const;

describe('chaos: disk faults', () => {
  it(
    'a flipped bit in a table loses no w=all-acknowledged write; replicas converge',
    async () => {
      const seed = BASE_SEED + 20;
      let r: ChaosResult | undefined;
      printOnFailure(seed, () => r);
      const target = rngOf(seed).pick(['n1', 'n2', 'n3']);
      r = await runChaos({
        seed,
        // Small memtables, so that the nodes have tables to damage within seconds, and scrub passes
        // 1 s apart, so that the damage is found within seconds even in a block served from cache.
        cluster: {
          ...SMALL,
          extra: { memtableBytes: 64 * 1024, scrubBytesPerSecond: 64 * 1024 * 1024, scrubIntervalMs: 1000 },
        },
        faults: [{ kind: 'corrupt-table', target, durationMs: 4000, gapMs: 1000 }],
      });
      expectSafe(r);
      // The damage was found (scrub, compaction or a read) and repaired, not merely left unread.
      expect(r.tableRepairs[target], 'damaged tables the target repaired').toBeGreaterThanOrEqual(1);
    },
    TIMEOUT_MS,
  );

  const root = diskKindsAvailable();
  if (!root) process.stderr.write('chaos: disk-full nemesis NOT RUN: mounting a tmpfs needs root\n');
  it.runIf(root)(
    root
      ? 'a full disk loses no w=all-acknowledged write; writes resume once space returns'
      : 'disk-full nemesis NOT RUN (needs root to mount a tmpfs)',
    async () => {
      const seed = BASE_SEED + 21;
      let r: ChaosResult | undefined;
      printOnFailure(seed, () => r);
      const target = rngOf(seed).pick(['n1', 'n2', 'n3']);
      r = await runChaos({
        seed,
        cluster: { ...SMALL, smallDiskBytes: 96 * 1024 * 1024 },
        faults: [{ kind: 'disk-full', target, durationMs: 5000, gapMs: 2000 }],
      });
      expectSafe(r);
    },
    TIMEOUT_MS,
  );
});
