// Chunks answered at the client from the zone maps (dataframe/query/client-prune.ts): a filter's
// ruled-out chunks and a top-k's beaten ones go to no node. What must hold: every answer is the one
// the nodes give without it (a store that runs tasks in process prunes nothing at the client); on
// data stored in a column's order, a `WHERE` on a recent range and an `ORDER BY ... DESC LIMIT k`
// ask only the nodes holding the chunks they need (none when no chunk can match); the chunks the
// filter ruled out still count as skipped.

import { describe, expect, it } from 'vitest';
import { DataFrame, queryStats } from '../../dataframe/index.js';
import { col, ge } from '../../dataframe/query/expr.js';
import { MemoryStore } from '../support/memory-store.js';
import { FakeCluster } from './fake-cluster.js';
import { rowsOf, seededRng } from './helpers.js';
import type { Rng } from '../../app/apps/random.js';

/** A FakeCluster whose queries are placed node by node, as on a ClusterClient, counting the tasks. */
class PlacedCluster extends FakeCluster {
  calls: { node: string; chunks: number }[] = [];
  async runTaskOn(node: string, name: string, payload: unknown): Promise<unknown> {
    this.calls.push({ node, chunks: (payload as { chunks?: number[] }).chunks?.length ?? -1 });
    return this.runAsNode(Number(node.slice(1)), name, payload);
  }
}

/**
 * Columns in row order (t, d, l, i: so chunks' zones are disjoint ranges, the case pruning is for),
 * in random order (x, s: zones overlap, little or nothing to prune), with nulls, NaN, ties and
 * all-null stretches, so that every rule of the bound is met.
 */
function frame(rng: Rng, n: number): DataFrame {
  const nullish = rng.pick([0, 0.05, 0.3]);
  const maybe = <T>(r: number, v: T): T | null => (rng.bool(nullish) || (r > n * 0.8 && r < n * 0.85) ? null : v);
  const step = rng.pick([1, 3, 10]);
  const t: (bigint | null)[] = [];
  const d: (number | null)[] = [];
  const l: (bigint | null)[] = [];
  const i: (number | null)[] = [];
  const x: (number | null)[] = [];
  const s: (string | null)[] = [];
  for (let r = 0; r < n; r++) {
    t.push(maybe(r, 1_700_000_000_000_000n + BigInt(Math.floor(r / step)) * 60_000_000n));
    d.push(maybe(r, 19_000 + Math.floor(r / (step * 20))));
    l.push(maybe(r, -(2n ** 62n) + BigInt(r) * 2n ** 41n));
    i.push(maybe(r, rng.bool(0.5) ? Math.floor(r / step) : n - Math.floor(r / step)));
    x.push(rng.bool(0.02) ? Number.NaN : maybe(r, rng.int(-50, 50) / 4));
    s.push(maybe(r, `k${String(rng.int(0, 99)).padStart(2, '0')}`));
  }
  return DataFrame.fromColumns({
    t: { type: 'T', values: t },
    d: { type: 'd', values: d },
    l: { type: 'L', values: l },
    i: { type: 'I', values: i },
    x: { type: 'D', values: x },
    s: { type: 'S', values: s },
  });
}

const day = (d: number): string => new Date(d * 86_400_000).toISOString().slice(0, 10);

function queries(rng: Rng, n: number): string[] {
  const out: string[] = [];
  for (let q = 0; q < 40; q++) {
    const key = rng.pick(['t', 'd', 'l', 'i', 'x', 's']);
    const dir = rng.pick(['', ' ASC', ' DESC']);
    const nulls = rng.pick(['', '', ' NULLS LAST', ' NULLS FIRST']);
    const limit = rng.pick([0, 1, 3, 10, 60, n]);
    const offset = rng.bool(0.3) ? ` OFFSET ${rng.pick([1, 5, 40])}` : '';
    const where = rng.pick([
      '',
      '',
      ` WHERE ${key} IS NOT NULL`,
      ` WHERE d >= '${day(19_000 + rng.int(0, Math.ceil(n / 20)))}'`,
      ' WHERE x > 5',
    ]);
    out.push(`SELECT t, i, x, s FROM f${where} ORDER BY ${key}${dir}${nulls}, i, t LIMIT ${limit}${offset}`);
  }
  for (let q = 0; q < 10; q++) {
    const d = 19_000 + rng.int(-2, Math.ceil(n / 20) + 2);
    out.push(`SELECT count(*) AS n, sum(i) AS s FROM f WHERE d >= '${day(d)}'`);
    out.push(
      `SELECT s, count(*) AS n FROM f WHERE t < ${1_700_000_000_000_000 + rng.int(0, n) * 60_000_000}::timestamp GROUP BY s ORDER BY s`,
    );
    out.push(`SELECT i, x FROM f WHERE l > ${-(2 ** 62) + rng.int(0, n) * 2 ** 41}::bigint AND i IS NOT NULL`);
  }
  return out;
}

