// Headless Chromium for the console's browser tests (puppeteer-core drives the system's browser):
// Debian's `chromium` at /usr/bin/chromium, or $CHROMIUM_PATH. The console is built from the current
// sources into a temp folder the nodes serve (EAU2_CONSOLE_DIR), so a stale dist/ is never tested.
// Every page records its console errors, uncaught exceptions and any request that leaves 127.0.0.1.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { REPO } from '../../cluster/support/cluster-harness.js';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

function chromiumPath(): string {
  const env = process.env.CHROMIUM_PATH;
  if (env) {
    if (!existsSync(env)) throw new Error(`CHROMIUM_PATH=${env} does not exist`);
    return env;
  }
  const found = CANDIDATES.find((p) => existsSync(p));
  if (!found)
    throw new Error(
      `no Chromium for the console's browser tests: apt-get install -y chromium (looked at ${CANDIDATES.join(', ')}; or set CHROMIUM_PATH)`,
    );
  return found;
}

/** Builds the console into a fresh folder and points nodes started from now on at it. */
export function buildConsole(): string {
  const out = mkdtempSync(join(tmpdir(), 'eau2-console-'));
  execFileSync(process.execPath, [join(REPO, 'console/build.mjs'), '--out', out], { stdio: 'inherit' });
  process.env.EAU2_CONSOLE_DIR = out;
  return out;
}

export function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
    protocolTimeout: 30_000,
  });
}

export interface WatchedPage {
  page: Page;
  /** Console errors and uncaught exceptions, in order. */
  errors: string[];
  /** Requests to anywhere but loopback (there must be none). */
  external: string[];
}

export async function openPage(browser: Browser): Promise<WatchedPage> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1400, height: 900 });
  // Generous: a loaded 2-core machine runs the nodes, the browser and the tests together.
  page.setDefaultTimeout(20_000);
  const errors: string[] = [];
  const external: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()} ${m.location()?.url ?? ''}`);
  });
  page.on('pageerror', (e) => errors.push(`exception: ${(e as Error).message}`));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['127.0.0.1', 'localhost'].includes(u.hostname) && !['blob:', 'data:'].includes(u.protocol))
      external.push(r.url());
  });
  return { page, errors, external };
}

/**
 * The little of the browser's DOM the tests' page functions use (they run in the browser; the
 * project's type-check has no DOM library, so it is declared here, for the test files only).
 */
export interface El {
  readonly textContent: string | null;
  readonly children: ArrayLike<El>;
  readonly naturalWidth: number;
  value: string;
  getAttribute(name: string): string | null;
  querySelector(sel: string): El | null;
}

export interface Doc {
  querySelector(sel: string): El | null;
  querySelectorAll(sel: string): ArrayLike<El>;
  readonly documentElement: { readonly dataset: Record<string, string | undefined> };
  readonly body: El;
}

/** Text of every element matching `sel`. */
export function texts(page: Page, sel: string): Promise<string[]> {
  return page.$$eval(sel, (els) => els.map((e) => (e as unknown as El).textContent?.trim() ?? ''));
}

/** Clicks `sel` once it is on the page (pages draw after their first fetch answers). */
export async function tap(page: Page, sel: string): Promise<void> {
  const el = await page.waitForSelector(sel);
  await el!.click();
}

/** Types into `sel` once it is on the page. */
export async function typeInto(page: Page, sel: string, text: string): Promise<void> {
  await page.waitForSelector(sel);
  await page.type(sel, text);
}

/** Picks `value` in the select `sel` once it is on the page. */
export async function choose(page: Page, sel: string, value: string): Promise<void> {
  await page.waitForSelector(sel);
  await page.select(sel, value);
}
