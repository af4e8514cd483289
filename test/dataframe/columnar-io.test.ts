// Parquet, Arrow IPC and JSON/NDJSON in and out: round trips of every type with nulls; files written
// by other writers with other settings (hyparquet-writer with gzip, zstd, no compression, small pages
// and the logical types eau2 does not write; apache-arrow's own IPC files and streams with narrow
// integers, float32, nanosecond and millisecond timestamps, Date64, dictionaries) read to the values
// they hold; row-group-at-a-time reading checked structurally; and the CLI picking the importer by
// magic bytes and extension.

import { gzipSync } from 'node:zlib';
import { openAsBlob } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import * as A from 'apache-arrow';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDfCommands } from '../../app/cli/df-commands.js';
import {
  DataFrame,
  exportArrow,
  exportParquet,
  formatDate,
  fromArrow,
  importArrow,
  importJson,
  importParquet,
  toArrow,
} from '../../dataframe/index.js';
import type { Rng } from '../../app/apps/random.js';
import { MemoryStore } from '../support/memory-store.js';
import { rowsOf, seededRng } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-colio-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(write: (out: Writable) => Promise<number>): Promise<Buffer> {
  const parts: Buffer[] = [];
  const out = new PassThrough();
  out.on('data', (c: Buffer) => parts.push(c));
  await write(out);
  out.end();
  return Buffer.concat(parts);
}

async function load(store: MemoryStore, name: string): Promise<DataFrame> {
  return (await DataFrame.get(store, name)).load();
}

/** A random frame of all seven types, ~10% nulls, int64s over the whole range. */
function allTypes(rng: Rng, n: number): DataFrame {
  const maybe = <T>(f: () => T): T | null => (rng.bool(0.1) ? null : f());
  const big = (): bigint => BigInt.asIntN(64, (BigInt(rng.int(0, 0xffffffff)) << 32n) | BigInt(rng.int(0, 0xffffffff)));
  const col = <T>(f: () => T): (T | null)[] => Array.from({ length: n }, () => maybe(f));
  return DataFrame.fromColumns({
    i: { type: 'I', values: col(() => rng.int(-2147483648, 2147483647)) },
    x: { type: 'D', values: col(() => rng.int(-1e9, 1e9) / 1024) },
    b: { type: 'B', values: col(() => rng.bool()) },
    s: {
      type: 'S',
      values: col(() => (rng.bool(0.5) ? rng.pick(['NYC', 'LAX', 'ÅÄÖ', '']) : rng.word(rng.int(0, 12)))),
    },
    l: { type: 'L', values: col(big) },
    t: { type: 'T', values: col(() => BigInt(rng.int(-4e9, 4e9)) * 1_000_000n + BigInt(rng.int(0, 999_999))) },
    d: { type: 'd', values: col(() => rng.int(-700000, 2900000)) },
  });
}

function cli(store: MemoryStore) {
  let text: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text.push(Buffer.from(chunk));
      cb();
    },
  });
  const program = new Command('eau2').exitOverride();
  registerDfCommands(
    program,
    async () => Object.assign(Object.create(store) as MemoryStore, { close: async () => {} }),
    out,
  );
  return async (...args: string[]): Promise<Buffer> => {
    text = [];
    await program.parseAsync(['node', 'eau2', ...args]);
    return Buffer.concat(text);
  };
}

/** A zstd frame of raw (stored) blocks: valid zstd that any decoder must read, made without a compressor. */
function zstdRaw(input: Uint8Array): Uint8Array {
  const parts: number[] = [0x28, 0xb5, 0x2f, 0xfd, 0xa0]; // magic; single segment, 4-byte content size
  parts.push(input.length & 0xff, (input.length >>> 8) & 0xff, (input.length >>> 16) & 0xff, input.length >>> 24);
  let pos = 0;
  do {
    const size = Math.min(input.length - pos, 1 << 17);
    const last = pos + size >= input.length ? 1 : 0;
    const h = (size << 3) | last; // block type 0: raw
    parts.push(h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff, ...input.subarray(pos, pos + size));
    pos += size;
  } while (pos < input.length);
  return Uint8Array.from(parts);
}

