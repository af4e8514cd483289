// SQL LIKE without a backtracking regex (fns-text.ts likeMatcher): the same answers as the regex that
// defines LIKE, on random patterns and values, and linear time on the patterns that make a
// backtracking engine exponential.

import { describe, expect, it } from 'vitest';
import { DataFrame } from '../../dataframe/index.js';
import { likeMatcher } from '../../dataframe/query/fns-text.js';
import { MemoryStore } from '../support/memory-store.js';
import { rowsOf, seededRng } from './helpers.js';

/** LIKE's definition as a regex over code points (the `u` flag): `%` any run, `_` one character. */
function reference(pattern: string): RegExp {
  let re = '';
  for (const ch of pattern) re += ch === '%' ? '.*' : ch === '_' ? '.' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${re}$`, 'su');
}

describe('LIKE', () => {
  it('matches as its regex definition on random patterns and values', () => {
    const rng = seededRng();
    const wide = ['a', 'b', 'é', '😀', '\n', '.', '*'];
    let alphabet = wide;
    const word = (n: number, extra: string[] = []) =>
      Array.from({ length: n }, () => rng.pick([...alphabet, ...extra])).join('');
    let matched = 0;
    for (let round = 0; round < 4000; round++) {
      // Two letters half the time, so that segments overlap and repeat often.
      alphabet = rng.bool() ? ['a', 'b'] : wide;
      const pattern = word(rng.int(0, 7), ['%', '%', '_']);
      const value = word(rng.int(0, 9));
      const want = reference(pattern).test(value);
      expect(likeMatcher(pattern)(value), `${JSON.stringify(value)} LIKE ${JSON.stringify(pattern)}`).toBe(want);
      if (want) matched++;
    }
    expect(matched).toBeGreaterThan(100);
  });

  it('takes time linear in the value on patterns that make a regex backtrack', async () => {
    // As a regex this pattern took 35 s on one 40-character value; 30 of them on 20,000 characters
    // would never end.
    const pattern = `${'%a'.repeat(30)}%b`;
    const store = new MemoryStore();
    await DataFrame.put(store, 's', DataFrame.fromRows('s:S', [['a'.repeat(20_000)], [`${'a'.repeat(40)}b`]]));
    expect(rowsOf(await DataFrame.sql(store, `SELECT length(s) FROM s WHERE s LIKE '${pattern}'`))).toEqual([[41]]);
    expect(likeMatcher('_😀_')('x😀y')).toBe(true);
    expect(likeMatcher('__')('😀')).toBe(false);
  });
});
