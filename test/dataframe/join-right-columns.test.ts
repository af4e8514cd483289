// A broadcast join sends the nodes only the right side's columns its plan reads (its keys, the
// columns read past the left side's, one column for a keyless join that reads none), and a shuffle
// join's pieces carry only the columns its plan reads of each side: a dimension table's wide text
// columns stay where they are. Checked on the payloads a FakeCluster's nodes receive and the pieces
// they write, on the answers (against a plain-JavaScript join), on explain's text, on the client's
// kept columns (read once per column, whichever query reads it first), and on a node's refusal of a
// payload that lacks a column its plan reads.

import { describe, expect, it } from 'vitest';
import { Rng } from '../../app/apps/random.js';
import type { Column } from '../../dataframe/column.js';
import { DataFrame, type Value } from '../../dataframe/index.js';
import { JoinCache } from '../../dataframe/query/join-cache.js';
import { joinPayload, prepareJoin } from '../../dataframe/query/join.js';
import { scatter } from '../../dataframe/query/shuffle-tasks.js';
import { MemoryStore } from '../support/memory-store.js';
import type { Field } from '../../dataframe/schema.js';
import { FakeCluster } from './fake-cluster.js';
import { columnOf } from './helpers.js';

const SEED = Number(process.env.EAU2_TEST_SEED ?? (Date.now() ^ (process.pid << 16)) >>> 0);

/** A FakeCluster that records, per query task with a join, which right columns were sent. */
class Recording extends FakeCluster {
  sent: string[][] = [];
  /** Per side of a shuffle ('l', 'r'), the column indexes of the pieces written. */
  pieceColumns = { l: new Set<number>(), r: new Set<number>() };
  override async put(key: Parameters<FakeCluster['put']>[0], value: Parameters<FakeCluster['put']>[1]): Promise<void> {
    const m = /^\0df\/t\/[0-9a-f]+\/([lr])\/[0-9a-f]{4}\/\{[^}]+\}\.[0-9]+\/([0-9a-f]{4})$/.exec(
      typeof key === 'string' ? key : Buffer.from(key).toString('utf8'),
    );
    if (m) this.pieceColumns[m[1] as 'l' | 'r'].add(Number.parseInt(m[2]!, 16));
    return super.put(key, value);
  }
  protected override runAsNode(id: number, name: string, payload: unknown): Promise<unknown> {
    const join = (payload as { join?: { right?: { fields: Field[]; bodies: unknown[] } } } | null)?.join;
    if (join?.right && id === 0)
      this.sent.push(join.right.fields.filter((_, i) => join.right!.bodies[i] !== null).map((f) => f.name));
    return super.runAsNode(id, name, payload);
  }
}

interface Tables {
  flights: DataFrame;
  airports: DataFrame;
  rows: { dest: string | null; delay: number | null }[];
  ports: Map<string, { state: string; name: string; note: string | null }>;
}

function tables(rng: Rng): Tables {
  const codes = Array.from({ length: 60 }, (_, i) => `A${i}`);
  const ports = new Map<string, { state: string; name: string; note: string | null }>();
  // Some destinations have no airport row (an inner join drops them).
  for (const c of codes.slice(0, 50))
    ports.set(c, {
      state: `S${rng.int(0, 7)}`,
      name: `${c} International Airport, a long name that a query rarely reads`.repeat(rng.int(1, 4)),
      note: rng.bool(0.3) ? null : `note ${rng.int(0, 1000)}`,
    });
  const rows = Array.from({ length: 5000 }, () => ({
    dest: rng.bool(0.05) ? null : codes[rng.int(0, codes.length - 1)]!,
    delay: rng.bool(0.1) ? null : rng.int(-20, 300),
  }));
  const flights = DataFrame.fromRows(
    'dest:S,delay:I',
    rows.map((r) => [r.dest, r.delay]),
  );
  const airports = DataFrame.fromRows(
    'code:S,state:S,name:S,note:S',
    [...ports].map(([c, p]) => [c, p.state, p.name, p.note]),
  );
  return { flights, airports, rows, ports };
}

/** Rows as sorted texts, to compare answers whatever their order. */
const texts = (df: DataFrame): string[] => [...df.rows()].map((r) => JSON.stringify(r)).sort();

async function setUp(seed: number): Promise<{ store: Recording; t: Tables }> {
  const t = tables(new Rng(seed));
  const store = new Recording(3, 16, 2);
  await DataFrame.put(store, 'flights', t.flights, { chunkRows: 700 });
  await DataFrame.put(store, 'airports', t.airports, { chunkRows: 16 });
  return { store, t };
}

