// One suite, every Vfs: the in-memory and error-injecting filesystems must behave like node:fs does
// through NodeVfs for everything but crashes, or tests on them prove nothing about production.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { fromUtf8, utf8 } from '../../../kv/index.js';
import { isEau2Error } from '../../../kv/index.js';
import { ErrorVfs } from '../../../engine/vfs/error-vfs.js';
import { MemVfs } from '../../../engine/vfs/mem-vfs.js';
import { NodeVfs } from '../../../engine/vfs/node-vfs.js';
import type { Vfs } from '../../../engine/vfs/vfs.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eau2-vfs-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;

const kinds: Array<[string, () => { vfs: Vfs; root: string }]> = [
  ['NodeVfs', () => ({ vfs: new NodeVfs(), root: path.join(tmp, `t${n++}`) })],
  ['MemVfs', () => ({ vfs: new MemVfs(), root: '/db' })],
  ['ErrorVfs(MemVfs)', () => ({ vfs: new ErrorVfs(new MemVfs()), root: 'db' })],
];

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return isEau2Error(e) ? e.code : `not an Eau2Error: ${String(e)}`;
  }
  return 'no error';
}

describe.each(kinds)('%s', (_name, make) => {
  test('WrittenBytesReadBackWholeAndByRange', async () => {
    const { vfs, root } = make();
    await vfs.mkdirp(root);
    const p = `${root}/f`;
    const w = await vfs.openWritable(p);
    await w.append(utf8('hello '));
    w.appendSync(utf8('world'));
    expect(w.size()).toBe(11);
    await w.sync();
    await w.close();
    expect(await vfs.fileSize(p)).toBe(11);
    expect(await vfs.exists(p)).toBe(true);
    expect(fromUtf8(await vfs.readFile(p))).toBe('hello world');
    const r = await vfs.openRandom(p);
    expect(r.size()).toBe(11);
    expect(fromUtf8(await r.read(6, 100))).toBe('world');
    expect(fromUtf8(r.readSync(0, 5))).toBe('hello');
    expect(r.readSync(11, 4).length).toBe(0);
    await r.close();
  });

  test('ReadIntoFillsTheCallersMemoryAndStopsAtTheEnd', async () => {
    const { vfs, root } = make();
    await vfs.mkdirp(root);
    const p = `${root}/f`;
    const w = await vfs.openWritable(p);
    await w.append(utf8('hello world'));
    await w.close();
    const r = await vfs.openRandom(p);
    expect(r.readInto).toBeDefined();
    const dest = new Uint8Array(8).fill(0x2a);
    expect(r.readInto!(6, dest.subarray(0, 5))).toBe(5);
    expect(fromUtf8(dest.subarray(0, 5))).toBe('world');
    expect(dest[5]).toBe(0x2a); // nothing past the requested length
    expect(r.readInto!(9, dest)).toBe(2); // short at end of file
    expect(fromUtf8(dest.subarray(0, 2))).toBe('ld');
    expect(r.readInto!(11, dest)).toBe(0);
    await r.close();
  });

  test('OpenWritableTruncatesUnlessAppending', async () => {
    const { vfs, root } = make();
    await vfs.mkdirp(root);
    const p = `${root}/f`;
    let w = await vfs.openWritable(p);
    await w.append(utf8('abc'));
    await w.close();
    w = await vfs.openWritable(p, { append: true });
    expect(w.size()).toBe(3);
    await w.append(utf8('def'));
    await w.close();
    expect(fromUtf8(await vfs.readFile(p))).toBe('abcdef');
    w = await vfs.openWritable(p);
    expect(w.size()).toBe(0);
    await w.close();
    expect(await vfs.fileSize(p)).toBe(0);
  });

  test('RenameReplacesTheTargetAndUnlinkIgnoresMissingFiles', async () => {
    const { vfs, root } = make();
    await vfs.mkdirp(root);
    for (const [name, body] of [
      ['a', 'A'],
      ['b', 'B'],
    ] as const) {
      const w = await vfs.openWritable(`${root}/${name}`);
      await w.append(utf8(body));
      await w.close();
    }
    await vfs.rename(`${root}/a`, `${root}/b`);
    expect((await vfs.readdir(root)).sort()).toEqual(['b']);
    expect(fromUtf8(await vfs.readFile(`${root}/b`))).toBe('A');
    await vfs.unlink(`${root}/b`);
    await vfs.unlink(`${root}/b`);
    expect(await vfs.readdir(root)).toEqual([]);
    await vfs.syncDir(root);
  });

  test('MissingPathsBehaveAlike', async () => {
    const { vfs, root } = make();
    await vfs.mkdirp(root);
    expect(await vfs.fileSize(`${root}/none`)).toBe(-1);
    expect(await vfs.exists(`${root}/none`)).toBe(false);
    expect(await vfs.readdir(`${root}/none`)).toEqual([]);
    expect(await codeOf(vfs.openRandom(`${root}/none`))).toBe('IO');
    expect(await codeOf(vfs.readFile(`${root}/none`))).toBe('IO');
    expect(await codeOf(vfs.rename(`${root}/none`, `${root}/x`))).toBe('IO');
    expect(await codeOf(vfs.openWritable(`${root}/none/f`))).toBe('IO');
  });

  test('ASecondLockIsRefusedUntilTheFirstIsReleased', async () => {
    const { vfs, root } = make();
    await vfs.mkdirp(root);
    const held = await vfs.lock(`${root}/LOCK`);
    expect(await codeOf(vfs.lock(`${root}/LOCK`))).toBe('LOCKED');
    await held.release();
    const again = await vfs.lock(`${root}/LOCK`);
    await again.release();
  });
});
