// The web console in a real browser (headless Chromium, puppeteer-core): against a 3-node cluster it
// loads with no console errors and no request leaving loopback, shows every node and partition,
// browses and previews keys written over HTTP, puts and deletes after a confirmation, previews a frame
// imported from CSV, runs a group-by whose result matches the query API's, draws its plots, switches
// theme, and shows a killed node as down within a few seconds, then its partitions' new leaders and
// epochs (failover) in the grid and the events. A second, 1-node cluster with `auth`
// checks the token prompt and that a read-only token sees no put or delete.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterClient } from '../../cluster/index.js';
import { createToken } from '../../cluster/security/tokens.js';
import { DataFrame, importCsv } from '../../dataframe/index.js';
import { eventually, TestCluster } from '../cluster/support/cluster-harness.js';
import {
  buildConsole,
  choose,
  type Doc,
  type El,
  launchBrowser,
  openPage,
  tap,
  texts,
  typeInto,
  type WatchedPage,
} from './support/browser.js';

// What the functions given to page.evaluate / waitForFunction see: they run in the browser.
declare const document: Doc;
declare const sessionStorage: { clear(): void };
declare function getComputedStyle(e: El): { backgroundColor: string };

const SEED = Number(process.env.SEED ?? Date.now() % 100_000);
const PARTITIONS = 8;
const ROWS = 1200;

