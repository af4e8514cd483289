// The importer is chosen by magic bytes and extension: Parquet and Arrow IPC (file and stream) go to
// their importers whatever the name (a .parquet is never parsed as CSV, a damaged one fails as
// Parquet), compressed and other binary files and names that promise what the bytes are not are
// refused with an error naming the type, and nothing is published; a .tsv is read with a tab
// delimiter.

import { execFileSync } from 'node:child_process';
import { closeSync, constants, createWriteStream, openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDfCommands } from '../../app/cli/df-commands.js';
import { DataFrame, exportArrow, type Value } from '../../dataframe/index.js';
import { detectFormat, magicType } from '../../dataframe/io/detect.js';
import { MemoryStore } from '../support/memory-store.js';
import { rowsOf, seededRng } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-detect-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function cli(store: MemoryStore) {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  const program = new Command('eau2').exitOverride();
  registerDfCommands(
    program,
    async () => Object.assign(Object.create(store) as MemoryStore, { close: async () => {} }),
    out,
  );
  return async (...args: string[]): Promise<string> => {
    text = '';
    await program.parseAsync(['node', 'eau2', ...args]);
    return text;
  };
}

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const ascii = (s: string): number[] => [...Buffer.from(s, 'latin1')];

describe('file type detection', () => {
  it('names binary types by their magic bytes', () => {
    expect(magicType(bytes(...ascii('PAR1'), 0x15, 0))).toBe('Parquet');
    expect(magicType(bytes(...ascii('ARROW1'), 0, 0))).toBe('Arrow IPC');
    expect(magicType(bytes(0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0))).toBe('Arrow IPC stream');
    expect(magicType(bytes(0x1f, 0x8b, 8))).toBe('gzip');
    expect(magicType(bytes(0x28, 0xb5, 0x2f, 0xfd))).toBe('zstd');
    expect(magicType(bytes(...ascii('a,b\n1,2\n')))).toBeUndefined();
  });

  it('reads Parquet and Arrow by their bytes, refuses damaged, compressed and mislabelled files, publishes nothing', async () => {
    const store = new MemoryStore();
    const run = cli(store);
    const cases: [string, Uint8Array | string, RegExp][] = [
      ['data.parquet', bytes(...ascii('PAR1'), 1, 2, 3, ...ascii('PAR1')), /as Parquet/],
      ['data.csv', bytes(...ascii('PAR1'), 1, 2, 3, ...ascii('PAR1')), /as Parquet/],
      ['t.arrow', bytes(...ascii('ARROW1'), 0, 0), /as Arrow IPC/],
      ['s.bin', bytes(0xff, 0xff, 0xff, 0xff, 8, 0, 0, 0), /as Arrow IPC/],
      ['z.csv.gz', bytes(0x1f, 0x8b, 8, 0), /is in gzip format/],
      ['nul.csv', bytes(...ascii('a,b\n1,'), 0, ...ascii('\n')), /binary file of unknown type/],
      ['text.parquet', 'a,b\n1,2\n', /its name says Parquet, but its bytes are not/],
      ['text.arrows', 'a,b\n1,2\n', /its name says Arrow IPC stream/],
      // Empty, whatever the name says: no format takes it.
      ['empty.parquet', '', /: it is empty$/],
      ['empty.csv', '', /: it is empty$/],
      ['empty.json', '', /: it is empty$/],
    ];
    for (const [name, content, why] of cases) {
      const p = join(dir, name);
      await writeFile(p, content);
      await expect(run('df', 'import', 'x', p), name).rejects.toMatchObject({
        code: 'INVALID',
        message: expect.stringMatching(why),
      });
      await expect(run('df', 'import', 'x', p, '--format', 'csv'), name).rejects.toMatchObject({ code: 'INVALID' });
    }
    // A text file is not read as Parquet because --format says so.
    const t = join(dir, 'plain.csv');
    await writeFile(t, 'a\n1\n');
    await expect(run('df', 'import', 'x', t, '--format', 'parquet')).rejects.toMatchObject({
      code: 'INVALID',
      message: expect.stringMatching(/not Parquet/),
    });
    expect(await DataFrame.list(store)).toEqual([]);
  });

  it('reads an Arrow IPC stream from a FIFO by its name or --format, and refuses Parquet there', async () => {
    const store = new MemoryStore();
    const run = cli(store);
    const df = DataFrame.fromColumns({ n: { type: 'I', values: [1, 2, null] }, s: ['a', null, 'c'] });
    await DataFrame.put(store, 'src', df);
    const parts: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        parts.push(chunk);
        cb();
      },
    });
    await exportArrow(await DataFrame.get(store, 'src'), sink, { stream: true });
    const bytes = Buffer.concat(parts);
    for (const [name, extra] of [
      ['rows.arrows', []],
      ['rows.bin', ['--format', 'arrow']],
    ] as const) {
      const fifo = join(dir, name);
      execFileSync('mkfifo', [fifo]);
      // Opens once the import opens the FIFO to read; the bytes were never sniffed.
      const w = createWriteStream(fifo);
      w.on('error', () => undefined);
      w.end(bytes);
      try {
        expect(await run('df', 'import', 'f', fifo, ...extra), name).toMatch(/imported 3 rows into "f"/);
      } finally {
        // An import that never opened the FIFO leaves our open waiting for a reader: give it one.
        if (w.pending) closeSync(openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK));
      }
      expect(rowsOf(await (await DataFrame.get(store, 'f')).load())).toEqual(rowsOf(df));
    }
    const pq = join(dir, 'rows.parquet');
    execFileSync('mkfifo', [pq]);
    await expect(run('df', 'import', 'p', pq)).rejects.toMatchObject({
      code: 'INVALID',
      message: `cannot import ${pq}: Parquet is read from its footer at the end: give a file, not a pipe`,
    });
  });

  it('reads .tsv files with a tab delimiter and keeps CSV and SoR by extension', async () => {
    const rng = seededRng();
    const rows: Value[][] = [];
    const lines = ['n\tword\tx'];
    for (let i = 0; i < 200; i++) {
      const w = `w${rng.word(rng.int(1, 6))},`; // a comma inside a TSV field is plain text
      const x = rng.int(-1000, 1000) / 4;
      rows.push([i, w, x]);
      lines.push(`${i}\t${w}\t${x}`);
    }
    const p = join(dir, 'words.tsv');
    await writeFile(p, `${lines.join('\n')}\n`);
    expect(await detectFormat(p)).toBe('tsv');
    const store = new MemoryStore();
    const run = cli(store);
    expect(await run('df', 'import', 'w', p)).toMatch(/imported 200 rows into "w" \(schema n:I,word:S,x:D, inferred\)/);
    expect(rowsOf(await (await DataFrame.get(store, 'w')).load())).toEqual(rows);
    await writeFile(join(dir, 'a.txt'), 'a\n1\n');
    expect(await detectFormat(join(dir, 'a.txt'))).toBe('csv');
    expect(await detectFormat(join(dir, 'a.txt'), 'sor')).toBe('sor');
    await writeFile(join(dir, 'b.sor'), '<1>\n');
    expect(await detectFormat(join(dir, 'b.sor'))).toBe('sor');
  });
});
