// MemVfs keeps exactly what a disk keeps after a power cut: synced bytes under synced entries.

import { describe, expect, test } from 'vitest';
import { isEau2Error } from '../../../kv/index.js';
import { fromUtf8, utf8 } from '../../../kv/index.js';
import { MemVfs } from '../../../engine/vfs/mem-vfs.js';
import { seededRng } from './seeded-random.js';

async function write(vfs: MemVfs, path: string, text: string, opts: { sync?: boolean; append?: boolean } = {}) {
  const f = await vfs.openWritable(path, { append: opts.append });
  await f.append(utf8(text));
  if (opts.sync) await f.sync();
  await f.close();
}

async function text(vfs: MemVfs, path: string): Promise<string | undefined> {
  if (!(await vfs.exists(path))) return undefined;
  return fromUtf8(await vfs.readFile(path));
}

async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(isEau2Error(e), String(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    return;
  }
  throw new Error(`expected an error with code ${code}`);
}

describe('MemVfs crash', () => {
  test('SyncedBytesSurviveACrashAndUnsyncedBytesDoNot', async () => {
    const vfs = new MemVfs();
    await vfs.mkdirp('/db');
    const f = await vfs.openWritable('/db/a');
    await vfs.syncDir('/db');
    await f.append(utf8('durable'));
    await f.sync();
    await f.append(utf8('-lost'));
    expect(await text(vfs, '/db/a')).toBe('durable-lost');
    vfs.crash();
    expect(await text(vfs, '/db/a')).toBe('durable');
  });

  test('FileCreatedWithoutSyncDirVanishesEvenIfItsDataWasSynced', async () => {
    const vfs = new MemVfs();
    await vfs.mkdirp('db');
    await write(vfs, 'db/a', 'x', { sync: true });
    vfs.crash();
    expect(await vfs.exists('db/a')).toBe(false);
    expect(await vfs.readdir('db')).toEqual([]);
  });

  test('FileCreatedWithSyncDirButNeverSyncedSurvivesEmpty', async () => {
    const vfs = new MemVfs();
    await vfs.mkdirp('db');
    await write(vfs, 'db/a', 'unsynced');
    await vfs.syncDir('db');
    vfs.crash();
    expect(await text(vfs, 'db/a')).toBe('');
  });

  test('RenameWithoutSyncDirIsUndoneByACrash', async () => {
    const vfs = new MemVfs();
    await vfs.mkdirp('db');
    await write(vfs, 'db/tmp', 'v1', { sync: true });
    await vfs.syncDir('db');
    await vfs.rename('db/tmp', 'db/CURRENT');
    expect(await vfs.readdir('db')).toEqual(['CURRENT']);
    vfs.crash();
    expect(await vfs.readdir('db')).toEqual(['tmp']);
    expect(await text(vfs, 'db/tmp')).toBe('v1');
  });

  test('RenameFollowedBySyncDirSurvivesAndReplacesTheTarget', async () => {
    const vfs = new MemVfs();
    await vfs.mkdirp('db');
    await write(vfs, 'db/CURRENT', 'old', { sync: true });
    await write(vfs, 'db/tmp', 'new', { sync: true });
    await vfs.syncDir('db');
    await vfs.rename('db/tmp', 'db/CURRENT');
    await vfs.syncDir('db');
    vfs.crash();
    expect(await vfs.readdir('db')).toEqual(['CURRENT']);
    expect(await text(vfs, 'db/CURRENT')).toBe('new');
  });

  test('RenamedFileKeepsOnlyItsSyncedBytes', async () => {
    const vfs = new MemVfs();
    await vfs.mkdirp('db');
    const f = await vfs.openWritable('db/tmp');
    await f.append(utf8('ab'));
    await f.sync();
    await f.append(utf8('cd'));
    await vfs.rename('db/tmp', 'db/x');
    await vfs.syncDir('db');
    vfs.crash();
    expect(await text(vfs, 'db/x')).toBe('ab');
  });

  test('UnlinkWithoutSyncDirIsUndoneByACrash', async () => {
    const vfs = new MemVfs();
    await vfs.mkdirp('db');
    await write(vfs, 'db/old.sst', 'table', { sync: true });
    await vfs.syncDir('db');
    await vfs.unlink('db/old.sst');
    expect(await vfs.exists('db/old.sst')).toBe(false);
    vfs.crash();
    expect(await text(vfs, 'db/old.sst')).toBe('table');
  });

  test('UnlinkFollowedBySyncDirIsDurable', async () => {
    const vfs = new MemVfs();
    await vfs.mkdirp('db');
    await write(vfs, 'db/old.sst', 'table', { sync: true });
    await vfs.syncDir('db');
    await vfs.unlink('db/old.sst');
    await vfs.syncDir('db');
    vfs.crash();
    expect(await vfs.exists('db/old.sst')).toBe(false);
  });

  test('SyncDirOfOneDirectoryDoesNotMakeAnotherDurable', async () => {
    const vfs = new MemVfs();
    await vfs.mkdirp('a');
    await vfs.mkdirp('b');
    await write(vfs, 'a/f', '1', { sync: true });
    await write(vfs, 'b/f', '2', { sync: true });
    await vfs.syncDir('a');
    vfs.crash();
    expect(await vfs.exists('a/f')).toBe(true);
    expect(await vfs.exists('b/f')).toBe(false);
  });

  test('TruncatingReopenIsUndoneUnlessSynced', async () => {
    const vfs = new MemVfs();
    await vfs.mkdirp('db');
    await write(vfs, 'db/f', 'original', { sync: true });
    await vfs.syncDir('db');
    await write(vfs, 'db/f', 'new');
    expect(await text(vfs, 'db/f')).toBe('new');
    vfs.crash();
    expect(await text(vfs, 'db/f')).toBe('original');
    await write(vfs, 'db/f', 'replaced', { sync: true });
    vfs.crash();
    expect(await text(vfs, 'db/f')).toBe('replaced');
  });

  test('AppendModeContinuesTheExistingContent', async () => {
    const vfs = new MemVfs();
    await write(vfs, 'f', 'ab', { sync: true });
    const f = await vfs.openWritable('f', { append: true });
    expect(f.size()).toBe(2);
    f.appendSync(utf8('cd'));
    await f.sync();
    await vfs.syncDir('.');
    vfs.crash();
    expect(await text(vfs, 'f')).toBe('abcd');
  });

  test('CrashImageLeavesTheOriginalUntouched', async () => {
    const vfs = new MemVfs();
    await vfs.mkdirp('db');
    const f = await vfs.openWritable('db/log');
    await vfs.syncDir('db');
    await f.append(utf8('synced'));
    await f.sync();
    await f.append(utf8('+more'));
    const img = vfs.crashImage();
    expect(await text(img, 'db/log')).toBe('synced');
    expect(await text(vfs, 'db/log')).toBe('synced+more');
    await f.append(utf8('!'));
    expect(await text(vfs, 'db/log')).toBe('synced+more!');
    expect(await text(img, 'db/log')).toBe('synced');
  });

  test('HandlesOpenedBeforeACrashFailWithIo', async () => {
    const vfs = new MemVfs();
    await write(vfs, 'f', 'abc', { sync: true });
    await vfs.syncDir('.');
    const w = await vfs.openWritable('f', { append: true });
    const r = await vfs.openRandom('f');
    vfs.crash();
    await expectCode(w.append(utf8('x')), 'IO');
    await expectCode(() => w.appendSync(utf8('x')), 'IO');
    await expectCode(w.sync(), 'IO');
    await expectCode(r.read(0, 3), 'IO');
    await expectCode(() => r.readSync(0, 3), 'IO');
    await w.close();
    expect(await text(vfs, 'f')).toBe('abc');
  });

  test('MkdirpDirectoriesAreDurableAtOnce', async () => {
    const vfs = new MemVfs();
    await vfs.mkdirp('/a/b/c');
    vfs.crash();
    expect(await vfs.exists('/a/b/c')).toBe(true);
    expect(await vfs.readdir('/a')).toEqual(['b']);
  });
});