describe('chunks answered at the client from zone maps', () => {
  it('never changes an answer: random top-k and filters, placed on nodes and in process', async () => {
    const rng = seededRng();
    for (let round = 0; round < 3; round++) {
      const n = rng.int(800, 2500);
      const df = frame(rng, n);
      const chunkRows = rng.pick([37, 100, 257]);
      const plain = new MemoryStore();
      const placed = new PlacedCluster(3, 16, 2);
      await DataFrame.put(plain, 'f', df, { chunkRows });
      await DataFrame.put(placed, 'f', df, { chunkRows });
      const nchunks = Math.ceil(n / chunkRows);
      let pruned = 0;
      for (const sql of queries(rng, n)) {
        placed.calls = [];
        const want = rowsOf(await DataFrame.sql(plain, sql));
        const got = rowsOf(await DataFrame.sql(placed, sql));
        expect(got, `round ${round} (${n} rows, chunks of ${chunkRows}): ${sql}`).toEqual(want);
        const asked = placed.calls.reduce((a, c) => a + c.chunks, 0);
        expect(asked).toBeLessThanOrEqual(nchunks);
        if (asked < nchunks) pruned++;
      }
      // The ordered columns' top-k and ranges leave most chunks to the client in every round.
      expect(pruned, `round ${round}: queries that pruned`).toBeGreaterThanOrEqual(10);
    }
  });

  it('asks only the nodes holding what a recent range or the latest rows need', async () => {
    const n = 3000;
    const df = DataFrame.fromColumns({
      t: { type: 'T', values: Array.from({ length: n }, (_, r) => BigInt(r) * 1_000_000n) },
      v: { type: 'I', values: Array.from({ length: n }, (_, r) => r % 7) },
    });
    const placed = new PlacedCluster(3, 16, 2);
    await DataFrame.put(placed, 'f', df, { chunkRows: 100 });
    const run = async (sql: string) => {
      placed.calls = [];
      const r = await DataFrame.sql(placed, sql);
      return { rows: rowsOf(r), calls: placed.calls, r };
    };
    const latest = await run('SELECT t, v FROM f ORDER BY t DESC LIMIT 5');
    expect(latest.rows.map((x) => x[1])).toEqual([2999 % 7, 2998 % 7, 2997 % 7, 2996 % 7, 2995 % 7]);
    expect(latest.calls).toEqual([{ node: expect.any(String), chunks: 1 }]);
    // 150 rows: the last chunk and half the one before it.
    const earliest = await run('SELECT t FROM f ORDER BY t LIMIT 150');
    expect(earliest.rows).toHaveLength(150);
    expect(earliest.calls.reduce((a, c) => a + c.chunks, 0)).toBe(2);
    const recent = await run("SELECT count(*) AS n FROM f WHERE t >= '1970-01-01T00:45:50Z'");
    expect(recent.rows).toEqual([[250]]);
    expect(recent.calls.reduce((a, c) => a + c.chunks, 0)).toBe(3);
    // No chunk can match: no node is asked, and the answer is an empty query's.
    const none = await run("SELECT count(*) AS n, sum(v) AS s FROM f WHERE t > '1970-01-01T02:46:39Z'");
    expect(none.rows).toEqual([[0, null]]);
    expect(none.calls).toEqual([]);
    const lf = await DataFrame.get(placed, 'f');
    placed.calls = [];
    const some = await lf.filter(ge(col('t'), '1970-01-01T00:45:50Z')).collect();
    expect(some.nrows).toBe(250);
    expect(placed.calls.reduce((a, c) => a + c.chunks, 0)).toBe(3);
    expect(queryStats(some)?.chunksSkipped).toBe(27);
    placed.calls = [];
    const noRows = await lf.filter(ge(col('t'), '1970-01-01T02:46:40Z')).collect();
    expect(noRows.nrows).toBe(0);
    expect(placed.calls).toEqual([]);
    expect(queryStats(noRows)?.chunksSkipped).toBe(30);
    // A column in no order: every chunk goes to a node.
    const all = await run('SELECT v FROM f ORDER BY v DESC LIMIT 3');
    expect(all.calls.reduce((a, c) => a + c.chunks, 0)).toBe(30);
  });
});
