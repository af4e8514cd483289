// DataFrame.sql's implementation, installed into the DataFrame class when the package index loads
// (dataframe.ts installSql says why it is not imported by DataFrame). The SQL parser takes ~1 s to
// load on a busy machine, which every node start and `eau2 df` command would otherwise pay, so run.ts
// is loaded on the first statement.

import { DataFrame, installSql } from '../dataframe.js';

// The import is made once: each import() call is a module resolution (under a loader such as tsx's, a
// synchronous round trip to the loader's thread, milliseconds on a busy machine).
let run: Promise<typeof import('./run.js')> | undefined;

installSql(async (store, text, opts) => {
  const { runSql } = await (run ??= import('./run.js'));
  const r = await runSql(store, text, opts);
  if (r.frame) return r.frame;
  return DataFrame.fromColumns({ plan: { type: 'S', values: r.explain!.split('\n') } });
});