describe('MemVfs torn writes', () => {
  test('TornCrashKeepsASeededPrefixOfTheUnsyncedTail', async () => {
    const rng = seededRng();
    const seen = new Set<number>();
    for (let i = 0; i < 50; i++) {
      const seed = rng.int(1, 2 ** 31);
      const lengths: number[] = [];
      for (let rep = 0; rep < 2; rep++) {
        const vfs = new MemVfs({ tornWrites: true, seed });
        const f = await vfs.openWritable('log');
        await vfs.syncDir('.');
        const synced = rng.bytes(100);
        const tail = rng.bytes(1000);
        await f.append(synced);
        await f.sync();
        await f.append(tail);
        vfs.crash();
        const got = await vfs.readFile('log');
        expect(got.length).toBeGreaterThanOrEqual(100);
        expect(got.length).toBeLessThanOrEqual(1100);
        expect(got.subarray(0, 100)).toEqual(synced);
        expect(got.subarray(100)).toEqual(tail.subarray(0, got.length - 100));
        lengths.push(got.length);
      }
      expect(lengths[0], 'same seed, same tear').toBe(lengths[1]);
      seen.add(lengths[0]!);
    }
    expect(seen.size, 'tears land at different offsets').toBeGreaterThan(10);
  });

  test('TornModeCanBeChosenPerCrash', async () => {
    const vfs = new MemVfs({ seed: 7 });
    const f = await vfs.openWritable('log');
    await vfs.syncDir('.');
    await f.append(new Uint8Array(10_000).fill(1));
    vfs.crash({ torn: false });
    expect(await vfs.fileSize('log')).toBe(0);
    const g = await vfs.openWritable('log', { append: true });
    await g.append(new Uint8Array(10_000).fill(1));
    vfs.crash({ torn: true });
    const n = await vfs.fileSize('log');
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThanOrEqual(10_000);
  });

  test('TornCrashNeverResurrectsAnUnsyncedEntry', async () => {
    const vfs = new MemVfs({ tornWrites: true });
    await vfs.mkdirp('db');
    await write(vfs, 'db/a', 'x'.repeat(100));
    vfs.crash();
    expect(await vfs.exists('db/a')).toBe(false);
  });
});

