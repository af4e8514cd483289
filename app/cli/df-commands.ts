// `eau2 df ...`: the dataframe commands, registered on the CLI program by app/dataframe-hooks.ts,
// which also supplies how to open a store (a ClusterClient). See docs/dataframe.md "CLI".

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import type { BatchOp, KeyLike, KvStore } from '../../kv/index.js';
import { DataFrame } from '../../dataframe/index.js';
import { renderFrame, renderFrameList } from '../../dataframe/index.js';
import { delimiterProblem, importCsv, type ImportProgress, type ImportResult } from '../../dataframe/index.js';
import { exportCsv, exportJson } from '../../dataframe/index.js';
import { importSor, type SorImportResult } from '../../dataframe/index.js';
import { deleteVersion, parseChunkKey, readMeta, removeFrame } from '../../dataframe/index.js';
import { detectFormat, type ImportFormat } from '../../dataframe/index.js';
import { exportArrow, exportParquet, importArrow, importJson, importParquet } from '../../dataframe/index.js';
import type { OpenStore } from './open-store.js';
import { registerQueryCommands } from './query-commands.js';

const int =
  (what: string, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `${what} must be an integer >= ${min}`
          : `${what} must be an integer from ${min} to ${max}`,
      );
    return n;
  };

/** --sample: a record count (at least 1) or "all". Parsed here so commander reports a bad value as a usage error. */
const sampleArg = (v: string): number | 'all' => {
  if (v === 'all') return 'all';
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('--sample must be an integer >= 1 or "all"');
  return n;
};

const oneOf =
  (...allowed: string[]) =>
  (v: string): string => {
    if (!allowed.includes(v)) throw new InvalidArgumentError(`expected one of ${allowed.join(', ')}`);
    return v;
  };

async function withStore<T>(open: OpenStore, url: string | undefined, f: (s: KvStore) => Promise<T>): Promise<T> {
  const store = await open({ url });
  try {
    return await f(store);
  } finally {
    await store.close?.();
  }
}

/** A progress bar on stderr (bytes, rows, rate, ETA) when it is a terminal; silent otherwise. */
function progressBar(totalBytes: number): { update(p: ImportProgress): void; stop(): void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const mb = (b: number): string => (b / 1e6).toFixed(1);
  let started = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: '{bar} {percentage}% | {done}/{all} MB | {rows} | {rate} MB/s | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  let last = 0;
  let active = false;
  let sampling = false;
  let stopped = false;
  return {
    update(p) {
      // Once stopped (an interrupted import still reports the reads in flight), never redraw: that
      // would hide the cursor again.
      if (stopped) return;
      const now = Date.now();
      if (!active || sampling !== (p.sampling === true)) {
        // --sample all reads the file twice: one bar for the type pass, then one for the load.
        if (active) bar.stop();
        active = true;
        sampling = p.sampling === true;
        started = now;
        last = 0;
        bar.start(totalBytes, 0, {
          done: '0.0',
          all: mb(totalBytes),
          rows: sampling ? 'inferring types (pass 1 of 2)' : '0 rows',
          rate: '0.0',
        });
      }
      if (now - last < 100 && p.bytes < totalBytes) return; // redraw at most 10 times a second
      last = now;
      const rate = p.bytes / 1e6 / Math.max(0.001, (now - started) / 1000);
      const rows = sampling ? 'inferring types (pass 1 of 2)' : `${p.rows} rows`;
      bar.update(Math.min(p.bytes, totalBytes), { done: mb(p.bytes), rows, rate: rate.toFixed(1) });
    },
    stop: () => {
      if (active && !stopped) bar.stop(); // shows the cursor again
      stopped = true;
    },
  };
}

/**
 * Exports into a new file beside `path`, renamed over it only when the export is complete: a failed
 * export (a frame replaced meanwhile, a full disk) leaves no partial file, and a file already at
 * `path` as it was.
 */
