// regexp_replace, regexp_extract and regexp_matches (dataframe/query/fns-regexp.ts): random RE2
// patterns of the constructs eau2 runs (classes, `.`, `\s`, `\S`, `\d`, `\w`, `\b`, groups,
// alternation, greedy and lazy repeats, anchors), replacements with groups, `\\` and `$`, and the
// options `g`, `s`, `c`, over random text with newlines, `\r`, `\v`, non-ASCII letters and
// characters outside the BMP, and nulls, checked against DuckDB (RE2) over a MemoryStore, a
// FakeCluster and frames in memory; what JavaScript reads otherwise than RE2 is refused, pointing
// at the call; the fluent API's functions; and the bounds on a pattern and on what a replacement
// builds. A failure prints the seed; EAU2_TEST_SEED=<seed> (and EAU2_TEST_QUERY=<n>) replays.

import { describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { col, DataFrame, regexpExtract, regexpMatches, regexpReplace } from '../../dataframe/index.js';
import { CharBudget } from '../../dataframe/query/fns-text.js';
import * as re from '../../dataframe/query/fns-regexp.js';
import { Eau2Error } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckDifferential, SEED } from './duck-differential.js';

const QUERIES = 90;
const ROWS = 60;

/** Text cells: runs of letters, digits, spaces and the characters RE2 and JavaScript read apart. */
const PIECES = [
  'a',
  'b',
  'ab',
  'A',
  'B',
  'x',
  '1',
  '23',
  ' ',
  '\n',
  '\r',
  '\v',
  '\t',
  'é',
  '😀',
  '.',
  '\\',
  '$',
  '-',
  'aa',
  '\u00a0',
];

function text(rng: Rng): string | null {
  if (rng.bool(0.1)) return null;
  let s = '';
  for (let n = rng.int(0, 8); n > 0; n--) s += rng.pick(PIECES);
  return s;
}

/**
 * A random pattern (RE2 syntax eau2 runs), how many groups it has, and whether it can match empty: a
 * group that can is not repeated (`(b*)+`, which JavaScript and RE2 repeat differently, is refused).
 */
function pattern(rng: Rng, depth = 0): { p: string; groups: number; empty: boolean } {
  let groups = 0;
  /** An atom, and whether it can match empty. */
  const atom = (): [string, boolean] => {
    const r = rng.int(0, 13);
    if (r <= 3) return [rng.pick(['a', 'b', 'x', '1', 'é', ' ', '😀', '\\.', '\\$', '\\\\', '-']), false];
    if (r === 4) return ['.', false];
    if (r === 5) return [rng.pick(['\\d', '\\w', '\\s', '\\S', '\\D', '\\W']), false];
    if (r === 6) return [rng.pick(['[a-c]', '[^a]', '[ab1]', '[^\\s]', '[\\d.]', '[^x\\n]', '[A-Za-z]']), false];
    if (r === 7 && depth < 2) {
      const inner = pattern(rng, depth + 1);
      groups += inner.groups;
      if (rng.bool(0.3)) return [`(?:${inner.p})`, inner.empty];
      groups++;
      return [`(${inner.p})`, inner.empty];
    }
    if (r === 8) return ['\\b', true];
    return [rng.pick(['a', 'b', 'ab']), false];
  };
  const piece = (): [string, boolean] => {
    const [a, empty] = atom();
    if (a === '\\b') return [a, true];
    const q = rng.pick(empty ? ['', '?', '{2}'] : ['', '', '', '*', '+', '?', '*?', '+?', '{1,2}', '{2}']);
    return [a + q, empty || /^[*?]/.test(q)];
  };
  // Anchors only first and last: DuckDB 1.5 reads `a^b` as contains(s, 'ab'). No `\B`: DuckDB's
  // RE2 finds it between the bytes of a multi-byte character and writes a replacement there.
  const branch = (): [string, boolean] => {
    const pieces = Array.from({ length: rng.int(1, 3) }, piece);
    const p = `${rng.bool(0.15) ? '^' : ''}${pieces.map((x) => x[0]).join('')}${rng.bool(0.15) ? '$' : ''}`;
    return [p, pieces.every((x) => x[1])];
  };
  const [a, ea] = branch();
  if (rng.bool(0.8)) return { p: a, groups, empty: ea };
  const [b, eb] = branch();
  return { p: `${a}|${b}`, groups, empty: ea || eb };
}

const quote = (s: string): string => `'${s.replace(/'/g, "''")}'`;

function statement(rng: Rng): string {
  const { p, groups } = pattern(rng);
  let rep = '';
  for (let n = rng.int(0, 3); n > 0; n--) rep += rng.pick(['<', '_', '\\\\', '$1', `\\${rng.int(0, groups)}`, 'é']);
  const opts = rng.pick(['', 'g', 'g', 's', 'gs', 'c', 'gc']);
  const group = rng.int(0, groups + 1);
  const eopts = opts.replace('g', '');
  return (
    `SELECT id, regexp_replace(s, ${quote(p)}, ${quote(rep)}${opts || rng.bool() ? `, ${quote(opts)}` : ''}) AS r, ` +
    `regexp_extract(s, ${quote(p)}${group || eopts || rng.bool() ? `, ${group}` : ''}${eopts ? `, ${quote(eopts)}` : ''}) AS e, ` +
    `regexp_matches(s, ${quote(p)}${eopts ? `, ${quote(eopts)}` : ''}) AS m FROM t`
  );
}

