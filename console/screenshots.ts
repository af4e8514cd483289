// `npm run screenshots`: regenerates docs/console/<page>-<light|dark>.png, the pictures of the console
// in the README. It starts a throwaway 3-node cluster on loopback (small memtables, so the engine
// page has tables to draw), fills it with keys of several content types and a frame imported from
// CSV, puts load on it while the nodes sample their metrics, stops and restarts a node so the
// cluster page has events, then photographs each page in both themes with headless Chromium
// (/usr/bin/chromium or $CHROMIUM_PATH). Everything it started is stopped at the end, also on failure.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { ClusterClient } from '../cluster/index.js';
import { importCsv } from '../dataframe/index.js';
import { REPO, TestCluster } from '../test/cluster/support/cluster-harness.js';
import { buildConsole, launchBrowser } from '../test/console/support/browser.js';

const OUT = join(REPO, 'docs', 'console');
// Runs in the browser (page.evaluate); the type-check has no DOM library.
declare const localStorage: { setItem(k: string, v: string): void };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function fill(c: TestCluster, client: ClusterClient, dir: string): Promise<void> {
  const url = c.node('n1').url;
  const put = (key: string, body: string | Buffer, type: string) =>
    fetch(`${url}/kv/${encodeURIComponent(key)}`, { method: 'PUT', headers: { 'content-type': type }, body });
  await put('app:greeting', 'hello, eau2', 'text/plain');
  await put(
    'app:user:ada',
    JSON.stringify({ name: 'Ada Lovelace', born: 1815, languages: ['en', 'fr'], notes: { engine: 'analytical' } }),
    'application/json',
  );
  await put(
    'app:logo.svg',
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="96" height="96"><path d="M16 3C11 11 7 15.5 7 20a9 9 0 0 0 18 0c0-4.5-4-9-9-17z" fill="#2f7de1"/></svg>',
    'image/svg+xml',
  );
  await put('app:blob', Buffer.from(Array.from({ length: 96 }, (_, i) => (i * 37) & 0xff)), 'application/octet-stream');
  for (let i = 0; i < 30; i++)
    await put(`app:sensor:${String(i).padStart(3, '0')}`, `${(20 + i / 7).toFixed(2)}`, 'text/plain');
  const cities = ['Lyon', 'Oslo', 'Lima', 'Kobe', 'Accra', 'Quito'];
  const lines = ['city,year,sales,returned'];
  for (let i = 0; i < 6000; i++)
    lines.push(`${cities[(i * 7) % 6]},${2019 + (i % 6)},${((i * 7919) % 1000) / 10},${i % 9 === 0}`);
  writeFileSync(join(dir, 'sales.csv'), `${lines.join('\n')}\n`);
  await importCsv(client, 'sales', join(dir, 'sales.csv'), { chunkRows: 250 });
}

/** Writes batches of keys until `stop` says so: traffic for the metrics plots and tables for the engine page. */
async function load(client: ClusterClient, stop: () => boolean): Promise<void> {
  for (let round = 0; !stop(); round++) {
    const ops = Array.from({ length: 200 }, (_, i) => ({
      type: 'put' as const,
      key: `load:${round % 50}:${i}`,
      value: 'x'.repeat(200 + (i % 50)),
    }));
    try {
      await client.batch(ops);
      await client.get(`load:${round % 50}:1`);
    } catch {
      // a partition whose leader is the stopped node refuses writes for a while
    }
    await sleep(50);
  }
}

interface Shot {
  hash: string;
  file: string;
  /** Time for the page's first readings to arrive, ms. */
  wait: number;
}

async function shoot(page: Page, name: Shot, prepare?: (p: Page) => Promise<void>): Promise<void> {
  for (const theme of ['light', 'dark']) {
    await page.evaluate((t) => localStorage.setItem('eau2.theme', t), theme);
    await page.goto(page.url().split('#')[0] + name.hash, { waitUntil: 'load' });
    await page.reload({ waitUntil: 'load' });
    await sleep(name.wait);
    if (prepare) await prepare(page);
    await page.screenshot({ path: join(OUT, `${name.file}-${theme}.png`) as `${string}.png`, fullPage: true });
    process.stdout.write(`  docs/console/${name.file}-${theme}.png\n`);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'eau2-screenshots-'));
  const consoleDir = buildConsole();
  let c: TestCluster | undefined;
  let client: ClusterClient | undefined;
  let browser: Browser | undefined;
  let stopLoad = false;
  try {
    mkdirSync(OUT, { recursive: true });
    c = await TestCluster.start({
      nodes: 3,
      partitions: 12,
      replicationFactor: 2,
      startTimeoutMs: 120_000,
      // Small memtables: tables to draw; a short failover timeout: n3's partitions move while it is down.
      extra: { memtableBytes: 256 * 1024, failoverTimeoutMs: 2000 },
    });
    client = await ClusterClient.connect([c.node('n1').url], { timeoutMs: 20_000 });
    await fill(c, client, dir);
    const loading = load(client, () => stopLoad);
    browser = await launchBrowser();
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    await page.goto(`${c.node('n1').url}/ui/`, { waitUntil: 'load' });
    // Events for the cluster page: a node stops and comes back.
    await sleep(2000);
    await c.kill('n3', 'SIGTERM');
    await sleep(5000);
    await c.restart('n3');
    await sleep(20_000); // samples for the plots
    stopLoad = true;
    await loading.catch(() => {});
    await shoot(page, { hash: '#/cluster', file: 'cluster', wait: 3000 });
    await shoot(page, { hash: '#/metrics', file: 'metrics', wait: 3000 });
    await shoot(page, { hash: '#/engine', file: 'engine', wait: 3000 });
    await shoot(page, { hash: '#/keys', file: 'keys', wait: 1500 }, async (p) => {
      await p.type('[data-test="prefix"]', 'app:');
      await p.click('[data-test="search"]');
      await p.waitForSelector('[data-test="key-row"][data-key="app:user:ada"]');
      await p.click('[data-test="key-row"][data-key="app:user:ada"]');
      await p.waitForSelector('[data-test="preview-json"]');
    });
    await shoot(page, { hash: '#/dataframes/sales', file: 'dataframes', wait: 2000 }, async (p) => {
      await p.waitForSelector('[data-test="chunks"] .chunk');
      await p.click('[data-test="group-by"] input[data-col="city"]');
      await p.click('[data-test="add-agg"]');
      await p.select('[data-test="agg-row"] .a-fn', 'mean');
      await p.select('[data-test="agg-row"] .a-col', 'sales');
      await p.click('[data-test="run-query"]');
      await p.waitForSelector('[data-test="result-chart"]');
    });
  } finally {
    stopLoad = true;
    await browser?.close().catch(() => {});
    await client?.close().catch(() => {});
    await c?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(consoleDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
