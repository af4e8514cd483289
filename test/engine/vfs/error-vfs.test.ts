// ErrorVfs injects I/O errors by operation and path, and counts operations by kind.

import { describe, expect, test } from 'vitest';
import { utf8 } from '../../../kv/index.js';
import { Eau2Error, ErrorCode, isEau2Error } from '../../../kv/index.js';
import { ErrorVfs, failOn } from '../../../engine/vfs/error-vfs.js';
import { MemVfs } from '../../../engine/vfs/mem-vfs.js';

async function caught(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('ErrorVfs', () => {
  test('InjectedErrorsAreIoErrorsWithTheRuleErrorAsCause', async () => {
    const vfs = new ErrorVfs(new MemVfs());
    const boom = new Error('disk on fire');
    vfs.setRule((op, path) => (op === 'open' && path.endsWith('.log') ? boom : undefined));
    const e = await caught(vfs.openWritable('000001.log'));
    expect(isEau2Error(e, ErrorCode.IO)).toBe(true);
    expect((e as Error).cause).toBe(boom);
    expect((e as Eau2Error).details).toMatchObject({ op: 'open', path: '000001.log' });
    await (await vfs.openWritable('000001.sst')).close();
    expect(vfs.injected).toBe(1);
  });

  test('AnInjectedEau2ErrorIsThrownAsIs', async () => {
    const locked = new Eau2Error(ErrorCode.LOCKED, 'held elsewhere');
    const vfs = new ErrorVfs(new MemVfs(), (op) => (op === 'lock' ? locked : undefined));
    expect(await caught(vfs.lock('LOCK'))).toBe(locked);
  });

  test('TheRuleCanChangeAtAnyTimeIncludingForOpenHandles', async () => {
    const mem = new MemVfs();
    const vfs = new ErrorVfs(mem);
    const w = await vfs.openWritable('f');
    await w.append(utf8('ok'));
    vfs.rule = failOn('append');
    expect(isEau2Error(await caught(w.append(utf8('no'))), 'IO')).toBe(true);
    expect(isEau2Error(await caught(() => w.appendSync(utf8('no'))), 'IO')).toBe(true);
    vfs.setRule(undefined);
    await w.append(utf8('!'));
    expect(await mem.readFile('f')).toEqual(utf8('ok!'));
  });

  test('FailedOperationsDoNotReachTheWrappedVfs', async () => {
    const mem = new MemVfs();
    const vfs = new ErrorVfs(mem, failOn(['rename', 'unlink', 'syncDir']));
    await (await vfs.openWritable('a')).close();
    await caught(vfs.rename('a', 'b'));
    await caught(vfs.unlink('a'));
    await caught(vfs.syncDir('.'));
    expect(await mem.readdir('.')).toEqual(['a']);
    mem.crash();
    expect(await mem.readdir('.')).toEqual([]);
  });

  test('CountsEveryOperationByKindIncludingFailedOnes', async () => {
    const vfs = new ErrorVfs(new MemVfs());
    const w = await vfs.openWritable('f');
    await w.append(utf8('a'));
    w.appendSync(utf8('b'));
    await w.sync();
    await w.close();
    const r = await vfs.openRandom('f');
    r.readSync(0, 1);
    await r.read(0, 2);
    await vfs.readFile('f');
    await r.close();
    vfs.rule = failOn('syncDir');
    await caught(vfs.syncDir('.'));
    expect(vfs.counts()).toMatchObject({ open: 2, append: 2, sync: 1, close: 2, read: 3, syncDir: 1, rename: 0 });
    expect(vfs.count('append')).toBe(2);
    vfs.resetCounts();
    expect(vfs.count('append')).toBe(0);
    expect(vfs.injected).toBe(0);
  });

  test('TraceRecordsOperationsInCallOrder', async () => {
    const vfs = new ErrorVfs(new MemVfs());
    vfs.trace = [];
    const w = await vfs.openWritable('tmp');
    await w.sync();
    await w.close();
    await vfs.rename('tmp', 'CURRENT');
    await vfs.syncDir('.');
    expect(vfs.trace.map((t) => `${t.op} ${t.path}`)).toEqual([
      'open tmp',
      'sync tmp',
      'close tmp',
      'rename tmp',
      'syncDir .',
    ]);
  });

  test('FailOnLetsTheFirstCallsThroughThenFailsAGivenNumber', async () => {
    const rule = failOn('sync', /\.log$/, { after: 2, times: 2 });
    const results = [1, 2, 3, 4, 5].map(() => rule('sync', 'db/000003.log', {}) !== undefined);
    expect(results).toEqual([false, false, true, true, false]);
    expect(rule('sync', 'db/MANIFEST-000001', {})).toBeUndefined();
    expect(rule('append', 'db/000003.log', {})).toBeUndefined();
    const byName = failOn('unlink', 'CURRENT');
    expect(byName('unlink', '/db/CURRENT', {})).toBeInstanceOf(Error);
    expect(byName('unlink', '/db/NOTCURRENT', {})).toBeUndefined();
  });

  test('RenameRuleSeesTheDestination', async () => {
    const vfs = new ErrorVfs(new MemVfs(), (op, _p, info) =>
      op === 'rename' && info.to === 'CURRENT' ? new Error('no') : undefined,
    );
    await (await vfs.openWritable('a')).close();
    await vfs.rename('a', 'b');
    expect(isEau2Error(await caught(vfs.rename('b', 'CURRENT')), 'IO')).toBe(true);
  });
});
