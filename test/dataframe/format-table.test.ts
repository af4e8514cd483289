// Plain-text tables for `eau2 df show` / `df ls`: columns as wide as their widest cell, numbers
// right-aligned, nulls as NA, and no limit on the row count (`df show --head N` with a large N).

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DataFrame } from '../../dataframe/index.js';
import { renderFrame, renderTable, writeFrame } from '../../dataframe/format-table.js';
import { seededRng } from './helpers.js';

describe('renderTable / renderFrame', () => {
  it('sizes each column to its widest cell and right-aligns numbers', () => {
    const df = DataFrame.fromColumns({ n: Int32Array.of(1, 12345, 7), s: ['a', null, 'longer text'] });
    expect(renderFrame(df).split('\n')).toEqual([
      '  n:I  s:S',
      '-----  -------------',
      '    1  "a"',
      '12345  NA',
      '    7  "longer text"',
      '',
    ]);
  });

  it('renders hundreds of thousands of rows (a spread of one argument per row overflowed the stack)', () => {
    const n = 300_000;
    const rows = Array.from({ length: n }, (_, i) => [String(i)]);
    const lines = renderTable(['i'], rows, [true]).split('\n');
    expect(lines).toHaveLength(n + 3);
    expect(lines[1]).toBe('-'.repeat(String(n - 1).length));
    expect(lines[2]).toBe('0'.padStart(String(n - 1).length));
  });
});

describe('writeFrame (eau2 sql and df query, table format)', () => {
  /** A Writable that takes `cap` bytes before it asks to wait, and frees them a tick later. */
  function slowSink(cap: number): { out: Writable; text: () => string; waits: () => number; peak: () => number } {
    const parts: string[] = [];
    let waits = 0;
    let peak = 0;
    const out = new Writable({
      highWaterMark: cap,
      write(chunk: Buffer, _enc, done) {
        parts.push(chunk.toString());
        peak = Math.max(peak, out.writableLength);
        setImmediate(done);
      },
    });
    out.on('drain', () => waits++);
    return { out, text: () => parts.join(''), waits: () => waits, peak: () => peak };
  }

  it("writes renderFrame's text, in blocks, waiting while the output is full", async () => {
    const rng = seededRng();
    const n = 20_000;
    const df = DataFrame.fromColumns({
      i: Int32Array.from({ length: n }, () => rng.int(-1e6, 1e6)),
      s: Array.from({ length: n }, () => (rng.bool(0.1) ? null : rng.word(rng.int(0, 50)))),
      d: Float64Array.from({ length: n }, () => rng.next() * 1e4),
    });
    const sink = slowSink(1 << 16);
    await writeFrame(df, sink.out);
    await new Promise<void>((r) => sink.out.end(r));
    expect(sink.text()).toBe(renderFrame(df));
    // It waited for the output rather than queue the whole text in it.
    expect(sink.waits()).toBeGreaterThan(2);
    expect(sink.peak()).toBeLessThan(4 << 16);
  });

  it('stops with the output when the output fails', async () => {
    const df = DataFrame.fromColumns({ i: Int32Array.from({ length: 200_000 }, (_, k) => k) });
    let written = 0;
    const out = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, done) {
        written += chunk.length;
        done(written > 200_000 ? Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }) : null);
      },
    });
    out.on('error', () => {});
    await expect(writeFrame(df, out)).rejects.toMatchObject({ code: 'EPIPE' });
    expect(written).toBeLessThan(400_000);
  });
});
