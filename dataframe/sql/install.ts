// DataFrame.sql's implementation, installed into the DataFrame class when the package index loads
// (dataframe.ts installSql says why it is not imported by DataFrame). Loading the SQL path costs
// 100-450 ms of CPU, which every node start and `eau2 df` command would otherwise pay, so run.ts is
// loaded on the first statement, or before it in the background (sql-preload.ts).

import { DataFrame, installSql } from '../dataframe.js';
import { installSqlLoader, sqlLoadStarted } from '../sql-preload.js';

// The import is made once: each import() call is a module resolution (under a loader such as tsx's, a
// synchronous round trip to the loader's thread, milliseconds on a busy machine).
let run: Promise<typeof import('./run.js')> | undefined;

installSql(async (store, text, opts) => {
  sqlLoadStarted();
  const { runSql } = await (run ??= import('./run.js'));
  const r = await runSql(store, text, opts);
  if (r.frame) return r.frame;
  return DataFrame.fromColumns({ plan: { type: 'S', values: r.explain!.split('\n') } });
});

// The background load runs from a timer, after the caller's current work, and does not keep the
// process alive by itself. It also parses one statement: the parser's first parse costs several times
// a later one. If the load fails, the next statement loads again and reports the error.
installSqlLoader(() => {
  setTimeout(() => {
    if (run) return; // a statement came first and loads it
    const p = (run = import('./run.js'));
    p.then((m) => m.warmParser()).catch(() => {
      if (run === p) run = undefined;
    });
  }, 0).unref();
});
