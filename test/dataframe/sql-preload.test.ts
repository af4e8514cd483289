// The SQL path's background load (dataframe/sql-preload.ts): started once by the first frame written
// or opened, off with EAU2_SQL_PRELOAD=0 or setSqlPreload(false), always on request with preloadSql().

import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DataFrame, setSqlPreload } from '../../dataframe/index.js';
import { MemoryStore } from '../support/memory-store.js';

type PreloadModule = typeof import('../../dataframe/sql-preload.js');

/** A fresh copy of the module (its once-per-process state reset) with a counting loader. */
async function freshPreload(): Promise<{ m: PreloadModule; loads: () => number }> {
  vi.resetModules();
  const m: PreloadModule = await import('../../dataframe/sql-preload.js');
  let n = 0;
  m.installSqlLoader(() => {
    n++;
  });
  return { m, loads: () => n };
}

describe('the switch', () => {
  const saved = process.env.EAU2_SQL_PRELOAD;
  afterEach(() => {
    if (saved === undefined) delete process.env.EAU2_SQL_PRELOAD;
    else process.env.EAU2_SQL_PRELOAD = saved;
  });

  it('starts the load once, on the first frame written or opened', async () => {
    delete process.env.EAU2_SQL_PRELOAD;
    const { m, loads } = await freshPreload();
    expect(loads()).toBe(0);
    m.maybeAutoPreloadSql();
    m.maybeAutoPreloadSql();
    m.preloadSql();
    expect(loads()).toBe(1);
  });

  it('EAU2_SQL_PRELOAD=0 and setSqlPreload(false) turn the automatic load off, not preloadSql()', async () => {
    process.env.EAU2_SQL_PRELOAD = '0';
    let { m, loads } = await freshPreload();
    m.maybeAutoPreloadSql();
    expect(loads()).toBe(0);
    m.preloadSql();
    expect(loads()).toBe(1);

    delete process.env.EAU2_SQL_PRELOAD;
    ({ m, loads } = await freshPreload());
    m.setSqlPreload(false);
    m.maybeAutoPreloadSql();
    expect(loads()).toBe(0);
    // setSqlPreload(true) wins over the environment.
    process.env.EAU2_SQL_PRELOAD = '0';
    m.setSqlPreload(true);
    m.maybeAutoPreloadSql();
    expect(loads()).toBe(1);
  });

  it('does not start once a statement has loaded the SQL path', async () => {
    delete process.env.EAU2_SQL_PRELOAD;
    const { m, loads } = await freshPreload();
    m.sqlLoadStarted();
    m.maybeAutoPreloadSql();
    m.preloadSql();
    expect(loads()).toBe(0);
  });

  it('setSqlPreload takes a boolean only', async () => {
    const { m } = await freshPreload();
    expect(() => m.setSqlPreload('no' as unknown as boolean)).toThrow(TypeError);
  });
});

describe('the real SQL path', () => {
  it('loads in the background after a put, and the statements that follow answer as before', async () => {
    const require = createRequire(import.meta.url);
    const parser = require.resolve('pgsql-ast-parser');
    // Nothing in this file has run SQL, and importing the dataframe layer does not load it.
    expect(require.cache[parser]).toBeUndefined();
    setSqlPreload(true);
    const store = new MemoryStore();
    await DataFrame.put(
      store,
      't',
      DataFrame.fromRows('k:S,v:I', [
        ['a', 1],
        ['b', 2],
        ['a', 3],
        ['c', null],
      ]),
    );
    // Bounded wait for the background load (no statement has been run).
    const deadline = Date.now() + 30_000;
    while (require.cache[parser] === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(require.cache[parser]).toBeDefined();
    const df = await DataFrame.sql(store, 'SELECT k, sum(v) AS s FROM t WHERE v > 0 GROUP BY k ORDER BY k');
    expect([...df.rows()]).toEqual([
      ['a', 4],
      ['b', 2],
    ]);
  });
});
