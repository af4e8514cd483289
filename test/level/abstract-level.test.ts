// EngineLevel passes abstract-level's shared test suite in full. The suite is tape-driven, so it
// runs in its own process (test/level/abstract-suite.ts); this test reads its TAP output and fails
// on any failed assertion, a bail-out, a crash, or a suspiciously small number of assertions
// (which would mean parts of the suite stopped running, e.g. a supports flag turned off).
// It runs the suite twice: with the default memtable, and with a tiny one (256 bytes, or
// EAU2_LEVEL_MEMTABLE_BYTES) so reads go through flushed tables and compactions too.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const suitePath = fileURLToPath(new URL('./abstract-suite.ts', import.meta.url));

/** abstract-level 3.1 runs 5168 assertions against EngineLevel; far fewer means a part was skipped. */
const MIN_PASSED = 5000;

interface TapSummary {
  passed: number;
  failed: number;
  planned: number | undefined;
  bailedOut: boolean;
  /** Each failed assertion with the test it belongs to and its diagnostic block. */
  failures: string[];
}

function parseTap(out: string): TapSummary {
  const lines = out.split('\n');
  const s: TapSummary = { passed: 0, failed: 0, planned: undefined, bailedOut: false, failures: [] };
  let currentTest = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('# ')) {
      currentTest = line;
    } else if (line.startsWith('ok ')) {
      s.passed++;
    } else if (line.startsWith('not ok ')) {
      s.failed++;
      const block = [currentTest, line];
      // The YAML diagnostics sit between '  ---' and '  ...'.
      if (lines[i + 1]?.trim() === '---') {
        for (let j = i + 1; j < lines.length; j++) {
          block.push(lines[j]!);
          if (lines[j]!.trim() === '...') break;
        }
      }
      s.failures.push(block.join('\n'));
    } else if (/^1\.\.\d+$/.test(line)) {
      s.planned = Number(line.slice(3));
    } else if (line.startsWith('Bail out!')) {
      s.bailedOut = true;
    }
  }
  return s;
}

function runSuite(memtableBytes?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.EAU2_LEVEL_MEMTABLE_BYTES;
  if (memtableBytes !== undefined) env.EAU2_LEVEL_MEMTABLE_BYTES = memtableBytes;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', suitePath], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('parseTap', () => {
  it('counts passes and failures and keeps each failure with its test name and diagnostics', () => {
    const tap = parseTap(
      [
        'TAP version 13',
        '# put()',
        'ok 1 a',
        '# get()',
        'not ok 2 b',
        '  ---',
        '    actual: 1',
        '  ...',
        'ok 3 c',
        '1..3',
      ].join('\n'),
    );
    expect(tap.passed).toBe(2);
    expect(tap.failed).toBe(1);
    expect(tap.planned).toBe(3);
    expect(tap.failures).toEqual(['# get()\nnot ok 2 b\n  ---\n    actual: 1\n  ...']);
  });
});

async function expectSuitePasses(memtableBytes?: string): Promise<void> {
  const { code, stdout, stderr } = await runSuite(memtableBytes);
  const tap = parseTap(stdout);
  const report = [
    `exit code ${code}; ${tap.passed} passed, ${tap.failed} failed, plan ${tap.planned ?? 'missing'}`,
    ...tap.failures,
    tap.bailedOut ? 'TAP: Bail out!' : '',
    stderr.trim() === '' ? '' : `stderr:\n${stderr.slice(-4000)}`,
  ]
    .filter((l) => l !== '')
    .join('\n\n');
  if (tap.failed > 0 || code !== 0 || tap.bailedOut || tap.planned !== tap.passed) console.error(report);
  expect(tap.failures, report).toEqual([]);
  expect(tap.bailedOut, report).toBe(false);
  expect(code, report).toBe(0);
  expect(tap.planned, report).toBe(tap.passed);
  expect(tap.passed, report).toBeGreaterThanOrEqual(MIN_PASSED);
}

describe('EngineLevel', () => {
  it('passes the abstract-level shared test suite in full', { timeout: 600_000 }, async () => {
    await expectSuitePasses();
  });

  // Again with a tiny memtable (EAU2_LEVEL_MEMTABLE_BYTES overrides 256), so reads also go through
  // flushed tables and compactions, not only the memtable.
  const small = process.env.EAU2_LEVEL_MEMTABLE_BYTES ?? '256';
  it(`passes the shared suite with a ${small}-byte memtable`, { timeout: 600_000 }, async () => {
    await expectSuitePasses(small);
  });
});