const sorted = (rows: unknown[][]): string[] =>
  rows.map((r) => JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? Number(v) : v))).sort();

const duck = duckDifferential('eau2-sql-regexp-', (rng) => ({
  t: DataFrame.fromRows(
    'id:I,s:S',
    Array.from({ length: ROWS }, (_, id) => [id, text(rng)]),
  ),
}));

describe('regexp functions, against DuckDB', () => {
  it(`answer ${QUERIES} random patterns as DuckDB does`, async () => {
    onTestFailed(() => console.error(`[sql-regexp] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const failures = await duck.run(QUERIES, statement, (_, rows) => sorted(rows));
    expect(failures.slice(0, 6).join('\n\n'), `${failures.length} of ${QUERIES} queries differ`).toBe('');
  });

  it.each([
    // RE2 steps over an empty match right after a match; JavaScript's replace does not.
    ["regexp_replace('baaac', 'a*', '-', 'g')", '-b-c-'],
    ["regexp_replace('abcabc', 'b', 'X')", 'aXcabc'],
    ["regexp_replace('abcabc', '(b)(c)', '\\2\\1\\0\\\\$1', 'g')", 'acbbc\\$1acbbc\\$1'],
    ["regexp_extract('abc', '(a)|(x)', 2)", ''],
    ["regexp_extract('abc', 'x')", ''],
    ["regexp_replace('h😀x', '.x', '_')", 'h_'],
    ["regexp_replace('a😀😀b', '😀{2}|\\S', '-', 'g')", '---'],
  ])('%s as DuckDB', async (call, want) => {
    const store = new MemoryStore();
    const got = [...(await DataFrame.sql(store, `SELECT ${call} AS v`)).rows()][0]![0];
    const duckRows = (await duck.con().runAndReadAll(`SELECT ${call} AS v`)).getRows();
    expect(got).toBe(want);
    expect(duckRows[0]![0]).toBe(want);
  });
});

describe('regexp functions over characters outside the BMP', () => {
  it('find no position between the halves of a surrogate pair', async () => {
    const store = new MemoryStore();
    const one = async (call: string): Promise<unknown> =>
      [...(await DataFrame.sql(store, `SELECT ${call} AS v`)).rows()][0]![0];
    // Each position of 'a😀b' lies next to a word character: no \B (DuckDB writes '-' inside the
    // emoji's bytes, and its answer is no longer UTF-8).
    expect(await one("regexp_replace('a😀b', '\\B', '-', 'g')")).toBe('a😀b');
    expect(await one("regexp_matches('a😀b', '\\B')")).toBe(false);
    expect(await one("regexp_replace('😀😀', '\\B', '-', 'g')")).toBe('-😀-😀-');
    expect(await one("regexp_extract('😀😀x', '[^x]{2}')")).toBe('😀😀');
  });
});

describe('regexp_matches as RE2 reads the pattern', () => {
  it("takes `.` for any character but a newline, and `\\s` for RE2's five spaces", async () => {
    const frames = { f: DataFrame.fromRows('s:S', [['a\rb'], ['a\u000bb'], ['a\u00a0b'], ['a\nb'], ['a\u2028b']]) };
    const got = await DataFrame.sql(
      new MemoryStore(),
      "SELECT regexp_matches(s, 'a.b') AS dot, regexp_matches(s, 'a\\sb') AS space FROM f",
      { frames },
    );
    // As DuckDB 1.5 answers; JavaScript would take `.` not to match \r or U+2028, and `\s` to match \v and U+00A0.
    expect([...got.rows()]).toEqual([
      [true, true],
      [true, false],
      [true, false],
      [false, true],
      [true, false],
    ]);
  });
});

describe('regexp functions: what is refused', () => {
  const store = new MemoryStore();
  const frames = { f: DataFrame.fromRows('s:S,u:S', [['abc', 'b']]) };
  it.each([
    ["regexp_replace(s, 'a', 'x', 'i')", "option 'i' (case-insensitive) is not supported"],
    ["regexp_matches(s, 'a', 'g')", "option 'g' (every match) is only for regexp_replace"],
    ["regexp_replace(s, 'a', 'x', 'm')", "option 'm' is not supported"],
    ["regexp_replace(s, '(a)\\1', 'x')", 'backreferences (\\1) are not supported'],
    ["regexp_matches(s, '(?=a)')", 'lookaround is not supported'],
    ["regexp_matches(s, '(?<!a)b')", 'lookaround is not supported'],
    ["regexp_matches(s, '(?i)a')", 'flags in the pattern are not supported'],
    ["regexp_matches(s, '\\Aa')", '\\A is not supported'],
    ["regexp_matches(s, '\\pL')", '\\p is not supported'],
    ["regexp_matches(s, '[[:alpha:]]')", 'POSIX classes'],
    ["regexp_matches(s, '[]a]')", 'a ] first in a class'],
    ["regexp_matches(s, '[😀]')", 'outside the BMP in a class'],
    ["regexp_matches(s, '[a')", 'a [ is not closed'],
    ["regexp_replace(s, '(b*?)*', 'x')", 'a repeated group that can match empty, (b*?)*, is not supported'],
    ["regexp_matches(s, '(a|\\b)+')", 'a repeated group that can match empty'],
    // A named group left unclosed inside a repeated group sent the check into endless recursion.
    ["regexp_matches(s, '((?<a)*)+')", 'a repeated group that can match empty'],
    ["regexp_matches(s, 'a\\')", 'a \\ ends the pattern'],
    ["regexp_matches(s, '(')", 'regexp_matches: '],
    ["regexp_replace(s, '(a)', '\\2')", 'the replacement names \\2, and the pattern has 1 group(s)'],
    ["regexp_replace(s, 'a', 'x\\y')", '\\y in the replacement'],
    ["regexp_extract(s, 'a', 10)", 'the group must be an integer from 0 to 9, not 10'],
    ['regexp_extract(s, u)', 'the pattern must be a string literal'],
    ["regexp_replace(s, 'a', u)", 'the replacement must be a string literal'],
    [`regexp_matches(s, '${'a'.repeat(1001)}')`, 'the pattern is 1001 characters; at most 1000'],
  ])('%s', async (call, msg) => {
    const sql = `SELECT 1 AS k, ${call} AS v FROM f`;
    const err = await DataFrame.sql(store, sql, { frames }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Eau2Error);
    expect((err as Error).message).toContain(msg);
    expect((err as Eau2Error).details).toMatchObject({ offset: sql.indexOf(call.slice(0, 14)) });
  });

  it('bounds what a replacement builds for one value', async () => {
    const big = DataFrame.fromRows('s:S', [['x'.repeat(5000)]]);
    const rep = 'y'.repeat(4000);
    const err = await DataFrame.sql(store, `SELECT regexp_replace(s, '', '${rep}', 'g') FROM big`, {
      frames: { big },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Eau2Error);
    expect((err as Error).message).toMatch(/regexp_replace: a result of more than 16777216 characters/);
  });
});

describe('regexp functions in the fluent API', () => {
  it('derive columns as SQL computes them', async () => {
    const df = DataFrame.fromRows('s:S', [['abc123'], [null], ['x9y88']]);
    const out = await df
      .derive({
        r: regexpReplace(col('s'), '(\\d)', '<\\1>', 'g'),
        e: regexpExtract(col('s'), '([a-z])(\\d+)', 2),
        m: regexpMatches(col('s'), '^\\w+$'),
      })
      .select('r', 'e', 'm')
      .collect();
    expect([...out.rows()]).toEqual([
      ['abc<1><2><3>', '123', true],
      [null, null, null],
      ['x<9>y<8><8>', '9', true],
    ]);
    await expect(
      df
        .derive({ r: regexpReplace(col('s'), '(a)', '\\3') })
        .select('r')
        .collect(),
    ).rejects.toThrow(/the replacement names \\3, and the pattern has 1 group/);
  });
});

describe('regexp functions over random text as patterns', () => {
  it('refuse with a TypeError or run, and never split a surrogate pair', () => {
    onTestFailed(() => console.error(`[sql-regexp] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const rng = new Rng(SEED ^ 0x5e9);
    const alphabet = ['(', ')', '?', ':', '<', '>', '=', '!', 'P', '[', ']', '^', '$', '\\', '*', '+', '{', '}', ','];
    const more = ['1', '2', 'a', 'b', '|', '.', '-', 's', 'B', 'x', '😀', 'é'];
    const texts = ['', 'ab', 'a😀b', 'aaa\nbbb', 'x1y2', '😀😀', 'é(a)'];
    const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (let k = 0; k < 20_000; k++) {
      let p = '';
      for (let n = rng.int(0, 9); n > 0; n--) p += rng.pick(rng.bool() ? alphabet : more);
      let c: re.Compiled;
      try {
        c = re.compileRegexp('regexp_replace', p, rng.pick(['', 'g', 's']));
      } catch (e) {
        expect(e, p).toBeInstanceOf(TypeError);
        continue;
      }
      const rewrite = re.readRewrite('<\\0>', c.groups);
      for (const t of texts) {
        const out = re.regexpReplace(t, c, rewrite, new CharBudget('regexp_replace'));
        expect(lone.test(out), `${p} over ${JSON.stringify(t)}: ${JSON.stringify(out)}`).toBe(false);
        expect(lone.test(re.regexpExtract(t, c, 0)), p).toBe(false);
      }
    }
  });
});