describe('a broadcast join sends only the right columns its plan reads', () => {
  it('SQL: keys and the columns read; every column for SELECT *; the answers as a plain join gives them', async () => {
    const { store, t } = await setUp(SEED);
    const at = (why: string) => `seed ${SEED} (EAU2_TEST_SEED=${SEED}): ${why}`;

    const byState = new Map<string, number>();
    for (const r of t.rows) {
      const p = r.dest === null ? undefined : t.ports.get(r.dest);
      if (p) byState.set(p.state, (byState.get(p.state) ?? 0) + 1);
    }
    store.sent = [];
    const g = await DataFrame.sql(
      store,
      'SELECT a.state, count(*) AS n FROM flights f JOIN airports a ON f.dest = a.code GROUP BY a.state',
    );
    expect(texts(g), at('grouped by state')).toEqual([...byState].map(([s, n]) => JSON.stringify([s, n])).sort());
    expect(store.sent.length, at('one broadcast')).toBeGreaterThan(0);
    for (const s of store.sent) expect(s, at('grouped by state')).toEqual(['code', 'state']);

    store.sent = [];
    const all = await DataFrame.sql(store, 'SELECT * FROM flights f JOIN airports a ON f.dest = a.code');
    const want: Value[][] = [];
    for (const r of t.rows) {
      const p = r.dest === null ? undefined : t.ports.get(r.dest);
      if (p) want.push([r.dest, r.delay, r.dest, p.state, p.name, p.note]);
    }
    expect(texts(all), at('SELECT *')).toEqual(want.map((r) => JSON.stringify(r)).sort());
    for (const s of store.sent) expect(s, at('SELECT *')).toEqual(['code', 'state', 'name', 'note']);

    // A filter on a right column reads it; the select list reads another.
    store.sent = [];
    const noted = await DataFrame.sql(
      store,
      'SELECT f.delay, a.name FROM flights f JOIN airports a ON f.dest = a.code WHERE a.note IS NULL',
    );
    const wantNoted: Value[][] = [];
    for (const r of t.rows) {
      const p = r.dest === null ? undefined : t.ports.get(r.dest);
      if (p && p.note === null) wantNoted.push([r.delay, p.name]);
    }
    expect(texts(noted), at('filter on a right column')).toEqual(wantNoted.map((r) => JSON.stringify(r)).sort());
    for (const s of store.sent) expect(s, at('filter on a right column')).toEqual(['code', 'name', 'note']);

    // A semi join (IN) sends its key alone.
    store.sent = [];
    const semi = await DataFrame.sql(
      store,
      "SELECT count(*) AS n FROM flights WHERE dest IN (SELECT code FROM airports WHERE state <> 'S0')",
    );
    const inSet = new Set([...t.ports].filter(([, p]) => p.state !== 'S0').map(([c]) => c));
    expect(texts(semi), at('semi join')).toEqual([
      JSON.stringify([t.rows.filter((r) => r.dest !== null && inSet.has(r.dest)).length]),
    ]);
    for (const s of store.sent) expect(s.length, at('semi join')).toBe(1);
  });

  it('a join without keys that reads no right column sends one column, and counts every pair', async () => {
    const { store, t } = await setUp(SEED ^ 0x5a5a);
    const few = DataFrame.fromRows('k:I,label:S,wide:S', [
      [1, 'a', 'x'.repeat(500)],
      [2, null, 'y'.repeat(500)],
      [3, 'c', null],
    ]);
    await DataFrame.put(store, 'few', few);
    store.sent = [];
    const df = await DataFrame.sql(store, 'SELECT count(*) AS n FROM flights, few');
    expect(texts(df), `seed ${SEED ^ 0x5a5a}`).toEqual([JSON.stringify([t.rows.length * 3])]);
    expect(store.sent.length).toBeGreaterThan(0);
    for (const s of store.sent) expect(s).toEqual(['k']);
  });

  it('the fluent API: each plan of one joined query sends what it reads', async () => {
    const { store, t } = await setUp(SEED ^ 0x77);
    const [flights, airports] = await Promise.all([DataFrame.get(store, 'flights'), DataFrame.get(store, 'airports')]);
    const joined = flights.join(airports, { on: [['dest', 'code']] });
    store.sent = [];
    const n = await joined.count();
    expect(n).toBe(t.rows.filter((r) => r.dest !== null && t.ports.has(r.dest)).length);
    for (const s of store.sent) expect(s).toEqual(['code']);
    store.sent = [];
    const states = await joined.select('state').collect();
    expect(states.nrows).toBe(n);
    for (const s of store.sent) expect(s).toEqual(['code', 'state']);
    // explain says what would be sent.
    expect(joined.select('state', 'note').explain()).toContain('the 3 columns read, code, state, note:');
    expect(joined.explain()).toContain('every column:');
  });

  it('a shuffle join writes and reads only the columns its plan reads of each side', async () => {
    const seed = SEED ^ 0x3c3c;
    const { store, t } = await setUp(seed);
    const [flights, airports] = await Promise.all([DataFrame.get(store, 'flights'), DataFrame.get(store, 'airports')]);
    const joined = flights.join(airports, { on: [['dest', 'code']], how: 'left', broadcastLimitBytes: 0 });
    const q = joined.filter({ op: 'isNull', args: [{ op: 'col', name: 'note' }] }).select('delay', 'state');
    expect(q.explain()).toMatch(
      /shuffle join, left join on dest = code: the right side airports \(50 rows, the 3 columns read, code, state, note:/,
    );
    const got = await q.collect();
    const want: Value[][] = [];
    for (const r of t.rows) {
      const p = r.dest === null ? undefined : t.ports.get(r.dest);
      // A left join keeps unmatched rows with a null note, which the filter keeps.
      if (p === undefined || p.note === null) want.push([r.delay, p?.state ?? null]);
    }
    expect(texts(got), `seed ${seed}`).toEqual(want.map((r) => JSON.stringify(r)).sort());
    // flights: dest (the key) and delay; airports: code (the key), state and note, not name.
    expect([...store.pieceColumns.l].sort()).toEqual([0, 1]);
    expect([...store.pieceColumns.r].sort()).toEqual([0, 1, 3]);
    store.pieceColumns = { l: new Set(), r: new Set() };
    expect(await joined.count()).toBe(t.rows.length);
    expect([...store.pieceColumns.l].sort()).toEqual([0]);
    expect([...store.pieceColumns.r].sort()).toEqual([0]);
  });

  it('the client reads each right column once, whichever query reads it first', async () => {
    const { store } = await setUp(SEED ^ 0x1234);
    const q = (cols: string) =>
      DataFrame.sql(store, `SELECT ${cols} FROM flights f JOIN airports a ON f.dest = a.code`);
    await q('a.state');
    const chunkGets = () => store.nodes.reduce((s, m) => s + m.stats.gets, 0);
    // airports has 4 chunks: reading one more of its columns reads each of them once more.
    let before = chunkGets();
    await q('a.state');
    const repeat = chunkGets() - before;
    before = chunkGets();
    await q('a.state, a.name');
    const another = chunkGets() - before;
    expect(another - repeat).toBe(4);
    before = chunkGets();
    await q('a.name, a.state');
    expect(chunkGets() - before).toBe(repeat);
  });
});

describe('a node and a payload without some right columns', () => {
  const LEFT: Field[] = [{ name: 'dest', type: 'S' }];
  const RIGHT: Field[] = [
    { name: 'code', type: 'S' },
    { name: 'state', type: 'S' },
    { name: 'w', type: 'I' },
  ];
  const cols = [columnOf('S', ['a', 'b']), columnOf('S', ['CA', 'NY']), columnOf('I', [1, null])];
  const left = [columnOf('S', ['b', 'a', 'z'])];

  it('joins with the columns sent and refuses a plan that reads one that was not', async () => {
    const raw = structuredClone(joinPayload('inner', [['dest', 'code']], RIGHT, [cols[0], undefined, cols[2]]));
    expect(raw.right.bodies[1]).toBeNull();
    const p = prepareJoin(raw, LEFT);
    const { load, rowsOf } = p.wrap(
      async () => left,
      () => 3,
    );
    const out = await load(0, [0, 3]);
    expect(Array.from({ length: rowsOf(0) }, (_, r) => [out[0]!.get(r), out[3]!.get(r)])).toEqual([
      ['b', null],
      ['a', 1],
    ]);
    await expect(load(0, [0, 2])).rejects.toThrow(/reads right column state, which was not sent/);
  });

  it('a scatter refuses a column list without its keys, unordered or out of range', async () => {
    const spec = (columns: unknown) => ({ id: 'ab'.repeat(12), side: 'r', keys: ['code'], buckets: 4, columns });
    const run = (columns: unknown) =>
      scatter(
        new MemoryStore(),
        () => true,
        RIGHT,
        [],
        async () => cols[0]!,
        () => 2,
        spec(columns),
      );
    await expect(run([1, 2])).rejects.toThrow(/must include the keys/);
    await expect(run([0, 2, 1])).rejects.toThrow(/bad column list/);
    await expect(run([0, 3])).rejects.toThrow(/bad column list/);
    await expect(run([])).rejects.toThrow(/bad column list/);
    await expect(run([0, 2])).resolves.toEqual({ pieces: [] });
  });

  it('refuses a payload without its key column, or without any column', () => {
    const noKey = structuredClone(joinPayload('inner', [['dest', 'code']], RIGHT, [undefined, cols[1], cols[2]]));
    expect(() => prepareJoin(noKey, LEFT)).toThrow(/key column code was not sent/);
    const none = structuredClone(joinPayload('inner', [], RIGHT, [undefined, undefined, undefined]));
    expect(() => prepareJoin(none, LEFT)).toThrow(/at least one column/);
  });

  it('a node keeps a prepared side sent without some columns, apart from one sent with others', async () => {
    const cache = new JoinCache(1 << 20);
    const sent = (which: (Column | undefined)[]) =>
      structuredClone(joinPayload('inner', [['dest', 'code']], RIGHT, which));
    const a = cache.prepare(sent([cols[0], undefined, cols[2]]), LEFT);
    expect(cache.prepare(sent([cols[0], undefined, cols[2]]), LEFT)).toBe(a);
    expect(cache.hits).toBe(1);
    // The same right side with `state` sent as well: not the entry prepared without it.
    const b = cache.prepare(sent([cols[0], cols[1], cols[2]]), LEFT);
    expect(b).not.toBe(a);
    const { load } = b.wrap(
      async () => left,
      () => 3,
    );
    const out = await load(0, [2]);
    expect([out[2]!.get(0), out[2]!.get(1)]).toEqual(['NY', 'CA']);
  });
});
