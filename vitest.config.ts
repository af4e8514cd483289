import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The web console's files (dist/console) when missing: every node serves them at /ui.
    globalSetup: ['test/support/console-build.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2 cores on CI machines: keep parallelism modest so process-heavy suites don't starve.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    env: {
      // The engine's runtime invariant checks (engine/util/invariants.ts), in every test and in the
      // processes tests spawn.
      EAU2_INVARIANTS: '1',
      // Test files never wait for an idle moment: no background load of the SQL path in each of them
      // (test/dataframe/sql-preload.test.ts turns it on).
      EAU2_SQL_PRELOAD: '0',
      // The engine's compaction worker runs the TypeScript sources too (also in the processes tests
      // spawn, which inherit the environment): it registers tsx through this module first.
      EAU2_WORKER_LOADER: fileURLToPath(new URL('./test/support/worker-loader.mjs', import.meta.url)),
    },
    reporters: ['default'],
  },
});