/** mulberry32: the rows of the CSV frame come from SEED. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const dir = mkdtempSync(join(tmpdir(), 'eau2-console-test-'));
let consoleDir = '';
let c: TestCluster;
let browser: Browser;
let client: ClusterClient;
let w: WatchedPage | undefined;
const csvRows: [string, number, number][] = [];

function url(path = ''): string {
  return `${c.node('n1').url}/ui/${path}`;
}

beforeAll(async () => {
  consoleDir = buildConsole();
  c = await TestCluster.start({
    nodes: 3,
    partitions: PARTITIONS,
    replicationFactor: 2,
    startTimeoutMs: 90_000,
    // A killed leader's partitions fail over within seconds (docs/failover.md).
    extra: { failoverTimeoutMs: 2000 },
  });
  browser = await launchBrowser();
  client = await ClusterClient.connect([c.node('n1').url], { timeoutMs: 20_000 });
  const r = rng(SEED);
  const cities = ['Lyon', 'Oslo', 'Lima', 'Kobe', 'Accra'];
  const lines = ['city,units,price'];
  for (let i = 0; i < ROWS; i++) {
    const row: [string, number, number] = [cities[Math.floor(r() * cities.length)]!, Math.floor(r() * 100), i % 13];
    csvRows.push(row);
    lines.push(row.join(','));
  }
  const csv = join(dir, 'sales.csv');
  writeFileSync(csv, `${lines.join('\n')}\n`);
  await importCsv(client, 'sales', csv, { chunkRows: 100 });
}, 180_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.log(`SEED=${SEED}; browser errors: ${w?.errors.join('\n') ?? ''}`);
});

afterAll(async () => {
  await client?.close();
  await browser?.close();
  await c?.stop();
  rmSync(dir, { recursive: true, force: true });
  if (consoleDir) rmSync(consoleDir, { recursive: true, force: true });
});

async function open(path: string): Promise<WatchedPage> {
  await w?.page.close();
  w = await openPage(browser);
  await w.page.goto(url(path), { waitUntil: 'load' });
  // The page draws itself once /whoami has answered.
  await w.page.waitForSelector('main[data-page]');
  return w;
}

function put(key: string, body: string | Buffer, type: string): Promise<Response> {
  return fetch(`${c.node('n2').url}/kv/${encodeURIComponent(key)}?w=all`, {
    method: 'PUT',
    headers: { 'content-type': type },
    body,
  });
}

describe('console against a 3-node cluster', () => {
  it('loads with no console errors and shows every node and partition', async () => {
    const { page, errors, external } = await open('');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-test="node-row"][data-status="up"]').length === 3,
    );
    // Every node's /stats has arrived (the version column is filled in).
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('[data-test="node-row"]')).every((r) => r.children[3]?.textContent !== '…'),
    );
    expect(await texts(page, '[data-test="node-count"]')).toEqual(['3']);
    expect(await texts(page, '[data-test="partition-count"]')).toEqual([String(PARTITIONS)]);
    expect(await page.$$eval('[data-test="partition-cell"]', (els) => els.length)).toBe(PARTITIONS);
    expect(await page.$$eval('[data-test="node-row"]', (els) => els.map((e) => e.getAttribute('data-node')))).toEqual([
      'n1',
      'n2',
      'n3',
    ]);
    // Every partition cell names the leader /cluster names.
    const cluster = (await (await fetch(`${c.node('n1').url}/cluster`)).json()) as {
      partitions: { partition: number; leader: string }[];
    };
    const leaders = await page.$$eval('[data-test="partition-cell"]', (els) =>
      els.map((e) => [Number(e.getAttribute('data-partition')), e.getAttribute('data-leader')]),
    );
    expect(leaders).toEqual(cluster.partitions.map((p) => [p.partition, p.leader]));
    for (const id of ['metrics', 'engine', 'keys', 'dataframes']) {
      await tap(page, `[data-test="nav-${id}"]`);
      await page.waitForSelector(`main[data-page="${id}"]`);
    }
    await new Promise((r) => setTimeout(r, 1500));
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
  });

  it('browses a key written through HTTP and previews it by content type', async () => {
    expect((await put('cons/hello', 'hello, console', 'text/plain')).status).toBe(204);
    expect((await put('cons/doc', '{"a":1,"b":[true,null]}', 'application/json')).status).toBe(204);
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8"/></svg>';
    expect((await put('cons/pic', svg, 'image/svg+xml')).status).toBe(204);
    expect((await put('cons/raw', Buffer.from([0, 1, 2, 0xff, 0x41]), 'application/octet-stream')).status).toBe(204);
    const { page, errors } = await open('#/keys');
    await typeInto(page, '[data-test="prefix"]', 'cons/');
    await tap(page, '[data-test="search"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-test="key-row"]').length === 4);
    expect(await page.$$eval('[data-test="key-row"]', (els) => els.map((e) => e.getAttribute('data-key')))).toEqual([
      'cons/doc',
      'cons/hello',
      'cons/pic',
      'cons/raw',
    ]);
    await tap(page, '[data-test="key-row"][data-key="cons/hello"]');
    await page.waitForSelector('[data-test="preview-text"]');
    expect(await texts(page, '[data-test="preview-text"]')).toEqual(['hello, console']);
    await tap(page, '[data-test="key-row"][data-key="cons/doc"]');
    await page.waitForSelector('[data-test="preview-json"]');
    expect(await page.$eval('[data-test="preview-json"]', (e) => (e as unknown as El).textContent)).toBe(
      JSON.stringify({ a: 1, b: [true, null] }, null, 2),
    );
    await tap(page, '[data-test="key-row"][data-key="cons/pic"]');
    await page.waitForSelector('[data-test="preview-image"]');
    await page.waitForFunction(() => document.querySelector('[data-test="preview-image"]')?.naturalWidth === 8);
    await tap(page, '[data-test="key-row"][data-key="cons/raw"]');
    await page.waitForSelector('[data-test="preview-hex"]');
    expect((await texts(page, '[data-test="preview-hex"]'))[0]).toContain('00 01 02 ff 41');
    expect(errors).toEqual([]);
  });

  it('puts and deletes a key only after confirmation', async () => {
    const { page, errors } = await open('#/keys');
    await page.waitForSelector('[data-test="put-key"]');
    await typeInto(page, '[data-test="put-key"]', 'cons/new');
    await typeInto(page, '[data-test="put-value"]', 'typed in a browser');
    // Cancelled: nothing written.
    await tap(page, '[data-test="put"]');
    await tap(page, '[data-test="confirm-cancel"]');
    expect((await fetch(`${c.node('n3').url}/kv/cons%2Fnew`)).status).toBe(404);
    await tap(page, '[data-test="put"]');
    await tap(page, '[data-test="confirm-ok"]');
    await page.waitForSelector('[data-test="put-done"]');
    const got = await fetch(`${c.node('n3').url}/kv/cons%2Fnew`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('text/plain');
    expect(await got.text()).toBe('typed in a browser');
    // The new key is shown; delete it.
    await page.waitForFunction(() => document.querySelector('[data-test="preview-key"]')?.textContent === 'cons/new');
    await tap(page, '[data-test="delete"]');
    await tap(page, '[data-test="confirm-cancel"]');
    expect((await fetch(`${c.node('n3').url}/kv/cons%2Fnew`)).status).toBe(200);
    await tap(page, '[data-test="delete"]');
    await tap(page, '[data-test="confirm-ok"]');
    await page.waitForFunction(() => !document.querySelector('[data-key="cons/new"]'));
    expect((await fetch(`${c.node('n3').url}/kv/cons%2Fnew`)).status).toBe(404);
    expect(errors).toEqual([]);
  });

  it('previews a frame imported from CSV: schema, chunk placement and rows', async () => {
    const { page, errors } = await open('#/dataframes');
    await page.waitForSelector('[data-test="frame-row"][data-frame="sales"]');
    await tap(page, '[data-test="frame-row"][data-frame="sales"]');
    await page.waitForSelector('[data-test="rows"] tbody tr');
    const schema = await page.$$eval('[data-test="schema"] tbody tr', (trs) =>
      trs.map((tr) => Array.from((tr as unknown as El).children).map((td) => td.textContent)),
    );
    expect(schema).toEqual([
      ['city', 'string'],
      ['units', 'int'],
      ['price', 'int'],
    ]);
    const first = await page.$$eval('[data-test="rows"] tbody tr', (trs) =>
      trs.map((tr) => Array.from((tr as unknown as El).children).map((td) => td.textContent)),
    );
    expect(first).toEqual(csvRows.slice(0, 20).map((r) => r.map(String)));
    await tap(page, '[data-test="rows-next"]');
    await page.waitForFunction(() =>
      document.querySelector('[data-test="rows-range"]')?.textContent?.startsWith('rows 21'),
    );
    const second = await page.$$eval('[data-test="rows"] tbody tr td:first-child', (tds) =>
      tds.map((t) => t.textContent),
    );
    expect(second).toEqual(csvRows.slice(20, 40).map((r) => r[0]));
    // One square per row-chunk (12 of 100 rows), spread over more than one node.
    await page.waitForSelector('[data-test="chunks"] .chunk');
    expect(await page.$$eval('[data-test="chunks"] .chunk', (e) => e.length)).toBe(ROWS / 100);
    expect((await texts(page, '[data-test="frame-size"]'))[0]).toMatch(/stored/);
    expect(errors).toEqual([]);
  });

  it("runs a group-by on the nodes whose result matches the query API's", async () => {
    const { page, errors } = await open('#/dataframes/sales');
    await page.waitForSelector('[data-test="run-query"]');
    await tap(page, '[data-test="add-filter"]');
    await choose(page, '[data-test="filter-row"] .f-col', 'units');
    await choose(page, '[data-test="filter-row"] .f-op', 'ge');
    await typeInto(page, '[data-test="filter-row"] .f-val', '20');
    await tap(page, '[data-test="group-by"] input[data-col="city"]');
    await tap(page, '[data-test="add-agg"]');
    await choose(page, '[data-test="agg-row"] .a-fn', 'sum');
    await choose(page, '[data-test="agg-row"] .a-col', 'units');
    await tap(page, '[data-test="add-agg"]');
    await choose(page, '[data-test="agg-row"]:last-child .a-fn', 'count');
    await choose(page, '[data-test="agg-row"]:last-child .a-col', '*');
    await tap(page, '[data-test="run-query"]');
    await page.waitForSelector('[data-test="result-table"] tbody tr');
    const shown = await page.$$eval('[data-test="result-table"] tbody tr', (trs) =>
      trs.map((tr) => Array.from((tr as unknown as El).children).map((td) => td.textContent)),
    );
    const lf = await DataFrame.get(client, 'sales');
    const { col, ge } = await import('../../dataframe/index.js');
    const api = await lf
      .filter(ge(col('units'), 20))
      .groupBy('city')
      .agg({ units: 'sum', '*': 'count' });
    const fmt = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 6, useGrouping: false });
    expect(shown).toEqual(
      api.toObjects().map((o) => [String(o.city), fmt(o.units_sum as number), fmt(o.count as number)]),
    );
    // And both match the CSV counted here.
    const byCity = new Map<string, [number, number]>();
    for (const [city, units] of csvRows) {
      if (units < 20) continue;
      const e = byCity.get(city) ?? [0, 0];
      byCity.set(city, [e[0] + units, e[1] + 1]);
    }
    expect(api.toObjects().map((o) => [o.city, o.units_sum, o.count])).toEqual(
      [...byCity.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, [s, n]]) => [k, s, n]),
    );
    expect((await texts(page, '[data-test="timing"]'))[0]).toMatch(new RegExp(`^${byCity.size} rows in [0-9.,]+ ms$`));
    expect(await page.$$eval('[data-test="result-chart"] .bar', (e) => e.length)).toBe(byCity.size);
    expect(errors).toEqual([]);
  });

  it('draws the metrics plots and every node’s LSM shape, in both themes', async () => {
    // Some traffic for the plots.
    for (let i = 0; i < 20; i++) await put(`load/${i}`, `v${i}`, 'text/plain');
    const { page, errors } = await open('#/metrics');
    await page.waitForFunction(() => document.querySelectorAll('[data-test="chart"] canvas').length >= 5, {
      timeout: 15_000,
    });
    const titles = await page.$$eval('[data-test="chart"]', (els) => els.map((e) => e.getAttribute('data-title')));
    expect(titles).toContain('Requests per second, by route');
    expect(titles).toContain('Block-cache hit rate');
    await tap(page, '[data-test="nav-engine"]');
    await page.waitForFunction(() => document.querySelectorAll('[data-test="lsm"]').length === 3);
    const before = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const theme = await page.evaluate(() => document.documentElement.dataset.theme);
    await tap(page, '[data-test="theme"]');
    const after = await page.evaluate(() => [
      document.documentElement.dataset.theme,
      getComputedStyle(document.body).backgroundColor,
    ]);
    expect(after[0]).toBe(theme === 'dark' ? 'light' : 'dark');
    expect(after[1]).not.toBe(before);
    await page.waitForFunction(() => document.querySelectorAll('[data-test="lsm"]').length === 3);
    expect(errors).toEqual([]);
  });

  it('shows a killed node as down within a few seconds, then its partitions failing over', async () => {
    const { page, errors } = await open('');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-test="node-row"][data-status="up"]').length === 3,
    );
    const before = await page.$$eval('[data-test="partition-cell"]', (els) =>
      els.map((e) => [Number(e.getAttribute('data-partition')), e.getAttribute('data-leader')] as const),
    );
    const t0 = Date.now();
    await c.kill('n3');
    await page.waitForFunction(
      () =>
        ['down', 'unreachable'].includes(document.querySelector('[data-node="n3"]')?.getAttribute('data-status') ?? ''),
      { timeout: 10_000 },
    );
    const seen = Date.now() - t0;
    expect(seen).toBeLessThan(10_000);
    // The others stay up, and the change is listed as an event.
    expect(
      await page.$$eval('[data-test="node-row"][data-status="up"]', (e) => e.map((x) => x.getAttribute('data-node'))),
    ).toEqual(['n1', 'n2']);
    await page.waitForFunction(() => document.querySelector('[data-test="events"]')?.textContent?.includes('n3'));
    // n3's partitions fail over: the grid shows their new leaders and epochs, the events list each
    // failover, as /cluster has them.
    const led = before.filter(([, leader]) => leader === 'n3').map(([p]) => p);
    expect(led.length).toBeGreaterThan(0);
    await page.waitForFunction(
      () =>
        Array.from(document.querySelectorAll('[data-test="partition-cell"]')).every(
          (e) => e.getAttribute('data-leader') !== 'n3',
        ),
      { timeout: 20_000 },
    );
    await page.waitForFunction(
      (n: number) =>
        (document.querySelector('[data-test="events"]')?.textContent?.match(/leader n3 →/g) ?? []).length === n,
      {},
      led.length,
    );
    // The grid agrees with /cluster (read again until they agree: the ISR may still be settling).
    type Status = { partitions: { partition: number; leader: string; epoch: number; isr: string[] }[] };
    let cluster: Status | undefined;
    let compared = '';
    const agree = await eventually(
      async () => {
        cluster = (await (await fetch(`${c.node('n1').url}/cluster`)).json()) as Status;
        const want = cluster.partitions.map((p) => `${p.leader}@${p.epoch}`).join(',');
        const shown = await page.$$eval('[data-test="partition-cell"]', (els) =>
          els.map((e) => `${e.getAttribute('data-leader')}@${e.getAttribute('data-epoch')}`).join(','),
        );
        compared = `/cluster ${want}, console ${shown}`;
        return want === shown;
      },
      15_000,
      250,
    );
    expect(agree, compared).toBe(true);
    for (const p of led) {
      expect(cluster!.partitions[p]!.leader).not.toBe('n3');
      expect(cluster!.partitions[p]!.epoch).toBeGreaterThan(1);
    }
    // The only errors are the browser's notes of n3's /stats answering 503.
    expect(errors.filter((e) => !/status of 503/.test(e))).toEqual([]);
  });
});

describe('console on a cluster with auth', () => {
  const read = createToken('read', 'viewer');
  const write = createToken('write', 'editor');
  let s: TestCluster;

  beforeAll(async () => {
    writeFileSync(join(dir, 'peer.secret'), `${'s'.repeat(48)}\n`);
    s = await TestCluster.start({
      nodes: 1,
      partitions: 2,
      replicationFactor: 1,
      startTimeoutMs: 90_000,
      extra: { auth: { peerSecretFile: join(dir, 'peer.secret'), tokens: [read.entry, write.entry] } },
    });
    const r = await fetch(`${s.node('n1').url}/kv/secret`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${write.token}`, 'content-type': 'text/plain' },
      body: 'only with a token',
    });
    expect(r.status).toBe(204);
  }, 120_000);

  afterAll(async () => {
    await s?.stop();
  });

  it('asks for a token, refuses a wrong one, and hides put and delete from a read-only token', async () => {
    await w?.page.close();
    w = await openPage(browser);
    const { page } = w;
    await page.goto(`${s.node('n1').url}/ui/#/keys`);
    await page.waitForSelector('[data-test="token"]');
    await typeInto(page, '[data-test="token"]', 'eau2_wrong');
    await tap(page, '[data-test="sign-in"]');
    await page.waitForFunction(() => document.querySelector('[data-test="error"]')?.textContent?.includes('refused'));
    await page.$eval('[data-test="token"]', (e) => ((e as unknown as El).value = ''));
    await typeInto(page, '[data-test="token"]', read.token);
    await tap(page, '[data-test="sign-in"]');
    await page.waitForSelector('[data-test="key-row"][data-key="secret"]');
    expect(await texts(page, '[data-test="role"]')).toEqual(['viewer · read']);
    expect(await page.$('[data-test="read-only"]')).not.toBeNull();
    expect(await page.$('[data-test="put"]')).toBeNull();
    await tap(page, '[data-test="key-row"][data-key="secret"]');
    await page.waitForSelector('[data-test="preview-text"]');
    expect(await page.$('[data-test="delete"]')).toBeNull();
    // A write token gets them back (same tab: sign out, sign in).
    await page.evaluate(() => sessionStorage.clear());
    await page.reload();
    await page.waitForSelector('[data-test="token"]');
    await typeInto(page, '[data-test="token"]', write.token);
    await tap(page, '[data-test="sign-in"]');
    await page.waitForSelector('[data-test="put"]');
    await page.waitForSelector('[data-test="key-row"][data-key="secret"]');
    await tap(page, '[data-test="key-row"][data-key="secret"]');
    await page.waitForSelector('[data-test="delete"]');
    // The only errors are the 401s of the sign-in.
    expect(w.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  });
});
