// The README's quick start, run as written against a running cluster (its address swapped for the
// test cluster's, through EAU2_URL for the eau2 commands): every command succeeds within seconds
// and prints what the README implies. The eau2 commands run bin/eau2.js, so dist/ must be built
// (npm install does it).

import { exec } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster } from '../cluster/support/cluster-harness.js';

const REPO = join(import.meta.dirname, '../..');

/** The shell lines of the README's first code block after "npm start" prints ... in another terminal. */
function quickStartCommands(): string[] {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(
    readme.indexOf('## Quick start'),
    readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1),
  );
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const lines = blocks[1]!.split('\n').filter((l) => l.trim() !== '');
  return lines.map((l) => l.replace(/\s+#.*$/, ''));
}

describe('the README quick start', () => {
  let c: TestCluster;
  beforeAll(async () => {
    c = await TestCluster.start({ nodes: 2, partitions: 4, replicationFactor: 2, resp: true });
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('works from a clone, each command in seconds', async () => {
    const url = c.nodes[0]!.url;
    const cmds = quickStartCommands();
    expect(cmds.length).toBeGreaterThanOrEqual(5);
    // In a clone, npx installs the clone itself into its cache first (17-23 s, and an interrupted
    // first run broke every later one): a cache this machine may already hold would hide that here.
    expect(cmds.filter((l) => /^(npx|npm exec) eau2\b/.test(l))).toEqual([]);
    const outputs: string[] = [];
    for (const cmd of cmds) {
      const line = cmd
        .replaceAll('http://127.0.0.1:7101', url)
        .replaceAll('redis-cli -p 7301', `redis-cli -p ${c.nodes[0]!.respPort}`);
      const { stdout } = await promisify(exec)(line, {
        cwd: REPO,
        timeout: 20_000,
        env: { ...process.env, EAU2_URL: url, npm_config_update_notifier: 'false' },
      });
      outputs.push(stdout);
    }
    const at = (pattern: RegExp): string => outputs[cmds.findIndex((l) => pattern.test(l))] ?? '';
    expect(at(/ get hello$/).trim()).toBe('world');
    expect(at(/^curl http/).trim()).toBe('v1');
    expect(at(/^redis-cli /).trim()).toBe('v1');
    expect(at(/ status$/)).toMatch(/n1/);
  });
});
