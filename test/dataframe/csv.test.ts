// CSV import and export: quoting, embedded delimiters and newlines, nulls, type inference that never
// changes a value (leading zeros, big integers, mixed columns), clear failures that publish nothing,
// and export -> import round trips.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataFrame, exportCsv, exportJson, importCsv } from '../../dataframe/index.js';
import { classify, convertText, Kind, TypeGuess } from '../../dataframe/io/text-values.js';
import { MemoryStore } from '../support/memory-store.js';
import { randomFrame, rowsOf, seededRng } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-csv-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

async function load(store: MemoryStore, name: string): Promise<DataFrame> {
  return (await DataFrame.get(store, name)).load();
}

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

describe('CSV type inference', () => {
  it('classifies text without changing any value', () => {
    expect(classify('42')).toBe(Kind.Int32);
    expect(classify('-2147483648')).toBe(Kind.Int32);
    expect(classify('2147483648')).toBe(Kind.SafeInt);
    expect(classify('9223372036854775807')).toBe(Kind.Int64); // beyond 2^53, within int64
    expect(classify('9223372036854775808')).toBe(Kind.Text); // beyond int64: digits would be lost
    expect(classify('12345678901234567890')).toBe(Kind.Text);
    expect(classify('2024-02-29')).toBe(Kind.Date);
    expect(classify('2023-02-29')).toBe(Kind.Text); // no such day
    expect(classify('2024-02-29T13:45:00Z')).toBe(Kind.Timestamp);
    expect(classify('2024-02-29 13:45:00.123456+05:30')).toBe(Kind.Timestamp);
    expect(classify('2024-02-29T13:45:00.1234567Z')).toBe(Kind.Text); // a digit below the microsecond
    expect(classify('2024-02-29T24:00:00Z')).toBe(Kind.Text);
    expect(classify('007')).toBe(Kind.Text);
    expect(classify('0.5')).toBe(Kind.Double);
    expect(classify('1e400')).toBe(Kind.Text); // would overflow to Infinity
    expect(classify('1e-400')).toBe(Kind.Text); // would underflow to 0
    expect(classify('TRUE')).toBe(Kind.Bool);
    expect(classify('')).toBe(Kind.Null);
  });

  it('joins kinds into the narrowest safe column type', () => {
    const t = (...vs: string[]): string => {
      const g = new TypeGuess();
      vs.forEach((v) => g.add(v));
      return g.type;
    };
    expect(t('1', '2', '')).toBe('I');
    expect(t('1', '2.5')).toBe('D');
    expect(t('1', '3000000000')).toBe('L');
    expect(t('1', '9223372036854775807')).toBe('L');
    expect(t('1.5', '3000000000')).toBe('D'); // float64 holds 3e9 exactly
    expect(t('1.5', '9223372036854775807')).toBe('S'); // it does not hold 2^63-1
    expect(t('2024-01-01', '')).toBe('d');
    expect(t('2024-01-01', '2024-01-01T10:00:00Z')).toBe('T');
    expect(t('2024-01-01', '5')).toBe('S');
    expect(t('1', 'x')).toBe('S');
    expect(t('true', '1')).toBe('S');
    expect(t('true', 'False')).toBe('B');
    expect(t('', '')).toBe('S');
    expect(convertText('D', '9007199254740993')).toBeUndefined();
  });
});

