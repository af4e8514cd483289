// The query verbs on a real 3-node cluster (replication 2): plans pushed to the nodes, partial results
// (top-k rows, sketches, joined aggregates) merged at the client, each checked against the same
// plain-JavaScript references as on a MemoryStore; and POST /df/sql on every node.

import { Writable } from 'node:stream';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDfCommands } from '../../app/cli/df-commands.js';
import { LocalCluster } from '../../bench/dataframe/local-cluster.js';
import { DataFrame } from '../../dataframe/index.js';
import { rowsOf, seededRng } from './helpers.js';
import { approx } from './verbs-reference.js';
import {
  FLIGHTS_SCHEMA,
  exampleRef,
  exampleSql,
  flightRows,
  checkAggregates,
  checkComputedColumns,
  checkDescribe,
  checkJoins,
  checkShuffleJoins,
  checkSortAndTopK,
  checkSql,
} from './verbs-suite.js';

let cluster: LocalCluster;
/** The nodes' query-task trace lines (EAU2_DF_TRACE), by node; their other stderr passes through. */
const traces: { id: string; line: string }[] = [];

beforeAll(async () => {
  cluster = await LocalCluster.start(3, 2, 8, {
    env: { EAU2_DF_TRACE: '1' },
    onStderr: (id, line) => {
      if (line.startsWith('df.query ')) traces.push({ id, line });
      else process.stderr.write(`[${id}] ${line}\n`);
    },
  });
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('query verbs on a 3-node cluster', () => {
  it('sorts and computes top-k per node', () => checkSortAndTopK(cluster.client, seededRng(), 'c-sort'), 60_000);
  it('merges sketches and moments across nodes', () => checkAggregates(cluster.client, seededRng(), 'c-aggs'), 60_000);
  it(
    'computes derived columns on the nodes',
    () => checkComputedColumns(cluster.client, seededRng(), 'c-derive'),
    60_000,
  );
  it('broadcasts the right side of joins', () => checkJoins(cluster.client, seededRng(), 'c-join'), 60_000);
  it(
    'joins by shuffle across the nodes past the broadcast limit',
    () => checkShuffleJoins(cluster.client, seededRng(), 'c-shuffle'),
    90_000,
  );
  it('describes a stored frame', () => checkDescribe(cluster.client, seededRng(), 'c-describe'), 60_000);
  it('runs SQL and windows', () => checkSql(cluster.client, seededRng(), 'c_flights'), 60_000);

  it("runs the issue's SQL example through the API, the CLI and HTTP, and explains where it runs", async () => {
    const rng = seededRng();
    // Ten origins, so LIMIT 10 keeps every group and ties in count are broken by origin.
    const rows = flightRows(rng, 5000, ['SFO', 'JFK', 'LAX', 'ORD', 'SEA', 'ATL', 'DFW', 'DEN', 'BOS', 'MIA']);
    await DataFrame.put(cluster.client, 'flights', DataFrame.fromRows(FLIGHTS_SCHEMA, rows), { chunkRows: 256 });
    const sql = exampleSql('flights');
    const want = approx(exampleRef(rows));
    expect(want.length).toBe(10);

    // The API, pushed to the nodes.
    expect(approx(rowsOf(await DataFrame.sql(cluster.client, sql)))).toEqual(want);
    const plan = [...(await DataFrame.sql(cluster.client, `EXPLAIN ${sql}`)).column('plan', 'S').values].join('\n');
    expect(plan).toMatch(/on the nodes holding flights, \d+ chunks/);
    expect(plan).toMatch(/stage 2, at the client/);

    // The CLI, through commander, on the cluster's client.
    let printed = '';
    const out = new Writable({
      write(chunk, _enc, cb) {
        printed += String(chunk);
        cb();
      },
    });
    const program = new Command('eau2').exitOverride().configureOutput({ writeErr: () => undefined });
    registerDfCommands(
      program,
      async () =>
        Object.assign(Object.create(cluster.client) as typeof cluster.client, { close: async () => undefined }),
      out,
    );
    await program.parseAsync(['node', 'eau2', 'sql', sql, '--format', 'json']);
    const cliRows = (JSON.parse(printed) as Record<string, number | string>[]).map((o) => [
      o.origin!,
      o['count(*)']!,
      o['avg(delay)']!,
    ]);
    expect(approx(cliRows)).toEqual(want);
    printed = '';
    await program.parseAsync(['node', 'eau2', 'sql', `EXPLAIN ${sql}`]);
    expect(printed).toMatch(/on the nodes holding flights/);

    // HTTP, on every node.
    for (const u of cluster.urls) {
      const res = await fetch(`${u}/df/sql`, { method: 'POST', body: JSON.stringify({ sql }) });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { columns: { name: string }[]; rows: (string | number)[][] };
      expect(body.columns.map((c) => c.name)).toEqual(['origin', 'count(*)', 'avg(delay)']);
      expect(approx(body.rows)).toEqual(want);
    }
  }, 60_000);

  it('serves POST /df/sql on every node', async () => {
    await DataFrame.put(
      cluster.client,
      'web_sql',
      DataFrame.fromRows('k:S,v:I', [
        ['a', 1],
        ['b', 2],
        ['a', 3],
      ]),
      { chunkRows: 1 }, // three chunks, placed on the three leaders in turn
    );
    for (const u of cluster.urls) {
      const post = (body: string) =>
        fetch(`${u}/df/sql`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      traces.length = 0;
      const ok = await post(JSON.stringify({ sql: 'SELECT k, sum(v) AS s FROM web_sql GROUP BY k ORDER BY s DESC' }));
      expect(ok.status).toBe(200);
      // Stage 1 ran as df.query tasks on the nodes holding the chunks (an in-process run on the
      // receiving node would trace node=local once): each task traced by the node it names, more
      // than one node, every chunk evaluated exactly once.
      const ran = traces.filter((t) => t.line.includes('frame=web_sql'));
      for (const t of ran) expect(t.line).toContain(`node=${t.id} `);
      const busy = ran.filter((t) => !t.line.includes(' chunks=0 '));
      expect(new Set(busy.map((t) => t.id)).size, JSON.stringify(traces)).toBeGreaterThan(1);
      expect(ran.reduce((n, t) => n + Number(/chunks=(\d+)/.exec(t.line)![1]), 0)).toBe(3);
      expect(await ok.json()).toEqual({
        columns: [
          { name: 'k', type: 'S' },
          { name: 's', type: 'D' },
        ],
        rows: [
          ['a', 4],
          ['b', 2],
        ],
        truncated: false,
      });
      const explain = (await (await post(JSON.stringify({ sql: 'EXPLAIN SELECT * FROM web_sql LIMIT 1' }))).json()) as {
        explain: string;
      };
      // The receiving node is a client of its cluster: stage 1 runs on the nodes holding the chunks.
      expect(explain.explain).toMatch(/on each node \(on the nodes holding web_sql, \d+ chunks\)/);
      expect(explain.explain).not.toMatch(/in-process/);
      const bad = await post(JSON.stringify({ sql: 'SELECT nope FROM web_sql' }));
      expect(bad.status).toBe(400);
      const err = (await bad.json()) as { code: string; message: string };
      expect(err.code).toBe('INVALID');
      expect(err.message).toMatch(/no column named nope \(.*\) \(line 1, column 8\)/);
      // A frame that does not exist is a 404, as GET /df/<name> says it, with the statement's place.
      const missing = await post(JSON.stringify({ sql: 'SELECT * FROM nosuch' }));
      expect(missing.status).toBe(404);
      const nf = (await missing.json()) as { code: string; message: string };
      expect(nf.code).toBe('NOT_FOUND');
      expect(nf.message).toMatch(/no frame named nosuch \(line 1, column 15\)/);
      expect((await post('not json')).status).toBe(400);
      expect((await fetch(`${u}/df/sql`)).status).toBe(405);
      // Parameters: JSON values bound to $1, $2, never read as SQL.
      const bound = await post(
        JSON.stringify({ sql: 'SELECT k, v FROM web_sql WHERE k = $1 AND v > $2 ORDER BY v', params: ['a', 1] }),
      );
      expect(bound.status).toBe(200);
      expect(((await bound.json()) as { rows: unknown[] }).rows).toEqual([['a', 3]]);
      const parts = await post(
        JSON.stringify({
          sql: 'WITH t AS (SELECT k, sum(v) AS s FROM web_sql GROUP BY k) SELECT k FROM t WHERE s > 3 UNION ALL SELECT k FROM web_sql WHERE v = 2',
        }),
      );
      expect(((await parts.json()) as { rows: unknown[] }).rows).toEqual([['a'], ['b']]);
      const injected = await post(
        JSON.stringify({ sql: 'SELECT k FROM web_sql WHERE k = $1', params: ["a' OR 'x'='x"] }),
      );
      expect(((await injected.json()) as { rows: unknown[] }).rows).toEqual([]);
      for (const body of [
        { sql: 'SELECT k FROM web_sql WHERE k = $1', params: 'a' },
        { sql: 'SELECT k FROM web_sql WHERE k = $1', params: [{ a: 1 }] },
        { sql: 'SELECT k FROM web_sql WHERE k = $1' },
        { sql: 'SELECT k FROM web_sql', params: ['a'] },
      ]) {
        const r = await post(JSON.stringify(body));
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(((await r.json()) as { code: string }).code).toBe('INVALID');
      }
    }
  });
});
