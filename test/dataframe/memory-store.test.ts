// The in-memory KvStore test double must itself be right, or every dataframe test built on it proves
// nothing: ordering by unsigned bytes, every scan bound, atomic batches, copies instead of aliases.

import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../support/memory-store.js';
import { fromUtf8 } from '../../kv/index.js';

async function keys(it: AsyncIterable<[Uint8Array, Uint8Array]>): Promise<string[]> {
  const out: string[] = [];
  for await (const [k] of it) out.push(fromUtf8(k));
  return out;
}

async function filled(): Promise<MemoryStore> {
  const s = new MemoryStore();
  for (const k of ['d', 'a', 'c', 'b', 'e']) await s.put(k, `v${k}`);
  return s;
}

describe('MemoryStore', () => {
  it('keeps keys sorted by unsigned bytes, not by UTF-16 or signed bytes', async () => {
    const s = new MemoryStore();
    await s.put(new Uint8Array([0xff]), 'high');
    await s.put(new Uint8Array([0x01]), 'low');
    await s.put(new Uint8Array([0x7f, 0x00]), 'mid');
    const got: number[] = [];
    for await (const [k] of s.scan()) got.push(k[0]!);
    expect(got).toEqual([0x01, 0x7f, 0xff]);
  });

  it('returns undefined for a missing key and overwrites in place', async () => {
    const s = await filled();
    expect(await s.get('zz')).toBeUndefined();
    await s.put('c', 'new');
    expect(fromUtf8((await s.get('c'))!)).toBe('new');
    expect(s.size).toBe(5);
    await s.del('c');
    expect(await s.get('c')).toBeUndefined();
    expect(s.size).toBe(4);
  });

  it('honours gt, gte, lt, lte, reverse and limit', async () => {
    const s = await filled();
    expect(await keys(s.scan({ gte: 'b', lt: 'd' }))).toEqual(['b', 'c']);
    expect(await keys(s.scan({ gt: 'b', lte: 'd' }))).toEqual(['c', 'd']);
    expect(await keys(s.scan({ gte: 'b', lte: 'd', reverse: true }))).toEqual(['d', 'c', 'b']);
    expect(await keys(s.scan({ reverse: true, limit: 2 }))).toEqual(['e', 'd']);
    expect(await keys(s.scan({ limit: 0 }))).toEqual([]);
    expect(await keys(s.scan({ limit: -1 }))).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(await keys(s.scan({ gt: 'e' }))).toEqual([]);
    expect(await keys(s.scan({ gte: 'x', lt: 'a' }))).toEqual([]);
  });

  it('scans a snapshot: writes after the scan starts are not seen', async () => {
    const s = await filled();
    const it = s.scan();
    expect(fromUtf8((await it.next())![0])).toBe('a');
    await s.put('aa', 'x');
    await s.del('e');
    expect(await keys(it)).toEqual(['b', 'c', 'd', 'e']);
  });

  it('applies a batch entirely or not at all', async () => {
    const s = await filled();
    await expect(
      s.batch([
        { type: 'put', key: 'x', value: '1' },
        { type: 'bogus' as 'put', key: 'y', value: '2' },
      ]),
    ).rejects.toThrow(TypeError);
    expect(await s.get('x')).toBeUndefined();
    await s.batch([
      { type: 'put', key: 'x', value: '1' },
      { type: 'del', key: 'a' },
    ]);
    expect(await keys(s.scan())).toEqual(['b', 'c', 'd', 'e', 'x']);
  });

  it('copies buffers in and out so callers cannot alias stored bytes', async () => {
    const s = new MemoryStore();
    const v = new Uint8Array([1, 2, 3]);
    await s.put('k', v);
    v[0] = 9;
    const got = (await s.get('k'))!;
    expect([...got]).toEqual([1, 2, 3]);
    got[1] = 9;
    expect([...(await s.get('k'))!]).toEqual([1, 2, 3]);
  });

  it('refuses work once closed', async () => {
    const s = await filled();
    await s.close();
    await expect(s.get('a')).rejects.toMatchObject({ code: 'NOT_OPEN' });
  });
});
