// CSV import with a schema naming only some columns (the rest inferred) and with configurable null
// markers (NA, n/a, null besides the empty field): seeded random files, checked against the values
// the test generated.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDfCommands } from '../../app/cli/df-commands.js';
import { DataFrame, importCsv, type Value } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { rowsOf, seededRng } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-csv-nulls-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const MARKERS = ['NA', 'n/a', 'null', ''];

/** A random file: columns id (int), v (ints, to be read as D when the schema says so), ok (bool), s (text). */
function randomCsv(rng: ReturnType<typeof seededRng>, n: number): { text: string; rows: Value[][] } {
  const lines = ['id,v,ok,s'];
  const rows: Value[][] = [];
  for (let r = 0; r < n; r++) {
    const cell = <T extends Value>(v: T, text: string): [Value, string] =>
      rng.bool(0.15) ? [null, rng.pick(MARKERS)] : [v, text];
    const id = r; // never null: the row's identity
    const vi = rng.int(-5000, 5000);
    const [v, vt] = cell(vi, String(vi));
    const b = rng.bool();
    const [ok, okt] = cell(b, b ? 'true' : 'false');
    const w = `w${rng.word(rng.int(1, 5))}`;
    const [s, st] = cell(w, w);
    lines.push([String(id), vt, okt, st].join(','));
    rows.push([id, v, ok, s]);
  }
  return { text: `${lines.join('\n')}\n`, rows };
}

describe('CSV null markers and partial schemas', () => {
  it('reads every configured marker as null and infers the columns the schema leaves out', async () => {
    const rng = seededRng();
    const { text, rows } = randomCsv(rng, 500);
    const p = join(dir, 'a.csv');
    await writeFile(p, text);
    for (const sampleRows of [10_000, 'all'] as const) {
      const store = new MemoryStore();
      const res = await importCsv(store, 'f', p, { schema: { v: 'D' }, nullValues: ['NA', 'n/a', 'null'], sampleRows });
      expect(res.inferred).toBe(true);
      const df = await (await DataFrame.get(store, 'f')).load();
      expect(df.schema).toBe('IDBS'); // v from the schema, the rest inferred despite the markers
      expect(rowsOf(df)).toEqual(rows);
    }
  });

  it('keeps markers that are not configured as text, and a full name:type schema infers nothing', async () => {
    const p = join(dir, 'b.csv');
    await writeFile(p, 'a,b\n1,NA\n2,x\n,n/a\n');
    const store = new MemoryStore();
    const res = await importCsv(store, 'g', p, { schema: 'b:S,a:I' });
    expect(res.inferred).toBe(false);
    const df = await (await DataFrame.get(store, 'g')).load();
    expect(df.columnNames).toEqual(['a', 'b']);
    expect(rowsOf(df)).toEqual([
      [1, 'NA'],
      [2, 'x'],
      [null, 'n/a'],
    ]);
    await importCsv(store, 'h', p, { nullValues: ['NA'] });
    expect(rowsOf(await (await DataFrame.get(store, 'h')).load())).toEqual([
      [1, null],
      [2, 'x'],
      [null, 'n/a'],
    ]);
  });

  it('refuses a schema naming a column the header lacks, a partial letter schema and bad markers', async () => {
    const p = join(dir, 'c.csv');
    await writeFile(p, 'a,b\n1,2\n');
    const store = new MemoryStore();
    await expect(importCsv(store, 'x', p, { schema: 'a:I,zz:D' })).rejects.toThrow(/names column "zz"/);
    await expect(importCsv(store, 'x', p, { schema: 'I' })).rejects.toThrow(/schema has 1 columns, the file has 2/);
    // A column's name alone reads as type letters: the error says so.
    await expect(importCsv(store, 'x', p, { schema: 'ids' })).rejects.toThrow(
      'the schema has 3 columns, the file has 2 (type letters: I d S; name:type pairs may type some columns)',
    );
    await expect(importCsv(store, 'x', p, { nullValues: 'NA' as unknown as string[] })).rejects.toThrow(TypeError);
    expect(await DataFrame.list(store)).toEqual([]);
  });

  it('eau2 df import takes --nulls and a partial --schema', async () => {
    const p = join(dir, 'd.csv');
    await writeFile(p, 'a,b,c\n1,NA,x\nnull,2.5,\n');
    const store = new MemoryStore();
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
    await program.parseAsync(['node', 'eau2', 'df', 'import', 'd', p, '--nulls', 'NA,null', '--schema', 'b:D']);
    expect(text).toMatch(/imported 2 rows into "d" \(schema a:I,b:D,c:S, inferred\)/);
    expect(rowsOf(await (await DataFrame.get(store, 'd')).load())).toEqual([
      [1, null, 'x'],
      [null, 2.5, null],
    ]);
  });
});
