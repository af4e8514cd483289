// What a statement may cost before it is planned: a node parses its HTTP clients' SQL on a thread of
// its own within a deadline (the parser takes seconds on some statements of the accepted length, which
// on the node's event loop would stall its replication and heartbeats), and a statement nested deeper
// than planning can recurse is refused, not a stack overflow.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpHelpers } from '../../cluster/index.js';
import { DataFrame } from '../../dataframe/index.js';
import { handleDfHttp } from '../../dataframe/http.js';
import { parseOne } from '../../dataframe/sql/parse.js';
import { parseOffThread } from '../../dataframe/sql/parse-thread.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';

/** A chain of UNION ALLs: the parser's cost grows with the square of its length. */
const unions = (n: number): string => Array(n).fill('SELECT a FROM f').join(' UNION ALL ');

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

let store: MemoryStore;
let server: Server;
let base: string;
beforeAll(async () => {
  store = new MemoryStore();
  await DataFrame.put(store, 'f', DataFrame.fromRows('a:I', [[1], [2]]));
  server = createServer((req, res) => void handleDfHttp(req, res, store, httpHelpers));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe("the SQL parser's thread", () => {
  it('gives the tree and the errors parsing here gives', async () => {
    for (const text of [
      'SELECT a, count(*) FROM f WHERE a > $1 GROUP BY a ORDER BY 2 DESC LIMIT 3',
      'WITH t AS (SELECT a FROM f) SELECT * FROM t UNION ALL SELECT a FROM f',
      // The marks pre-parse.ts leaves on a UNION node that was an EXCEPT cross the thread too.
      "SELECT a FROM f EXCEPT ALL SELECT a FROM f WHERE a > 1 INTERSECT SELECT 2 + INTERVAL '1' DAY",
    ])
      expect(await parseOffThread(text)).toEqual(parseOne(text));
    expect(JSON.stringify(await parseOffThread('SELECT a FROM f EXCEPT ALL SELECT 1'))).toContain(
      '"eau2SetOp":"except all"',
    );
    for (const text of ['SELEC * FROM f', 'SELECT a FROM f WHERE', 'DELETE FROM f']) {
      let here: unknown;
      try {
        parseOne(text);
      } catch (e) {
        here = e;
      }
      const there = await failure(parseOffThread(text));
      expect(there).toBeInstanceOf(Eau2Error);
      expect(there.message).toBe((here as Error).message);
      expect((there as Eau2Error).code).toBe((here as Eau2Error).code);
      expect((there as Eau2Error).details).toEqual((here as Eau2Error).details);
    }
  });

  it('leaves the event loop free while it parses, and stops a statement at its deadline', async () => {
    await parseOffThread('SELECT 1 FROM f'); // the thread started and its parser loaded
    let ticks = 0;
    const tick = setInterval(() => ticks++, 10);
    const t0 = performance.now();
    await parseOffThread(unions(300), 120_000);
    const took = performance.now() - t0;
    clearInterval(tick);
    // Parsed here, the statement would hold the loop for all of `took`: no tick at all.
    expect(took).toBeGreaterThan(100);
    expect(ticks, `${ticks} ticks in ${Math.round(took)} ms`).toBeGreaterThanOrEqual(3);

    const late = await failure(parseOffThread(unions(1500), 50));
    expect((late as Eau2Error).code).toBe(ErrorCode.TOO_LARGE);
    expect(late.message).toMatch(/took more than 50 ms to parse \(EAU2_SQL_PARSE_MS\)/);
    // The next statement gets a new thread.
    expect((await parseOffThread('SELECT a FROM f')).type).toBe('select');
  });

  it('serves POST /df/sql through it: a statement past EAU2_SQL_PARSE_MS is 413', async () => {
    const post = (sql: string) =>
      fetch(`${base}/df/sql`, { method: 'POST', body: JSON.stringify({ sql }) }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { code?: string; message?: string; rows?: unknown[] },
      }));
    expect(await post('SELECT a FROM f ORDER BY a')).toMatchObject({ status: 200, body: { rows: [[1], [2]] } });
    const before = process.env.EAU2_SQL_PARSE_MS;
    process.env.EAU2_SQL_PARSE_MS = '50';
    try {
      const slow = await post(unions(1500));
      expect(slow.status).toBe(413);
      expect(slow.body.code).toBe('TOO_LARGE');
      expect(slow.body.message).toMatch(/took more than 50 ms to parse/);
    } finally {
      if (before === undefined) delete process.env.EAU2_SQL_PARSE_MS;
      else process.env.EAU2_SQL_PARSE_MS = before;
    }
    const bad = await post('SELECT a FROM f WHERE');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/SQL syntax error/);
  });
});

describe('nesting', () => {
  it('refuses a statement nested deeper than planning recurses, as INVALID', async () => {
    for (const [text, depth] of [
      [`SELECT ${Array(1100).fill('a').join(' + ')} FROM f`, 1104],
      [`SELECT a FROM f WHERE ${Array(10_000).fill('a>0').join(' OR ')}`, 10_003],
    ] as const) {
      const e = await failure(DataFrame.sql(store, text));
      expect(e, text.slice(0, 40)).toBeInstanceOf(Eau2Error);
      expect((e as Eau2Error).code).toBe(ErrorCode.INVALID);
      expect(e.message).toMatch(new RegExp(`nests ${depth} levels deep, more than 1000`));
    }
    // A chain within the bound is planned (an OR of 400 terms is one n-ary OR).
    const ok = await DataFrame.sql(store, `SELECT a FROM f WHERE ${Array(400).fill('a > 1').join(' OR ')}`);
    expect(ok.nrows).toBe(1);
  });
});
