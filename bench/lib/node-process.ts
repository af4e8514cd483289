// The command line of one eau2 node process started from the TypeScript sources, as the benchmarks'
// local clusters start them (bench/cluster, bench/resp, bench/dataframe).

import { join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '../..');

/** node's arguments for `eau2 node --config <configFile> --id <id>`; `nodeFlags` go first (--cpu-prof ...). */
export function nodeProcessArgs(configFile: string, id: string, nodeFlags: readonly string[] = []): string[] {
  const cli = join(REPO, 'app/cli/main.ts');
  return [...nodeFlags, '--import', 'tsx', cli, 'node', '--config', configFile, '--id', id, '--log-level', 'warn'];
}
