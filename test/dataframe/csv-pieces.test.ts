// The CSV reader gives the same records, frames and errors wherever its input is cut: random tables
// with quoted fields holding delimiters, quotes and line breaks, CRLF or LF, a BOM, empty lines,
// multi-byte characters and null markers, written as CSV and fed whole or in random pieces of 1-40
// bytes (so cuts land inside quotes, between \r and \n, inside a UTF-8 sequence). The records are
// compared with the table the text was written from, and broken inputs (a record of the wrong
// length, a quote left open, text after a closing quote) fail with the same message either way.

import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DataFrame, importCsv } from '../../dataframe/index.js';
import { CsvRecords, detectNewline } from '../../dataframe/io/csv-import.js';
import type { Value } from '../../dataframe/schema.js';
import { MemoryStore } from '../support/memory-store.js';
import { rowsOf, seededRng } from './helpers.js';

type Rng = ReturnType<typeof seededRng>;

const FIELDS = ['', 'a', 'x,y', 'say "hi"', 'two\nlines', 'cr\r\nlf', 'NA', '12', '-3.5', 'é😀', ' sp ', '"', 'b;c'];

interface Table {
  records: string[][];
  text: string;
}

/** A random table (header first) and its CSV text. */
function randomTable(rng: Rng, delimiter: string): Table {
  const width = rng.int(1, 5);
  const records: string[][] = [Array.from({ length: width }, (_, i) => `c${i}${rng.pick(['', 'é', ' x'])}`)];
  const n = rng.int(0, 30);
  for (let r = 0; r < n; r++) {
    const numeric = rng.bool(0.3);
    records.push(
      Array.from({ length: width }, () => (numeric ? rng.pick(['1', '22', '', 'NA', '-7']) : rng.pick(FIELDS))),
    );
  }
  return { records, text: writeCsv(rng, records, delimiter) };
}

function writeCsv(rng: Rng, records: string[][], delimiter: string): string {
  const nl = rng.bool() ? '\r\n' : '\n';
  const quote = (f: string, alone: boolean): string => {
    const must =
      f.includes(delimiter) || f.includes('"') || f.includes('\n') || f.includes('\r') || (alone && f === '');
    return must || rng.bool(0.2) ? `"${f.replaceAll('"', '""')}"` : f;
  };
  let text = rng.bool(0.3) ? '\uFEFF' : '';
  records.forEach((rec, i) => {
    if (i > 0 && rng.bool(0.1)) text += nl; // an empty line
    text += rec.map((f) => quote(f, rec.length === 1)).join(delimiter);
    if (i < records.length - 1 || rng.bool(0.7)) text += nl;
  });
  if (rng.bool(0.2)) text += nl + nl;
  return text;
}

/** Random cut points into `bytes` (pieces of 1-40 bytes), or one piece. */
function pieces(rng: Rng, bytes: Buffer, whole: boolean): Buffer[] {
  if (whole) return [bytes];
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; ) {
    const k = Math.min(bytes.length - i, rng.int(1, 40));
    out.push(bytes.subarray(i, i + k));
    i += k;
  }
  return out;
}

/** The records CsvRecords gives for text cut into string pieces. */
function recordsOf(rng: Rng, text: string, delimiter: string, whole: boolean): string[][] {
  const recs = new CsvRecords(delimiter);
  const out: string[][] = [];
  let expectFirst = 1;
  const take = (b: { records: string[][]; first: number }): void => {
    expect(b.first).toBe(expectFirst);
    expectFirst += b.records.length;
    out.push(...b.records);
  };
  if (whole) take(recs.push(text, true));
  else {
    for (let i = 0; i < text.length; ) {
      const k = rng.int(1, 40);
      take(recs.push(text.slice(i, i + k)));
      i += k;
    }
    take(recs.push('', true));
  }
  return out;
}

async function importText(
  rng: Rng,
  text: string,
  opts: Parameters<typeof importCsv>[3],
  whole: boolean,
): Promise<{ schema: string; names: string[]; rows: Value[][] } | { error: string }> {
  const bytes = Buffer.from(text);
  const store = new MemoryStore();
  const cuts = pieces(rng, bytes, whole);
  try {
    await importCsv(store, 't', () => Readable.from(cuts), { chunkRows: 7, ...opts });
  } catch (e) {
    expect(store.size).toBe(0);
    return { error: String(e) };
  }
  const df = await (await DataFrame.get(store, 't')).load();
  return { schema: df.schema, names: df.columnNames, rows: rowsOf(df) };
}

