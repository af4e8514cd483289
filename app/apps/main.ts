// `npm run demo`: runs eau2's four applications (Trivial, Demo, WordCount, Linus) on an embedded
// engine in a fresh directory and reports each verdict. Exit code 1 if any check fails.
//   --dir <path>   use (and keep) this engine directory instead of a temporary one
//   --seed <n>     seed for the generated data (default: random, printed)
//   --small        smaller data sets, for a quick run

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Engine } from '../../engine/index.js';
import type { AppResult } from './app.js';
import { demo } from './demo.js';
import { linus } from './linus.js';
import { chooseSeed } from './random.js';
import { trivial } from './trivial.js';
import { wordCount } from './word-count.js';

const USAGE = `usage: npm run demo -- [--dir PATH] [--seed N] [--small]
  runs eau2's applications (Trivial, Demo, WordCount, 7 degrees of Linus) on an embedded engine
  --dir PATH   use (and keep) this engine directory instead of a temporary one
  --seed N     seed for the generated data (default: random, printed)
  --small      smaller data sets, for a quick run
  -h, --help   this help
`;

async function main(): Promise<number> {
  let values: { dir?: string; seed?: string; small?: boolean; help?: boolean };
  try {
    values = parseArgs({
      options: {
        dir: { type: 'string' },
        seed: { type: 'string' },
        small: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`demo: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (values.seed !== undefined && !/^[0-9]+$/.test(values.seed)) {
    process.stderr.write(`demo: --seed must be a non-negative integer, got "${values.seed}"\n${USAGE}`);
    return 2;
  }
  const seed = values.seed === undefined ? chooseSeed() : Number(values.seed) >>> 0;
  const dir = values.dir ?? (await mkdtemp(join(tmpdir(), 'eau2-demo-')));
  const small = values.small === true;
  const log = (s: string): void => void process.stdout.write(`  ${s}\n`);
  process.stdout.write(`eau2 applications on an embedded engine in ${dir} (seed ${seed})\n`);
  const store = await Engine.open(dir);
  const results: AppResult[] = [];
  try {
    results.push(await trivial(store, { log, n: small ? 100_000 : 1_000_000 }));
    results.push(await demo(store, { log, n: small ? 10_000 : 100_000 }));
    results.push(await wordCount(store, { log, seed, words: small ? 50_000 : 500_000 }));
    results.push(await linus(store, { log, seed, ...(small ? { users: 2000, projects: 800, commits: 2400 } : {}) }));
  } finally {
    await store.close();
    if (values.dir === undefined) await rm(dir, { recursive: true, force: true });
  }
  process.stdout.write('\n');
  for (const r of results)
    process.stdout.write(
      `${r.ok ? 'PASS' : 'FAIL'}  ${r.name.padEnd(10)} ${(r.ms / 1000).toFixed(2).padStart(6)} s  ${r.summary}\n`,
    );
  return results.every((r) => r.ok) ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`demo failed: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
