// `eau2 df` as a user runs it: a CLI process of its own against a real node. Ctrl-C (SIGINT) or
// SIGTERM during `df import` deletes the chunks the import wrote, leaves the frame already published
// under that name as it was, and exits 130 / 143; and a command whose stdout reader goes away
// (`eau2 df export ... | head`) stops quietly with exit code 0.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, createWriteStream, openSync, type WriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../bench/dataframe/local-cluster.js';
import { DataFrame } from '../../dataframe/index.js';
import { frameChunkEnd, frameChunkPrefix, parseChunkKey } from '../../dataframe/layout.js';
import { CLI, REPO } from '../cluster/support/cluster-harness.js';
import { rowsOf } from '../dataframe/helpers.js';

let cluster: LocalCluster;
let url: string;
let dir: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-dfsig-'));
  cluster = await LocalCluster.start(1, 1, 4);
  url = cluster.urls[0]!;
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  stderr(): string;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `eau2 <args> --url <node>` (stderr collected; stdout piped or ignored). */
function eau2(args: string[], stdout: 'pipe' | 'ignore' = 'ignore'): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args, '--url', url], {
    cwd: REPO,
    stdio: ['ignore', stdout, 'pipe'],
  });
  children.add(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stderr: () => err, exited };
}

/** The exit of `run`, waited for at most `ms`; past that it is killed and the test fails. */
async function exitOf(run: Run, ms = 30_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      run.child.kill('SIGKILL');
      reject(new Error(`eau2 did not exit within ${ms} ms; stderr:\n${run.stderr()}`));
    }, ms);
  });
  try {
    return await Promise.race([run.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `check` until it returns a value; fails if `run` exits first or the deadline passes. */
async function until<T>(what: string, run: Run, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (run.child.exitCode !== null || run.child.signalCode !== null)
      throw new Error(`eau2 exited before ${what}; stderr:\n${run.stderr()}`);
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms; stderr:\n${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every chunk key of `name` in the store, counted by version. */
async function chunkVersions(name: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const it = cluster.client.scan({ gte: frameChunkPrefix(name), lt: frameChunkEnd(name) });
  try {
    for await (const [k] of it) {
      const v = parseChunkKey(Buffer.from(k).toString())?.version ?? `unparsable key ${Buffer.from(k).toString()}`;
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
  } finally {
    await it.close();
  }
  return counts;
}

/** The version of the highest chunk key of `name` (one reverse scan), if it is not `old`. */
async function newerVersion(name: string, old: string): Promise<string | undefined> {
  const it = cluster.client.scan({ gte: frameChunkPrefix(name), lt: frameChunkEnd(name), reverse: true, limit: 1 });
  try {
    const top = await it.next();
    const v = top && parseChunkKey(Buffer.from(top[0]).toString())?.version;
    return v !== undefined && v !== old ? v : undefined;
  } finally {
    await it.close();
  }
}

/** Publishes a small frame under `name`; returns what a reader must still see after an interrupted import. */
async function publishOld(name: string): Promise<{ version: string; rows: unknown[][]; chunks: Map<string, number> }> {
  const df = DataFrame.fromColumns({ id: [1, 2, 3], who: ['ann', 'bob', null], score: [0.5, 1.5, 2.5] });
  await DataFrame.put(cluster.client, name, df, { chunkRows: 2 });
  const lf = await DataFrame.get(cluster.client, name);
  return { version: lf.meta.version, rows: rowsOf(await lf.load()), chunks: await chunkVersions(name) };
}

async function expectUntouched(
  name: string,
  old: { version: string; rows: unknown[][]; chunks: Map<string, number> },
): Promise<void> {
  const lf = await DataFrame.get(cluster.client, name);
  expect(lf.meta.version).toBe(old.version);
  expect(rowsOf(await lf.load())).toEqual(old.rows);
  // No chunk of the interrupted version (or any other) is left: only the published frame's.
  expect(await chunkVersions(name)).toEqual(old.chunks);
}

const csvRow = (i: number): string => `${i},user${i % 977},${(i * 0.37).toFixed(3)},${i % 3 === 0}\n`;

let bigCsvFile: Promise<string> | undefined;
/** About 37 MB of CSV: several seconds of import, of which the first chunks are written within the first. */
function bigCsv(): Promise<string> {
  bigCsvFile ??= (async () => {
    const file = join(dir, 'big.csv');
    const lines = ['id,name,score,ok\n'];
    for (let i = 0; i < 1_200_000; i++) lines.push(csvRow(i));
    await writeFile(file, lines.join(''));
    return file;
  })();
  return bigCsvFile;
}

describe('eau2 df import stopped by a signal', () => {
  it('on SIGINT deletes what it wrote, keeps the published frame and exits 130', { timeout: 120_000 }, async () => {
    const old = await publishOld('people');
    const run = eau2(['df', 'import', 'people', await bigCsv(), '--chunk-rows', '2000']);
    try {
      const writing = await until('chunks of a new version', run, () => newerVersion('people', old.version));
      expect(run.child.exitCode, 'the import finished before it could be interrupted').toBeNull();
      run.child.kill('SIGINT');
      expect(await exitOf(run)).toEqual({ code: 130, signal: null });
      expect(run.stderr()).toMatch(/^eau2: interrupted by SIGINT: nothing was published; "people" is as it was\n$/);
      expect((await chunkVersions('people')).has(writing)).toBe(false);
      await expectUntouched('people', old);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('on a Ctrl-C typed at a terminal shows the cursor the progress bar hid', { timeout: 120_000 }, async () => {
    const old = await publishOld('tty');
    // script(1) runs the import on a pseudo-terminal, so stderr is a TTY and the bar is drawn; a ^C
    // written to it becomes SIGINT for the import, as when a user types it.
    const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
    const cmd = [
      process.execPath,
      '--import',
      'tsx',
      CLI,
      'df',
      'import',
      'tty',
      await bigCsv(),
      '--chunk-rows',
      '2000',
      '--url',
      url,
    ]
      .map(quote)
      .join(' ');
    const child = spawn('script', ['-qefc', cmd, '/dev/null'], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    children.add(child);
    let screen = '';
    child.stdout!.on('data', (d: Buffer) => (screen += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (screen += d.toString()));
    const run: Run = {
      child,
      stderr: () => screen,
      exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    };
    try {
      const writing = await until('chunks of a new version', run, () => newerVersion('tty', old.version));
      await until('the progress bar', run, async () => (screen.includes('\x1b[?25l') ? true : undefined));
      child.stdin!.write('\x03');
      expect(await exitOf(run)).toEqual({ code: 130, signal: null });
      const hidden = screen.lastIndexOf('\x1b[?25l');
      expect(screen.indexOf('\x1b[?25h', hidden), JSON.stringify(screen.slice(-300))).toBeGreaterThan(hidden);
      expect(screen).toMatch(/eau2: interrupted by SIGINT: nothing was published; "tty" is as it was\r?\n$/);
      expect((await chunkVersions('tty')).has(writing)).toBe(false);
      await expectUntouched('tty', old);
    } finally {
      child.kill('SIGKILL'); // the pseudo-terminal closes: SIGHUP ends the import too
      child.stdin!.destroy();
    }
  });

  it('on SIGHUP (the terminal closed) deletes what it wrote and exits 129', { timeout: 120_000 }, async () => {
    const old = await publishOld('hangup');
    const run = eau2(['df', 'import', 'hangup', await bigCsv(), '--chunk-rows', '2000']);
    try {
      const writing = await until('chunks of a new version', run, () => newerVersion('hangup', old.version));
      expect(run.child.exitCode, 'the import finished before it could be interrupted').toBeNull();
      run.child.kill('SIGHUP');
      expect(await exitOf(run)).toEqual({ code: 129, signal: null });
      expect(run.stderr()).toMatch(/^eau2: interrupted by SIGHUP: nothing was published; "hangup" is as it was\n$/);
      expect((await chunkVersions('hangup')).has(writing)).toBe(false);
      await expectUntouched('hangup', old);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('df rm sweeps the chunks an import killed outright left, published frame or not', {
    timeout: 120_000,
  }, async () => {
    const run = eau2(['df', 'import', 'orphans', await bigCsv(), '--chunk-rows', '2000']);
    let writing: string;
    try {
      writing = await until('chunks of a new version', run, () => newerVersion('orphans', ''));
    } finally {
      run.child.kill('SIGKILL'); // no cleanup at all
    }
    await exitOf(run);
    expect((await chunkVersions('orphans')).has(writing)).toBe(true);
    const rm = eau2(['df', 'rm', 'orphans'], 'pipe');
    let said = '';
    rm.child.stdout!.on('data', (d: Buffer) => {
      said += d.toString();
    });
    expect(await exitOf(rm)).toEqual({ code: 0, signal: null });
    expect(said).toMatch(/^no dataframe named "orphans"; deleted 1 unpublished version of its chunks\n$/);
    expect((await chunkVersions('orphans')).size).toBe(0);
    const again = eau2(['df', 'rm', 'orphans']);
    expect((await exitOf(again)).code).toBe(1);
  });

  it('on SIGTERM exits 143 and cleans up even while the import waits for input that never comes', {
    timeout: 120_000,
  }, async () => {
    const old = await publishOld('stream');
    // A FIFO whose writer (this test) stays open: the import cannot finish, and its read never returns.
    const fifo = join(dir, 'rows.csv');
    execFileSync('mkfifo', [fifo]);
    const run = eau2(['df', 'import', 'stream', fifo, '--chunk-rows', '1000']);
    let w: WriteStream | undefined;
    try {
      w = createWriteStream(fifo); // opens once the import opens the FIFO to read
      w.on('error', () => undefined); // EPIPE once the import has gone
      w.write('id,name,score,ok\n');
      for (let i = 0; i < 30_000; i++) w.write(csvRow(i)); // the 10,000-row type sample, then 20 chunks
      const writing = await until('chunks of a new version', run, () => newerVersion('stream', old.version));
      run.child.kill('SIGTERM');
      expect(await exitOf(run)).toEqual({ code: 143, signal: null });
      expect(run.stderr()).toMatch(/^eau2: interrupted by SIGTERM: nothing was published; "stream" is as it was\n$/);
      expect((await chunkVersions('stream')).has(writing)).toBe(false);
      await expectUntouched('stream', old);
    } finally {
      run.child.kill('SIGKILL');
      // If the import never opened the FIFO, our open is still waiting for a reader: give it one.
      if (w?.pending) closeSync(openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK));
      w?.destroy();
    }
  });
});

describe('eau2 when the reader of its stdout goes away', () => {
  it('stops quietly with exit code 0: df export in every format, df show, scan', { timeout: 120_000 }, async () => {
    // Megabytes of output for each command, far beyond what a pipe buffers.
    const n = 300_000;
    const df = DataFrame.fromColumns({
      id: Float64Array.from({ length: n }, (_, i) => i),
      s: Array.from({ length: n }, (_, i) => `row ${i}`),
    });
    await DataFrame.put(cluster.client, 'wide', df);
    for (const [args, first] of [
      [['df', 'export', 'wide', '--format', 'csv'], 'id,s\n'],
      [['df', 'export', 'wide', '--format', 'arrow'], 'ARROW1'],
      [['df', 'export', 'wide', '--format', 'arrows'], '\uFFFD'], // 0xFFFFFFFF, not UTF-8
      [['df', 'export', 'wide', '--format', 'parquet'], 'PAR1'],
      [['df', 'show', 'wide', '--head', '50000'], 'wide: 300000 rows'],
      [['scan', '-k', '--limit', '10000'], '\\x00df/c/{'],
    ] as const) {
      const run = eau2([...args], 'pipe');
      try {
        let head = '';
        run.child.stdout!.on('data', (d: Buffer) => {
          head += d.toString();
          run.child.stdout!.pause(); // read no more: eau2 is left with most of its output unwritten
        });
        await until(`output of ${args.join(' ')}`, run, async () => (head.length >= first.length ? true : undefined));
        expect(head.startsWith(first), head.slice(0, 200)).toBe(true);
        // `| head` exits: its end of the pipe closes while eau2 still has most of its output to write.
        run.child.stdout!.destroy();
        const exit = await exitOf(run);
        expect(run.stderr()).not.toMatch(/EPIPE|Error/);
        expect(exit, `${args.join(' ')}: ${run.stderr()}`).toEqual({ code: 0, signal: null });
      } finally {
        run.child.kill('SIGKILL');
      }
    }
  });
});