describe('CSV reader: the same wherever the input is cut', () => {
  it('reads random tables back exactly, whole or in random pieces', () => {
    const rng = seededRng();
    for (let t = 0; t < 300; t++) {
      const delimiter = rng.pick([',', ';', '\t']);
      const { records, text } = randomTable(rng, delimiter);
      expect(recordsOf(rng, text, delimiter, true)).toEqual(records);
      expect(recordsOf(rng, text, delimiter, false)).toEqual(records);
    }
  });

  it('imports the same frame from whole and cut input, as the table it was written from', async () => {
    const rng = seededRng();
    for (let t = 0; t < 60; t++) {
      const delimiter = rng.pick([',', ';']);
      const { records, text } = randomTable(rng, delimiter);
      const width = records[0]!.length;
      const nullValues = rng.bool() ? ['NA'] : undefined;
      // Every column a string: the values are the table's, empty fields and markers null.
      const asText = { delimiter, nullValues, schema: 'S'.repeat(width) };
      const want = records.slice(1).map((r) => r.map((f) => (f === '' || (nullValues && f === 'NA') ? null : f)));
      for (const whole of [true, false]) {
        const got = await importText(rng, text, asText, whole);
        expect(got).toEqual({ schema: 'S'.repeat(width), names: records[0], rows: want });
      }
      // Inferred types (a sample of 5, then of all): the same frame whole and cut.
      for (const sampleRows of [5, 'all'] as const) {
        const opts = { delimiter, nullValues, sampleRows };
        expect(await importText(rng, text, opts, false)).toEqual(await importText(rng, text, opts, true));
      }
    }
  });

  it('fails with the same message whole and cut: ragged records, open quotes, text after a quote', async () => {
    const rng = seededRng();
    for (let t = 0; t < 150; t++) {
      const { records } = randomTable(rng, ',');
      const kind = rng.pick(['ragged', 'open', 'after'] as const);
      const at = rng.int(1, records.length); // the record (0-based, after the header) that breaks
      const broken = records.map((r) => [...r]);
      let want: RegExp;
      let text: string;
      if (kind === 'ragged') {
        if (at === records.length) broken.push([...records[0]!]);
        const r = broken[at]!;
        if (r.length > 1 && rng.bool()) r.pop();
        else r.push('extra');
        want = new RegExp(
          `cannot parse CSV: record ${at + 1} has ${r.length} fields?, the first record has ${records[0]!.length}`,
        );
        text = writeCsv(rng, broken, ',');
      } else {
        // Written from the records before `at`, then the bad record as raw text, then the rest.
        const head = writeCsv(rng, broken.slice(0, at), ',').replace(/(\r\n|\n)*$/, '');
        const nl = /\r\n/.test(head) ? '\r\n' : '\n';
        const tail = broken.slice(at).map((r) => r.map((f) => `"${f.replaceAll('"', '""')}"`).join(','));
        if (kind === 'open') {
          text = `${head}${nl}"never closed, ${tail.join(nl).replaceAll('"', '')}${nl}`;
          want = new RegExp(`cannot parse CSV: record ${at + 1}: a quoted field is not closed`);
        } else {
          const w = records[0]!.length;
          const bad = ['"ab"c', ...Array.from({ length: w - 1 }, () => 'z')].join(',');
          text = [head, bad, ...tail].join(nl) + nl;
          want = new RegExp(`cannot parse CSV: record ${at + 1}: a closing quote is followed by text`);
        }
      }
      const whole = await importText(rng, text, {}, true);
      expect(whole).toEqual({ error: expect.stringMatching(want) });
      expect(await importText(rng, text, {}, false)).toEqual(whole);
      expect(await importText(rng, text, { sampleRows: 'all' }, false)).toEqual(whole);
    }
  });

  it('takes the first line break outside quotes as the record delimiter', () => {
    expect(detectNewline('a,b\r\n1,2\n', false)).toBe('\r\n');
    expect(detectNewline('"x\ny",b\r3', false)).toBe('\r');
    expect(detectNewline('a,b\r', true)).toBeUndefined();
    expect(detectNewline('a,b\r', false)).toBe('\r');
    expect(detectNewline('a,b', false)).toBe('\n');
  });

  it('keeps an empty field alone on its line, quoted, as a record; skips empty lines', () => {
    const recs = new CsvRecords(',');
    expect(recs.push('a\n""\n\n\nb\n""', true).records).toEqual([['a'], [''], ['b'], ['']]);
  });

  it('bounds the record it holds: a quote left open fails once the record passes the limit', () => {
    const recs = new CsvRecords(',', 1000);
    // A long record within the limit, cut into pieces, is read whole.
    const long = `a,b\n"${'x'.repeat(900)}",1\n`;
    const got: string[][] = [];
    for (let i = 0; i < long.length; i += 64) got.push(...recs.push(long.slice(i, i + 64)).records);
    got.push(...recs.push('', true).records);
    expect(got).toEqual([
      ['a', 'b'],
      ['x'.repeat(900), '1'],
    ]);
    // A quote never closed: the error comes with the first piece past the limit, not at the end.
    const open = new CsvRecords(',', 1000);
    open.push('a,b\n1,2\n"open');
    let pushed = 0;
    const feed = (): void => {
      for (;;) {
        open.push('y'.repeat(64));
        pushed += 64;
        if (pushed > 10_000) return;
      }
    };
    expect(feed).toThrow(/cannot parse CSV: record 3 is longer than 1000 characters/);
    expect(pushed).toBeLessThanOrEqual(2 * 1000 + 64);
  });

  it('refuses a delimiter it cannot use', () => {
    for (const d of ['', ',,', '"', '\n', '\r', '\uFEFF']) expect(() => new CsvRecords(d)).toThrow(TypeError);
  });
});
