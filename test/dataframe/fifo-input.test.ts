// Imports read a FIFO (a named pipe) from the event loop, not the thread pool: a process whose pool
// thread waits on a FIFO read that never returns cannot exit (libuv joins the pool at exit), so an
// import stopped by a signal hung after its cleanup. Here a child process reads a FIFO whose writer
// stays open and then exits; and the bytes, CSV and JSON imports through a FIFO are checked whole.

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataFrame, importCsv, importJson } from '../../dataframe/index.js';
import { openInput } from '../../dataframe/io/input.js';
import { MemoryStore } from '../support/memory-store.js';
import { rowsOf } from './helpers.js';

const INPUT = resolve(import.meta.dirname, '../../dataframe/io/input.ts');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-fifo-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function fifo(name: string): string {
  const p = join(dir, name);
  execFileSync('mkfifo', [p]);
  return p;
}

/** Opens the FIFO's write end (it opens once a reader has), writes `data`, and ends it unless `keep`. */
function feed(path: string, data: string | Buffer, keep = false): WriteStream {
  const w = createWriteStream(path);
  w.on('error', () => undefined);
  w.write(data);
  if (!keep) w.end();
  return w;
}

describe('FIFO input', () => {
  it('a process reading a FIFO whose writer stays open exits when it asks to', { timeout: 60_000 }, async () => {
    const path = fifo('open.csv');
    const script = `
      import { openInput } from ${JSON.stringify(INPUT)};
      const s = openInput(${JSON.stringify(path)});
      s.once('data', () => { process.stdout.write('read\\n'); setTimeout(() => process.exit(7), 200); });
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const w = feed(path, 'a,b\n1,2\n', true);
    try {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const code = await new Promise<number | null>((res) => {
        const t = setTimeout(() => res(null), 30_000);
        child.on('exit', (c) => {
          clearTimeout(t);
          res(c);
        });
      });
      expect(out).toBe('read\n');
      // A ReadStream here leaves a pool thread in read(2): the process never exits (null).
      expect(code).toBe(7);
    } finally {
      child.kill('SIGKILL');
      w.destroy();
    }
  });

  it('gives every byte in order, counts them, and ends when the writer closes', async () => {
    const path = fifo('bytes');
    const data = randomBytes(700_000);
    const s = openInput(path);
    feed(path, data);
    const parts: Buffer[] = [];
    for await (const b of s as AsyncIterable<Buffer>) parts.push(b);
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    expect(s.bytesRead).toBe(data.length);
  });

  it('fails as the stream error for a path that is missing', async () => {
    const s = openInput(join(dir, 'missing'));
    await expect(
      (async () => {
        for await (const _ of s as AsyncIterable<Buffer>);
      })(),
    ).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('imports CSV, NDJSON and a JSON array from a FIFO as from a file', async () => {
    const store = new MemoryStore();
    const lines = Array.from({ length: 5000 }, (_, i) => `${i},w${i % 7},${i / 4}`);
    const csv = fifo('rows.csv');
    const done = importCsv(store, 'c', csv);
    feed(csv, `id,name,x\n${lines.join('\n')}\n`);
    await done;
    const want = lines.map((l) => {
      const [a, b, c] = l.split(',');
      return [Number(a), b, Number(c)];
    });
    expect(rowsOf(await (await DataFrame.get(store, 'c')).load())).toEqual(want);
    const objs = want.map(([id, name, x]) => ({ id, name, x }));
    const nd = fifo('rows.ndjson');
    const ndDone = importJson(store, 'n', nd);
    feed(nd, objs.map((o) => JSON.stringify(o)).join('\n'));
    await ndDone;
    expect(rowsOf(await (await DataFrame.get(store, 'n')).load())).toEqual(want);
    const arr = fifo('rows.json');
    const arrDone = importJson(store, 'a', arr);
    feed(arr, JSON.stringify(objs));
    await arrDone;
    expect(rowsOf(await (await DataFrame.get(store, 'a')).load())).toEqual(want);
  });
});
