// Starting a worker thread on a module that sits next to the caller's: `.js` in dist/, `.ts` when the
// sources run under a TypeScript loader. Node 20 does not carry a loader registered in this thread
// over to a worker, so such a process names, in the environment variable EAU2_WORKER_LOADER, a module
// (path or URL) that registers its loader; the worker imports it before the entry point. The engine's
// compaction worker and the Parquet decoder's both start this way.

import { extname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** EAU2_WORKER_LOADER as a URL: a file: or other URL as is, a path from the working directory. */
function loaderUrl(spec: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.test(spec) && !/^[a-z]:[\\/]/i.test(spec) ? spec : pathToFileURL(resolve(spec)).href;
}

/**
 * A worker running module `name` (without extension) from the directory of `callerUrl` (the caller's
 * `import.meta.url`), with the caller's own extension.
 */
export function startModuleWorker(callerUrl: string, name: string, workerData?: unknown): Worker {
  const entry = new URL(`./${name}${extname(fileURLToPath(callerUrl))}`, callerUrl);
  const loader = process.env.EAU2_WORKER_LOADER;
  // A worker inherits the process's flags, which Node filters for it (--expose-gc, say, is left out),
  // except --input-type (a process started as `node --input-type=module -e ...`): it applies to string
  // input only, and a worker started on a file refuses to start with it. Only then are the flags given
  // explicitly, without it; and as Node then refuses the V8 and per-process ones among them, naming
  // them, those are left out too.
  const start = (execArgv: string[] | undefined): Worker =>
    loader
      ? new Worker(`import(${JSON.stringify(loaderUrl(loader))}).then(() => import(${JSON.stringify(entry.href)}))`, {
          eval: true,
          workerData,
          execArgv,
        })
      : new Worker(entry, { workerData, execArgv });
  if (!process.execArgv.some((a) => a.startsWith('--input-type'))) return start(undefined);
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
  try {
    return start(execArgv);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw e;
    const refused = new Set((e as Error).message.replace(/^[^:]*:\s*/, '').split(/,\s*/));
    return start(execArgv.filter((a) => !refused.has(a)));
  }
}
