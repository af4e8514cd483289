// What every eau2 application returns and how it reports: a name, a verdict checked against an
// independent computation, and a short human summary. Apps take any KvStore, so the same code runs on
// an embedded engine, a cluster client, or a test double.

export interface AppResult {
  name: string;
  ok: boolean;
  /** One or more lines for people. */
  summary: string;
  ms: number;
}

export interface AppOptions {
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /** Seed for generated data (default: random, and printed). */
  seed?: number;
  /** How long a client waits for another's frame (default 60 s). */
  waitMs?: number;
}

export async function timed(name: string, f: () => Promise<{ ok: boolean; summary: string }>): Promise<AppResult> {
  const t = performance.now();
  const r = await f();
  return { name, ...r, ms: performance.now() - t };
}
