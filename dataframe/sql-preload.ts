// When a process first writes or opens a stored frame, the SQL path (the parser and planner,
// dataframe/sql/) starts loading in the background, so that its first DataFrame.sql does not pay for
// loading and compiling it (100-450 ms of CPU on a busy machine, more than a small query itself). The
// SQL layer sits above DataFrame and registers the loader here (sql/install.ts); the writer and
// LazyFrame call maybeAutoPreloadSql, without importing the SQL layer. docs/dataframe.md "Cold
// queries".

let loader: (() => void) | undefined;
let started = false;
/** The automatic preload: off with EAU2_SQL_PRELOAD=0 or setSqlPreload(false). */
let auto: boolean | undefined;

/** Registers how to load the SQL path (sql/install.ts). */
export function installSqlLoader(load: () => void): void {
  loader = load;
}

/**
 * Starts loading the SQL path in the background (once per process; later calls do nothing), e.g.
 * before connecting to a cluster whose first request will be a SQL statement. A failure to load is
 * reported by the first DataFrame.sql, not here.
 */
export function preloadSql(): void {
  if (started || loader === undefined) return;
  started = true;
  loader();
}

/** The SQL path is being loaded for a statement (sql/install.ts): nothing left to preload. */
export function sqlLoadStarted(): void {
  started = true;
}

/**
 * Whether writing or opening a frame starts loading the SQL path (default: yes, unless the
 * environment has EAU2_SQL_PRELOAD=0). Processes that never run SQL (a node, a CLI import) turn it off.
 */
export function setSqlPreload(enabled: boolean): void {
  if (typeof enabled !== 'boolean') throw new TypeError('setSqlPreload needs a boolean');
  auto = enabled;
}

/** Called where a client first writes or opens a frame. */
export function maybeAutoPreloadSql(): void {
  if (started) return;
  if (!(auto ?? process.env.EAU2_SQL_PRELOAD !== '0')) return;
  preloadSql();
}