describe('Parquet', () => {
  it('round-trips every type with nulls through several row groups', async () => {
    const df = allTypes(seededRng(), 3000);
    const store = new MemoryStore();
    await DataFrame.put(store, 'src', df, { chunkRows: 700 });
    const bytes = await collect(async (o) => exportParquet(await DataFrame.get(store, 'src'), o));
    const p = join(dir, 'all.parquet');
    await writeFile(p, bytes);
    const meta = await parquetMetadataAsync(await asyncBufferFromFile(p));
    expect(meta.row_groups.length).toBe(5); // one row group per row-chunk
    const res = await importParquet(store, 'back', p, { chunkRows: 1000 });
    expect(res.rows).toBe(3000);
    const back = await load(store, 'back');
    expect(back.schema).toBe('IDBSLTd');
    expect(rowsOf(back)).toEqual(rowsOf(df));
  });

  it('reads files hyparquet-writer wrote with other codecs and types, compressed ones included', async () => {
    const n = 1200;
    const rng = seededRng();
    const ints = Array.from({ length: n }, () => rng.int(-128, 127));
    const f32 = Array.from({ length: n }, () => rng.int(-1000, 1000) / 4); // exact in float32
    const ms = Array.from({ length: n }, () => rng.int(-2e12, 2e12));
    const days = Array.from({ length: n }, (_, r) => (r % 9 === 0 ? null : rng.int(-50000, 50000)));
    const cats = Array.from({ length: n }, (_, r) => (r % 13 === 0 ? null : rng.pick(['a', 'bb', 'ccc'])));
    const u32 = Array.from({ length: n }, () => rng.int(0, 4294967295));
    const big = Array.from({ length: n }, () => BigInt(rng.int(-1e6, 1e6)) * 1_000_000_000_000n);
    const columnData = [
      { name: 'tiny', data: Int32Array.from(ints), type: 'INT32' as const },
      { name: 'f', data: Float32Array.from(f32), type: 'FLOAT' as const },
      { name: 'when', data: ms.map(BigInt), type: 'TIMESTAMP' as const },
      { name: 'day', data: days },
      { name: 'cat', data: cats, type: 'STRING' as const },
      { name: 'u', data: u32.map(BigInt), type: 'INT64' as const },
      { name: 'big', data: BigInt64Array.from(big), type: 'INT64' as const },
    ];
    const codecs = {
      GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b)),
      ZSTD: zstdRaw,
    };
    for (const codec of ['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'ZSTD'] as const) {
      const opt = (x: object) => ({ repetition_type: 'OPTIONAL', ...x });
      const buf = parquetWriteBuffer({
        columnData: columnData.map(({ name, data }) => ({ name, data })) as never,
        schema: [
          { name: 'root', num_children: 7 },
          opt({ name: 'tiny', type: 'INT32', logical_type: { type: 'INTEGER', bitWidth: 8, isSigned: true } }),
          opt({ name: 'f', type: 'FLOAT' }),
          opt({
            name: 'when',
            type: 'INT64',
            logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MILLIS' },
          }),
          opt({ name: 'day', type: 'INT32', converted_type: 'DATE' }),
          opt({ name: 'cat', type: 'BYTE_ARRAY', converted_type: 'UTF8' }),
          opt({ name: 'u', type: 'INT64', converted_type: 'UINT_64' }),
          { name: 'big', type: 'INT64', repetition_type: 'REQUIRED' },
        ] as never,
        codec,
        compressors: codecs,
        rowGroupSize: 500,
        pageSize: 4096,
      });
      const p = join(dir, `foreign-${codec}.parquet`);
      await writeFile(p, new Uint8Array(buf));
      const meta = await parquetMetadataAsync(await asyncBufferFromFile(p));
      expect(meta.row_groups[0]!.columns[0]!.meta_data!.codec).toBe(codec);
      const store = new MemoryStore();
      await importParquet(store, 'f', p);
      const df = await load(store, 'f');
      expect(df.columnNames).toEqual(['tiny', 'f', 'when', 'day', 'cat', 'u', 'big']);
      expect(df.schema).toBe('IDTdSLL');
      expect(df.column('tiny').toArray()).toEqual(ints);
      expect(df.column('f').toArray()).toEqual(f32);
      expect(df.column('when').toArray()).toEqual(ms.map((m) => BigInt(m) * 1000n));
      expect(df.column('day').toArray()).toEqual(days);
      expect(df.column('cat').toArray()).toEqual(cats);
      expect(df.column('u').toArray()).toEqual(u32.map(BigInt));
      expect(df.column('big').toArray()).toEqual(big);
    }
  });

  it('reads at most one row group ahead: no bytes of a group are asked for before the one two back is stored', async () => {
    const n = 20_000;
    const groupRows = 1000;
    const df = DataFrame.fromColumns({
      k: new Int32Array(n).map((_, r) => r),
      s: { type: 'S', values: Array.from({ length: n }, (_, r) => `row-${r}-${'x'.repeat(r % 50)}`) },
    });
    const buf = parquetWriteBuffer({
      columnData: [
        { name: 'k', data: df.column('k', 'I').values, type: 'INT32' },
        { name: 's', data: df.column('s', 'S').values as string[], type: 'STRING' },
      ],
      rowGroupSize: groupRows,
    });
    const p = join(dir, 'many-groups.parquet');
    await writeFile(p, new Uint8Array(buf));
    const real = await openAsBlob(p);
    const meta = await parquetMetadataAsync(await asyncBufferFromFile(p));
    expect(meta.row_groups.length).toBe(20);
    // Byte range of each row group's column chunks.
    const ranges = meta.row_groups.map((g) => {
      const starts = g.columns.map((c) => Number(c.meta_data!.dictionary_page_offset ?? c.meta_data!.data_page_offset));
      const ends = g.columns.map(
        (c) => Number(c.meta_data!.data_page_offset) + Number(c.meta_data!.total_compressed_size),
      );
      return [Math.min(...starts), Math.max(...ends)] as const;
    });
    const groupOf = (start: number): number => ranges.findIndex(([a, b]) => start >= a && start < b);
    let stored = 0;
    let maxSlice = 0;
    const slices: [number, number][] = []; // [group, rows stored when it was asked for]
    const store = new MemoryStore();
    await importParquet(store, 'g', p, {
      chunkRows: 512,
      concurrency: 1,
      onProgress: (pr) => (stored = pr.rows),
      blob: {
        size: real.size,
        slice: (a = 0, b = real.size) => {
          const g = groupOf(a);
          if (g >= 0) {
            slices.push([g, stored]);
            maxSlice = Math.max(maxSlice, b - a);
          }
          return real.slice(a, b);
        },
      } as Blob,
    });
    expect(new Set(slices.map(([g]) => g)).size).toBe(20);
    // Group g decodes while g - 1 is stored: every group before g - 1 is stored, none after g - 1.
    for (const [g, rows] of slices) {
      expect(rows).toBeGreaterThanOrEqual(Math.max(0, g - 1) * groupRows);
      expect(rows).toBeLessThanOrEqual(g * groupRows);
    }
    const biggest = Math.max(...ranges.map(([a, b]) => b - a));
    expect(maxSlice).toBeLessThanOrEqual(biggest); // never more than one row group's bytes at once
    expect(rowsOf(await load(store, 'g'))).toEqual(rowsOf(df));
  });

  it('round-trips a frame of no rows, whose file has no row group', async () => {
    const store = new MemoryStore();
    const df = allTypes(seededRng(), 0);
    await DataFrame.put(store, 'empty', df);
    const bytes = await collect(async (o) => exportParquet(await DataFrame.get(store, 'empty'), o));
    const p = join(dir, 'empty.parquet');
    await writeFile(p, bytes);
    expect((await importParquet(store, 'back', p)).rows).toBe(0);
    const back = await DataFrame.get(store, 'back');
    expect([back.nrows, back.schema]).toEqual([0, df.schema]);
  });

  it('refuses nested columns and publishes nothing', async () => {
    const buf = parquetWriteBuffer({
      columnData: [
        { name: 'a', data: [1, 2] },
        { name: 'o', data: [[1, 2], [3]] },
      ] as never,
      schema: [
        { name: 'root', num_children: 2 },
        { name: 'a', type: 'INT32', repetition_type: 'OPTIONAL' },
        { name: 'o', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', type: 'INT32', repetition_type: 'OPTIONAL' },
      ] as never,
    });
    const p = join(dir, 'nested.parquet');
    await writeFile(p, new Uint8Array(buf));
    const store = new MemoryStore();
    await expect(importParquet(store, 'n', p)).rejects.toMatchObject({
      code: 'INVALID',
      message: expect.stringMatching(/"o".*nested/),
    });
    expect(await DataFrame.list(store)).toEqual([]);
  });
});

