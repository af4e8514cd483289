// The eau2 command line (bin/eau2.js runs this): `eau2 node` runs one node, `eau2 local` a whole
// cluster on this machine (npm start), and put/get/del/scan/status talk to a running cluster over
// HTTP. Exit codes: 0 success, 1 the operation failed (including a key not found), 2 a usage error.
// This is the composition root: the only cluster file allowed to reach into the dataframe layer.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { addKvCommands } from './kv-commands.js';
import { addLocalCommand } from './local-command.js';
import { addNodeCommand } from './node-command.js';
import { addDataframeCommands } from './dataframe-hooks.js';
import { CliError, EXIT } from './cli-errors.js';

export { CliError, EXIT };

function packageVersion(): string {
  // Walk up from this file: it runs as cluster/cli/main.ts (tsx) or dist/cluster/cli/main.js.
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'eau2' && pkg.version) return pkg.version;
    } catch {
      // not here; go up
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

/** `eau2 df ...` comes from the dataframe layer; loading it costs start-up time, so only when needed. */
function wantsDataframe(argv: string[]): boolean {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  return first === 'df' || first === 'help' || (first === undefined && !argv.includes('-V') && !argv.includes('--version'));
}

export async function buildProgram(argv: string[] = process.argv): Promise<Command> {
  const program = new Command('eau2')
    .description('eau2: a distributed key/value store for data analysis')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  addNodeCommand(program);
  addLocalCommand(program);
  addKvCommands(program);
  if (wantsDataframe(argv)) await addDataframeCommands(program);
  return program;
}

/** Runs the CLI; resolves with the exit code (long-running commands resolve when they stop). */
export async function main(argv: string[] = process.argv): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
    return EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.OK;
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (e instanceof CliError) {
      process.stderr.write(`eau2: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`eau2: ${(e as Error)?.message ?? String(e)}\n`);
    return EXIT.FAILED;
  }
}

// Run when executed directly (node --import tsx cluster/cli/main.ts, or through bin/eau2.js).
const invoked = process.argv[1];
if (invoked && import.meta.url === pathToFileURL(invoked).href) {
  main().then((code) => {
    process.exitCode = code;
  });
}
