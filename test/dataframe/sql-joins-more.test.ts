// The join forms of docs/dataframe.md "SQL" beyond JOIN ... ON equalities, against DuckDB on seeded
// random frames with null and repeated keys: comma joins of two to four frames (in any FROM order,
// with aliases, beside explicit JOINs), extra ON terms (moved to the WHERE for INNER, filtering the
// other side of a LEFT or RIGHT JOIN, deciding which rows of the kept side may match), CROSS JOIN and
// FULL [OUTER] JOIN, each with a random WHERE and a row or GROUP BY SELECT. Each statement runs over
// a MemoryStore, a FakeCluster (where the joins that run on the nodes push down, and partial results
// cross msgpack) and frames in memory. Results are compared as multisets, or in order where ORDER BY
// makes the order total. A failure prints the seed; EAU2_TEST_SEED=<seed> replays the run,
// EAU2_TEST_QUERY=<n> one query of it.

import type { DuckDBConnection } from '@duckdb/node-api';
import { beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import { DataFrame, type Value } from '../../dataframe/index.js';
import type { KvStore } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';
import { duckFixture } from './duck-fixture.js';
import { FakeCluster } from './fake-cluster.js';
import { type Col, duckOut, Gen, type Samples, type Ty, type X } from './sql-fuzz-gen.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);
const ONLY = process.env.EAU2_TEST_QUERY === undefined ? undefined : Number(process.env.EAU2_TEST_QUERY);
const QUERIES = 150;

const F: Col[] = [
  { name: 'id', t: 'I' },
  { name: 'k', t: 'I', low: true },
  { name: 's', t: 'S', low: true },
  { name: 'x', t: 'D' },
  { name: 'b', t: 'B', low: true },
  { name: 'l', t: 'L' },
  { name: 't', t: 'T' },
  { name: 'dt', t: 'd' },
];
const G: Col[] = [
  { name: 'gid', t: 'I' },
  { name: 'gk', t: 'I', low: true },
  { name: 'gs', t: 'S', low: true },
  { name: 'gx', t: 'D' },
  { name: 'gt', t: 'T' },
  { name: 'gd', t: 'd' },
];
const H: Col[] = [
  { name: 'hid', t: 'I' },
  { name: 'hk', t: 'I', low: true },
  { name: 'hs', t: 'S', low: true },
  { name: 'hx', t: 'D' },
  { name: 'hd', t: 'd' },
  { name: 'ht', t: 'T' },
];
// Every frame has a T and a d column: the generator builds a timestamp or a date from a column of one.
const TABLES = { f: [F, 400], g: [G, 40], h: [H, 24] } as const;
const WORDS = ['alpha', 'beta', 'Gamma', '', 'delta', 'eps', 'zeta', 'eta'];
const DUCK_TYPE: Record<Ty, string> = {
  I: 'INTEGER',
  D: 'DOUBLE',
  S: 'VARCHAR',
  B: 'BOOLEAN',
  L: 'BIGINT',
  T: 'TIMESTAMP',
  d: 'DATE',
};

/** A random cell: ids unique, keys of a few values repeated (a fifth of them null in the dimensions). */
function cell(rng: Rng, c: Col, row: number): Value {
  if (c.name.endsWith('id')) return row;
  if (rng.bool(c.low && c.name !== 'k' ? 0.2 : 0.1)) return null;
  switch (c.t) {
    case 'I':
      return rng.int(0, 11);
    case 'D':
      return rng.int(-8000, 8000) / 8;
    case 'S':
      return rng.pick(WORDS);
    case 'B':
      return rng.bool();
    case 'L':
      return BigInt(rng.int(-5000, 5000));
    case 'T':
      return BigInt(rng.int(-2_000_000_000, 4_000_000_000)) * 1_000_000n;
    case 'd':
      return rng.int(-20_000, 40_000);
  }
}

function duckLiteral(t: Ty, v: Value): string {
  if (v === null) return 'NULL';
  if (t === 'S') return `'${v}'`;
  if (t === 'T') return `make_timestamp(${v}::BIGINT)`;
  if (t === 'd') return `(DATE '1970-01-01' + ${v}::INTEGER)`;
  if (t === 'D') return `${v}::DOUBLE`;
  return String(v);
}

interface Stmt {
  eau: string;
  duck: string;
  types: Ty[];
  ordered: boolean;
}

/** A FROM clause, the join terms its WHERE must hold, and the frames it reads. */
interface FromForm {
  from: string;
  terms: string[];
  frames: ('f' | 'g' | 'h')[];
  /** With a second g (alias g2), the first g's name: g's columns are named only qualified (their ids). */
  g2?: string;
}

const shuffled = <T>(rng: Rng, xs: readonly T[]): T[] => {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
};

function fromForm(rng: Rng, samples: Samples): FromForm {
  // Each frame under its name or an alias; a join term names the frame as FROM does.
  const alias = { f: rng.bool(0.3) ? 'fa' : 'f', g: rng.bool(0.3) ? 'ga' : 'g', h: 'h' };
  const item = (n: 'f' | 'g' | 'h'): string => (alias[n] === n ? n : `${n} ${alias[n]}`);
  const q = (s: string): string => s.replace(/\b([fgh])\./g, (_, n: 'f' | 'g' | 'h') => `${alias[n]}.`);
  const onBool = (cols: Col[]): string => new Gen(rng, cols, samples).bool(1).eau;
  const kind = rng.pick(['comma2', 'comma3', 'comma4', 'mixed', 'on', 'cross', 'full'] as const);
  switch (kind) {
    case 'comma4': {
      // Four frames, g twice: a chain of three joins, each after the first joined to the rows before.
      const terms = ['f.k = g.gk', rng.pick(['g.gs = h.hs', 'h.hk = f.k']), rng.pick(['g2.gk = h.hk', 'f.s = g2.gs'])];
      if (rng.bool(0.3)) terms.push('g2.gs = g.gs');
      return {
        from: shuffled(rng, [item('f'), item('g'), 'h', 'g g2']).join(', '),
        terms: shuffled(rng, terms).map(q),
        frames: ['f', 'h'],
        g2: alias.g,
      };
    }
    case 'comma2': {
      const terms = shuffled(rng, ['f.k = g.gk', 'g.gs = f.s']).slice(0, rng.int(0, 2));
      return {
        from: shuffled(rng, ['f', 'g'] as const)
          .map(item)
          .join(', '),
        terms: terms.map(q),
        frames: ['f', 'g'],
      };
    }
    case 'comma3': {
      const terms = [rng.pick(['f.k = g.gk', 'g.gk = f.k']), rng.pick(['g.gs = h.hs', 'f.k = h.hk', 'h.hk = f.k'])];
      if (rng.bool(0.3)) terms.push(rng.pick(['h.hs = f.s', 'g.gk = h.hk']));
      return {
        from: shuffled(rng, ['f', 'g', 'h'] as const)
          .map(item)
          .join(', '),
        terms: shuffled(rng, terms).map(q),
        frames: ['f', 'g', 'h'],
      };
    }
    case 'mixed':
      return rng.pick([
        (): FromForm => ({
          from: q(`${item('f')} JOIN ${item('g')} ON f.k = g.gk, h`),
          terms: [q('h.hs = g.gs')],
          frames: ['f', 'g', 'h'],
        }),
        (): FromForm => ({
          from: q(`h, ${item('f')} LEFT JOIN ${item('g')} ON f.k = g.gk`),
          terms: [q('h.hk = f.k')],
          frames: ['f', 'g', 'h'],
        }),
        (): FromForm => ({
          from: q(`${item('g')}, ${item('f')} JOIN h ON h.hk = f.k`),
          terms: [q('f.s = g.gs')],
          frames: ['f', 'g', 'h'],
        }),
      ])();
    case 'on':
      return rng.pick([
        (): FromForm => ({
          from: q(`${item('f')} JOIN ${item('g')} ON f.k = g.gk AND ${onBool([...F, ...G])}`),
          terms: [],
          frames: ['f', 'g'],
        }),
        (): FromForm => ({
          from: q(`${item('f')} LEFT JOIN ${item('g')} ON g.gk = f.k AND ${onBool(G)}`),
          terms: [],
          frames: ['f', 'g'],
        }),
        (): FromForm => ({
          from: q(`${item('f')} RIGHT JOIN ${item('g')} ON f.k = g.gk AND ${onBool(F)}`),
          terms: [],
          frames: ['f', 'g'],
        }),
        // Terms on the side whose rows all stay: they decide which of its rows may match.
        (): FromForm => ({
          from: q(`${item('f')} LEFT JOIN ${item('g')} ON f.k = g.gk AND ${onBool(F)}`),
          terms: [],
          frames: ['f', 'g'],
        }),
        (): FromForm => ({
          from: q(`${item('f')} RIGHT JOIN ${item('g')} ON ${onBool(G)} AND g.gs = f.s AND ${onBool(F)}`),
          terms: [],
          frames: ['f', 'g'],
        }),
        (): FromForm => ({
          from: q(
            `${item('g')} LEFT JOIN h ON g.gk = h.hk AND ${onBool(G)} AND ${onBool(H)} JOIN ${item('f')} ON f.k = g.gk`,
          ),
          terms: [],
          frames: ['f', 'g', 'h'],
        }),
        (): FromForm => ({
          from: q(`${item('f')} LEFT JOIN ${item('g')} ON f.k = g.gk AND ${onBool(G)} JOIN h ON h.hk = f.k`),
          terms: [],
          frames: ['f', 'g', 'h'],
        }),
        (): FromForm => ({
          from: q(`${item('f')} JOIN ${item('g')} ON f.k = g.gk LEFT JOIN h ON h.hs = g.gs AND ${onBool(H)}`),
          terms: [],
          frames: ['f', 'g', 'h'],
        }),
      ])();
    case 'cross':
      return rng.pick([
        (): FromForm => ({ from: 'g CROSS JOIN h', terms: [], frames: ['g', 'h'] }),
        (): FromForm => ({ from: 'h, g', terms: [], frames: ['g', 'h'] }),
        (): FromForm => ({ from: `${item('f')} CROSS JOIN h`, terms: [], frames: ['f', 'h'] }),
        (): FromForm => ({
          from: q(`${item('f')} JOIN h ON f.k = h.hk CROSS JOIN g`),
          terms: [],
          frames: ['f', 'g', 'h'],
        }),
      ])();
    case 'full':
      return rng.pick([
        (): FromForm => ({
          from: q(`${item('f')} FULL JOIN ${item('g')} ON f.k = g.gk`),
          terms: [],
          frames: ['f', 'g'],
        }),
        (): FromForm => ({
          from: q(`${item('f')} FULL OUTER JOIN ${item('g')} ON f.k = g.gk AND g.gs = f.s`),
          terms: [],
          frames: ['f', 'g'],
        }),
        (): FromForm => ({ from: 'g FULL JOIN h ON g.gs = h.hs', terms: [], frames: ['g', 'h'] }),
        (): FromForm => ({
          from: q(`${item('f')} JOIN ${item('g')} ON f.k = g.gk FULL JOIN h ON h.hk = f.k`),
          terms: [],
          frames: ['f', 'g', 'h'],
        }),
        (): FromForm => ({
          from: q(`${item('g')} FULL JOIN h ON g.gk = h.hk JOIN ${item('f')} ON f.s = h.hs`),
          terms: [],
          frames: ['f', 'g', 'h'],
        }),
      ])();
  }
}

function statement(rng: Rng, samples: Samples): Stmt {
  const form = fromForm(rng, samples);
  const cols = form.frames.flatMap((n) => TABLES[n][0]);
  const gen = new Gen(rng, cols, samples);
  const ids = [...form.frames.map((n) => TABLES[n][0][0]!.name), ...(form.g2 ? [`${form.g2}.gid`, 'g2.gid'] : [])];
  const whereX = rng.bool(0.6) ? gen.bool(2) : undefined;
  // The join terms and the random condition in a random order (the same for both).
  const order = shuffled(rng, [...form.terms.keys(), ...(whereX ? [-1] : [])]);
  const where = (side: 'eau' | 'duck'): string =>
    order.length ? ` WHERE ${order.map((i) => (i < 0 ? `(${whereX![side]})` : form.terms[i])).join(' AND ')}` : '';
  const anyType = (): Ty => rng.pick(['I', 'D', 'S', 'B', 'L', 'T', 'd'] as const);
  if (rng.bool(0.5)) {
    const items: X[] = [
      ...ids.map((i) => ({ eau: i, duck: i, t: 'I' as Ty })),
      ...Array.from({ length: rng.int(0, 2) }, () => gen.expr(anyType(), 1)),
    ];
    // The ids make every joined row's key unique (a pair of rows appears once; a null id, once per other).
    const ordered = rng.bool(0.4);
    const by = ids.map((i) => `${i} ${rng.pick(['ASC', 'DESC'])} NULLS ${rng.pick(['FIRST', 'LAST'])}`).join(', ');
    const tail = ordered ? ` ORDER BY ${by} LIMIT ${rng.int(0, 30)}` : '';
    return {
      eau: `SELECT ${items.map((i) => i.eau).join(', ')} FROM ${form.from}${where('eau')}${tail}`,
      duck: `SELECT ${items.map(duckOut).join(', ')} FROM ${form.from}${where('duck')}${tail}`,
      types: items.map((i) => i.t),
      ordered,
    };
  }
  const keys = rng.bool(0.7) ? [gen.col(rng.pick(['I', 'S'] as const), true)!] : [];
  const v = gen.expr(rng.pick(['I', 'D'] as const), 1);
  const m = gen.expr(anyType(), 1);
  const items: X[] = [
    ...keys,
    { eau: 'count(*)', duck: 'count(*)', t: 'I' },
    { eau: `count(${ids[ids.length - 1]})`, duck: `count(${ids[ids.length - 1]})`, t: 'I' },
    { eau: `sum(${v.eau})`, duck: `sum(${v.duck})`, t: 'D' },
    { eau: `max(${m.eau})`, duck: `max(${m.duck})`, t: m.t },
  ];
  const group = keys.length ? ` GROUP BY ${keys[0]!.eau}` : '';
  return {
    eau: `SELECT ${items.map((i) => i.eau).join(', ')} FROM ${form.from}${where('eau')}${group}`,
    duck: `SELECT ${items.map(duckOut).join(', ')} FROM ${form.from}${where('duck')}${group}`,
    types: items.map((i) => i.t),
    ordered: false,
  };
}

function norm(t: Ty, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (t === 'L' || t === 'T' || t === 'd') return String(v);
  if (t === 'I' || t === 'D') return typeof v === 'number' ? v : Number(String(v));
  if (typeof v === 'object') return String(v);
  return v;
}

const same = (a: unknown[], b: unknown[]): boolean =>
  a.length === b.length &&
  a.every((v, k) =>
    typeof v === 'number' && typeof b[k] === 'number'
      ? Object.is(v, b[k]) || Math.abs(v - (b[k] as number)) <= 1e-9 * Math.max(1, Math.abs(v))
      : v === b[k],
  );

/** The first difference between two results, or undefined. */
function diff(got: unknown[][], want: unknown[][], ordered: boolean): string | undefined {
  if (got.length !== want.length) return `${got.length} rows, DuckDB ${want.length}`;
  if (ordered) {
    const i = got.findIndex((r, k) => !same(r, want[k]!));
    return i < 0 ? undefined : `row ${i}: ${JSON.stringify(got[i])}, DuckDB ${JSON.stringify(want[i])}`;
  }
  const key = (r: unknown[]): string => JSON.stringify(r.map((v) => (typeof v === 'number' ? v.toPrecision(8) : v)));
  const counts = new Map<string, number>();
  for (const r of want) counts.set(key(r), (counts.get(key(r)) ?? 0) + 1);
  for (const r of got) {
    const n = counts.get(key(r));
    if (!n) return `row ${JSON.stringify(r)} is not in DuckDB's result (or is there fewer times)`;
    counts.set(key(r), n - 1);
  }
  return undefined;
}

let con: DuckDBConnection;
duckFixture('eau2-sql-joins-', (_, c) => {
  con = c;
});
// The frames also given in memory (`frames`): joins of frames in memory, and CROSS JOIN at the client.
const stores: [string, KvStore][] = [
  ['memory', new MemoryStore()],
  ['cluster', new FakeCluster()],
  ['frames', new MemoryStore()],
];
const given: Record<string, DataFrame> = {};
let samples: Samples;

beforeAll(async () => {
  const rng = new Rng(SEED);
  for (const [name, [cols, n]] of Object.entries(TABLES)) {
    const rows = Array.from({ length: n }, (_, r) => cols.map((c) => cell(rng, c, r)));
    const df = DataFrame.fromRows(cols.map((c) => `${c.name}:${c.t}`).join(','), rows);
    for (const [, store] of stores.slice(0, 2)) await DataFrame.put(store, name, df, { chunkRows: rng.int(7, 60) });
    given[name] = df;
    await con.run(`CREATE TABLE ${name} (${cols.map((c) => `${c.name} ${DUCK_TYPE[c.t]}`).join(', ')})`);
    await con.run(
      `INSERT INTO ${name} VALUES ${rows.map((r) => `(${r.map((v, k) => duckLiteral(cols[k]!.t, v)).join(', ')})`).join(',\n')}`,
    );
  }
  const ts = (await DataFrame.sql(stores[0]![1], 'SELECT t FROM f WHERE t IS NOT NULL')).column('t');
  const dd = (await DataFrame.sql(stores[0]![1], 'SELECT gd FROM g WHERE gd IS NOT NULL')).column('gd');
  samples = {
    L: [0n, 100n, -2500n],
    T: Array.from({ length: ts.length }, (_, i) => ts.get(i) as bigint),
    d: Array.from({ length: dd.length }, (_, i) => dd.get(i) as number),
    S: [...WORDS, 'a', 'zz'],
  };
});

describe('SQL joins beyond JOIN ... ON equalities, against DuckDB', () => {
  it(`gives DuckDB's answers to ${QUERIES} random comma, CROSS, FULL and ON-filtered joins`, async () => {
    onTestFailed(() => console.error(`[sql-joins-more] failed with seed ${SEED}: replay with EAU2_TEST_SEED=${SEED}`));
    const failures: string[] = [];
    for (let q = 0; q < QUERIES; q++) {
      if (ONLY !== undefined && q !== ONLY) continue;
      const st = statement(new Rng((SEED ^ Math.imul(q + 1, 0x9e3779b1)) >>> 0), samples);
      const report = (what: string) =>
        failures.push(
          `seed ${SEED} query ${q} (EAU2_TEST_SEED=${SEED} EAU2_TEST_QUERY=${q}): ${what}\n  eau2:   ${st.eau}\n  DuckDB: ${st.duck}`,
        );
      let want: unknown[][];
      try {
        want = (await con.runAndReadAll(st.duck)).getRows().map((r) => r.map((v, k) => norm(st.types[k]!, v)));
      } catch (e) {
        report(`DuckDB failed: ${(e as Error).message.split('\n')[0]}`);
        continue;
      }
      for (const [name, store] of stores) {
        let got: unknown[][];
        try {
          const df = await DataFrame.sql(store, st.eau, name === 'frames' ? { frames: given } : {});
          got = [...df.rows()].map((r) => r.map((v, k) => norm(st.types[k]!, v)));
        } catch (e) {
          report(`eau2 (${name}) failed: ${(e as Error).message.split('\n')[0]}`);
          break;
        }
        const d = diff(got, want, st.ordered);
        if (d) {
          report(`${name}: ${d}`);
          break;
        }
      }
    }
    expect(failures.slice(0, 8).join('\n\n'), `${failures.length} of ${QUERIES} queries differ`).toBe('');
  });
});
