// The pieces the cluster mounts: `eau2 df ...` commands (run through commander exactly as the CLI
// does, on a memory store) and the /df HTTP routes (on a real HTTP server), including their errors.

import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerDfCommands } from '../../app/cli/df-commands.js';
import { handleDfHttp } from '../../dataframe/http.js';
import { httpHelpers } from '../../cluster/index.js';
import { DataFrame } from '../../dataframe/index.js';
import { Eau2Error, ErrorCode } from '../../kv/index.js';
import { MemoryStore } from '../support/memory-store.js';

class Collect extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'eau2-dfcli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function cli(store: MemoryStore) {
  const out = new Collect();
  const urls: (string | undefined)[] = [];
  let closes = 0;
  let errText = '';
  const program = new Command('eau2')
    .exitOverride()
    .configureOutput({ writeErr: (t) => void (errText += t), writeOut: (t) => void out.write(t) });
  registerDfCommands(
    program,
    async ({ url }) => {
      urls.push(url);
      return Object.assign(Object.create(store) as MemoryStore, { close: async () => void closes++ });
    },
    out,
  );
  const run = async (...args: string[]): Promise<string> => {
    out.text = '';
    await program.parseAsync(['node', 'eau2', ...args]);
    return out.text;
  };
  return { run, urls, closes: () => closes, err: () => errText };
}