describe('Arrow IPC', () => {
  it('round-trips every type with nulls as a file and as a stream, and through toArrow/fromArrow', async () => {
    const df = allTypes(seededRng(), 2500);
    const store = new MemoryStore();
    await DataFrame.put(store, 'src', df, { chunkRows: 600 });
    for (const stream of [false, true]) {
      const bytes = await collect(async (o) => exportArrow(await DataFrame.get(store, 'src'), o, { stream }));
      expect(bytes.subarray(0, 6).toString('latin1')).toBe(
        stream ? '\xff\xff\xff\xff'.slice(0, 4) + bytes.subarray(4, 6).toString('latin1') : 'ARROW1',
      );
      const p = join(dir, stream ? 'all.arrows' : 'all.arrow');
      await writeFile(p, bytes);
      const t = A.tableFromIPC(bytes);
      expect(t.batches.length).toBe(5); // one record batch per row-chunk
      await importArrow(store, 'back', p);
      expect(rowsOf(await load(store, 'back'))).toEqual(rowsOf(df));
    }
    const table = await toArrow(df);
    expect(String(table.schema.fields.find((f) => f.name === 't')!.type)).toBe('Timestamp<MICROSECOND, UTC>');
    expect(rowsOf(await fromArrow(table))).toEqual(rowsOf(df));
  });

  it('reads an IPC file batch by batch, not whole before the first batch is stored', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'src', allTypes(seededRng(), 4000), { chunkRows: 200 });
    const src = await DataFrame.get(store, 'src');
    for (const stream of [false, true]) {
      const bytes = await collect((o) => exportArrow(src, o, { stream }));
      const p = join(dir, stream ? 'batches.arrows' : 'batches.arrow');
      await writeFile(p, bytes);
      const seen: number[] = [];
      await importArrow(store, 'back', p, { onProgress: (x) => void seen.push(x.bytes) });
      // 20 record batches: by the first one stored, far from all of the file has been read. Given
      // a stream, apache-arrow read an IPC file whole first (memory the size of the file).
      expect(seen.length, `stream ${stream}`).toBeGreaterThanOrEqual(20);
      expect(seen[0]!, `stream ${stream}`).toBeLessThan(bytes.length / 4);
      expect(seen.at(-1), `stream ${stream}`).toBeGreaterThan(bytes.length * 0.9);
      expect(rowsOf(await load(store, 'back'))).toEqual(rowsOf(await src.load()));
    }
  });

  it('refuses a truncated file or stream, naming the file and the cut, and publishes nothing', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'src', allTypes(seededRng(), 2500), { chunkRows: 600 });
    const src = await DataFrame.get(store, 'src');
    const file = await collect((o) => exportArrow(src, o));
    const stream = await collect((o) => exportArrow(src, o, { stream: true }));
    // A file cut anywhere past its magic has lost its footer (apache-arrow said only "Cannot read
    // properties of null (reading 'fieldsLength')").
    for (const cut of [100, file.length >> 1, file.length - 1]) {
      const p = join(dir, `cut-${cut}.arrow`);
      await writeFile(p, file.subarray(0, cut));
      await expect(importArrow(store, 'cut', p)).rejects.toMatchObject({
        code: 'INVALID',
        message: `cannot read ${p} as Arrow IPC: the file is truncated (${cut} bytes): an Arrow IPC file ends with its footer and the magic ARROW1, and this one does not`,
      });
    }
    // A stream cut inside a record batch fails there, naming the file (apache-arrow's message named neither).
    const p = join(dir, 'cut.arrows');
    await writeFile(p, stream.subarray(0, stream.length >> 1));
    await expect(importArrow(store, 'cut', p)).rejects.toMatchObject({
      code: 'INVALID',
      message: expect.stringMatching(
        new RegExp(`^cannot read ${p} as Arrow IPC: the record batch after row \\d+ is damaged or cut short \\(.+\\)$`),
      ),
    });
    expect((await DataFrame.list(store)).map((f) => f.name)).toEqual(['src']);
  });

  it('refuses a Parquet file cut short as truncated, naming the file', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'src', allTypes(seededRng(), 500), { chunkRows: 200 });
    const whole = await collect(async (o) => exportParquet(await DataFrame.get(store, 'src'), o));
    for (const cut of [whole.length - 1, whole.length >> 1]) {
      const p = join(dir, `cut-${cut}.parquet`);
      await writeFile(p, whole.subarray(0, cut));
      await expect(importParquet(store, 'cut', p)).rejects.toMatchObject({
        code: 'INVALID',
        message: `cannot read ${p} as Parquet: it does not end with the Parquet footer (PAR1): the file is truncated, or not Parquet`,
      });
    }
    expect((await DataFrame.list(store)).map((f) => f.name)).toEqual(['src']);
  });

  it("fails with the output's error, neither crashing the process nor waiting forever, and leaves no listeners", {
    timeout: 20_000,
  }, async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'src', allTypes(seededRng(), 3000), { chunkRows: 100 });
    // Chunks that come over a network: the output's error arrives while the export is still reading.
    const slow = new Proxy(store, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          const r = (v as (...a: unknown[]) => unknown).apply(target, args);
          if (!(r instanceof Promise)) return r;
          return r.then((x) => new Promise((done) => setTimeout(() => done(x), 2)));
        };
      },
    });
    const lf = await DataFrame.get(slow, 'src');
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const exports: [string, (out: Writable) => Promise<number>][] = [
        ['arrow', (o) => exportArrow(lf, o)],
        ['arrows', (o) => exportArrow(lf, o, { stream: true })],
        ['parquet', (o) => exportParquet(lf, o, { codec: 'UNCOMPRESSED' })],
      ];
      for (const [format, run] of exports) {
        // Each write fails a moment later, as a closed pipe (EPIPE) or a full disk does: with a
        // high-water mark the export never reaches, and with one every write passes, so the error
        // arrives while it waits for 'drain'.
        for (const highWaterMark of [1 << 30, 1]) {
          const broken = new Writable({
            highWaterMark,
            write: (_c, _e, cb) => void setImmediate(() => cb(new Error('write EPIPE'))),
          });
          await expect(run(broken), `${format}, highWaterMark ${highWaterMark}`).rejects.toThrow('write EPIPE');
        }
        // A slow output that never fails: the export waits for it, and takes its listeners back.
        const taking = new Writable({ highWaterMark: 16, write: (_c, _e, cb) => void setImmediate(cb) });
        expect(await run(taking)).toBe(3000);
        expect([format, taking.listenerCount('error'), taking.listenerCount('drain')]).toEqual([format, 0, 0]);
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it("reads apache-arrow's own files with narrow ints, float32, ns/ms timestamps, Date64 and dictionaries", async () => {
    const rng = seededRng();
    const n = 900;
    const i8 = Array.from({ length: n }, () => rng.int(-128, 127));
    const f32 = Array.from({ length: n }, () => rng.int(-4000, 4000) / 8);
    const ns = Array.from(
      { length: n },
      () => BigInt(rng.int(-2e9, 2e9)) * 1_000_000_000n + BigInt(rng.int(0, 999_999_999)),
    );
    const msTs = Array.from({ length: n }, () => BigInt(rng.int(-2e12, 2e12)));
    const d64 = Array.from({ length: n }, () => rng.int(-40000, 40000));
    const cats = Array.from({ length: n }, (_, r) => (r % 7 === 0 ? null : rng.pick(['x', 'yy', 'zzz'])));
    const u32 = Array.from({ length: n }, () => rng.int(0, 4294967295));
    const table = new A.Table({
      i8: A.vectorFromArray(i8, new A.Int8()),
      f32: A.vectorFromArray(f32, new A.Float32()),
      ns: A.makeVector({ type: new A.TimestampNanosecond('UTC'), data: BigInt64Array.from(ns) }),
      ms: A.makeVector({ type: new A.TimestampMillisecond(), data: BigInt64Array.from(msTs) }),
      d64: A.vectorFromArray(
        d64.map((d) => new Date(d * 864e5)),
        new A.DateMillisecond(),
      ),
      cat: A.vectorFromArray(cats, new A.Dictionary(new A.Utf8(), new A.Int32())),
      u32: A.vectorFromArray(u32, new A.Uint32()),
    });
    for (const kind of ['file', 'stream'] as const) {
      const p = join(dir, `theirs.${kind === 'file' ? 'arrow' : 'arrows'}`);
      await writeFile(p, A.tableToIPC(table, kind));
      const store = new MemoryStore();
      await importArrow(store, 'a', p);
      const df = await load(store, 'a');
      expect(df.schema).toBe('IDTTdSL');
      expect(df.column('i8').toArray()).toEqual(i8);
      expect(df.column('f32').toArray()).toEqual(f32);
      // Nanoseconds are floored to eau2's microseconds.
      expect(df.column('ns').toArray()).toEqual(ns.map((x) => x / 1000n - (x % 1000n < 0n ? 1n : 0n)));
      expect(df.column('ms').toArray()).toEqual(msTs.map((x) => x * 1000n));
      expect(df.column('d64').toArray()).toEqual(d64);
      expect(df.column('cat').toArray()).toEqual(cats);
      expect(df.column('u32').toArray()).toEqual(u32.map(BigInt));
    }
  });
});