describe('importCsv', () => {
  it('handles a header, quotes, embedded commas and newlines, and empty fields as nulls', async () => {
    const p = await file(
      'q.csv',
      'id,name,score,ok\n1,"Smith, Ann",1.5,true\n2,"two\nlines",,false\n3,"say ""hi""",-2,\n',
    );
    const store = new MemoryStore();
    const res = await importCsv(store, 'q', p);
    expect(res.rows).toBe(3);
    expect(res.inferred).toBe(true);
    const df = await load(store, 'q');
    expect(df.schema).toBe('ISDB');
    expect(df.columnNames).toEqual(['id', 'name', 'score', 'ok']);
    expect(rowsOf(df)).toEqual([
      [1, 'Smith, Ann', 1.5, true],
      [2, 'two\nlines', null, false],
      [3, 'say "hi"', -2, null],
    ]);
  });

  it('keeps leading zeros, big integers and mixed columns intact', async () => {
    const p = await file('m.csv', 'zip,big,huge,mixed\n02134,3000000000,12345678901234567890,1\n10001,-5,1,a\n');
    const store = new MemoryStore();
    await importCsv(store, 'm', p);
    const df = await load(store, 'm');
    expect(df.schema).toBe('SLSS');
    expect(rowsOf(df)).toEqual([
      ['02134', 3000000000n, '12345678901234567890', '1'],
      ['10001', -5n, '1', 'a'],
    ]);
  });

  it('fails with the record number when a value contradicts the sampled type, publishing nothing', async () => {
    const p = await file('late.csv', 'n\n1\n2\n3\nfour\n');
    const store = new MemoryStore();
    const err = await importCsv(store, 'late', p, { sampleRows: 2 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID' });
    expect(String(err)).toMatch(/record 5, column "n": "four" is not an int32/);
    expect(await DataFrame.list(store)).toEqual([]);
    expect(store.size).toBe(0);
    // Sampling every row finds the string and types the column S.
    await importCsv(store, 'late', p, { sampleRows: 'all' });
    expect((await load(store, 'late')).schema).toBe('S');
  });

  it('uses a given schema: letters take the header names, name:type pairs must name header columns', async () => {
    const p = await file('s.csv', 'a,b\n1,2\n3,4\n');
    const store = new MemoryStore();
    await importCsv(store, 's1', p, { schema: 'DS' });
    expect(rowsOf(await load(store, 's1'))).toEqual([
      [1, '2'],
      [3, '4'],
    ]);
    expect((await load(store, 's1')).columnNames).toEqual(['a', 'b']);
    await expect(importCsv(store, 's2', p, { schema: 'x:I,b:I' })).rejects.toThrow(
      /names column "x", which the header does not/,
    );
    await expect(importCsv(store, 's3', p, { schema: 'III' })).rejects.toThrow(/schema has 3 columns, the file has 2/);
    await expect(importCsv(store, 's4', p, { schema: 'BB' })).rejects.toThrow(/"1" is not a bool; check the schema/);
  });

  it('refuses records with the wrong number of fields', async () => {
    const p = await file('ragged.csv', 'a,b\n1,2\n3\n');
    await expect(importCsv(new MemoryStore(), 'r', p)).rejects.toMatchObject({ code: 'INVALID' });
  });

  it('refuses a CSV that cannot be parsed with INVALID when every row is sampled too, publishing nothing', async () => {
    const store = new MemoryStore();
    for (const [n, text, record] of [
      ['ragged-all.csv', 'a,b\n1,2\n3\n', 3],
      ['quote-all.csv', 'a,b\n1,"open\n', 2],
    ] as const) {
      const p = await file(n, text);
      const err = await importCsv(store, 'x', p, { sampleRows: 'all' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'INVALID', details: { record, file: p } });
      // The file is named, as the Parquet and Arrow importers name theirs.
      expect((err as Error).message).toMatch(new RegExp(`^cannot import ${p}: cannot parse CSV: record ${record}`));
    }
    expect(store.size).toBe(0);
  });

  it('names an empty file, or one of blank lines, as such and publishes nothing', async () => {
    const store = new MemoryStore();
    for (const [n, text] of [
      ['empty.csv', ''],
      ['blank.csv', '\n\n\n'],
    ] as const) {
      const p = await file(n, text);
      await expect(importCsv(store, 'x', p)).rejects.toMatchObject({
        code: 'INVALID',
        message: `${p} has no header: it is empty or holds only blank lines`,
      });
      await expect(importCsv(store, 'x', p, { header: false })).rejects.toMatchObject({
        message: `${p} has no records: it is empty or holds only blank lines`,
      });
    }
    expect(store.size).toBe(0);
  });

  it('reports a file it cannot read as what it is, not as a CSV it cannot parse', async () => {
    const err = await importCsv(new MemoryStore(), 'x', join(dir, 'no-such.csv')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENOENT' });
    expect(String(err)).not.toMatch(/cannot parse CSV/);
  });

  it('names unnamed header columns without renaming a column the header names', async () => {
    const p = await file('names.csv', 'a,,c1,a,a_2,\n1,2,3,4,5,6\n');
    const store = new MemoryStore();
    await importCsv(store, 'n', p);
    const df = await load(store, 'n');
    // Column 1 has no name (c1 is taken by column 2), column 3 repeats "a" (a_2 is taken by column 4).
    expect(df.columnNames).toEqual(['a', 'c1_2', 'c1', 'a_3', 'a_2', 'c5']);
    expect(df.get('c1', 0)).toBe(3);
    expect(df.get('a_2', 0)).toBe(5);
    // So a schema naming the header's columns fits.
    await importCsv(store, 'n2', p, { schema: 'a:I,c1_2:I,c1:S,a_3:I,a_2:D,c5:I' });
    expect((await load(store, 'n2')).get('c1', 0)).toBe('3');
  });

  it('reads from a stream, without a header, and reports progress', async () => {
    const store = new MemoryStore();
    const seen: number[] = [];
    const res = await importCsv(store, 'h', () => Readable.from(['1;x\n', '2;y\n']), {
      header: false,
      delimiter: ';',
      onProgress: (p) => seen.push(p.bytes),
    });
    expect(res.bytes).toBe(8);
    expect(seen.at(-1)).toBe(8);
    const df = await load(store, 'h');
    expect(df.columnNames).toEqual(['c0', 'c1']);
    expect(rowsOf(df)).toEqual([
      [1, 'x'],
      [2, 'y'],
    ]);
  });

  it('reports progress through both passes when every row is sampled', async () => {
    const text = `n\n${Array.from({ length: 2000 }, (_, i) => String(i)).join('\n')}\n`;
    const p = await file('twice.csv', text);
    const seen: { bytes: number; rows: number; sampling: boolean }[] = [];
    await importCsv(new MemoryStore(), 'twice', p, {
      sampleRows: 'all',
      onProgress: (q) => seen.push({ ...q, sampling: q.sampling === true }),
    });
    const size = Buffer.byteLength(text);
    const firstLoad = seen.findIndex((q) => !q.sampling);
    // First the type pass (nothing stored yet), through the whole file; then the load, from 0 again.
    expect(firstLoad).toBeGreaterThan(0);
    expect(seen.slice(0, firstLoad).every((q) => q.rows === 0)).toBe(true);
    expect(seen[firstLoad - 1]!.bytes).toBe(size);
    expect(seen.slice(firstLoad).every((q) => !q.sampling)).toBe(true);
    expect(seen.at(-1)).toEqual({ bytes: size, rows: 2000, sampling: false });
  });

  it('streams a large file through small chunks with bounded buffering', async () => {
    const lines = ['k,v'];
    for (let i = 0; i < 20000; i++) lines.push(`${i % 7},${i * 0.25}`);
    const p = await file('big.csv', lines.join('\n'));
    const store = new MemoryStore();
    await importCsv(store, 'big', p, { chunkRows: 1000, sampleRows: 100 });
    const lf = await DataFrame.get(store, 'big');
    expect(lf.nchunks).toBe(20);
    expect(await lf.sum('v')).toBe((0.25 * 19999 * 20000) / 2);
  });
});

describe('export', () => {
  it('round-trips a random frame through CSV', async () => {
    const rng = seededRng();
    const src = randomFrame(rng, 500);
    const out = new Collect();
    await exportCsv(src, out);
    const p = await file('rt.csv', out.text);
    const store = new MemoryStore();
    await importCsv(store, 'rt', p, { schema: src.schema });
    const back = await load(store, 'rt');
    // Empty strings come back as nulls (an empty field is a null on import); everything else is exact.
    const norm = (rows: unknown[][]): unknown[][] => rows.map((r) => r.map((v) => (v === '' ? null : v)));
    expect(rowsOf(back)).toEqual(norm(rowsOf(src)));
  });

  it('writes JSON arrays and NDJSON from a stored frame, NaN as null', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'j', DataFrame.fromColumns({ a: [1, NaN], s: ['x', null] }), { chunkRows: 1 });
    const lf = await DataFrame.get(store, 'j');
    const out = new Collect();
    expect(await exportJson(lf, out)).toBe(2);
    expect(JSON.parse(out.text)).toEqual([
      { a: 1, s: 'x' },
      { a: null, s: null },
    ]);
    const nd = new Collect();
    await exportJson(lf, nd, { ndjson: true, limit: 1 });
    expect(nd.text).toBe('{"a":1,"s":"x"}\n');
    const empty = new Collect();
    await exportJson(DataFrame.fromColumns({ a: { type: 'I', values: [] } }), empty);
    expect(JSON.parse(empty.text)).toEqual([]);
  });

  it("fails with the output's error, neither crashing the process nor waiting forever", {
    timeout: 10_000,
  }, async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'e', DataFrame.fromColumns({ x: Float64Array.from({ length: 100 }, (_, i) => i) }), {
      chunkRows: 10,
    });
    const lf = await DataFrame.get(store, 'e');
    // Every write is taken without backpressure and fails a moment later, as a closed pipe or a full
    // disk does: the 'error' arrives while the export is reading chunks, not waiting for 'drain'.
    const broken = (): Writable =>
      new Writable({
        highWaterMark: 1 << 30,
        write: (_c, _e, cb) => void setImmediate(() => cb(new Error('disk full'))),
      });
    await expect(exportCsv(lf, broken())).rejects.toThrow('disk full');
    await expect(exportJson(lf, broken())).rejects.toThrow('disk full');
    // An output someone else closes midway ends the export too.
    const closing = new Collect();
    const running = exportCsv(lf, closing);
    closing.destroy();
    await expect(running).rejects.toThrow(/closed/);
  });

  it('writes every column to JSON, whatever its name', async () => {
    const p = await file('proto.csv', '__proto__,constructor,toString\n1,x,true\n');
    const store = new MemoryStore();
    await importCsv(store, 'p', p);
    const out = new Collect();
    await exportJson(await DataFrame.get(store, 'p'), out, { ndjson: true });
    expect(out.text).toBe('{"__proto__":1,"constructor":"x","toString":true}\n');
  });

  it('respects backpressure of a slow output', async () => {
    const out = new PassThrough({ highWaterMark: 16 });
    const chunks: string[] = [];
    out.on('data', (c: Buffer) => chunks.push(c.toString()));
    const n = await exportCsv(DataFrame.fromColumns({ x: new Float64Array(70_000) }), out);
    expect(n).toBe(70_000);
    expect(chunks.join('').split('\n').length).toBe(70_002);
  });
});
