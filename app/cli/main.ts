// The eau2 command line (bin/eau2.js runs this): `eau2 node` runs one node, `eau2 local` a whole
// cluster on this machine (npm start), and put/get/del/scan/status talk to a running cluster over
// HTTP. Exit codes: 0 success, 1 the operation failed (including a key not found), 2 a usage error.
// It is part of the application (app/), the composition root above the layers: the only place that
// puts the cluster and the dataframe layer together.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { addCompletionCommand } from './completion-command.js';
import { addKvCommands } from './kv-commands.js';
import { addLocalCommand } from './local-command.js';
import { addNodeCommand } from './node-command.js';
import { addTokenCommand } from './token-command.js';
import { addVerifyCommand } from './verify-command.js';
import { addDataframeCommands } from '../dataframe-hooks.js';
import { CliError, EXIT } from './cli-errors.js';

export { CliError, EXIT };

function packageVersion(): string {
  // Walk up from this file: it runs as app/cli/main.ts (tsx) or dist/app/cli/main.js.
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

/**
 * `eau2 df ...` and `eau2 sql ...` come from the dataframe layer; loading it costs start-up time, so
 * only when needed (and for help and completion, which list every command).
 */
function wantsDataframe(argv: string[]): boolean {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  return (
    first === 'df' ||
    first === 'sql' ||
    first === 'help' ||
    first === 'completion' ||
    (first === undefined && !argv.includes('-V') && !argv.includes('--version'))
  );
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
  addTokenCommand(program);
  addVerifyCommand(program);
  addCompletionCommand(program);
  if (wantsDataframe(argv)) await addDataframeCommands(program);
  return program;
}

/** Set once stdout's reader has gone away (EPIPE), or stdout failed otherwise. */
let stdoutGone: Error | undefined;
let stdoutFailed: Error | undefined;
let watchingStdout = false;

/**
 * `eau2 df export big --format csv | head`: once head exits, writing fails with EPIPE. Like git or
 * grep (which SIGPIPE ends; Node ignores SIGPIPE), eau2 then stops quietly with exit code 0, instead
 * of reporting "write EPIPE" (commands that watch their output, df export) or crashing on an
 * unhandled 'error' event (the others: show, scan, ...). Any other error of stdout (a full disk) is
 * a failure: it is reported once and the exit code is 1, even if it comes after main has returned.
 */
function watchStdout(): void {
  if (watchingStdout) return;
  watchingStdout = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (stdoutGone || stdoutFailed) return; // a later write to the broken stream
    if (e.code === 'EPIPE') {
      stdoutGone = e;
      return;
    }
    stdoutFailed = e;
    process.stderr.write(`eau2: cannot write to stdout: ${e.message}\n`);
    process.exitCode = EXIT.FAILED;
  });
}

/** Whether `e` is the command failing to write to a stdout whose reader went away. */
function isStdoutGone(e: unknown): boolean {
  return stdoutGone !== undefined && (e === stdoutGone || (e as NodeJS.ErrnoException)?.code === 'EPIPE');
}

/** Runs the CLI; resolves with the exit code (long-running commands resolve when they stop). */
export async function main(argv: string[] = process.argv): Promise<number> {
  watchStdout();
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
    return stdoutFailed ? EXIT.FAILED : EXIT.OK;
  } catch (e) {
    if (isStdoutGone(e)) return EXIT.OK;
    if (stdoutFailed && e === stdoutFailed) return EXIT.FAILED; // already reported
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
        return EXIT.OK;
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (e instanceof CliError) {
      if (!e.reported) process.stderr.write(`eau2: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`eau2: ${(e as Error)?.message ?? String(e)}\n`);
    return EXIT.FAILED;
  }
}

// Run when executed directly (node --import tsx app/cli/main.ts, or through bin/eau2.js).
const invoked = process.argv[1];
if (invoked && import.meta.url === pathToFileURL(invoked).href) {
  main().then((code) => {
    process.exitCode = code;
  });
}