describe('JSON and NDJSON', () => {
  it('imports exact integers, dates, timestamps and nested values, missing fields as null', async () => {
    const p = join(dir, 'rows.ndjson');
    await writeFile(
      p,
      [
        '{"id":9223372036854775807,"day":"2024-02-29","at":"2024-02-29T10:00:00Z","x":1.5,"ok":true,"tags":["a",1]}',
        '',
        '{"id":-9007199254740993,"day":null,"at":"2024-02-29 11:00:00.000001+01:00","x":2,"note":"hi"}',
        '{"id":3,"x":-0.25,"ok":false,"tags":{"k":12345678901234567890}}',
      ].join('\n'),
    );
    const store = new MemoryStore();
    const res = await importJson(store, 'j', p);
    expect(res.rows).toBe(3);
    const df = await load(store, 'j');
    expect(df.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      'id:L',
      'day:d',
      'at:T',
      'x:D',
      'ok:B',
      'tags:S',
      'note:S',
    ]);
    const at0 = BigInt(Date.UTC(2024, 1, 29, 10)) * 1000n;
    expect(rowsOf(df)).toEqual([
      [2n ** 63n - 1n, Date.UTC(2024, 1, 29) / 864e5, at0, 1.5, true, '["a",1]', null],
      [-9007199254740993n, null, at0 + 1n, 2, null, null, 'hi'],
      [3n, null, null, -0.25, false, '{"k":12345678901234567890}', null],
    ]);
    expect(formatDate(df.get('day', 0) as number)).toBe('2024-02-29');
  });

  it('imports a JSON array through the CLI, and refuses a field the sample did not see', async () => {
    const store = new MemoryStore();
    const run = cli(store);
    const p = join(dir, 'arr.json');
    await writeFile(
      p,
      JSON.stringify([
        { a: 1, b: 'x' },
        { a: 2, b: null },
      ]),
    );
    expect((await run('df', 'import', 'arr', p)).toString()).toMatch(
      /imported 2 rows into "arr" \(schema a:I,b:S, inferred\)/,
    );
    expect(rowsOf(await load(store, 'arr'))).toEqual([
      [1, 'x'],
      [2, null],
    ]);
    const q = join(dir, 'late.ndjson');
    await writeFile(q, '{"a":1}\n{"a":2}\n{"a":3,"zzz":4}\n');
    await expect(run('df', 'import', 'late', q, '--sample', '2')).rejects.toMatchObject({
      code: 'INVALID',
      message: expect.stringMatching(/line 3: field "zzz"/),
    });
    expect((await DataFrame.list(store)).map((f) => f.name)).toEqual(['arr']);
  });
});