describe('MemVfs files and locks', () => {
  test('ReadAndReadSyncReturnTheRequestedRangeClampedAtEnd', async () => {
    const vfs = new MemVfs();
    await write(vfs, 'f', '0123456789');
    const r = await vfs.openRandom('f');
    expect(r.size()).toBe(10);
    expect(fromUtf8(await r.read(2, 3))).toBe('234');
    expect(fromUtf8(r.readSync(8, 10))).toBe('89');
    expect(r.readSync(20, 5).length).toBe(0);
    await r.close();
  });

  test('ReadsReturnCopiesThatDoNotAliasTheFile', async () => {
    const vfs = new MemVfs();
    await write(vfs, 'f', 'abc');
    const r = await vfs.openRandom('f');
    r.readSync(0, 3).fill(0);
    (await vfs.readFile('f')).fill(0);
    expect(await text(vfs, 'f')).toBe('abc');
  });

  test('MissingFilesAndDirectoriesAreIoErrors', async () => {
    const vfs = new MemVfs();
    await expectCode(vfs.openRandom('nope'), 'IO');
    await expectCode(vfs.readFile('nope'), 'IO');
    await expectCode(vfs.openWritable('no/dir/f'), 'IO');
    await expectCode(vfs.rename('nope', 'x'), 'IO');
    await expectCode(vfs.syncDir('no-dir'), 'IO');
    expect(await vfs.fileSize('nope')).toBe(-1);
    expect(await vfs.readdir('no-dir')).toEqual([]);
    await vfs.unlink('nope');
  });

  test('ReaddirListsFilesAndSubdirectories', async () => {
    const vfs = new MemVfs();
    await vfs.mkdirp('db/sub');
    await write(vfs, 'db/b', '');
    await write(vfs, 'db/a', '');
    expect(await vfs.readdir('db')).toEqual(['a', 'b', 'sub']);
    expect(await vfs.readdir('db/')).toEqual(['a', 'b', 'sub']);
  });

  test('SecondLockOfTheSamePathIsRefusedUntilReleased', async () => {
    const vfs = new MemVfs();
    await vfs.mkdirp('db');
    const held = await vfs.lock('db/LOCK');
    await expectCode(vfs.lock('db/LOCK'), 'LOCKED');
    await expectCode(vfs.lock('db/./LOCK'), 'LOCKED');
    const other = await vfs.lock('db/OTHER');
    await held.release();
    const again = await vfs.lock('db/LOCK');
    await again.release();
    await other.release();
  });

  test('CrashReleasesLocksAndAStaleReleaseDoesNotFreeANewLock', async () => {
    const vfs = new MemVfs();
    const before = await vfs.lock('LOCK');
    vfs.crash();
    const after = await vfs.lock('LOCK');
    await before.release();
    await expectCode(vfs.lock('LOCK'), 'LOCKED');
    await after.release();
  });
});
