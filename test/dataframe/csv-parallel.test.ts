// The CSV importer's parse threads (dataframe/io/csv-parallel.ts, csv-worker.ts) store exactly what
// the importing thread alone stores: seeded random files with quoted fields holding delimiters,
// quotes and line breaks (CRLF or LF), a BOM, blank lines, null markers and every inferable type are
// imported with parseThreads 0 and with 1-3 threads and ranges of 16-400 bytes, so that range cuts
// land inside quoted fields and inside multi-byte characters; the stored chunks must be the same
// bytes and the metadata the same. Broken files fail with the same message (record numbers counted
// in the whole file) and leave nothing in the store, as does a file that disappears mid-import.

import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDfCommands } from '../../app/cli/df-commands.js';
import { DataFrame, exportParquet, importCsv } from '../../dataframe/index.js';
import { readMeta } from '../../dataframe/storage.js';
import { MemoryStore } from '../support/memory-store.js';
import { seededRng } from './helpers.js';

type Rng = ReturnType<typeof seededRng>;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-csv-par-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const TEXTS = ['', 'a', 'x,y', 'say "hi"', 'two\nlines', 'cr\r\nlf', 'NA', 'é😀', ' sp ', '"', 'b;c', '\n', 'end\n'];

/** A cell generator per column kind. */
const KINDS: Record<string, (rng: Rng) => string> = {
  int: (rng) => String(rng.int(-5000, 5000)),
  big: (rng) => `${rng.int(1, 9)}${String(rng.int(0, 999_999_999)).padStart(9, '0')}${rng.int(0, 9)}`,
  dec: (rng) => (rng.int(-100000, 100000) / 64).toString(),
  bool: (rng) => rng.pick(['true', 'false', 'TRUE']),
  date: (rng) => `20${rng.int(10, 29)}-0${rng.int(1, 9)}-1${rng.int(0, 9)}`,
  ts: (rng) => `2024-0${rng.int(1, 9)}-1${rng.int(0, 9)}T${rng.int(10, 23)}:${rng.int(10, 59)}:0${rng.int(0, 9)}Z`,
  cat: (rng) => rng.pick(['red', 'green', 'blue', 'a "q"', 'x,y']),
  text: (rng) => rng.pick(TEXTS) + (rng.bool(0.5) ? rng.word(rng.int(0, 8)) : ''),
};

interface Csv {
  text: string;
  width: number;
  /** Data records (the header not counted). */
  rows: number;
}

function quote(rng: Rng, f: string, delimiter: string, alone: boolean): string {
  const must = f.includes(delimiter) || f.includes('"') || f.includes('\n') || f.includes('\r') || (alone && f === '');
  return must || rng.bool(0.1) ? `"${f.replaceAll('"', '""')}"` : f;
}

function randomCsv(rng: Rng, delimiter: string, header: boolean, rows: number): Csv {
  const width = rng.int(1, 6);
  const kinds = Array.from({ length: width }, () => rng.pick(Object.keys(KINDS)));
  const nl = rng.bool() ? '\r\n' : '\n';
  const records: string[][] = [];
  if (header) records.push(Array.from({ length: width }, (_, i) => `c${i}${rng.pick(['', 'é', ' x', '"q"'])}`));
  for (let r = 0; r < rows; r++)
    records.push(kinds.map((k) => (rng.bool(0.05) ? '' : rng.bool(0.03) ? 'NA' : KINDS[k]!(rng))));
  let text = rng.bool(0.2) ? '\uFEFF' : '';
  records.forEach((rec, i) => {
    if (i > 0 && rng.bool(0.03)) text += nl; // a blank line
    text += rec.map((f) => quote(rng, f, delimiter, rec.length === 1)).join(delimiter);
    if (i < records.length - 1 || rng.bool(0.7)) text += nl;
  });
  return { text, width, rows };
}

/** Every key and value the import left, the frame's version taken out of the keys, the metadata decoded. */
async function stored(store: MemoryStore, name: string): Promise<unknown> {
  const meta = await readMeta(store, name);
  if (!meta) return { keys: store.size };
  const out: Record<string, string> = {};
  const it = store.scan();
  for (let kv = await it.next(); kv; kv = await it.next()) {
    const key = Buffer.from(kv[0]).toString('latin1').replaceAll(meta.version, 'V');
    if (key.includes('V')) out[key] = Buffer.from(kv[1]).toString('base64');
  }
  await it.close();
  const { created: _c, version: _v, ...rest } = meta;
  return { meta: rest, chunks: out };
}

type Outcome = { error: string; left: number } | { frame: unknown; inferred: boolean; rows: number };

async function importFile(file: string, opts: Parameters<typeof importCsv>[3]): Promise<Outcome> {
  const store = new MemoryStore();
  try {
    const res = await importCsv(store, 't', file, opts);
    return { frame: await stored(store, 't'), inferred: res.inferred, rows: res.rows };
  } catch (e) {
    return { error: String(e), left: store.size };
  }
}

