// `eau2 df ...`: the dataframe commands, registered on the cluster's CLI program by its composition
// root (cluster/cli/dataframe-hooks.ts), which also supplies how to open a store (a ClusterClient).
// Keeping the commands here keeps the cluster free of dataframe imports. See docs/dataframe.md "CLI".

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import { InvalidArgumentError, type Command } from 'commander';
import type { KvStore } from '../engine/kv-store.js';
import { DataFrame } from './dataframe.js';
import { renderFrame, renderFrameList } from './format-table.js';
import { importCsv, type ImportProgress, type ImportResult } from './io/csv-import.js';
import { exportCsv, exportJson } from './io/export.js';
import { importSor, type SorImportResult } from './io/sor-import.js';

export type OpenStore = (opts: { url?: string }) => Promise<KvStore & { close?(): Promise<void> }>;

const int = (what: string, min = 0) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${what} must be an integer >= ${min}`);
  return n;
};

/** --sample: a record count (at least 1) or "all". Parsed here so commander reports a bad value as a usage error. */
const sampleArg = (v: string): number | 'all' => {
  if (v === 'all') return 'all';
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('--sample must be an integer >= 1 or "all"');
  return n;
};

const oneOf = (...allowed: string[]) => (v: string): string => {
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
  return {
    update(p) {
      const now = Date.now();
      if (!active || sampling !== (p.sampling === true)) {
        // --sample all reads the file twice: one bar for the type pass, then one for the load.
        if (active) bar.stop();
        active = true;
        sampling = p.sampling === true;
        started = now;
        last = 0;
        bar.start(totalBytes, 0, { done: '0.0', all: mb(totalBytes), rows: sampling ? 'inferring types (pass 1 of 2)' : '0 rows', rate: '0.0' });
      }
      if (now - last < 100 && p.bytes < totalBytes) return; // redraw at most 10 times a second
      last = now;
      const rate = p.bytes / 1e6 / Math.max(0.001, (now - started) / 1000);
      const rows = sampling ? 'inferring types (pass 1 of 2)' : `${p.rows} rows`;
      bar.update(Math.min(p.bytes, totalBytes), { done: mb(p.bytes), rows, rate: rate.toFixed(1) });
    },
    stop: () => {
      if (active) bar.stop();
    },
  };
}

/**
 * Exports into a new file beside `path`, renamed over it only when the export is complete: a failed
 * export (a frame replaced meanwhile, a full disk) leaves no partial file, and a file already at
 * `path` as it was.
 */
async function exportToFile(path: string, run: (dest: Writable) => Promise<unknown>): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const dest = createWriteStream(tmp, { flags: 'wx' });
  dest.on('error', () => undefined); // reported by once(), run() or finished() below, never as an unhandled event
  try {
    // A bad path fails here, before any chunk is read, with the path the user gave.
    await once(dest, 'open').catch((e: NodeJS.ErrnoException) => {
      throw Object.assign(new Error(`cannot write ${path}: ${e.message.replace(`, open '${tmp}'`, '')}`, { cause: e }), { code: e.code });
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
  from?: number;
  len?: number;
}

function formatOf(file: string, o: ImportOpts): string {
  return o.format ?? (file.toLowerCase().endsWith('.sor') ? 'sor' : 'csv');
}

async function runImport(open: OpenStore, name: string, file: string, o: ImportOpts, out: Writable): Promise<ImportResult> {
  const format = formatOf(file, o);
  const size = (await stat(file)).size;
  const total = format === 'sor' && (o.from !== undefined || o.len !== undefined) ? Math.min(size - (o.from ?? 0), o.len ?? size) : size;
  const bar = progressBar(Math.max(0, total));
  const started = Date.now();
  try {
    const res = await withStore(open, o.url, (store) =>
      format === 'sor'
        ? importSor(store, name, file, { schema: o.schema, chunkRows: o.chunkRows, from: o.from, len: o.len, onProgress: bar.update })
        : importCsv(store, name, file, {
            schema: o.schema,
            chunkRows: o.chunkRows,
            delimiter: o.delimiter,
            header: o.header,
            sampleRows: o.sample,
            onProgress: bar.update,
          }),
    );
    bar.stop();
    const secs = (Date.now() - started) / 1000;
    const sor = 'mismatched' in res ? (res as SorImportResult) : undefined;
    const extra = sor
      ? `, ${sor.mismatched} misfit fields stored as null` + (sor.extraFields > 0 ? `, ${sor.extraFields} fields beyond the last column ignored` : '')
      : '';
    out.write(
      `imported ${res.rows} rows into ${JSON.stringify(name)} (schema ${res.meta.fields.map((f) => `${f.name}:${f.type}`).join(',')}` +
        `${res.inferred ? ', inferred' : ''}) in ${secs.toFixed(2)} s, ${(res.bytes / 1e6 / Math.max(secs, 0.001)).toFixed(1)} MB/s${extra}\n`,
    );
    return res;
  } catch (e) {
    bar.stop();
    throw e;
  }
}

/** Adds `df import|ls|show|export|rm` to `program`. `out` is for tests; the default is stdout. */
export function registerDfCommands(program: Command, openStore: OpenStore, out: Writable = process.stdout): void {
  const df = program.command('df').description('dataframes: import, list, show, export, remove');
  const withUrl = (c: Command): Command => c.option('-u, --url <url>', 'any node of the cluster (default $EAU2_URL)');

  withUrl(df.command('import <name> <file>'))
    .description('load a CSV or SoR file into a dataframe (replaces a frame of the same name when done)')
    .option('-s, --schema <schema>', 'column types: letters in column order ("ISD") or name:type pairs')
    .option('-f, --format <format>', 'csv or sor (default: by file extension)', oneOf('csv', 'sor'))
    .option('--chunk-rows <n>', 'rows per chunk (default 65536)', int('--chunk-rows', 1))
    .option('--sample <n|all>', 'CSV: rows sampled to infer types (default 10000), or all (reads the file twice)', sampleArg)
    .option('-d, --delimiter <char>', 'CSV field delimiter (default ,)')
    .option('--no-header', 'CSV: the first record is data; columns are named c0, c1, ...')
    .option('--from <byte>', 'SoR: start at this byte (the partial first line is skipped)', int('--from'))
    .option('--len <bytes>', 'SoR: read this many bytes (a partial last line is dropped)', int('--len'))
    .action(async (name: string, file: string, o: ImportOpts, cmd: Command) => {
      // An option the format ignores would change nothing without a word (--from on a CSV still
      // imports the whole file): a usage error instead, printed by commander.
      const format = formatOf(file, o);
      const wrong = (format === 'sor' ? ['sample', 'delimiter', 'header'] : ['from', 'len']).filter((k) => cmd.getOptionValueSource(k) === 'cli');
      if (wrong.length > 0) {
        const flags = wrong.map((k) => (k === 'header' ? '--no-header' : `--${k}`)).join(', ');
        cmd.error(`error: ${flags} ${wrong.length > 1 ? 'do' : 'does'} not apply to ${format.toUpperCase()} files`, { code: 'commander.invalidArgument', exitCode: 2 });
      }
      await runImport(openStore, name, file, o, out);
    });

  withUrl(df.command('ls'))
    .description('list dataframes')
    .option('--json', 'print JSON')
    .action(async (o: { url?: string; json?: boolean }) => {
      const list = await withStore(openStore, o.url, (s) => DataFrame.list(s));
      out.write(o.json ? JSON.stringify(list, null, 2) + '\n' : renderFrameList(list));
    });

  withUrl(df.command('show <name>'))
    .description('print the schema and the first rows of a dataframe')
    .option('-n, --head <n>', 'rows to show (default 10)', int('--head'), 10)
    .action(async (name: string, o: { url?: string; head: number }) => {
      await withStore(openStore, o.url, async (s) => {
        const lf = await DataFrame.get(s, name);
        const i = lf.info();
        out.write(`${i.name}: ${i.nrows} rows x ${i.ncols} columns, schema ${i.schema}, ${i.nchunks} chunks of ${i.chunkRows} rows, version ${i.version}\n`);
        out.write(renderFrame(await lf.slice(0, o.head), lf.nrows));
      });
    });

  withUrl(df.command('export <name>'))
    .description('write a dataframe as CSV, JSON (an array of objects) or NDJSON')
    .requiredOption('-f, --format <format>', 'csv, json or ndjson', oneOf('csv', 'json', 'ndjson'))
    .option('-o, --out <file>', 'write to a file instead of stdout')
    .option('-n, --limit <n>', 'at most this many rows', int('--limit'))
    .action(async (name: string, o: { url?: string; format: string; out?: string; limit?: number }) => {
      await withStore(openStore, o.url, async (s) => {
        const lf = await DataFrame.get(s, name);
        const opts = { limit: o.limit, ndjson: o.format === 'ndjson' };
        const run = (dest: Writable): Promise<number> => (o.format === 'csv' ? exportCsv(lf, dest, opts) : exportJson(lf, dest, opts));
        await (o.out ? exportToFile(o.out, run) : run(out));
      });
    });

  withUrl(df.command('rm <name>'))
    .description('delete a dataframe')
    .action(async (name: string, o: { url?: string }) => {
      const existed = await withStore(openStore, o.url, (s) => DataFrame.delete(s, name));
      if (!existed) throw new Error(`no dataframe named ${JSON.stringify(name)}`);
      out.write(`deleted ${JSON.stringify(name)}\n`);
    });
}