async function exportToFile(path: string, run: (dest: Writable) => Promise<unknown>): Promise<void> {
  // Else the whole export runs, and the rename over a directory fails naming the temporary file.
  if ((await stat(path).catch(() => undefined))?.isDirectory())
    throw Object.assign(new Error(`cannot write ${path}: it is a directory`), { code: 'EISDIR' });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const dest = createWriteStream(tmp, { flags: 'wx' });
  dest.on('error', () => undefined); // reported by once(), run() or finished() below, never as an unhandled event
  try {
    // A bad path fails here, before any chunk is read, with the path the user gave.
    await once(dest, 'open').catch((e: NodeJS.ErrnoException) => {
      throw Object.assign(
        new Error(`cannot write ${path}: ${e.message.replace(`, open '${tmp}'`, '')}`, { cause: e }),
        { code: e.code },
      );
    });
    await run(dest);
    dest.end();
    await finished(dest);
    await rename(tmp, path);
  } catch (e) {
    if (!dest.closed) {
      // Not once(): destroying fails a pending write with an 'error' that is no news here.
      const closed = new Promise<void>((resolve) => dest.once('close', () => resolve()));
      dest.destroy();
      await closed;
    }
    await rm(tmp, { force: true });
    throw e;
  }
}

interface ImportOpts {
  url?: string;
  schema?: string;
  format?: string;
  chunkRows?: number;
  sample?: number | 'all';
  delimiter?: string;
  header: boolean;
  nulls?: string[];
  parseThreads?: number;
  from?: number;
  len?: number;
}

/** An export format from the output file's extension, if it names one. */
function formatOfOut(file: string | undefined): string | undefined {
  const ext = /\.([A-Za-z]+)$/.exec(file ?? '')?.[1]?.toLowerCase();
  const byExt: Record<string, string> = {
    csv: 'csv',
    json: 'json',
    ndjson: 'ndjson',
    jsonl: 'ndjson',
    parquet: 'parquet',
    pq: 'parquet',
    arrow: 'arrow',
    feather: 'arrow',
    ipc: 'arrow',
    arrows: 'arrows',
  };
  return ext === undefined ? undefined : byExt[ext];
}

/** The options of `df import` that apply to each format (the others are usage errors). */
const FORMAT_OPTIONS: Record<string, readonly string[]> = {
  csv: ['schema', 'sample', 'delimiter', 'header', 'nulls', 'parseThreads'],
  tsv: ['schema', 'sample', 'delimiter', 'header', 'nulls', 'parseThreads'],
  sor: ['schema', 'from', 'len'],
  parquet: [],
  arrow: [],
  json: ['sample'],
  ndjson: ['sample'],
};
const FORMAT_SPECIFIC = ['schema', 'sample', 'delimiter', 'header', 'nulls', 'parseThreads', 'from', 'len'];

/** What an import writes through: the store, with a brake the signal handler pulls. */
interface GuardedStore {
  store: KvStore;
  /**
   * Refuses every write from now on except deletes (which the importer's own abort needs), waits for
   * the writes in flight, and returns the versions of the frame's chunks that were written.
   */
  stop(reason: Error): Promise<string[]>;
}

function keyText(key: KeyLike): string {
  return typeof key === 'string' ? key : Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('utf8');
}

/**
 * Wraps `store` so that an interrupted import can be stopped and cleaned up from outside: importCsv
 * and importSor take no abort signal, and their input may block (a FIFO, a stalled pipe) where no
 * read ever returns to notice one. A Proxy, so that the store's other members (ClusterClient's
 * topology, which places the chunks) are read from the store itself.
 */