describe('CSV import on parse threads', () => {
  it('stores the same bytes as one thread, ranges cut anywhere (quoted line breaks included)', async () => {
    const rng = seededRng();
    for (let t = 0; t < 25; t++) {
      const delimiter = rng.pick([',', ';', '\t']);
      const header = rng.bool(0.8);
      const csv = randomCsv(rng, delimiter, header, rng.int(0, 250));
      const file = join(dir, `t${t}.csv`);
      await writeFile(file, csv.text);
      const common = {
        delimiter,
        header,
        chunkRows: rng.int(5, 120),
        nullValues: rng.bool() ? ['NA'] : undefined,
        sampleRows: rng.pick([3, 50, 10_000, 'all'] as const),
      };
      const one = await importFile(file, { ...common, parseThreads: 0 });
      const opts = { ...common, parseThreads: rng.int(1, 3), rangeBytes: rng.int(16, 400) };
      const par = await importFile(file, opts);
      expect(par, JSON.stringify({ t, opts })).toEqual(one);
    }
  });

  it('fails as one thread does, naming the record in the file, and leaves nothing', async () => {
    const rng = seededRng();
    const cases: [string, (c: string[]) => void][] = [
      ['a record of another width', (c) => c.push('1,2,3,4')],
      ['a value that does not fit an inferred int column', (c) => c.push('abc,x')],
      ['a quote left open', (c) => c.push('"12,x\nmore,lines\n')],
      ['text after a closing quote', (c) => c.push('"1"2,x')],
    ];
    for (let t = 0; t < 24; t++) {
      const [what, bad] = cases[t % cases.length]!;
      const lines = ['n,s'];
      const before = rng.int(5, 200);
      for (let r = 0; r < before; r++) lines.push(`${r},${rng.pick(['x', '"y\nz"', '"a,b"'])}`);
      bad(lines);
      if (!what.includes('open')) for (let r = rng.int(0, 50); r > 0; r--) lines.push(`${r},w`);
      const file = join(dir, `bad${t}.csv`);
      await writeFile(file, `${lines.join('\n')}\n`);
      const common = { sampleRows: 3, chunkRows: 16 };
      const one = await importFile(file, { ...common, parseThreads: 0 });
      expect(one, what).toMatchObject({ left: 0 });
      expect((one as { error: string }).error, what).toMatch(/INVALID|cannot parse|record \d+/);
      const par = await importFile(file, { ...common, parseThreads: rng.int(1, 3), rangeBytes: rng.int(16, 200) });
      expect(par, what).toEqual(one);
    }
  });

  it('publishes nothing when the file disappears during the import', async () => {
    const file = join(dir, 'gone.csv');
    const rows = Array.from({ length: 5000 }, (_, i) => `${i},row ${i}`);
    await writeFile(file, `n,s\n${rows.join('\n')}\n`);
    const store = new MemoryStore();
    let removed = false;
    const err = await importCsv(store, 't', file, {
      sampleRows: 10,
      parseThreads: 2,
      rangeBytes: 256,
      concurrency: 1,
      onProgress: () => {
        if (removed) return;
        removed = true;
        void unlink(file);
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(String(err)).toMatch(/ENOENT/);
    expect(store.size).toBe(0);
  });

  it('keeps the progress counting bytes of the file, up to its size', async () => {
    const file = join(dir, 'progress.csv');
    const text = `n,s\n${Array.from({ length: 3000 }, (_, i) => `${i},"v\n${i}"`).join('\n')}\n`;
    await writeFile(file, text);
    const seen: number[] = [];
    const res = await importCsv(new MemoryStore(), 't', file, {
      sampleRows: 10,
      parseThreads: 2,
      rangeBytes: 1000,
      onProgress: (p) => seen.push(p.bytes),
    });
    expect(res.rows).toBe(3000);
    expect(seen.length).toBeGreaterThan(5);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
    expect(seen.at(-1)).toBe(Buffer.byteLength(text));
  });

  it('eau2 df import --parse-threads passes the count to a CSV import and is refused for Parquet', async () => {
    const file = join(dir, 'cli.csv');
    await writeFile(file, 'a,b\n1,x\n2,y\n');
    const store = new MemoryStore();
    let text = '';
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        text += chunk.toString();
        cb();
      },
    });
    const cli = (): Command => {
      const program = new Command('eau2').exitOverride().configureOutput({ writeErr: () => undefined });
      registerDfCommands(
        program,
        async () => Object.assign(Object.create(store) as MemoryStore, { close: async () => {} }),
        out,
      );
      return program;
    };
    await cli().parseAsync(['node', 'eau2', 'df', 'import', 'd', file, '--parse-threads', '2']);
    expect(text).toMatch(/imported 2 rows into "d"/);
    // A count out of range is the flag's usage error, before any file is opened.
    await expect(
      cli().parseAsync(['node', 'eau2', 'df', 'import', 'e', file, '--parse-threads', '65']),
    ).rejects.toThrow(/--parse-threads must be an integer from 0 to 64/);
    const pq = join(dir, 'cli.parquet');
    const ws = createWriteStream(pq);
    await exportParquet(await DataFrame.get(store, 'd'), ws);
    await new Promise<void>((resolve, reject) => ws.end((e?: Error | null) => (e ? reject(e) : resolve())));
    await expect(cli().parseAsync(['node', 'eau2', 'df', 'import', 'f', pq, '--parse-threads', '1'])).rejects.toThrow(
      /--parse-threads does not apply to PARQUET files/,
    );
  });
});
