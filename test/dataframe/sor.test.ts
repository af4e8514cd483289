// SoR (schema-on-read) import, checked against the format's own description: field syntax, the
// 500-line schema inference rules, missing values, and reading a byte range of a file.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataFrame, importSor, inferSorSchema, parseSorLine } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { rowsOf, seededRng } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-sor-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text);
  return p;
}

async function imported(text: string, opts: Parameters<typeof importSor>[3] = {}) {
  const store = new MemoryStore();
  const res = await importSor(store, 'f', await file(`f${Math.random()}.sor`, text), opts);
  return { res, df: await (await DataFrame.get(store, 'f')).load() };
}

describe('parseSorLine', () => {
  it('ignores spaces around delimiters and unquotes strings', () => {
    expect(parseSorLine('< 1 > < hi > < +2.2 >< " bye ">')).toEqual([
      { text: '1', quoted: false },
      { text: 'hi', quoted: false },
      { text: '+2.2', quoted: false },
      { text: ' bye ', quoted: true },
    ]);
  });

  it('reads <> as a missing value', () => {
    expect(parseSorLine('<1><><x>')).toEqual([{ text: '1', quoted: false }, null, { text: 'x', quoted: false }]);
  });

  it('rejects the invalid fields the format lists', () => {
    for (const bad of ['<1. 2>', '<bye world>', '<+ 1>', '<unterminated', 'junk <1>'])
      expect(parseSorLine(bad)).toBeUndefined();
  });
});

describe('schema inference', () => {
  const t = (...lines: string[]): string => inferSorSchema(lines.map((l) => parseSorLine(l)!)).join('');
  it('follows the rules: any string S, else any float D, else a sign or a value above 1 I, else B', () => {
    expect(t('<0> <23> <hi>', '<1> <12> <>', '<1> <1>')).toBe('BIS');
    expect(t('<1> <1.5>', '<0> <2>')).toBe('BD');
    expect(t('<+1>', '<0>')).toBe('I');
    expect(t('<-0>')).toBe('I');
    expect(t('<"1">')).toBe('S');
    expect(t('<>', '<>')).toBe('B');
    expect(t('<3000000000>')).toBe('D'); // beyond int32: eau2 keeps the value exactly as a double
    expect(t('<9007199254740991>', '<1>')).toBe('D'); // 2^53 - 1: still exact
    expect(t('<12345678901234567890>', '<1>')).toBe('S'); // beyond 2^53 a double would change its digits
    expect(t('<-9007199254740993>')).toBe('S');
  });
});

describe('importSor', () => {
  const example = '<0> <23> <hi>\n<1> <12> <>\n<1> <1>\n';

  it('reads the format description example', async () => {
    const { df, res } = await imported(example);
    expect(df.schema).toBe('BIS');
    expect(rowsOf(df)).toEqual([
      [false, 23, 'hi'],
      [true, 12, null],
      [true, 1, null],
    ]);
    expect(res.mismatched).toBe(0);
  });

  it('skips the partial first line of a byte range', async () => {
    const { df } = await imported(example, { from: 5, len: 100 });
    expect(df.get('c1', 0)).toBe(12);
    expect(df.nrows).toBe(2);
  });

  it('drops the partial last line of a range that stops before the end of the file', async () => {
    const { df } = await imported(example, { from: 0, len: 20 });
    expect(rowsOf(df)).toEqual([[false, 23, 'hi']]);
  });

  it('takes types from the first 500 lines only; later misfits become null and are counted', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 600; i++) lines.push(`<${i}> <${i % 2}>`);
    lines[550] = '<oops> <1> <extra> <more>';
    const { df, res } = await imported(lines.join('\n'));
    expect(df.schema).toBe('IB');
    expect(df.nrows).toBe(600);
    expect(df.get('c0', 550)).toBeNull();
    expect(df.get('c1', 550)).toBe(true);
    expect(res.mismatched).toBe(1);
    expect(res.extraFields).toBe(2);
  });

  it('fills missing trailing fields with nulls and keeps quoted spaces', async () => {
    const { df } = await imported('<1> <"a b"> <2.5>\n<0>\n');
    expect(rowsOf(df)).toEqual([
      [true, 'a b', 2.5],
      [false, null, null],
    ]);
  });

  it('matches a plain reading of every line inside a random byte range', async () => {
    const rng = seededRng();
    const lines = Array.from({ length: 300 }, (_, i) => `<${i}> <${rng.word(rng.int(1, 5))}>`);
    const text = `${lines.join('\n')}\n`;
    const from = rng.int(1, text.length - 2);
    const len = rng.int(1, text.length - from);
    const { df } = await imported(text, { from, len, schema: 'IS' });
    // Expected: lines that start after the first newline at or after `from` and end before from+len.
    const want: [number, string][] = [];
    let start = 0;
    for (const l of lines) {
      const end = start + l.length; // index of its '\n'
      if (start - 1 >= from && end < from + len) {
        const m = /^<(\d+)> <(\w+)>$/.exec(l)!;
        want.push([Number(m[1]), m[2]!]);
      }
      start = end + 1;
    }
    expect(rowsOf(df)).toEqual(want);
  });

  it('never rounds an integer beyond 2^53: the column keeps its digits, a later one in a D column is a counted misfit', async () => {
    const big = await imported('<12345678901234567890>\n<1>\n');
    expect(big.df.schema).toBe('S');
    expect(rowsOf(big.df)).toEqual([['12345678901234567890'], ['1']]);
    const lines = Array.from({ length: 500 }, (_, i) => `<${3_000_000_000 + i}>`);
    lines.push('<12345678901234567890>', '<7>');
    const late = await imported(lines.join('\n'));
    expect(late.df.schema).toBe('D');
    expect(late.df.get('c0', 500)).toBeNull();
    expect(late.df.get('c0', 501)).toBe(7);
    expect(late.res.mismatched).toBe(1);
  });

  it('skips blank lines instead of adding rows of nulls', async () => {
    const { df } = await imported('<1> <a>\n\n<2> <b>\n  \r\n<3> <c>\n\n');
    expect(rowsOf(df)).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    // The format description's example as printed there, a blank line after each row: reading from
    // byte 5 still gives 12 as the first value of column 1.
    const spaced = await imported('<0> <23> <hi>\n\n<1> <12> <>\n\n<1> <1>\n', { from: 5, len: 100 });
    expect(spaced.df.get('c1', 0)).toBe(12);
    expect(spaced.df.nrows).toBe(2);
  });

  it('refuses a file with no fields', async () => {
    await expect(imported('\n\n')).rejects.toMatchObject({ code: 'INVALID' });
  });
});
