// Runs abstract-level's own shared conformance suite (tape) in full against EngineLevel: every
// database the suite asks for lives in a fresh, not-yet-created directory under one temp root,
// removed when the suite ends. Run: node --import tsx test/level/abstract-suite.ts (TAP on stdout);
// test/level/abstract-level.test.ts runs it and checks the outcome.
//
// EAU2_LEVEL_MEMTABLE_BYTES=256 runs it with a tiny memtable, so reads also go through flushed
// tables and compactions, not only the memtable (the default 4 MiB never fills in this suite).

import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'tape';
import { EngineLevel } from '../../engine/level/index.js';
import type { EngineOptions } from '../../engine/index.js';

interface SuiteOptions {
  test: typeof test;
  factory: (options?: object) => EngineLevel<unknown, unknown>;
}

// The suite is CommonJS without type declarations.
const require = createRequire(import.meta.url);
const suite = require('abstract-level/test') as (options: SuiteOptions) => void;

const root = mkdtempSync(join(tmpdir(), 'eau2-level-'));
let next = 0;

const memtableBytes = Number(process.env.EAU2_LEVEL_MEMTABLE_BYTES ?? 0);

/**
 * Engine options go in at _open rather than through the constructor: the suite checks that the
 * options it passes reach the postopen hook unchanged.
 */
class TunedLevel extends EngineLevel<unknown, unknown> {
  override async _open(options: { createIfMissing: boolean; errorIfExists: boolean } & EngineOptions): Promise<void> {
    return super._open(memtableBytes > 0 ? { ...options, memtableBytes } : options);
  }
}

test.onFinish(() => {
  // The suite leaves some databases open (a sublevel's root is never closed), and with a tiny
  // memtable their flush worker can still be writing a table into a directory being removed
  // (ENOTEMPTY): retried, and a directory left behind is reported, not taken for a failed suite.
  try {
    rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  } catch (e) {
    console.error(`# could not remove ${root}: ${(e as Error).message}`);
  }
  // An open database must not keep the process alive. Report what does, rather than hang.
  setTimeout(() => {
    const handles = (process as unknown as { _getActiveHandles(): object[] })._getActiveHandles();
    console.error(`# process still alive 10 s after the suite: ${handles.map((h) => h.constructor.name).join(', ')}`);
    process.exit(1);
  }, 10_000).unref();
});

suite({
  test,
  factory(options?: object) {
    return new TunedLevel(join(root, String(next++)), options);
  },
});
