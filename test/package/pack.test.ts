// The package as users get it: `npm pack` (which builds in "prepack") on a copy of this checkout,
// installed into an empty project from the tarball; its command runs through npx and every entry
// point of package.json "exports" imports, and it ships dist/ but not the tests or benchmarks.
// The copy keeps the pack's clean build away from this checkout's dist/, which other tests use.

import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  version: string;
  exports: Record<string, unknown>;
};

// Asynchronous, so that vitest's worker stays responsive during the minutes a build takes here.
// EAU2_WORKER_LOADER (set for the tests, which run the TypeScript sources) is left out: the
// installed package runs compiled code and its worker threads must start without it.
async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const { EAU2_WORKER_LOADER: _, ...env } = process.env;
  const { stdout } = await promisify(execFile)(cmd, args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
  });
  return stdout;
}

describe('the packed package', () => {
  let tmp: string;
  let project: string;
  let files: string[];

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'eau2-pack-'));
    const src = join(tmp, 'src');
    const tracked = (await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], REPO))
      .split('\0')
      .filter((f) => f !== '' && !f.startsWith('test/') && !f.startsWith('bench/'));
    for (const f of tracked) {
      mkdirSync(join(src, dirname(f)), { recursive: true });
      try {
        cpSync(join(REPO, f), join(src, f));
      } catch {
        // deleted in the work tree but not yet in the index
      }
    }
    symlinkSync(join(REPO, 'node_modules'), join(src, 'node_modules'));
    const packed = JSON.parse(await run('npm', ['pack', '--json', '--pack-destination', tmp], src)) as {
      filename: string;
      files: { path: string }[];
    }[];
    files = packed[0]!.files.map((f) => f.path);
    project = join(tmp, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'uses-eau2', private: true, type: 'module' }));
    await run('npm', ['install', '--prefer-offline', join(tmp, packed[0]!.filename)], project);
  }, 600_000);

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('ships the built code, the command and the docs, and no tests, benchmarks or sources', () => {
    expect(files).toContain('bin/eau2.js');
    expect(files).toContain('dist/engine/index.js');
    expect(files).toContain('dist/engine/index.d.ts');
    expect(files).toContain('docs/api.md');
    expect(files).toContain('README.md');
    // The web console's bundle, which every node serves at /ui.
    expect(files).toContain('dist/console/index.html');
    expect(files).toContain('dist/console/app.js');
    for (const f of files) {
      expect(f, f).toMatch(
        /^(bin\/eau2\.js|dist\/.*\.(js|d\.ts)|dist\/console\/[\w.-]+\.(html|css|svg)|docs\/.*\.md|README\.md|package\.json|LICENSE)$/,
      );
      expect(f, f).not.toMatch(/^dist\/(test|bench)\//);
    }
  });

  it('runs its command through npx in the project that installed it', async () => {
    const help = await run('npx', ['--no-install', 'eau2', '--help'], project);
    expect(help).toMatch(/Usage: eau2/);
    expect((await run('npx', ['--no-install', 'eau2', '--version'], project)).trim()).toBe(pkg.version);
  });

  it('imports every entry point of package.json "exports"', async () => {
    const entries = Object.keys(pkg.exports)
      .filter((e) => e !== './package.json')
      .map((e) => `eau2${e.slice(1)}`);
    expect(entries.length).toBeGreaterThanOrEqual(5);
    const script = `for (const e of ${JSON.stringify(entries)}) { const m = await import(e); console.log(e, Object.keys(m).length); }`;
    const out = await run(process.execPath, ['--input-type=module', '-e', script], project);
    for (const e of entries) expect(out).toMatch(new RegExp(`^${e} [1-9]`, 'm'));
  });

  it('stores and reads a value with the installed engine', async () => {
    const dir = join(tmp, 'db');
    const script = `import { Engine } from 'eau2/engine';
const db = await Engine.open(${JSON.stringify(dir)});
await db.put('k', 'packed');
console.log(Buffer.from(await db.get('k')).toString());
await db.close();`;
    expect((await run(process.execPath, ['--input-type=module', '-e', script], project)).trim()).toBe('packed');
    expect(readdirSync(dir).length).toBeGreaterThan(0);
  });

  it('exports and imports Parquet and Arrow with the installed dataframes (the decoder on its thread)', async () => {
    const dir = join(tmp, 'pq');
    const file = join(tmp, 'f.parquet');
    const arrow = join(tmp, 'f.arrow');
    const script = `import { createWriteStream } from 'node:fs';
import { Engine } from 'eau2/engine';
import { DataFrame, exportArrow, exportParquet, importArrow, importParquet } from 'eau2/dataframe';
const frame = DataFrame.fromColumns({ n: Int32Array.from([1, 2, 3]), s: ['a', 'b', 'c'] });
for (const [f, write] of [[${JSON.stringify(file)}, exportParquet], [${JSON.stringify(arrow)}, exportArrow]]) {
  const out = createWriteStream(f);
  await write(frame, out);
  await new Promise((r) => out.end(r));
}
const db = await Engine.open(${JSON.stringify(dir)});
for (const [name, f, read] of [['p', ${JSON.stringify(file)}, importParquet], ['a', ${JSON.stringify(arrow)}, importArrow]]) {
  const res = await read(db, name, f);
  const df = await (await DataFrame.get(db, name)).load();
  console.log(name, res.rows, df.schema, JSON.stringify(df.column('s').toArray()));
}
await db.close();`;
    expect((await run(process.execPath, ['--input-type=module', '-e', script], project)).trim()).toBe(
      'p 3 IS ["a","b","c"]\na 3 IS ["a","b","c"]',
    );
  });
});
