// V8 settings a node process (`eau2 node`) applies to itself as it starts.
//
// A query task runs each chunk through loops (a filter's compare, a group-by's counts, a top-k's
// scan) that, in a process which has not run them yet, start in V8's interpreter. V8 compiles such a
// loop with on-stack replacement (OSR) once it is hot, by default on a background thread, and the
// loop goes on in the interpreter until that thread has finished. On a machine whose cores the
// nodes and their clients share, that thread waits for a core while the interpreter spins: the
// loop stays slow for longer than its compile takes. Compiling OSR code on the thread that runs the
// loop (`--no-concurrent-osr`) finishes the loop sooner, and so holds the event loop back for less
// time, not more: the loop was holding it anyway (docs/dataframe.md "Cold queries" has the figures).
// Other optimizing compiles stay concurrent: they are of functions called between turns of the
// event loop, where a synchronous compile would stall requests that are not the query's.
//
// A library does not change the flags of the process that embeds it: this is for eau2's own node
// processes. EAU2_NODE_V8_FLAGS replaces the list (empty: V8's defaults).

import { setFlagsFromString } from 'node:v8';

/** The flags a node process sets on itself unless EAU2_NODE_V8_FLAGS says otherwise. */
export const NODE_V8_FLAGS: readonly string[] = ['--no-concurrent-osr'];

/**
 * Sets the node process's V8 flags (NODE_V8_FLAGS, or the whitespace-separated list in
 * `env.EAU2_NODE_V8_FLAGS` when it is set) and returns them. A flag given on node's own command line
 * (`node --concurrent-osr ...`) for the same setting wins: it is not set again.
 */
export function applyNodeV8Flags(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): string[] {
  const list = env.EAU2_NODE_V8_FLAGS === undefined ? NODE_V8_FLAGS : env.EAU2_NODE_V8_FLAGS.split(/\s+/);
  const given = new Set(execArgv.map(settingOf));
  const applied: string[] = [];
  for (const flag of list) {
    if (flag === '' || given.has(settingOf(flag))) continue;
    setFlagsFromString(flag);
    applied.push(flag);
  }
  return applied;
}

/** The setting a flag names: `--no-concurrent-osr`, `--concurrent_osr` and `--concurrent-osr=x` name one. */
function settingOf(flag: string): string {
  return flag
    .replace(/=.*$/, '')
    .replace(/^--(no[-_])?/, '')
    .replaceAll('_', '-');
}
