// Plain-text tables for `eau2 df show` / `df ls`: columns as wide as their widest cell, numbers
// right-aligned, nulls as NA, and no limit on the row count (`df show --head N` with a large N).

import { describe, expect, it } from 'vitest';
import { DataFrame } from '../../dataframe/index.js';
import { renderFrame, renderTable } from '../../dataframe/format-table.js';

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
