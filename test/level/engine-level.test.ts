// EngineLevel behaviour that abstract-level's shared suite does not cover: eau2 errors mapped to
// abstract-level codes with the eau2 error kept as cause, engine options passed through, data that
// outlives an instance (read back from tables after reopen), and the engine handle's lifetime.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EngineLevel } from '../../engine/level/index.js';
import { Eau2Error } from '../../engine/index.js';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'eau2-level-unit-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; cause?: unknown }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('EngineLevel', () => {
  it('refuses a second instance on an open location with LEVEL_LOCKED, keeping the eau2 error as cause', async () => {
    const location = join(root, 'db');
    const first = new EngineLevel(location);
    await first.open();
    const second = new EngineLevel(location);
    const err = await rejection(second.open());
    expect(err.code).toBe('LEVEL_DATABASE_NOT_OPEN');
    const cause = err.cause as Error & { code?: string; cause?: unknown };
    expect(cause.code).toBe('LEVEL_LOCKED');
    expect(cause.cause).toBeInstanceOf(Eau2Error);
    expect((cause.cause as Eau2Error).code).toBe('LOCKED');
    await first.close();
    await second.open();
    await second.close();
  });

  it('keeps data across close and a new instance, sublevels and json values included', async () => {
    const location = join(root, 'db');
    const db = new EngineLevel<string, unknown>(location, { valueEncoding: 'json' });
    const people = db.sublevel<string, { name: string }>('people', { valueEncoding: 'json' });
    await db.batch([
      { type: 'put', key: 'top', value: { n: 1 } },
      { type: 'put', sublevel: people, key: 'b', value: { name: 'Bob' } },
      { type: 'put', sublevel: people, key: 'a', value: { name: 'Ann' } },
    ]);
    await db.close();

    const again = new EngineLevel<string, unknown>(location, { valueEncoding: 'json' });
    const people2 = again.sublevel<string, { name: string }>('people', { valueEncoding: 'json' });
    expect(await again.get('top')).toEqual({ n: 1 });
    expect(await people2.iterator({ reverse: true }).all()).toEqual([
      ['b', { name: 'Bob' }],
      ['a', { name: 'Ann' }],
    ]);
    expect(again.getSync('top')).toEqual({ n: 1 });
    expect(await people2.hasMany(['a', 'c'])).toEqual([true, false]);
    await again.close();
  });

  it('passes engine options from the constructor to the engine, and engine errors without a level code through', async () => {
    const db = new EngineLevel(join(root, 'db'), { maxValueBytes: 8 });
    await db.put('k', '12345678');
    const err = await rejection(db.put('k', '123456789'));
    expect(err).toBeInstanceOf(Eau2Error);
    expect(err.code).toBe('TOO_LARGE');
    expect(await db.get('k')).toBe('12345678');
    await db.close();
  });

  it('exposes the engine only while open', async () => {
    const db = new EngineLevel(join(root, 'db'));
    await db.open();
    expect(db.engine.isOpen).toBe(true);
    await db.close();
    expect(() => db.engine).toThrow(expect.objectContaining({ code: 'LEVEL_DATABASE_NOT_OPEN' }));
  });

  it('keeps a leading byte-order mark in utf8 keys and values', async () => {
    const db = new EngineLevel(join(root, 'db'));
    await db.put('\uFEFFk', '\uFEFFv');
    expect(await db.iterator().all()).toEqual([['\uFEFFk', '\uFEFFv']]);
    expect(db.getSync('\uFEFFk')).toBe('\uFEFFv');
    await db.close();
  });

  it('rejects a missing or empty location with TypeError', () => {
    expect(() => new EngineLevel('')).toThrow(TypeError);
    expect(() => new EngineLevel(undefined as unknown as string)).toThrow(TypeError);
  });

  it('clears a range in several engine batches, leaving keys that were new after clear() began', async () => {
    const db = new EngineLevel(join(root, 'db'));
    const keys = Array.from({ length: 2500 }, (_, i) => `k${String(i).padStart(5, '0')}`);
    await db.batch(keys.map((key) => ({ type: 'put' as const, key, value: 'v' })));
    const clearing = db.clear({ gte: 'k00100', lt: 'k02400' });
    await db.put('k00200+', 'after');
    await clearing;
    const left = await db.keys().all();
    expect(left.length).toBe(100 + 100 + 1);
    expect(await db.get('k00200+')).toBe('after');
    expect(await db.get('k00200')).toBeUndefined();
    await db.close();
  });
});