function guardStore(store: KvStore, name: string): GuardedStore {
  let refusal: Error | undefined;
  const versions = new Set<string>();
  const inflight = new Set<Promise<unknown>>();
  const track = (p: Promise<void>): Promise<void> => {
    inflight.add(p);
    p.then(
      () => inflight.delete(p),
      () => inflight.delete(p),
    );
    return p;
  };
  const note = (key: KeyLike): void => {
    const k = parseChunkKey(keyText(key));
    if (k && k.name === name) versions.add(k.version);
  };
  const overrides: Partial<KvStore> = {
    put(key, value, opts) {
      if (refusal) return Promise.reject(refusal);
      note(key);
      return track(store.put(key, value, opts));
    },
    batch(ops: BatchOp[], opts) {
      if (refusal && ops.some((op) => op.type === 'put')) return Promise.reject(refusal);
      for (const op of ops) if (op.type === 'put') note(op.key);
      return track(store.batch(ops, opts));
    },
  };
  const proxy = new Proxy(store, {
    get(target, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof KvStore];
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return {
    store: proxy,
    async stop(reason) {
      refusal ??= reason;
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
      return [...versions];
    },
  };
}

/**
 * Signals that end an import cleanly: Ctrl-C, SIGTERM, and SIGHUP (the terminal closed), which
 * otherwise kills the process and leaves its chunks unpublished and unlisted.
 */
const IMPORT_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Ctrl-C (or SIGTERM, SIGHUP) during an import: show the cursor again, let no more chunks in, delete the ones
 * written (the metadata was not switched, so a frame of the same name stays as it was), say so on one
 * line and exit with 128 + the signal's number, as a shell reports a process the signal ended. The
 * exit is explicit: the importer may be blocked on a read that never returns. A second signal while
 * this runs exits at once, leaving the chunks to the next import of the name (docs/dataframe.md).
 */
async function interruptImport(
  signal: NodeJS.Signals,
  guarded: GuardedStore,
  store: KvStore & { close?(): Promise<void> },
  name: string,
): Promise<never> {
  const code = 128 + (osConstants.signals[signal] ?? 0);
  // After SIGHUP the terminal may be gone: the cleanup must not die on a failed message.
  process.stderr.on('error', () => undefined);
  const again = (): void => {
    process.stderr.write(
      `eau2: ${signal} again: stopped at once; the chunks written so far go with the next import of ${JSON.stringify(name)}\n`,
    );
    process.exit(code);
  };
  for (const sig of IMPORT_SIGNALS) process.on(sig, again);
  let message: string;
  try {
    const versions = await guarded.stop(new Error(`interrupted by ${signal}`));
    // The metadata put may have been in flight when the signal came: then the frame is published,
    // and its chunks must stay.
    const published = (await readMeta(store, name))?.version;
    for (const v of versions) if (v !== published) await deleteVersion(store, name, v);
    message =
      published !== undefined && versions.includes(published)
        ? `interrupted by ${signal} after ${JSON.stringify(name)} was published`
        : `interrupted by ${signal}: nothing was published; ${JSON.stringify(name)} is as it was`;
  } catch (e) {
    message =
      `interrupted by ${signal}: nothing was published, but the chunks written could not all be deleted ` +
      `(${(e as Error)?.message ?? String(e)}); the next import of ${JSON.stringify(name)} removes them`;
  }
  await store.close?.().catch(() => undefined);
  process.stderr.write(`eau2: ${message}\n`);
  process.exit(code);
}

async function runImport(
  open: OpenStore,
  name: string,
  file: string,
  o: ImportOpts,
  out: Writable,
): Promise<ImportResult> {
  const format = await detectFormat(file, o.format as ImportFormat | undefined);
  const size = (await stat(file)).size;
  const total =
    format === 'sor' && (o.from !== undefined || o.len !== undefined)
      ? Math.min(size - (o.from ?? 0), o.len ?? size)
      : size;
  const store = await open({ url: o.url });
  const guarded = guardStore(store, name);
  const bar = progressBar(Math.max(0, total));
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    for (const sig of IMPORT_SIGNALS) process.off(sig, onSignal);
    bar.stop();
    void interruptImport(signal, guarded, store, name);
  };
  for (const sig of IMPORT_SIGNALS) process.on(sig, onSignal);
  const started = Date.now();
  let res: ImportResult;
  try {
    const columnar = (r: Promise<{ meta: ImportResult['meta']; rows: number; bytes: number }>, inferred: boolean) =>
      r.then((x): ImportResult => ({ ...x, inferred }));
    const progress = { chunkRows: o.chunkRows, onProgress: bar.update };
    const importing =
      format === 'parquet'
        ? columnar(importParquet(guarded.store, name, file, progress), false)
        : format === 'arrow'
          ? columnar(importArrow(guarded.store, name, file, progress), false)
          : format === 'json' || format === 'ndjson'
            ? columnar(
                importJson(guarded.store, name, file, {
                  ...progress,
                  ndjson: format === 'ndjson',
                  sampleRows: typeof o.sample === 'number' ? o.sample : undefined,
                }),
                true,
              )
            : format === 'sor'
              ? importSor(guarded.store, name, file, {
                  schema: o.schema,
                  chunkRows: o.chunkRows,
                  from: o.from,
                  len: o.len,
                  onProgress: bar.update,
                })
              : importCsv(guarded.store, name, file, {
                  schema: o.schema,
                  chunkRows: o.chunkRows,
                  delimiter: o.delimiter ?? (format === 'tsv' ? '\t' : undefined),
                  header: o.header,
                  sampleRows: o.sample,
                  nullValues: o.nulls,
                  parseThreads: o.parseThreads,
                  onProgress: bar.update,
                });
    // Once interrupted, interruptImport reports and exits: how the import itself ends (it fails on
    // the refused writes, or never, blocked on its input) is no news.
    res = await new Promise<ImportResult>((resolve, reject) => {
      importing.then(
        (r) => interrupted || resolve(r),
        (e: unknown) => interrupted || reject(e),
      );
    });
  } finally {
    for (const sig of IMPORT_SIGNALS) process.off(sig, onSignal);
    bar.stop();
    await store.close?.();
  }
  const secs = (Date.now() - started) / 1000;
  const sor = 'mismatched' in res ? (res as SorImportResult) : undefined;
  const extra = sor
    ? `, ${sor.mismatched} misfit fields stored as null` +
      (sor.extraFields > 0 ? `, ${sor.extraFields} fields beyond the last column ignored` : '')
    : '';
  out.write(
    `imported ${res.rows} rows into ${JSON.stringify(name)} (schema ${res.meta.fields.map((f) => `${f.name}:${f.type}`).join(',')}` +
      `${res.inferred ? ', inferred' : ''}) in ${secs.toFixed(2)} s, ${(res.bytes / 1e6 / Math.max(secs, 0.001)).toFixed(1)} MB/s${extra}\n`,
  );
  return res;
}

/** Adds `df import|ls|show|export|rm` to `program`. `out` is for tests; the default is stdout. */
export function registerDfCommands(program: Command, openStore: OpenStore, out: Writable = process.stdout): void {
  const df = program.command('df').description('dataframes: import, list, show, export, remove');
  const withUrl = (c: Command): Command => c.option('-u, --url <url>', 'any node of the cluster (default $EAU2_URL)');

  withUrl(df.command('import <name> <file>'))
    .description(
      'load a CSV, TSV, SoR, Parquet, Arrow IPC, JSON or NDJSON file into a dataframe (replaces a frame of the same name when done)',
    )
    .option(
      '-s, --schema <schema>',
      'column types: letters in column order ("ISD"), or name:type pairs for some columns (the rest inferred)',
    )
    .option(
      '-f, --format <format>',
      'csv, tsv, sor, parquet, arrow, json or ndjson (default: by magic bytes and extension; compressed files are refused)',
      oneOf('csv', 'tsv', 'sor', 'parquet', 'arrow', 'json', 'ndjson'),
    )
    .option('--chunk-rows <n>', 'rows per chunk (default 65536)', int('--chunk-rows', 1))
    .option(
      '--sample <n|all>',
      'CSV, JSON: rows sampled to infer types (default 10000), or all (CSV: reads the file twice)',
      sampleArg,
    )
    .option('-d, --delimiter <char>', 'CSV field delimiter (default ,)', (v: string) => {
      // The importer's rule, checked here so that a bad one is a usage error naming the flag.
      const bad = delimiterProblem(v);
      if (bad) throw new InvalidArgumentError(`--delimiter: ${bad}`);
      return v;
    })
    .option('--no-header', 'CSV: the first record is data; columns are named c0, c1, ...')
    .option(
      '--nulls <list>',
      'CSV: comma-separated fields read as null besides the empty one (e.g. NA,n/a,null)',
      (v) => v.split(','),
    )
    .option(
      '--parse-threads <n>',
      'CSV: worker threads parsing the file by byte ranges beside the storing (default 0; files of 4 MiB or more)',
      int('--parse-threads', 0, 64), // importCsv's bound, checked here so it is a usage error naming the flag
    )
    .option('--from <byte>', 'SoR: start at this byte (the partial first line is skipped)', int('--from'))
    .option('--len <bytes>', 'SoR: read this many bytes (a partial last line is dropped)', int('--len'))
    .action(async (name: string, file: string, o: ImportOpts, cmd: Command) => {
      // An option the format ignores would change nothing without a word (--from on a CSV still
      // imports the whole file): a usage error instead, printed by commander.
      const format = await detectFormat(file, o.format as ImportFormat | undefined);
      const wrong = FORMAT_SPECIFIC.filter(
        (k) => !FORMAT_OPTIONS[format]!.includes(k) && cmd.getOptionValueSource(k) === 'cli',
      );
      if ((format === 'json' || format === 'ndjson') && o.sample === 'all') wrong.push('sample');
      if (wrong.length > 0) {
        const flag = (k: string): string =>
          k === 'header' ? '--no-header' : `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
        const flags = wrong.map(flag).join(', ');
        cmd.error(`error: ${flags} ${wrong.length > 1 ? 'do' : 'does'} not apply to ${format.toUpperCase()} files`, {
          code: 'commander.invalidArgument',
          exitCode: 2,
        });
      }
      await runImport(openStore, name, file, o, out);
    });

  withUrl(df.command('ls'))
    .description('list dataframes')
    .option('--json', 'print JSON')
    .action(async (o: { url?: string; json?: boolean }) => {
      const list = await withStore(openStore, o.url, (s) => DataFrame.list(s));
      out.write(o.json ? `${JSON.stringify(list, null, 2)}\n` : renderFrameList(list));
    });

  withUrl(df.command('show <name>'))
    .description('print the schema and the first rows of a dataframe')
    .option('-n, --head <n>', 'rows to show', int('--head'), 10)
    .action(async (name: string, o: { url?: string; head: number }) => {
      await withStore(openStore, o.url, async (s) => {
        const lf = await DataFrame.get(s, name);
        const i = lf.info();
        out.write(
          `${i.name}: ${i.nrows} rows x ${i.ncols} columns, schema ${i.schema}, ${i.nchunks} chunks of ${i.chunkRows} rows, version ${i.version}\n`,
        );
        out.write(renderFrame(await lf.slice(0, o.head), lf.nrows));
      });
    });

  withUrl(df.command('export <name>'))
    .description('write a dataframe as CSV, JSON (an array of objects), NDJSON, Parquet or Arrow IPC')
    .option(
      '-f, --format <format>',
      'csv, json, ndjson, parquet, arrow (IPC file) or arrows (IPC stream) (default: from the --out file name, .csv .json .ndjson/.jsonl .parquet .arrow .arrows; required for stdout)',
      oneOf('csv', 'json', 'ndjson', 'parquet', 'arrow', 'arrows'),
    )
    .option('-o, --out <file>', 'write to a file instead of stdout')
    .option('-n, --limit <n>', 'at most this many rows', int('--limit'))
    .action(async (name: string, o: { url?: string; format?: string; out?: string; limit?: number }, cmd: Command) => {
      const format = o.format ?? formatOfOut(o.out);
      if (format === undefined)
        cmd.error(
          o.out === undefined
            ? 'error: give --format csv|json|ndjson|parquet|arrow|arrows (or --out FILE with one of those extensions)'
            : `error: cannot tell the format from "${o.out}": give --format csv|json|ndjson|parquet|arrow|arrows`,
          { exitCode: 2, code: 'eau2.usage' },
        );
      await withStore(openStore, o.url, async (s) => {
        const lf = await DataFrame.get(s, name);
        const opts = { limit: o.limit, ndjson: format === 'ndjson' };
        const run = (dest: Writable): Promise<number> =>
          format === 'csv'
            ? exportCsv(lf, dest, opts)
            : format === 'parquet'
              ? exportParquet(lf, dest, opts)
              : format === 'arrow' || format === 'arrows'
                ? exportArrow(lf, dest, { ...opts, stream: format === 'arrows' })
                : exportJson(lf, dest, opts);
        await (o.out ? exportToFile(o.out, run) : run(out));
      });
    });

  withUrl(df.command('rm <name>'))
    .description('delete a dataframe, and any unpublished chunks of that name (an interrupted import)')
    .action(async (name: string, o: { url?: string }) => {
      const r = await withStore(openStore, o.url, (s) => removeFrame(s, name));
      const orphans = r.versions - (r.published ? 1 : 0);
      const swept = orphans > 0 ? ` (and ${orphans} unpublished version${orphans > 1 ? 's' : ''} of its chunks)` : '';
      if (r.published) out.write(`deleted ${JSON.stringify(name)}${swept}\n`);
      else if (orphans > 0)
        out.write(
          `no dataframe named ${JSON.stringify(name)}; deleted ${orphans} unpublished version${orphans > 1 ? 's' : ''} of its chunks\n`,
        );
      else throw new Error(`no dataframe named ${JSON.stringify(name)}`);
    });

  registerQueryCommands(program, df, openStore, out);
}