describe('CLI', () => {
  it('imports Parquet and Arrow by magic bytes and exports every format', async () => {
    const store = new MemoryStore();
    const run = cli(store);
    const df = allTypes(seededRng(), 300);
    await DataFrame.put(store, 'src', df);
    const pq = join(dir, 'cli.parquet');
    await run('df', 'export', 'src', '-f', 'parquet', '-o', pq);
    expect((await readFile(pq)).subarray(0, 4).toString()).toBe('PAR1');
    const misnamed = join(dir, 'cli-parquet.csv'); // a .csv name: the bytes decide
    await writeFile(misnamed, await readFile(pq));
    expect((await run('df', 'import', 'p', misnamed)).toString()).toMatch(
      /imported 300 rows into "p" \(schema i:I,x:D,b:B,s:S,l:L,t:T,d:d\)/,
    );
    expect(rowsOf(await load(store, 'p'))).toEqual(rowsOf(df));
    await expect(run('df', 'import', 'p2', pq, '--delimiter', ';')).rejects.toThrow(
      /--delimiter does not apply to PARQUET/,
    );
    for (const f of ['arrow', 'arrows'] as const) {
      const out = join(dir, `cli.${f}`);
      await run('df', 'export', 'src', '-f', f, '-o', out);
      await run('df', 'import', f, out);
      expect(rowsOf(await load(store, f))).toEqual(rowsOf(df));
    }
    const nd = (await run('df', 'export', 'src', '-f', 'ndjson', '-n', '2')).toString().trim().split('\n');
    expect(nd).toHaveLength(2);
    const first = df.row(0);
    expect(nd[0]).toContain(first[4] === null ? '"l":null' : `"l":${first[4]}`);
  });
});
