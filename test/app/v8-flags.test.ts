// A node process compiles hot loops synchronously (app/v8-flags.ts): checked where V8 says so, in
// its OSR trace, and in a real node's start log. The control runs (no flags, an empty
// EAU2_NODE_V8_FLAGS, `--concurrent-osr` on the command line) show V8's default, so the checks can
// fail.

import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { applyNodeV8Flags, NODE_V8_FLAGS } from '../../app/v8-flags.js';
import { REPO, TestCluster } from '../cluster/support/cluster-harness.js';

/** Runs a hot loop in a child process with `--trace-osr`, after `applyNodeV8Flags()` when `apply`; V8's OSR modes traced. */
function osrModes(apply: boolean, env: Record<string, string> = {}, nodeFlags: string[] = []): Promise<Set<string>> {
  const script = `
    ${apply ? `const { applyNodeV8Flags } = await import(${JSON.stringify(`${REPO}/app/v8-flags.ts`)}); applyNodeV8Flags();` : ''}
    function hot(n) { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; }
    console.log('sum', hot(3e6));`;
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...nodeFlags, '--trace-osr', '--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || !out.includes('sum 8999994')) return reject(new Error(`child failed (${code}): ${out}`));
      resolve(
        new Set(
          [...out.matchAll(/compilation started\. function: hot,.*mode: ConcurrencyMode::(\w+)/g)].map((m) => m[1]!),
        ),
      );
    });
  });
}

describe('node V8 flags', () => {
  it('compiles a hot loop on its own thread once applied, concurrently without', async () => {
    expect(await osrModes(true)).toEqual(new Set(['kSynchronous']));
    expect(await osrModes(false)).toEqual(new Set(['kConcurrent']));
  }, 60_000);

  it('leaves the defaults to EAU2_NODE_V8_FLAGS and to node’s command line', async () => {
    expect(await osrModes(true, { EAU2_NODE_V8_FLAGS: '' })).toEqual(new Set(['kConcurrent']));
    expect(await osrModes(true, {}, ['--concurrent-osr'])).toEqual(new Set(['kConcurrent']));
  }, 60_000);

  it('says which flags it set', () => {
    // Nothing is set in this process: every flag is named as given on the command line already.
    const given = ['--no-concurrent-osr', '--max-lazy', '--concurrent_recompilation'];
    expect(applyNodeV8Flags({}, given)).toEqual([]);
    expect(applyNodeV8Flags({ EAU2_NODE_V8_FLAGS: ' --max-lazy  --concurrent-recompilation' }, given)).toEqual([]);
    expect(NODE_V8_FLAGS).toEqual(['--no-concurrent-osr']);
  });

  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('are set by eau2 node as it starts', async () => {
    cluster = await TestCluster.start({ nodes: 1, partitions: 2, replicationFactor: 1, logLevel: 'info' });
    const line = cluster
      .log('n1')
      .split('\n')
      .find((l) => l.includes('"v8 flags"'));
    expect(line && JSON.parse(line).v8Flags).toEqual(['--no-concurrent-osr']);
  }, 90_000);
});
