// Runs abstract-level's own shared conformance suite (tape) in full against EngineLevel: every
// database the suite asks for lives in a fresh, not-yet-created directory under one temp root,
// removed when the suite ends. Run: node --import tsx test/level/abstract-suite.ts (TAP on stdout);
// test/level/abstract-level.test.ts runs it and checks the outcome.

import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'tape';
import { EngineLevel } from '../../engine/level/index.js';

interface SuiteOptions {
  test: typeof test;
  factory: (options?: object) => EngineLevel<unknown, unknown>;
}

// The suite is CommonJS without type declarations.
const require = createRequire(import.meta.url);
const suite = require('abstract-level/test') as (options: SuiteOptions) => void;

const root = mkdtempSync(join(tmpdir(), 'eau2-level-'));
let next = 0;

test.onFinish(() => rmSync(root, { recursive: true, force: true }));

suite({
  test,
  factory(options?: object) {
    return new EngineLevel<unknown, unknown>(join(root, String(next++)), options);
  },
});