describe('eau2 df commands', () => {
  it('imports, lists, shows, exports and removes a frame', async () => {
    const store = new MemoryStore();
    const { run, urls, closes } = cli(store);
    const csv = join(dir, 'people.csv');
    await writeFile(csv, 'name,age,zip\nann,31,02134\nbob,,10001\n"c, d",7,00501\n');
    expect(await run('df', 'import', 'people', csv, '--url', 'http://n1:7101')).toMatch(
      /imported 3 rows into "people" \(schema name:S,age:I,zip:S, inferred\)/,
    );
    expect(urls).toEqual(['http://n1:7101']);
    expect(closes()).toBe(1);

    const ls = await run('df', 'ls');
    expect(ls).toMatch(/^name\s+rows\s+cols\s+schema/);
    expect(ls).toMatch(/people\s+3\s+3\s+SIS/);
    expect(JSON.parse(await run('df', 'ls', '--json'))[0]).toMatchObject({ name: 'people', nrows: 3, schema: 'SIS' });

    const show = await run('df', 'show', 'people', '--head', '2');
    expect(show).toMatch(/people: 3 rows x 3 columns, schema SIS/);
    expect(show).toMatch(/name:S\s+age:I\s+zip:S/);
    expect(show).toMatch(/"bob"\s+NA\s+"10001"/);
    expect(show).toMatch(/\.\.\. 1 more rows \(3 in all\)/);

    expect(JSON.parse(await run('df', 'export', 'people', '--format', 'json'))).toEqual([
      { name: 'ann', age: 31, zip: '02134' },
      { name: 'bob', age: null, zip: '10001' },
      { name: 'c, d', age: 7, zip: '00501' },
    ]);
    const outFile = join(dir, 'people-out.csv');
    await run('df', 'export', 'people', '--format', 'csv', '--out', outFile);
    expect(await readFile(outFile, 'utf8')).toBe('name,age,zip\nann,31,02134\nbob,,10001\n"c, d",7,00501\n');
    // A directory: refused before any row is read, naming it (not the temporary file beside it).
    await expect(run('df', 'export', 'people', '--format', 'csv', '--out', dir)).rejects.toThrow(
      `cannot write ${dir}: it is a directory`,
    );

    expect(await run('df', 'rm', 'people')).toMatch(/deleted "people"/);
    await expect(run('df', 'rm', 'people')).rejects.toThrow(/no dataframe named "people"/);
    await expect(run('df', 'show', 'people')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('imports SoR by extension, with a schema and a byte range', async () => {
    const store = new MemoryStore();
    const { run } = cli(store);
    const sor = join(dir, 'data.sor');
    await writeFile(sor, '<0> <23> <hi>\n<1> <12> <>\n<1> <1>\n');
    expect(await run('df', 'import', 'd', sor)).toMatch(
      /imported 3 rows into "d" \(schema c0:B,c1:I,c2:S, inferred\).*0 misfit/,
    );
    expect(await run('df', 'import', 'd2', sor, '--from', '5', '--schema', 'IIS')).toMatch(/imported 2 rows/);
    expect((await (await DataFrame.get(store, 'd2')).load()).get('c1', 0)).toBe(12);
  });

  it('rejects bad option values as usage errors', async () => {
    const { run } = cli(new MemoryStore());
    await expect(run('df', 'export', 'x', '--format', 'xml')).rejects.toMatchObject({
      code: 'commander.invalidArgument',
    });
    await expect(run('df', 'show', 'x', '--head', '-3')).rejects.toMatchObject({ code: 'commander.invalidArgument' });
    // Not "parseThreads must be ..." from the importer, exit 1, once the file is opened.
    await expect(run('df', 'import', 'x', 'any.csv', '--parse-threads', '65')).rejects.toMatchObject({
      code: 'commander.invalidArgument',
      message: expect.stringContaining('--parse-threads must be an integer from 0 to 64'),
    });
  });

  it('says what is wrong with a bad --sample or --chunk-rows before touching the store', async () => {
    // The CLI's main prints nothing for a commander error (commander already did), so a bad value
    // must be caught while parsing options, where commander prints it.
    const store = new MemoryStore();
    const csv = join(dir, 'sample.csv');
    await writeFile(csv, 'a\n1\n');
    for (const [opt, value] of [
      ['--sample', 'abc'],
      ['--sample', '0'],
      ['--chunk-rows', '0'],
    ] as const) {
      const { run, err, urls } = cli(store);
      await expect(run('df', 'import', 'a', csv, opt, value)).rejects.toMatchObject({
        code: 'commander.invalidArgument',
      });
      expect(err()).toContain(opt);
      expect(urls).toEqual([]);
    }
    expect(store.size).toBe(0);
    const { run } = cli(store);
    expect(await run('df', 'import', 'a', csv, '--sample', 'all')).toMatch(/imported 1 rows/);
  });

  it('refuses import options the file format ignores, importing nothing', async () => {
    const store = new MemoryStore();
    const csv = join(dir, 'part.csv');
    const sor = join(dir, 'part.sor');
    await writeFile(csv, 'a\n1\n2\n');
    await writeFile(sor, '<1>\n<2>\n');
    for (const [args, flags] of [
      [[csv, '--from', '2'], '--from does not apply to CSV'],
      [[csv, '--len', '3', '--from', '1'], '--from, --len do not apply to CSV'],
      [[sor, '--sample', 'all'], '--sample does not apply to SOR'],
      [[sor, '--no-header'], '--no-header does not apply to SOR'],
      [[csv, '--format', 'sor', '--delimiter', ';'], '--delimiter does not apply to SOR'],
    ] as const) {
      const { run, err, urls } = cli(store);
      await expect(run('df', 'import', 'p', ...args)).rejects.toMatchObject({
        code: 'commander.invalidArgument',
        exitCode: 2,
      });
      expect(err()).toContain(flags);
      expect(urls).toEqual([]);
    }
    expect(store.size).toBe(0);
    const { run } = cli(store);
    expect(await run('df', 'import', 'p', sor, '--from', '0', '--len', '100')).toMatch(/imported 2 rows/);
    expect(await run('df', 'import', 'p', csv, '--no-header', '--sample', '5')).toMatch(/imported 3 rows/);
  });

  it('reports SoR fields beyond the last column in the import summary', async () => {
    const sor = join(dir, 'wide.sor');
    const lines = Array.from({ length: 501 }, (_, i) => `<${i}>`);
    lines.push('<1> <2> <3>');
    await writeFile(sor, `${lines.join('\n')}\n`);
    const { run } = cli(new MemoryStore());
    expect(await run('df', 'import', 'w', sor)).toMatch(
      /imported 502 rows.*0 misfit fields stored as null, 2 fields beyond the last column ignored/,
    );
  });

  it('fails cleanly when the export file cannot be created', { timeout: 10_000 }, async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'f', DataFrame.fromColumns({ a: [1, 2] }));
    // Chunks that arrive over a network come after the file's open has failed.
    const slow = Object.assign(Object.create(store) as MemoryStore, {
      get: async (key: string | Uint8Array) => {
        await new Promise((r) => setTimeout(r, 20));
        return store.get(key);
      },
    });
    const { run } = cli(slow);
    const target = join(dir, 'no-such-dir', 'f.csv');
    const err = await run('df', 'export', 'f', '--format', 'csv', '--out', target).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENOENT' });
    expect((err as Error).message).toBe(`cannot write ${target}: ENOENT: no such file or directory`);
  });

  it('leaves an existing output file as it was when an export fails midway', async () => {
    const store = new MemoryStore();
    await DataFrame.put(store, 'f', DataFrame.fromColumns({ a: Float64Array.from({ length: 50 }, (_, i) => i) }), {
      chunkRows: 10,
    });
    let chunkReads = 0;
    const failing = Object.assign(Object.create(store) as MemoryStore, {
      get: async (key: string | Uint8Array) => {
        const k = typeof key === 'string' ? key : Buffer.from(key).toString('latin1');
        if (k.startsWith('\u0000df/c/') && ++chunkReads > 2)
          throw new Eau2Error(ErrorCode.UNAVAILABLE, 'injected: node down');
        return store.get(key);
      },
    });
    const sub = await mkdtemp(join(dir, 'out-'));
    const target = join(sub, 'f.csv');
    await writeFile(target, 'old contents\n');
    const { run } = cli(failing);
    await expect(run('df', 'export', 'f', '--format', 'csv', '--out', target)).rejects.toThrow(/injected/);
    expect(chunkReads).toBeGreaterThan(2);
    expect(await readFile(target, 'utf8')).toBe('old contents\n');
    expect(await readdir(sub)).toEqual(['f.csv']);
    // And a successful export replaces it.
    await cli(store).run('df', 'export', 'f', '--format', 'csv', '--out', target, '--limit', '2');
    expect(await readFile(target, 'utf8')).toBe('a\n0\n1\n');
    expect(await readdir(sub)).toEqual(['f.csv']);
  });
});

describe('/df HTTP routes', () => {
  let server: Server;
  let base: string;
  const store = new MemoryStore();

  beforeAll(async () => {
    await DataFrame.put(
      store,
      'nums',
      DataFrame.fromColumns({ x: new Float64Array([1, 2, NaN, 4, 5]), s: ['a', null, 'c', 'd', 'e'] }),
      {
        chunkRows: 2,
      },
    );
    server = createServer((req, res) => {
      void handleDfHttp(req, res, store, httpHelpers).then((handled) => {
        if (!handled) {
          res.writeHead(418);
          res.end('not mine');
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes
  const get = async (path: string, init?: RequestInit): Promise<{ status: number; body: any; headers: Headers }> => {
    const r = await fetch(base + path, init);
    const text = await r.text();
    return {
      status: r.status,
      body: r.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text,
      headers: r.headers,
    };
  };

  it('lists frames and serves metadata', async () => {
    const list = await get('/df');
    expect(list.status).toBe(200);
    expect(list.body.frames.map((f: { name: string }) => f.name)).toEqual(['nums']);
    const meta = await get('/df/nums');
    expect(meta.body).toMatchObject({ name: 'nums', nrows: 5, ncols: 2, schema: 'DS', nchunks: 3, chunkRows: 2 });
  });

  it('pages through rows across chunk boundaries, NaN as null', async () => {
    const r = await get('/df/nums/rows?offset=1&limit=3');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      offset: 1,
      limit: 3,
      nrows: 5,
      columns: [
        { name: 'x', type: 'D' },
        { name: 's', type: 'S' },
      ],
    });
    expect(r.body.rows).toEqual([
      [2, null],
      [null, 'c'],
      [4, 'd'],
    ]);
    expect((await get('/df/nums/rows')).body.rows.length).toBe(5);
    expect((await get('/df/nums/rows?offset=99')).body.rows).toEqual([]);
  });

  it('answers errors as JSON with a fitting status', async () => {
    expect(await get('/df/missing')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await get('/df/missing/rows')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await get('/df/nums/rows?limit=abc')).toMatchObject({ status: 400, body: { code: 'INVALID' } });
    expect(await get('/df/nums/rows?limit=100000')).toMatchObject({
      status: 400,
      body: { message: 'limit must be at most 10000' },
    });
    expect(await get('/df/nums/rows?offset=1&offset=2')).toMatchObject({ status: 400 });
    expect(await get('/df/nums?bogus=1')).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/unknown option "bogus"/) },
    });
    expect(await get('/df/nums/cols')).toMatchObject({ status: 404 });
    expect(await get('/df/%E0%A4%A')).toMatchObject({ status: 400 });
    const post = await get('/df/nums', { method: 'POST' });
    expect(post).toMatchObject({ status: 405, body: { code: 'METHOD_NOT_ALLOWED' } });
    expect(post.headers.get('allow')).toBe('GET');
  });

  it('leaves other paths alone', async () => {
    expect(await get('/kv/x')).toMatchObject({ status: 418, body: 'not mine' });
    expect(await get('/dfx')).toMatchObject({ status: 418 });
  });
  it("maps the store's failures like every other route: 413, 502, 503, wire codes", async () => {
    const cases: [Eau2Error, number, string][] = [
      [new Eau2Error(ErrorCode.TOO_LARGE, 'reply too large'), 413, 'TOO_LARGE'],
      [new Eau2Error(ErrorCode.PROTOCOL, 'bad frame from a peer'), 502, 'PROTOCOL'],
      [
        new Eau2Error(ErrorCode.NOT_LEADER, 'moved', { details: { wireCode: ErrorCode.STALE_EPOCH } }),
        503,
        'STALE_EPOCH',
      ],
      [new Eau2Error(ErrorCode.TIMEOUT, 'slow'), 504, 'TIMEOUT'],
    ];
    for (const [err, status, code] of cases) {
      const failing = new MemoryStore();
      failing.get = async () => {
        throw err;
      };
      failing.scan = () => {
        throw err;
      };
      const s = createServer((req, res) => void handleDfHttp(req, res, failing, httpHelpers));
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      try {
        const r = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/df/nums`);
        expect(r.status, code).toBe(status);
        expect(await r.json()).toEqual({ code, message: err.message });
      } finally {
        await new Promise((r) => s.close(r));
      }
    }
  });
});
